//! libvirt's storage pool definitions, read only to resolve a
//! `<disk type='volume'>` to the path QEMU opens (issue 12).
//!
//! libvirt 9.0 hands its helper only `<source pool='…' volume='…'/>`; newer
//! libvirt adds the translated path (`actualType` and `file`/`dev`). For the
//! former, the helper looks the pool up in libvirt's own definitions: the
//! live one (`/run/libvirt/storage/<pool>.xml`) first, then the persistent
//! one (`/etc/libvirt/storage/<pool>.xml`), and nothing else. Only root
//! (libvirtd) writes those files; the path a volume resolves to still goes
//! through every check a disk path does.

use roxmltree::{Document, ParsingOptions};

/// The directories pool definitions are read from, live ones first.
pub const POOL_DIRS: [&str; 2] = ["/run/libvirt/storage", "/etc/libvirt/storage"];

/// Largest pool definition read, in bytes (libvirt's are a few hundred).
pub const MAX_POOL_XML_BYTES: u64 = 256 * 1024;

/// Most XML nodes accepted in a pool definition.
pub const MAX_POOL_XML_NODES: u32 = 10_000;

/// What svirt needs from a pool definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolDef {
    /// `<pool type=…>`: `dir`, `fs`, `netfs`, `logical`, `iscsi`, `rbd`, …
    pub kind: String,
    /// `<target><path>`.
    pub target_path: Option<String>,
    /// `<source><name>` (a logical pool's volume group).
    pub source_name: Option<String>,
    /// The file the definition was read from, for messages.
    pub file: String,
}

/// Where a volume of a pool lives, as libvirt's storage backends name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumePath {
    /// A file (or directory) in a `dir`, `fs` or `netfs` pool.
    File(String),
    /// A logical volume: `/dev/<volume group>/<volume>`.
    Block(String),
    /// Not a host path svirt can name (why, for the warning).
    Unresolved(String),
}

impl PoolDef {
    /// The host path of `volume` (a single path component, checked by the
    /// caller) in this pool.
    pub fn volume_path(&self, pool: &str, volume: &str) -> VolumePath {
        match self.kind.as_str() {
            "dir" | "fs" | "netfs" => match self.target_path.as_deref() {
                Some(t) if t.starts_with('/') => {
                    let t = t.trim_end_matches('/');
                    VolumePath::File(format!("{t}/{volume}"))
                }
                Some(t) => VolumePath::Unresolved(format!(
                    "its target path {t:?} in {} is not absolute",
                    self.file
                )),
                None => VolumePath::Unresolved(format!("{} names no target path", self.file)),
            },
            // libvirt ignores a logical pool's <target><path>: the volume
            // group's directory is /dev/<source name>, the source name
            // defaulting to the pool's name.
            "logical" => {
                let vg = self.source_name.as_deref().unwrap_or(pool);
                match crate::policy::path::check_component(vg) {
                    Ok(()) => VolumePath::Block(format!("/dev/{vg}/{volume}")),
                    Err(reason) => VolumePath::Unresolved(format!(
                        "its volume group name {vg:?} in {} is not one path component: {reason}",
                        self.file
                    )),
                }
            }
            other => VolumePath::Unresolved(format!(
                "svirt resolves volumes of dir, fs, netfs and logical pools only, not {other:?}"
            )),
        }
    }
}

/// Parses a pool definition (`file` is only used in messages). No DTD, at
/// most [`MAX_POOL_XML_NODES`] nodes.
pub fn parse(xml: &str, file: &str) -> Result<PoolDef, String> {
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_POOL_XML_NODES,
    };
    let doc = Document::parse_with_options(xml, options)
        .map_err(|e| format!("{file}: not a pool definition: {e}"))?;
    let mut root = doc.root_element();
    // The live definition is libvirt's state file: the pool wrapped in
    // <poolstate> (virStoragePoolSaveState).
    if root.tag_name().name() == "poolstate" {
        root = root
            .children()
            .find(|n| n.is_element() && n.tag_name().name() == "pool")
            .ok_or_else(|| format!("{file}: <poolstate> holds no <pool>"))?;
    }
    if root.tag_name().name() != "pool" {
        return Err(format!(
            "{file}: not a pool definition: the root element is <{}>",
            root.tag_name().name()
        ));
    }
    let kind = root
        .attribute("type")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("{file}: the pool has no type"))?
        .to_owned();
    fn child<'a, 'i>(
        parent: roxmltree::Node<'a, 'i>,
        name: &str,
    ) -> Option<roxmltree::Node<'a, 'i>> {
        parent
            .children()
            .find(|n| n.is_element() && n.tag_name().name() == name)
    }
    fn text(node: Option<roxmltree::Node<'_, '_>>) -> Option<String> {
        node.and_then(|n| n.text())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    }
    let target_path = text(child(root, "target").and_then(|t| child(t, "path")));
    let source_name = text(child(root, "source").and_then(|s| child(s, "name")));
    Ok(PoolDef {
        kind,
        target_path,
        source_name,
        file: file.to_owned(),
    })
}

