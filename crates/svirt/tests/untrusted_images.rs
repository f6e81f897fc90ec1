//! Paths named inside image headers are untrusted (issue 10, example 4): an
//! image from anywhere must not give its VM write access, or any access at
//! all for a writable layer, to a file only its header names. Real images
//! made by `qemu-img`; each test prints a note and passes if it is missing
//! (CI installs it).

use std::fs;
use std::path::Path;

mod common;

use common::have_qemu_img;
use svirt::domain::Limits;
use svirt::host::RealHost;
use svirt::pipeline::{self, GeneratedProfile, BUILTIN_QEMU_TEMPLATE};
use svirt::policy::grammar::check_rules_text;
use svirt::Settings;

/// `qemu-img create -q -f FORMAT [OPTIONS…] PATH 1M`.
fn create(path: &Path, format: &str, options: &[&str]) {
    let path = path.display().to_string();
    let mut args = vec!["create", "-q", "-f", format];
    args.extend_from_slice(options);
    args.extend([path.as_str(), "1M"]);
    common::qemu_img(&args);
}

fn real(p: &Path) -> String {
    fs::canonicalize(p).unwrap().display().to_string()
}

/// A domain with one disk; `extra` goes inside `<disk>`.
fn domain(image: &str, format: &str, extra: &str) -> String {
    format!(
        "<domain type='kvm'><name>vm-a</name>\
         <uuid>00000000-0000-0000-0000-0000000000aa</uuid>\
         <memory>1024</memory><os><type>hvm</type></os><devices>\
         <disk type='file' device='disk'><driver name='qemu' type='{format}'/>\
         <source file='{image}'/>{extra}<target dev='vda'/></disk>\
         </devices></domain>"
    )
}

