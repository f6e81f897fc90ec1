//! `<disk>`: storage sources, `<backingStore>` chains, and the order
//! libvirt's parser puts disks in.

use roxmltree::Node;

use super::{
    attr, child, has_child, seclabels_of, DomainError, Position, Result, MAX_BACKING_CHAIN_DEPTH,
};
use crate::domain::model::{Backing, Disk, DiskDevice, StorageSource, StorageType};

/// The storage type named by `node`'s `type` attribute (absent means file).
pub(super) fn storage_type(node: Node<'_, '_>, context: &str) -> Result<StorageType> {
    match node.attribute("type") {
        None | Some("") | Some("file") => Ok(StorageType::File),
        Some("block") => Ok(StorageType::Block),
        Some("dir") => Ok(StorageType::Dir),
        Some("network") => Ok(StorageType::Network),
        Some("volume") => Ok(StorageType::Volume),
        Some("nvme") => Ok(StorageType::Nvme),
        Some("vhostuser") => Ok(StorageType::VhostUser),
        Some("vhostvdpa") => Ok(StorageType::Vdpa),
        Some(other) => Err(DomainError::InvalidValue {
            what: format!("{context} attribute type"),
            value: other.to_owned(),
            reason: "expected file, block, dir, network, volume, nvme, vhostuser or vhostvdpa",
            at: Position::of_attr(node, "type"),
        }),
    }
}

/// Reads a `<source>` element of a storage layer of type `kind`.
pub(super) fn fill_source(
    kind: StorageType,
    src: Node<'_, '_>,
    layer: &mut StorageSource,
    allow_data_store: bool,
) -> Result<()> {
    layer.path = match kind {
        StorageType::File => attr(src, "file"),
        StorageType::Block => attr(src, "dev"),
        StorageType::Dir => attr(src, "dir"),
        StorageType::VhostUser => attr(src, "path"),
        StorageType::Vdpa => attr(src, "dev"),
        // A volume translated by libvirt ≥ 11 carries the resolved host
        // path, named by `actualType`; without it there is none.
        StorageType::Volume => {
            layer.actual_type = match src.attribute("actualType") {
                Some("file") => Some(StorageType::File),
                Some("block") => Some(StorageType::Block),
                Some("dir") => Some(StorageType::Dir),
                Some("network") => Some(StorageType::Network),
                _ => None,
            };
            match layer.actual_type {
                Some(StorageType::File) => attr(src, "file"),
                Some(StorageType::Block) => attr(src, "dev"),
                Some(StorageType::Dir) => attr(src, "dir"),
                _ => None,
            }
        }
        StorageType::Network | StorageType::Nvme => None,
    };
    layer.protocol = attr(src, "protocol");
    layer.pool = attr(src, "pool");
    layer.volume = attr(src, "volume");
    layer.seclabels = seclabels_of(src)?;
    if allow_data_store {
        if let Some(ds) = child(src, "dataStore") {
            let ds_kind = storage_type(ds, "<dataStore>")?;
            let mut store = StorageSource::new(ds_kind, None);
            store.format = child(ds, "format").and_then(|f| attr(f, "type"));
            if let Some(ds_src) = child(ds, "source") {
                fill_source(ds_kind, ds_src, &mut store, false)?;
            }
            store.backing = Backing::None;
            layer.data_store = Some(Box::new(store));
        }
    }
    Ok(())
}

/// Reads a `<backingStore>` element; `depth` is its layer number (1 for the
/// layer right under the top image).
fn parse_backing(node: Node<'_, '_>, depth: usize, disk_label: &str) -> Result<Backing> {
    if node.attribute("type").is_none_or(str::is_empty) {
        return Ok(Backing::None);
    }
    if depth > MAX_BACKING_CHAIN_DEPTH {
        return Err(DomainError::BackingChainTooDeep {
            what: disk_label.to_owned(),
            limit: MAX_BACKING_CHAIN_DEPTH,
            at: Position::of(node),
        });
    }
    let kind = storage_type(node, "<backingStore>")?;
    let mut layer = StorageSource::new(kind, None);
    if let Some(src) = child(node, "source") {
        fill_source(kind, src, &mut layer, true)?;
    }
    layer.format = child(node, "format").and_then(|f| attr(f, "type"));
    // libvirt treats every layer below the top as read-only.
    layer.readonly = true;
    layer.backing = match child(node, "backingStore") {
        None => Backing::Unknown,
        Some(next) => parse_backing(next, depth + 1, disk_label)?,
    };
    Ok(Backing::Layer(Box::new(layer)))
}

