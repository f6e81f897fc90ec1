//! The sVirt security driver: what a VM manager calls over a VM's life
//! (spec §4).
//!
//! A manager holds one [`SecurityDriver`] (an [`AppArmorDriver`], or a
//! [`NoopDriver`] when confinement is off) and, per VM, a
//! [`SecurityLabel`]. The lifecycle is:
//!
//! 1. [`probe`](SecurityDriver::probe) once at start-up;
//! 2. per VM: [`SecurityLabel::from_domain`], then
//!    [`verify`](SecurityDriver::verify) and
//!    [`gen_label`](SecurityDriver::gen_label), which generates and loads
//!    `libvirt-<uuid>` through the helper;
//! 3. [`set_all_labels`](SecurityDriver::set_all_labels), then launch the
//!    VM process under [`child_process_label`](SecurityDriver::child_process_label);
//! 4. while it runs, the `set_*_label` / `restore_*_label` calls for
//!    hotplug, paths and descriptors;
//! 5. at shutdown [`restore_all_labels`](SecurityDriver::restore_all_labels)
//!    (unload the profile) and [`release_label`](SecurityDriver::release_label).
//!
//! Every call that changes policy takes a [`Vm`]: the parsed domain, the
//! XML it came from (the helper reads the XML, not our model) and the
//! label.

use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use crate::apparmor::{KernelError, ProcessLabel, ProfileMode, Unavailable};
use crate::domain::{CharDev, Domain, HostDev, Input, Interface, MemoryDevice, StorageSource};

mod apparmor;
pub mod helper;
mod label;
mod noop;

pub use apparmor::{AppArmorConfig, AppArmorDriver, DEFAULT_HELPER, DEFAULT_POLICY_DIR};
pub use helper::{Helper, HelperError, HelperExit, HelperMode};
pub use label::{LabelError, LabelKind, LabelPolicy, SecurityLabel};
pub use noop::NoopDriver;

/// The security model name (`<seclabel model=…>`).
pub const MODEL: &str = "apparmor";
/// The domain of interpretation; AppArmor does not use it.
pub const DOI: &str = "0";

/// One VM as the driver sees it.
#[derive(Debug, Clone, Copy)]
pub struct Vm<'a> {
    /// The current definition, parsed.
    pub domain: &'a Domain,
    /// The same definition as XML, as the helper reads it. For a disk
    /// `type='volume'` it must already name the resolved host path.
    pub xml: &'a str,
    pub label: &'a SecurityLabel,
}

/// What [`SecurityDriver::probe`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeResult {
    /// The driver can confine VMs. `manager_mode` is the mode of the
    /// manager's own profile, when one was required.
    Enabled { manager_mode: Option<ProfileMode> },
    /// The caller cannot manage AppArmor policy, so its VMs run
    /// unconfined (libvirt's `qemu:///session` case). Not an error.
    Unconfined(UnconfinedReason),
    /// The driver cannot be used on this host.
    Disabled(DisabledReason),
}

impl ProbeResult {
    pub fn is_enabled(&self) -> bool {
        matches!(self, ProbeResult::Enabled { .. })
    }
}

/// Why VMs run unconfined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnconfinedReason {
    #[error(
        "VMs run unconfined: this process may not read the loaded-profile list {path} \
         (AppArmor policy is managed by root only)"
    )]
    Unprivileged { path: PathBuf },
    #[error("VMs run unconfined: confinement is switched off")]
    SwitchedOff,
}

/// Why the driver is disabled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisabledReason {
    #[error("{0}")]
    Kernel(Unavailable),
    #[error("cannot read {path}: {message}")]
    Unreadable { path: PathBuf, message: String },
    #[error("the AppArmor template {path} does not exist")]
    TemplateMissing { path: PathBuf },
    #[error(
        "the VM manager is not confined: none of the profiles {} is loaded",
        tried.join(", ")
    )]
    ManagerNotConfined { tried: Vec<String> },
    #[error("AppArmor support was not compiled in (the `apparmor` feature is off)")]
    NotCompiled,
}

/// What a caller can act on, whatever the message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DriverErrorKind {
    /// The domain or its label is wrong.
    InvalidInput,
    /// Something the domain names is missing on the host.
    NotFound,
    /// The helper failed.
    Helper,
    /// The kernel interfaces failed.
    Kernel,
    /// The driver cannot do this.
    Unsupported,
}