fn generate(xml: &str, settings: &Settings) -> GeneratedProfile {
    let g = pipeline::generate(
        xml,
        settings,
        &RealHost::new(),
        BUILTIN_QEMU_TEMPLATE,
        &Limits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    check_rules_text(&g.policy.rules_text(), settings.escape_paths).unwrap();
    g
}

/// The rule lines that name `path` (as an exact quoted literal).
fn rules_naming(g: &GeneratedProfile, path: &str) -> Vec<String> {
    let quoted = format!("\"{path}\"");
    g.policy
        .rules_text()
        .lines()
        .filter(|l| l.contains(&quoted))
        .map(str::to_owned)
        .collect()
}

/// The settings safe mode had before issue 10 for header paths: data files
/// and extents trusted with the layer's access.
fn trusting() -> Settings {
    Settings {
        untrusted_header_paths: false,
        ..Settings::safe()
    }
}

#[test]
fn data_file_naming_another_vms_disk_is_not_granted() {
    if !have_qemu_img() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("vm-b.raw");
    create(&other, "raw", &[]);
    let top = dir.path().join("vm-a.qcow2");
    create(
        &top,
        "qcow2",
        &[
            "-o",
            &format!("data_file={},data_file_raw=on", other.display()),
        ],
    );
    let (top, other) = (real(&top), real(&other));
    let xml = domain(&top, "qcow2", "");

    let safe = generate(&xml, &Settings::safe());
    assert_eq!(rules_naming(&safe, &top), [format!("  \"{top}\" rwk,")]);
    assert!(
        rules_naming(&safe, &other).is_empty(),
        "{}",
        safe.policy.rules_text()
    );
    let warning = safe
        .policy
        .rules
        .diagnostics
        .iter()
        .map(|d| d.text().to_owned())
        .chain(safe.policy.warnings.iter().cloned())
        .find(|w| w.contains(&other))
        .expect("a warning names the data file");
    assert!(
        warning.contains(&top) && warning.contains("data file"),
        "{warning}"
    );

    // libvirt grants no data file at all; trusting the header (svirt before
    // issue 10) gave the other VM's disk read-write: the failing case.
    let compat = generate(&xml, &Settings::libvirt_compatible());
    assert!(rules_naming(&compat, &other).is_empty());
    let before = generate(&xml, &trusting());
    assert_eq!(
        rules_naming(&before, &other),
        [format!("  \"{other}\" rwk,")]
    );

    // Positive controls: the domain naming the data file grants it.
    let declared = format!(
        "<domain type='kvm'><name>vm-a</name>\
         <uuid>00000000-0000-0000-0000-0000000000aa</uuid>\
         <memory>1024</memory><os><type>hvm</type></os><devices>\
         <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
         <source file='{top}'><dataStore type='file'><format type='raw'/>\
         <source file='{other}'/></dataStore></source><target dev='vda'/></disk>\
         </devices></domain>"
    );
    let g = generate(&declared, &Settings::safe());
    assert_eq!(rules_naming(&g, &other), [format!("  \"{other}\" rwk,")]);
    // A read-only disk's data file is readable, with no deny that could
    // override a grant elsewhere.
    let ro = domain(&top, "qcow2", "<readonly/>");
    let g = generate(&ro, &Settings::safe());
    assert_eq!(rules_naming(&g, &other), [format!("  \"{other}\" rk,")]);
}

#[test]
fn vmdk_extents_of_a_writable_descriptor_are_not_granted() {
    if !have_qemu_img() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim.img");
    fs::write(&victim, vec![0u8; 512 * 16]).unwrap();
    let ro_extent = dir.path().join("ro-extent.img");
    fs::write(&ro_extent, vec![0u8; 512 * 16]).unwrap();
    let desc = dir.path().join("desc.vmdk");
    fs::write(
        &desc,
        format!(
            "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n\
             createType=\"monolithicFlat\"\n\n\
             RW 16 FLAT \"{}\" 0\nRDONLY 16 FLAT \"{}\" 0\n\n\
             ddb.virtualHWVersion = \"4\"\n",
            victim.display(),
            ro_extent.display()
        ),
    )
    .unwrap();
    let (desc, victim, ro_extent) = (real(&desc), real(&victim), real(&ro_extent));
    let xml = domain(&desc, "vmdk", "");
    let safe = generate(&xml, &Settings::safe());
    assert!(
        rules_naming(&safe, &victim).is_empty(),
        "{}",
        safe.policy.rules_text()
    );
    assert!(rules_naming(&safe, &ro_extent).is_empty());
    assert_eq!(
        safe.policy
            .warnings
            .iter()
            .filter(|w| w.contains("extent") && w.contains(&desc))
            .count(),
        2,
        "{:?}",
        safe.policy.warnings
    );
    // Before: both extents, the RDONLY one too, read-write.
    let before = generate(&xml, &trusting());
    assert_eq!(
        rules_naming(&before, &victim),
        [format!("  \"{victim}\" rwk,")]
    );
    assert_eq!(
        rules_naming(&before, &ro_extent),
        [format!("  \"{ro_extent}\" rwk,")]
    );
    // A read-only descriptor: its extents are readable only.
    let ro = generate(&domain(&desc, "vmdk", "<readonly/>"), &Settings::safe());
    assert_eq!(rules_naming(&ro, &victim), [format!("  \"{victim}\" rk,")]);
    assert_eq!(
        rules_naming(&ro, &ro_extent),
        [format!("  \"{ro_extent}\" rk,")]
    );
}

#[test]
fn header_naming_a_device_or_a_system_file_is_refused_with_a_warning() {
    if !have_qemu_img() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (backing, why) in [("/dev/null", "device"), ("/etc/hostname", "restricted")] {
        let top = dir.path().join("top.qcow2");
        let _ = fs::remove_file(&top);
        create(&top, "qcow2", &["-u", "-b", backing, "-F", "raw"]);
        let top = real(&top);
        let xml = domain(&top, "qcow2", "");
        let safe = generate(&xml, &Settings::safe());
        assert!(rules_naming(&safe, backing).is_empty(), "{backing}");
        let warning = safe
            .policy
            .rules
            .diagnostics
            .iter()
            .map(|d| d.text())
            .find(|w| w.contains(backing))
            .unwrap_or_else(|| panic!("no warning for {backing}"));
        assert!(
            warning.contains(&top) && warning.contains("backing file") && warning.contains(why),
            "{warning}"
        );
    }
    // libvirt trusts the header: the device is granted, and a restricted
    // backing file fails the whole run.
    let top = dir.path().join("dev.qcow2");
    create(&top, "qcow2", &["-u", "-b", "/dev/null", "-F", "raw"]);
    let compat = generate(
        &domain(&real(&top), "qcow2", ""),
        &Settings::libvirt_compatible(),
    );
    assert_eq!(
        rules_naming(&compat, "/dev/null"),
        ["  \"/dev/null\" rk,", "  deny \"/dev/null\" w,"]
    );
}

#[test]
fn an_ordinary_backing_chain_still_works() {
    if !have_qemu_img() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.qcow2");
    create(&base, "qcow2", &[]);
    let top = dir.path().join("top.qcow2");
    create(
        &top,
        "qcow2",
        &["-b", &base.display().to_string(), "-F", "qcow2"],
    );
    let (base, top) = (real(&base), real(&top));
    let g = generate(&domain(&top, "qcow2", ""), &Settings::safe());
    assert_eq!(rules_naming(&g, &top), [format!("  \"{top}\" rwk,")]);
    // Read-only, without libvirt 9.0's `deny … w` (issue 12), so that a
    // block job's later write grant works.
    assert_eq!(rules_naming(&g, &base), [format!("  \"{base}\" rk,")]);
    assert!(g.policy.warnings.is_empty(), "{:?}", g.policy.warnings);
}
