//! `svirt gc`: the per-VM files of domains libvirt no longer defines.
//!
//! libvirt keeps a VM's profile while the domain is defined, running or
//! not, and the helper removes it when the domain is undefined. A crash,
//! a killed helper or a host restored from backup leaves files behind:
//! [`plan`] decides, from plain inputs, which to remove and which loaded
//! profiles to unload; [`apply`] does it.
//!
//! The rules, most cautious first:
//! - only names [`classify`] recognises, and only regular files and
//!   symbolic links (a link is removed, never its target);
//! - a domain with any definition, persistent or running, keeps every
//!   file but its temporaries;
//! - an undefined domain whose profile labels a live process keeps
//!   everything, and is reported;
//! - an undefined domain with a file younger than [`MIN_AGE`] keeps
//!   everything (it may be starting: libvirt writes a transient domain's
//!   live definition after the helper wrote its profile);
//! - a temporary (`*.tmp-<pid>-<n>`) goes, whatever its domain, once it is
//!   older than [`MIN_AGE`] and its writer `<pid>` is gone.
//!
//! Whether the definitions could all be read is the caller's question
//! ([`crate::libvirt::Definitions::unidentified`]): this module trusts
//! the [`Definitions`] it is given.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::apparmor::{ProcessLabel, SecurityFs};
use crate::confinement::label_runs_under;
use crate::domain::DomainUuid;
use crate::libvirt::Definitions;
use crate::policy::vmfiles::{classify, VmFileKind, TEMP_INFIX};
use crate::policy::ProfileName;

/// How old a file must be before it is removed.
pub const MIN_AGE: Duration = Duration::from_secs(60);

/// What a directory entry is, without following links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryType {
    File,
    Symlink,
    /// A directory, device, socket or FIFO: never removed.
    Other,
}

/// One per-VM file of the policy directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyEntry {
    pub name: String,
    pub uuid: DomainUuid,
    pub kind: VmFileKind,
    pub file_type: EntryType,
    /// Time since its last modification; `None` when it is in the future
    /// or unknown (treated as new).
    pub age: Option<Duration>,
}

/// The per-VM files of `dir` ([`classify`]), by `lstat`, sorted by name.
/// A directory that does not exist is empty.
pub fn scan(dir: &Path) -> io::Result<Vec<PolicyEntry>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let now = SystemTime::now();
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some((uuid, kind)) = classify(&name) else {
            continue;
        };
        let meta = match fs::symlink_metadata(entry.path()) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let t = meta.file_type();
        let file_type = if t.is_symlink() {
            EntryType::Symlink
        } else if t.is_file() {
            EntryType::File
        } else {
            EntryType::Other
        };
        let age = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok());
        out.push(PolicyEntry {
            name,
            uuid,
            kind,
            file_type,
            age,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The pid in a temporary's name (`….tmp-<pid>-<n>`).
pub fn temporary_pid(name: &str) -> Option<u32> {
    let (_, counters) = name.rsplit_once(TEMP_INFIX)?;
    counters.split_once('-')?.0.parse().ok()
}

/// What [`plan`] looks at.
#[derive(Debug, Clone, Copy)]
pub struct GcInput<'a> {
    pub entries: &'a [PolicyEntry],
    pub definitions: &'a Definitions,
    /// The names of the loaded profiles (all of them; only per-VM ones
    /// matter).
    pub loaded: &'a [String],
    /// Every live process with its label.
    pub labels: &'a [(u32, ProcessLabel)],
    /// Every live pid.
    pub alive: &'a BTreeSet<u32>,
}

/// A file to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub name: String,
    pub uuid: DomainUuid,
    pub kind: VmFileKind,
    /// Why it goes.
    pub why: String,
}

/// A file left in place, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub name: String,
    pub why: String,
}

/// An undefined domain whose profile a live process runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InUse {
    pub uuid: DomainUuid,
    pub pids: Vec<u32>,
    /// Its files, all left in place.
    pub files: Vec<String>,
}

/// What `svirt gc` would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Profiles to unload first (undefined domains, loaded).
    pub unload: Vec<ProfileName>,
    pub remove: Vec<Removal>,
    /// Undefined domains' files and temporaries left for a reason.
    pub kept: Vec<Kept>,
    /// Undefined domains refused because their profile is in use.
    pub in_use: Vec<InUse>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.unload.is_empty() && self.remove.is_empty()
    }
}

