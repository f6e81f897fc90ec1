//! `svirt precompile` with the real `apparmor_parser` (no kernel needed):
//! an entry made for another parser is compiled again from the profile it
//! keeps, an entry for this parser is left alone, and a VM without an
//! entry or no longer defined is not touched.

mod common;

use std::fs;
use std::path::Path;

use svirt::apparmor::cache;
use svirt::apparmor::parser::{capture, find_parser};

const A: &str = "0a000000-0000-4000-8000-00000000000a";
const B: &str = "0b000000-0000-4000-8000-00000000000b";

fn define(root: &Path, name: &str, uuid: &str) {
    let dir = root.join("qemu");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join(format!("{name}.xml")),
        format!("<domain type='kvm'><name>{name}</name><uuid>{uuid}</uuid></domain>"),
    )
    .unwrap();
}

fn run(policy: &Path, config: &Path, state: &Path) -> (bool, String) {
    let out = common::svirt()
        .args(["precompile", "--json", "--jobs", "2"])
        .arg("--policy-dir")
        .arg(policy)
        .arg("--libvirt-config")
        .arg(config)
        .arg("--libvirt-state")
        .arg(state)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.success(),
        text + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn stale_entries_are_compiled_again_and_current_ones_kept() {
    let Some(parser) = find_parser() else {
        eprintln!("apparmor_parser is not installed: skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (policy, config, state) = (
        dir.path().join("libvirt"),
        dir.path().join("etc"),
        dir.path().join("run"),
    );
    fs::create_dir_all(&policy).unwrap();
    define(&config, "vm-a", A);
    // The source an entry keeps: a whole preprocessed profile.
    let source = format!("profile libvirt-{A} {{\n  \"/srv/a.img\" rwk,\n}}\n");
    let old_key = cache::key(
        "parser /old/apparmor_parser ino=1",
        "/c/old.0",
        source.as_bytes(),
    );
    let entry_a = policy.join(format!("libvirt-{A}.cache"));
    fs::write(&entry_a, cache::encode(&old_key, b"old binary")).unwrap();
    // B is not defined: its entry is not this command's business.
    let entry_b = policy.join(format!("libvirt-{B}.cache"));
    fs::write(&entry_b, cache::encode(&old_key, b"old binary")).unwrap();

    let (ok, out) = run(&policy, &config, &state);
    assert!(ok, "{out}");
    assert!(out.contains("\"outcome\": \"compiled\""), "{out}");
    assert!(out.contains("\"name\": \"vm-a\""), "{out}");
    let now = fs::read(&entry_a).unwrap();
    let key = cache::key(
        &cache::parser_identity(&parser).unwrap(),
        &cache::features_dir(&parser).unwrap(),
        source.as_bytes(),
    );
    let binary = cache::binary_for(&now, &key).expect("the entry is for this parser now");
    // The same bytes the parser makes from the source directly.
    let file = dir.path().join("source");
    fs::write(&file, &source).unwrap();
    let args = ["-Q", "-K", "-S"].map(std::ffi::OsStr::new);
    let direct = capture(&parser, &[&args[..], &[file.as_os_str()]].concat()).unwrap();
    assert_eq!(binary, &direct[..]);
    assert_eq!(
        fs::read(&entry_b).unwrap(),
        cache::encode(&old_key, b"old binary")
    );

    // Again: nothing to do.
    let (ok, out) = run(&policy, &config, &state);
    assert!(ok, "{out}");
    assert!(out.contains("\"outcome\": \"up-to-date\""), "{out}");
    assert_eq!(fs::read(&entry_a).unwrap(), now);

    // A defined VM with no entry yet, and an entry whose source no longer
    // compiles.
    define(&config, "vm-b", B);
    let broken = cache::key("x", "y", b"profile libvirt-b { this is not policy }\n");
    fs::write(&entry_b, cache::encode(&broken, b"old")).unwrap();
    fs::remove_file(&entry_a).unwrap();
    let (ok, out) = run(&policy, &config, &state);
    assert!(!ok, "{out}");
    assert!(out.contains("\"outcome\": \"no-entry\""), "{out}");
    assert!(out.contains("\"outcome\": \"failed\""), "{out}");
}