/// A failed driver call.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Label(#[from] LabelError),
    #[error(transparent)]
    Kernel(#[from] KernelError),
    #[error("cannot load AppArmor profile {profile}")]
    Load {
        profile: String,
        #[source]
        source: Box<HelperError>,
    },
    #[error("cannot update AppArmor profile {profile}")]
    Update {
        profile: String,
        #[source]
        source: Box<HelperError>,
    },
    #[error("cannot remove AppArmor profile {profile} of domain {domain}")]
    Remove {
        profile: String,
        domain: String,
        #[source]
        source: Box<HelperError>,
    },
    #[error("a security label is already defined for domain {domain}")]
    AlreadyDefined { domain: String },
    #[error(
        "invalid security label {label:?} of domain {domain}: no profile of that name is loaded"
    )]
    NotLoaded { label: String, domain: String },
    #[error(
        "security label driver mismatch: {model:?} model configured for domain {domain}, \
         but this driver is 'apparmor'"
    )]
    ModelMismatch { model: String, domain: String },
    #[error("domain {domain} has no AppArmor label to run processes under")]
    NoLabel { domain: String },
    #[error("{what} {path} does not exist")]
    Missing { what: &'static str, path: PathBuf },
    /// The policy checks refuse a file the device would need.
    #[error("refused: {0}")]
    Refused(#[source] Box<crate::policy::PolicyFailure>),
    #[error("{what} has no source path")]
    NoSource { what: &'static str },
    #[error("cannot find the host device node for {what}")]
    DeviceNotFound { what: String },
    #[error("{what} is not supported by the AppArmor driver")]
    Unsupported { what: &'static str },
    /// The device's definition is refused (a name that must be one path
    /// component is not).
    #[error("{0}")]
    BadDevice(#[source] crate::resources::ResourcesError),
}

impl DriverError {
    pub fn kind(&self) -> DriverErrorKind {
        match self {
            DriverError::Label(_)
            | DriverError::AlreadyDefined { .. }
            | DriverError::NotLoaded { .. }
            | DriverError::ModelMismatch { .. }
            | DriverError::NoLabel { .. }
            | DriverError::NoSource { .. }
            | DriverError::BadDevice(_)
            | DriverError::Refused(_) => DriverErrorKind::InvalidInput,
            DriverError::Kernel(_) => DriverErrorKind::Kernel,
            DriverError::Load { .. } | DriverError::Update { .. } | DriverError::Remove { .. } => {
                DriverErrorKind::Helper
            }
            DriverError::Missing { .. } | DriverError::DeviceNotFound { .. } => {
                DriverErrorKind::NotFound
            }
            DriverError::Unsupported { .. } => DriverErrorKind::Unsupported,
        }
    }
}

/// The sVirt lifecycle of spec §4.5, one method per callback.
///
/// The `set_*` calls add a device or path to a running VM's profile; the
/// `restore_*` calls regenerate the profile from the current definition
/// (AppArmor labels live in the profile, not on files, so "restore" means
/// "forget what is no longer in the definition": remove the device from
/// the definition first). Calls on a label that is not dynamic, or with
/// `relabel='no'`, do nothing.
///
/// Every method has a default that does nothing and succeeds, which is
/// the right behaviour for a driver that confines nothing.
pub trait SecurityDriver: std::fmt::Debug + Send + Sync {
    /// Whether this driver can be used here (spec §4.3).
    fn probe(&self) -> ProbeResult;

    /// The model name, `apparmor`.
    fn model(&self) -> &'static str;

    /// The domain of interpretation, `"0"`.
    fn doi(&self) -> &'static str {
        DOI
    }

    /// Checks a label before the VM starts: a static label must name a
    /// loaded profile.
    fn verify(&self, _domain: &Domain, _label: &SecurityLabel) -> Result<(), DriverError> {
        Ok(())
    }

    /// Makes the label for a VM about to start. For a dynamic label this
    /// fills in `libvirt-<uuid>` and creates and loads the profile; on
    /// failure the label is left as it was.
    fn gen_label(
        &self,
        _domain: &Domain,
        _xml: &str,
        _label: &mut SecurityLabel,
    ) -> Result<(), DriverError> {
        Ok(())
    }

    /// Records the label of a VM found running (AppArmor labels are not
    /// exclusive, so nothing is reserved).
    fn reserve_label(&self, _vm: &Vm<'_>, _pid: Option<u32>) -> Result<(), DriverError> {
        Ok(())
    }

    /// Forgets a dynamic label after the VM stopped.
    fn release_label(&self, _label: &mut SecurityLabel) -> Result<(), DriverError> {
        Ok(())
    }

    /// Prepares the host before launch; `incoming` is a save file or
    /// migration stream the VM will read.
    fn set_all_labels(&self, _vm: &Vm<'_>, _incoming: Option<&Path>) -> Result<(), DriverError> {
        Ok(())
    }

    /// Undoes everything after the VM stopped: unloads its profile.
    fn restore_all_labels(&self, _vm: &Vm<'_>) -> Result<(), DriverError> {
        Ok(())
    }

    /// Adds a disk source and its whole backing chain (hotplug, block copy,
    /// snapshot targets).
    fn set_image_label(&self, _vm: &Vm<'_>, _src: &StorageSource) -> Result<(), DriverError> {
        Ok(())
    }

    fn restore_image_label(&self, _vm: &Vm<'_>, _src: &StorageSource) -> Result<(), DriverError> {
        Ok(())
    }

    fn set_hostdev_label(&self, _vm: &Vm<'_>, _dev: &HostDev) -> Result<(), DriverError> {
        Ok(())
    }

    fn restore_hostdev_label(&self, _vm: &Vm<'_>, _dev: &HostDev) -> Result<(), DriverError> {
        Ok(())
    }

    fn set_chardev_label(&self, _vm: &Vm<'_>, _dev: &CharDev) -> Result<(), DriverError> {
        Ok(())
    }

    fn restore_chardev_label(&self, _vm: &Vm<'_>, _dev: &CharDev) -> Result<(), DriverError> {
        Ok(())
    }

    fn set_memory_label(&self, _vm: &Vm<'_>, _mem: &MemoryDevice) -> Result<(), DriverError> {
        Ok(())
    }

    fn restore_memory_label(&self, _vm: &Vm<'_>, _mem: &MemoryDevice) -> Result<(), DriverError> {
        Ok(())
    }

    fn set_input_label(&self, _vm: &Vm<'_>, _input: &Input) -> Result<(), DriverError> {
        Ok(())
    }

    fn restore_input_label(&self, _vm: &Vm<'_>, _input: &Input) -> Result<(), DriverError> {
        Ok(())
    }

    fn set_netdev_label(&self, _vm: &Vm<'_>, _net: &Interface) -> Result<(), DriverError> {
        Ok(())
    }

    fn restore_netdev_label(&self, _vm: &Vm<'_>, _net: &Interface) -> Result<(), DriverError> {
        Ok(())
    }

    /// Allows one path, or with `subtree` the directory and everything
    /// below it.
    fn set_path_label(
        &self,
        _vm: &Vm<'_>,
        _path: &Path,
        _subtree: bool,
    ) -> Result<(), DriverError> {
        Ok(())
    }

    fn restore_path_label(&self, _vm: &Vm<'_>, _path: &Path) -> Result<(), DriverError> {
        Ok(())
    }

    /// Allows the file behind a descriptor the manager passes to the VM
    /// (save files). Returns the path added, or `None` when the
    /// descriptor could not be resolved and was skipped.
    fn set_image_fd_label(
        &self,
        _vm: &Vm<'_>,
        _fd: BorrowedFd<'_>,
    ) -> Result<Option<PathBuf>, DriverError> {
        Ok(None)
    }

    /// As [`set_image_fd_label`](Self::set_image_fd_label), for tap
    /// descriptors (they resolve to `/dev/net/tun`).
    fn set_tap_fd_label(
        &self,
        _vm: &Vm<'_>,
        _fd: BorrowedFd<'_>,
    ) -> Result<Option<PathBuf>, DriverError> {
        Ok(None)
    }

    /// The profile the VM's process must run under, to be set in the
    /// child between fork and exec (with
    /// [`ProcAttr::set_exec_label`](crate::apparmor::ProcAttr::set_exec_label)
    /// in the child, or an exec wrapper such as `svirt __exec-label`).
    /// `None` when the VM is not confined.
    fn child_process_label(&self, _vm: &Vm<'_>) -> Result<Option<String>, DriverError> {
        Ok(None)
    }

    /// Switches the calling thread to the VM's profile now (for a process
    /// that becomes the VM itself, e.g. a container's init).
    fn set_process_label(&self, _vm: &Vm<'_>) -> Result<(), DriverError> {
        Ok(())
    }

    /// The label process `pid` actually runs under.
    fn process_label(&self, _vm: &Vm<'_>, _pid: u32) -> Result<ProcessLabel, DriverError> {
        Ok(ProcessLabel::Unconfined)
    }
}

#[cfg(test)]
mod tests;
