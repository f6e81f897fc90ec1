//! `svirt policy install | status | restore` on a directory laid out like
//! `/etc/apparmor.d`: the distribution's files are never touched, an
//! abstraction already there is kept, and restore gives the choice back.

mod common;

use std::fs;
use std::path::Path;

fn run(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = common::svirt()
        .arg("policy")
        .args(args)
        .arg("--policy-dir")
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn install_status_restore() {
    if svirt::apparmor::parser::find_parser().is_none() {
        eprintln!("apparmor_parser is not installed: skipped");
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("libvirt");
    fs::create_dir_all(&dir).unwrap();
    let distribution = "\nprofile LIBVIRT_TEMPLATE flags=(attach_disconnected) {\n  #include <abstractions/libvirt-qemu>\n}\n";
    fs::write(dir.join("TEMPLATE.qemu"), distribution).unwrap();
    let old = "libvirt-0a000000-0000-4000-8000-00000000000a";
    fs::write(dir.join(old), distribution.replace("LIBVIRT_TEMPLATE", old)).unwrap();

    let (ok, out) = run(&dir, &["status", "--json"]);
    assert!(ok, "{out}");
    assert!(out.contains("\"new_profiles\": \"distribution\""), "{out}");
    assert!(out.contains("\"abstraction\": \"libvirt-qemu\""), "{out}");

    let (ok, out) = run(&dir, &["install"]);
    assert!(ok, "{out}");
    assert!(out.contains("1 existing VM profile(s) keep"), "{out}");
    let template = fs::read_to_string(dir.join("svirt.TEMPLATE.qemu")).unwrap();
    assert_eq!(template, svirt::pipeline::BUILTIN_QEMU_TEMPLATE);
    assert_eq!(
        fs::read_to_string(base.path().join("abstractions/svirt-qemu")).unwrap(),
        svirt::pipeline::BUILTIN_QEMU_ABSTRACTION
    );
    assert_eq!(
        fs::read_to_string(dir.join("TEMPLATE.qemu")).unwrap(),
        distribution
    );
    let (ok, out) = run(&dir, &["status", "--json"]);
    assert!(ok && out.contains("\"new_profiles\": \"svirt\""), "{out}");

    // An abstraction already there (edited by an operator) is kept, but
    // one that does not compile stops the install before anything changes.
    fs::remove_file(dir.join("svirt.TEMPLATE.qemu")).unwrap();
    let edited = format!(
        "{}\n  /srv/site/** r,\n",
        svirt::pipeline::BUILTIN_QEMU_ABSTRACTION
    );
    fs::write(base.path().join("abstractions/svirt-qemu"), &edited).unwrap();
    let (ok, out) = run(&dir, &["install"]);
    assert!(ok && out.contains("already there, kept"), "{out}");
    assert_eq!(
        fs::read_to_string(base.path().join("abstractions/svirt-qemu")).unwrap(),
        edited
    );
    fs::remove_file(dir.join("svirt.TEMPLATE.qemu")).unwrap();
    fs::write(
        base.path().join("abstractions/svirt-qemu"),
        "  this is not policy\n",
    )
    .unwrap();
    let (ok, out) = run(&dir, &["install"]);
    assert!(!ok && out.contains("does not compile"), "{out}");
    assert!(!dir.join("svirt.TEMPLATE.qemu").exists());

    let (ok, out) = run(&dir, &["restore"]);
    assert!(ok && out.contains("nothing to do"), "{out}");
    fs::write(dir.join("svirt.TEMPLATE.qemu"), "x").unwrap();
    let (ok, out) = run(&dir, &["restore"]);
    assert!(ok && out.contains("removed"), "{out}");
    assert!(!dir.join("svirt.TEMPLATE.qemu").exists());
    assert_eq!(
        fs::read_to_string(dir.join("TEMPLATE.qemu")).unwrap(),
        distribution
    );
}
