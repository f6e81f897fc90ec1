//! Network interfaces (§3.2): a vhost-user NIC's unix socket (`rw`); with
//! [`crate::Settings::vhost_vdpa`], a vDPA NIC's `/dev/vhost-vdpa-N`
//! (`rw`). For KVM domains, any NIC that QEMU may back with vhost-net sets
//! the vhost-net trailing rule: all of them except those with an explicit
//! non-virtio model, or a virtio model with `<driver name='qemu'>`.

use super::{non_empty, Collector};
use crate::domain::{Interface, VirtType};
use crate::policy::{Access, Grant, Origin};

pub(super) fn add(cx: &mut Collector) {
    let kvm = cx.domain.virt_type == VirtType::Kvm;
    for (index, nic) in cx.domain.devices.interfaces.iter().enumerate() {
        let origin = |role| Origin::Interface { index, role };
        match nic.kind.as_str() {
            "vhostuser" if matches!(nic.source_type.as_deref(), None | Some("unix")) => {
                if let Some(socket) = non_empty(&nic.source_path) {
                    cx.push(Grant::path(socket, Access::RW, origin("vhost-user socket")));
                }
            }
            "vdpa" if cx.settings.vhost_vdpa => {
                if let Some(dev) = non_empty(&nic.source_path) {
                    cx.push(Grant::path(dev, Access::RW, origin("vhost-vdpa device")));
                }
            }
            _ => {}
        }
        if kvm && may_use_vhost_net(nic) {
            cx.needs.vhost_net = true;
        }
    }
}

fn may_use_vhost_net(nic: &Interface) -> bool {
    match nic.model.as_deref() {
        None => true,
        Some(model) => {
            let virtio = matches!(
                model,
                "virtio" | "virtio-transitional" | "virtio-non-transitional"
            );
            virtio && nic.driver_name.as_deref() != Some("qemu")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::grants_for;
    use crate::resources::testing::*;
    use crate::Settings;

    fn nic(kind: &str, model: Option<&str>, driver: Option<&str>) -> Interface {
        Interface {
            kind: kind.into(),
            model: model.map(Into::into),
            driver_name: driver.map(Into::into),
            backend: None,
            source_path: None,
            source_type: None,
        }
    }

    fn vhost_net(virt_type: VirtType, nics: Vec<Interface>) -> bool {
        let mut d = domain("vm");
        d.virt_type = virt_type;
        d.devices.interfaces = nics;
        grants_for(&d, &Settings::libvirt_compatible(), &FakeHost::default())
            .unwrap()
            .grants
            .iter()
            .any(|g| g.origin == Origin::VhostNet)
    }

    #[test]
    fn vhost_net_rule() {
        for (model, driver, want) in [
            (None, None, true),
            (None, Some("qemu"), true),
            (Some("virtio"), None, true),
            (Some("virtio"), Some("vhost"), true),
            (Some("virtio-transitional"), None, true),
            (Some("virtio-non-transitional"), None, true),
            (Some("virtio"), Some("qemu"), false),
            (Some("e1000"), None, false),
            (Some("e1000"), Some("vhost"), false),
        ] {
            assert_eq!(
                vhost_net(VirtType::Kvm, vec![nic("network", model, driver)]),
                want,
                "{model:?} {driver:?}"
            );
            assert!(!vhost_net(
                VirtType::Qemu,
                vec![nic("network", model, driver)]
            ));
        }
        assert!(!vhost_net(VirtType::Kvm, vec![]));
        assert!(vhost_net(
            VirtType::Kvm,
            vec![
                nic("network", Some("e1000"), None),
                nic("bridge", None, None)
            ]
        ));
    }

    #[test]
    fn vhostuser_socket_and_vdpa_switch() {
        let mut vu = nic("vhostuser", Some("virtio"), None);
        vu.source_type = Some("unix".into());
        vu.source_path = Some("/r/vu.sock".into());
        let mut vdpa = nic("vdpa", None, None);
        vdpa.source_path = Some("/dev/vhost-vdpa-0".into());
        let mut d = domain("vm");
        d.virt_type = VirtType::Qemu;
        d.devices.interfaces = vec![vu, vdpa];
        let got =
            |s: &Settings| show(&grants_for(&d, s, &FakeHost::default()).unwrap().grants[5..]);
        let mut s = Settings::libvirt_compatible();
        assert_eq!(got(&s), ["/r/vu.sock rw"]);
        s.vhost_vdpa = true;
        assert_eq!(got(&s), ["/r/vu.sock rw", "/dev/vhost-vdpa-0 rw"]);
    }
}
