//! `svirt audit`: is the host confined as it should be, right now?
//!
//! Three questions, each answered from plain inputs (the QEMU processes
//! with their labels and command lines, the loaded profiles, libvirt's
//! definitions, the per-VM files of the policy directory), so every
//! finding can be tested without a kernel:
//!
//! 1. every QEMU runs under its own VM's profile, `libvirt-<uuid>`, where
//!    the UUID is the `-uuid` libvirt puts on its command line;
//! 2. no two running VMs may write the same file unless both declare the
//!    disk `<shareable/>` (the grants come from svirt's own pipeline, so a
//!    backing file, which is read-only, never counts);
//! 3. the loaded profiles, the profile files and the running VMs agree.
//!
//! The reading of `/proc` and of the policy directory is here too
//! ([`scan_qemu_processes`], [`scan_policy_dir`]), rooted like
//! [`ProcAttr`], so the command is only glue.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::apparmor::{LoadedProfile, ProcAttr, ProcessLabel, ProfileMode};
use crate::domain::{Domain, DomainUuid};
use crate::host::Host;
use crate::libvirt::Definitions;
use crate::policy::vmfiles::{classify, VmFileKind};
use crate::policy::{Access, Mode, ProfileName, Target};
use crate::Settings;

/// The longest command line read from `/proc/<pid>/cmdline`.
const MAX_CMDLINE_BYTES: u64 = 1024 * 1024;

/// Whether an executable is QEMU: its base name is `qemu-system-*` or
/// `qemu-kvm`. A binary replaced while running (an upgrade) reads as
/// `… (deleted)`; it is still QEMU.
pub fn is_qemu_exe(exe: &str) -> bool {
    let exe = exe.strip_suffix(" (deleted)").unwrap_or(exe);
    let base = exe.rsplit('/').next().unwrap_or(exe);
    base.starts_with("qemu-system-") || base == "qemu-kvm"
}

/// The value of `-uuid` (or `--uuid`) on a QEMU command line.
pub fn argv_uuid(argv: &[String]) -> Option<&str> {
    option_value(argv, "uuid")
}

/// The guest name on a QEMU command line: `-name guest=NAME,…` as libvirt
/// writes it (a `,` in the name doubled), or the older `-name NAME`.
pub fn argv_name(argv: &[String]) -> Option<String> {
    let value = option_value(argv, "name")?;
    let mut out = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' {
            if chars.peek() == Some(&',') {
                chars.next();
            } else {
                break;
            }
        }
        out.push(c);
    }
    // `guest=` is optional only when the name is the first option.
    let name = out.strip_prefix("guest=").unwrap_or(&out);
    Some(name.to_owned())
}

fn option_value<'a>(argv: &'a [String], option: &str) -> Option<&'a str> {
    let mut args = argv.iter().skip(1);
    while let Some(arg) = args.next() {
        let bare = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'));
        if bare == Some(option) {
            return args.next().map(String::as_str);
        }
    }
    None
}

/// Whether `label` (possibly a stack `a//&b`, or a child `a//b`) puts a
/// process under `profile`.
pub fn label_runs_under(label: &str, profile: &str) -> bool {
    label.split("//&").any(|part| {
        part == profile
            || part
                .strip_prefix(profile)
                .is_some_and(|rest| rest.starts_with("//"))
    })
}

/// The per-VM profiles a label names (each member of a stack, without
/// child profiles), with their UUIDs.
fn vm_profiles_in(label: &str) -> Vec<DomainUuid> {
    label
        .split("//&")
        .filter_map(|part| {
            let top = part.split("//").next().unwrap_or(part);
            match classify(top) {
                Some((uuid, VmFileKind::Profile)) => Some(uuid),
                _ => None,
            }
        })
        .collect()
}

/// One QEMU process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuProcess {
    pub pid: u32,
    /// Its executable, as `/proc/<pid>/exe` reads.
    pub exe: String,
    /// Its command line (invalid UTF-8 replaced).
    pub argv: Vec<String>,
    /// Its label, or why it could not be read.
    pub label: Result<ProcessLabel, String>,
}

