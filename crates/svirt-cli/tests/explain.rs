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
    let fix = |i: usize| d[i]["fix"].as_str().unwrap().to_owned();
    assert!(text(0).starts_with("not granted"), "{}", text(0));
    assert!(
        text(1).contains("granted only 'rk' (as disk vda backing layer 1)"),
        "{}",
        text(1)
    );
    assert!(text(2).contains("older than these rules"), "{}", text(2));
    assert_eq!(d[0]["pid"], 9);
    // The fixes: an image outside the definition, a backing layer written,
    // a stale profile. --domain names the VM.
    assert_eq!(d[0]["fix_kind"], "definition");
    assert!(
        fix(0).contains("add it to the definition as a <disk>"),
        "{}",
        fix(0)
    );
    assert_eq!(d[1]["fix_kind"], "definition");
    assert!(
        fix(1).contains("layer 1 of disk vda is a backing file"),
        "{}",
        fix(1)
    );
    assert_eq!(d[2]["fix_kind"], "covered");
    assert_eq!(d[0]["vm"]["name"], "web01");
    assert_eq!(d[0]["vm"]["uuid"], &PROFILE["libvirt-".len()..]);
}

#[test]
fn other_profiles_get_no_fix() {
    let log = [
        denial("/x", "r").replace(PROFILE, "docker-default"),
        // Not the canonical form of a VM's profile: not a VM's.
        denial("/x", "r").replace(PROFILE, "libvirt-../../../etc/x"),
    ]
    .concat();
    let v = explain(&log);
    let d = v["denials"].as_array().unwrap();
    assert_eq!(d.len(), 2);
    for d in d {
        assert!(d["fix"].is_null(), "{d}");
        assert!(d["vm"].is_null(), "{d}");
        assert!(d["explanation"]
            .as_str()
            .unwrap()
            .starts_with("not a VM's profile"));
    }
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
    // The denial, its explanation, its fix (none: no command with a control
    // character) and the count: nothing forged.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("VM web01 ("), "{text}");
    assert!(lines[1].starts_with("  not granted"), "{text}");
    assert!(lines[2].starts_with("  fix: none: "), "{text}");
    assert!(lines[3].starts_with("1 denial "), "{text}");
}

// ------------------------------------------- the kernel's logs, libvirt's names --

const UUID: &str = "6f1b3a52-1c2d-4e8f-9a10-2b3c4d5e6f70";

/// A scratch system: libvirt's definitions, the VM's `.files`, and fake
/// log sources, under one root.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let s = Scratch {
            dir: tempfile::tempdir().unwrap(),
        };
        let defs = s.path("etc/libvirt/qemu");
        std::fs::create_dir_all(&defs).unwrap();
        let example =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/kvm-qcow2.xml");
        std::fs::copy(example, defs.join("web01.xml")).unwrap();
        let policy = s.path("etc/apparmor.d/libvirt");
        std::fs::create_dir_all(&policy).unwrap();
        std::fs::write(
            policy.join(format!("{PROFILE}.files")),
            "  \"/var/lib/libvirt/images/web01.qcow2\" rwk,\n  \
             \"/var/lib/libvirt/images/debian-12-base.qcow2\" rk,\n",
        )
        .unwrap();
        s
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// A fake command at `rel` that records its arguments and prints `out`.
    fn command(&self, rel: &str, out: &str) {
        use std::os::unix::fs::PermissionsExt;
        self.write(&format!("{rel}.out"), out);
        let record = self.path(&format!("{rel}.args"));
        let script = format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}'\ncat '{}'\n",
            record.display(),
            self.path(&format!("{rel}.out")).display()
        );
        self.write(rel, &script);
        std::fs::set_permissions(self.path(rel), std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn args_of(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.path(&format!("{rel}.args"))).ok()
    }

    /// `svirt explain` with both roots here; stdin is empty (not a terminal).
    fn explain(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_svirt"))
            .arg("explain")
            .arg("--definitions-root")
            .arg(self.dir.path())
            .arg("--system-root")
            .arg(self.dir.path())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn explain_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.explain(&all);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02X}")).collect()
}

/// A dmesg line as the kernel prints it without auditd.
fn dmesg_line(stamp: &str, name_field: &str, mask: &str) -> String {
    format!(
        "[  812.345678] audit: type=1400 audit({stamp}): apparmor=\"DENIED\" operation=\"open\" \
         class=\"file\" profile=\"{PROFILE}\" {name_field} pid=4242 comm=\"qemu-system-x86\" \
         requested_mask=\"{mask}\" denied_mask=\"{mask}\" fsuid=64055 ouid=64055\n"
    )
}

