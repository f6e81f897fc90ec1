//! `svirt explain` on denial lines, against the rules of a shipped example.

mod common;

use common::svirt;
use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;

const PROFILE: &str = "libvirt-6f1b3a52-1c2d-4e8f-9a10-2b3c4d5e6f70";

fn denial(name: &str, mask: &str) -> String {
    format!(
        "audit: type=1400 audit(1.2:3): apparmor=\"DENIED\" operation=\"open\" profile=\"{PROFILE}\" \
         name=\"{name}\" pid=9 comm=\"qemu-system-x86\" requested_mask=\"{mask}\" denied_mask=\"{mask}\" fsuid=0 ouid=0\n"
    )
}

fn explain(input: &str) -> serde_json::Value {
    serde_json::from_slice(&run_explain(&["--json"], input)).unwrap()
}

/// `svirt explain ARGS… --domain <example>` with `input` on stdin: stdout.
fn run_explain(args: &[&str], input: &str) -> Vec<u8> {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/kvm-qcow2.xml");
    let mut child = svirt()
        .arg("explain")
        .args(args)
        .arg("--domain")
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
    out.stdout
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

#[test]
fn audit_fields_are_shown_inert() {
    // The kernel hex-encodes a name with special bytes: here
    // "/tmp/a\n<ESC>[2Jforged".
    let hex: String = "/tmp/a\n\u{1b}[2Jforged"
        .bytes()
        .map(|b| format!("{b:02X}"))
        .collect();
    let line = format!(
        "audit: type=1400 audit(1.2:3): apparmor=\"DENIED\" operation=\"open\" profile=\"{PROFILE}\" \
         name={hex} pid=9 comm=\"qemu-system-x86\" requested_mask=\"r\" denied_mask=\"r\" fsuid=0 ouid=0\n"
    );
    let text = String::from_utf8(run_explain(&[], &line)).unwrap();
    assert!(text.contains("/tmp/a\\n\\x1b[2Jforged"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");
    // One line for the denial and one for its explanation: nothing forged.
    assert_eq!(text.lines().count(), 2, "{text}");
}