/// Every QEMU process under `proc`: the ones whose `exe` link names QEMU
/// ([`is_qemu_exe`]). Processes that vanish during the scan, and those
/// whose `exe` cannot be read (kernel threads), are skipped.
pub fn scan_qemu_processes(proc: &ProcAttr) -> io::Result<Vec<QemuProcess>> {
    let pids = proc
        .pids()
        .map_err(|e| io::Error::other(format!("cannot list processes: {e}")))?;
    let mut out = Vec::new();
    for pid in pids {
        let base = proc.root().join(pid.to_string());
        let Ok(exe) = fs::read_link(base.join("exe")) else {
            continue;
        };
        let exe = exe.to_string_lossy().into_owned();
        if !is_qemu_exe(&exe) {
            continue;
        }
        let Ok(argv) = read_cmdline(&base.join("cmdline")) else {
            continue;
        };
        let label = match proc.label_of(pid) {
            Ok(label) => Ok(label),
            Err(e) if e.kind() == crate::apparmor::KernelErrorKind::NotFound => continue,
            Err(e) => Err(e.to_string()),
        };
        if !base.exists() {
            continue;
        }
        out.push(QemuProcess {
            pid,
            exe,
            argv,
            label,
        });
    }
    Ok(out)
}

fn read_cmdline(path: &Path) -> io::Result<Vec<String>> {
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(MAX_CMDLINE_BYTES)
        .read_to_end(&mut bytes)?;
    if bytes.last() == Some(&0) {
        bytes.pop();
    }
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    Ok(bytes
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect())
}

/// What the policy directory holds for the audit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyFiles {
    /// VMs whose profile file (`libvirt-<uuid>`) exists.
    pub profiles: BTreeSet<DomainUuid>,
    /// VMs with a `.complain` marker.
    pub complain: BTreeSet<DomainUuid>,
}

/// Reads the per-VM file names of the policy directory. A directory that
/// does not exist holds nothing; one that cannot be listed is an error.
pub fn scan_policy_dir(dir: &Path) -> io::Result<PolicyFiles> {
    let mut out = PolicyFiles::default();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        match classify(&name) {
            Some((uuid, VmFileKind::Profile)) => {
                out.profiles.insert(uuid);
            }
            Some((uuid, VmFileKind::Complain)) => {
                out.complain.insert(uuid);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// One disk file a VM may write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskWrite {
    /// The file, canonical (the host's `realpath`; as written when it
    /// cannot be resolved).
    pub path: String,
    /// Whether the disk is `<shareable/>`.
    pub shareable: bool,
    /// The disk, for reports: its target (`vda`) or `#<index>`.
    pub disk: String,
}

/// The files `domain`'s disks may write, worked out by the same code that
/// writes its profile ([`crate::resources::storage_grants`]): the image the
/// VM sees and its external data file, unless `<readonly/>`; never a
/// backing file.
pub fn disk_writes(domain: &Domain, settings: &Settings, host: &dyn Host) -> Vec<DiskWrite> {
    let mut out = Vec::new();
    for (index, disk) in domain.devices.disks.iter().enumerate() {
        let Some(source) = &disk.source else {
            continue;
        };
        let name = disk
            .target_dev
            .clone()
            .unwrap_or_else(|| format!("#{index}"));
        let grants = crate::resources::storage_grants(domain, source, settings, host).grants;
        for grant in grants {
            let Target::Path(path) = &grant.target else {
                continue;
            };
            if grant.mode != Mode::Allow || !grant.access.contains(Access::WRITE) {
                continue;
            }
            let canonical = host
                .realpath(Path::new(path))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| path.clone());
            let write = DiskWrite {
                path: canonical,
                shareable: disk.shareable,
                disk: name.clone(),
            };
            if !out.contains(&write) {
                out.push(write);
            }
        }
    }
    out
}

/// A running VM, from its live definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningVm {
    pub uuid: DomainUuid,
    pub name: String,
    /// The live definition file.
    pub path: PathBuf,
    /// The files it may write ([`disk_writes`]), or why its definition
    /// could not be checked.
    pub writes: Result<Vec<DiskWrite>, String>,
}

/// Everything the audit looks at.
#[derive(Debug, Clone, Default)]
pub struct AuditInput {
    pub processes: Vec<QemuProcess>,
    pub loaded: Vec<LoadedProfile>,
    /// libvirt's definitions (persistent and running), for names and for
    /// which VMs run.
    pub definitions: Definitions,
    /// The running definitions that could be identified, with their writes.
    pub running: Vec<RunningVm>,
    /// Running definitions that could not even be identified: their file
    /// and why.
    pub unidentified_running: Vec<(PathBuf, String)>,
    pub policy: PolicyFiles,
}

