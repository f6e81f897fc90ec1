//! The backing chain walker: pure over an [`ImageFs`], so tests can fake
//! the filesystem.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::domain::{Backing, StorageSource, StorageType};

use super::reader::ImageFs;
use super::{qcow2, qed, vmdk, HeaderError, ProbedChain, ProbedLayer, ReadError};

/// At most this many layers (the top image included), as libvirt's helper:
/// a deeper chain is cut here with a warning and what was found is kept.
pub const MAX_LAYERS: usize = 200;

/// What is known about a layer's format.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fmt {
    /// Declared in the XML or recorded in the header of the layer above.
    Known(String),
    /// A QED header without the "backing is raw" bit: QEMU and libvirt
    /// both probe the format from the file's first bytes.
    Probe,
    /// Not known anywhere: the header is never read.
    Unknown,
}

/// The next layer to visit.
#[derive(Debug)]
struct Pending<'a> {
    /// The path as QEMU opens it: relative names joined to the directory
    /// of the naming image, not canonicalised (later relative names are
    /// resolved against this, as QEMU does).
    named: PathBuf,
    fmt: Fmt,
    /// The XML description of this layer, when it came from the XML.
    xml: Option<&'a StorageSource>,
    /// The canonical path of the layer that named this one (`None` for
    /// the top image).
    parent: Option<String>,
}

/// What reading one layer's header found.
#[derive(Debug, Default)]
struct HeaderInfo {
    backing: Option<(String, Fmt)>,
    data_file: Option<String>,
    needs_data_file: bool,
    extents: Vec<String>,
}

/// Walks the chain below `top`. See the module documentation of
/// [`crate::image`] for the rules.
pub fn walk_chain(top: &StorageSource, fs: &dyn ImageFs) -> ProbedChain {
    let mut chain = ProbedChain::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut pending = xml_pending(top, None);
    while let Some(cur) = pending.take() {
        let shown = cur.named.display().to_string();
        if chain.layers.len() >= MAX_LAYERS {
            let last = chain.layers.last().map(|l| l.path.as_str()).unwrap_or("");
            chain.warnings.push(format!(
                "backing chain is deeper than {MAX_LAYERS} layers: stopped after {last}; \
                 {shown} and the layers below it get no rules"
            ));
            break;
        }
        let (path, exists) = match fs.canonicalize(&cur.named) {
            Ok(p) => match p.to_str() {
                Some(s) => (s.to_owned(), true),
                None => {
                    chain.warnings.push(format!(
                        "{shown} resolves to a path that is not UTF-8; it and the layers below \
                         it get no rules"
                    ));
                    break;
                }
            },
            Err(_) => (shown.clone(), false),
        };
        if !seen.insert(path.clone()) {
            chain.warnings.push(format!(
                "backing chain loop: {} names {path}, which is already in the chain; stopping",
                cur.parent.as_deref().unwrap_or("the domain")
            ));
            break;
        }
        if !exists {
            match (&cur.parent, cur.xml) {
                // As libvirt: a backing file a header names that does not
                // exist ends the chain, and gets no rule.
                (Some(p), None) => {
                    chain.warnings.push(format!(
                        "backing file {path} (named by {p}) does not exist; the chain stops \
                         there and it gets no rule"
                    ));
                    break;
                }
                (Some(p), Some(_)) => chain.warnings.push(format!(
                    "backing file {path} (named by {p}) does not exist; its rule is emitted anyway"
                )),
                (None, _) => chain.warnings.push(format!(
                    "image {path} does not exist; its rule is emitted anyway"
                )),
            }
        }
        if let (Fmt::Unknown, Some(p), true, None) = (&cur.fmt, &cur.parent, exists, cur.xml) {
            chain.warnings.push(format!(
                "the format of {path} (named by {p}) is not recorded in its header; its own \
                 header is not read, so a backing file it may have is not followed (declare it \
                 with <backingStore> and <format> to follow it)"
            ));
        }

        let is_dir = cur.xml.is_some_and(|x| x.kind == StorageType::Dir);
        let format = match &cur.fmt {
            Fmt::Known(f) => Some(f.clone()),
            Fmt::Probe if exists && !is_dir => Some(probe_format(fs, Path::new(&path))),
            Fmt::Probe | Fmt::Unknown => None,
        };
        let mut info = HeaderInfo::default();
        if let (Some(f), true, false) = (&format, exists, is_dir) {
            match read_header(fs, Path::new(&path), f) {
                Ok(Some(i)) => info = i,
                Ok(None) => {}
                Err(e) => chain.warnings.push(format!(
                    "cannot read the {f} header of {path}: {e}; a backing file it may have is \
                     not followed"
                )),
            }
        }

        let dir = cur
            .named
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        // The data file: the XML's <dataStore> wins over the header.
        let xml_data = cur
            .xml
            .and_then(|x| x.data_store.as_deref())
            .filter(|d| d.kind.is_local())
            .and_then(|d| d.path.clone());
        let data_file = match (xml_data, &info.data_file) {
            (Some(d), _) => Some(resolve(fs, &dir, &d).0),
            (None, Some(name)) => {
                if is_protocol(name) {
                    chain.warnings.push(format!(
                        "{path} names data file {name}, which is not a local file; no rule"
                    ));
                    None
                } else {
                    Some(resolve(fs, &dir, name).0)
                }
            }
            (None, None) => {
                if info.needs_data_file {
                    chain.warnings.push(format!(
                        "{path} needs an external data file that neither its header nor the \
                         XML names; no rule for it"
                    ));
                }
                None
            }
        };
        let mut extents: Vec<String> = Vec::new();
        for e in &info.extents {
            if is_protocol(e) {
                continue;
            }
            let (p, _) = resolve(fs, &dir, e);
            if p != path && !extents.contains(&p) {
                extents.push(p);
            }
        }
        chain.layers.push(ProbedLayer {
            path: path.clone(),
            format,
            data_file,
            extents,
        });

        // The next layer: the XML wins; otherwise the header.
        pending = match cur.xml.map(|x| &x.backing) {
            Some(Backing::None) => None,
            Some(Backing::Layer(next)) => xml_pending(next, Some(path)),
            Some(Backing::Unknown) | None => match info.backing {
                None => None,
                Some((name, _)) if is_protocol(&name) => {
                    chain.warnings.push(format!(
                        "{path} names backing file {name}, which is not a local file; not followed"
                    ));
                    None
                }
                Some((name, fmt)) => Some(Pending {
                    named: join(&dir, &name),
                    fmt,
                    xml: None,
                    parent: Some(path),
                }),
            },
        };
    }
    chain
}

