//! `svirt status` and `svirt label`: what the kernel says, read-only.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::json;
use svirt::apparmor::{ProcAttr, ProcessLabel, ProfileMode, SecurityFs};
use svirt::policy::PROFILE_PREFIX;

/// Where libvirt keeps per-VM policy.
const POLICY_DIR: &str = "/etc/apparmor.d/libvirt";

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct LabelArgs {
    /// The process id.
    pid: u32,
}

/// One loaded per-VM profile and the processes confined by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmProfile {
    pub name: String,
    pub mode: ProfileMode,
    pub pids: Vec<u32>,
}

/// Whether `label` (possibly a stack `a//&b`, or a child `a//b`) puts a
/// process under `profile`.
fn runs_under(label: &str, profile: &str) -> bool {
    label.split("//&").any(|part| {
        part == profile
            || part
                .strip_prefix(profile)
                .is_some_and(|rest| rest.starts_with("//"))
    })
}

/// The loaded `libvirt-*` profiles, with the processes running under each.
/// Processes that vanish or cannot be read during the scan are skipped.
pub fn vm_profiles(sfs: &SecurityFs, proc: &ProcAttr) -> Result<Vec<VmProfile>> {
    sfs.check_available()?;
    let mut out: Vec<VmProfile> = sfs
        .profiles()?
        .into_iter()
        .filter(|p| p.name.starts_with(PROFILE_PREFIX))
        .map(|p| VmProfile {
            name: p.name,
            mode: p.mode,
            pids: Vec::new(),
        })
        .collect();
    if out.is_empty() {
        return Ok(out);
    }
    let mut labels: BTreeMap<u32, String> = BTreeMap::new();
    for pid in proc.pids()? {
        if let Ok(ProcessLabel::Confined { label, .. }) = proc.label_of(pid) {
            labels.insert(pid, label);
        }
    }
    for vm in &mut out {
        vm.pids = labels
            .iter()
            .filter(|(_, l)| runs_under(l, &vm.name))
            .map(|(pid, _)| *pid)
            .collect();
    }
    Ok(out)
}

pub fn status(args: &StatusArgs) -> Result<ExitCode> {
    let profiles = vm_profiles(&SecurityFs::new(), &ProcAttr::new())?;
    let dir = std::path::Path::new(POLICY_DIR);
    if args.json {
        let list: Vec<_> = profiles
            .iter()
            .map(|p| {
                let c = crate::overrides::choices_of(dir, &p.name);
                json!({
                    "profile": p.name,
                    "mode": p.mode.as_str(),
                    "pids": p.pids,
                    "lasting_complain": c.complain_marker,
                    "complain_in_file": c.complain_in_file,
                    "overrides": c.overrides,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "profiles": list }))?
        );
    } else if profiles.is_empty() {
        println!("no {PROFILE_PREFIX}* profiles are loaded");
    } else {
        println!("{:<45} {:<9} {:<20} PIDS", "PROFILE", "MODE", "CHOICES");
        for p in &profiles {
            let pids: Vec<String> = p.pids.iter().map(u32::to_string).collect();
            let name = svirt::policy::escape::inert(&p.name);
            println!(
                "{name:<45} {:<9} {:<20} {}",
                p.mode.as_str(),
                choices_text(&crate::overrides::choices_of(dir, &p.name)),
                pids.join(" ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `complain (lasting)`, `2 overrides`, both, or `-`.
fn choices_text(c: &crate::overrides::Choices) -> String {
    let mut parts = Vec::new();
    if c.complain_marker {
        parts.push("complain(lasting)".to_owned());
    } else if c.complain_in_file {
        parts.push("complain(file)".to_owned());
    }
    match c.overrides {
        0 => {}
        1 => parts.push("1 override".to_owned()),
        n => parts.push(format!("{n} overrides")),
    }
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join(",")
    }
}

pub fn label(args: &LabelArgs) -> Result<ExitCode> {
    SecurityFs::new().check_available()?;
    let label = ProcAttr::new()
        .label_of(args.pid)
        .with_context(|| format!("cannot read the label of process {}", args.pid))?;
    println!("{}", svirt::policy::escape::inert(&label.to_string()));
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct UnloadArgs {
    /// The per-VM profile to unload (`libvirt-<uuid>`).
    profile: String,
}

/// `svirt unload`: removes a per-VM profile from the kernel by name
/// (securityfs `.remove`). Unlike `apparmor_parser -R`, this needs no
/// profile file, so it also cleans up after a VM whose files are gone.
pub fn unload(args: &UnloadArgs) -> Result<ExitCode> {
    let sfs = SecurityFs::new();
    sfs.check_available()?;
    let Some(rest) = args.profile.strip_prefix(PROFILE_PREFIX) else {
        anyhow::bail!(
            "{} is not a per-VM profile (they are named {PROFILE_PREFIX}<uuid>)",
            args.profile
        );
    };
    let uuid = svirt::domain::DomainUuid::parse(rest)
        .with_context(|| format!("{} is not a per-VM profile name", args.profile))?;
    let name = svirt::policy::ProfileName::for_uuid(&uuid);
    if name.as_str() != args.profile {
        anyhow::bail!(
            "{} is not a per-VM profile name; did you mean {name}?",
            args.profile
        );
    }
    if sfs.profile_mode(name.as_str())?.is_none() {
        anyhow::bail!("{name} is not loaded");
    }
    sfs.remove_profile(name.as_str())
        .with_context(|| format!("cannot unload {name}"))?;
    println!("unloaded {name}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::Path;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    #[test]
    fn profiles_with_their_processes() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let a = "libvirt-00000000-0000-0000-0000-00000000000a";
        let b = "libvirt-00000000-0000-0000-0000-00000000000b";
        write(root, "enabled", "Y\n");
        write(
            root,
            "sfs/profiles",
            &format!("{a} (enforce)\n/usr/sbin/libvirtd (enforce)\n{b} (complain)\n"),
        );
        write(
            root,
            "proc/10/attr/apparmor/current",
            &format!("{a} (enforce)\n"),
        );
        write(root, "proc/11/attr/apparmor/current", "unconfined\n");
        write(
            root,
            "proc/12/attr/apparmor/current",
            &format!("{a}//&other (mixed)\n"),
        );
        write(
            root,
            "proc/13/attr/apparmor/current",
            &format!("{a}0 (enforce)\n"),
        );
        fs::create_dir_all(root.join("proc/14")).unwrap(); // vanished
        let sfs = SecurityFs::with_roots(root.join("sfs"), root.join("enabled"));
        let got = vm_profiles(&sfs, &ProcAttr::with_root(root.join("proc"))).unwrap();
        assert_eq!(
            got,
            [
                VmProfile {
                    name: a.into(),
                    mode: ProfileMode::Enforce,
                    pids: vec![10, 12]
                },
                VmProfile {
                    name: b.into(),
                    mode: ProfileMode::Complain,
                    pids: vec![]
                },
            ]
        );
    }

    #[test]
    fn absent_apparmor_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let sfs = SecurityFs::with_roots(tmp.path().join("sfs"), tmp.path().join("enabled"));
        let err = vm_profiles(&sfs, &ProcAttr::with_root(tmp.path())).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("AppArmor is not available in this kernel ("),
            "{err}"
        );
    }

    #[test]
    fn stacked_and_child_labels() {
        assert!(runs_under("p", "p"));
        assert!(runs_under("x//&p", "p"));
        assert!(runs_under("p//hat", "p"));
        assert!(!runs_under("p2", "p"));
    }
}
