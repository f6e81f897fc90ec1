//! Every profile the examples produce compiles with the real
//! `apparmor_parser -Q`: with svirt's template and abstraction, and with
//! libvirt's when `libvirt-daemon-system` is installed.

mod common;

use std::fs;
use std::path::Path;

use common::{example_host, generate_example, EXAMPLES};
use svirt::apparmor::parser;
use svirt::pipeline::{GeneratedProfile, BUILTIN_QEMU_ABSTRACTION};
use svirt::policy::render_profile;
use svirt::Settings;

const LIBVIRT_TEMPLATE: &str = "/etc/apparmor.d/libvirt/TEMPLATE.qemu";

fn require_parser() {
    assert!(
        parser::find_parser().is_some(),
        "apparmor_parser is not installed: run scripts/install-deps.sh (CI installs the apparmor package)"
    );
}

/// Compiles `profile` + `.files` in a private base dir.
fn compile(
    g: &GeneratedProfile,
    profile: &str,
    with_our_abstraction: bool,
) -> Result<(), parser::ParserError> {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let name = g.policy.name.as_str();
    fs::create_dir_all(base.join("libvirt")).unwrap();
    fs::create_dir_all(base.join("abstractions")).unwrap();
    fs::write(
        base.join("libvirt").join(format!("{name}.files")),
        g.files.as_deref().unwrap(),
    )
    .unwrap();
    if with_our_abstraction {
        fs::write(
            base.join("abstractions/svirt-qemu"),
            BUILTIN_QEMU_ABSTRACTION,
        )
        .unwrap();
    }
    let path = base.join("libvirt").join(name);
    fs::write(&path, profile).unwrap();
    parser::compile_only(&path, base, &[Path::new("/etc/apparmor.d")])
}

#[test]
fn examples_compile_with_svirt_policy() {
    require_parser();
    for settings in [Settings::safe(), Settings::libvirt_compatible()] {
        for name in EXAMPLES {
            let g = generate_example(name, &settings, &example_host());
            compile(&g, &g.profile, true).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

#[test]
fn examples_compile_with_libvirt_policy_when_installed() {
    require_parser();
    let Ok(template) = fs::read_to_string(LIBVIRT_TEMPLATE) else {
        eprintln!("note: {LIBVIRT_TEMPLATE} not installed; libvirt's policy not checked");
        return;
    };
    for name in EXAMPLES {
        let g = generate_example(name, &Settings::safe(), &example_host());
        let profile = render_profile(&template, &g.policy.name, true, true).unwrap();
        compile(&g, &profile, false).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn parser_rejects_broken_policy() {
    // The check itself must be able to fail.
    require_parser();
    let g = generate_example("kvm-qcow2", &Settings::safe(), &example_host());
    let broken = g
        .profile
        .replace("flags=(attach_disconnected)", "flags=(no_such_flag)");
    assert!(compile(&g, &broken, true).is_err());
}
