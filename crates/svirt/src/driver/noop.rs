//! The driver for hosts where VMs are not confined.

use super::{ProbeResult, SecurityDriver, UnconfinedReason};

/// Confines nothing: every call succeeds and changes nothing, and probe
/// says VMs run unconfined (libvirt's `security_driver = "none"`).
///
/// ```
/// use svirt::driver::{NoopDriver, ProbeResult, SecurityDriver};
///
/// let driver = NoopDriver;
/// assert_eq!(driver.model(), "none");
/// assert!(matches!(driver.probe(), ProbeResult::Unconfined(_)));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoopDriver;

impl SecurityDriver for NoopDriver {
    fn probe(&self) -> ProbeResult {
        ProbeResult::Unconfined(UnconfinedReason::SwitchedOff)
    }

    fn model(&self) -> &'static str {
        "none"
    }
}
