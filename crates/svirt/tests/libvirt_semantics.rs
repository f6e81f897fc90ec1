//! libvirt's implied domain semantics, which its helper sees after its
//! parser has applied them (issue 11). Each holds in both modes: a VM
//! libvirt runs must get the same access under svirt.

use svirt::domain::Limits;
use svirt::pipeline::{self, PipelineError, BUILTIN_QEMU_TEMPLATE};
use svirt::policy::Diagnostic;
use svirt::testing::FakeHost;
use svirt::Settings;

fn modes() -> [(&'static str, Settings); 2] {
    [
        ("safe", Settings::safe()),
        ("compat", Settings::libvirt_compatible()),
    ]
}

fn domain(devices: &str) -> String {
    format!(
        "<domain type='kvm'><name>vm</name>\
         <uuid>00000000-0000-0000-0000-0123456789ab</uuid>\
         <memory>1024</memory><os><type arch='x86_64'>hvm</type></os><devices>{devices}\
         </devices></domain>"
    )
}

/// The per-device rule lines (the five base rules dropped).
fn rules(devices: &str, settings: &Settings, host: &FakeHost) -> Vec<String> {
    let g = pipeline::generate(
        &domain(devices),
        settings,
        host,
        BUILTIN_QEMU_TEMPLATE,
        &Limits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    g.policy
        .rules_text()
        .lines()
        .skip(5)
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_cdrom_is_read_only() {
    let xml = "<disk type='file' device='cdrom'><source file='/isos/install.iso'/>\
               <target dev='hdc' bus='ide'/></disk>";
    for (mode, s) in modes() {
        // libvirt 9.0's explicit write deny; none in safe mode (as 12.1).
        let mut want = vec!["  \"/isos/install.iso\" rk,"];
        if s.quiet_write_deny {
            want.extend([
                "  # don't audit writes to readonly files",
                "  deny \"/isos/install.iso\" w,",
            ]);
        }
        assert_eq!(rules(xml, &s, &FakeHost::new()), want, "{mode}");
    }
}

#[test]
fn disks_follow_libvirts_insertion_order() {
    // Document order: vdb, sda, vda, hdc, sdb. libvirt keeps buses in the
    // order they first appear and sorts each bus by target.
    let disk = |path: &str, dev: &str, bus: &str| {
        format!(
            "<disk type='file' device='disk'><source file='{path}'/>\
             <target dev='{dev}' bus='{bus}'/></disk>"
        )
    };
    let xml = [
        disk("/img/vdb", "vdb", "virtio"),
        disk("/img/sda", "sda", "scsi"),
        disk("/img/vda", "vda", "virtio"),
        "<disk type='file' device='disk'><source file='/img/hdc'/><target dev='hdc'/></disk>"
            .to_owned(),
        disk("/img/sdb", "sdb", "scsi"),
    ]
    .concat();
    for (mode, s) in modes() {
        let got: Vec<String> = rules(&xml, &s, &FakeHost::new())
            .into_iter()
            .filter(|l| l.contains(" rwk,"))
            .collect();
        assert_eq!(
            got,
            [
                "  \"/img/vda\" rwk,",
                "  \"/img/vdb\" rwk,",
                "  \"/img/sda\" rwk,",
                "  \"/img/sdb\" rwk,",
                "  \"/img/hdc\" rwk,"
            ],
            "{mode}"
        );
    }
}

#[test]
fn a_console_aliasing_serial_0_is_granted_once() {
    // The sources differ in `append`, so libvirt makes the console an
    // alias of the serial port: one rule.
    let xml = "<serial type='file'><source path='/logs/serial.log' append='on'/>\
               <target port='0'/></serial>\
               <console type='file'><source path='/logs/serial.log'/>\
               <target port='0'/></console>";
    for (mode, s) in modes() {
        assert_eq!(
            rules(xml, &s, &FakeHost::new()),
            ["  \"/logs/serial.log\" rw,"],
            "{mode}"
        );
    }
}

#[test]
fn an_sriov_interface_gets_vfio() {
    let xml = "<interface type='hostdev' managed='yes'><driver name='vfio'/>\
               <source><address type='pci' domain='0x0000' bus='0x03' slot='0x00' \
               function='0x1'/></source><mac address='52:54:00:6d:90:02'/></interface>";
    for (mode, s) in modes() {
        assert_eq!(
            rules(xml, &s, &FakeHost::new()),
            [
                "  \"/dev/vhost-net\" rw,",
                "  \"/dev/vfio/vfio\" rw,",
                "  \"/dev/vfio/[0-9]*\" rw,"
            ],
            "{mode}"
        );
    }
}

#[test]
fn local_layers_below_a_network_disk_are_granted() {
    let xml = "<disk type='network' device='disk'><driver name='qemu' type='qcow2'/>\
               <source protocol='nbd' name='bar'><host name='example.org'/></source>\
               <backingStore type='file'><format type='qcow2'/>\
               <source file='/img/base.qcow2'/><backingStore/></backingStore>\
               <target dev='vda' bus='virtio'/></disk>";
    for (mode, s) in modes() {
        // libvirt 9.0's explicit write deny; none in safe mode (as 12.1).
        let mut want = vec!["  \"/img/base.qcow2\" rk,"];
        if s.quiet_write_deny {
            want.extend([
                "  # don't audit writes to readonly files",
                "  deny \"/img/base.qcow2\" w,",
            ]);
        }
        assert_eq!(rules(xml, &s, &FakeHost::new()), want, "{mode}");
    }
}

#[test]
fn a_capabilities_misc_hostdev_gets_vfio_only_in_compat_mode() {
    let xml = "<hostdev mode='capabilities' type='misc'><source><char>/dev/tty0</char>\
               </source></hostdev>";
    let lxc = |s: &Settings| {
        let x = domain(xml).replace("type='kvm'", "type='lxc'").replace(
            "<type arch='x86_64'>hvm</type>",
            "<type>exe</type><init>/bin/sh</init>",
        );
        pipeline::generate(
            &x,
            s,
            &FakeHost::new(),
            "#\nprofile LIBVIRT_TEMPLATE {\n}\n",
            &Limits::default(),
        )
        .unwrap()
        .policy
        .rules_text()
    };
    assert_eq!(
        lxc(&Settings::libvirt_compatible()),
        "  \"/dev/vfio/vfio\" rw,\n  \"/dev/vfio/[0-9]*\" rw,\n"
    );
    assert_eq!(lxc(&Settings::safe()), "");
}

#[test]
fn paths_before_a_failing_device_are_reported_first() {
    // libvirt prints the missing disk's warning, then fails on SDL.
    let xml = "<disk type='file' device='disk'><source file='/img/missing.img'/>\
               <target dev='vda' bus='virtio'/></disk><graphics type='sdl'/>";
    for (mode, s) in modes() {
        let err = pipeline::generate(
            &domain(xml),
            &s,
            &FakeHost::new(),
            BUILTIN_QEMU_TEMPLATE,
            &Limits::default(),
        )
        .unwrap_err();
        match err {
            PipelineError::Resources(f) => assert!(
                f.diagnostics
                    .iter()
                    .any(|d| matches!(d, Diagnostic::PathMissing(p) if p == "/img/missing.img")),
                "{mode}: {:?}",
                f.diagnostics
            ),
            other => panic!("{mode}: {other}"),
        }
    }
}
