//! What libvirt has defined on this host: the domains whose definitions it
//! keeps (persistent, `/etc/libvirt/<driver>/*.xml`) and the ones it runs
//! (`/run/libvirt/<driver>/*.xml`, a `<domstatus>` around the live
//! `<domain>`). `svirt gc`, `svirt audit` and `svirt explain` ask this
//! module which UUIDs are defined and what a VM is called.
//!
//! Only the `<name>` and `<uuid>` of each file are read, so a definition
//! svirt's own parser would refuse still counts as defined: deciding that a
//! domain is gone must never depend on understanding all of it.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use roxmltree::{Document, Node, ParsingOptions};

use crate::domain::{DomainUuid, Limits};

/// Most definition files read from one directory.
pub const MAX_FILES_PER_DIR: usize = 100_000;

/// Where libvirt keeps definitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionDirs {
    /// Persistent definitions (`/etc/libvirt/qemu`, `/etc/libvirt/lxc`).
    pub persistent: Vec<PathBuf>,
    /// Running domains' live state (`/run/libvirt/qemu`, `/run/libvirt/lxc`).
    pub running: Vec<PathBuf>,
}

impl Default for DefinitionDirs {
    fn default() -> Self {
        DefinitionDirs::under("/etc/libvirt", "/run/libvirt")
    }
}

impl DefinitionDirs {
    /// The QEMU and LXC directories under a configuration and a state root.
    pub fn under(config: impl AsRef<Path>, state: impl AsRef<Path>) -> Self {
        let (config, state) = (config.as_ref(), state.as_ref());
        DefinitionDirs {
            persistent: vec![config.join("qemu"), config.join("lxc")],
            running: vec![state.join("qemu"), state.join("lxc")],
        }
    }
}

/// Whether a definition is kept or running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Persistent,
    Running,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Persistent => "persistent",
            Kind::Running => "running",
        }
    }
}

/// One definition file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defined {
    pub uuid: DomainUuid,
    pub name: String,
    pub kind: Kind,
    pub path: PathBuf,
}

/// A definition file that could not be read or identified. Callers that
/// delete things must treat its domain as defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unidentified {
    pub path: PathBuf,
    pub reason: String,
}

/// Every definition found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Definitions {
    pub domains: Vec<Defined>,
    pub unidentified: Vec<Unidentified>,
}

/// Why the definitions could not be listed at all.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("cannot list {path}: {source}")]
    List {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds more than {limit} files")]
    TooMany { path: PathBuf, limit: usize },
}

impl Definitions {
    /// Reads every `*.xml` directly in the given directories. A directory
    /// that does not exist is empty (libvirt not installed, or no driver);
    /// one that exists but cannot be listed is an error, because then
    /// nothing can be said about what is defined.
    pub fn scan(dirs: &DefinitionDirs) -> Result<Definitions, ScanError> {
        let mut out = Definitions::default();
        let all = dirs
            .persistent
            .iter()
            .map(|d| (d, Kind::Persistent))
            .chain(dirs.running.iter().map(|d| (d, Kind::Running)));
        for (dir, kind) in all {
            out.scan_dir(dir, kind)?;
        }
        Ok(out)
    }

    fn scan_dir(&mut self, dir: &Path, kind: Kind) -> Result<(), ScanError> {
        let list_error = |source| ScanError::List {
            path: dir.to_owned(),
            source,
        };
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(list_error(e)),
        };
        let mut paths = Vec::new();
        for entry in entries {
            let entry = entry.map_err(list_error)?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "xml")
                && entry.file_type().is_ok_and(|t| t.is_file())
            {
                if paths.len() == MAX_FILES_PER_DIR {
                    return Err(ScanError::TooMany {
                        path: dir.to_owned(),
                        limit: MAX_FILES_PER_DIR,
                    });
                }
                paths.push(path);
            }
        }
        paths.sort();
        for path in paths {
            match read_limited(&path).and_then(|xml| identify(&xml)) {
                Ok((uuid, name)) => self.domains.push(Defined {
                    uuid,
                    name,
                    kind,
                    path,
                }),
                Err(reason) => self.unidentified.push(Unidentified { path, reason }),
            }
        }
        Ok(())
    }

    /// Whether any definition (persistent or running) has this UUID.
    pub fn is_defined(&self, uuid: &DomainUuid) -> bool {
        self.domains.iter().any(|d| &d.uuid == uuid)
    }

    /// The definitions with this UUID, running ones first.
    pub fn by_uuid(&self, uuid: &DomainUuid) -> Vec<&Defined> {
        let mut found: Vec<&Defined> = self.domains.iter().filter(|d| &d.uuid == uuid).collect();
        found.sort_by_key(|d| d.kind != Kind::Running);
        found
    }

    /// The VM's name, if any definition has this UUID.
    pub fn name_of(&self, uuid: &DomainUuid) -> Option<&str> {
        self.by_uuid(uuid).first().map(|d| d.name.as_str())
    }

    /// The running domains.
    pub fn running(&self) -> impl Iterator<Item = &Defined> {
        self.domains.iter().filter(|d| d.kind == Kind::Running)
    }
}

