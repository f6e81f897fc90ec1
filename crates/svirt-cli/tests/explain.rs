//! `svirt explain` on denial lines, against the rules of a shipped example.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const PROFILE: &str = "libvirt-6f1b3a52-1c2d-4e8f-9a10-2b3c4d5e6f70";

fn denial(name: &str, mask: &str) -> String {
    format!(
        "audit: type=1400 audit(1.2:3): apparmor=\"DENIED\" operation=\"open\" profile=\"{PROFILE}\" \
         name=\"{name}\" pid=9 comm=\"qemu-system-x86\" requested_mask=\"{mask}\" denied_mask=\"{mask}\" fsuid=0 ouid=0\n"
    )
}

fn explain(input: &str) -> serde_json::Value {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/kvm-qcow2.xml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_svirt"))
        .args(["explain", "--json", "--domain"])
        .arg(example)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn explains_each_kind_of_denial() {
    let log = [
        denial("/var/lib/libvirt/images/other.qcow2", "r"),
        denial("/var/lib/libvirt/images/debian-12-base.qcow2", "w"),
        denial("/var/lib/libvirt/images/web01.qcow2", "r"),
        "unrelated kernel line\n".to_owned(),
    ]
    .concat();
    let v = explain(&log);
    let d = v["denials"].as_array().unwrap();
    assert_eq!(d.len(), 3);
    let text = |i: usize| d[i]["explanation"].as_str().unwrap().to_owned();
    assert!(text(0).starts_with("not granted"), "{}", text(0));
    assert!(
        text(1).contains("granted only 'rk' (as disk vda backing layer 1)"),
        "{}",
        text(1)
    );
    assert!(text(2).contains("older than these rules"), "{}", text(2));
    assert_eq!(d[0]["pid"], 9);
}

#[test]
fn other_profiles_are_ignored() {
    let v = explain(&denial("/x", "r").replace(PROFILE, "docker-default"));
    assert!(v["denials"].as_array().unwrap().is_empty());
}