/// A finding's kind; [`FindingKind::as_str`] is stable (JSON `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    /// A QEMU runs unconfined.
    Unconfined,
    /// A QEMU runs under another VM's profile.
    OtherVmProfile,
    /// A QEMU runs under a label that is not a per-VM profile.
    NotVmProfile,
    /// A QEMU without a usable `-uuid`: which VM it is cannot be told.
    NoUuid,
    /// A QEMU's label could not be read.
    LabelUnreadable,
    /// A QEMU runs under its profile in complain mode (a note when the
    /// VM's `.complain` marker asks for it).
    Complain,
    /// Two running VMs may write one file, and not both share it.
    SharedDisk,
    /// A running definition svirt cannot parse: its disks are not checked.
    DefinitionUnchecked,
    /// A per-VM profile is loaded, but no such VM runs.
    StaleProfile,
    /// A VM runs, but its profile is not loaded.
    ProfileNotLoaded,
    /// A per-VM profile is loaded, but its file is gone.
    ProfileFileMissing,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Unconfined => "unconfined",
            FindingKind::OtherVmProfile => "other-vm-profile",
            FindingKind::NotVmProfile => "not-vm-profile",
            FindingKind::NoUuid => "no-uuid",
            FindingKind::LabelUnreadable => "label-unreadable",
            FindingKind::Complain => "complain-mode",
            FindingKind::SharedDisk => "shared-disk",
            FindingKind::DefinitionUnchecked => "definition-unchecked",
            FindingKind::StaleProfile => "stale-profile",
            FindingKind::ProfileNotLoaded => "profile-not-loaded",
            FindingKind::ProfileFileMissing => "profile-file-missing",
        }
    }
}

/// A VM as a finding names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct VmRef {
    pub uuid: Option<DomainUuid>,
    pub name: Option<String>,
}

impl std::fmt::Display for VmRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.name, &self.uuid) {
            (Some(n), Some(u)) => write!(f, "VM {n} ({u})"),
            (None, Some(u)) => write!(f, "VM {u}"),
            (Some(n), None) => write!(f, "VM {n} (no uuid)"),
            (None, None) => f.write_str("an unknown VM"),
        }
    }
}

/// One thing the audit found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    /// A note is reported but is not a failure (complain mode the
    /// operator asked for).
    pub note: bool,
    pub vms: Vec<VmRef>,
    pub pids: Vec<u32>,
    /// The file concerned (a shared disk, a definition, a profile file).
    pub file: Option<String>,
    /// What is wrong, in words.
    pub text: String,
    /// What to do about it.
    pub fix: String,
}

