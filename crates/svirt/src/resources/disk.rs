//! Disks (§3.2): every local layer of each disk's chain. The image the VM
//! sees gets `rwk` (`rk` when `<readonly/>`); backing layers get `rk`. Both
//! read-only cases carry the quiet write deny.
//!
//! A `<disk type='volume'>` gets nothing from libvirt 9.0. With
//! [`crate::Settings::pool_volumes`] it is resolved to its host path (the
//! translated source, else libvirt's pool definition, see
//! [`crate::pool`]) and then handled exactly like a file or block disk.

use super::{non_empty, Collector, ResourcesError};
use crate::domain::{Backing, StorageSource, StorageType};
use crate::policy::{path::check_component, Access, Grant, HeaderField, Origin};
use crate::pool::VolumePath;

/// libvirt's (and QEMU's) limit on the depth of a backing chain.
pub const MAX_CHAIN_DEPTH: usize = 200;

pub(super) fn add(cx: &mut Collector) -> Result<(), ResourcesError> {
    let domain = cx.domain;
    for (index, disk) in domain.devices.disks.iter().enumerate() {
        let Some(source) = &disk.source else {
            continue; // empty cdrom/floppy
        };
        if cx.opted_out(&source.seclabels) {
            continue;
        }
        let target = disk.target_dev.clone();
        let resolved;
        let source = if source.kind == StorageType::Volume {
            let name = match &target {
                Some(dev) => format!("disk {dev}"),
                None => format!("disk {index}"),
            };
            match resolve_volume(cx, source, &name)? {
                Some(r) => {
                    resolved = r;
                    &resolved
                }
                None => continue,
            }
        } else {
            source
        };
        if source.kind == StorageType::Vdpa {
            if let (true, Some(dev)) = (cx.settings.vhost_vdpa, non_empty(&source.path)) {
                let origin = Origin::Disk {
                    index,
                    target,
                    layer: 0,
                };
                cx.push(Grant::path(dev, Access::RW, origin));
            }
            continue;
        }
        let layer_origin = |layer| Origin::Disk {
            index,
            target: target.clone(),
            layer,
        };
        let data_origin = |layer| Origin::DiskDataFile {
            index,
            target: target.clone(),
            layer,
        };
        add_chain(cx, source, true, &layer_origin, &data_origin);
    }
    Ok(())
}

/// The storage a volume disk stands for, as a file or block source with
/// the disk's own access, format, labels and declared chain; `None` (with a
/// warning where the operator should know) when it has no host path.
/// Without [`crate::Settings::pool_volumes`]: always `None`, as libvirt
/// 9.0. `name` names the disk in messages.
fn resolve_volume(
    cx: &mut Collector,
    source: &StorageSource,
    name: &str,
) -> Result<Option<StorageSource>, ResourcesError> {
    if !cx.settings.pool_volumes && !cx.settings.translated_volumes {
        return Ok(None);
    }
    let with = |kind: StorageType, path: String| {
        let mut r = source.clone();
        r.kind = kind;
        r.path = Some(path);
        r.actual_type = None;
        Some(r)
    };
    // libvirt ≥ 11: the translated source.
    match (source.actual_type, non_empty(&source.path)) {
        (Some(kind), Some(path)) if kind.is_local() => return Ok(with(kind, path.to_owned())),
        (Some(_), _) => return Ok(None), // a network volume, or nothing to name
        (None, _) if !cx.settings.pool_volumes => return Ok(None),
        (None, _) => {}
    }
    let (Some(pool), Some(volume)) = (source.pool.as_deref(), source.volume.as_deref()) else {
        return Ok(None); // an empty drive
    };
    for (what, value) in [("pool", pool), ("volume", volume)] {
        check_component(value).map_err(|reason| ResourcesError::BadName {
            device: format!("{name} ({what} name)"),
            name: value.to_owned(),
            reason,
        })?;
    }
    let def = match cx.host.storage_pool(pool) {
        Ok(Some(def)) => def,
        Ok(None) => {
            cx.warn(format!(
                "{name}: storage pool {pool:?} has no definition in /run/libvirt/storage or \
                 /etc/libvirt/storage; volume {volume:?} is not granted"
            ));
            return Ok(None);
        }
        Err(why) => {
            cx.warn(format!(
                "{name}: storage pool {pool:?}: {why}; volume {volume:?} is not granted"
            ));
            return Ok(None);
        }
    };
    Ok(match def.volume_path(pool, volume) {
        VolumePath::File(path) => with(StorageType::File, path),
        VolumePath::Block(path) => with(StorageType::Block, path),
        VolumePath::Unresolved(why) => {
            cx.warn(format!(
                "{name}: volume {volume:?} of storage pool {pool:?} is not granted: {why}"
            ));
            None
        }
    })
}

