//! `<pstore>` (libvirt ≥ 10.x): with [`crate::Settings::pstore`], the
//! backing `<path>` QEMU writes guest crash logs to, `rw`, as libvirt 11.3.
//! libvirt 9.0 does not know the device.

use super::{non_empty, Collector};
use crate::policy::{Access, Grant, Origin};

pub(super) fn add(cx: &mut Collector) {
    if !cx.settings.pstore {
        return;
    }
    for (index, pstore) in cx.domain.devices.pstores.iter().enumerate() {
        if let Some(path) = non_empty(&pstore.path) {
            cx.push(Grant::path(path, Access::RW, Origin::Pstore { index }));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::{Pstore, VirtType};
    use crate::resources::grants_for;
    use crate::resources::testing::*;
    use crate::Settings;

    #[test]
    fn pstore_path_rw_in_safe_mode_only() {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        d.devices.pstores = vec![
            Pstore {
                backend: Some("acpi-erst".into()),
                path: Some("/var/lib/libvirt/qemu/nvram/vm_acpi-erst".into()),
            },
            Pstore {
                backend: Some("acpi-erst".into()),
                path: None,
            },
        ];
        let got = |s: &Settings| show(&grants_for(&d, s, &FakeHost::default()).unwrap().grants);
        assert!(got(&Settings::libvirt_compatible()).is_empty());
        assert_eq!(
            got(&Settings::safe()),
            ["/var/lib/libvirt/qemu/nvram/vm_acpi-erst rw"]
        );
    }
}
