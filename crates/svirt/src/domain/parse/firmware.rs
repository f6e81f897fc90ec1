//! `<os>`: boot files, the firmware loader, NVRAM and ACPI tables.

use roxmltree::Node;

use super::disk::{fill_source, storage_type};
use super::{attr, child, child_text, children, text, yes_no, Result};
use crate::domain::model::{AcpiTable, Loader, Nvram, Os, StorageSource, StorageType};

pub(super) fn parse_os(node: Node<'_, '_>, os: &mut Os) -> Result<()> {
    if let Some(loader) = child(node, "loader") {
        os.loader = Some(Loader {
            path: text(loader),
            readonly: yes_no(loader, "readonly")?,
            kind: attr(loader, "type"),
            secure: yes_no(loader, "secure")?,
        });
    }
    if let Some(nvram) = child(node, "nvram") {
        os.nvram = Some(parse_nvram(nvram)?);
    }
    os.kernel = child_text(node, "kernel");
    os.initrd = child_text(node, "initrd");
    os.dtb = child_text(node, "dtb");
    os.shim = child_text(node, "shim");
    if let Some(acpi) = child(node, "acpi") {
        for table in children(acpi, "table") {
            if let Some(path) = text(table) {
                os.acpi_tables.push(AcpiTable {
                    kind: attr(table, "type"),
                    path,
                });
            }
        }
    }
    Ok(())
}

fn parse_nvram(node: Node<'_, '_>) -> Result<Nvram> {
    let template = attr(node, "template");
    let source = if let Some(src) = child(node, "source") {
        let kind = storage_type(node, "<nvram>")?;
        let mut layer = StorageSource::new(kind, None);
        fill_source(kind, src, &mut layer, false)?;
        layer.format = attr(node, "format");
        Some(layer)
    } else if let Some(path) = text(node) {
        let mut layer = StorageSource::new(StorageType::File, Some(path));
        layer.format = attr(node, "format");
        Some(layer)
    } else {
        None
    };
    Ok(Nvram { source, template })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn os_boot_files() {
        let d = parse(
            &with("")
                .replace(
                    "</os>",
                    "<loader readonly='yes' type='pflash' secure='no'>/usr/share/OVMF/CODE.fd</loader>\
                     <nvram template='/usr/share/OVMF/VARS.fd'>/var/lib/libvirt/qemu/nvram/vm_VARS.fd</nvram>\
                     <kernel>/boot/my kernel</kernel><initrd>/boot/initrd</initrd><dtb>/boot/x.dtb</dtb>\
                     <acpi><table type='slic'>/srv/slic.dat</table><table type='msdm'>/srv/msdm</table></acpi></os>",
                ),
        )
        .unwrap();
        assert_eq!(
            d.os.loader,
            Some(Loader {
                path: Some("/usr/share/OVMF/CODE.fd".into()),
                readonly: Some(true),
                kind: Some("pflash".into()),
                secure: Some(false),
            })
        );
        let nvram = d.os.nvram.unwrap();
        assert_eq!(nvram.template.as_deref(), Some("/usr/share/OVMF/VARS.fd"));
        let src = nvram.source.unwrap();
        assert_eq!(src.kind, StorageType::File);
        assert_eq!(
            src.path.as_deref(),
            Some("/var/lib/libvirt/qemu/nvram/vm_VARS.fd")
        );
        assert!(!src.readonly);
        assert_eq!(d.os.kernel.as_deref(), Some("/boot/my kernel"));
        assert_eq!(d.os.initrd.as_deref(), Some("/boot/initrd"));
        assert_eq!(d.os.dtb.as_deref(), Some("/boot/x.dtb"));
        assert_eq!(
            d.os.acpi_tables,
            vec![
                AcpiTable {
                    kind: Some("slic".into()),
                    path: "/srv/slic.dat".into()
                },
                AcpiTable {
                    kind: Some("msdm".into()),
                    path: "/srv/msdm".into()
                },
            ]
        );
    }

    #[test]
    fn shim() {
        let d = parse(&with("").replace(
            "</os>",
            "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.secboot.fd</loader>\
             <shim>/usr/lib/shim/shimx64.efi.signed</shim></os>",
        ))
        .unwrap();
        assert_eq!(
            d.os.shim.as_deref(),
            Some("/usr/lib/shim/shimx64.efi.signed")
        );
        assert_eq!(parse(&with("")).unwrap().os.shim, None);
    }

    #[test]
    fn loader_without_path_and_nvram_template_only() {
        let d = parse(&with("").replace(
            "</os>",
            "<loader secure='yes'/><nvram template='/usr/share/OVMF/VARS.fd'/></os>",
        ))
        .unwrap();
        assert_eq!(d.os.loader.as_ref().unwrap().path, None);
        assert_eq!(d.os.loader.unwrap().secure, Some(true));
        assert_eq!(d.os.nvram.unwrap().source, None);
    }

    #[test]
    fn nvram_new_forms() {
        let nv = |inner: &str| {
            parse(&with("").replace("</os>", &format!("{inner}</os>")))
                .unwrap()
                .os
                .nvram
                .unwrap()
                .source
                .unwrap()
        };
        let f = nv("<nvram type='file' format='raw'>\n  <source file='/var/nv.fd'/>\n</nvram>");
        assert_eq!(f.kind, StorageType::File);
        assert_eq!(f.path.as_deref(), Some("/var/nv.fd"));
        assert_eq!(f.format.as_deref(), Some("raw"));
        let b = nv("<nvram type='block'><source dev='/dev/vg/nv'/></nvram>");
        assert_eq!(b.kind, StorageType::Block);
        assert_eq!(b.path.as_deref(), Some("/dev/vg/nv"));
        let n = nv("<nvram type='network'><source protocol='iscsi' name='iqn/1'/></nvram>");
        assert_eq!(n.kind, StorageType::Network);
        assert_eq!(n.path, None);
        assert_eq!(n.protocol.as_deref(), Some("iscsi"));
    }

    #[test]
    fn text_is_kept_as_written() {
        let d = parse(&with("").replace(
            "</os>",
            "<kernel>/boot/a  b<!-- c -->/d</kernel><initrd>   </initrd></os>",
        ))
        .unwrap();
        assert_eq!(d.os.kernel.as_deref(), Some("/boot/a  b/d"));
        assert_eq!(d.os.initrd, None);
    }
}