/// Grants for a storage chain: the top layer, then each backing layer,
/// each followed by its external data file when that switch is on.
///
/// The chain is the one the XML declares (`<backingStore>`); without one,
/// and if `probe` is set, it is read from the image headers through
/// [`crate::host::Host::probe_chain`]. A declared `<backingStore/>` ends
/// the chain. Layers that are not local storage, or have no path, are
/// skipped.
pub(super) fn add_chain(
    cx: &mut Collector,
    top: &StorageSource,
    probe: bool,
    origin: &dyn Fn(usize) -> Origin,
    data_origin: &dyn Fn(usize) -> Origin,
) {
    let top_access = if top.readonly {
        Access::RK
    } else {
        Access::RWK
    };
    let Some(top_path) = local_path(top) else {
        // Not a host path (a network disk): its header cannot be read,
        // but local layers its declared chain names are opened by path.
        add_declared_layers(cx, top, "a network disk", origin, data_origin);
        return;
    };
    cx.push(Grant::path(top_path, top_access, origin(0)));
    match &top.backing {
        Backing::Layer(_) => {
            add_declared_data_file(cx, top, top_access, data_origin(0));
            add_declared_layers(cx, top, top_path, origin, data_origin);
        }
        Backing::None => add_declared_data_file(cx, top, top_access, data_origin(0)),
        Backing::Unknown if !probe => add_declared_data_file(cx, top, top_access, data_origin(0)),
        Backing::Unknown => {
            let chain = cx.host.probe_chain(top);
            for warning in chain.warnings {
                cx.warn(warning);
            }
            // The header's data file only counts when the XML names none.
            let declared = top.data_store.is_some();
            if declared {
                add_declared_data_file(cx, top, top_access, data_origin(0));
            }
            if let Some(layer) = chain.layers.first() {
                add_header_files(cx, layer, !declared, top_access, data_origin(0));
            }
            for (depth, pair) in chain
                .layers
                .windows(2)
                .enumerate()
                .map(|(i, w)| (i + 1, w))
                .take(MAX_CHAIN_DEPTH)
            {
                let (above, layer) = (&pair[0], &pair[1]);
                if layer.path.is_empty() {
                    continue;
                }
                cx.push(
                    Grant::path(layer.path.clone(), Access::RK, origin(depth))
                        .from_header(above.path.clone(), HeaderField::BackingFile),
                );
                add_header_files(cx, layer, true, Access::RK, data_origin(depth));
            }
        }
    }
}

/// The files a layer's own header names besides its backing file: the
/// qcow2 external data file and VMDK extents, when their switches are on.
/// QEMU opens them with the layer's access, but a header can name any
/// file: with [`crate::Settings::untrusted_header_paths`], those of a
/// writable layer are granted only if the domain itself names them
/// writable, and those of a read-only layer get `rk` without the quiet
/// write deny (which would override a grant the domain makes).
fn add_header_files(
    cx: &mut Collector,
    layer: &crate::image::ProbedLayer,
    data_file: bool,
    access: Access,
    origin: Origin,
) {
    let mut named: Vec<(&str, HeaderField)> = Vec::new();
    if data_file && cx.settings.qcow2_data_file {
        if let Some(path) = non_empty(&layer.data_file) {
            named.push((path, HeaderField::DataFile));
        }
    }
    if cx.settings.vmdk_extents {
        named.extend(
            layer
                .extents
                .iter()
                .map(|e| (e.as_str(), HeaderField::Extent)),
        );
    }
    for (path, field) in named {
        let origin = origin.clone();
        if !cx.settings.untrusted_header_paths {
            cx.push(Grant::path(path, access, origin));
            continue;
        }
        let grant = if access.is_read_only() {
            Grant::path(path, Access::RK, origin).without_write_deny()
        } else if declared_writable(cx, path) {
            Grant::path(path, access, origin)
        } else {
            cx.warn(format!(
                "{}: the {field} its header names, {path}, is not granted: an image header \
                 cannot give write access; name it in the domain (<dataStore>, or as a \
                 writable disk) to grant it",
                layer.path
            ));
            continue;
        };
        cx.push(grant.from_header(layer.path.clone(), field));
    }
}

