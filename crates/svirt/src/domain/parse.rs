//! XML → [`Domain`] (skeleton).

use super::model::Domain;

/// Input limits for untrusted domain XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest document accepted, in bytes (libvirt: 10 MiB).
    pub max_bytes: usize,
    /// Largest number of XML nodes.
    pub max_nodes: u32,
    /// Deepest element nesting.
    pub max_depth: usize,
}

pub const MAX_XML_BYTES: usize = 10 * 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: MAX_XML_BYTES,
            max_nodes: 1_000_000,
            max_depth: 64,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("domain XML is not implemented yet")]
    Todo,
}

pub fn parse_domain(_xml: &str, _limits: &Limits) -> Result<Domain, DomainError> {
    Err(DomainError::Todo)
}