pub(super) fn parse_disk(node: Node<'_, '_>) -> Result<Disk> {
    let kind = storage_type(node, "<disk>")?;
    let target = child(node, "target");
    let target_dev = target.and_then(|t| attr(t, "dev"));
    let device = attr(node, "device").map_or(DiskDevice::Disk, |d| DiskDevice::from_name(&d));
    // libvirt's parser makes every CD-ROM read-only.
    let readonly = has_child(node, "readonly") || device == DiskDevice::Cdrom;
    let source = match child(node, "source") {
        None => None,
        Some(src) => {
            let mut layer = StorageSource::new(kind, None);
            fill_source(kind, src, &mut layer, true)?;
            layer.format = child(node, "driver").and_then(|d| attr(d, "type"));
            layer.readonly = readonly;
            let label = match &target_dev {
                Some(dev) => format!("<disk> with target {dev}"),
                None => "a <disk>".to_owned(),
            };
            layer.backing = match child(node, "backingStore") {
                None => Backing::Unknown,
                Some(b) => parse_backing(b, 1, &label)?,
            };
            Some(layer)
        }
    };
    Ok(Disk {
        device,
        source,
        target_dev,
        target_bus: target.and_then(|t| attr(t, "bus")),
        shareable: has_child(node, "shareable"),
    })
}

/// The bus libvirt's parser assumes for a disk without `<target bus>`:
/// from the device and the target name's prefix.
fn disk_bus(disk: &Disk) -> String {
    if let Some(bus) = &disk.target_bus {
        return bus.clone();
    }
    let dev = disk.target_dev.as_deref().unwrap_or("");
    let bus = if disk.device == DiskDevice::Floppy {
        "fdc"
    } else if dev.starts_with("hd") {
        "ide"
    } else if dev.starts_with("sd") {
        "scsi"
    } else if dev.starts_with("vd") {
        "virtio"
    } else if dev.starts_with("xvd") {
        "xen"
    } else if dev.starts_with("ubd") {
        "uml"
    } else {
        "ide"
    };
    bus.to_owned()
}

/// The index libvirt derives from a target name (`vda` → 0, `sdab` → 27):
/// the letters after the prefix as a bijective base-26 number. `None` when
/// the name has no known prefix or no letters.
fn disk_index(dev: &str) -> Option<u64> {
    let rest = ["fd", "hd", "vd", "sd", "xvd", "ubd"]
        .iter()
        .find_map(|p| dev.strip_prefix(p))?;
    let letters: &str = rest.trim_end_matches(|c: char| c.is_ascii_digit());
    if letters.is_empty() || !letters.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let mut n: u64 = 0;
    for b in letters.bytes() {
        n = n.checked_mul(26)?.checked_add(u64::from(b - b'a') + 1)?;
    }
    Some(n - 1)
}

