//! `svirt allow`, `complain` and `enforce` on a policy directory of
//! their own: what they write, what the profile file says afterwards, and
//! that it still compiles with the real parser.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use svirt::domain::DomainUuid;
use svirt::pipeline::{BUILTIN_QEMU_ABSTRACTION, BUILTIN_QEMU_TEMPLATE};
use svirt::policy::{render_profile, ProfileName};

const UUID: &str = "6f1b3a52-1c2d-4e8f-9a10-2b3c4d5e6f70";

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/kvm-qcow2.xml")
}

/// A base directory like `/etc/apparmor.d` with the VM's profile, as
/// libvirt's helper would have created it (no override include).
fn base_with_profile() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("libvirt");
    fs::create_dir_all(&dir).unwrap();
    fs::create_dir_all(base.path().join("abstractions")).unwrap();
    fs::write(
        base.path().join("abstractions/svirt-qemu"),
        BUILTIN_QEMU_ABSTRACTION,
    )
    .unwrap();
    let name = ProfileName::for_uuid(&DomainUuid::parse(UUID).unwrap());
    let profile = dir.join(name.as_str());
    let text = render_profile(BUILTIN_QEMU_TEMPLATE, &name, true, true).unwrap();
    fs::write(&profile, text).unwrap();
    fs::write(dir.join(format!("{name}.files")), "  \"/srv/a.img\" rwk,\n").unwrap();
    (base, dir, profile)
}

fn run(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = common::svirt()
        .args(args)
        .arg("--domain")
        .arg(example())
        .arg("--policy-dir")
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn compiles(base: &Path, profile: &Path) {
    svirt::apparmor::parser::compile_only(profile, base, &[Path::new("/etc/apparmor.d")])
        .unwrap_or_else(|e| panic!("{e}\n{}", fs::read_to_string(profile).unwrap()));
}

#[test]
fn allow_writes_a_checked_rule_the_profile_includes() {
    let (base, dir, profile) = base_with_profile();
    let override_file = dir.join(format!("libvirt-{UUID}.override"));
    let (ok, out, err) = run(&dir, &["allow", "/srv/data/in [1].iso"]);
    assert!(ok, "{err}");
    assert!(out.contains("VM web01"), "{out}");
    assert!(out.contains("applies from the VM's next start"), "{out}");
    let rules = fs::read_to_string(&override_file).unwrap();
    assert!(
        rules.contains("  \"/srv/data/in \\[1\\].iso\" rk,\n"),
        "{rules}"
    );
    let (ok, _, err) = run(&dir, &["allow", "--write", "/srv/data/out.img"]);
    assert!(ok, "{err}");
    let text = fs::read_to_string(&profile).unwrap();
    let include = format!("  #include if exists <libvirt/libvirt-{UUID}.override>\n");
    assert_eq!(text.matches(&include).count(), 1, "{text}");
    compiles(base.path(), &profile);

    let (ok, out, _) = run(&dir, &["allow", "--list", "--json"]);
    assert!(ok);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let entries = list["overrides"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["access"], "rw");
    assert_eq!(entries[1]["rule"], "\"/srv/data/out.img\" rwk,");

    // Restricted locations and relative paths are refused, and change
    // nothing.
    let before = fs::read_to_string(&override_file).unwrap();
    for bad in [
        "/etc/shadow",
        "/var/../etc/passwd",
        "/proc/self/mem",
        "x.img",
    ] {
        let (ok, _, err) = run(&dir, &["allow", "--write", bad]);
        assert!(!ok, "{bad} was allowed");
        assert!(err.contains("refused") || err.contains("absolute"), "{err}");
    }
    assert_eq!(fs::read_to_string(&override_file).unwrap(), before);

    // Removing the last entry removes the file; the include stays
    // harmless (`if exists`).
    assert!(run(&dir, &["allow", "--remove", "/srv/data/out.img"]).0);
    assert!(run(&dir, &["allow", "--remove", "/srv/data/in [1].iso"]).0);
    assert!(!override_file.exists());
    let (ok, _, err) = run(&dir, &["allow", "--remove", "/srv/data/in [1].iso"]);
    assert!(!ok && err.contains("no override"), "{err}");
    compiles(base.path(), &profile);
}

#[test]
fn complain_lasts_until_enforce() {
    let (base, dir, profile) = base_with_profile();
    let marker = dir.join(format!("libvirt-{UUID}.complain"));
    let (ok, out, err) = run(&dir, &["complain"]);
    assert!(ok, "{err}");
    assert!(out.contains("complain mode"), "{out}");
    assert!(marker.exists());
    let text = fs::read_to_string(&profile).unwrap();
    assert!(
        text.contains(&format!(
            "profile libvirt-{UUID} flags=(attach_disconnected, complain) {{"
        )),
        "{text}"
    );
    compiles(base.path(), &profile);
    // Twice changes nothing.
    assert!(run(&dir, &["complain"]).0);
    assert_eq!(fs::read_to_string(&profile).unwrap(), text);

    let (ok, out, _) = run(&dir, &["enforce", "--json"]);
    assert!(ok);
    assert!(out.contains("\"mode\": \"enforce\""), "{out}");
    assert!(!marker.exists());
    let text = fs::read_to_string(&profile).unwrap();
    assert!(text.contains(&format!(
        "profile libvirt-{UUID} flags=(attach_disconnected) {{"
    )));
    compiles(base.path(), &profile);
}

#[test]
fn without_a_profile_the_choices_wait_for_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = run(dir.path(), &["complain"]);
    assert!(ok, "{err}");
    assert!(out.contains("next start"), "{out}");
    assert!(dir.path().join(format!("libvirt-{UUID}.complain")).exists());
    assert!(!dir.path().join(format!("libvirt-{UUID}")).exists());
}
