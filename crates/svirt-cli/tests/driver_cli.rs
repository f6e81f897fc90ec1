//! `svirt status`, `svirt label` and `svirt exec` on a kernel without
//! AppArmor: each must say so plainly and exit non-zero. On a kernel with
//! AppArmor (the QEMU guest of tests/kernel) these tests have nothing to
//! check and return early.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn svirt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_svirt"))
        .args(args)
        .output()
        .unwrap()
}

fn apparmor_present() -> bool {
    Path::new("/sys/module/apparmor/parameters/enabled").exists()
}

fn example(name: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "..", "examples", name]
        .iter()
        .collect();
    p.to_string_lossy().into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const ABSENT: &str = "AppArmor is not available in this kernel \
    (/sys/module/apparmor/parameters/enabled does not exist)";

#[test]
fn status_says_apparmor_is_absent() {
    if apparmor_present() {
        return;
    }
    for args in [&["status"][..], &["status", "--json"][..]] {
        let o = svirt(args);
        assert!(!o.status.success());
        assert_eq!(stderr(&o), format!("svirt: error: {ABSENT}\n"));
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn label_says_apparmor_is_absent() {
    if apparmor_present() {
        return;
    }
    let o = svirt(&["label", "1"]);
    assert!(!o.status.success());
    assert_eq!(stderr(&o), format!("svirt: error: {ABSENT}\n"));
    let o = svirt(&["label", "not-a-pid"]);
    assert!(!o.status.success());
}

#[test]
fn exec_says_apparmor_is_absent() {
    if apparmor_present() {
        return;
    }
    let o = svirt(&[
        "exec",
        "--domain",
        &example("kvm-qcow2.xml"),
        "--helper",
        "/bin/true",
        "--",
        "true",
    ]);
    assert!(!o.status.success());
    assert_eq!(
        stderr(&o),
        format!("svirt: error: cannot confine the command: {ABSENT}\n")
    );
}

#[test]
fn exec_checks_its_input_first() {
    let o = svirt(&["exec", "--domain", "/nonexistent/vm.xml", "--", "true"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).starts_with("svirt: error: cannot open /nonexistent/vm.xml"),
        "{}",
        stderr(&o)
    );
    let o = svirt(&[
        "exec",
        "--domain",
        &example("kvm-qcow2.xml"),
        "--helper",
        "/nonexistent/virt-aa-helper",
        "--",
        "true",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).starts_with(
            "svirt: error: the AppArmor helper /nonexistent/virt-aa-helper does not exist"
        ),
        "{}",
        stderr(&o)
    );
    // A command is required.
    let o = svirt(&["exec", "--domain", &example("kvm-qcow2.xml")]);
    assert!(!o.status.success());
}

#[test]
fn exec_label_wrapper_refuses_without_apparmor() {
    if apparmor_present() {
        return;
    }
    let o = svirt(&["__exec-label", "libvirt-x", "--", "true"]);
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(
        stderr(&o),
        format!("svirt: error: cannot run under libvirt-x: {ABSENT}\n")
    );
}
