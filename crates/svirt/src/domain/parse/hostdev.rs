//! `<hostdev>`: USB, PCI, mediated, SCSI and SCSI host devices.

use roxmltree::Node;

use super::{attr, child, num_attr, seclabels_of, DomainError, Position, Result};
use crate::domain::model::{HostDev, HostDevSource, PciAddress};

pub(super) fn parse_hostdev(node: Node<'_, '_>) -> Result<HostDev> {
    let mode = attr(node, "mode").unwrap_or_else(|| "subsystem".to_owned());
    let kind = attr(node, "type");
    let src = child(node, "source");
    let mut seclabels = seclabels_of(node)?;
    if let Some(src) = src {
        seclabels.extend(seclabels_of(src)?);
    }
    let source = if mode != "subsystem" {
        HostDevSource::Other {
            kind: kind.unwrap_or_default(),
        }
    } else {
        let kind = kind.ok_or_else(|| DomainError::Missing {
            what: "<hostdev mode='subsystem'>".into(),
            missing: "type attribute",
            at: Position::of(node),
        })?;
        match kind.as_str() {
            "usb" => parse_usb_source(src)?,
            "pci" => parse_pci_source(node, src)?,
            "mdev" => HostDevSource::Mdev {
                model: attr(node, "model"),
                uuid: src
                    .and_then(|s| child(s, "address"))
                    .and_then(|a| attr(a, "uuid")),
            },
            "scsi" => {
                let address = src.and_then(|s| child(s, "address"));
                let ctx = "<hostdev type='scsi'> <address>";
                HostDevSource::Scsi {
                    protocol: src.and_then(|s| attr(s, "protocol")),
                    adapter: src
                        .and_then(|s| child(s, "adapter"))
                        .and_then(|a| attr(a, "name")),
                    bus: address
                        .map(|a| num_attr(a, "bus", ctx))
                        .transpose()?
                        .flatten(),
                    target: address
                        .map(|a| num_attr(a, "target", ctx))
                        .transpose()?
                        .flatten(),
                    unit: address
                        .map(|a| num_attr(a, "unit", ctx))
                        .transpose()?
                        .flatten(),
                }
            }
            "scsi_host" => HostDevSource::ScsiHost {
                protocol: src.and_then(|s| attr(s, "protocol")),
                wwpn: src.and_then(|s| attr(s, "wwpn")),
            },
            _ => HostDevSource::Other { kind },
        }
    };
    Ok(HostDev {
        mode,
        source,
        seclabels,
    })
}

fn parse_usb_source(src: Option<Node<'_, '_>>) -> Result<HostDevSource> {
    let Some(src) = src else {
        return Ok(HostDevSource::Usb {
            vendor: None,
            product: None,
            bus: None,
            device: None,
        });
    };
    let id_of = |name: &'static str| -> Result<Option<u16>> {
        match child(src, name) {
            None => Ok(None),
            Some(n) => {
                let context = format!("<hostdev type='usb'> <{name}>");
                num_attr::<u16>(n, "id", &context)?
                    .map(Some)
                    .ok_or_else(|| DomainError::Missing {
                        what: context,
                        missing: "id attribute",
                        at: Position::of(n),
                    })
            }
        }
    };
    let address = child(src, "address");
    let ctx = "<hostdev type='usb'> <address>";
    Ok(HostDevSource::Usb {
        vendor: id_of("vendor")?,
        product: id_of("product")?,
        bus: address
            .map(|a| num_attr(a, "bus", ctx))
            .transpose()?
            .flatten(),
        device: address
            .map(|a| num_attr(a, "device", ctx))
            .transpose()?
            .flatten(),
    })
}