/// The audit: every finding and note, in a stable order (processes by
/// pid, then disks by path, then profiles by name).
pub fn audit(input: &AuditInput, policy_dir: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    let name_of = |uuid: &DomainUuid, fallback: Option<String>| -> Option<String> {
        input
            .definitions
            .name_of(uuid)
            .map(str::to_owned)
            .or(fallback)
    };
    let loaded: BTreeMap<&str, &ProfileMode> = input
        .loaded
        .iter()
        .map(|p| (p.name.as_str(), &p.mode))
        .collect();

    // 1. Every QEMU under its own VM's profile.
    let mut processes: Vec<&QemuProcess> = input.processes.iter().collect();
    processes.sort_by_key(|p| p.pid);
    let mut qemu_uuids: BTreeMap<DomainUuid, Vec<u32>> = BTreeMap::new();
    for p in processes {
        let argv_name = argv_name(&p.argv);
        let uuid = argv_uuid(&p.argv).map(|u| DomainUuid::parse(u).map_err(|e| e.to_string()));
        let uuid = match uuid {
            Some(Ok(uuid)) => uuid,
            other => {
                let why = match other {
                    Some(Err(e)) => format!("its -uuid is not a UUID ({e})"),
                    _ => "it has no -uuid on its command line".to_owned(),
                };
                let label = match &p.label {
                    Ok(l) => l.to_string(),
                    Err(e) => format!("unreadable: {e}"),
                };
                out.push(Finding {
                    kind: FindingKind::NoUuid,
                    note: false,
                    vms: vec![VmRef {
                        uuid: None,
                        name: argv_name,
                    }],
                    pids: vec![p.pid],
                    file: None,
                    text: format!(
                        "QEMU process {} ({}) cannot be matched to a VM: {why}; it runs as {label}",
                        p.pid, p.exe
                    ),
                    fix: "start VMs through libvirt, which passes -uuid; find out what started \
                          this process"
                        .to_owned(),
                });
                continue;
            }
        };
        qemu_uuids.entry(uuid).or_default().push(p.pid);
        let vm = VmRef {
            uuid: Some(uuid),
            name: name_of(&uuid, argv_name),
        };
        let own = ProfileName::for_uuid(&uuid);
        let restart = format!(
            "restart {vm} through libvirt with security_driver = \"apparmor\", so that it \
             runs under {own}"
        );
        let finding = |kind, text| Finding {
            kind,
            note: false,
            vms: vec![vm.clone()],
            pids: vec![p.pid],
            file: None,
            text,
            fix: restart.clone(),
        };
        match &p.label {
            Err(e) => out.push(Finding {
                fix: format!("check process {} by hand (svirt label {})", p.pid, p.pid),
                ..finding(
                    FindingKind::LabelUnreadable,
                    format!(
                        "the label of QEMU process {} of {vm} cannot be read: {e}",
                        p.pid
                    ),
                )
            }),
            Ok(ProcessLabel::Unconfined) => out.push(finding(
                FindingKind::Unconfined,
                format!("QEMU process {} of {vm} runs unconfined", p.pid),
            )),
            Ok(ProcessLabel::Confined { label, mode }) => {
                if label_runs_under(label, own.as_str()) {
                    let profile_complain =
                        loaded.get(own.as_str()) == Some(&&ProfileMode::Complain);
                    if *mode == ProfileMode::Complain || profile_complain {
                        let asked = input.policy.complain.contains(&uuid);
                        let marker = format!("{}/{own}.complain", policy_dir.display());
                        out.push(Finding {
                            kind: FindingKind::Complain,
                            note: asked,
                            vms: vec![vm.clone()],
                            pids: vec![p.pid],
                            file: asked.then(|| marker.clone()),
                            text: if asked {
                                format!(
                                    "QEMU process {} of {vm} runs under {own} in complain \
                                     mode, as {marker} asks",
                                    p.pid
                                )
                            } else {
                                format!(
                                    "QEMU process {} of {vm} runs under {own} in complain \
                                     mode: nothing is enforced",
                                    p.pid
                                )
                            },
                            fix: if asked {
                                format!("svirt enforce {uuid} when done")
                            } else {
                                format!(
                                    "svirt enforce {uuid} (or svirt complain {uuid} to keep \
                                     complain mode on purpose)"
                                )
                            },
                        });
                    }
                } else if let Some(other) = vm_profiles_in(label).first() {
                    let other_vm = VmRef {
                        uuid: Some(*other),
                        name: name_of(other, None),
                    };
                    out.push(Finding {
                        vms: vec![vm.clone(), other_vm.clone()],
                        ..finding(
                            FindingKind::OtherVmProfile,
                            format!(
                                "QEMU process {} of {vm} runs under {label}, the profile of \
                                 {other_vm}",
                                p.pid
                            ),
                        )
                    });
                } else {
                    out.push(finding(
                        FindingKind::NotVmProfile,
                        format!(
                            "QEMU process {} of {vm} runs under {label} ({mode}), not a \
                             per-VM profile",
                            p.pid
                        ),
                    ));
                }
            }
        }
    }

    // 2. No file written by two running VMs unless both share it.
    let mut writers: BTreeMap<&str, Vec<(&RunningVm, &DiskWrite)>> = BTreeMap::new();
    for vm in &input.running {
        match &vm.writes {
            Ok(writes) => {
                for w in writes {
                    writers.entry(w.path.as_str()).or_default().push((vm, w));
                }
            }
            Err(e) => out.push(Finding {
                kind: FindingKind::DefinitionUnchecked,
                note: false,
                vms: vec![VmRef {
                    uuid: Some(vm.uuid),
                    name: Some(vm.name.clone()),
                }],
                pids: Vec::new(),
                file: Some(vm.path.display().to_string()),
                text: format!(
                    "the running definition of VM {} ({}) in {} cannot be parsed, so its \
                     disks are not checked: {e}",
                    vm.name,
                    vm.uuid,
                    vm.path.display()
                ),
                fix: "check the definition with svirt profile FILE; report a definition \
                      libvirt accepts and svirt refuses"
                    .to_owned(),
            }),
        }
    }
    for (path, reason) in &input.unidentified_running {
        out.push(Finding {
            kind: FindingKind::DefinitionUnchecked,
            note: false,
            vms: Vec::new(),
            pids: Vec::new(),
            file: Some(path.display().to_string()),
            text: format!(
                "the running definition {} cannot be read, so its VM is not checked: {reason}",
                path.display()
            ),
            fix: "check the file and its permissions; libvirtd rewrites it while the VM runs"
                .to_owned(),
        });
    }
    for (path, list) in writers {
        let vms: BTreeSet<DomainUuid> = list.iter().map(|(vm, _)| vm.uuid).collect();
        if vms.len() < 2 || list.iter().all(|(_, w)| w.shareable) {
            continue;
        }
        let mut refs: Vec<VmRef> = Vec::new();
        let mut who = Vec::new();
        for (vm, w) in &list {
            let r = VmRef {
                uuid: Some(vm.uuid),
                name: Some(vm.name.clone()),
            };
            who.push(format!(
                "{r} as {}{}",
                w.disk,
                if w.shareable { " (shareable)" } else { "" }
            ));
            if !refs.contains(&r) {
                refs.push(r);
            }
        }
        let pids = refs
            .iter()
            .filter_map(|r| r.uuid.and_then(|u| qemu_uuids.get(&u)))
            .flatten()
            .copied()
            .collect();
        out.push(Finding {
            kind: FindingKind::SharedDisk,
            note: false,
            vms: refs,
            pids,
            file: Some(path.to_owned()),
            text: format!(
                "{path} is writable by more than one running VM, and not shared by all: {}",
                who.join(", ")
            ),
            fix: "give each VM its own image (or a copy-on-write overlay), or declare the disk \
                  <shareable/> in every VM that uses it if the guests coordinate their writes"
                .to_owned(),
        });
    }

    // 3. Loaded profiles, profile files and running VMs agree.
    let mut running: BTreeSet<DomainUuid> = input.running.iter().map(|v| v.uuid).collect();
    running.extend(input.definitions.running().map(|d| d.uuid));
    running.extend(qemu_uuids.keys().copied());
    let mut loaded_vms: BTreeSet<DomainUuid> = BTreeSet::new();
    let mut names: Vec<&LoadedProfile> = input.loaded.iter().collect();
    names.sort();
    for profile in names {
        let Some((uuid, VmFileKind::Profile)) = classify(&profile.name) else {
            continue;
        };
        loaded_vms.insert(uuid);
        let vm = VmRef {
            uuid: Some(uuid),
            name: name_of(&uuid, None),
        };
        let file = format!("{}/{}", policy_dir.display(), profile.name);
        if !running.contains(&uuid) {
            out.push(Finding {
                kind: FindingKind::StaleProfile,
                note: false,
                vms: vec![vm.clone()],
                pids: Vec::new(),
                file: None,
                text: format!(
                    "{} is loaded, but {vm} is not running (libvirt unloads a VM's profile \
                     when it stops)",
                    profile.name
                ),
                fix: if input.definitions.is_defined(&uuid) {
                    format!("svirt unload {}", profile.name)
                } else {
                    format!(
                        "svirt gc --apply (the VM is not defined), or svirt unload {}",
                        profile.name
                    )
                },
            });
        }
        if !input.policy.profiles.contains(&uuid) {
            out.push(Finding {
                kind: FindingKind::ProfileFileMissing,
                note: false,
                vms: vec![vm.clone()],
                pids: qemu_uuids.get(&uuid).cloned().unwrap_or_default(),
                file: Some(file.clone()),
                text: format!("{} is loaded, but its file {file} is missing", profile.name),
                fix: if running.contains(&uuid) {
                    format!(
                        "restart {vm} through libvirt (its helper writes the file again); \
                         until then the profile cannot be reloaded or updated for hotplug"
                    )
                } else {
                    format!("svirt unload {}", profile.name)
                },
            });
        }
    }
    for uuid in &running {
        if loaded_vms.contains(uuid) {
            continue;
        }
        let own = ProfileName::for_uuid(uuid);
        let argv_name = input
            .processes
            .iter()
            .find(|p| argv_uuid(&p.argv).and_then(|u| DomainUuid::parse(u).ok()) == Some(*uuid))
            .and_then(|p| argv_name(&p.argv));
        let vm = VmRef {
            uuid: Some(*uuid),
            name: name_of(uuid, argv_name),
        };
        out.push(Finding {
            kind: FindingKind::ProfileNotLoaded,
            note: false,
            vms: vec![vm.clone()],
            pids: qemu_uuids.get(uuid).cloned().unwrap_or_default(),
            file: None,
            text: format!("{vm} is running, but its profile {own} is not loaded"),
            fix: format!(
                "restart {vm} through libvirt with security_driver = \"apparmor\" (a profile \
                 loaded now does not confine a QEMU already running)"
            ),
        });
    }
    out
}

