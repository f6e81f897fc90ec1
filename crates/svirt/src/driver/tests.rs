//! The driver against a fake helper script that records each run (argv,
//! environment and the start of stdin), a directory-rooted securityfs and
//! procfs, and a [`FakeHost`].

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::apparmor::{ProcAttr, SecurityFs};
use crate::domain::{
    CharDevSourceType, HostDev, HostDevSource, MemoryModel, PciAddress, SecLabel, SecLabelType,
    StorageSource, StorageType,
};
use crate::image::ProbedLayer;
use crate::policy::{Mode, Origin, Target};
use crate::resources::testing::domain;
use crate::testing::FakeHost;

const PROFILE: &str = "libvirt-00000000-0000-0000-0000-0123456789ab";
const XML: &str = "<domain type='kvm'>the definition</domain>";

struct Rig {
    dir: tempfile::TempDir,
    config: AppArmorConfig,
}

impl Rig {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let helper = root.join("virt-aa-helper");
        let log = root.join("helper.log");
        let fail = root.join("helper.fail");
        fs::write(
            &helper,
            format!(
                "#!/bin/sh\n\
                 {{ printf 'argv:'; for a in \"$@\"; do printf ' %s' \"$a\"; done; printf '\\n'\n\
                   printf 'env: %s\\n' \"$(/usr/bin/env | grep -v '^PWD=' | sort | tr '\\n' ' ')\"\n\
                   if [ \"$1\" != -D ]; then printf 'stdin: %s\\n' \"$(cat)\"; fi\n\
                 }} >> '{log}'\n\
                 if [ -e '{fail}' ]; then echo 'virt-aa-helper: error: could not parse XML' >&2; exit 1; fi\n",
                log = log.display(),
                fail = fail.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&helper, fs::Permissions::from_mode(0o755)).unwrap();
        let sfs = root.join("securityfs");
        fs::create_dir_all(&sfs).unwrap();
        fs::write(root.join("enabled"), "Y\n").unwrap();
        fs::write(sfs.join("profiles"), "libvirtd (enforce)\n").unwrap();
        let policy = root.join("policy");
        fs::create_dir_all(&policy).unwrap();
        for t in ["TEMPLATE.qemu", "TEMPLATE.lxc"] {
            fs::write(policy.join(t), "").unwrap();
        }
        fs::create_dir_all(root.join("proc/self/fd")).unwrap();
        let config = AppArmorConfig {
            helper,
            log_outputs: Some("3:stderr".into()),
            required_templates: vec![policy.join("TEMPLATE.qemu"), policy.join("TEMPLATE.lxc")],
            policy_dir: policy,
            manager_profiles: Some(vec!["libvirtd".into()]),
            securityfs: SecurityFs::with_roots(sfs, root.join("enabled")),
            proc: ProcAttr::with_root(root.join("proc")),
            device_root: root.join("devroot"),
        };
        Rig { dir, config }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn driver(&self, host: FakeHost) -> AppArmorDriver {
        AppArmorDriver::with_host(self.config.clone(), Arc::new(host))
    }

    /// Marks the VM's profile as loaded and its file as present.
    fn loaded(&self) {
        fs::write(
            self.path("securityfs/profiles"),
            format!("libvirtd (enforce)\n{PROFILE} (enforce)\n"),
        )
        .unwrap();
        fs::write(self.path("policy").join(PROFILE), "profile").unwrap();
    }

    fn fail_helper(&self) {
        fs::write(self.path("helper.fail"), "").unwrap();
    }

    /// The argv of each helper run so far.
    fn runs(&self) -> Vec<String> {
        fs::read_to_string(self.path("helper.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("argv: "))
            .map(str::to_owned)
            .collect()
    }

    fn log(&self) -> String {
        fs::read_to_string(self.path("helper.log")).unwrap_or_default()
    }
}

fn generated() -> SecurityLabel {
    SecurityLabel {
        label: Some(PROFILE.into()),
        image_label: Some(PROFILE.into()),
        model: Some("apparmor".into()),
        ..SecurityLabel::dynamic()
    }
}

fn file(path: &str) -> StorageSource {
    StorageSource::new(StorageType::File, Some(path.into()))
}

#[test]
fn gen_label_creates_then_replaces_with_xml_on_stdin_and_a_clean_env() {
    let rig = Rig::new();
    let driver = rig.driver(FakeHost::new());
    let d = domain("vm");
    let mut label = SecurityLabel::dynamic();
    driver.gen_label(&d, XML, &mut label).unwrap();
    assert_eq!(label, generated());
    assert_eq!(rig.runs(), [format!("-c -u {PROFILE}")]);
    let log = rig.log();
    assert!(
        log.contains("env: LIBVIRT_LOG_OUTPUTS=3:stderr \n"),
        "{log}"
    );
    assert!(log.contains(&format!("stdin: {XML}\n")), "{log}");

    // The profile file now exists (kept by -D): the next start uses -r.
    fs::write(rig.path("policy").join(PROFILE), "").unwrap();
    let mut label = SecurityLabel::dynamic();
    driver.gen_label(&d, XML, &mut label).unwrap();
    assert_eq!(rig.runs()[1], format!("-r -u {PROFILE}"));

    // Generating twice is refused.
    let err = driver.gen_label(&d, XML, &mut label).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a security label is already defined for domain vm"
    );
}

#[test]
fn gen_label_failure_leaves_the_label_empty_and_keeps_stderr() {
    let rig = Rig::new();
    rig.fail_helper();
    let driver = rig.driver(FakeHost::new());
    let mut label = SecurityLabel::dynamic();
    let err = driver
        .gen_label(&domain("vm"), XML, &mut label)
        .unwrap_err();
    assert_eq!(err.kind(), DriverErrorKind::Helper);
    assert_eq!(
        err.to_string(),
        format!("cannot load AppArmor profile {PROFILE}")
    );
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(
        source.ends_with(&format!(
            "virt-aa-helper -c -u {PROFILE} failed: virt-aa-helper: error: could not parse XML"
        )),
        "{source}"
    );
    assert_eq!(label, SecurityLabel::dynamic());
}

#[test]
fn base_label_is_refused_before_the_helper_runs() {
    let rig = Rig::new();
    let driver = rig.driver(FakeHost::new());
    let mut label = SecurityLabel {
        base_label: Some("x".into()),
        ..SecurityLabel::dynamic()
    };
    let err = driver
        .gen_label(&domain("vm"), XML, &mut label)
        .unwrap_err();
    assert_eq!(err.kind(), DriverErrorKind::InvalidInput);
    assert!(rig.runs().is_empty());
}

#[test]
fn static_none_and_relabel_no_never_run_the_helper() {
    let rig = Rig::new();
    rig.loaded();
    let driver = rig.driver(FakeHost::new().with_file("/img/a.qcow2"));
    let d = domain("vm");
    let relabel_off = SecurityLabel {
        relabel: false,
        ..generated()
    };
    for mut label in [
        SecurityLabel::fixed(PROFILE, true),
        SecurityLabel::fixed(PROFILE, false),
        SecurityLabel::none(),
        relabel_off,
    ] {
        if label.kind != LabelKind::Dynamic {
            driver.gen_label(&d, XML, &mut label).unwrap();
        }
        let vm = Vm {
            domain: &d,
            xml: XML,
            label: &label,
        };
        driver
            .set_all_labels(&vm, Some(Path::new("/save")))
            .unwrap();
        driver.set_image_label(&vm, &file("/img/a.qcow2")).unwrap();
        driver
            .restore_image_label(&vm, &file("/img/a.qcow2"))
            .unwrap();
        driver
            .set_path_label(&vm, Path::new("/var/lib/x"), true)
            .unwrap();
        driver.restore_path_label(&vm, Path::new("/x")).unwrap();
        if label.kind != LabelKind::Dynamic {
            driver.restore_all_labels(&vm).unwrap();
        }
    }
    assert!(rig.runs().is_empty(), "{:?}", rig.runs());
}

#[test]
fn static_label_must_be_loaded() {
    let rig = Rig::new();
    let driver = rig.driver(FakeHost::new());
    let d = domain("vm");
    let err = driver
        .verify(&d, &SecurityLabel::fixed("admin-qemu", false))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid security label \"admin-qemu\" of domain vm: no profile of that name is loaded"
    );
    driver
        .verify(&d, &SecurityLabel::fixed("libvirtd", false))
        .unwrap();
    driver.verify(&d, &SecurityLabel::dynamic()).unwrap();
}

#[test]
fn hotplug_appends_every_layer_of_the_chain() {
    let rig = Rig::new();
    rig.loaded();
    let layer = |p: &str| ProbedLayer {
        path: p.into(),
        format: Some("qcow2".into()),
        data_file: None,
        extents: Vec::new(),
    };
    let host = FakeHost::new()
        .with_file("/img/top.qcow2")
        .with_file("/img/mid.qcow2")
        .with_file("/img/base.raw")
        .with_backing(
            "/img/top.qcow2",
            vec![layer("/img/mid.qcow2"), layer("/img/base.raw")],
        );
    let driver = rig.driver(host);
    let d = domain("vm");
    let label = generated();
    let vm = Vm {
        domain: &d,
        xml: XML,
        label: &label,
    };
    driver
        .set_image_label(&vm, &file("/img/top.qcow2"))
        .unwrap();
    assert_eq!(
        rig.runs(),
        [
            format!("-r -u {PROFILE} -F /img/top.qcow2"),
            format!("-r -u {PROFILE} -F /img/mid.qcow2"),
            format!("-r -u {PROFILE} -F /img/base.raw"),
        ]
    );
    driver
        .restore_image_label(&vm, &file("/img/top.qcow2"))
        .unwrap();
    assert_eq!(rig.runs()[3], format!("-r -u {PROFILE}"));
    // Network sources get nothing.
    let net = StorageSource::new(StorageType::Network, None);
    driver.set_image_label(&vm, &net).unwrap();
    driver.restore_image_label(&vm, &net).unwrap();
    assert_eq!(rig.runs().len(), 4);
}

/// With the new disk in the definition, a plain regeneration grants it and
/// its backing layers (`rk`); no `-F`, which the helper would grant `rwk`
/// (it cannot tell a hotplug's `-F` from a block job's).
#[test]
fn hotplug_with_the_disk_in_the_definition_regenerates() {
    let rig = Rig::new();
    rig.loaded();
    let layer = |p: &str| ProbedLayer {
        path: p.into(),
        format: Some("qcow2".into()),
        data_file: None,
        extents: Vec::new(),
    };
    let host = FakeHost::new()
        .with_file("/img/top.qcow2")
        .with_file("/img/mid.qcow2")
        .with_file("/img/base.raw")
        .with_backing(
            "/img/top.qcow2",
            vec![layer("/img/mid.qcow2"), layer("/img/base.raw")],
        );
    let driver = rig.driver(host);
    let mut d = domain("vm");
    d.devices.disks.push(crate::domain::Disk {
        device: crate::domain::DiskDevice::Disk,
        source: Some(file("/img/top.qcow2")),
        target_dev: Some("vdb".into()),
        target_bus: Some("virtio".into()),
        shareable: false,
    });
    let label = generated();
    let vm = Vm {
        domain: &d,
        xml: XML,
        label: &label,
    };
    driver
        .set_image_label(&vm, &file("/img/top.qcow2"))
        .unwrap();
    assert_eq!(rig.runs(), [format!("-r -u {PROFILE}")]);

    // A read-only disk in the definition: the same.
    let mut ro = file("/img/top.qcow2");
    ro.readonly = true;
    d.devices.disks[0].source = Some(ro.clone());
    let vm = Vm {
        domain: &d,
        xml: XML,
        label: &label,
    };
    driver.set_image_label(&vm, &ro).unwrap();
    assert_eq!(rig.runs()[1], format!("-r -u {PROFILE}"));
}

#[test]
fn hotplug_asks_only_for_what_the_start_would_grant() {
    // A writable qcow2 whose header names another VM's disk as its data
    // file, and a backing file that is a device: neither is asked for.
    let rig = Rig::new();
    rig.loaded();
    let host = FakeHost::new()
        .with_file("/img/top.qcow2")
        .with_file("/img/other-vm.qcow2")
        .with_device("/dev/sdb")
        .with_top_header("/img/top.qcow2", Some("/img/other-vm.qcow2"), &[])
        .with_backing(
            "/img/top.qcow2",
            vec![ProbedLayer {
                path: "/dev/sdb".into(),
                format: Some("raw".into()),
                data_file: None,
                extents: Vec::new(),
            }],
        );
    let driver = rig.driver(host);
    let d = domain("vm");
    let label = generated();
    let vm = Vm {
        domain: &d,
        xml: XML,
        label: &label,
    };
    driver
        .set_image_label(&vm, &file("/img/top.qcow2"))
        .unwrap();
    assert_eq!(rig.runs(), [format!("-r -u {PROFILE} -F /img/top.qcow2")]);
}

#[test]
fn hotplug_of_a_pool_volume_asks_for_its_resolved_path() {
    let rig = Rig::new();
    rig.loaded();
    let host = FakeHost::new()
        .with_pool("p", "dir", "/pools/p")
        .with_file("/pools/p/v.raw");
    let driver = rig.driver(host);
    let d = domain("vm");
    let label = generated();
    let vm = Vm {
        domain: &d,
        xml: XML,
        label: &label,
    };
    let mut vol = StorageSource::new(StorageType::Volume, None);
    vol.pool = Some("p".into());
    vol.volume = Some("v.raw".into());
    vol.format = Some("raw".into());
    driver.set_image_label(&vm, &vol).unwrap();
    assert_eq!(rig.runs(), [format!("-r -u {PROFILE} -F /pools/p/v.raw")]);
}

#[test]
fn a_missing_layer_fails_before_any_helper_run() {
    let rig = Rig::new();
    rig.loaded();
    let host = FakeHost::new().with_file("/img/top.qcow2").with_backing(
        "/img/top.qcow2",
        vec![ProbedLayer {
            path: "/img/gone.qcow2".into(),
            format: None,
            data_file: None,
            extents: Vec::new(),
        }],
    );
    let driver = rig.driver(host);
    let d = domain("vm");
    let label = generated();
    let vm = Vm {
        domain: &d,
        xml: XML,
        label: &label,
    };
    let err = driver
        .set_image_label(&vm, &file("/img/top.qcow2"))
        .unwrap_err();
    assert_eq!(err.to_string(), "disk image /img/gone.qcow2 does not exist");
    assert_eq!(err.kind(), DriverErrorKind::NotFound);
    assert!(rig.runs().is_empty());
}

#[test]
fn nothing_happens_while_the_profile_is_not_loaded() {
    let rig = Rig::new();
    let driver = rig.driver(FakeHost::new().with_file("/img/a"));
    let d = domain("vm");
    let label = generated();
    let vm = Vm {
        domain: &d,
        xml: XML,
        label: &label,
    };
    driver.set_image_label(&vm, &file("/img/a")).unwrap();
    driver.restore_image_label(&vm, &file("/img/a")).unwrap();
    assert!(rig.runs().is_empty());
}

#[test]
fn hostdevs_chardevs_memory_input_net_and_paths() {
    let rig = Rig::new();
    rig.loaded();
    let mut host = FakeHost::new()
        .with_file("/dev/input/event3")
        .with_file("/dev/pmem0")
        .with_file("/x/p.in");
    host.usb_by_address
        .insert((1, 3), "/dev/bus/usb/001/003".into());
    host.pci_iommu_groups.insert(
        PciAddress {
            domain: 0,
            bus: 1,
            slot: 0,
            function: 0,
        },
        12,
    );
    let pci = |driver: Option<&str>| HostDev {
        mode: "subsystem".into(),
        source: HostDevSource::Pci {
            address: PciAddress {
                domain: 0,
                bus: 1,
                slot: 0,
                function: 0,
            },
            driver: driver.map(Into::into),
        },
        seclabels: Vec::new(),
    };
    host.pci_files.insert(
        PciAddress {
            domain: 0,
            bus: 1,
            slot: 0,
            function: 0,
        },
        vec![
            "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/config".into(),
            "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/resource0".into(),
        ],
    );
    let driver = rig.driver(host);
    let d = domain("vm");
    let label = generated();
    let vm = Vm {
        domain: &d,
        xml: XML,
        label: &label,
    };
    driver.set_hostdev_label(&vm, &pci(None)).unwrap();
    driver.set_hostdev_label(&vm, &pci(Some("kvm"))).unwrap();
    driver
        .set_hostdev_label(
            &vm,
            &HostDev {
                mode: "subsystem".into(),
                source: HostDevSource::Usb {
                    vendor: None,
                    product: None,
                    bus: Some(1),
                    device: Some(3),
                },
                seclabels: Vec::new(),
            },
        )
        .unwrap();
    driver.restore_hostdev_label(&vm, &pci(None)).unwrap();
    let pipe = CharDev {
        kind: crate::domain::CharDevKind::Serial,
        source_type: CharDevSourceType::Pipe,
        path: Some("/x/p".into()),
        source_attrs: Vec::new(),
        log_file: None,
        target_type: None,
        target_name: None,
        seclabels: Vec::<SecLabel>::new(),
    };
    driver.set_chardev_label(&vm, &pipe).unwrap();
    let tcp = CharDev {
        source_type: CharDevSourceType::Tcp,
        ..pipe.clone()
    };
    driver.set_chardev_label(&vm, &tcp).unwrap();
    driver
        .set_memory_label(
            &vm,
            &MemoryDevice {
                model: MemoryModel::Nvdimm,
                path: Some("/dev/pmem0".into()),
            },
        )
        .unwrap();
    let err = driver
        .set_memory_label(
            &vm,
            &MemoryDevice {
                model: MemoryModel::VirtioPmem,
                path: Some("/nope".into()),
            },
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "memory backing file /nope does not exist");
    driver
        .set_input_label(
            &vm,
            &Input {
                kind: "evdev".into(),
                evdev: Some("/dev/input/event3".into()),
            },
        )
        .unwrap();
    let err = driver
        .set_input_label(
            &vm,
            &Input {
                kind: "passthrough".into(),
                evdev: None,
            },
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "passthrough input device has no source path"
    );
    driver
        .set_netdev_label(
            &vm,
            &Interface {
                kind: "vhostuser".into(),
                model: None,
                driver_name: None,
                backend: None,
                source_path: Some("/run/vhost.sock".into()),
                source_type: Some("unix".into()),
                target_dev: None,
                ..Default::default()
            },
        )
        .unwrap();
    driver
        .set_path_label(&vm, Path::new("/var/lib/libvirt/qemu/domain-1-vm"), true)
        .unwrap();
    driver
        .set_all_labels(&vm, Some(Path::new("/var/lib/save.img")))
        .unwrap();
    let p = |s: &str| format!("-r -u {PROFILE}{s}");
    assert_eq!(
        rig.runs(),
        [
            // A VFIO device gets what the start grants it: its sysfs
            // files and the container, with the exact group instead of
            // the start's `/dev/vfio/[0-9]*` (libvirt's driver asks for
            // the group only).
            p(" -F /sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/config"),
            p(" -F /sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/resource0"),
            p(" -F /dev/vfio/12"),
            p(" -F /dev/vfio/vfio"),
            p(" -F /sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/config"),
            p(" -F /sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/resource0"),
            p(" -F /dev/bus/usb/001/003"),
            p(""),
            p(" -F /x/p.in"),
            p(" -F /x/p"),
            p(" -F /dev/pmem0"),
            p(" -F /dev/input/event3"),
            p(" -F /run/vhost.sock"),
            p(" -F /var/lib/libvirt/qemu/domain-1-vm/{,**}"),
            p(" -F /var/lib/save.img"),
        ]
    );
}

#[test]
fn unknown_usb_device_is_an_error() {
    let rig = Rig::new();
    rig.loaded();
    let driver = rig.driver(FakeHost::new());
    let d = domain("vm");
    let label = generated();
    let vm = Vm {
        domain: &d,
        xml: XML,
        label: &label,
    };
    let err = driver
        .set_hostdev_label(
            &vm,
            &HostDev {
                mode: "subsystem".into(),
                source: HostDevSource::Usb {
                    vendor: Some(0x1234),
                    product: Some(0xbeef),
                    bus: None,
                    device: None,
                },
                seclabels: Vec::new(),
            },
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot find the host device node for USB device 1234:beef"
    );
}

#[test]
fn fd_labels_resolve_through_proc_self_fd() {
    use std::os::fd::{AsFd, AsRawFd};
    let rig = Rig::new();
    rig.loaded();
    let driver = rig.driver(FakeHost::new());
    let d = domain("vm");
    let label = generated();
    let vm = Vm {
        domain: &d,
        xml: XML,
        label: &label,
    };
    let f = fs::File::open(rig.path("enabled")).unwrap();
    let raw = f.as_raw_fd();
    std::os::unix::fs::symlink(
        "/var/lib/libvirt/qemu/save/vm.save",
        rig.path(&format!("proc/self/fd/{raw}")),
    )
    .unwrap();
    let got = driver.set_image_fd_label(&vm, f.as_fd()).unwrap();
    assert_eq!(
        got.as_deref(),
        Some(Path::new("/var/lib/libvirt/qemu/save/vm.save"))
    );
    // An fd without a link (or a pipe, `pipe:[…]`) is skipped.
    let other = fs::File::open(rig.path("helper.log")).unwrap();
    assert_eq!(driver.set_tap_fd_label(&vm, other.as_fd()).unwrap(), None);
    assert_eq!(
        rig.runs(),
        [format!(
            "-r -u {PROFILE} -F /var/lib/libvirt/qemu/save/vm.save"
        )]
    );
}

#[test]
fn restore_all_removes_dynamic_profiles_only() {
    let rig = Rig::new();
    rig.loaded();
    let driver = rig.driver(FakeHost::new());
    let d = domain("vm");
    let label = generated();
    let vm = Vm {
        domain: &d,
        xml: XML,
        label: &label,
    };
    driver.restore_all_labels(&vm).unwrap();
    assert_eq!(rig.runs(), [format!("-D -u {PROFILE}")]);
    assert!(!rig.log().contains("stdin:"), "-D reads no stdin");
    rig.fail_helper();
    let err = driver.restore_all_labels(&vm).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cannot remove AppArmor profile {PROFILE} of domain vm")
    );
    let mut label = generated();
    driver.release_label(&mut label).unwrap();
    assert_eq!(label, SecurityLabel::dynamic());
}

