//! `svirt audit` and `svirt gc` against a host made of directories: a fake
//! securityfs, /proc, policy directory and libvirt definition directories.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

const A: &str = "0a000000-0000-4000-8000-00000000000a";
const B: &str = "0b000000-0000-4000-8000-00000000000b";
const C: &str = "0c000000-0000-4000-8000-00000000000c";

struct Host {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Host {
    fn new() -> Host {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_owned();
        for d in ["sfs", "proc", "policy", "etc/qemu", "run/qemu", "img"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        fs::write(root.join("enabled"), "Y\n").unwrap();
        fs::write(root.join("sfs/profiles"), "").unwrap();
        fs::write(root.join("sfs/.remove"), "").unwrap();
        fs::write(root.join("policy/TEMPLATE.qemu"), "template").unwrap();
        Host { _tmp: tmp, root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn run(&self, args: &[&str]) -> Output {
        let r = &self.root;
        Command::new(env!("CARGO_BIN_EXE_svirt"))
            .args(args)
            .arg("--securityfs")
            .arg(r.join("sfs"))
            .arg("--apparmor-enabled")
            .arg(r.join("enabled"))
            .arg("--proc")
            .arg(r.join("proc"))
            .arg("--policy-dir")
            .arg(r.join("policy"))
            .arg("--libvirt-config")
            .arg(r.join("etc"))
            .arg("--libvirt-state")
            .arg(r.join("run"))
            .output()
            .unwrap()
    }

    fn json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let out = self.run(args);
        let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{e}: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap(), value)
    }

    /// A domain XML with file disks: (path, shareable).
    fn domain(&self, name: &str, uuid: &str, disks: &[(&str, bool)]) -> String {
        let mut xml = format!(
            "<domain type='qemu'><name>{name}</name><uuid>{uuid}</uuid><memory>65536</memory>\
             <os><type arch='x86_64'>hvm</type></os><devices>"
        );
        for (i, (disk, shareable)) in disks.iter().enumerate() {
            let dev = (b'a' + i as u8) as char;
            xml += &format!(
                "<disk type='file' device='disk'><driver name='qemu' type='raw'/>\
                 <source file='{}'/><target dev='vd{dev}' bus='virtio'/>{}</disk>",
                self.path(disk).display(),
                if *shareable { "<shareable/>" } else { "" }
            );
        }
        xml + "</devices></domain>"
    }

    fn define(&self, name: &str, uuid: &str, disks: &[(&str, bool)]) {
        let xml = self.domain(name, uuid, disks);
        fs::write(self.path(&format!("etc/qemu/{name}.xml")), xml).unwrap();
    }

    fn start(&self, name: &str, uuid: &str, disks: &[(&str, bool)]) {
        let xml = format!(
            "<domstatus state='running' pid='1'><monitor path='/m'/>{}</domstatus>",
            self.domain(name, uuid, disks)
        );
        fs::write(self.path(&format!("run/qemu/{name}.xml")), xml).unwrap();
    }

    fn load(&self, profiles: &[(&str, &str)]) {
        let text: String = profiles
            .iter()
            .map(|(u, mode)| format!("libvirt-{u} ({mode})\n"))
            .collect();
        fs::write(self.path("sfs/profiles"), text).unwrap();
    }

    fn process(&self, pid: u32, exe: &str, argv: &[&str], label: &str) {
        let d = self.path(&format!("proc/{pid}"));
        fs::create_dir_all(d.join("attr/apparmor")).unwrap();
        std::os::unix::fs::symlink(exe, d.join("exe")).unwrap();
        fs::write(d.join("cmdline"), argv.join("\0") + "\0").unwrap();
        fs::write(d.join("attr/apparmor/current"), format!("{label}\n")).unwrap();
    }

    fn qemu(&self, pid: u32, uuid: &str, name: &str, label: &str) {
        let guest = format!("guest={name},debug-threads=on");
        let argv = ["qemu-system-x86_64", "-name", &guest, "-uuid", uuid];
        self.process(pid, "/usr/bin/qemu-system-x86_64", &argv, label);
    }

    fn policy_file(&self, name: &str, age: Duration) {
        let path = self.path(&format!("policy/{name}"));
        fs::write(&path, name).unwrap();
        let f = fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(SystemTime::now() - age).unwrap();
    }
}

fn kinds(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["note"] == false)
        .map(|f| f["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// VM a runs confined; all agrees.
fn clean_host() -> Host {
    let h = Host::new();
    fs::write(h.path("img/shared.img"), "").unwrap();
    h.start("a", A, &[("img/shared.img", false)]);
    h.load(&[(A, "enforce")]);
    h.policy_file(&format!("libvirt-{A}"), Duration::ZERO);
    h.qemu(100, A, "a", &format!("libvirt-{A} (enforce)"));
    h
}

#[test]
fn audit_clean_then_an_unconfined_qemu_and_a_shared_disk() {
    let h = clean_host();
    let out = h.run(&["audit"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("svirt audit: clean (1 QEMU processes"),
        "{text}"
    );

    // b writes a's disk (through a symlink, so only the canonical path
    // matches); c's QEMU runs unconfined.
    std::os::unix::fs::symlink(h.path("img/shared.img"), h.path("img/link.img")).unwrap();
    h.start("b", B, &[("img/link.img", false)]);
    h.start("c", C, &[]);
    h.load(&[(A, "enforce"), (B, "enforce"), (C, "enforce")]);
    h.policy_file(&format!("libvirt-{B}"), Duration::ZERO);
    h.policy_file(&format!("libvirt-{C}"), Duration::ZERO);
    h.qemu(101, B, "b", &format!("libvirt-{B} (enforce)"));
    h.qemu(102, C, "c", "unconfined");
    let (code, report) = h.json(&["audit", "--json"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(kinds(&report), ["unconfined", "shared-disk"], "{report:#}");
    let f = &report["findings"];
    assert_eq!(f[0]["pids"], serde_json::json!([102]));
    assert_eq!(f[0]["vms"][0]["name"], "c");
    assert_eq!(f[0]["vms"][0]["uuid"], C);
    let shared = h.path("img/shared.img").canonicalize().unwrap();
    assert_eq!(f[1]["file"], shared.display().to_string());
    assert_eq!(f[1]["vms"].as_array().unwrap().len(), 2);
    let text = String::from_utf8_lossy(&h.run(&["audit"]).stdout).into_owned();
    assert!(
        text.contains("FINDING unconfined: QEMU process 102 of VM c (0c000000-"),
        "{text}"
    );
    assert!(text.contains("  fix: restart VM c"), "{text}");

    // Positive control: shared by both, and c's QEMU gone.
    h.start("a", A, &[("img/shared.img", true)]);
    h.start("b", B, &[("img/link.img", true)]);
    fs::remove_dir_all(h.path("proc/102")).unwrap();
    let (code, report) = h.json(&["audit", "--json"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["clean"], true);
}

#[test]
fn audit_consistency_and_complain() {
    let h = clean_host();
    // A stale profile, and a running VM whose profile is not loaded.
    h.load(&[(A, "enforce"), (B, "enforce")]);
    h.policy_file(&format!("libvirt-{B}"), Duration::ZERO);
    h.start("c", C, &[]);
    h.policy_file(&format!("libvirt-{C}"), Duration::ZERO);
    let (code, report) = h.json(&["audit", "--json"]);
    assert_eq!(code, 1);
    assert_eq!(kinds(&report), ["stale-profile", "profile-not-loaded"]);
    // Complain mode, asked for with the marker: a note only.
    let h = clean_host();
    h.load(&[(A, "complain")]);
    fs::write(
        h.path("proc/100/attr/apparmor/current"),
        format!("libvirt-{A} (complain)\n"),
    )
    .unwrap();
    let (code, report) = h.json(&["audit", "--json"]);
    assert_eq!(
        (code, kinds(&report)),
        (1, vec!["complain-mode".to_owned()])
    );
    h.policy_file(&format!("libvirt-{A}.complain"), Duration::ZERO);
    let (code, report) = h.json(&["audit", "--json"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["findings"][0]["note"], true);
}

#[test]
fn audit_cannot_check() {
    let h = clean_host();
    fs::remove_file(h.path("enabled")).unwrap();
    let out = h.run(&["audit"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot check: AppArmor is not available"),
        "{err}"
    );
    // Positive control, then an unlistable definition directory.
    fs::write(h.path("enabled"), "Y\n").unwrap();
    assert_eq!(h.run(&["audit"]).status.code(), Some(0));
    fs::remove_dir_all(h.path("run/qemu")).unwrap();
    fs::write(h.path("run/qemu"), "").unwrap();
    assert_eq!(h.run(&["audit"]).status.code(), Some(2));
}

#[test]
fn audit_an_unparsable_running_definition() {
    let h = clean_host();
    fs::write(h.path("run/qemu/x.xml"), "<domstatus><domain>").unwrap();
    let (code, report) = h.json(&["audit", "--json"]);
    assert_eq!(
        (code, kinds(&report)),
        (1, vec!["definition-unchecked".to_owned()])
    );
}

const DEF: &str = "0d000000-0000-4000-8000-00000000000d";
const RUN: &str = "0e000000-0000-4000-8000-00000000000e";
const GONE: &str = "0f000000-0000-4000-8000-00000000000f";
const HOUR: Duration = Duration::from_secs(3600);
const SUFFIXES: [&str; 5] = ["", ".files", ".lock", ".override", ".complain"];

fn gc_host() -> Host {
    let h = Host::new();
    h.define("def", DEF, &[]);
    h.start("run", RUN, &[]);
    for u in [DEF, RUN, GONE] {
        for s in SUFFIXES {
            h.policy_file(&format!("libvirt-{u}{s}"), HOUR);
        }
    }
    h.policy_file(&format!("libvirt-{DEF}.tmp-999999-0"), HOUR);
    h.load(&[(DEF, "enforce"), (RUN, "enforce"), (GONE, "enforce")]);
    h.process(1, "/sbin/init", &["init"], "unconfined");
    h
}

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn gc_dry_run_then_apply() {
    let h = gc_host();
    let before = listing(&h.path("policy"));
    let out = h.run(&["gc"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!("would unload libvirt-{GONE}")),
        "{text}"
    );
    assert_eq!(text.matches("would remove").count(), 6, "{text}");
    assert_eq!(listing(&h.path("policy")), before);
    assert_eq!(fs::read(h.path("sfs/.remove")).unwrap(), b"");

    let (code, report) = h.json(&["gc", "--apply", "--json"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        fs::read(h.path("sfs/.remove")).unwrap(),
        format!("libvirt-{GONE}\0").as_bytes()
    );
    let after = listing(&h.path("policy"));
    let want: Vec<_> = before
        .into_iter()
        .filter(|(n, _)| !n.contains(GONE) && !n.contains(".tmp-"))
        .collect();
    assert_eq!(after, want);
    assert_eq!(after.len(), 11); // 5 + 5 + TEMPLATE.qemu
}

#[test]
fn gc_refuses_unidentified_definitions_and_profiles_in_use() {
    let h = gc_host();
    fs::write(h.path("etc/qemu/broken.xml"), "<domain>").unwrap();
    let before = listing(&h.path("policy"));
    let out = h.run(&["gc", "--apply"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("refusing to remove anything"), "{err}");
    assert!(err.contains("broken.xml"), "{err}");
    assert_eq!(listing(&h.path("policy")), before);
    // The operator has checked: --force goes ahead.
    let out = h.run(&["gc", "--apply", "--force"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!h.path(&format!("policy/libvirt-{GONE}")).exists());

    let h = gc_host();
    h.process(
        77,
        "/usr/bin/qemu-system-x86_64",
        &["qemu"],
        &format!("libvirt-{GONE} (enforce)"),
    );
    let before = listing(&h.path("policy"));
    let out = h.run(&["gc", "--apply"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("refusing to touch libvirt-{GONE}")),
        "{err}"
    );
    assert!(err.contains("process(es) 77"), "{err}");
    // Only the stale temporary went.
    let want: Vec<_> = before
        .into_iter()
        .filter(|(n, _)| !n.contains(".tmp-"))
        .collect();
    assert_eq!(listing(&h.path("policy")), want);
    assert_eq!(fs::read(h.path("sfs/.remove")).unwrap(), b"");
}
