//! `svirt profile --check`: compile the generated policy with the real
//! parser, in a private directory laid out like `/etc/apparmor.d`.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use svirt::apparmor::parser;
use svirt::pipeline::{GeneratedProfile, BUILTIN_QEMU_ABSTRACTION};

/// Writes the profile, its `.files` and (for the built-in template) svirt's
/// abstraction into a temporary base directory and compiles it there; the
/// system's `/etc/apparmor.d` supplies tunables and base abstractions.
pub fn compile(g: &GeneratedProfile, builtin_template: bool) -> Result<()> {
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let base = dir.path();
    let name = g.policy.name.as_str();
    fs::create_dir(base.join("libvirt"))?;
    fs::create_dir(base.join("abstractions"))?;
    if let Some(files) = &g.files {
        fs::write(base.join("libvirt").join(format!("{name}.files")), files)?;
    }
    if builtin_template {
        fs::write(
            base.join("abstractions").join("svirt-qemu"),
            BUILTIN_QEMU_ABSTRACTION,
        )?;
    }
    let profile = base.join("libvirt").join(name);
    fs::write(&profile, &g.profile)?;
    parser::compile_only(&profile, base, &[Path::new("/etc/apparmor.d")])?;
    Ok(())
}