#[test]
fn process_labels() {
    let rig = Rig::new();
    let driver = rig.driver(FakeHost::new());
    let d = domain("vm");
    let label = generated();
    let vm = Vm {
        domain: &d,
        xml: XML,
        label: &label,
    };
    assert_eq!(
        driver.child_process_label(&vm).unwrap().as_deref(),
        Some(PROFILE)
    );
    let none = SecurityLabel::none();
    let vm_none = Vm { label: &none, ..vm };
    assert_eq!(driver.child_process_label(&vm_none).unwrap(), None);
    let other = SecurityLabel {
        model: Some("selinux".into()),
        ..generated()
    };
    let err = driver
        .child_process_label(&Vm {
            label: &other,
            ..vm
        })
        .unwrap_err();
    assert!(err
        .to_string()
        .starts_with("security label driver mismatch"));
    let ungenerated = SecurityLabel::dynamic();
    assert!(matches!(
        driver.child_process_label(&Vm {
            label: &ungenerated,
            ..vm
        }),
        Err(DriverError::NoLabel { .. })
    ));
    // set_process_label writes changeprofile for the calling thread.
    let attr = rig.path("proc/thread-self/attr/apparmor");
    fs::create_dir_all(&attr).unwrap();
    fs::write(attr.join("current"), "").unwrap();
    driver.set_process_label(&vm).unwrap();
    assert_eq!(
        fs::read_to_string(attr.join("current")).unwrap(),
        format!("changeprofile {PROFILE}")
    );
    let p = rig.path("proc/321/attr/apparmor");
    fs::create_dir_all(&p).unwrap();
    fs::write(p.join("current"), format!("{PROFILE} (enforce)\n")).unwrap();
    assert_eq!(
        driver.process_label(&vm, 321).unwrap().label(),
        Some(PROFILE)
    );
}

