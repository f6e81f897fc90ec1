//! `svirt policy install | restore | status`: which template and
//! abstraction the helper makes new VM profiles from.
//!
//! `install` puts svirt's template beside the distribution's, as
//! `svirt.TEMPLATE.qemu`, which the helper prefers, and svirt's
//! abstraction in `abstractions/svirt-qemu` when none is there. The
//! distribution's `TEMPLATE.qemu` and `abstractions/libvirt-qemu` are never
//! touched, so package upgrades leave the choice alone and `restore` (which
//! removes svirt's template) gives the distribution's policy back. A VM's
//! profile is made once, at its first start: existing VMs keep the
//! abstraction their profile names until it is made again.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde_json::json;
use svirt::domain::{DomainUuid, VirtType};
use svirt::pipeline::{
    self, BUILTIN_QEMU_ABSTRACTION, BUILTIN_QEMU_TEMPLATE, SVIRT_TEMPLATE_PREFIX,
};
use svirt::policy::vmfiles::{classify, VmFileKind};
use svirt::policy::{render_files, render_profile, ProfileName};
use svirt::policydir as files;

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// New VM profiles use svirt's template and abstraction (the
    /// distribution's files stay as they are).
    Install(PolicyArgs),
    /// New VM profiles use the distribution's template again.
    Restore(PolicyArgs),
    /// Which template new VM profiles use, and which abstraction each
    /// existing VM profile includes.
    Status(PolicyArgs),
}

#[derive(Debug, clap::Args)]
pub struct PolicyArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// The per-VM policy directory; abstractions are looked for beside it.
    #[arg(long, hide = true, default_value = crate::POLICY_DIR)]
    policy_dir: PathBuf,
}

fn svirt_template(dir: &Path) -> PathBuf {
    dir.join(format!(
        "{SVIRT_TEMPLATE_PREFIX}{}",
        pipeline::template_file_name(VirtType::Kvm)
    ))
}

fn abstraction(dir: &Path) -> PathBuf {
    aa_dir(dir).join("abstractions/svirt-qemu")
}

fn aa_dir(dir: &Path) -> PathBuf {
    dir.parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/etc/apparmor.d"))
}

pub fn run(command: &PolicyCommand) -> Result<ExitCode> {
    match command {
        PolicyCommand::Install(a) => install(a),
        PolicyCommand::Restore(a) => restore(a),
        PolicyCommand::Status(a) => status(a),
    }
}

/// A profile made from svirt's template for a VM that does not exist
/// compiles with the parser and the abstraction that will be used: a
/// template that does not compile would make every VM start fail.
fn check_compiles(abstraction_text: &str) -> Result<()> {
    let base = tempfile::tempdir().context("cannot create a temporary directory")?;
    let uuid = DomainUuid::parse("00000000-0000-4000-8000-000000000000").expect("a valid UUID");
    let name = ProfileName::for_uuid(&uuid);
    std::fs::create_dir_all(base.path().join("libvirt"))?;
    std::fs::create_dir_all(base.path().join("abstractions"))?;
    std::fs::write(
        base.path().join("abstractions/svirt-qemu"),
        abstraction_text,
    )?;
    let profile = base.path().join("libvirt").join(name.as_str());
    std::fs::write(
        &profile,
        render_profile(BUILTIN_QEMU_TEMPLATE, &name, true, true)?,
    )?;
    std::fs::write(
        base.path().join(format!("libvirt/{name}.files")),
        render_files(""),
    )?;
    svirt::apparmor::parser::compile_only(&profile, base.path(), &[Path::new("/etc/apparmor.d")])
        .context("svirt's template does not compile here; nothing was installed")?;
    Ok(())
}

