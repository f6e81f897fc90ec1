//! `<interface>`, and the host device behind `<interface type='hostdev'>`.

use roxmltree::Node;

use super::hostdev::parse_pci_source;
use super::{attr, child, num_attr, DomainError, Position, Result};
use crate::domain::model::{HostDev, HostDevSource, Interface};

/// The host device behind `<interface type='hostdev'>` (SR-IOV VF
/// passthrough): a PCI device (or, rarely, USB) with the interface's
/// `<driver name>` as its backend, as libvirt's parser makes it.
pub(super) fn parse_interface_hostdev(node: Node<'_, '_>) -> Result<HostDev> {
    let src = child(node, "source");
    let address = src.and_then(|s| child(s, "address"));
    let source = match address.and_then(|a| a.attribute("type")) {
        Some("usb") => {
            let ctx = "<interface type='hostdev'> <address type='usb'>";
            let a = address.expect("matched an address");
            HostDevSource::Usb {
                vendor: None,
                product: None,
                bus: num_attr(a, "bus", ctx)?,
                device: num_attr(a, "device", ctx)?,
            }
        }
        _ => parse_pci_source(node, src)?,
    };
    Ok(HostDev {
        mode: "subsystem".to_owned(),
        source,
        seclabels: Vec::new(),
    })
}

pub(super) fn parse_interface(node: Node<'_, '_>) -> Result<Interface> {
    let kind = attr(node, "type").ok_or_else(|| DomainError::Missing {
        what: "<interface>".into(),
        missing: "type attribute",
        at: Position::of(node),
    })?;
    let src = child(node, "source");
    let (source_path, source_type) = match kind.as_str() {
        "vhostuser" => (
            src.and_then(|s| attr(s, "path")),
            src.and_then(|s| attr(s, "type")),
        ),
        "vdpa" => (src.and_then(|s| attr(s, "dev")), None),
        _ => (None, None),
    };
    Ok(Interface {
        model: child(node, "model").and_then(|m| attr(m, "type")),
        driver_name: child(node, "driver").and_then(|d| attr(d, "name")),
        backend: child(node, "backend").and_then(|b| attr(b, "type")),
        backend_log: child(node, "backend").and_then(|b| attr(b, "logFile")),
        alias: child(node, "alias").and_then(|a| attr(a, "name")),
        source_path,
        source_type,
        target_dev: child(node, "target").and_then(|t| attr(t, "dev")),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn interfaces() {
        let d = devices(
            "<interface type='network'><source network='default'/><model type='virtio'/>\
               <driver name='qemu'/></interface>\
             <interface type='vhostuser'><source type='unix' path='/run/vu0' mode='server'/>\
               <model type='virtio'/></interface>\
             <interface type='vdpa'><source dev='/dev/vhost-vdpa-0'/></interface>\
             <interface type='user'><backend type='passt' logFile='/l/p.log'/>\
               <alias name='ua-x'/></interface>\
             <interface type='direct'><source dev='eth0' mode='vepa'/></interface>\
             <interface type='direct'><source dev='eth0' mode='bridge'/>\
               <target dev='macvtap3'/></interface>",
        );
        let i = &d.interfaces;
        assert_eq!(i[0].kind, "network");
        assert_eq!(i[0].model.as_deref(), Some("virtio"));
        assert_eq!(i[0].driver_name.as_deref(), Some("qemu"));
        assert_eq!(i[0].source_path, None);
        assert_eq!(i[1].source_path.as_deref(), Some("/run/vu0"));
        assert_eq!(i[1].source_type.as_deref(), Some("unix"));
        assert_eq!(i[2].source_path.as_deref(), Some("/dev/vhost-vdpa-0"));
        assert_eq!(i[2].source_type, None);
        assert_eq!(i[3].backend.as_deref(), Some("passt"));
        assert_eq!(i[3].backend_log.as_deref(), Some("/l/p.log"));
        assert_eq!(i[3].alias.as_deref(), Some("ua-x"));
        assert_eq!(i[0].alias, None);
        assert_eq!(i[4].source_path, None);
        assert_eq!(i[4].target_dev, None);
        assert_eq!(i[5].target_dev.as_deref(), Some("macvtap3"));
        let e = device_err("<interface><model type='virtio'/></interface>");
        assert!(e.to_string().contains("<interface> has no type"), "{e}");
    }
}