/// Inserts a disk where libvirt's parser puts it: after the last disk on
/// the same bus whose index is not greater, before the first one on that
/// bus whose index is greater, at the end when no disk shares its bus.
pub(super) fn insert_disk(disks: &mut Vec<Disk>, disk: Disk) {
    let bus = disk_bus(&disk);
    let index = |d: &Disk| d.target_dev.as_deref().and_then(disk_index);
    let mine = index(&disk);
    let mut at: Option<usize> = None;
    for (i, d) in disks.iter().enumerate().rev() {
        if disk_bus(d) != bus {
            continue;
        }
        // Unparsable names count as -1, as libvirt's index does.
        let greater = match (index(d), mine) {
            (Some(a), Some(b)) => a > b,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if greater {
            at = Some(i);
        } else if at.is_none() {
            at = Some(i + 1);
        }
    }
    match at {
        Some(i) => disks.insert(i, disk),
        None => disks.push(disk),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::DomainErrorKind;
    use super::*;

    #[test]
    fn disk_file_with_driver_target_and_flags() {
        let d = devices(
            "<emulator>/usr/bin/qemu-system-x86_64</emulator>\
             <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
             <source file='/var/lib/libvirt/images/vm.qcow2'/>\
             <target dev='vda' bus='virtio'/><readonly/><shareable/></disk>",
        );
        assert_eq!(d.emulator.as_deref(), Some("/usr/bin/qemu-system-x86_64"));
        let disk = &d.disks[0];
        assert_eq!(disk.device, DiskDevice::Disk);
        assert_eq!(disk.target_dev.as_deref(), Some("vda"));
        assert_eq!(disk.target_bus.as_deref(), Some("virtio"));
        assert!(disk.shareable);
        let src = disk.source.as_ref().unwrap();
        assert_eq!(src.kind, StorageType::File);
        assert_eq!(
            src.path.as_deref(),
            Some("/var/lib/libvirt/images/vm.qcow2")
        );
        assert_eq!(src.format.as_deref(), Some("qcow2"));
        assert!(src.readonly);
        assert_eq!(src.backing, Backing::Unknown);
    }

    #[test]
    fn disk_types_map_to_storage_types() {
        let cases = [
            ("file", "file='/a'", StorageType::File, Some("/a")),
            (
                "block",
                "dev='/dev/sda'",
                StorageType::Block,
                Some("/dev/sda"),
            ),
            ("dir", "dir='/srv/d'", StorageType::Dir, Some("/srv/d")),
            (
                "network",
                "protocol='nbd' name='x'",
                StorageType::Network,
                None,
            ),
            (
                "volume",
                "pool='default' volume='v.img'",
                StorageType::Volume,
                None,
            ),
            ("nvme", "type='pci' managed='yes'", StorageType::Nvme, None),
            (
                "vhostuser",
                "type='unix' path='/run/vu.sock'",
                StorageType::VhostUser,
                Some("/run/vu.sock"),
            ),
            (
                "vhostvdpa",
                "dev='/dev/vhost-vdpa-0'",
                StorageType::Vdpa,
                Some("/dev/vhost-vdpa-0"),
            ),
        ];
        for (ty, attrs, kind, path) in cases {
            let d = devices(&format!(
                "<disk type='{ty}'><source {attrs}/><target dev='vda'/></disk>"
            ));
            let src = d.disks[0].source.as_ref().unwrap();
            assert_eq!(src.kind, kind, "{ty}");
            assert_eq!(src.path.as_deref(), path, "{ty}");
        }
        let d = devices(
            "<disk type='network'><source protocol='rbd' name='p/i'/></disk>\
             <disk type='volume'><source pool='pl' volume='vol' actualType='file' file='/pool/vol'/></disk>\
             <disk type='volume'><source pool='pl' volume='lv' actualType='block' dev='/dev/vg/lv'/></disk>\
             <disk type='volume'><source pool='pl' volume='vol' file='/untranslated'/></disk>",
        );
        assert_eq!(
            d.disks[0].source.as_ref().unwrap().protocol.as_deref(),
            Some("rbd")
        );
        let vol = d.disks[1].source.as_ref().unwrap();
        assert_eq!(vol.pool.as_deref(), Some("pl"));
        assert_eq!(vol.volume.as_deref(), Some("vol"));
        assert_eq!(vol.path.as_deref(), Some("/pool/vol"));
        assert_eq!(vol.actual_type, Some(StorageType::File));
        let lv = d.disks[2].source.as_ref().unwrap();
        assert_eq!(lv.path.as_deref(), Some("/dev/vg/lv"));
        assert_eq!(lv.actual_type, Some(StorageType::Block));
        // Without actualType, a file= is not a translation (libvirt's
        // parser reads none either).
        let plain = d.disks[3].source.as_ref().unwrap();
        assert_eq!((plain.path.as_deref(), plain.actual_type), (None, None));
    }

    #[test]
    fn disk_without_type_is_file_and_empty_cdrom_has_no_source() {
        let d = devices(
            "<disk device='cdrom'><target dev='hdc'/><readonly/></disk>\
             <disk type='file' device='floppy'><source/></disk>\
             <disk><source file='/x.img'/></disk>",
        );
        // libvirt's order: the target-less disk (index -1) goes before
        // hdc on the IDE bus; the floppy is alone on its bus.
        let devs: Vec<&DiskDevice> = d.disks.iter().map(|x| &x.device).collect();
        assert_eq!(
            devs,
            [&DiskDevice::Disk, &DiskDevice::Cdrom, &DiskDevice::Floppy]
        );
        assert_eq!(d.disks[1].source, None);
        let empty = d.disks[2].source.as_ref().unwrap();
        assert_eq!(empty.path, None);
        assert_eq!(d.disks[0].source.as_ref().unwrap().kind, StorageType::File);
    }

    #[test]
    fn backing_chain_nested() {
        let d = devices(
            "<disk type='file'><driver type='qcow2'/><source file='/top.qcow2'/>\
             <backingStore type='block'><format type='qcow2'/><source dev='/dev/vg/mid'/>\
               <backingStore type='file'><format type='raw'/>\
                 <source file='/base.raw'><seclabel model='apparmor' relabel='no'/></source>\
                 <backingStore/></backingStore></backingStore>\
             <target dev='vda'/></disk>",
        );
        let top = d.disks[0].source.as_ref().unwrap();
        assert!(!top.readonly);
        let Backing::Layer(mid) = &top.backing else {
            panic!("expected a layer")
        };
        assert_eq!(mid.kind, StorageType::Block);
        assert_eq!(mid.path.as_deref(), Some("/dev/vg/mid"));
        assert_eq!(mid.format.as_deref(), Some("qcow2"));
        assert!(mid.readonly);
        let Backing::Layer(base) = &mid.backing else {
            panic!("expected a layer")
        };
        assert_eq!(base.path.as_deref(), Some("/base.raw"));
        assert_eq!(base.format.as_deref(), Some("raw"));
        assert!(base.seclabels[0].opts_out_of_apparmor());
        assert_eq!(base.backing, Backing::None);
    }

    #[test]
    fn empty_backing_store_ends_chain() {
        let d = devices("<disk type='file'><source file='/a'/><backingStore/></disk>");
        assert_eq!(d.disks[0].source.as_ref().unwrap().backing, Backing::None);
    }

    fn chain(layers: usize) -> String {
        let mut s = String::from("<disk type='file'><source file='/top'/>");
        for i in 0..layers {
            s.push_str(&format!(
                "<backingStore type='file'><format type='qcow2'/><source file='/l{i}'/>"
            ));
        }
        s.push_str(&"</backingStore>".repeat(layers));
        s.push_str("<target dev='vda'/></disk>");
        s
    }

    #[test]
    fn backing_chain_depth_is_capped() {
        let d = devices(&chain(MAX_BACKING_CHAIN_DEPTH));
        let mut layer = d.disks[0].source.as_ref().unwrap();
        let mut n = 0;
        while let Backing::Layer(next) = &layer.backing {
            layer = next;
            n += 1;
        }
        assert_eq!(n, MAX_BACKING_CHAIN_DEPTH);
        let xml = with(&format!(
            "<devices>{}</devices>",
            chain(MAX_BACKING_CHAIN_DEPTH + 1)
        ));
        let e = err(&xml);
        assert_eq!(
            e,
            DomainError::BackingChainTooDeep {
                what: "<disk> with target vda".into(),
                limit: MAX_BACKING_CHAIN_DEPTH,
                at: at(&xml, "<backingStore", MAX_BACKING_CHAIN_DEPTH),
            }
        );
        assert!(e.to_string().contains("256"), "{e}");
        assert_eq!(e.kind(), DomainErrorKind::Invalid);
    }

    #[test]
    fn data_store_and_source_seclabels() {
        let d = devices(
            "<disk type='file'><driver type='qcow2'/>\
             <source file='/img.qcow2'>\
               <dataStore type='file'><format type='raw'/><source file='/img.data'/></dataStore>\
               <seclabel model='apparmor' relabel='no'/>\
               <seclabel model='dac' relabel='yes'><label>+0:+0</label></seclabel>\
             </source><target dev='vda'/></disk>",
        );
        let src = d.disks[0].source.as_ref().unwrap();
        let ds = src.data_store.as_ref().unwrap();
        assert_eq!(ds.kind, StorageType::File);
        assert_eq!(ds.path.as_deref(), Some("/img.data"));
        assert_eq!(ds.format.as_deref(), Some("raw"));
        assert_eq!(ds.backing, Backing::None);
        assert_eq!(src.seclabels.len(), 2);
        assert!(src.seclabels[0].opts_out_of_apparmor());
        assert!(!src.seclabels[1].opts_out_of_apparmor());
        assert_eq!(src.seclabels[1].label.as_deref(), Some("+0:+0"));
    }

    #[test]
    fn bad_storage_type_is_an_error() {
        let e = device_err("<disk type='floppy-disk'><source file='/a'/></disk>");
        assert!(matches!(&e, DomainError::InvalidValue { value, .. } if value == "floppy-disk"));
        assert!(e.to_string().contains("<disk> attribute type"), "{e}");
        let e =
            device_err("<disk type='file'><source file='/a'/><backingStore type='tape'/></disk>");
        assert!(e.to_string().contains("<backingStore>"), "{e}");
    }
}
