//! The AppArmor driver: policy changes go through the helper, reads go to
//! the kernel interfaces.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::helper::{Helper, HelperMode};
use super::{
    DisabledReason, DriverError, LabelKind, ProbeResult, SecurityDriver, SecurityLabel,
    UnconfinedReason, Vm, MODEL,
};
use crate::apparmor::{KernelError, ProcAttr, ProcessLabel, SecurityFs};
use crate::domain::{
    CharDev, Domain, HostDev, Input, Interface, MemoryDevice, StorageSource, StorageType,
};
use crate::host::{Host, RealHost};
use crate::policy::{Grant, Mode, Origin, ProfileName, Target};
use crate::resources::DeviceError;

/// Where Debian and Ubuntu install libvirt's helper.
pub const DEFAULT_HELPER: &str = "/usr/lib/libvirt/virt-aa-helper";
/// Where the helper keeps per-VM profiles and the templates.
pub const DEFAULT_POLICY_DIR: &str = "/etc/apparmor.d/libvirt";
/// The log setting libvirt hands the helper (warnings and errors to stderr).
pub const DEFAULT_LOG_OUTPUTS: &str = "3:stderr";

/// Everything the driver reads or runs, each configurable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppArmorConfig {
    /// The helper binary.
    pub helper: PathBuf,
    /// `LIBVIRT_LOG_OUTPUTS` for the helper.
    pub log_outputs: Option<String>,
    /// The helper's policy directory: a profile file there decides `-c`
    /// (absent) or `-r` (present).
    pub policy_dir: PathBuf,
    /// Files probe requires (libvirt: `TEMPLATE.qemu` and `TEMPLATE.lxc`).
    pub required_templates: Vec<PathBuf>,
    /// Profiles of which one must be loaded for the manager to count as
    /// confined; the manager's own executable path is tried first. `None`
    /// skips the check (libvirt always makes it, with `libvirtd`).
    pub manager_profiles: Option<Vec<String>>,
    pub securityfs: SecurityFs,
    pub proc: ProcAttr,
    /// Root under which `/sys` and `/dev` are looked up for host devices.
    pub device_root: PathBuf,
}

impl Default for AppArmorConfig {
    fn default() -> Self {
        let policy_dir = PathBuf::from(DEFAULT_POLICY_DIR);
        AppArmorConfig {
            helper: DEFAULT_HELPER.into(),
            log_outputs: Some(DEFAULT_LOG_OUTPUTS.to_owned()),
            required_templates: vec![
                policy_dir.join("TEMPLATE.qemu"),
                policy_dir.join("TEMPLATE.lxc"),
            ],
            policy_dir,
            manager_profiles: Some(vec!["libvirtd".to_owned()]),
            securityfs: SecurityFs::default(),
            proc: ProcAttr::default(),
            device_root: "/".into(),
        }
    }
}

impl AppArmorConfig {
    /// The configuration `svirt exec` uses: the helper built next to the
    /// running executable, no template requirement (svirt's helper has a
    /// built-in template) and no manager-profile requirement (it sets the
    /// label with `change_onexec`, which an unconfined caller may use).
    pub fn bundled() -> io::Result<Self> {
        Ok(AppArmorConfig {
            helper: bundled_helper()?,
            required_templates: Vec::new(),
            manager_profiles: None,
            ..AppArmorConfig::default()
        })
    }
}

/// `virt-aa-helper` in the directory of the running executable.
pub fn bundled_helper() -> io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "executable has no directory"))?;
    Ok(dir.join("virt-aa-helper"))
}