/// Reads pool `name`'s definition from [`POOL_DIRS`] under `root` (`/` on
/// a real host): the first file that exists wins. `Ok(None)` when neither
/// exists. `name` must be one path component (checked by the caller).
pub fn read(root: &std::path::Path, name: &str) -> Result<Option<PoolDef>, String> {
    use std::io::Read;
    for dir in POOL_DIRS {
        let shown = format!("{dir}/{name}.xml");
        let path = root.join(shown.trim_start_matches('/'));
        // Only a regular file is opened, and without blocking, so a FIFO
        // (or one swapped in after the check) never hangs the helper.
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(format!("{shown} is not a regular file")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read {shown}: {e}")),
        }
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(crate::image::reader::OPEN_FLAGS)
                .open(&path)
                .map_err(|e| format!("cannot read {shown}: {e}"))?
        };
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot read {shown}: {e}"))?;
        if !meta.is_file() {
            return Err(format!("{shown} is not a regular file"));
        }
        let mut text = String::new();
        file.take(MAX_POOL_XML_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read {shown}: {e}"))?;
        if text.len() as u64 > MAX_POOL_XML_BYTES {
            return Err(format!("{shown} is larger than {MAX_POOL_XML_BYTES} bytes"));
        }
        return parse(&text, &shown).map(Some);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(kind: &str, target: Option<&str>, source: Option<&str>) -> PoolDef {
        PoolDef {
            kind: kind.into(),
            target_path: target.map(Into::into),
            source_name: source.map(Into::into),
            file: "/etc/libvirt/storage/p.xml".into(),
        }
    }

    #[test]
    fn parses_type_target_and_source_name() {
        let p = parse(
            "<pool type='logical'><name>vg</name><source><name>vg0</name>\
             <device path='/dev/sdb'/></source><target><path>/dev/vg0</path></target></pool>",
            "f",
        )
        .unwrap();
        assert_eq!(p.kind, "logical");
        assert_eq!(p.source_name.as_deref(), Some("vg0"));
        assert_eq!(p.target_path.as_deref(), Some("/dev/vg0"));
    }

    #[test]
    fn reads_the_live_state_file() {
        // What libvirt 9.0 writes to /run/libvirt/storage/<pool>.xml.
        let p = parse(
            "<poolstate>\n  <pool type='dir'>\n    <name>e2e-pool</name>\n    \
             <target>\n      <path>/var/lib/libvirt/images/e2e-pool</path>\n    \
             </target>\n  </pool>\n</poolstate>\n",
            "f",
        )
        .unwrap();
        assert_eq!(p.kind, "dir");
        assert_eq!(
            p.target_path.as_deref(),
            Some("/var/lib/libvirt/images/e2e-pool")
        );
        assert!(parse("<poolstate/>", "f")
            .unwrap_err()
            .contains("no <pool>"));
    }

    #[test]
    fn refuses_dtds_other_roots_and_typeless_pools() {
        let dtd = "<!DOCTYPE pool [<!ENTITY x 'y'>]><pool type='dir'/>";
        assert!(parse(dtd, "f")
            .unwrap_err()
            .contains("not a pool definition"));
        assert!(parse("<domain type='kvm'/>", "f")
            .unwrap_err()
            .contains("root element is <domain>"));
        assert!(parse("<pool/>", "f").unwrap_err().contains("no type"));
        let many = format!("<pool type='dir'>{}</pool>", "<x/>".repeat(20_000));
        assert!(parse(&many, "f").is_err());
    }

    #[test]
    fn volume_paths_follow_libvirts_backends() {
        assert_eq!(
            def("dir", Some("/srv/pool/"), None).volume_path("p", "v.qcow2"),
            VolumePath::File("/srv/pool/v.qcow2".into())
        );
        assert_eq!(
            def("netfs", Some("/mnt/nfs"), Some("export")).volume_path("p", "v"),
            VolumePath::File("/mnt/nfs/v".into())
        );
        assert_eq!(
            def("fs", Some("/"), None).volume_path("p", "v"),
            VolumePath::File("/v".into())
        );
        assert_eq!(
            def("logical", Some("/ignored"), Some("vg0")).volume_path("p", "lv"),
            VolumePath::Block("/dev/vg0/lv".into())
        );
        assert_eq!(
            def("logical", None, None).volume_path("p", "lv"),
            VolumePath::Block("/dev/p/lv".into())
        );
        for bad in [
            def("logical", None, Some("..")),
            def("dir", None, None),
            def("dir", Some("relative"), None),
            def("rbd", None, Some("rbdpool")),
            def("iscsi", Some("/dev/disk/by-path"), None),
        ] {
            assert!(
                matches!(bad.volume_path("p", "v"), VolumePath::Unresolved(_)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn read_prefers_the_live_definition_and_caps_the_size() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let write = |rel: &str, text: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        assert_eq!(read(root, "p").unwrap(), None);
        write(
            "etc/libvirt/storage/p.xml",
            "<pool type='dir'><target><path>/etc-one</path></target></pool>",
        );
        let p = read(root, "p").unwrap().unwrap();
        assert_eq!(p.target_path.as_deref(), Some("/etc-one"));
        assert_eq!(p.file, "/etc/libvirt/storage/p.xml");
        write(
            "run/libvirt/storage/p.xml",
            "<pool type='dir'><target><path>/live</path></target></pool>",
        );
        let p = read(root, "p").unwrap().unwrap();
        assert_eq!(p.target_path.as_deref(), Some("/live"));
        assert_eq!(p.file, "/run/libvirt/storage/p.xml");
        write(
            "etc/libvirt/storage/big.xml",
            &format!(
                "<pool type='dir'><!--{}--></pool>",
                "x".repeat(MAX_POOL_XML_BYTES as usize)
            ),
        );
        assert!(read(root, "big").unwrap_err().contains("larger than"));
        std::fs::create_dir_all(root.join("etc/libvirt/storage/d.xml")).unwrap();
        assert!(read(root, "d").is_err());
    }
}
