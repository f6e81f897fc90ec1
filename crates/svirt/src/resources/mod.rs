//! Domain → the ordered list of [`Grant`]s the VM needs.

use crate::domain::Domain;
use crate::host::Host;
use crate::policy::Grant;
use crate::Settings;

/// What the resources step found: the grants, in libvirt's order, and
/// warnings for the operator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub grants: Vec<Grant>,
    pub warnings: Vec<String>,
}

/// Why the grants for a domain cannot be worked out.
#[derive(Debug, thiserror::Error)]
pub enum ResourcesError {
    #[error("SDL graphics without an xauth file")]
    SdlWithoutXauth,
}

/// Every grant `domain` needs.
pub fn grants_for(
    _domain: &Domain,
    _settings: &Settings,
    _host: &dyn Host,
) -> Result<Resources, ResourcesError> {
    Ok(Resources::default())
}
