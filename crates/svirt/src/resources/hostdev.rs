//! Host devices (§3.2), `mode='subsystem'` only: a USB device's node, a
//! PCI device's sysfs files (`rw`). PCI devices using VFIO (the default)
//! and mediated devices need the VFIO trailing rules. SCSI and scsi_host
//! devices get nothing here: the driver adds them at hotplug.
//!
//! With [`crate::Settings::device_relabel_no`], a device labelled
//! `relabel='no'` gets no per-device paths; the shared VFIO container is
//! still granted, because QEMU cannot use any VFIO device without it.

use super::Collector;
use crate::domain::HostDevSource;
use crate::policy::{Access, Grant, Origin};

pub(super) fn add(cx: &mut Collector) {
    for (index, dev) in cx.domain.devices.hostdevs.iter().enumerate() {
        if dev.mode != "subsystem" {
            // libvirt 9.0 reads a capabilities device's source as a
            // subsystem one; a `misc` one lands on the PCI case.
            let misc = matches!(&dev.source, HostDevSource::Other { kind } if kind == "misc");
            if misc && dev.mode == "capabilities" && !cx.settings.exact_hostdev_kinds {
                cx.needs.vfio = true;
            }
            continue;
        }
        let skip_paths = cx.opted_out(&dev.seclabels);
        let origin = |role| Origin::HostDev { index, role };
        match &dev.source {
            HostDevSource::Usb {
                vendor,
                product,
                bus,
                device,
            } => {
                if skip_paths {
                    continue;
                }
                // Not found: libvirt silently grants nothing.
                if let Some(node) = cx.host.usb_device_node(*vendor, *product, *bus, *device) {
                    cx.push(Grant::path(node, Access::RW, origin("USB device node")));
                }
            }
            HostDevSource::Pci { address, driver } => {
                if !skip_paths {
                    for file in cx.host.pci_device_files(*address) {
                        cx.push(Grant::path(file, Access::RW, origin("PCI sysfs file")));
                    }
                }
                if matches!(driver.as_deref(), None | Some("vfio")) {
                    cx.needs.vfio = true;
                }
            }
            HostDevSource::Mdev { .. } => cx.needs.vfio = true,
            HostDevSource::Scsi { .. }
            | HostDevSource::ScsiHost { .. }
            | HostDevSource::Other { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::{HostDev, HostDevSource, PciAddress, SecLabel, VirtType};
    use crate::policy::Origin;
    use crate::resources::testing::*;
    use crate::resources::{grants_for, Resources};
    use crate::Settings;

    fn hd(source: HostDevSource) -> HostDev {
        HostDev {
            mode: "subsystem".into(),
            source,
            seclabels: Vec::new(),
        }
    }

    fn pci(driver: Option<&str>) -> HostDevSource {
        HostDevSource::Pci {
            address: PciAddress {
                domain: 0,
                bus: 1,
                slot: 0,
                function: 0,
            },
            driver: driver.map(Into::into),
        }
    }

    fn host() -> FakeHost {
        let mut h = FakeHost::default();
        h.usb_by_address
            .insert((1, 3), "/dev/bus/usb/001/003".into());
        h.usb_by_id
            .insert((0x1234, 0xbeef), "/dev/bus/usb/002/007".into());
        h.pci.insert(
            "0000:01:00.0".into(),
            vec![
                "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/config".into(),
                "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/resource0".into(),
            ],
        );
        h
    }

    fn run(devs: Vec<HostDev>, settings: &Settings) -> Resources {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        d.devices.hostdevs = devs;
        grants_for(&d, settings, &host()).unwrap()
    }

    fn vfio(r: &Resources) -> bool {
        r.grants.iter().any(|g| g.origin == Origin::Vfio)
    }

    #[test]
    fn usb_by_address_and_by_id_and_missing() {
        let r = run(
            vec![
                hd(HostDevSource::Usb {
                    vendor: None,
                    product: None,
                    bus: Some(1),
                    device: Some(3),
                }),
                hd(HostDevSource::Usb {
                    vendor: Some(0x1234),
                    product: Some(0xbeef),
                    bus: None,
                    device: None,
                }),
                hd(HostDevSource::Usb {
                    vendor: None,
                    product: None,
                    bus: Some(9),
                    device: Some(9),
                }),
            ],
            &Settings::libvirt_compatible(),
        );
        assert_eq!(
            show(&r.grants),
            ["/dev/bus/usb/001/003 rw", "/dev/bus/usb/002/007 rw"]
        );
        assert!(!vfio(&r));
    }

    #[test]
    fn pci_files_and_vfio_by_driver() {
        for (driver, needs_vfio) in [
            (None, true),
            (Some("vfio"), true),
            (Some("kvm"), false),
            (Some("xen"), false),
        ] {
            let r = run(vec![hd(pci(driver))], &Settings::libvirt_compatible());
            let shown = show(&r.grants);
            assert_eq!(
                shown[..2],
                [
                    "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/config rw",
                    "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/resource0 rw"
                ]
            );
            assert_eq!(vfio(&r), needs_vfio, "{driver:?}");
        }
    }

    #[test]
    fn mdev_needs_vfio_scsi_and_capabilities_nothing() {
        let r = run(
            vec![hd(HostDevSource::Mdev {
                model: Some("vfio-pci".into()),
                uuid: Some("c2177883-f1bb-47f0-914d-32a22e3a8804".into()),
            })],
            &Settings::default(),
        );
        assert_eq!(
            show(&r.grants),
            ["/dev/vfio/vfio rw", "/dev/vfio/[0-9]* rw"]
        );
        let mut caps = hd(pci(None));
        caps.mode = "capabilities".into();
        let r = run(
            vec![
                hd(HostDevSource::Scsi {
                    protocol: None,
                    adapter: Some("scsi_host0".into()),
                    bus: Some(0),
                    target: Some(0),
                    unit: Some(0),
                }),
                hd(HostDevSource::ScsiHost {
                    protocol: Some("vhost".into()),
                    wwpn: Some("naa.5001405df3e54061".into()),
                }),
                caps,
            ],
            &Settings::default(),
        );
        assert!(r.grants.is_empty());
    }

    #[test]
    fn relabel_no_only_with_the_switch() {
        let label = SecLabel {
            model: Some("apparmor".into()),
            relabel: Some(false),
            ..SecLabel::default()
        };
        let mut p = hd(pci(None));
        p.seclabels.push(label.clone());
        let mut u = hd(HostDevSource::Usb {
            vendor: None,
            product: None,
            bus: Some(1),
            device: Some(3),
        });
        u.seclabels.push(label);
        let r = run(vec![p.clone(), u.clone()], &Settings::libvirt_compatible());
        assert_eq!(r.grants.len(), 5);
        let mut on = Settings::libvirt_compatible();
        on.device_relabel_no = true;
        let r = run(vec![p, u], &on);
        assert_eq!(
            show(&r.grants),
            ["/dev/vfio/vfio rw", "/dev/vfio/[0-9]* rw"]
        );
    }
}