/// Whether the audit failed: any finding that is not a note.
pub fn has_failures(findings: &[Finding]) -> bool {
    findings.iter().any(|f| !f.note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libvirt::{Defined, Kind};
    use crate::testing::FakeHost;

    const A: &str = "00000000-0000-4000-8000-00000000000a";
    const B: &str = "00000000-0000-4000-8000-00000000000b";
    const C: &str = "00000000-0000-4000-8000-00000000000c";

    fn uuid(s: &str) -> DomainUuid {
        DomainUuid::parse(s).unwrap()
    }
    fn profile(u: &str) -> String {
        format!("libvirt-{u}")
    }
    fn argv(u: Option<&str>, name: &str) -> Vec<String> {
        let mut v = vec!["/usr/bin/qemu-system-x86_64".to_owned()];
        if let Some(u) = u {
            v.extend(["-uuid".to_owned(), u.to_owned()]);
        }
        v.extend(["-name".to_owned(), format!("guest={name},debug-threads=on")]);
        v
    }
    fn qemu(pid: u32, u: Option<&str>, name: &str, label: ProcessLabel) -> QemuProcess {
        QemuProcess {
            pid,
            exe: "/usr/bin/qemu-system-x86_64".into(),
            argv: argv(u, name),
            label: Ok(label),
        }
    }
    fn confined(label: &str, mode: ProfileMode) -> ProcessLabel {
        ProcessLabel::Confined {
            label: label.into(),
            mode,
        }
    }
    fn loaded(u: &str, mode: ProfileMode) -> LoadedProfile {
        LoadedProfile {
            name: profile(u),
            mode,
        }
    }
    fn running(u: &str, name: &str, writes: Vec<(&str, bool)>) -> RunningVm {
        RunningVm {
            uuid: uuid(u),
            name: name.into(),
            path: format!("/run/libvirt/qemu/{name}.xml").into(),
            writes: Ok(writes
                .into_iter()
                .map(|(p, s)| DiskWrite {
                    path: p.into(),
                    shareable: s,
                    disk: "vda".into(),
                })
                .collect()),
        }
    }
    fn defined(vms: &[&RunningVm]) -> Definitions {
        Definitions {
            domains: vms
                .iter()
                .map(|v| Defined {
                    uuid: v.uuid,
                    name: v.name.clone(),
                    kind: Kind::Running,
                    path: v.path.clone(),
                })
                .collect(),
            unidentified: Vec::new(),
        }
    }

    /// A host where VM a runs confined, with everything in agreement.
    fn clean() -> AuditInput {
        let a = running(A, "a", vec![("/img/a.qcow2", false)]);
        AuditInput {
            processes: vec![qemu(
                10,
                Some(A),
                "a",
                confined(&profile(A), ProfileMode::Enforce),
            )],
            loaded: vec![loaded(A, ProfileMode::Enforce)],
            definitions: defined(&[&a]),
            running: vec![a],
            unidentified_running: Vec::new(),
            policy: PolicyFiles {
                profiles: [uuid(A)].into(),
                complain: BTreeSet::new(),
            },
        }
    }

    fn kinds(input: &AuditInput) -> Vec<(FindingKind, bool)> {
        audit(input, Path::new("/etc/apparmor.d/libvirt"))
            .iter()
            .map(|f| (f.kind, f.note))
            .collect()
    }

    #[test]
    fn a_clean_host_has_no_findings() {
        assert_eq!(kinds(&clean()), []);
        assert!(!has_failures(&audit(&clean(), Path::new("/p"))));
    }

    #[test]
    fn qemu_recognition_and_arguments() {
        assert!(is_qemu_exe("/usr/bin/qemu-system-x86_64"));
        assert!(is_qemu_exe("/usr/libexec/qemu-kvm"));
        assert!(is_qemu_exe("/usr/bin/qemu-system-aarch64 (deleted)"));
        assert!(!is_qemu_exe("/usr/bin/qemu-img"));
        assert!(!is_qemu_exe("/usr/bin/sleep"));
        let v: Vec<String> = ["q", "-name", "guest=a,,b,debug-threads=on", "--uuid", A]
            .map(String::from)
            .into();
        assert_eq!(argv_name(&v).as_deref(), Some("a,b"));
        assert_eq!(argv_uuid(&v), Some(A));
        let old: Vec<String> = ["q", "-name", "plain"].map(String::from).into();
        assert_eq!(argv_name(&old).as_deref(), Some("plain"));
        assert_eq!(argv_uuid(&old), None);
        // The program name itself is not an option.
        let odd: Vec<String> = ["-uuid", A].map(String::from).into();
        assert_eq!(argv_uuid(&odd), None);
    }

    #[test]
    fn unconfined_qemu() {
        let mut input = clean();
        input.processes[0].label = Ok(ProcessLabel::Unconfined);
        let f = audit(&input, Path::new("/p"));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].kind, FindingKind::Unconfined);
        assert!(f[0].text.contains("process 10 of VM a ("), "{}", f[0].text);
        assert!(f[0].text.contains(A));
        assert!(f[0].fix.contains(&profile(A)));
        assert_eq!(f[0].pids, [10]);
        assert!(has_failures(&f));
    }

    #[test]
    fn another_vms_profile() {
        let mut input = clean();
        input.processes[0].label = Ok(confined(&profile(B), ProfileMode::Enforce));
        input.loaded.push(loaded(B, ProfileMode::Enforce));
        input.policy.profiles.insert(uuid(B));
        let f = audit(&input, Path::new("/p"));
        // B's profile has no VM of its own running, too.
        assert_eq!(
            f.iter().map(|f| f.kind).collect::<Vec<_>>(),
            [FindingKind::OtherVmProfile, FindingKind::StaleProfile]
        );
        assert_eq!(f[0].vms.len(), 2);
        assert_eq!(f[0].vms[1].uuid, Some(uuid(B)));
        // A stack with its own profile is fine, one with another's is not.
        input.processes[0].label = Ok(confined(
            &format!("{}//&{}", profile(A), profile(B)),
            ProfileMode::Mixed,
        ));
        assert_eq!(kinds(&input), [(FindingKind::StaleProfile, false)]);
    }

    #[test]
    fn a_label_that_is_not_a_vm_profile() {
        let mut input = clean();
        input.processes[0].label = Ok(confined("/usr/sbin/libvirtd", ProfileMode::Enforce));
        assert_eq!(kinds(&input), [(FindingKind::NotVmProfile, false)]);
        input.processes[0].label = Ok(confined("libvirt-bogus", ProfileMode::Enforce));
        assert_eq!(kinds(&input), [(FindingKind::NotVmProfile, false)]);
        input.processes[0].label = Err("permission denied".into());
        assert_eq!(kinds(&input), [(FindingKind::LabelUnreadable, false)]);
    }

    #[test]
    fn qemu_without_uuid() {
        let mut input = clean();
        input.processes.push(qemu(
            11,
            None,
            "mystery",
            confined(&profile(A), ProfileMode::Enforce),
        ));
        let f = audit(&input, Path::new("/p"));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].kind, FindingKind::NoUuid);
        assert!(f[0].text.contains("process 11"));
        assert_eq!(f[0].vms[0].name.as_deref(), Some("mystery"));
        input.processes[1].argv = argv(Some("not-a-uuid"), "x");
        assert_eq!(kinds(&input), [(FindingKind::NoUuid, false)]);
    }

    #[test]
    fn complain_mode_is_a_finding_unless_asked_for() {
        let mut input = clean();
        input.processes[0].label = Ok(confined(&profile(A), ProfileMode::Complain));
        input.loaded[0].mode = ProfileMode::Complain;
        assert_eq!(kinds(&input), [(FindingKind::Complain, false)]);
        input.policy.complain.insert(uuid(A));
        let f = audit(&input, Path::new("/p"));
        assert_eq!(f.len(), 1);
        assert!(f[0].note);
        assert_eq!(
            f[0].file.as_deref(),
            Some(format!("/p/{}.complain", profile(A)).as_str())
        );
        assert!(!has_failures(&f));
    }

    #[test]
    fn two_vms_writing_one_disk() {
        let mut input = clean();
        let b = running(
            B,
            "b",
            vec![("/img/a.qcow2", true), ("/img/b.qcow2", false)],
        );
        input.definitions.domains.extend(defined(&[&b]).domains);
        input.running.push(b);
        input.loaded.push(loaded(B, ProfileMode::Enforce));
        input.policy.profiles.insert(uuid(B));
        let f = audit(&input, Path::new("/p"));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].kind, FindingKind::SharedDisk);
        assert_eq!(f[0].file.as_deref(), Some("/img/a.qcow2"));
        assert_eq!(f[0].vms.len(), 2);
        assert_eq!(f[0].pids, [10]);
        assert!(f[0].text.contains("VM a (") && f[0].text.contains("VM b ("));
        // Shareable in both: fine.
        if let Ok(w) = &mut input.running[0].writes {
            w[0].shareable = true;
        }
        assert_eq!(kinds(&input), []);
        // One VM naming the same file twice is not two VMs.
        let mut input = clean();
        input.running[0] = running(
            A,
            "a",
            vec![("/img/a.qcow2", false), ("/img/a.qcow2", true)],
        );
        assert_eq!(kinds(&input), []);
    }

    #[test]
    fn an_unparsable_running_definition() {
        let mut input = clean();
        input.running[0].writes = Err("unknown element".into());
        assert_eq!(kinds(&input), [(FindingKind::DefinitionUnchecked, false)]);
        let mut input = clean();
        input
            .unidentified_running
            .push(("/run/libvirt/qemu/x.xml".into(), "not UTF-8".into()));
        assert_eq!(kinds(&input), [(FindingKind::DefinitionUnchecked, false)]);
    }

    #[test]
    fn profiles_and_running_vms_agree() {
        // A profile loaded for a VM that does not run.
        let mut input = clean();
        input.loaded.push(loaded(B, ProfileMode::Enforce));
        input.policy.profiles.insert(uuid(B));
        let f = audit(&input, Path::new("/p"));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, FindingKind::StaleProfile);
        assert!(f[0].fix.contains("svirt gc --apply"), "{}", f[0].fix);
        // A loaded profile whose file is gone.
        let mut input = clean();
        input.policy.profiles.clear();
        let f = audit(&input, Path::new("/p"));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, FindingKind::ProfileFileMissing);
        assert_eq!(
            f[0].file.as_deref(),
            Some(format!("/p/{}", profile(A)).as_str())
        );
        // A running VM (definition or process) whose profile is not loaded.
        let mut input = clean();
        input.loaded.clear();
        input.processes.push(qemu(
            12,
            Some(C),
            "c",
            confined(&profile(A), ProfileMode::Enforce),
        ));
        assert_eq!(
            kinds(&input),
            [
                (FindingKind::OtherVmProfile, false),
                (FindingKind::ProfileNotLoaded, false),
                (FindingKind::ProfileNotLoaded, false),
            ]
        );
        // A profile file for a stopped VM is normal, and other profiles
        // (not per-VM) are none of the audit's business.
        let mut input = clean();
        input.policy.profiles.insert(uuid(B));
        input.loaded.push(LoadedProfile {
            name: "/usr/sbin/libvirtd".into(),
            mode: ProfileMode::Enforce,
        });
        assert_eq!(kinds(&input), []);
    }

    #[test]
    fn writes_come_from_the_grants() {
        let xml = format!(
            "<domain type='kvm'><name>a</name><uuid>{A}</uuid><memory>1</memory>\
             <os><type>hvm</type></os><devices>\
             <disk type='file' device='disk'><source file='/img/link.qcow2'/>\
             <backingStore type='file'><format type='qcow2'/><source file='/img/base.qcow2'/>\
             <backingStore/></backingStore><target dev='vda'/><shareable/></disk>\
             <disk type='file' device='disk'><source file='/img/ro.img'/><target dev='vdb'/>\
             <readonly/></disk></devices></domain>"
        );
        let domain = crate::domain::parse_domain(&xml, &Default::default()).unwrap();
        let host = FakeHost::new()
            .with_file("/img/top.qcow2")
            .with_symlink("/img/link.qcow2", "/img/top.qcow2")
            .with_file("/img/base.qcow2")
            .with_file("/img/ro.img");
        let w = disk_writes(&domain, &Settings::safe(), &host);
        assert_eq!(
            w,
            [DiskWrite {
                path: "/img/top.qcow2".into(),
                shareable: true,
                disk: "vda".into()
            }]
        );
    }

    #[test]
    fn scanning_proc_and_the_policy_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let proc = tmp.path().join("proc");
        let mk = |pid: u32, exe: &str, cmd: &[&str], label: &str| {
            let d = proc.join(pid.to_string());
            fs::create_dir_all(d.join("attr/apparmor")).unwrap();
            std::os::unix::fs::symlink(exe, d.join("exe")).unwrap();
            fs::write(d.join("cmdline"), cmd.join("\0") + "\0").unwrap();
            fs::write(d.join("attr/apparmor/current"), label).unwrap();
        };
        mk(
            5,
            "/usr/bin/qemu-system-x86_64",
            &["qemu-system-x86_64", "-uuid", A],
            "unconfined\n",
        );
        mk(6, "/usr/bin/sleep", &["sleep", "9"], "unconfined\n");
        fs::create_dir_all(proc.join("2")).unwrap(); // a kernel thread: no exe
        let got = scan_qemu_processes(&ProcAttr::with_root(&proc)).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].pid, 5);
        assert_eq!(argv_uuid(&got[0].argv), Some(A));
        assert_eq!(got[0].label, Ok(ProcessLabel::Unconfined));

        let dir = tmp.path().join("policy");
        fs::create_dir_all(&dir).unwrap();
        for f in [
            profile(A),
            format!("{}.complain", profile(B)),
            "TEMPLATE.qemu".into(),
        ] {
            fs::write(dir.join(f), "").unwrap();
        }
        let files = scan_policy_dir(&dir).unwrap();
        assert_eq!(files.profiles, [uuid(A)].into());
        assert_eq!(files.complain, [uuid(B)].into());
        assert_eq!(
            scan_policy_dir(&tmp.path().join("none")).unwrap(),
            PolicyFiles::default()
        );
    }
}
