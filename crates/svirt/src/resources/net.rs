//! Network interfaces (§3.2): a vhost-user NIC's unix socket (`rw`); with
//! [`crate::Settings::vhost_vdpa`], a vDPA NIC's `/dev/vhost-vdpa-N`
//! (`rw`). For KVM domains, any NIC that QEMU may back with vhost-net sets
//! the vhost-net trailing rule: all of them except those with an explicit
//! non-virtio model, or a virtio model with `<driver name='qemu'>`.
//!
//! With [`crate::Settings::macvtap`], a macvtap NIC (`type='direct'`)
//! whose `<target dev>` exists on the host gets its tap device
//! `/dev/tap<ifindex>` (`rw`) in the VM's own rules, so that the access
//! libvirt adds at start survives every later regeneration of the profile
//! (libvirt 12.3's fix). The target name must be one path component.

use super::{non_empty, Collector, DeviceError, ResourcesError};
use crate::domain::{Domain, Interface, VirtType};
use crate::host::Host;
use crate::policy::path::check_component;
use crate::policy::{Access, Grant, Origin};
use crate::Settings;

pub(super) fn add(cx: &mut Collector) -> Result<(), ResourcesError> {
    let kvm = cx.domain.virt_type == VirtType::Kvm;
    for (index, nic) in cx.domain.devices.interfaces.iter().enumerate() {
        add_one(cx, index, nic)?;
        if kvm && may_use_vhost_net(nic) {
            cx.needs.vhost_net = true;
        }
    }
    super::passt::add(cx);
    Ok(())
}

/// The grants of a hot-plugged interface (spec §3.5), decided by the code
/// that decides them at start: a vhost-user socket (a `unix` source, or
/// one without a type, as at start), and what the settings add (vDPA
/// device, macvtap tap device). vhost-net is not asked for: it is a
/// shared trailing rule of the start, and QEMU gets the vhost-net
/// descriptor from libvirt at hotplug.
pub fn interface_grants(
    domain: &Domain,
    nic: &Interface,
    settings: &Settings,
    host: &dyn Host,
) -> Result<Vec<Grant>, DeviceError> {
    let mut cx = Collector::for_device(domain, settings, host);
    let all = &domain.devices.interfaces;
    let index = all.iter().position(|n| n == nic).unwrap_or(all.len());
    add_one(&mut cx, index, nic)?;
    Ok(cx.out.grants)
}

fn add_one(cx: &mut Collector, index: usize, nic: &Interface) -> Result<(), ResourcesError> {
    let origin = |role| Origin::Interface { index, role };
    match nic.kind.as_str() {
        "vhostuser" if matches!(nic.source_type.as_deref(), None | Some("unix")) => {
            if let Some(socket) = non_empty(&nic.source_path) {
                cx.push(Grant::path(socket, Access::RW, origin("vhost-user socket")));
            } else if cx.settings.vhostuser_socket_required {
                return Err(ResourcesError::VhostUserWithoutSocket { index });
            }
        }
        "vdpa" if cx.settings.vhost_vdpa => {
            if let Some(dev) = non_empty(&nic.source_path) {
                cx.push(Grant::path(dev, Access::RW, origin("vhost-vdpa device")));
            }
        }
        "direct" if cx.settings.macvtap => {
            if let Some(dev) = non_empty(&nic.target_dev) {
                // The name is joined into /sys/class/net/<dev>/ifindex.
                check_component(dev).map_err(|reason| ResourcesError::BadName {
                    device: format!("interface {index} target"),
                    name: dev.to_owned(),
                    reason,
                })?;
                // Absent before start: libvirt creates the device.
                if let Some(ifindex) = cx.host.macvtap_ifindex(dev) {
                    cx.push(Grant::path(
                        format!("/dev/tap{ifindex}"),
                        Access::RW,
                        origin("macvtap device"),
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
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
    use crate::resources::ResourcesError;
    use crate::Settings;

    fn nic(kind: &str, model: Option<&str>, driver: Option<&str>) -> Interface {
        Interface {
            kind: kind.into(),
            model: model.map(Into::into),
            driver_name: driver.map(Into::into),
            backend: None,
            source_path: None,
            source_type: None,
            target_dev: None,
            ..Default::default()
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

    fn macvtap(dev: Option<&str>) -> Interface {
        let mut nic = nic("direct", Some("virtio"), None);
        nic.target_dev = dev.map(Into::into);
        nic
    }

    #[test]
    fn macvtap_tap_device_in_safe_mode_only() {
        let mut d = domain("vm");
        d.virt_type = VirtType::Qemu;
        d.devices.interfaces = vec![
            macvtap(Some("macvtap0")),
            macvtap(Some("macvtap9")),
            macvtap(None),
        ];
        let mut host = FakeHost::default();
        host.macvtaps.insert("macvtap0".into(), 17);
        let got = |s: &Settings| show(&grants_for(&d, s, &host).unwrap().grants[5..]);
        assert!(got(&Settings::libvirt_compatible()).is_empty());
        assert!(host.ifindex_asked.borrow().is_empty(), "compat never looks");
        // macvtap9 does not exist (yet): nothing, and no error.
        assert_eq!(got(&Settings::safe()), ["/dev/tap17 rw"]);
        assert_eq!(*host.ifindex_asked.borrow(), ["macvtap0", "macvtap9"]);
    }

    #[test]
    fn macvtap_target_must_be_one_component() {
        for bad in ["../../../dev/sda", "a/b", "..", "."] {
            let mut d = domain("vm");
            d.virt_type = VirtType::Qemu;
            d.devices.interfaces = vec![macvtap(Some(bad))];
            let host = FakeHost::default();
            let e = grants_for(&d, &Settings::safe(), &host).unwrap_err();
            assert!(
                matches!(&e, ResourcesError::BadName { name, .. } if name == bad),
                "{bad}: {e}"
            );
            assert!(e.to_string().contains("interface 0 target"), "{e}");
            assert!(host.ifindex_asked.borrow().is_empty());
            // libvirt 9.0 mode does not look at the name at all.
            assert!(grants_for(&d, &Settings::libvirt_compatible(), &host).is_ok());
        }
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