/// The AppArmor sVirt driver.
///
/// ```no_run
/// use svirt::domain::{parse_domain, Limits};
/// use svirt::driver::{AppArmorConfig, AppArmorDriver, LabelPolicy, SecurityDriver, SecurityLabel, Vm};
///
/// let driver = AppArmorDriver::new(AppArmorConfig::default());
/// assert!(driver.probe().is_enabled());
/// let xml = std::fs::read_to_string("vm.xml")?;
/// let domain = parse_domain(&xml, &Limits::default())?;
/// let mut label = SecurityLabel::from_domain(&domain, &LabelPolicy::default())?
///     .expect("confined by default");
/// driver.verify(&domain, &label)?;
/// driver.gen_label(&domain, &xml, &mut label)?; // helper -c: profile loaded
/// let vm = Vm { domain: &domain, xml: &xml, label: &label };
/// driver.set_all_labels(&vm, None)?;
/// let profile = driver.child_process_label(&vm)?; // exec QEMU under this
/// // … the VM runs …
/// driver.restore_all_labels(&vm)?; // helper -D: profile unloaded
/// driver.release_label(&mut label)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct AppArmorDriver {
    config: AppArmorConfig,
    helper: Helper,
    host: Arc<dyn Host + Send + Sync>,
}

impl std::fmt::Debug for AppArmorDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppArmorDriver")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppArmorDriver {
    /// A driver on the real host.
    pub fn new(config: AppArmorConfig) -> Self {
        let host = Arc::new(RealHost::with_root(&config.device_root));
        AppArmorDriver::with_host(config, host)
    }

    /// A driver that asks `host` about images and devices (tests use
    /// [`crate::testing::FakeHost`]).
    pub fn with_host(config: AppArmorConfig, host: Arc<dyn Host + Send + Sync>) -> Self {
        AppArmorDriver {
            helper: Helper {
                path: config.helper.clone(),
                log_outputs: config.log_outputs.clone(),
            },
            host,
            config,
        }
    }

    pub fn config(&self) -> &AppArmorConfig {
        &self.config
    }

    /// The profile name of a domain, `libvirt-<uuid>`.
    pub fn profile_name(domain: &Domain) -> ProfileName {
        ProfileName::for_uuid(&domain.uuid)
    }

    fn profile_file_exists(&self, profile: &str) -> bool {
        self.config.policy_dir.join(profile).exists()
    }

    /// Runs the helper with `-c` when the profile file is absent and `-r`
    /// otherwise; an extra file is appended (`-F`) only with `-r`, as
    /// libvirt does (a created profile already holds the whole XML).
    fn load(
        &self,
        profile: &str,
        xml: &str,
        file: Option<&Path>,
    ) -> Result<(), super::HelperError> {
        let mode = if !self.profile_file_exists(profile) {
            HelperMode::Create
        } else if let Some(f) = file {
            HelperMode::Append(f)
        } else {
            HelperMode::Replace
        };
        self.helper.run(mode, profile, xml)
    }

    /// Updates a running VM's profile: appends `file`, or regenerates it
    /// from the XML when `file` is `None`. Nothing happens when the label
    /// does not relabel, has no image label, or the profile is not loaded.
    fn reload(&self, vm: &Vm<'_>, file: Option<&Path>) -> Result<(), DriverError> {
        let Some(profile) = vm.label.reloadable() else {
            return Ok(());
        };
        if self.config.securityfs.profile_mode(profile)?.is_none() {
            return Ok(());
        }
        self.load(profile, vm.xml, file)
            .map_err(|source| DriverError::Update {
                profile: profile.to_owned(),
                source: Box::new(source),
            })
    }

    /// Appends each path in turn, one helper run per path.
    fn append_all(&self, vm: &Vm<'_>, paths: &[String]) -> Result<(), DriverError> {
        for p in paths {
            self.reload(vm, Some(Path::new(p)))?;
        }
        Ok(())
    }

    fn require_existing(&self, what: &'static str, path: &str) -> Result<(), DriverError> {
        if self.host.exists(Path::new(path)) {
            Ok(())
        } else {
            Err(DriverError::Missing {
                what,
                path: path.into(),
            })
        }
    }

    /// Appends the paths of a hot-plugged device's grants, as worked out
    /// by resources/ (the same code as at start), one helper run per
    /// path. Each path goes through the policy checks first (safe mode,
    /// as for disks), so a device cannot be given at hotplug what it
    /// could not get at start. With `must_exist`, a missing file is an
    /// error and nothing is appended.
    fn append_grants(
        &self,
        vm: &Vm<'_>,
        grants: &[Grant],
        must_exist: Option<&'static str>,
    ) -> Result<(), DriverError> {
        let paths = self.grant_paths(vm, grants, must_exist)?;
        self.append_all(vm, &paths)
    }

    /// The paths `-F` asks for a device's grants (see [`Self::append_grants`]).
    fn grant_paths(
        &self,
        vm: &Vm<'_>,
        grants: &[Grant],
        must_exist: Option<&'static str>,
    ) -> Result<Vec<String>, DriverError> {
        let settings = crate::Settings::safe();
        let rules = crate::policy::rules_for(
            grants,
            &settings,
            &*self.host,
            &crate::pipeline::vm_context(vm.domain),
        )
        .map_err(|f| DriverError::Refused(Box::new(f)))?;
        let mut paths = Vec::new();
        for rule in rules.rules.iter().filter(|r| r.grant.mode == Mode::Allow) {
            let path = match (&rule.canonical, &rule.grant.target) {
                (Some(path), Target::Path(_)) => {
                    if let Some(what) = must_exist {
                        self.require_existing(what, path)?;
                    }
                    path.clone()
                }
                // A fixed device node (the VFIO container, SGX): as is.
                // A fixed glob (an unallocated pty's `/dev/pts/[0-9]*`)
                // is not a file to append.
                (_, Target::Fixed(f)) if !f.as_str().contains(['*', '?', '[', '{']) => {
                    f.as_str().to_owned()
                }
                _ => continue,
            };
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
        Ok(paths)
    }

    /// Resolves a descriptor through `<proc>/self/fd`.
    fn fd_target(&self, fd: BorrowedFd<'_>) -> Option<PathBuf> {
        let link = self
            .config
            .proc
            .root()
            .join("self/fd")
            .join(fd.as_raw_fd().to_string());
        let target = std::fs::read_link(link).ok()?;
        // Pipes, sockets and anonymous inodes read as `type:[inode]`.
        target.is_absolute().then_some(target)
    }

    fn check_model(&self, vm: &Vm<'_>) -> Result<(), DriverError> {
        match vm.label.model.as_deref() {
            Some(m) if m != MODEL => Err(DriverError::ModelMismatch {
                model: m.to_owned(),
                domain: vm.domain.name.clone(),
            }),
            _ => Ok(()),
        }
    }
}