#[test]
#[cfg(not(feature = "apparmor"))]
fn probe_without_the_apparmor_feature_is_disabled() {
    let rig = Rig::new();
    let driver = rig.driver(FakeHost::new());
    assert_eq!(
        driver.probe(),
        ProbeResult::Disabled(DisabledReason::NotCompiled)
    );
}

#[test]
#[cfg(feature = "apparmor")]
fn probe_results() {
    let rig = Rig::new();
    let driver = rig.driver(FakeHost::new());
    assert_eq!(
        driver.probe(),
        ProbeResult::Enabled {
            manager_mode: Some(crate::apparmor::ProfileMode::Enforce)
        }
    );
    assert_eq!(driver.model(), "apparmor");
    assert_eq!(driver.doi(), "0");

    fs::write(rig.path("securityfs/profiles"), "other (enforce)\n").unwrap();
    let ProbeResult::Disabled(why) = driver.probe() else {
        panic!("expected disabled")
    };
    assert!(
        why.to_string()
            .starts_with("the VM manager is not confined: none of the profiles "),
        "{why}"
    );
    assert!(why.to_string().ends_with("libvirtd is loaded"), "{why}");

    let mut config = rig.config.clone();
    config.manager_profiles = None;
    fs::remove_file(rig.path("policy/TEMPLATE.lxc")).unwrap();
    let driver = AppArmorDriver::with_host(config.clone(), Arc::new(FakeHost::new()));
    assert!(matches!(
        driver.probe(),
        ProbeResult::Disabled(DisabledReason::TemplateMissing { .. })
    ));
    config.required_templates.clear();
    let driver = AppArmorDriver::with_host(config, Arc::new(FakeHost::new()));
    assert!(driver.probe().is_enabled());

    fs::write(rig.path("enabled"), "N\n").unwrap();
    assert!(matches!(
        driver.probe(),
        ProbeResult::Disabled(DisabledReason::Kernel(
            crate::apparmor::Unavailable::Disabled { .. }
        ))
    ));
}