/// The same as auditd writes it to audit.log.
fn audit_log_line(stamp: &str, name_field: &str, mask: &str) -> String {
    format!(
        "type=AVC msg=audit({stamp}): apparmor=\"DENIED\" operation=\"open\" class=\"file\" \
         profile=\"{PROFILE}\" {name_field} pid=4242 comm=\"qemu-system-x86\" \
         requested_mask=\"{mask}\" denied_mask=\"{mask}\" fsuid=64055 ouid=64055\n"
    )
}

#[test]
fn captured_lines_get_the_vms_name_and_fixes() {
    let s = Scratch::new();
    let def = s.path("etc/libvirt/qemu/web01.xml");
    let def = def.to_str().unwrap();
    let spaced = "/srv/vm share/it's a seed.bin";
    let log = [
        dmesg_line(
            "1700000000.100:10",
            "name=\"/srv/seed/cloud-init.bin\"",
            "r",
        ),
        dmesg_line(
            "1700000000.200:11",
            "name=\"/srv/seed/cloud-init.bin\"",
            "r",
        ),
        dmesg_line(
            "1700000000.300:12",
            "name=\"/srv/seed/cloud-init.bin\"",
            "r",
        ),
        // The audit subsystem hex-encodes names with spaces or quotes.
        audit_log_line("1700000001.000:13", &format!("name={}", hex(spaced)), "w"),
        audit_log_line("1700000002.000:14", "name=\"/dev/vfio/17\"", "rw"),
        audit_log_line("1700000003.000:15", "name=\"/etc/shadow\"", "r"),
        audit_log_line(
            "1700000004.000:16",
            "name=\"/var/lib/libvirt/images/debian-12-base.qcow2\"",
            "w",
        ),
        audit_log_line(
            "1700000005.000:17",
            "name=\"/var/lib/libvirt/images/web01.qcow2\"",
            "r",
        ),
    ]
    .concat();
    s.write("captured.log", &log);
    let v = s.explain_json(&[s.path("captured.log").to_str().unwrap()]);
    let d = v["denials"].as_array().unwrap();
    assert_eq!(d.len(), 6, "{v:#}");
    for d in d {
        assert_eq!(d["vm"]["name"], "web01");
        assert_eq!(d["vm"]["uuid"], UUID);
        assert_eq!(d["vm"]["definition"], def);
    }
    // Three identical denials: one entry, counted.
    assert_eq!(d[0]["count"], 3);
    assert_eq!(d[0]["first_seen"], 1_700_000_000u64);
    assert_eq!(
        d[0]["fix"],
        format!("svirt allow --domain {def} /srv/seed/cloud-init.bin")
    );
    assert_eq!(d[1]["name"], spaced);
    assert_eq!(
        d[1]["fix"],
        format!("svirt allow --domain {def} '/srv/vm share/it'\\''s a seed.bin' --write")
    );
    assert_eq!(d[2]["fix_kind"], "definition");
    assert!(d[2]["fix"].as_str().unwrap().contains("<hostdev"));
    assert_eq!(d[3]["fix_kind"], "restricted");
    assert_eq!(d[4]["fix_kind"], "definition");
    assert!(d[4]["fix"].as_str().unwrap().contains("blockcommit"));
    // Granted rwk by the .files: the loaded profile is stale.
    assert_eq!(d[5]["fix_kind"], "covered");

    // The text form names the VM and prints the fix on its own line.
    let out = s.explain(&[s.path("captured.log").to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "VM web01 ({PROFILE}): qemu-system-x86 (pid 4242) was denied open 'r' on \
             /srv/seed/cloud-init.bin (3 times)"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "\n  fix: svirt allow --domain {def} /srv/seed/cloud-init.bin\n"
        )),
        "{text}"
    );
    assert!(text.contains("8 denials (6 distinct) from "), "{text}");
}