fn read_limited(path: &Path) -> Result<String, String> {
    let limit = Limits::default().max_bytes;
    let file = fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() > limit {
        return Err(format!("larger than the {limit}-byte limit"));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())
}

fn parse_limited(xml: &str) -> Result<Document<'_>, String> {
    let limits = Limits::default();
    crate::domain::check_nesting(xml, limits.max_depth).map_err(|e| e.to_string())?;
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: limits.max_nodes,
    };
    Document::parse_with_options(xml, options).map_err(|e| e.to_string())
}

/// The `<domain>` element of a definition or of a `<domstatus>`.
fn domain_element<'a, 'i>(doc: &'a Document<'i>) -> Result<Node<'a, 'i>, String> {
    let root = doc.root_element();
    match root.tag_name().name() {
        "domain" => Ok(root),
        "domstatus" => root
            .children()
            .find(|n| n.has_tag_name("domain"))
            .ok_or_else(|| "a <domstatus> without a <domain>".to_owned()),
        other => Err(format!("the root element is <{other}>, not <domain>")),
    }
}

fn child_text<'a>(node: Node<'a, '_>, tag: &str) -> Option<&'a str> {
    node.children().find(|n| n.has_tag_name(tag))?.text()
}

/// The UUID and name of a domain definition or live state file.
pub fn identify(xml: &str) -> Result<(DomainUuid, String), String> {
    let doc = parse_limited(xml)?;
    let domain = domain_element(&doc)?;
    let uuid = child_text(domain, "uuid").ok_or("no <uuid>")?;
    let uuid = DomainUuid::parse(uuid).map_err(|e| e.to_string())?;
    let name = child_text(domain, "name").ok_or("no <name>")?.trim();
    Ok((uuid, name.to_owned()))
}

/// The `<domain>` text of a definition file: the whole file, or the live
/// domain inside a `<domstatus>`.
pub fn domain_xml(path: &Path) -> Result<String, String> {
    let xml = read_limited(path)?;
    let doc = parse_limited(&xml)?;
    let range = domain_element(&doc)?.range();
    Ok(xml[range].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "00000000-0000-0000-0000-00000000000a";
    const B: &str = "00000000-0000-0000-0000-00000000000b";

    fn domain(name: &str, uuid: &str) -> String {
        format!("<domain type='kvm'><name>{name}</name><uuid>{uuid}</uuid></domain>")
    }

    fn uuid(text: &str) -> DomainUuid {
        DomainUuid::parse(text).unwrap()
    }

    #[test]
    fn persistent_and_running_definitions_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = DefinitionDirs::under(dir.path().join("etc"), dir.path().join("run"));
        fs::create_dir_all(&dirs.persistent[0]).unwrap();
        fs::create_dir_all(dirs.running[0].join("autostart")).unwrap();
        fs::write(dirs.persistent[0].join("web.xml"), domain("web", A)).unwrap();
        fs::write(dirs.persistent[0].join("notes.txt"), domain("x", B)).unwrap();
        let status = format!(
            "<domstatus state='running' pid='7'><monitor path='/x'/>{}</domstatus>",
            domain("db", B)
        );
        fs::write(dirs.running[0].join("db.xml"), &status).unwrap();
        fs::write(dirs.running[0].join("broken.xml"), "<domain>").unwrap();

        let defs = Definitions::scan(&dirs).unwrap();
        assert_eq!(defs.domains.len(), 2, "{defs:?}");
        assert!(defs.is_defined(&uuid(A)));
        assert_eq!(defs.name_of(&uuid(B)), Some("db"));
        assert_eq!(defs.running().count(), 1);
        assert_eq!(defs.unidentified.len(), 1);
        assert!(defs.unidentified[0].path.ends_with("broken.xml"));
        let live = domain_xml(&dirs.running[0].join("db.xml")).unwrap();
        assert_eq!(live, domain("db", B));
    }

    #[test]
    fn missing_directories_are_empty_and_unlistable_ones_fail() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = DefinitionDirs::under(dir.path().join("none"), dir.path().join("none2"));
        assert_eq!(Definitions::scan(&dirs).unwrap(), Definitions::default());
        // A file where a directory should be cannot be listed.
        fs::write(dir.path().join("file"), "").unwrap();
        let dirs = DefinitionDirs {
            persistent: vec![dir.path().join("file")],
            running: vec![],
        };
        assert!(Definitions::scan(&dirs).is_err());
    }

    #[test]
    fn identification_refuses_what_is_not_a_domain() {
        assert!(identify("<network><name>n</name></network>").is_err());
        assert!(identify("<domain><name>n</name></domain>").is_err());
        assert!(identify("<domain><name>n</name><uuid>zz</uuid></domain>").is_err());
        let dtd = "<!DOCTYPE d [<!ENTITY e 'x'>]><domain/>";
        assert!(identify(dtd).is_err());
        let deep = "<a>".repeat(10_000);
        assert!(identify(&deep).is_err());
        let (u, n) = identify(&domain(" web ", A)).unwrap();
        assert_eq!((u, n.as_str()), (uuid(A), "web"));
    }
}
