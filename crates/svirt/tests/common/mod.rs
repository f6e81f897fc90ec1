//! Shared fixtures for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use svirt::domain::{Limits, PciAddress};
use svirt::image::ProbedLayer;
use svirt::pipeline::{self, GeneratedProfile};
use svirt::testing::FakeHost;
use svirt::Settings;

/// The shipped examples, without `.xml`.
pub const EXAMPLES: &[&str] = &[
    "kvm-qcow2",
    "uefi-tpm-virtiofs",
    "hostdev-chardev",
    "desktop-audio",
];

/// Whether `qemu-img` runs; tests that need it print a note and pass
/// without it (CI installs it).
pub fn have_qemu_img() -> bool {
    let ok = std::process::Command::new("qemu-img")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("note: qemu-img not found; skipping this test");
    }
    ok
}

/// Runs `qemu-img ARGS…`, failing the test if it fails.
pub fn qemu_img(args: &[&str]) {
    qemu_img_in(None, args);
}

/// [`qemu_img`] in the directory `dir`.
pub fn qemu_img_in(dir: Option<&std::path::Path>, args: &[&str]) {
    let mut cmd = std::process::Command::new("qemu-img");
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let out = cmd.args(args).output().expect("run qemu-img");
    assert!(
        out.status.success(),
        "qemu-img {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn example_xml(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("examples").join(format!("{name}.xml"))).unwrap()
}

/// A host with the devices and files the examples refer to.
pub fn example_host() -> FakeHost {
    let mut host = FakeHost::new()
        .with_file("/var/lib/libvirt/images/web01.qcow2")
        .with_file("/var/lib/libvirt/images/debian-12-base.qcow2")
        .with_file("/var/lib/libvirt/images/router-config.img")
        .with_file("/usr/share/OVMF/OVMF_CODE_4M.ms.fd")
        .with_file("/var/lib/libvirt/qemu/nvram")
        .with_file("/srv/build/src")
        .with_file("/srv/build/artifacts")
        .with_file("/dev/dm-3")
        .with_symlink("/dev/vg0/win11-build", "/dev/dm-3")
        .with_file("/var/lib/libvirt/boot/router-vmlinuz")
        .with_file("/var/lib/libvirt/boot/router-initrd.img")
        .with_file("/dev/input/event4")
        .with_symlink(
            "/dev/input/by-id/usb-Example_Keyboard-event-kbd",
            "/dev/input/event4",
        )
        .with_symlink("/var/run", "/run")
        .with_backing(
            "/var/lib/libvirt/images/web01.qcow2",
            vec![ProbedLayer {
                path: "/var/lib/libvirt/images/debian-12-base.qcow2".into(),
                format: Some("qcow2".into()),
                data_file: None,
                extents: Vec::new(),
            }],
        );
    let nic = PciAddress {
        domain: 0,
        bus: 3,
        slot: 0,
        function: 0,
    };
    let dir = "/sys/devices/pci0000:00/0000:00:1c.0/0000:03:00.0";
    host.pci_files.insert(
        nic,
        ["config", "resource", "resource0", "resource2", "rom"]
            .iter()
            .map(|f| format!("{dir}/{f}"))
            .collect(),
    );
    for f in &host.pci_files[&nic].clone() {
        host = host.with_file(f);
    }
    host.usb_by_id
        .insert((0x1050, 0x0407), "/dev/bus/usb/001/004".into());
    host = host.with_file("/dev/bus/usb/001/004");
    host.render_node = Some("/dev/dri/renderD128".into());
    host
}

pub fn generate_example(name: &str, settings: &Settings, host: &FakeHost) -> GeneratedProfile {
    pipeline::generate(
        &example_xml(name),
        settings,
        host,
        pipeline::BUILTIN_QEMU_TEMPLATE,
        &Limits::default(),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Profile and `.files` as one reviewable text.
pub fn as_text(g: &GeneratedProfile) -> String {
    let mut out = format!("==> {} <==\n{}", g.policy.name, g.profile);
    if let Some(files) = &g.files {
        out.push_str(&format!("==> {}.files <==\n{files}", g.policy.name));
    }
    for w in &g.policy.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    for d in &g.policy.rules.diagnostics {
        if !matches!(d, svirt::policy::Diagnostic::PathMissing(_)) {
            out.push_str(&format!("diagnostic: {d:?}\n"));
        }
    }
    out
}
