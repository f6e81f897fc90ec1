//! Domain XML → typed [`Domain`].

mod model;
mod parse;
mod uuid;
mod validate;

pub use model::*;
pub(crate) use parse::check_nesting;
pub use parse::{
    parse_domain, parse_domain_as, DomainError, DomainErrorKind, Limits, Position, KNOWN_OS_TYPES,
    KNOWN_VIRT_TYPES, MAX_BACKING_CHAIN_DEPTH, MAX_XML_BYTES, MAX_XML_DEPTH, MAX_XML_NODES,
};
pub use uuid::{DomainUuid, UuidError};