#[test]
fn unreadable_profiles_list_means_unconfined_not_an_error() {
    let rig = Rig::new();
    let list = rig.path("securityfs/profiles");
    fs::set_permissions(&list, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read(&list).is_ok() {
        return; // running as root: permissions do not apply
    }
    let driver = rig.driver(FakeHost::new());
    let ProbeResult::Unconfined(why) = driver.probe() else {
        panic!("expected unconfined")
    };
    assert!(why.to_string().starts_with("VMs run unconfined: "), "{why}");
}

#[test]
fn label_from_xml_then_lifecycle() {
    let rig = Rig::new();
    let driver = rig.driver(FakeHost::new());
    let mut d = domain("vm");
    d.seclabels = vec![SecLabel {
        model: Some("apparmor".into()),
        kind: Some(SecLabelType::None),
        relabel: None,
        label: None,
        imagelabel: None,
        baselabel: None,
    }];
    let mut label = SecurityLabel::from_domain(&d, &LabelPolicy::default())
        .unwrap()
        .unwrap();
    driver.gen_label(&d, XML, &mut label).unwrap();
    let vm = Vm {
        domain: &d,
        xml: XML,
        label: &label,
    };
    assert_eq!(driver.child_process_label(&vm).unwrap(), None);
    driver.restore_all_labels(&vm).unwrap();
    assert!(rig.runs().is_empty());
}

/// The paths the start's grants for `d` give the devices `ours` picks out,
/// as the driver would ask for them with `-F`: canonical paths, and fixed
/// device nodes; fixed globs are not files.
fn start_paths(d: &Domain, host: &FakeHost, ours: impl Fn(&Origin) -> bool) -> Vec<String> {
    let settings = crate::Settings::safe();
    let grants: Vec<_> = crate::resources::grants_for(d, &settings, host)
        .unwrap()
        .grants
        .into_iter()
        .filter(|g| g.mode == Mode::Allow && ours(&g.origin))
        .collect();
    let rules = crate::policy::rules_for(&grants, &settings, host, &crate::pipeline::vm_context(d))
        .unwrap();
    let mut paths: Vec<String> = rules
        .rules
        .into_iter()
        .filter_map(|r| match (r.canonical, &r.grant.target) {
            (Some(c), Target::Path(_)) => Some(c),
            (_, Target::Fixed(f)) if !f.as_str().contains('*') => Some(f.as_str().to_owned()),
            _ => None,
        })
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// The paths of the `-F` runs so far, sorted.
fn appended(rig: &Rig) -> Vec<String> {
    let mut paths: Vec<String> = rig
        .runs()
        .iter()
        .filter_map(|r| r.split_once(" -F ").map(|(_, p)| p.to_owned()))
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

#[test]
fn hotplug_paths_equal_the_start_grants_of_each_family() {
    use crate::domain::{CharDevKind, Domain};
    let addr = |bus| PciAddress {
        domain: 0,
        bus,
        slot: 0,
        function: 0,
    };
    let sysfs =
        |bus: u8, f: &str| format!("/sys/devices/pci0000:00/0000:00:01.0/0000:{bus:02x}:00.0/{f}");
    let mut host = FakeHost::new()
        .with_file("/dev/input/event3")
        .with_file("/dev/pmem0")
        .with_file("/m/pmem")
        .with_file("/run/vu.sock")
        .with_file("/srv/serial.log");
    host.usb_by_address
        .insert((1, 3), "/dev/bus/usb/001/003".into());
    for bus in [1, 2] {
        host.pci_files.insert(
            addr(bus),
            vec![sysfs(bus, "config"), sysfs(bus, "resource0")],
        );
    }
    host.pci_iommu_groups.insert(addr(1), 12);
    let uuid = "c2177883-f1bb-47f0-914d-32a22e3a8804";
    host.mdev_iommu_groups.insert(uuid.into(), 3);
    let host = Arc::new(host);
    let hostdev = |source| HostDev {
        mode: "subsystem".into(),
        source,
        seclabels: Vec::new(),
    };
    let chr = |kind, ty: &str, path: &str, log: Option<&str>| CharDev {
        kind,
        source_type: CharDevSourceType::from_name(ty),
        path: Some(path.into()),
        source_attrs: Vec::new(),
        log_file: log.map(Into::into),
        target_type: None,
        target_name: None,
        seclabels: Vec::new(),
    };
    let nic = |kind: &str, ty: Option<&str>, path: &str| Interface {
        kind: kind.into(),
        model: Some("virtio".into()),
        driver_name: None,
        backend: None,
        source_path: Some(path.into()),
        source_type: ty.map(Into::into),
        target_dev: None,
        ..Default::default()
    };
    let label = generated();
    // Each device in a domain of its own: plug it, then compare the
    // appended paths with what the start grants it. `swap` is the one
    // difference hotplug is allowed: the exact VFIO group for the pattern.
    let check = |what: &str,
                 add: &dyn Fn(&mut Domain),
                 plug: &dyn Fn(&AppArmorDriver, &Vm<'_>),
                 ours: &dyn Fn(&Origin) -> bool,
                 swap: Option<&str>| {
        let rig = Rig::new();
        rig.loaded();
        let driver = AppArmorDriver::with_host(rig.config.clone(), host.clone());
        let mut d = domain("vm");
        add(&mut d);
        let vm = Vm {
            domain: &d,
            xml: XML,
            label: &label,
        };
        plug(&driver, &vm);
        let mut want = start_paths(&d, &host, ours);
        if let Some(group) = swap {
            want.push(group.to_owned());
            want.sort();
        }
        assert!(!want.is_empty(), "{what}");
        assert_eq!(appended(&rig), want, "{what}");
    };
    let is_hostdev = |o: &Origin| matches!(o, Origin::HostDev { .. } | Origin::Vfio);
    for (what, source, group) in [
        (
            "USB",
            HostDevSource::Usb {
                vendor: None,
                product: None,
                bus: Some(1),
                device: Some(3),
            },
            None,
        ),
        (
            "PCI with VFIO",
            HostDevSource::Pci {
                address: addr(1),
                driver: None,
            },
            Some("/dev/vfio/12"),
        ),
        (
            "PCI, other backend",
            HostDevSource::Pci {
                address: addr(2),
                driver: Some("kvm".into()),
            },
            None,
        ),
        (
            "mdev",
            HostDevSource::Mdev {
                model: Some("vfio-pci".into()),
                uuid: Some(uuid.into()),
            },
            Some("/dev/vfio/3"),
        ),
    ] {
        let dev = hostdev(source);
        check(
            what,
            &|d| d.devices.hostdevs.push(dev.clone()),
            &|drv, vm| drv.set_hostdev_label(vm, &dev).unwrap(),
            &is_hostdev,
            group,
        );
    }
    for dev in [
        chr(
            CharDevKind::Serial,
            "file",
            "/srv/serial",
            Some("/srv/serial.log"),
        ),
        chr(CharDevKind::Channel, "unix", "/run/qga.sock", None),
        chr(CharDevKind::Parallel, "dev", "/dev/parport0", None),
    ] {
        check(
            "chardev",
            &|d| match dev.kind {
                CharDevKind::Serial => d.devices.serials.push(dev.clone()),
                CharDevKind::Channel => d.devices.channels.push(dev.clone()),
                _ => d.devices.parallels.push(dev.clone()),
            },
            &|drv, vm| drv.set_chardev_label(vm, &dev).unwrap(),
            &|o| matches!(o, Origin::CharDev { .. }),
            None,
        );
    }
    for (model, path) in [
        (MemoryModel::Nvdimm, "/dev/pmem0"),
        (MemoryModel::VirtioPmem, "/m/pmem"),
    ] {
        let mem = MemoryDevice {
            model,
            path: Some(path.into()),
        };
        check(
            "memory",
            &|d| d.devices.memory.push(mem.clone()),
            &|drv, vm| drv.set_memory_label(vm, &mem).unwrap(),
            &|o| matches!(o, Origin::Memory { .. }),
            None,
        );
    }
    let input = Input {
        kind: "evdev".into(),
        evdev: Some("/dev/input/event3".into()),
    };
    check(
        "input",
        &|d| d.devices.inputs.push(input.clone()),
        &|drv, vm| drv.set_input_label(vm, &input).unwrap(),
        &|o| matches!(o, Origin::Input { .. }),
        None,
    );
    // A vhost-user source without a type is a unix socket at start, and
    // now at hotplug too (the driver used to skip it).
    for net in [
        nic("vhostuser", Some("unix"), "/run/vu.sock"),
        nic("vhostuser", None, "/run/vu.sock"),
        nic("vdpa", None, "/dev/vhost-vdpa-0"),
    ] {
        check(
            "interface",
            &|d| d.devices.interfaces.push(net.clone()),
            &|drv, vm| drv.set_netdev_label(vm, &net).unwrap(),
            &|o| matches!(o, Origin::Interface { .. }),
            None,
        );
    }
}