/// Whether the domain itself names `path` with write access: a writable
/// disk's source or its `<dataStore>`. Compared after canonicalisation.
fn declared_writable(cx: &Collector, path: &str) -> bool {
    let canonical = |p: &str| crate::policy::path::canonicalize(p, cx.host).ok();
    let Some(want) = canonical(path) else {
        return false;
    };
    cx.domain
        .devices
        .disks
        .iter()
        .filter_map(|d| d.source.as_ref())
        .filter(|s| !s.readonly)
        .flat_map(|s| [local_path(s), s.data_store.as_deref().and_then(local_path)])
        .flatten()
        .any(|p| canonical(p).as_deref() == Some(want.as_str()))
}

/// The grants one disk source needs, decided exactly as at start: what a
/// VM manager hot-plugging that disk must ask the helper for. `domain` is
/// the definition the disk belongs to (it decides what the domain itself
/// names writable).
pub fn storage_grants(
    domain: &crate::domain::Domain,
    source: &StorageSource,
    settings: &crate::Settings,
    host: &dyn crate::host::Host,
) -> super::Resources {
    let mut cx = Collector {
        domain,
        settings,
        host,
        out: super::Resources::default(),
        needs: super::Needs::default(),
    };
    let index = domain
        .devices
        .disks
        .iter()
        .position(|d| d.source.as_ref() == Some(source))
        .unwrap_or(domain.devices.disks.len());
    let layer = |layer| Origin::Disk {
        index,
        target: None,
        layer,
    };
    let data = |layer| Origin::DiskDataFile {
        index,
        target: None,
        layer,
    };
    let resolved;
    let source = if source.kind == StorageType::Volume {
        match resolve_volume(&mut cx, source, &format!("disk {index}")) {
            Ok(Some(r)) => {
                resolved = r;
                &resolved
            }
            Ok(None) => return cx.out,
            Err(e) => {
                cx.warn(e.to_string());
                return cx.out;
            }
        }
    } else {
        source
    };
    add_chain(&mut cx, source, true, &layer, &data);
    cx.out
}

/// The layers below `top` that the XML declares (`<backingStore>`), each
/// local one `rk` with its declared data file. `top_name` names the disk in
/// the warning for a chain deeper than [`MAX_CHAIN_DEPTH`].
fn add_declared_layers(
    cx: &mut Collector,
    top: &StorageSource,
    top_name: &str,
    origin: &dyn Fn(usize) -> Origin,
    data_origin: &dyn Fn(usize) -> Origin,
) {
    let mut below = &top.backing;
    let mut depth = 1;
    while let Backing::Layer(layer) = below {
        if depth > MAX_CHAIN_DEPTH {
            cx.warn(format!(
                "backing chain of {top_name} is deeper than {MAX_CHAIN_DEPTH} layers; \
                 the rest is not granted"
            ));
            break;
        }
        if !cx.opted_out(&layer.seclabels) {
            if let Some(path) = local_path(layer) {
                cx.push(Grant::path(path, Access::RK, origin(depth)));
                add_declared_data_file(cx, layer, Access::RK, data_origin(depth));
            }
        }
        below = &layer.backing;
        depth += 1;
    }
}

/// The host path of a layer QEMU opens by path (file, block, dir).
fn local_path(source: &StorageSource) -> Option<&str> {
    if source.kind.is_local() {
        non_empty(&source.path)
    } else {
        None
    }
}

