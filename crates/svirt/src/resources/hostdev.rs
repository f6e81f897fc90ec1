//! Host devices (§3.2), `mode='subsystem'` only: a USB device's node, a
//! PCI device's sysfs files (`rw`). PCI devices using VFIO (the default)
//! and mediated devices need the VFIO trailing rules. SCSI and scsi_host
//! devices get nothing at start; at hotplug ([`hostdev_grants`]) they get
//! their `/dev/sgN` nodes and vhost-scsi.
//!
//! With [`crate::Settings::device_relabel_no`], a device labelled
//! `relabel='no'` gets no per-device paths; the shared VFIO container is
//! still granted, because QEMU cannot use any VFIO device without it.

use super::{Collector, DeviceError, Lookup};
use crate::domain::{Domain, HostDev, HostDevSource};
use crate::host::Host;
use crate::policy::{Access, FixedPattern, Grant, Origin};
use crate::Settings;

/// The vhost-scsi device QEMU opens for `<hostdev type='scsi_host'>`.
pub const VHOST_SCSI: &str = "/dev/vhost-scsi";

pub(super) fn add(cx: &mut Collector) {
    for (index, dev) in cx.domain.devices.hostdevs.iter().enumerate() {
        // At start nothing is looked up that could fail.
        let _ = add_one(cx, index, dev, Lookup::Start);
    }
}

/// The grants of a hot-plugged host device (spec §3.5), decided by the
/// code that decides them at start, with the host looked at as it is now:
/// the exact VFIO group (`/dev/vfio/<group>`, from sysfs) instead of the
/// `/dev/vfio/[0-9]*` pattern, plus the VFIO container the start's
/// trailing rules would add; a SCSI device's `/dev/sgN` nodes and
/// vhost-scsi, which the start does not grant (libvirt 9.0's helper does
/// not either). A device that cannot be found is an error.
pub fn hostdev_grants(
    domain: &Domain,
    dev: &HostDev,
    settings: &Settings,
    host: &dyn Host,
) -> Result<Vec<Grant>, DeviceError> {
    let mut cx = Collector::for_device(domain, settings, host);
    let hostdevs = &domain.devices.hostdevs;
    let index = hostdevs
        .iter()
        .position(|d| d == dev)
        .unwrap_or(hostdevs.len());
    add_one(&mut cx, index, dev, Lookup::Hotplug)?;
    if cx.needs.vfio {
        cx.push(Grant::fixed(
            FixedPattern::VFIO_CONTAINER,
            Access::RW,
            Origin::Vfio,
        ));
    }
    Ok(cx.out.grants)
}

fn add_one(
    cx: &mut Collector,
    index: usize,
    dev: &HostDev,
    lookup: Lookup,
) -> Result<(), DeviceError> {
    let hotplug = lookup == Lookup::Hotplug;
    if dev.mode != "subsystem" {
        // libvirt 9.0 reads a capabilities device's source as a
        // subsystem one; a `misc` one lands on the PCI case.
        let misc = matches!(&dev.source, HostDevSource::Other { kind } if kind == "misc");
        if !hotplug && misc && dev.mode == "capabilities" && !cx.settings.exact_hostdev_kinds {
            cx.needs.vfio = true;
        }
        return Ok(());
    }
    let skip_paths = cx.opted_out(&dev.seclabels);
    let origin = |role| Origin::HostDev { index, role };
    let not_found = |what: String| DeviceError::NotFound { what };
    match &dev.source {
        HostDevSource::Usb {
            vendor,
            product,
            bus,
            device,
        } => {
            if skip_paths {
                return Ok(());
            }
            match cx.host.usb_device_node(*vendor, *product, *bus, *device) {
                Some(node) => cx.push(Grant::path(node, Access::RW, origin("USB device node"))),
                None if hotplug => {
                    return Err(not_found(usb_name(*vendor, *product, *bus, *device)))
                }
                // Not found at start: libvirt silently grants nothing.
                None => {}
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
                if hotplug && !skip_paths {
                    let group = cx.host.pci_vfio_group(*address).ok_or_else(|| {
                        not_found(format!("the IOMMU group of PCI device {address}"))
                    })?;
                    cx.push(Grant::path(group, Access::RW, origin("VFIO group")));
                }
            }
        }
        HostDevSource::Mdev { uuid, .. } => {
            cx.needs.vfio = true;
            if hotplug && !skip_paths {
                let Some(uuid) = uuid.as_deref() else {
                    return Err(DeviceError::NoSource {
                        what: "mediated device",
                    });
                };
                let group = cx.host.mdev_vfio_group(uuid).ok_or_else(|| {
                    not_found(format!("the IOMMU group of mediated device {uuid}"))
                })?;
                cx.push(Grant::path(group, Access::RW, origin("VFIO group")));
            }
        }
        HostDevSource::Scsi {
            protocol,
            adapter,
            bus,
            target,
            unit,
        } => {
            if !hotplug || skip_paths || protocol.as_deref() == Some("iscsi") {
                return Ok(());
            }
            let (Some(adapter), Some(bus), Some(target), Some(unit)) =
                (adapter.as_deref(), *bus, *target, *unit)
            else {
                return Err(DeviceError::NoSource {
                    what: "SCSI host device",
                });
            };
            let nodes = cx
                .host
                .scsi_generic_nodes(adapter, bus, target, unit)
                .ok_or_else(|| not_found(format!("SCSI device {adapter}:{bus}:{target}:{unit}")))?;
            for node in nodes {
                cx.push(Grant::path(node, Access::RW, origin("SCSI generic node")));
            }
        }
        HostDevSource::ScsiHost { .. } => {
            if hotplug && !skip_paths {
                cx.push(Grant::path(VHOST_SCSI, Access::RW, origin("vhost-scsi")));
            }
        }
        HostDevSource::Other { .. } => {}
    }
    Ok(())
}