pub(super) fn parse_pci_source(
    node: Node<'_, '_>,
    src: Option<Node<'_, '_>>,
) -> Result<HostDevSource> {
    let Some(address) = src.and_then(|s| child(s, "address")) else {
        return Err(DomainError::Missing {
            what: "<hostdev type='pci'>".into(),
            missing: "<source><address> element",
            at: Position::of(node),
        });
    };
    let ctx = "<hostdev type='pci'> <address>";
    Ok(HostDevSource::Pci {
        address: PciAddress {
            domain: num_attr(address, "domain", ctx)?.unwrap_or(0),
            bus: num_attr(address, "bus", ctx)?.unwrap_or(0),
            slot: num_attr(address, "slot", ctx)?.unwrap_or(0),
            function: num_attr(address, "function", ctx)?.unwrap_or(0),
        },
        driver: child(node, "driver").and_then(|d| attr(d, "name")),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn hostdev_usb() {
        let d = devices(
            "<hostdev mode='subsystem' type='usb' managed='yes'><source>\
               <vendor id='0x1234'/><product id='0xBEEF'/><address bus='0x1' device='12'/>\
             </source></hostdev>\
             <hostdev mode='subsystem' type='usb'><source><address bus='001' device='010'/></source></hostdev>",
        );
        assert_eq!(d.hostdevs[0].mode, "subsystem");
        assert_eq!(
            d.hostdevs[0].source,
            HostDevSource::Usb {
                vendor: Some(0x1234),
                product: Some(0xbeef),
                bus: Some(1),
                device: Some(12),
            }
        );
        // C base-0 numbers: a leading zero means octal.
        assert_eq!(
            d.hostdevs[1].source,
            HostDevSource::Usb {
                vendor: None,
                product: None,
                bus: Some(1),
                device: Some(8),
            }
        );
    }

    #[test]
    fn hostdev_usb_errors() {
        let e = device_err("<hostdev type='usb'><source><vendor id='0x12345'/></source></hostdev>");
        assert!(e.to_string().contains("0x12345"), "{e}");
        assert!(e.to_string().contains("out of range"), "{e}");
        let e = device_err("<hostdev type='usb'><source><vendor/></source></hostdev>");
        assert!(e.to_string().contains("<vendor> has no id"), "{e}");
        let e = device_err(
            "<hostdev type='usb'><source><address bus='one' device='2'/></source></hostdev>",
        );
        assert!(e.to_string().contains("bus"), "{e}");
        assert!(e.to_string().contains("\"one\""), "{e}");
        let e = device_err(
            "<hostdev type='usb'><source><address bus='1' device='09'/></source></hostdev>",
        );
        assert!(e.to_string().contains("\"09\""), "{e}");
    }

    #[test]
    fn hostdev_pci() {
        let d = devices(
            "<hostdev mode='subsystem' type='pci' managed='yes'><driver name='vfio'/>\
             <source><address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source>\
             <seclabel model='apparmor' relabel='no'/></hostdev>",
        );
        let h = &d.hostdevs[0];
        let HostDevSource::Pci { address, driver } = &h.source else {
            panic!("{h:?}")
        };
        assert_eq!(address.to_string(), "0000:06:12.5");
        assert_eq!(driver.as_deref(), Some("vfio"));
        assert!(h.seclabels[0].opts_out_of_apparmor());
    }

    #[test]
    fn hostdev_pci_errors() {
        let e = device_err(
            "<hostdev type='pci'><source><address domain='0x0000' bus='0x100' slot='0' function='0'/></source></hostdev>",
        );
        assert!(e.to_string().contains("0x100"), "{e}");
        let e = device_err("<hostdev type='pci'><source/></hostdev>");
        assert!(e.to_string().contains("has no <source><address>"), "{e}");
        let e = device_err("<hostdev mode='subsystem'/>");
        assert!(e.to_string().contains("has no type attribute"), "{e}");
    }

    #[test]
    fn hostdev_mdev_scsi_scsihost_other() {
        let d = devices(
            "<hostdev mode='subsystem' type='mdev' model='vfio-pci'>\
               <source><address uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev>\
             <hostdev mode='subsystem' type='scsi'><source>\
               <adapter name='scsi_host0'/><address bus='0' target='0x1' unit='5'/></source></hostdev>\
             <hostdev mode='subsystem' type='scsi'><source protocol='iscsi' name='iqn.x/1'/></hostdev>\
             <hostdev mode='subsystem' type='scsi_host'><source protocol='vhost' wwpn='naa.5001'/></hostdev>\
             <hostdev mode='capabilities' type='storage'><source><block>/dev/sdf</block></source></hostdev>\
             <hostdev mode='subsystem' type='future'/>",
        );
        let h = &d.hostdevs;
        assert_eq!(
            h[0].source,
            HostDevSource::Mdev {
                model: Some("vfio-pci".into()),
                uuid: Some("c2177883-f1bb-47f0-914d-32a22e3a8804".into()),
            }
        );
        assert_eq!(
            h[1].source,
            HostDevSource::Scsi {
                protocol: None,
                adapter: Some("scsi_host0".into()),
                bus: Some(0),
                target: Some(1),
                unit: Some(5),
            }
        );
        assert!(matches!(&h[2].source,
            HostDevSource::Scsi { protocol: Some(p), .. } if p == "iscsi"));
        assert_eq!(
            h[3].source,
            HostDevSource::ScsiHost {
                protocol: Some("vhost".into()),
                wwpn: Some("naa.5001".into()),
            }
        );
        assert_eq!(h[4].mode, "capabilities");
        assert_eq!(
            h[4].source,
            HostDevSource::Other {
                kind: "storage".into()
            }
        );
        assert_eq!(
            h[5].source,
            HostDevSource::Other {
                kind: "future".into()
            }
        );
    }
}