impl From<DeviceError> for DriverError {
    fn from(e: DeviceError) -> Self {
        match e {
            DeviceError::NoSource { what } => DriverError::NoSource { what },
            DeviceError::NotFound { what } => DriverError::DeviceNotFound { what },
            DeviceError::Resources(e) => DriverError::BadDevice(e),
        }
    }
}

impl SecurityDriver for AppArmorDriver {
    fn probe(&self) -> ProbeResult {
        // The compile-time switch of the original design: a build without
        // the `apparmor` feature never confines, whatever the host offers.
        if !cfg!(feature = "apparmor") {
            return ProbeResult::Disabled(DisabledReason::NotCompiled);
        }
        let sfs = &self.config.securityfs;
        match sfs.unavailable() {
            Ok(None) => {}
            Ok(Some(why)) => return ProbeResult::Disabled(DisabledReason::Kernel(why)),
            Err(e) => {
                return ProbeResult::Disabled(DisabledReason::Unreadable {
                    path: sfs.enabled_param().to_owned(),
                    message: e.to_string(),
                })
            }
        }
        let profiles = match sfs.profiles() {
            Ok(p) => p,
            Err(KernelError::Read { path, source })
                if source.kind() == io::ErrorKind::PermissionDenied =>
            {
                return ProbeResult::Unconfined(UnconfinedReason::Unprivileged { path })
            }
            Err(e) => {
                return ProbeResult::Disabled(DisabledReason::Unreadable {
                    path: sfs.path("profiles"),
                    message: e.to_string(),
                })
            }
        };
        let manager_mode = match &self.config.manager_profiles {
            None => None,
            Some(names) => {
                let mut tried = Vec::new();
                if let Ok(exe) = std::fs::read_link(self.config.proc.root().join("self/exe")) {
                    tried.push(exe.to_string_lossy().into_owned());
                }
                tried.extend(names.iter().cloned());
                let found = tried
                    .iter()
                    .find_map(|n| profiles.iter().find(|p| &p.name == n));
                match found {
                    Some(p) => Some(p.mode.clone()),
                    None => {
                        return ProbeResult::Disabled(DisabledReason::ManagerNotConfined { tried })
                    }
                }
            }
        };
        if let Some(path) = self.config.required_templates.iter().find(|t| !t.exists()) {
            return ProbeResult::Disabled(DisabledReason::TemplateMissing { path: path.clone() });
        }
        ProbeResult::Enabled { manager_mode }
    }

