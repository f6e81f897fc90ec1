//! `<pstore>`: the backing file of a guest's persistent crash-log store.

use roxmltree::Node;

use super::{attr, child_text};
use crate::domain::model::Pstore;

pub(super) fn parse_pstore(node: Node<'_, '_>) -> Pstore {
    Pstore {
        backend: attr(node, "backend"),
        path: child_text(node, "path"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn pstore_path_and_backend() {
        let d = devices(
            "<pstore backend='acpi-erst'><path>/var/lib/libvirt/qemu/nvram/vm_acpi-erst</path>\
               <size unit='KiB'>8</size></pstore>\
             <pstore backend='acpi-erst'/>",
        );
        assert_eq!(
            d.pstores,
            vec![
                Pstore {
                    backend: Some("acpi-erst".into()),
                    path: Some("/var/lib/libvirt/qemu/nvram/vm_acpi-erst".into()),
                },
                Pstore {
                    backend: Some("acpi-erst".into()),
                    path: None,
                },
            ]
        );
    }
}