fn usb_name(
    vendor: Option<u16>,
    product: Option<u16>,
    bus: Option<u32>,
    dev: Option<u32>,
) -> String {
    match (bus, dev, vendor, product) {
        (Some(b), Some(d), _, _) => format!("USB device {b:03}:{d:03}"),
        (_, _, Some(v), Some(p)) => format!("USB device {v:04x}:{p:04x}"),
        _ => "a USB device without address or ids".to_owned(),
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

    #[test]
    fn start_never_looks_up_groups_or_scsi_nodes() {
        let mut h = host();
        h.iommu_groups.insert("0000:01:00.0".into(), 12);
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        d.devices.hostdevs = vec![
            hd(pci(None)),
            hd(HostDevSource::Mdev {
                model: None,
                uuid: Some("u".into()),
            }),
            hd(HostDevSource::Scsi {
                protocol: None,
                adapter: Some("scsi_host2".into()),
                bus: Some(0),
                target: Some(1),
                unit: Some(4),
            }),
        ];
        for s in [Settings::libvirt_compatible(), Settings::safe()] {
            grants_for(&d, &s, &h).unwrap();
        }
        assert_eq!(*h.sysfs_asked.borrow(), 0);
    }

    #[test]
    fn hotplug_grants_exact_group_scsi_nodes_and_errors() {
        use crate::resources::{hostdev_grants, DeviceError};
        let mut h = host();
        h.iommu_groups.insert("0000:01:00.0".into(), 12);
        h.iommu_groups.insert("c2177883".into(), 3);
        h.scsi_generic
            .insert("scsi_host2:0:1:4".into(), vec!["/dev/sg5".into()]);
        let d = domain("vm");
        let s = Settings::safe();
        let got = |dev: HostDev| hostdev_grants(&d, &dev, &s, &h).map(|g| show(&g));
        assert_eq!(
            got(hd(pci(None))).unwrap(),
            [
                "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/config rw",
                "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/resource0 rw",
                "/dev/vfio/12 rw",
                "/dev/vfio/vfio rw"
            ]
        );
        assert_eq!(
            got(hd(HostDevSource::Mdev {
                model: None,
                uuid: Some("c2177883".into()),
            }))
            .unwrap(),
            ["/dev/vfio/3 rw", "/dev/vfio/vfio rw"]
        );
        let scsi = |protocol: Option<&str>, unit| {
            hd(HostDevSource::Scsi {
                protocol: protocol.map(Into::into),
                adapter: Some("scsi_host2".into()),
                bus: Some(0),
                target: Some(1),
                unit: Some(unit),
            })
        };
        assert_eq!(got(scsi(None, 4)).unwrap(), ["/dev/sg5 rw"]);
        assert!(got(scsi(Some("iscsi"), 4)).unwrap().is_empty());
        assert!(matches!(
            got(scsi(None, 5)),
            Err(DeviceError::NotFound { .. })
        ));
        assert_eq!(
            got(hd(HostDevSource::ScsiHost {
                protocol: Some("vhost".into()),
                wwpn: None,
            }))
            .unwrap(),
            ["/dev/vhost-scsi rw"]
        );
        let missing = hd(HostDevSource::Usb {
            vendor: Some(0x1),
            product: Some(0x2),
            bus: None,
            device: None,
        });
        assert_eq!(
            got(missing).unwrap_err().to_string(),
            "cannot find the host device node for USB device 0001:0002"
        );
        assert!(matches!(
            got(hd(HostDevSource::Mdev {
                model: None,
                uuid: None
            })),
            Err(DeviceError::NoSource { .. })
        ));
    }
}