    fn model(&self) -> &'static str {
        MODEL
    }

    fn verify(&self, domain: &Domain, label: &SecurityLabel) -> Result<(), DriverError> {
        if label.kind != LabelKind::Static {
            return Ok(());
        }
        let Some(name) = label.label.as_deref() else {
            return Err(DriverError::NoLabel {
                domain: domain.name.clone(),
            });
        };
        if self.config.securityfs.profile_mode(name)?.is_none() {
            return Err(DriverError::NotLoaded {
                label: name.to_owned(),
                domain: domain.name.clone(),
            });
        }
        Ok(())
    }

    fn gen_label(
        &self,
        domain: &Domain,
        xml: &str,
        label: &mut SecurityLabel,
    ) -> Result<(), DriverError> {
        if label.kind != LabelKind::Dynamic {
            return Ok(());
        }
        if let Some(base) = &label.base_label {
            return Err(super::LabelError::BaseLabel {
                domain: domain.name.clone(),
                base: base.clone(),
            }
            .into());
        }
        if label.label.is_some() || label.image_label.is_some() {
            return Err(DriverError::AlreadyDefined {
                domain: domain.name.clone(),
            });
        }
        let profile = AppArmorDriver::profile_name(domain).to_string();
        self.load(&profile, xml, None)
            .map_err(|source| DriverError::Load {
                profile: profile.clone(),
                source: Box::new(source),
            })?;
        label.label = Some(profile.clone());
        label.image_label = Some(profile);
        label.model.get_or_insert_with(|| MODEL.to_owned());
        Ok(())
    }

    fn release_label(&self, label: &mut SecurityLabel) -> Result<(), DriverError> {
        if label.kind == LabelKind::Dynamic {
            label.label = None;
            label.image_label = None;
            label.model = None;
        }
        Ok(())
    }

    fn set_all_labels(&self, vm: &Vm<'_>, incoming: Option<&Path>) -> Result<(), DriverError> {
        match incoming {
            Some(path) => self.reload(vm, Some(path)),
            None => Ok(()),
        }
    }

    fn restore_all_labels(&self, vm: &Vm<'_>) -> Result<(), DriverError> {
        if vm.label.kind != LabelKind::Dynamic {
            return Ok(());
        }
        let profile = match vm.label.image_label.as_deref() {
            Some(p) => p.to_owned(),
            None => AppArmorDriver::profile_name(vm.domain).to_string(),
        };
        self.helper
            .run(HelperMode::Delete, &profile, vm.xml)
            .map_err(|source| DriverError::Remove {
                profile,
                domain: vm.domain.name.clone(),
                source: Box::new(source),
            })
    }

    fn set_image_label(&self, vm: &Vm<'_>, src: &StorageSource) -> Result<(), DriverError> {
        if vm.label.reloadable().is_none() {
            return Ok(());
        }
        if src.kind == StorageType::Nvme {
            // The model does not keep an NVMe disk's PCI address, which
            // names the VFIO group libvirt would add.
            return Err(DriverError::Unsupported {
                what: "hot-plugging an NVMe disk",
            });
        }
        // A pool volume is resolved by the same code as at start.
        let volume = src.kind == StorageType::Volume;
        if !volume && (!src.kind.is_local() || src.path.is_none()) {
            return Ok(());
        }
        // The files the disk gets, decided as at start (so an image header
        // cannot name more than it could then), each checked first, so a
        // missing one changes nothing.
        let settings = crate::Settings::safe();
        let grants = crate::resources::storage_grants(vm.domain, src, &settings, &*self.host);
        let rules = crate::policy::rules_for(
            &grants.grants,
            &settings,
            &*self.host,
            &crate::pipeline::vm_context(vm.domain),
        )
        .map_err(|f| DriverError::Refused(Box::new(f)))?;
        // `-F` appends one `rwk` rule to the existing rules; the helper
        // cannot tell a hotplug's `-F` from a block job's. So the files the
        // definition itself grants (the disk is in `vm.xml`) come from a
        // plain regeneration, with the access it gives them: backing layers
        // stay `rk`. Only files it does not grant as needed are asked for
        // with `-F`; without the disk in the definition that is every file,
        // `rwk`, as libvirt does.
        let granted = definition_access(vm.domain, &settings, &*self.host);
        let mut covered = false;
        let mut paths = Vec::new();
        for rule in rules.rules.iter().filter(|r| r.grant.mode == Mode::Allow) {
            let Some(path) = &rule.canonical else {
                continue;
            };
            let what = match rule.grant.origin {
                Origin::DiskDataFile { .. } => "external data file or extent",
                _ => "disk image",
            };
            self.require_existing(what, path)?;
            let in_definition = granted
                .iter()
                .any(|(p, access)| p == path && access.contains(rule.grant.access));
            if in_definition {
                covered = true;
            } else if !paths.contains(path) {
                paths.push(path.clone());
            }
        }
        if covered {
            self.reload(vm, None)?;
        }
        self.append_all(vm, &paths)
    }

    fn restore_image_label(&self, vm: &Vm<'_>, src: &StorageSource) -> Result<(), DriverError> {
        if !src.kind.is_local() {
            return Ok(());
        }
        self.reload(vm, None)
    }

    fn set_hostdev_label(&self, vm: &Vm<'_>, dev: &HostDev) -> Result<(), DriverError> {
        if vm.label.reloadable().is_none() || dev.mode != "subsystem" {
            return Ok(());
        }
        let settings = crate::Settings::safe();
        let grants = crate::resources::hostdev_grants(vm.domain, dev, &settings, &*self.host)?;
        self.append_grants(vm, &grants, None)
    }

    fn restore_hostdev_label(&self, vm: &Vm<'_>, _dev: &HostDev) -> Result<(), DriverError> {
        self.reload(vm, None)
    }

    fn set_chardev_label(&self, vm: &Vm<'_>, dev: &CharDev) -> Result<(), DriverError> {
        if vm.label.reloadable().is_none() {
            return Ok(());
        }
        let settings = crate::Settings::safe();
        let grants = crate::resources::chardev_grants(vm.domain, dev, &settings, &*self.host);
        self.append_grants(vm, &grants, None)
    }

    fn restore_chardev_label(&self, vm: &Vm<'_>, _dev: &CharDev) -> Result<(), DriverError> {
        self.reload(vm, None)
    }

    fn set_memory_label(&self, vm: &Vm<'_>, mem: &MemoryDevice) -> Result<(), DriverError> {
        if vm.label.reloadable().is_none() {
            return Ok(());
        }
        let settings = crate::Settings::safe();
        let grants = crate::resources::memory_grants(vm.domain, mem, &settings, &*self.host)?;
        self.append_grants(vm, &grants, Some("memory backing file"))
    }

    fn restore_memory_label(&self, vm: &Vm<'_>, _mem: &MemoryDevice) -> Result<(), DriverError> {
        self.reload(vm, None)
    }

    fn set_input_label(&self, vm: &Vm<'_>, input: &Input) -> Result<(), DriverError> {
        if vm.label.reloadable().is_none() {
            return Ok(());
        }
        let settings = crate::Settings::safe();
        let grants = crate::resources::input_grants(vm.domain, input, &settings, &*self.host)?;
        self.append_grants(vm, &grants, Some("input device"))
    }

    fn restore_input_label(&self, vm: &Vm<'_>, _input: &Input) -> Result<(), DriverError> {
        self.reload(vm, None)
    }

    fn set_netdev_label(&self, vm: &Vm<'_>, net: &Interface) -> Result<(), DriverError> {
        if vm.label.reloadable().is_none() {
            return Ok(());
        }
        let settings = crate::Settings::safe();
        let grants = crate::resources::interface_grants(vm.domain, net, &settings, &*self.host)?;
        self.append_grants(vm, &grants, None)
    }

    fn restore_netdev_label(&self, vm: &Vm<'_>, _net: &Interface) -> Result<(), DriverError> {
        self.reload(vm, None)
    }

    fn set_path_label(&self, vm: &Vm<'_>, path: &Path, subtree: bool) -> Result<(), DriverError> {
        if subtree {
            let mut pattern = path.as_os_str().to_owned();
            pattern.push("/");
            pattern.push(crate::policy::Glob::Subtree.as_str());
            self.reload(vm, Some(Path::new(&pattern)))
        } else {
            self.reload(vm, Some(path))
        }
    }

    fn restore_path_label(&self, vm: &Vm<'_>, _path: &Path) -> Result<(), DriverError> {
        self.reload(vm, None)
    }

    fn set_image_fd_label(
        &self,
        vm: &Vm<'_>,
        fd: BorrowedFd<'_>,
    ) -> Result<Option<PathBuf>, DriverError> {
        if vm.label.reloadable().is_none() {
            return Ok(None);
        }
        let Some(target) = self.fd_target(fd) else {
            return Ok(None);
        };
        self.reload(vm, Some(&target))?;
        Ok(Some(target))
    }

    fn set_tap_fd_label(
        &self,
        vm: &Vm<'_>,
        fd: BorrowedFd<'_>,
    ) -> Result<Option<PathBuf>, DriverError> {
        self.set_image_fd_label(vm, fd)
    }

    fn child_process_label(&self, vm: &Vm<'_>) -> Result<Option<String>, DriverError> {
        if vm.label.kind == LabelKind::None {
            return Ok(None);
        }
        self.check_model(vm)?;
        match vm.label.label.as_deref() {
            Some(l) => Ok(Some(l.to_owned())),
            None => Err(DriverError::NoLabel {
                domain: vm.domain.name.clone(),
            }),
        }
    }

    fn set_process_label(&self, vm: &Vm<'_>) -> Result<(), DriverError> {
        if let Some(profile) = self.child_process_label(vm)? {
            self.config.proc.change_profile(&profile)?;
        }
        Ok(())
    }

    fn process_label(&self, _vm: &Vm<'_>, pid: u32) -> Result<ProcessLabel, DriverError> {
        Ok(self.config.proc.label_of(pid)?)
    }
}

/// The canonical paths the domain's own rules grant, with their access.
/// Empty when the domain's policy cannot be computed: then every file is
/// asked for with `-F`.
fn definition_access(
    domain: &Domain,
    settings: &crate::Settings,
    host: &dyn Host,
) -> Vec<(String, crate::policy::Access)> {
    let Ok(policy) = crate::pipeline::policy_for(domain, settings, host, &[]) else {
        return Vec::new();
    };
    policy
        .rules
        .rules
        .into_iter()
        .filter(|r| {
            r.grant.mode == Mode::Allow && matches!(r.grant.target, crate::policy::Target::Path(_))
        })
        .filter_map(|r| r.canonical.map(|c| (c, r.grant.access)))
        .collect()
}