fn install(args: &PolicyArgs) -> Result<ExitCode> {
    let dir = &args.policy_dir;
    if !dir.is_dir() {
        bail!(
            "{} does not exist: is libvirt's AppArmor support installed (libvirt-daemon-system)?",
            dir.display()
        );
    }
    let abs = abstraction(dir);
    let existing = files::read_limited(&abs, files::MAX_FILE_BYTES)?
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    // An abstraction already there (the package's, or one an operator
    // edited) is kept; svirt's is written only where there is none.
    let text = existing
        .clone()
        .unwrap_or_else(|| BUILTIN_QEMU_ABSTRACTION.to_owned());
    check_compiles(&text)?;
    let wrote_abstraction = existing.is_none();
    if wrote_abstraction {
        std::fs::create_dir_all(abs.parent().unwrap_or(dir))?;
        files::replace_atomically(&abs, BUILTIN_QEMU_ABSTRACTION.as_bytes())?;
    }
    let template = svirt_template(dir);
    files::replace_atomically(&template, BUILTIN_QEMU_TEMPLATE.as_bytes())?;
    let stale = profiles(dir)?
        .into_iter()
        .filter(|(_, a)| *a != "svirt-qemu")
        .count();
    if args.json {
        let out = json!({
            "template": template,
            "abstraction": abs,
            "abstraction_written": wrote_abstraction,
            "existing_profiles_with_other_abstractions": stale,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "new VM profiles are made from {} (abstractions/svirt-qemu{})",
            template.display(),
            if wrote_abstraction {
                ", installed"
            } else {
                ", already there, kept"
            }
        );
        if stale > 0 {
            println!(
                "{stale} existing VM profile(s) keep the abstraction they name until they are made \
                 again: see `svirt policy status`"
            );
        }
        println!("undo with: svirt policy restore");
    }
    Ok(ExitCode::SUCCESS)
}

fn restore(args: &PolicyArgs) -> Result<ExitCode> {
    let template = svirt_template(&args.policy_dir);
    let existed = template.exists();
    files::remove(&template)?;
    if args.json {
        let out = json!({ "removed": existed, "template": template });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if existed {
        println!(
            "removed {}: new VM profiles are made from the distribution's template again",
            template.display()
        );
    } else {
        println!("svirt's template was not installed; nothing to do");
    }
    Ok(ExitCode::SUCCESS)
}

/// Each existing VM profile and the abstraction it names (`svirt-qemu`,
/// `libvirt-qemu`, or `other`).
fn profiles(dir: &Path) -> Result<Vec<(String, &'static str)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !matches!(classify(&name), Some((_, VmFileKind::Profile))) {
            continue;
        }
        let text = files::read_limited(&entry.path(), files::MAX_FILE_BYTES)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let includes = |a: &str| {
            text.lines().any(|l| {
                let l = l.trim_start();
                (l.starts_with("#include") || l.starts_with("include"))
                    && l.contains(&format!("<abstractions/{a}>"))
            })
        };
        let which = if includes("svirt-qemu") {
            "svirt-qemu"
        } else if includes("libvirt-qemu") {
            "libvirt-qemu"
        } else {
            "other"
        };
        out.push((name, which));
    }
    out.sort();
    Ok(out)
}

fn status(args: &PolicyArgs) -> Result<ExitCode> {
    let dir = &args.policy_dir;
    let svirt = svirt_template(dir);
    let distribution = dir.join(pipeline::template_file_name(VirtType::Kvm));
    let active = if svirt.exists() {
        "svirt"
    } else if distribution.exists() {
        "distribution"
    } else {
        "built-in"
    };
    let list = profiles(dir)?;
    if args.json {
        let vms: Vec<_> = list
            .iter()
            .map(|(p, a)| json!({ "profile": p, "abstraction": a }))
            .collect();
        let out = json!({
            "new_profiles": active,
            "template": match active {
                "svirt" => Some(svirt.clone()),
                "distribution" => Some(distribution.clone()),
                _ => None,
            },
            "profiles": vms,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        match active {
            "svirt" => println!(
                "new VM profiles: svirt's template and abstraction ({})",
                svirt.display()
            ),
            "distribution" => println!(
                "new VM profiles: the distribution's template ({}); `svirt policy install` \
                 switches to svirt's",
                distribution.display()
            ),
            _ => println!("new VM profiles: the helper's built-in template (svirt's abstraction)"),
        }
        for (p, a) in &list {
            println!("  {p}  {a}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