/// Decides what to remove and unload (see the module's rules).
pub fn plan(input: GcInput<'_>) -> Plan {
    let mut out = Plan::default();
    let old = |e: &PolicyEntry| e.age.is_some_and(|a| a >= MIN_AGE);

    // The undefined domains: their files, and loaded profiles without any.
    let mut undefined: BTreeMap<DomainUuid, Vec<&PolicyEntry>> = BTreeMap::new();
    for e in input.entries {
        if e.kind == VmFileKind::Temporary {
            continue;
        }
        if !input.definitions.is_defined(&e.uuid) {
            undefined.entry(e.uuid).or_default().push(e);
        }
    }
    let loaded: BTreeSet<DomainUuid> = input
        .loaded
        .iter()
        .filter_map(|n| match classify(n) {
            Some((uuid, VmFileKind::Profile)) => Some(uuid),
            _ => None,
        })
        .collect();
    for uuid in &loaded {
        if !input.definitions.is_defined(uuid) {
            undefined.entry(*uuid).or_default();
        }
    }

    let mut refused: BTreeSet<DomainUuid> = BTreeSet::new();
    for (uuid, files) in &undefined {
        let profile = ProfileName::for_uuid(uuid);
        let pids: Vec<u32> = input
            .labels
            .iter()
            .filter(|(_, l)| {
                l.label()
                    .is_some_and(|l| label_runs_under(l, profile.as_str()))
            })
            .map(|(pid, _)| *pid)
            .collect();
        let names = || files.iter().map(|e| e.name.clone());
        if !pids.is_empty() {
            refused.insert(*uuid);
            out.in_use.push(InUse {
                uuid: *uuid,
                pids,
                files: names().collect(),
            });
            continue;
        }
        if let Some(young) = files.iter().find(|e| !old(e)) {
            refused.insert(*uuid);
            for name in names() {
                out.kept.push(Kept {
                    name,
                    why: format!(
                        "{} is younger than {} s: the domain may be starting",
                        young.name,
                        MIN_AGE.as_secs()
                    ),
                });
            }
            continue;
        }
        for e in files {
            if e.file_type == EntryType::Other {
                out.kept.push(Kept {
                    name: e.name.clone(),
                    why: "not a regular file or a symbolic link".into(),
                });
                continue;
            }
            out.remove.push(Removal {
                name: e.name.clone(),
                uuid: *uuid,
                kind: e.kind,
                why: "its domain is not defined".into(),
            });
        }
        if loaded.contains(uuid) {
            out.unload.push(profile);
        }
    }

    for e in input.entries {
        if e.kind != VmFileKind::Temporary {
            continue;
        }
        let why = if refused.contains(&e.uuid) {
            Some("its domain's files are kept".to_owned())
        } else if e.file_type == EntryType::Other {
            Some("not a regular file or a symbolic link".to_owned())
        } else if !old(e) {
            Some(format!(
                "younger than {} s: a helper may be about to rename it",
                MIN_AGE.as_secs()
            ))
        } else {
            match temporary_pid(&e.name) {
                Some(pid) if input.alive.contains(&pid) => {
                    Some(format!("its writer, process {pid}, is still running"))
                }
                _ => None,
            }
        };
        match why {
            Some(why) => out.kept.push(Kept {
                name: e.name.clone(),
                why,
            }),
            None => out.remove.push(Removal {
                name: e.name.clone(),
                uuid: e.uuid,
                kind: e.kind,
                why: "a temporary its writer left behind".into(),
            }),
        }
    }
    out.remove.sort_by(|a, b| a.name.cmp(&b.name));
    out.kept.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// What [`apply`] did to one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `unload` or `remove`.
    pub action: &'static str,
    /// The profile or file name.
    pub name: String,
    pub result: Result<(), String>,
}