fn add_declared_data_file(
    cx: &mut Collector,
    layer: &StorageSource,
    access: Access,
    origin: Origin,
) {
    if !cx.settings.qcow2_data_file {
        return;
    }
    if let Some(path) = layer.data_store.as_deref().and_then(local_path) {
        cx.push(Grant::path(path, access, origin));
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::{
        Backing, Disk, DiskDevice, SecLabel, StorageSource, StorageType, VirtType,
    };
    use crate::image::ProbedLayer;
    use crate::policy::Origin;
    use crate::resources::grants_for;
    use crate::resources::testing::*;
    use crate::Settings;

    fn file(path: &str) -> StorageSource {
        StorageSource::new(StorageType::File, Some(path.into()))
    }

    fn disk(source: Option<StorageSource>) -> Disk {
        Disk {
            device: DiskDevice::Disk,
            source,
            target_dev: Some("vda".into()),
            target_bus: Some("virtio".into()),
            shareable: false,
        }
    }

    fn run(disks: Vec<Disk>, settings: &Settings, host: &FakeHost) -> Vec<String> {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc; // no base rules
        d.devices.disks = disks;
        show(&grants_for(&d, settings, host).unwrap().grants)
    }

    fn compat() -> Settings {
        Settings::libvirt_compatible()
    }

    fn layer(path: &str, data_file: Option<&str>) -> ProbedLayer {
        ProbedLayer {
            path: path.into(),
            format: None,
            data_file: data_file.map(Into::into),
            extents: Vec::new(),
        }
    }

    #[test]
    fn read_write_and_read_only_top() {
        let mut ro = file("/img/ro.img");
        ro.readonly = true;
        let got = run(
            vec![disk(Some(file("/img/a.img"))), disk(Some(ro))],
            &compat(),
            &FakeHost::default(),
        );
        assert_eq!(got, ["/img/a.img rwk", "/img/ro.img rk +quiet-deny"]);
    }

    #[test]
    fn empty_drives_and_non_local_sources_grant_nothing() {
        let mut net = StorageSource::new(StorageType::Network, None);
        net.protocol = Some("nbd".into());
        let got = run(
            vec![
                disk(None),
                disk(Some(StorageSource::new(StorageType::File, None))),
                disk(Some(StorageSource::new(
                    StorageType::File,
                    Some(String::new()),
                ))),
                disk(Some(net)),
                disk(Some(StorageSource::new(
                    StorageType::Volume,
                    Some("/v".into()),
                ))),
                disk(Some(StorageSource::new(StorageType::Nvme, None))),
                disk(Some(StorageSource::new(
                    StorageType::VhostUser,
                    Some("/s.sock".into()),
                ))),
            ],
            &compat(),
            &FakeHost::default(),
        );
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn block_and_dir_are_local() {
        let got = run(
            vec![
                disk(Some(StorageSource::new(
                    StorageType::Block,
                    Some("/dev/sdb".into()),
                ))),
                disk(Some(StorageSource::new(
                    StorageType::Dir,
                    Some("/srv/dir".into()),
                ))),
            ],
            &compat(),
            &FakeHost::default(),
        );
        assert_eq!(got, ["/dev/sdb rwk", "/srv/dir rwk"]);
    }

    #[test]
    fn probed_chain_backing_layers_are_read_only() {
        let mut host = FakeHost::default();
        host.chains.insert(
            "/img/top.qcow2".into(),
            vec![layer("/img/mid.qcow2", None), layer("/img/base.raw", None)],
        );
        let got = run(vec![disk(Some(file("/img/top.qcow2")))], &compat(), &host);
        assert_eq!(
            got,
            [
                "/img/top.qcow2 rwk",
                "/img/mid.qcow2 rk +quiet-deny",
                "/img/base.raw rk +quiet-deny"
            ]
        );
        assert_eq!(*host.probed.borrow(), ["/img/top.qcow2"]);
    }

    #[test]
    fn declared_chain_is_not_probed_and_skips_non_local_layers() {
        let host = FakeHost::default();
        let mut base = file("/img/base.raw");
        base.backing = Backing::None;
        let mut net = StorageSource::new(StorageType::Network, None);
        net.backing = Backing::Layer(Box::new(base));
        let mut mid = file("/img/mid.qcow2");
        mid.backing = Backing::Layer(Box::new(net));
        let mut top = file("/img/top.qcow2");
        top.backing = Backing::Layer(Box::new(mid));
        let got = run(vec![disk(Some(top))], &compat(), &host);
        assert_eq!(
            got,
            [
                "/img/top.qcow2 rwk",
                "/img/mid.qcow2 rk +quiet-deny",
                "/img/base.raw rk +quiet-deny"
            ]
        );
        assert!(host.probed.borrow().is_empty());
    }

    #[test]
    fn terminated_chain_is_not_probed() {
        let host = FakeHost::default();
        let mut top = file("/img/top.qcow2");
        top.backing = Backing::None;
        assert_eq!(
            run(vec![disk(Some(top))], &compat(), &host),
            ["/img/top.qcow2 rwk"]
        );
        assert!(host.probed.borrow().is_empty());
    }

    #[test]
    fn origins_name_disk_and_layer() {
        let mut host = FakeHost::default();
        host.chains
            .insert("/img/top".into(), vec![layer("/img/base", None)]);
        let mut d = domain("vm");
        d.devices.disks = vec![disk(Some(file("/img/top")))];
        let r = grants_for(&d, &compat(), &host).unwrap();
        let origins: Vec<_> = r.grants[5..].iter().map(|g| g.origin.clone()).collect();
        assert_eq!(
            origins,
            [
                Origin::Disk {
                    index: 0,
                    target: Some("vda".into()),
                    layer: 0
                },
                Origin::Disk {
                    index: 0,
                    target: Some("vda".into()),
                    layer: 1
                }
            ]
        );
    }

    #[test]
    fn data_files_only_with_the_switch() {
        let mut host = FakeHost::default();
        host.chains.insert(
            "/img/top".into(),
            vec![layer("/img/base", Some("/img/base.data"))],
        );
        let mut declared = file("/img/d.qcow2");
        declared.backing = Backing::None;
        declared.data_store = Some(Box::new(file("/img/d.data")));
        let mut ro = file("/img/top");
        ro.readonly = true;
        let disks = vec![disk(Some(declared)), disk(Some(ro))];
        assert_eq!(
            run(disks.clone(), &compat(), &host),
            [
                "/img/d.qcow2 rwk",
                "/img/top rk +quiet-deny",
                "/img/base rk +quiet-deny"
            ]
        );
        let mut on = compat();
        on.qcow2_data_file = true;
        assert_eq!(
            run(disks, &on, &host),
            [
                "/img/d.qcow2 rwk",
                "/img/d.data rwk",
                "/img/top rk +quiet-deny",
                "/img/base rk +quiet-deny",
                "/img/base.data rk +quiet-deny"
            ]
        );
    }

    #[test]
    fn vmdk_extents_only_with_the_switch() {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        let mut src = file("/img/split.vmdk");
        src.format = Some("vmdk".into());
        d.devices.disks.push(Disk {
            device: DiskDevice::Disk,
            source: Some(src),
            target_dev: Some("vda".into()),
            target_bus: None,
            shareable: false,
        });
        let host = FakeHost {
            top_extents: vec!["/img/split-f001.vmdk".into()],
            ..FakeHost::default()
        };
        // Safe mode: a header cannot give write access; the extent of a
        // writable descriptor is left out with a warning naming it.
        let safe = grants_for(&d, &Settings::safe(), &host).unwrap();
        assert_eq!(show(&safe.grants), vec!["/img/split.vmdk rwk"]);
        assert!(
            safe.warnings[0].contains("/img/split-f001.vmdk")
                && safe.warnings[0].contains("extent"),
            "{:?}",
            safe.warnings
        );
        // Read-only, the extent is readable, without the write deny.
        if let Some(src) = d.devices.disks[0].source.as_mut() {
            src.readonly = true;
        }
        let ro = grants_for(&d, &Settings::safe(), &host).unwrap();
        assert_eq!(
            show(&ro.grants),
            vec!["/img/split.vmdk rk +quiet-deny", "/img/split-f001.vmdk rk"]
        );
        // The switches without the header check: the layer's access.
        let mut trusting = Settings::safe();
        trusting.untrusted_header_paths = false;
        if let Some(src) = d.devices.disks[0].source.as_mut() {
            src.readonly = false;
        }
        let t = grants_for(&d, &trusting, &host).unwrap();
        assert_eq!(
            show(&t.grants),
            vec!["/img/split.vmdk rwk", "/img/split-f001.vmdk rwk"]
        );
        let compat = grants_for(&d, &Settings::libvirt_compatible(), &host).unwrap();
        assert_eq!(show(&compat.grants), vec!["/img/split.vmdk rwk"]);
    }

    #[test]
    fn top_data_file_from_the_header() {
        let mut host = FakeHost::default();
        host.chains.insert("/img/top".into(), vec![]);
        let mut on = compat();
        on.qcow2_data_file = true;
        // FakeHost reports no data file for the top; give one through a
        // declared <dataStore> with an unknown chain instead.
        let mut top = file("/img/top");
        top.data_store = Some(Box::new(file("/img/top.data")));
        assert_eq!(
            run(vec![disk(Some(top))], &on, &host),
            ["/img/top rwk", "/img/top.data rwk"]
        );
    }

    #[test]
    fn vdpa_disk_only_with_the_switch() {
        let src = StorageSource::new(StorageType::Vdpa, Some("/dev/vhost-vdpa-0".into()));
        let disks = vec![disk(Some(src))];
        assert!(run(disks.clone(), &compat(), &FakeHost::default()).is_empty());
        let mut on = compat();
        on.vhost_vdpa = true;
        assert_eq!(
            run(disks, &on, &FakeHost::default()),
            ["/dev/vhost-vdpa-0 rw"]
        );
    }

    #[test]
    fn relabel_no_only_with_the_switch() {
        let mut host = FakeHost::default();
        host.chains
            .insert("/img/a".into(), vec![layer("/img/a-base", None)]);
        let mut src = file("/img/a");
        src.seclabels.push(SecLabel {
            model: Some("apparmor".into()),
            relabel: Some(false),
            ..SecLabel::default()
        });
        let mut selinux_only = file("/img/b");
        selinux_only.backing = Backing::None;
        selinux_only.seclabels.push(SecLabel {
            model: Some("selinux".into()),
            relabel: Some(false),
            ..SecLabel::default()
        });
        let disks = vec![disk(Some(src)), disk(Some(selinux_only))];
        assert_eq!(
            run(disks.clone(), &compat(), &host),
            ["/img/a rwk", "/img/a-base rk +quiet-deny", "/img/b rwk"]
        );
        let mut on = compat();
        on.device_relabel_no = true;
        assert_eq!(run(disks, &on, &host), ["/img/b rwk"]);
    }

    #[test]
    fn relabel_no_on_a_declared_backing_layer_skips_that_layer() {
        let mut base = file("/img/base");
        base.backing = Backing::None;
        base.seclabels.push(SecLabel {
            relabel: Some(false),
            ..SecLabel::default()
        });
        let mut top = file("/img/top");
        top.backing = Backing::Layer(Box::new(base));
        let mut on = compat();
        on.device_relabel_no = true;
        assert_eq!(
            run(vec![disk(Some(top))], &on, &FakeHost::default()),
            ["/img/top rwk"]
        );
    }

    #[test]
    fn relative_paths_pass_through() {
        assert_eq!(
            run(
                vec![disk(Some(file("relative/1.img")))],
                &compat(),
                &FakeHost::default()
            ),
            ["relative/1.img rwk"]
        );
    }
    // ---------------------------------------------------------- volumes --

    /// A fake host whose pool definitions live in a temporary directory,
    /// as `<root>/etc/libvirt/storage` and `<root>/run/libvirt/storage`.
    struct Pools {
        dir: tempfile::TempDir,
    }

    impl Pools {
        fn new() -> Pools {
            Pools {
                dir: tempfile::tempdir().unwrap(),
            }
        }

        fn write(&self, dir: &str, name: &str, xml: &str) {
            let d = self.dir.path().join(dir);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(format!("{name}.xml")), xml).unwrap();
        }

        fn host(&self) -> FakeHost {
            FakeHost {
                pool_root: Some(self.dir.path().to_path_buf()),
                ..FakeHost::default()
            }
        }
    }

    const ETC: &str = "etc/libvirt/storage";
    const RUN: &str = "run/libvirt/storage";

    fn pool_xml(kind: &str, name: &str, source: &str, target: &str) -> String {
        format!(
            "<pool type='{kind}'><name>{name}</name><source>{source}</source>\
             <target><path>{target}</path></target></pool>"
        )
    }

    fn volume(pool: &str, vol: &str) -> StorageSource {
        let mut v = StorageSource::new(StorageType::Volume, None);
        v.pool = Some(pool.into());
        v.volume = Some(vol.into());
        v
    }

    fn run_full(
        disks: Vec<Disk>,
        settings: &Settings,
        host: &FakeHost,
    ) -> Result<(Vec<String>, Vec<String>), crate::resources::ResourcesError> {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        d.devices.disks = disks;
        grants_for(&d, settings, host).map(|r| (show(&r.grants), r.warnings))
    }

    #[test]
    fn volumes_of_dir_fs_netfs_and_logical_pools() {
        let pools = Pools::new();
        pools.write(
            ETC,
            "images",
            &pool_xml("dir", "images", "", "/srv/images/"),
        );
        pools.write(
            ETC,
            "fs",
            &pool_xml("fs", "fs", "<device path='/dev/sdb1'/>", "/mnt/fs"),
        );
        pools.write(
            ETC,
            "nfs",
            &pool_xml(
                "netfs",
                "nfs",
                "<host name='nas'/><dir path='/export'/>",
                "/mnt/nfs",
            ),
        );
        pools.write(
            ETC,
            "lvm",
            &pool_xml("logical", "lvm", "<name>vg0</name>", "/dev/ignored"),
        );
        pools.write(ETC, "vg1", "<pool type='logical'><name>vg1</name></pool>");
        let mut ro = volume("nfs", "iso.img");
        ro.readonly = true;
        let disks = vec![
            disk(Some(volume("images", "a.qcow2"))),
            disk(Some(volume("fs", "b.raw"))),
            disk(Some(ro)),
            disk(Some(volume("lvm", "lv0"))),
            disk(Some(volume("vg1", "lv1"))),
        ];
        let host = pools.host();
        let (got, warnings) = run_full(disks.clone(), &Settings::safe(), &host).unwrap();
        assert_eq!(
            got,
            [
                "/srv/images/a.qcow2 rwk",
                "/mnt/fs/b.raw rwk",
                "/mnt/nfs/iso.img rk +quiet-deny",
                "/dev/vg0/lv0 rwk",
                "/dev/vg1/lv1 rwk",
            ]
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        // Each resolved volume is probed for a backing chain, like a file.
        assert_eq!(
            *host.probed.borrow(),
            [
                "/srv/images/a.qcow2",
                "/mnt/fs/b.raw",
                "/mnt/nfs/iso.img",
                "/dev/vg0/lv0",
                "/dev/vg1/lv1"
            ]
        );
        // Compat mode: libvirt 9.0 grants nothing and reads no pool.
        let host = pools.host();
        let (got, warnings) = run_full(disks, &compat(), &host).unwrap();
        assert!(
            got.is_empty() && warnings.is_empty(),
            "{got:?} {warnings:?}"
        );
        assert!(host.probed.borrow().is_empty());
    }

    #[test]
    fn the_live_pool_definition_wins() {
        let pools = Pools::new();
        pools.write(ETC, "p", &pool_xml("dir", "p", "", "/srv/old"));
        pools.write(
            RUN,
            "p",
            &format!(
                "<poolstate>{}</poolstate>",
                pool_xml("dir", "p", "", "/srv/live")
            ),
        );
        let (got, _) = run_full(
            vec![disk(Some(volume("p", "v")))],
            &Settings::safe(),
            &pools.host(),
        )
        .unwrap();
        assert_eq!(got, ["/srv/live/v rwk"]);
    }

    #[test]
    fn volumes_with_a_backing_chain_probe_from_the_resolved_path() {
        let pools = Pools::new();
        pools.write(ETC, "p", &pool_xml("dir", "p", "", "/srv/p"));
        let mut host = pools.host();
        host.chains.insert(
            "/srv/p/top.qcow2".into(),
            vec![layer("/srv/p/base.qcow2", None)],
        );
        let (got, _) = run_full(
            vec![disk(Some(volume("p", "top.qcow2")))],
            &Settings::safe(),
            &host,
        )
        .unwrap();
        assert_eq!(
            got,
            ["/srv/p/top.qcow2 rwk", "/srv/p/base.qcow2 rk +quiet-deny"]
        );
    }

    #[test]
    fn unknown_pool_types_and_missing_pools_grant_nothing_with_a_warning() {
        let pools = Pools::new();
        pools.write(
            ETC,
            "ceph",
            "<pool type='rbd'><name>ceph</name><source><name>rbd</name></source></pool>",
        );
        pools.write(ETC, "broken", "<pool type='dir'><target>");
        let disks = vec![
            disk(Some(volume("ceph", "img"))),
            disk(Some(volume("nowhere", "img"))),
            disk(Some(volume("broken", "img"))),
        ];
        let (got, warnings) = run_full(disks.clone(), &Settings::safe(), &pools.host()).unwrap();
        assert!(got.is_empty(), "{got:?}");
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].contains("disk vda") && warnings[0].contains("\"rbd\""));
        assert!(warnings[1].contains("\"nowhere\"") && warnings[1].contains("no definition"));
        assert!(warnings[2].contains("/etc/libvirt/storage/broken.xml"));
        let (got, warnings) = run_full(disks, &compat(), &pools.host()).unwrap();
        assert!(got.is_empty() && warnings.is_empty());
    }

    #[test]
    fn hostile_pool_and_volume_names_are_refused_naming_the_disk() {
        let pools = Pools::new();
        // A definition a `../` could reach must never be read.
        pools.write("etc/libvirt", "x", &pool_xml("dir", "x", "", "/srv/x"));
        pools.write(ETC, "p", &pool_xml("dir", "p", "", "/srv/p"));
        for (pool, vol, bad) in [
            ("../x", "v", "../x"),
            ("..", "v", ".."),
            (".", "v", "."),
            ("p", "../../etc/shadow", "../../etc/shadow"),
            ("p", "..", ".."),
            ("p", "a/b", "a/b"),
        ] {
            let e = run_full(
                vec![disk(Some(volume(pool, vol)))],
                &Settings::safe(),
                &pools.host(),
            )
            .unwrap_err();
            let text = e.to_string();
            assert!(
                text.contains("disk vda") && text.contains(&format!("{bad:?}")),
                "{pool} {vol}: {text}"
            );
            // libvirt 9.0 grants nothing and so never looks at the names.
            let (got, _) = run_full(
                vec![disk(Some(volume(pool, vol)))],
                &compat(),
                &pools.host(),
            )
            .unwrap();
            assert!(got.is_empty());
        }
    }

    #[test]
    fn translated_volumes_alone_read_no_pool_definition() {
        let pools = Pools::new();
        pools.write(
            ETC,
            "images",
            &pool_xml("dir", "images", "", "/srv/images/"),
        );
        let mut translated = volume("images", "t.qcow2");
        translated.actual_type = Some(StorageType::File);
        translated.path = Some("/srv/images/t.qcow2".into());
        let disks = vec![
            disk(Some(translated)),
            disk(Some(volume("images", "u.qcow2"))),
        ];
        let mut s = Settings::libvirt_compatible();
        s.translated_volumes = true;
        let (got, warnings) = run_full(disks.clone(), &s, &pools.host()).unwrap();
        assert_eq!(got, ["/srv/images/t.qcow2 rwk"]);
        assert!(warnings.is_empty(), "{warnings:?}");
        // pool_volumes also resolves the untranslated one
        s.pool_volumes = true;
        let (got, _) = run_full(disks, &s, &pools.host()).unwrap();
        assert_eq!(got, ["/srv/images/t.qcow2 rwk", "/srv/images/u.qcow2 rwk"]);
    }

    #[test]
    fn a_translated_source_is_used_as_is() {
        let mut file_vol = volume("p", "v");
        file_vol.actual_type = Some(StorageType::File);
        file_vol.path = Some("/srv/translated/v".into());
        let mut block_vol = volume("lvm", "lv");
        block_vol.actual_type = Some(StorageType::Block);
        block_vol.path = Some("/dev/vg/lv".into());
        block_vol.readonly = true;
        let mut net_vol = volume("ceph", "img");
        net_vol.actual_type = Some(StorageType::Network);
        let disks = vec![
            disk(Some(file_vol)),
            disk(Some(block_vol)),
            disk(Some(net_vol)),
        ];
        // No pool definitions at all: none is read.
        let (got, warnings) =
            run_full(disks.clone(), &Settings::safe(), &FakeHost::default()).unwrap();
        assert_eq!(got, ["/srv/translated/v rwk", "/dev/vg/lv rk +quiet-deny"]);
        assert!(warnings.is_empty(), "{warnings:?}");
        // libvirt 9.0's parser ignores actualType and the path: nothing.
        let (got, _) = run_full(disks, &compat(), &FakeHost::default()).unwrap();
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn a_pool_over_etc_is_refused_by_the_path_checks() {
        let pools = Pools::new();
        pools.write(ETC, "evil", &pool_xml("dir", "evil", "", "/etc"));
        let mut d = domain("vm");
        d.devices.disks = vec![disk(Some(volume("evil", "shadow")))];
        let host = pools.host();
        let (got, _) = run_full(d.devices.disks.clone(), &Settings::safe(), &host).unwrap();
        assert_eq!(got, ["/etc/shadow rwk"]);
        let e = crate::pipeline::policy_for(&d, &Settings::safe(), &host, &[]).unwrap_err();
        assert!(e.to_string().contains("/etc/shadow"), "{e}");
    }

    #[test]
    fn storage_grants_resolve_volumes_too() {
        let pools = Pools::new();
        pools.write(ETC, "p", &pool_xml("dir", "p", "", "/srv/p"));
        let d = domain("vm");
        let r = crate::resources::storage_grants(
            &d,
            &volume("p", "hot.qcow2"),
            &Settings::safe(),
            &pools.host(),
        );
        assert_eq!(show(&r.grants), ["/srv/p/hot.qcow2 rwk"]);
        let r = crate::resources::storage_grants(
            &d,
            &volume("p", "../x"),
            &Settings::safe(),
            &pools.host(),
        );
        assert!(
            r.grants.is_empty() && r.warnings[0].contains("../x"),
            "{r:?}"
        );
    }
}