#[test]
fn unreadable_definitions_fall_back_to_the_profile_name() {
    let s = Scratch::new();
    std::fs::remove_file(s.path("etc/libvirt/qemu/web01.xml")).unwrap();
    s.write(
        "captured.log",
        &dmesg_line("1700000000.100:10", "name=\"/srv/x.bin\"", "r"),
    );
    let out = s.explain(&[s.path("captured.log").to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("{PROFILE}: qemu-system-x86")),
        "{text}"
    );
    assert!(
        text.contains("fix: svirt allow --domain <domain.xml> /srv/x.bin\n"),
        "{text}"
    );
    // A definitions directory that cannot be listed: a warning, not an error.
    std::fs::remove_dir_all(s.path("etc/libvirt/qemu")).unwrap();
    s.write("etc/libvirt/qemu", "not a directory");
    let out = s.explain(&[s.path("captured.log").to_str().unwrap()]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("svirt: warning: cannot list"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(PROFILE));
}

#[test]
fn since_values_starting_with_a_dash_are_refused() {
    let s = Scratch::new();
    for bad in ["--since=-1min", "--since=--output=cat", "--since="] {
        let out = s.explain(&[bad]);
        assert!(!out.status.success(), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("svirt: error: --since"), "{bad}: {err}");
    }
    let err = String::from_utf8_lossy(&s.explain(&["--since=-1min"]).stderr).into_owned();
    assert!(err.contains("write it as '1min ago'"), "{err}");
}

#[test]
fn the_journal_comes_first_when_journald_runs() {
    let s = Scratch::new();
    // journalctl -o json: one entry from the kernel ring buffer, the same
    // event again from journald's audit socket, and another one.
    let kernel = dmesg_line("1700000000.100:10", "name=\"/srv/a.bin\"", "r");
    let kernel = kernel.split_once("] ").unwrap().1.trim_end();
    let journal = [
        serde_json::json!({"MESSAGE": kernel, "_TRANSPORT": "kernel"}).to_string(),
        serde_json::json!({
            "MESSAGE": format!("AVC apparmor=\"DENIED\" operation=\"open\" profile=\"{PROFILE}\" name=\"/srv/a.bin\" pid=4242 comm=\"qemu-system-x86\" requested_mask=\"r\" denied_mask=\"r\""),
            "_TRANSPORT": "audit", "_AUDIT_ID": "10", "_SOURCE_REALTIME_TIMESTAMP": "1700000000100000"
        })
        .to_string(),
        serde_json::json!({"MESSAGE": "unrelated", "_TRANSPORT": "kernel"}).to_string(),
    ]
    .join("\n");
    s.command("usr/bin/journalctl", &format!("{journal}\n"));
    s.command(
        "usr/bin/dmesg",
        &dmesg_line("1700000009.000:99", "name=\"/srv/dmesg.bin\"", "r"),
    );
    s.write("run/systemd/journal/socket", "");
    let v = s.explain_json(&["--since", "10 min ago"]);
    assert_eq!(v["sources"], serde_json::json!(["journal"]));
    let d = v["denials"].as_array().unwrap();
    assert_eq!(d.len(), 1, "{v:#}");
    assert_eq!(d[0]["name"], "/srv/a.bin");
    assert_eq!(
        d[0]["count"], 1,
        "the same event from both transports counts once"
    );
    let args = s.args_of("usr/bin/journalctl").unwrap();
    assert_eq!(
        args,
        "--no-pager\n--quiet\n--output=json\n--since=10 min ago\n_TRANSPORT=kernel\n_TRANSPORT=audit\n"
    );
    assert_eq!(
        s.args_of("usr/bin/dmesg"),
        None,
        "dmesg is not read with journald"
    );

    // Without journald: audit.log and dmesg, each event counted once, and
    // --since applied through the audit timestamps.
    std::fs::remove_file(s.path("run/systemd/journal/socket")).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let recent = format!("{now}.000:500");
    let old = format!("{}.000:501", now - 3600);
    s.command(
        "usr/bin/dmesg",
        &[
            dmesg_line(&recent, "name=\"/srv/recent.bin\"", "r"),
            dmesg_line(&old, "name=\"/srv/old.bin\"", "r"),
        ]
        .concat(),
    );
    s.write(
        "var/log/audit/audit.log",
        &[
            audit_log_line(&recent, "name=\"/srv/recent.bin\"", "r"),
            audit_log_line(
                &format!("{now}.000:502"),
                "name=\"/srv/audit-only.bin\"",
                "r",
            ),
        ]
        .concat(),
    );
    let v = s.explain_json(&["--since", "10 min ago"]);
    assert_eq!(
        v["sources"],
        serde_json::json!(["/var/log/audit/audit.log", "dmesg"])
    );
    let d = v["denials"].as_array().unwrap();
    let names: Vec<&str> = d.iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["/srv/recent.bin", "/srv/audit-only.bin"], "{v:#}");
    assert_eq!(d[0]["count"], 1);
    // No journalctl at all: the same.
    std::fs::remove_file(s.path("usr/bin/journalctl")).unwrap();
    s.write("run/systemd/journal/socket", "");
    let v = s.explain_json(&["--since", "10 min ago"]);
    assert_eq!(v["denials"].as_array().unwrap().len(), 2, "{v:#}");
    // A --since that cannot be turned into a time is not applied, and says so.
    let v = s.explain_json(&["--since", "next blue moon"]);
    assert_eq!(v["denials"].as_array().unwrap().len(), 3, "{v:#}");
    assert!(
        v["notes"][0]
            .as_str()
            .unwrap()
            .contains("could not be turned into a time"),
        "{v:#}"
    );
}