fn xml_pending(src: &StorageSource, parent: Option<String>) -> Option<Pending<'_>> {
    if !src.kind.is_local() {
        return None;
    }
    let path = src.path.as_deref().filter(|p| !p.is_empty())?;
    Some(Pending {
        named: PathBuf::from(path),
        fmt: match src.format.as_deref() {
            Some(f) if !f.is_empty() && f != "none" && f != "auto" => Fmt::Known(f.to_owned()),
            _ => Fmt::Unknown,
        },
        xml: Some(src),
        parent,
    })
}

/// `name` joined to `dir` unless it is absolute.
fn join(dir: &Path, name: &str) -> PathBuf {
    let p = Path::new(name);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

/// Joined and canonicalised when it exists; the joined path otherwise.
fn resolve(fs: &dyn ImageFs, dir: &Path, name: &str) -> (String, bool) {
    let joined = join(dir, name);
    match fs
        .canonicalize(&joined)
        .ok()
        .and_then(|p| p.to_str().map(str::to_owned))
    {
        Some(p) => (p, true),
        None => (joined.display().to_string(), false),
    }
}

/// QEMU protocol names (`nbd://…`, `json:{…}`, `rbd:pool/img`, …): not
/// host files, never granted or followed.
fn is_protocol(name: &str) -> bool {
    if name.starts_with("json:") || name.contains("://") {
        return true;
    }
    const PROTOCOLS: &[&str] = &[
        "nbd", "nbd+unix", "rbd", "gluster", "iscsi", "sheepdog", "ssh", "http", "https", "ftp",
        "ftps", "nfs", "vxhs",
    ];
    match name.split_once(':') {
        Some((proto, _)) => !proto.contains('/') && PROTOCOLS.contains(&proto),
        None => false,
    }
}

/// libvirt's probe: the format from the magic of the first bytes; anything
/// unrecognised is raw (whose header is then never read).
fn probe_format(fs: &dyn ImageFs, path: &Path) -> String {
    let head = fs.read_at(path, 0, 64).unwrap_or_default();
    let f = if head.starts_with(b"QFI\xfb") {
        "qcow2"
    } else if head.starts_with(b"QED\0") {
        "qed"
    } else if head.starts_with(b"KDMV") || head.starts_with(b"# Disk DescriptorFile") {
        "vmdk"
    } else {
        "raw"
    };
    f.to_owned()
}

/// Bytes read first: the header, its extensions and the backing name of
/// images made by QEMU fit in well under this.
const FIRST_READ: usize = 4096;

/// Parses the first [`FIRST_READ`] bytes; only when the header points
/// beyond them (and the file is longer) reads again, up to `limit` bytes.
fn read_and_parse<T>(
    fs: &dyn ImageFs,
    path: &Path,
    limit: usize,
    parse: fn(&[u8]) -> Result<T, HeaderError>,
) -> Result<T, String> {
    let buf = fs.read_at(path, 0, FIRST_READ).map_err(|e| e.to_string())?;
    match parse(&buf) {
        Err(HeaderError::Truncated { .. } | HeaderError::OutOfRange { .. })
            if buf.len() == FIRST_READ =>
        {
            let buf = fs.read_at(path, 0, limit).map_err(|e| e.to_string())?;
            parse(&buf).map_err(|e| e.to_string())
        }
        other => other.map_err(|e| e.to_string()),
    }
}

/// Reads and parses the header of a layer of known format. `Ok(None)` for
/// formats we never read (raw above all) or do not parse.
fn read_header(fs: &dyn ImageFs, path: &Path, format: &str) -> Result<Option<HeaderInfo>, String> {
    let err = |e: ReadError| e.to_string();
    match format {
        "qcow2" => {
            let h = read_and_parse(fs, path, qcow2::READ_LIMIT, qcow2::parse)?;
            Ok(Some(HeaderInfo {
                backing: h.backing_file.map(|b| {
                    let fmt = h.backing_format.map_or(Fmt::Unknown, Fmt::Known);
                    (b, fmt)
                }),
                data_file: h.data_file,
                needs_data_file: h.has_external_data_file,
                extents: Vec::new(),
            }))
        }
        "qed" => {
            let h = read_and_parse(fs, path, qed::READ_LIMIT, qed::parse)?;
            Ok(Some(HeaderInfo {
                backing: h.backing_file.map(|b| {
                    let fmt = if h.backing_is_raw {
                        Fmt::Known("raw".to_owned())
                    } else {
                        Fmt::Probe
                    };
                    (b, fmt)
                }),
                ..HeaderInfo::default()
            }))
        }
        "vmdk" => {
            let head = fs.read_at(path, 0, vmdk::HEADER_READ).map_err(err)?;
            let desc = if vmdk::is_sparse(&head) {
                let h = vmdk::parse_sparse_header(&head).map_err(|e| e.to_string())?;
                if h.descriptor_len == 0 {
                    return Ok(Some(HeaderInfo::default()));
                }
                fs.read_at(path, h.descriptor_offset, h.descriptor_len)
                    .map_err(err)?
            } else {
                let size = fs.size(path).map_err(err)?;
                if size > vmdk::MAX_DESCRIPTOR as u64 {
                    return Err(err(ReadError::TooLarge {
                        what: "VMDK descriptor file",
                        limit: vmdk::MAX_DESCRIPTOR as u64,
                    }));
                }
                let buf = fs.read_at(path, 0, vmdk::MAX_DESCRIPTOR + 1).map_err(err)?;
                if buf.len() > vmdk::MAX_DESCRIPTOR {
                    return Err(err(ReadError::TooLarge {
                        what: "VMDK descriptor file",
                        limit: vmdk::MAX_DESCRIPTOR as u64,
                    }));
                }
                buf
            };
            let d = vmdk::parse_descriptor(&desc).map_err(|e| e.to_string())?;
            Ok(Some(HeaderInfo {
                // A VMDK parent hint records no format.
                backing: d.parent.map(|p| (p, Fmt::Unknown)),
                extents: d.extents.into_iter().map(|e| e.file).collect(),
                ..HeaderInfo::default()
            }))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names() {
        assert!(is_protocol("nbd://host/x"));
        assert!(is_protocol("json:{}"));
        assert!(is_protocol("rbd:pool/img"));
        assert!(!is_protocol("/var/lib/a:b.qcow2"));
        assert!(!is_protocol("base.qcow2"));
        assert!(!is_protocol("dir/nbd:x"));
    }
}
