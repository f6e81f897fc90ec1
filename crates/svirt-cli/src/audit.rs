//! `svirt audit`: the host's confinement as it runs, for people and for
//! monitoring (exit 0 clean, 1 findings, 2 cannot check). The checks are
//! `svirt::confinement`; this reads the machine and prints.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::json;
use svirt::apparmor::{
    ProcAttr, SecurityFs, DEFAULT_ENABLED_PARAM, DEFAULT_PROC, DEFAULT_SECURITYFS,
};
use svirt::confinement::{self, AuditInput, Finding, RunningVm};
use svirt::domain::{parse_domain, Limits};
use svirt::host::RealHost;
use svirt::libvirt::{self, DefinitionDirs, Definitions};
use svirt::policy::escape::inert;
use svirt::Settings;

/// Exit status when the audit found something.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status when the host could not be checked.
pub const EXIT_CANNOT_CHECK: u8 = 2;

/// Where the commands look; every one can be moved for tests (hidden).
#[derive(Debug, Clone, clap::Args)]
pub struct HostRoots {
    /// AppArmor's securityfs directory.
    #[arg(long, hide = true, default_value = DEFAULT_SECURITYFS)]
    pub securityfs: PathBuf,
    /// The file that says whether AppArmor is enabled.
    #[arg(long, hide = true, default_value = DEFAULT_ENABLED_PARAM)]
    pub apparmor_enabled: PathBuf,
    /// Where procfs is mounted.
    #[arg(long, hide = true, default_value = DEFAULT_PROC)]
    pub proc: PathBuf,
    /// The per-VM policy directory.
    #[arg(long, hide = true, default_value = crate::POLICY_DIR)]
    pub policy_dir: PathBuf,
    /// libvirt's configuration root (persistent definitions in qemu/, lxc/).
    #[arg(long, hide = true, default_value = "/etc/libvirt")]
    pub libvirt_config: PathBuf,
    /// libvirt's state root (running definitions in qemu/, lxc/).
    #[arg(long, hide = true, default_value = "/run/libvirt")]
    pub libvirt_state: PathBuf,
}

impl HostRoots {
    pub fn securityfs(&self) -> SecurityFs {
        SecurityFs::with_roots(&self.securityfs, &self.apparmor_enabled)
    }
    pub fn proc(&self) -> ProcAttr {
        ProcAttr::with_root(&self.proc)
    }
    pub fn definition_dirs(&self) -> DefinitionDirs {
        DefinitionDirs::under(&self.libvirt_config, &self.libvirt_state)
    }
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    roots: HostRoots,
}

pub fn run(args: &AuditArgs) -> Result<ExitCode> {
    let input = match gather(&args.roots) {
        Ok(input) => input,
        Err(e) => {
            if args.json {
                let out = json!({ "error": format!("{e:#}"), "clean": false });
                println!("{}", serde_json::to_string_pretty(&out)?);
            }
            crate::diag("error", format!("cannot check: {e:#}"));
            return Ok(ExitCode::from(EXIT_CANNOT_CHECK));
        }
    };
    let findings = confinement::audit(&input, &args.roots.policy_dir);
    let failed = confinement::has_failures(&findings);
    if args.json {
        let list: Vec<_> = findings.iter().map(finding_json).collect();
        let out = json!({
            "clean": !failed,
            "findings": list,
            "checked": {
                "qemu_processes": input.processes.len(),
                "running_vms": input.running.len() + input.unidentified_running.len(),
                "loaded_profiles": input.loaded.len(),
            },
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for f in &findings {
            let level = if f.note { "note" } else { "FINDING" };
            println!("{level} {}: {}", f.kind.as_str(), inert(&f.text));
            println!("  fix: {}", inert(&f.fix));
        }
        let count = findings.iter().filter(|f| !f.note).count();
        println!(
            "svirt audit: {} ({} QEMU processes, {} running VMs, {} loaded profiles checked)",
            match count {
                0 => "clean".to_owned(),
                1 => "1 finding".to_owned(),
                n => format!("{n} findings"),
            },
            input.processes.len(),
            input.running.len() + input.unidentified_running.len(),
            input.loaded.len()
        );
    }
    Ok(if failed {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    })
}

fn finding_json(f: &Finding) -> serde_json::Value {
    json!({
        "kind": f.kind.as_str(),
        "note": f.note,
        "vms": f.vms.iter().map(|v| json!({
            "uuid": v.uuid.map(|u| u.to_string()),
            "name": v.name,
        })).collect::<Vec<_>>(),
        "pids": f.pids,
        "file": f.file,
        "text": f.text,
        "fix": f.fix,
    })
}

/// Reads everything the audit needs; an error means it cannot check.
fn gather(roots: &HostRoots) -> Result<AuditInput> {
    let sfs = roots.securityfs();
    sfs.check_available()?;
    let loaded = sfs.profiles()?;
    let dirs = roots.definition_dirs();
    let definitions = Definitions::scan(&dirs)?;
    let processes = confinement::scan_qemu_processes(&roots.proc())?;
    let policy = confinement::scan_policy_dir(&roots.policy_dir)
        .with_context(|| format!("cannot list {}", roots.policy_dir.display()))?;
    let running = running_vms(&definitions, &Settings::safe(), &RealHost::new());
    let in_running_dir = |p: &Path| dirs.running.iter().any(|d| p.parent() == Some(d));
    let unidentified_running = definitions
        .unidentified
        .iter()
        .filter(|u| in_running_dir(&u.path))
        .map(|u| (u.path.clone(), u.reason.clone()))
        .collect();
    Ok(AuditInput {
        processes,
        loaded,
        definitions,
        running,
        unidentified_running,
        policy,
    })
}

/// Each running definition with the disk files it may write.
fn running_vms(defs: &Definitions, settings: &Settings, host: &RealHost) -> Vec<RunningVm> {
    defs.running()
        .map(|d| {
            let writes = libvirt::domain_xml(&d.path).and_then(|xml| {
                parse_domain(&xml, &Limits::default())
                    .map(|domain| confinement::disk_writes(&domain, settings, host))
                    .map_err(|e| e.to_string())
            });
            RunningVm {
                uuid: d.uuid,
                name: d.name.clone(),
                path: d.path.clone(),
                writes,
            }
        })
        .collect()
}