/// Carries out a plan: unloads each profile, then removes the files. A
/// domain whose profile cannot be unloaded keeps its files (they are what
/// reloads or explains it). Each file is looked at again without
/// following links just before it goes, and only a regular file or a link
/// is removed; a file already gone counts as removed.
pub fn apply(plan: &Plan, dir: &Path, sfs: Option<&SecurityFs>) -> Vec<Outcome> {
    let mut out = Vec::new();
    let mut failed: BTreeSet<String> = BTreeSet::new();
    for profile in &plan.unload {
        let result = match sfs {
            Some(sfs) => sfs
                .remove_profile(profile.as_str())
                .map_err(|e| e.to_string()),
            None => Err("AppArmor is not available".to_owned()),
        };
        if result.is_err() {
            failed.insert(profile.to_string());
        }
        out.push(Outcome {
            action: "unload",
            name: profile.to_string(),
            result,
        });
    }
    for r in &plan.remove {
        let profile = ProfileName::for_uuid(&r.uuid).to_string();
        if r.kind != VmFileKind::Temporary && failed.contains(&profile) {
            out.push(Outcome {
                action: "remove",
                name: r.name.clone(),
                result: Err(format!("kept: {profile} could not be unloaded")),
            });
            continue;
        }
        let path = dir.join(&r.name);
        let result = match fs::symlink_metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.to_string()),
            Ok(m) if !(m.file_type().is_file() || m.file_type().is_symlink()) => {
                Err("not a regular file or a symbolic link any more".to_owned())
            }
            Ok(_) => match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.to_string()),
                _ => Ok(()),
            },
        };
        out.push(Outcome {
            action: "remove",
            name: r.name.clone(),
            result,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apparmor::ProfileMode;
    use crate::libvirt::{Defined, Kind};

    const DEF: &str = "00000000-0000-4000-8000-00000000000d";
    const RUN: &str = "00000000-0000-4000-8000-00000000000e";
    const GONE: &str = "00000000-0000-4000-8000-00000000000f";
    const OLD: Option<Duration> = Some(Duration::from_secs(3600));

    fn uuid(s: &str) -> DomainUuid {
        DomainUuid::parse(s).unwrap()
    }
    fn entry(name: String, file_type: EntryType, age: Option<Duration>) -> PolicyEntry {
        let (uuid, kind) = classify(&name).unwrap();
        PolicyEntry {
            name,
            uuid,
            kind,
            file_type,
            age,
        }
    }
    fn files_of(u: &str) -> Vec<PolicyEntry> {
        ["", ".files", ".lock", ".override", ".complain"]
            .iter()
            .map(|s| entry(format!("libvirt-{u}{s}"), EntryType::File, OLD))
            .collect()
    }
    fn definitions() -> Definitions {
        let d = |u: &str, kind| Defined {
            uuid: uuid(u),
            name: "vm".into(),
            kind,
            path: "/x.xml".into(),
        };
        Definitions {
            domains: vec![d(DEF, Kind::Persistent), d(RUN, Kind::Running)],
            unidentified: Vec::new(),
        }
    }
    fn all_entries() -> Vec<PolicyEntry> {
        let mut e = files_of(DEF);
        e.extend(files_of(RUN));
        e.extend(files_of(GONE));
        e
    }
    fn run(entries: &[PolicyEntry], loaded: &[&str], labels: &[(u32, ProcessLabel)]) -> Plan {
        let defs = definitions();
        let loaded: Vec<String> = loaded.iter().map(|u| format!("libvirt-{u}")).collect();
        let alive = labels.iter().map(|(p, _)| *p).collect();
        plan(GcInput {
            entries,
            definitions: &defs,
            loaded: &loaded,
            labels,
            alive: &alive,
        })
    }
    fn removed(p: &Plan) -> Vec<&str> {
        p.remove.iter().map(|r| r.name.as_str()).collect()
    }

    #[test]
    fn only_an_undefined_domains_files_go() {
        let p = run(&all_entries(), &[DEF, RUN, GONE], &[]);
        let mut want: Vec<String> = files_of(GONE).into_iter().map(|e| e.name).collect();
        want.sort();
        assert_eq!(removed(&p), want);
        assert_eq!(p.unload, [ProfileName::for_uuid(&uuid(GONE))]);
        assert!(p.in_use.is_empty() && p.kept.is_empty());
        // Positive control: defined, they all stay.
        let p = run(&files_of(DEF), &[DEF], &[]);
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn a_loaded_profile_without_files_is_unloaded() {
        let p = run(&[], &[GONE, DEF], &[]);
        assert_eq!(p.unload, [ProfileName::for_uuid(&uuid(GONE))]);
        assert!(p.remove.is_empty());
    }

    #[test]
    fn a_profile_in_use_is_refused() {
        let label = ProcessLabel::Confined {
            label: format!("libvirt-{GONE}"),
            mode: ProfileMode::Enforce,
        };
        let p = run(
            &all_entries(),
            &[GONE],
            &[(42, label), (1, ProcessLabel::Unconfined)],
        );
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(p.in_use.len(), 1);
        assert_eq!(p.in_use[0].pids, [42]);
        assert_eq!(p.in_use[0].files.len(), 5);
    }

    #[test]
    fn young_files_and_other_types_stay() {
        let mut e = files_of(GONE);
        e[1].age = Some(Duration::from_secs(5));
        let p = run(&e, &[GONE], &[]);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(p.kept.len(), 5);
        let mut e = files_of(GONE);
        e[0].file_type = EntryType::Symlink;
        e[1].file_type = EntryType::Other;
        let p = run(&e, &[], &[]);
        assert_eq!(removed(&p).len(), 4);
        assert_eq!(p.remove[0].name, format!("libvirt-{GONE}"));
        assert_eq!(p.kept.len(), 1);
    }

    #[test]
    fn temporaries() {
        let t =
            |u: &str, rest: &str, age| entry(format!("libvirt-{u}{rest}"), EntryType::File, age);
        let entries = vec![
            t(DEF, ".tmp-100-0", OLD),                           // writer gone: goes
            t(DEF, ".files.tmp-200-1", OLD),                     // writer alive
            t(RUN, ".override.tmp-100-2", Some(Duration::ZERO)), // too young
            t(RUN, ".tmp-100-3", None),                          // unknown age
        ];
        let p = run(&entries, &[], &[(200, ProcessLabel::Unconfined)]);
        assert_eq!(removed(&p), [format!("libvirt-{DEF}.tmp-100-0")]);
        assert_eq!(p.kept.len(), 3);
        assert!(p.kept.iter().any(|k| k.why.contains("process 200")));
        assert_eq!(
            temporary_pid(&format!("libvirt-{DEF}.files.tmp-7-1")),
            Some(7)
        );
        assert_eq!(temporary_pid("x"), None);
    }

    #[test]
    fn scan_and_apply_never_follow_links() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("libvirt");
        fs::create_dir_all(&dir).unwrap();
        let target = tmp.path().join("precious");
        fs::write(&target, "keep me").unwrap();
        let gone = format!("libvirt-{GONE}");
        std::os::unix::fs::symlink(&target, dir.join(&gone)).unwrap();
        fs::write(dir.join(format!("{gone}.files")), "").unwrap();
        fs::create_dir(dir.join(format!("{gone}.lock"))).unwrap();
        fs::write(dir.join("TEMPLATE.qemu"), "").unwrap();
        fs::write(dir.join(format!("libvirt-{DEF}")), "").unwrap();
        let mut entries = scan(&dir).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        let def = format!("libvirt-{DEF}");
        let want = [
            &def,
            &gone,
            &format!("{gone}.files"),
            &format!("{gone}.lock"),
        ];
        assert_eq!(names, want);
        assert_eq!(entries[1].file_type, EntryType::Symlink);
        assert_eq!(entries[3].file_type, EntryType::Other);
        for e in &mut entries {
            e.age = OLD;
        }
        let p = run(&entries, &[], &[]);
        assert_eq!(removed(&p), [gone.clone(), format!("{gone}.files")]);
        let done = apply(&p, &dir, None);
        assert!(done.iter().all(|o| o.result.is_ok()), "{done:?}");
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep me");
        assert!(fs::symlink_metadata(dir.join(&gone)).is_err());
        assert!(dir.join(format!("{gone}.lock")).is_dir());
        assert!(dir.join("TEMPLATE.qemu").exists());
        assert!(dir.join(format!("libvirt-{DEF}")).exists());
        assert!(scan(&tmp.path().join("none")).unwrap().is_empty());
    }

    #[test]
    fn a_failed_unload_keeps_the_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let gone = format!("libvirt-{GONE}");
        fs::write(dir.join(&gone), "").unwrap();
        let mut entries = scan(dir).unwrap();
        entries[0].age = OLD;
        let p = run(&entries, &[GONE], &[]);
        assert_eq!(p.unload.len(), 1);
        // No securityfs: the unload fails, so the file stays.
        let sfs = SecurityFs::with_roots(dir.join("sfs"), dir.join("enabled"));
        let done = apply(&p, dir, Some(&sfs));
        assert_eq!(done.len(), 2);
        assert!(done.iter().all(|o| o.result.is_err()), "{done:?}");
        assert!(dir.join(&gone).exists());
    }
}
