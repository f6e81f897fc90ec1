//! XML → [`Domain`]: a bounded walk over untrusted domain XML.
//!
//! The input is checked against [`Limits`] in three places: its length and
//! its element nesting (a byte scan, see [`check_nesting`]) before anything is
//! parsed, and its node count while roxmltree builds the tree. DTDs are
//! refused outright, so entity expansion never happens. After that the
//! checks follow the order of libvirt's helper (root element, `<name>`,
//! `<uuid>`, `type`, `<os><type>`), then every device is read into the typed
//! model.
//!
//! Reading rules, applied everywhere:
//! - elements are matched by local name; unknown elements and attributes are
//!   ignored; where an element may appear once, the first one wins;
//! - an attribute or element text that is empty (or, for text, only
//!   whitespace) counts as absent, as it does for libvirt's XPath lookups;
//!   any other text is kept exactly as written;
//! - numbers are unsigned integers in C "base 0" form (`0x` hex, a leading
//!   `0` for octal, else decimal), except the domain `id`, which is a signed
//!   decimal;
//! - a value that cannot be understood is an error naming the element, the
//!   attribute and the value, never a silent default.

use roxmltree::{Document, Node, ParsingOptions};

use super::model::{
    AcpiTable, Backing, CharDev, CharDevKind, Devices, Disk, Domain, Filesystem, FwCfgEntry,
    Graphics, HostDev, HostDevSource, Input, Interface, Loader, MemoryDevice, Nvram, Os,
    PciAddress, SecLabel, SecLabelType, Shmem, ShmemServer, Smartcard, StorageSource, StorageType,
    Tpm, TpmBackend, Vsock,
};
use super::uuid::{DomainUuid, UuidError};

/// Largest document accepted, in bytes: libvirt's helper reads at most 10 MiB.
pub const MAX_XML_BYTES: usize = 10 * 1024 * 1024;

/// Largest number of XML nodes (elements, text, comments, …) accepted.
pub const MAX_XML_NODES: u32 = 1_000_000;

/// Deepest element nesting accepted; `<domain>` itself is depth 1. Deep
/// enough for a [`MAX_BACKING_CHAIN_DEPTH`]-layer `<backingStore>` chain.
pub const MAX_XML_DEPTH: usize = 512;

/// Most `<backingStore>` layers accepted below one disk: libvirt probes at
/// most 200 layers; the XML may declare a few more before we call it abuse.
pub const MAX_BACKING_CHAIN_DEPTH: usize = 256;

/// `<os><type>` values libvirt knows.
pub const KNOWN_OS_TYPES: &[&str] = &["hvm", "xen", "linux", "exe", "uml", "xenpvh"];

/// `<domain type>` values libvirt knows.
pub const KNOWN_VIRT_TYPES: &[&str] = &[
    "none",
    "qemu",
    "kqemu",
    "kvm",
    "xen",
    "lxc",
    "uml",
    "openvz",
    "test",
    "vmware",
    "hyperv",
    "vbox",
    "phyp",
    "parallels",
    "bhyve",
    "vz",
    "hvf",
    "ch",
];

/// Input limits for untrusted domain XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest document accepted, in bytes (libvirt: 10 MiB).
    pub max_bytes: usize,
    /// Largest number of XML nodes.
    pub max_nodes: u32,
    /// Deepest element nesting. roxmltree recurses once per level, so this
    /// also bounds the parser's stack use: keep it in the hundreds.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: MAX_XML_BYTES,
            max_nodes: MAX_XML_NODES,
            max_depth: MAX_XML_DEPTH,
        }
    }
}

/// Why a domain definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("domain XML is too large: {actual} bytes, more than the limit of {limit} bytes")]
    TooLarge { limit: usize, actual: usize },
    #[error("domain XML has too many nodes: more than the limit of {limit}")]
    TooManyNodes { limit: u32 },
    #[error(
        "domain XML is nested too deeply: <{element}> is at depth {actual}, \
         deeper than the limit of {limit}"
    )]
    TooDeep {
        limit: usize,
        actual: usize,
        element: String,
    },
    #[error(
        "domain XML contains a DTD (<!DOCTYPE> with declarations); \
         DTDs and entity definitions are not accepted"
    )]
    DtdNotAllowed,
    #[error("domain XML is malformed: {0}")]
    Malformed(#[source] roxmltree::Error),
    #[error("the root element is <{0}>, but a domain definition must start with <domain>")]
    NotDomain(String),
    #[error("could not find <name> in the domain XML")]
    MissingName,
    #[error("could not find <uuid> in the domain XML")]
    MissingUuid,
    #[error("invalid <uuid>: {0}")]
    InvalidUuid(#[source] UuidError),
    #[error("domain type is not defined: <domain> has no type attribute")]
    MissingVirtType,
    #[error("unknown virtualization type {0:?} in <domain type>")]
    UnknownVirtType(String),
    #[error("os.type is not defined: <os><type> is missing or empty")]
    MissingOsType,
    #[error("unknown OS type {0:?} in <os><type>")]
    UnknownOsType(String),
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidValue {
        what: String,
        value: String,
        reason: &'static str,
    },
    #[error("{what} has no {missing}")]
    Missing { what: String, missing: &'static str },
    #[error("more than one {0} element; only one is supported")]
    Duplicate(&'static str),
    #[error("backing chain of {what} is more than {limit} <backingStore> layers deep")]
    BackingChainTooDeep { what: String, limit: usize },
    /// A definition libvirt's parser refuses (see `validate.rs`).
    #[error("invalid {what}: {reason}")]
    Invalid { what: String, reason: String },
}

/// The libvirt message category a [`DomainError`] belongs to, so that a
/// front end can print what libvirt's helper prints for the same input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomainErrorKind {
    /// The input could not be read in full (too large).
    Read,
    /// Not a well-formed `<domain>` document, or over a parse limit.
    Malformed,
    MissingName,
    MissingUuid,
    MissingVirtType,
    MissingOsType,
    UnknownOsType,
    UnknownVirtType,
    /// The document is well formed but a value in it is not acceptable
    /// (libvirt's full domain parser failing).
    Invalid,
}

impl DomainErrorKind {
    /// The detail line libvirt's helper prints for this category, if it has
    /// a fixed one. `Malformed` has none: libvirt prints its XML library's
    /// own text there, so a front end should print the error itself.
    pub fn libvirt_message(self) -> Option<&'static str> {
        match self {
            DomainErrorKind::Read => Some("could not read xml file"),
            DomainErrorKind::Malformed => None,
            DomainErrorKind::MissingName => Some("Could not find <name>"),
            DomainErrorKind::MissingUuid => Some("Could not find <uuid>"),
            DomainErrorKind::MissingVirtType => Some("domain type is not defined"),
            DomainErrorKind::MissingOsType => Some("os.type is not defined"),
            DomainErrorKind::UnknownOsType => Some("unknown OS type"),
            DomainErrorKind::UnknownVirtType => Some("unknown virtualization type"),
            DomainErrorKind::Invalid => Some("could not parse XML"),
        }
    }

    /// The summary line libvirt's helper ends with before exiting 1.
    pub fn libvirt_summary(self) -> &'static str {
        match self {
            DomainErrorKind::Read => "could not read xml file",
            _ => "could not get VM definition",
        }
    }
}

impl DomainError {
    pub fn kind(&self) -> DomainErrorKind {
        match self {
            DomainError::TooLarge { .. } => DomainErrorKind::Read,
            DomainError::TooManyNodes { .. }
            | DomainError::TooDeep { .. }
            | DomainError::DtdNotAllowed
            | DomainError::Malformed(_)
            | DomainError::NotDomain(_) => DomainErrorKind::Malformed,
            DomainError::MissingName => DomainErrorKind::MissingName,
            DomainError::MissingUuid => DomainErrorKind::MissingUuid,
            DomainError::MissingVirtType => DomainErrorKind::MissingVirtType,
            DomainError::MissingOsType => DomainErrorKind::MissingOsType,
            DomainError::UnknownOsType(_) => DomainErrorKind::UnknownOsType,
            DomainError::UnknownVirtType(_) => DomainErrorKind::UnknownVirtType,
            DomainError::InvalidUuid(_)
            | DomainError::InvalidValue { .. }
            | DomainError::Missing { .. }
            | DomainError::Duplicate(_)
            | DomainError::BackingChainTooDeep { .. }
            | DomainError::Invalid { .. } => DomainErrorKind::Invalid,
        }
    }
}

type Result<T> = std::result::Result<T, DomainError>;

/// Parses an untrusted domain definition into the typed model.
pub fn parse_domain(xml: &str, limits: &Limits) -> Result<Domain> {
    if xml.len() > limits.max_bytes {
        return Err(DomainError::TooLarge {
            limit: limits.max_bytes,
            actual: xml.len(),
        });
    }
    check_nesting(xml, limits.max_depth)?;
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: limits.max_nodes,
    };
    let doc = Document::parse_with_options(xml, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => DomainError::DtdNotAllowed,
        roxmltree::Error::NodesLimitReached => DomainError::TooManyNodes {
            limit: limits.max_nodes,
        },
        other => DomainError::Malformed(other),
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "domain" {
        return Err(DomainError::NotDomain(root.tag_name().name().to_owned()));
    }

    // The pre-parse checks, in libvirt's order.
    let name = child(root, "name")
        .and_then(text)
        .ok_or(DomainError::MissingName)?;
    let uuid_text = child(root, "uuid")
        .and_then(text)
        .ok_or(DomainError::MissingUuid)?;
    let virt_type = attr(root, "type").ok_or(DomainError::MissingVirtType)?;
    let os_node = child(root, "os");
    let os_type_node = os_node.and_then(|os| child(os, "type"));
    let os_type = os_type_node
        .and_then(text)
        .ok_or(DomainError::MissingOsType)?;
    if !KNOWN_OS_TYPES.contains(&os_type.as_str()) {
        return Err(DomainError::UnknownOsType(os_type));
    }
    if !KNOWN_VIRT_TYPES.contains(&virt_type.as_str()) {
        return Err(DomainError::UnknownVirtType(virt_type));
    }

    // The full parse.
    let uuid = DomainUuid::parse(&uuid_text).map_err(DomainError::InvalidUuid)?;
    let id = match root.attribute("id") {
        None | Some("") => None,
        Some(v) => Some(
            v.trim()
                .parse::<i64>()
                .map_err(|_| DomainError::InvalidValue {
                    what: "<domain id>".into(),
                    value: v.into(),
                    reason: "expected a decimal integer",
                })?,
        ),
    };

    let mut os = Os {
        os_type,
        ..Os::default()
    };
    if let Some(type_node) = os_type_node {
        os.arch = attr(type_node, "arch");
        os.machine = attr(type_node, "machine");
    }
    if let Some(os_node) = os_node {
        parse_os(os_node, &mut os)?;
    }

    let seclabels = children(root, "seclabel")
        .map(parse_seclabel)
        .collect::<Result<Vec<_>>>()?;

    let mut fw_cfg = Vec::new();
    for sysinfo in children(root, "sysinfo") {
        if sysinfo.attribute("type") != Some("fwcfg") {
            continue;
        }
        for entry in children(sysinfo, "entry") {
            fw_cfg.push(FwCfgEntry {
                name: attr(entry, "name"),
                file: attr(entry, "file"),
            });
        }
    }

    let launch_security = child(root, "launchSecurity").and_then(|n| attr(n, "type"));
    let hugepages = child(root, "memoryBacking")
        .and_then(|mb| child(mb, "hugepages"))
        .is_some();

    let devices = match child(root, "devices") {
        Some(d) => parse_devices(d)?,
        None => Devices::default(),
    };
    super::validate::validate(root, &uuid)?;

    Ok(Domain {
        virt_type,
        id,
        name,
        uuid,
        os,
        seclabels,
        devices,
        fw_cfg,
        launch_security,
        hugepages,
    })
}

// --------------------------------------------------------------- helpers ---

/// Refuses element nesting deeper than `max_depth` (the root element is
/// depth 1) before any tree is built.
///
/// roxmltree's tokenizer recurses once per open element, so a deeply nested
/// document would overflow the stack inside the parser itself; this scan
/// must therefore run first. It is a plain loop over the bytes that skips
/// comments, CDATA, processing instructions, declarations and quoted
/// attribute values. On any prefix roxmltree accepts it counts exactly; on
/// malformed input it may count high (and refuse), never low before the
/// point where roxmltree stops with an error.
fn check_nesting(xml: &str, max_depth: usize) -> Result<()> {
    let b = xml.as_bytes();
    let mut i = 0;
    let mut depth = 0usize;
    while let Some(offset) = b[i..].iter().position(|&c| c == b'<') {
        i += offset;
        let rest = &b[i..];
        if rest.starts_with(b"<!--") {
            i = skip_past(b, i + 4, b"-->");
        } else if rest.starts_with(b"<![CDATA[") {
            i = skip_past(b, i + 9, b"]]>");
        } else if rest.starts_with(b"<?") {
            i = skip_past(b, i + 2, b"?>");
        } else if rest.starts_with(b"<!") {
            i = skip_past(b, i + 2, b">");
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            i = skip_past(b, i + 2, b">");
        } else {
            // A start tag: find its end outside quoted attribute values.
            let mut j = i + 1;
            let mut quote = None;
            let mut end = None;
            while j < b.len() {
                let c = b[j];
                match quote {
                    Some(q) if c == q => quote = None,
                    Some(_) => {}
                    None if c == b'"' || c == b'\'' => quote = Some(c),
                    None if c == b'>' => {
                        end = Some(j);
                        break;
                    }
                    None => {}
                }
                j += 1;
            }
            // An empty element is as deep as an open one but leaves nothing open.
            let empty = end.is_some_and(|e| b[e - 1] == b'/');
            let this_depth = depth + 1;
            if this_depth > max_depth {
                let name_len = b[i + 1..]
                    .iter()
                    .position(|&c| c.is_ascii_whitespace() || c == b'/' || c == b'>')
                    .unwrap_or(b.len() - i - 1);
                let name = String::from_utf8_lossy(&b[i + 1..i + 1 + name_len]);
                return Err(DomainError::TooDeep {
                    limit: max_depth,
                    actual: this_depth,
                    element: name.chars().take(64).collect(),
                });
            }
            if !empty {
                depth = this_depth;
            }
            match end {
                Some(e) => i = e + 1,
                // An unterminated tag: roxmltree reports it.
                None => return Ok(()),
            }
        }
    }
    Ok(())
}

/// The index just past the first `needle` at or after `from`, or the end.
fn skip_past(b: &[u8], from: usize, needle: &[u8]) -> usize {
    if from >= b.len() {
        return b.len();
    }
    b[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map_or(b.len(), |p| from + p + needle.len())
}

fn is_named(node: &Node<'_, '_>, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name
}

/// The first child element called `name`.
fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| is_named(c, name))
}

/// Every child element called `name`, in document order.
fn children<'a, 'i: 'a>(
    node: Node<'a, 'i>,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |c| is_named(c, name))
}

fn has_child(node: Node<'_, '_>, name: &str) -> bool {
    child(node, name).is_some()
}

/// A non-empty attribute value.
fn attr(node: Node<'_, '_>, name: &str) -> Option<String> {
    node.attribute(name)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The first of several attributes that is set.
fn first_attr(node: Node<'_, '_>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| attr(node, n))
}

/// All text inside an element, concatenated; `None` when it is empty or only
/// whitespace. Iterative, so deep content cannot exhaust the stack.
fn text(node: Node<'_, '_>) -> Option<String> {
    let mut out = String::new();
    for t in node.descendants().filter(|n| n.is_text()) {
        if let Some(s) = t.text() {
            out.push_str(s);
        }
    }
    if out.trim().is_empty() {
        None
    } else {
        Some(out)
    }
}

fn child_text(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).and_then(text)
}

fn element_label(node: Node<'_, '_>) -> String {
    format!("<{}>", node.tag_name().name())
}

/// A `yes`/`no` attribute.
fn yes_no(node: Node<'_, '_>, name: &str) -> Result<Option<bool>> {
    match node.attribute(name) {
        None | Some("") => Ok(None),
        Some("yes") => Ok(Some(true)),
        Some("no") => Ok(Some(false)),
        Some(other) => Err(DomainError::InvalidValue {
            what: format!("{} attribute {name}", element_label(node)),
            value: other.to_owned(),
            reason: "expected 'yes' or 'no'",
        }),
    }
}

/// An unsigned integer written the way C's `strtoul(…, 0)` reads it:
/// `0x`/`0X` for hex, a leading `0` for octal, otherwise decimal. Surrounding
/// ASCII whitespace is allowed; signs and trailing junk are not.
fn parse_unsigned(value: &str) -> Option<u64> {
    let v = value.trim_matches(|c: char| c.is_ascii_whitespace());
    let (digits, radix) = if let Some(hex) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        (hex, 16)
    } else if v.len() > 1 && v.starts_with('0') {
        (&v[1..], 8)
    } else {
        (v, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// An optional unsigned attribute that must fit in `T`.
fn num_attr<T: TryFrom<u64>>(node: Node<'_, '_>, name: &str, context: &str) -> Result<Option<T>> {
    let Some(value) = node.attribute(name).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let bad = |reason| DomainError::InvalidValue {
        what: format!("{context} attribute {name}"),
        value: value.to_owned(),
        reason,
    };
    let n = parse_unsigned(value)
        .ok_or_else(|| bad("expected an unsigned number (decimal, 0x hex or 0 octal)"))?;
    T::try_from(n)
        .map(Some)
        .map_err(|_| bad("the number is out of range"))
}

// -------------------------------------------------------------------- os ---

fn parse_os(node: Node<'_, '_>, os: &mut Os) -> Result<()> {
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

// ------------------------------------------------------------- seclabels ---

fn parse_seclabel(node: Node<'_, '_>) -> Result<SecLabel> {
    let kind = match node.attribute("type") {
        None | Some("") => None,
        Some("dynamic") => Some(SecLabelType::Dynamic),
        Some("static") => Some(SecLabelType::Static),
        Some("none") => Some(SecLabelType::None),
        Some(other) => {
            return Err(DomainError::InvalidValue {
                what: "<seclabel> attribute type".into(),
                value: other.to_owned(),
                reason: "expected 'dynamic', 'static' or 'none'",
            })
        }
    };
    Ok(SecLabel {
        model: attr(node, "model"),
        kind,
        relabel: yes_no(node, "relabel")?,
        label: child_text(node, "label"),
        imagelabel: child_text(node, "imagelabel"),
        baselabel: child_text(node, "baselabel"),
    })
}

fn seclabels_of(node: Node<'_, '_>) -> Result<Vec<SecLabel>> {
    children(node, "seclabel").map(parse_seclabel).collect()
}

// --------------------------------------------------------------- storage ---

/// The storage type named by `node`'s `type` attribute (absent means file).
fn storage_type(node: Node<'_, '_>, context: &str) -> Result<StorageType> {
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
        }),
    }
}

/// Reads a `<source>` element of a storage layer of type `kind`.
fn fill_source(
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
        // A volume translated by libvirt may carry the resolved host path.
        StorageType::Volume => first_attr(src, &["file", "dev", "dir"]),
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

fn parse_disk(node: Node<'_, '_>) -> Result<Disk> {
    let kind = storage_type(node, "<disk>")?;
    let target = child(node, "target");
    let target_dev = target.and_then(|t| attr(t, "dev"));
    let device = attr(node, "device").unwrap_or_else(|| "disk".to_owned());
    // libvirt's parser makes every CD-ROM read-only.
    let readonly = has_child(node, "readonly") || device == "cdrom";
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

// --------------------------------------------------------------- devices ---

fn parse_devices(node: Node<'_, '_>) -> Result<Devices> {
    let mut devices = Devices::default();
    // libvirt lists the host devices of `<interface type='hostdev'>` before
    // the `<hostdev>` elements (it parses interfaces first).
    let mut interface_hostdevs = Vec::new();
    for dev in node.children().filter(Node::is_element) {
        match dev.tag_name().name() {
            "emulator" if devices.emulator.is_none() => devices.emulator = text(dev),
            "disk" => insert_disk(&mut devices.disks, parse_disk(dev)?),
            "interface" if dev.attribute("type") == Some("hostdev") => {
                interface_hostdevs.push(parse_interface_hostdev(dev)?);
                devices.interfaces.push(parse_interface(dev)?);
            }
            "serial" => devices
                .serials
                .push(parse_chardev(CharDevKind::Serial, dev)?),
            "parallel" => devices
                .parallels
                .push(parse_chardev(CharDevKind::Parallel, dev)?),
            "channel" => devices
                .channels
                .push(parse_chardev(CharDevKind::Channel, dev)?),
            "console" => devices
                .consoles
                .push(parse_chardev(CharDevKind::Console, dev)?),
            "graphics" => devices.graphics.push(parse_graphics(dev)?),
            "hostdev" => devices.hostdevs.push(parse_hostdev(dev)?),
            "filesystem" => devices.filesystems.push(parse_filesystem(dev)),
            "input" => devices.inputs.push(parse_input(dev)?),
            "interface" => devices.interfaces.push(parse_interface(dev)?),
            "memory" => devices.memory.push(parse_memory(dev)?),
            "shmem" => devices.shmems.push(parse_shmem(dev)?),
            "tpm" => devices.tpms.push(parse_tpm(dev)?),
            "smartcard" => devices.smartcards.push(parse_smartcard(dev)?),
            "vsock" => {
                if devices.vsock.is_some() {
                    return Err(DomainError::Duplicate("<vsock>"));
                }
                devices.vsock = Some(parse_vsock(dev)?);
            }
            _ => {}
        }
    }
    interface_hostdevs.append(&mut devices.hostdevs);
    devices.hostdevs = interface_hostdevs;
    Ok(devices)
}

/// The host device behind `<interface type='hostdev'>` (SR-IOV VF
/// passthrough): a PCI device (or, rarely, USB) with the interface's
/// `<driver name>` as its backend, as libvirt's parser makes it.
fn parse_interface_hostdev(node: Node<'_, '_>) -> Result<HostDev> {
    let src = child(node, "source");
    let address = src.and_then(|s| child(s, "address"));
    let source = match address.and_then(|a| a.attribute("type")) {
        Some("usb") => {
            let ctx = "<interface type='hostdev'> <address type='usb'>";
            let a = address.expect("matched an address");
            HostDevSource::Usb {
                vendor: None,
                product: None,
                bus: num_attr(a, "bus", ctx)?,
                device: num_attr(a, "device", ctx)?,
            }
        }
        _ => parse_pci_source(node, src)?,
    };
    Ok(HostDev {
        mode: "subsystem".to_owned(),
        source,
        seclabels: Vec::new(),
    })
}

/// The bus libvirt's parser assumes for a disk without `<target bus>`:
/// from the device and the target name's prefix.
fn disk_bus(disk: &Disk) -> String {
    if let Some(bus) = &disk.target_bus {
        return bus.clone();
    }
    let dev = disk.target_dev.as_deref().unwrap_or("");
    let bus = if disk.device == "floppy" {
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
fn insert_disk(disks: &mut Vec<Disk>, disk: Disk) {
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

fn parse_chardev(kind: CharDevKind, node: Node<'_, '_>) -> Result<CharDev> {
    let mut path = None;
    let mut source_attrs = Vec::new();
    let mut seclabels = Vec::new();
    for (i, src) in children(node, "source").enumerate() {
        if path.is_none() {
            path = attr(src, "path");
        }
        if i == 0 {
            source_attrs = src
                .attributes()
                .filter(|a| a.name() != "path")
                .map(|a| (a.name().to_owned(), a.value().to_owned()))
                .collect();
            source_attrs.sort();
        }
        seclabels.extend(seclabels_of(src)?);
    }
    let target = child(node, "target");
    Ok(CharDev {
        kind,
        // libvirt's default backend when `type` is absent.
        source_type: attr(node, "type").unwrap_or_else(|| "pty".to_owned()),
        path,
        source_attrs,
        log_file: child(node, "log").and_then(|l| attr(l, "file")),
        target_type: target.and_then(|t| attr(t, "type")),
        target_name: target.and_then(|t| attr(t, "name")),
        seclabels,
    })
}

fn parse_graphics(node: Node<'_, '_>) -> Result<Graphics> {
    let kind = attr(node, "type").ok_or_else(|| DomainError::Missing {
        what: "<graphics>".into(),
        missing: "type attribute",
    })?;
    let mut listen_sockets: Vec<String> = Vec::new();
    let mut add_socket = |s: String| {
        if !listen_sockets.contains(&s) {
            listen_sockets.push(s);
        }
    };
    if let Some(s) = attr(node, "socket") {
        add_socket(s);
    }
    for listen in children(node, "listen") {
        if listen.attribute("type") == Some("socket") {
            if let Some(s) = attr(listen, "socket") {
                add_socket(s);
            }
        }
    }
    let gl_node = child(node, "gl");
    let gl_enabled = match gl_node {
        Some(g) => yes_no(g, "enable")?.unwrap_or(false),
        None => false,
    };
    Ok(Graphics {
        gl: kind == "egl-headless" || gl_enabled,
        rendernode: gl_node
            .and_then(|g| attr(g, "rendernode"))
            .or_else(|| attr(node, "rendernode")),
        xauth: attr(node, "xauth"),
        display: attr(node, "display"),
        listen_sockets,
        kind,
    })
}

fn parse_hostdev(node: Node<'_, '_>) -> Result<HostDev> {
    let mode = attr(node, "mode").unwrap_or_else(|| "subsystem".to_owned());
    let kind = attr(node, "type");
    let src = child(node, "source");
    let mut seclabels = seclabels_of(node)?;
    if let Some(src) = src {
        seclabels.extend(seclabels_of(src)?);
    }
    let source = if mode != "subsystem" {
        HostDevSource::Other {
            kind: kind.unwrap_or_default(),
        }
    } else {
        let kind = kind.ok_or_else(|| DomainError::Missing {
            what: "<hostdev mode='subsystem'>".into(),
            missing: "type attribute",
        })?;
        match kind.as_str() {
            "usb" => parse_usb_source(src)?,
            "pci" => parse_pci_source(node, src)?,
            "mdev" => HostDevSource::Mdev {
                model: attr(node, "model"),
                uuid: src
                    .and_then(|s| child(s, "address"))
                    .and_then(|a| attr(a, "uuid")),
            },
            "scsi" => {
                let address = src.and_then(|s| child(s, "address"));
                let ctx = "<hostdev type='scsi'> <address>";
                HostDevSource::Scsi {
                    protocol: src.and_then(|s| attr(s, "protocol")),
                    adapter: src
                        .and_then(|s| child(s, "adapter"))
                        .and_then(|a| attr(a, "name")),
                    bus: address
                        .map(|a| num_attr(a, "bus", ctx))
                        .transpose()?
                        .flatten(),
                    target: address
                        .map(|a| num_attr(a, "target", ctx))
                        .transpose()?
                        .flatten(),
                    unit: address
                        .map(|a| num_attr(a, "unit", ctx))
                        .transpose()?
                        .flatten(),
                }
            }
            "scsi_host" => HostDevSource::ScsiHost {
                protocol: src.and_then(|s| attr(s, "protocol")),
                wwpn: src.and_then(|s| attr(s, "wwpn")),
            },
            _ => HostDevSource::Other { kind },
        }
    };
    Ok(HostDev {
        mode,
        source,
        seclabels,
    })
}

fn parse_usb_source(src: Option<Node<'_, '_>>) -> Result<HostDevSource> {
    let Some(src) = src else {
        return Ok(HostDevSource::Usb {
            vendor: None,
            product: None,
            bus: None,
            device: None,
        });
    };
    let id_of = |name: &'static str| -> Result<Option<u16>> {
        match child(src, name) {
            None => Ok(None),
            Some(n) => {
                let context = format!("<hostdev type='usb'> <{name}>");
                num_attr::<u16>(n, "id", &context)?
                    .map(Some)
                    .ok_or(DomainError::Missing {
                        what: context,
                        missing: "id attribute",
                    })
            }
        }
    };
    let address = child(src, "address");
    let ctx = "<hostdev type='usb'> <address>";
    Ok(HostDevSource::Usb {
        vendor: id_of("vendor")?,
        product: id_of("product")?,
        bus: address
            .map(|a| num_attr(a, "bus", ctx))
            .transpose()?
            .flatten(),
        device: address
            .map(|a| num_attr(a, "device", ctx))
            .transpose()?
            .flatten(),
    })
}

fn parse_pci_source(node: Node<'_, '_>, src: Option<Node<'_, '_>>) -> Result<HostDevSource> {
    let Some(address) = src.and_then(|s| child(s, "address")) else {
        return Err(DomainError::Missing {
            what: "<hostdev type='pci'>".into(),
            missing: "<source><address> element",
        });
    };
    let ctx = "<hostdev type='pci'> <address>";
    Ok(HostDevSource::Pci {
        address: PciAddress {
            domain: num_attr(address, "domain", ctx)?.unwrap_or(0),
            bus: num_attr(address, "bus", ctx)?.unwrap_or(0),
            slot: num_attr(address, "slot", ctx)?.unwrap_or(0),
            function: num_attr(address, "function", ctx)?.unwrap_or(0),
        },
        driver: child(node, "driver").and_then(|d| attr(d, "name")),
    })
}

fn parse_filesystem(node: Node<'_, '_>) -> Filesystem {
    let src = child(node, "source");
    Filesystem {
        kind: attr(node, "type").unwrap_or_else(|| "mount".to_owned()),
        driver: child(node, "driver").and_then(|d| attr(d, "type")),
        accessmode: attr(node, "accessmode"),
        source: src.and_then(|s| first_attr(s, &["dir", "file", "dev", "name"])),
        socket: src.and_then(|s| attr(s, "socket")),
        target: child(node, "target").and_then(|t| attr(t, "dir")),
        readonly: has_child(node, "readonly"),
        binary: child(node, "binary").and_then(|b| attr(b, "path")),
    }
}

fn parse_input(node: Node<'_, '_>) -> Result<Input> {
    let kind = attr(node, "type").ok_or_else(|| DomainError::Missing {
        what: "<input>".into(),
        missing: "type attribute",
    })?;
    Ok(Input {
        kind,
        evdev: child(node, "source").and_then(|s| first_attr(s, &["evdev", "dev"])),
    })
}

fn parse_interface(node: Node<'_, '_>) -> Result<Interface> {
    let kind = attr(node, "type").ok_or_else(|| DomainError::Missing {
        what: "<interface>".into(),
        missing: "type attribute",
    })?;
    let src = child(node, "source");
    let (source_path, source_type) = match kind.as_str() {
        "vhostuser" => (
            src.and_then(|s| attr(s, "path")),
            src.and_then(|s| attr(s, "type")),
        ),
        "vdpa" => (src.and_then(|s| attr(s, "dev")), None),
        _ => (None, None),
    };
    Ok(Interface {
        model: child(node, "model").and_then(|m| attr(m, "type")),
        driver_name: child(node, "driver").and_then(|d| attr(d, "name")),
        backend: child(node, "backend").and_then(|b| attr(b, "type")),
        source_path,
        source_type,
        kind,
    })
}

fn parse_memory(node: Node<'_, '_>) -> Result<MemoryDevice> {
    let model = attr(node, "model").ok_or_else(|| DomainError::Missing {
        what: "<memory> device".into(),
        missing: "model attribute",
    })?;
    Ok(MemoryDevice {
        model,
        path: child(node, "source").and_then(|s| child_text(s, "path")),
    })
}

/// A host-certificates smartcard's NSS database: libvirt's parser refuses
/// a relative path.
fn smartcard_database(node: Node<'_, '_>) -> Result<Option<String>> {
    let db = child_text(node, "database");
    match db.as_deref() {
        Some(d) if !d.starts_with('/') => Err(DomainError::InvalidValue {
            what: "<smartcard><database>".into(),
            value: d.to_owned(),
            reason: "expected an absolute path",
        }),
        _ => Ok(db),
    }
}

fn parse_shmem(node: Node<'_, '_>) -> Result<Shmem> {
    let name = attr(node, "name").ok_or_else(|| DomainError::Missing {
        what: "<shmem>".into(),
        missing: "name attribute",
    })?;
    Ok(Shmem {
        name,
        model: child(node, "model").and_then(|m| attr(m, "type")),
        server: child(node, "server").map(|s| ShmemServer {
            path: attr(s, "path"),
        }),
    })
}

fn parse_tpm(node: Node<'_, '_>) -> Result<Tpm> {
    let backend = child(node, "backend").ok_or_else(|| DomainError::Missing {
        what: "<tpm>".into(),
        missing: "<backend> element",
    })?;
    let backend = match backend.attribute("type") {
        Some("emulator") => TpmBackend::Emulator {
            version: tpm_version(backend)?,
            state_path: child(backend, "source").and_then(|s| attr(s, "path")),
        },
        Some("passthrough") => TpmBackend::Passthrough {
            device: child(backend, "device").and_then(|d| attr(d, "path")),
        },
        Some("external") => TpmBackend::External {
            socket: child(backend, "source").and_then(|s| attr(s, "path")),
        },
        None | Some("") => {
            return Err(DomainError::Missing {
                what: "<tpm><backend>".into(),
                missing: "type attribute",
            })
        }
        Some(other) => {
            return Err(DomainError::InvalidValue {
                what: "<tpm><backend> attribute type".into(),
                value: other.to_owned(),
                reason: "expected 'emulator', 'passthrough' or 'external'",
            })
        }
    };
    Ok(Tpm {
        model: attr(node, "model"),
        backend,
    })
}

/// An emulator TPM's version: `1.2` or `2.0`, as libvirt's parser accepts
/// (it refuses anything else, `default` included). It names the state
/// directory, so nothing else may pass.
fn tpm_version(backend: Node<'_, '_>) -> Result<Option<String>> {
    match backend.attribute("version") {
        None => Ok(None),
        Some(v @ ("1.2" | "2.0")) => Ok(Some(v.to_owned())),
        Some(other) => Err(DomainError::InvalidValue {
            what: "<tpm><backend> attribute version".into(),
            value: other.to_owned(),
            reason: "expected '1.2' or '2.0'",
        }),
    }
}

fn parse_smartcard(node: Node<'_, '_>) -> Result<Smartcard> {
    match node.attribute("mode") {
        Some("host") => Ok(Smartcard::Host),
        Some("host-certificates") => Ok(Smartcard::HostCertificates {
            database: smartcard_database(node)?,
        }),
        Some("passthrough") => Ok(Smartcard::Passthrough),
        None | Some("") => Err(DomainError::Missing {
            what: "<smartcard>".into(),
            missing: "mode attribute",
        }),
        Some(other) => Err(DomainError::InvalidValue {
            what: "<smartcard> attribute mode".into(),
            value: other.to_owned(),
            reason: "expected 'host', 'host-certificates' or 'passthrough'",
        }),
    }
}

fn parse_vsock(node: Node<'_, '_>) -> Result<Vsock> {
    let Some(cid) = child(node, "cid") else {
        return Ok(Vsock {
            cid: None,
            auto: false,
        });
    };
    Ok(Vsock {
        cid: num_attr(cid, "address", "<vsock><cid>")?,
        auto: yes_no(cid, "auto")?.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "00000000-0000-0000-0000-0123456789ab";

    fn parse(xml: &str) -> Result<Domain> {
        parse_domain(xml, &Limits::default())
    }

    /// A minimal valid domain with `extra` inside `<domain>`.
    fn with(extra: &str) -> String {
        format!(
            "<domain type='kvm'><name>vm</name><uuid>{UUID}</uuid><memory>1024</memory>\
             <os><type arch='x86_64' machine='pc'>hvm</type></os>{extra}</domain>"
        )
    }

    fn devices(inner: &str) -> Devices {
        parse(&with(&format!("<devices>{inner}</devices>")))
            .unwrap()
            .devices
    }

    fn err(xml: &str) -> DomainError {
        parse(xml).unwrap_err()
    }

    fn device_err(inner: &str) -> DomainError {
        err(&with(&format!("<devices>{inner}</devices>")))
    }

    // ------------------------------------------------------------ basics ---

    #[test]
    fn minimal_domain() {
        let d = parse(&with("")).unwrap();
        assert_eq!(d.virt_type, "kvm");
        assert_eq!(d.name, "vm");
        assert_eq!(d.uuid.to_string(), UUID);
        assert_eq!(d.id, None);
        assert_eq!(d.id_or_default(), -1);
        assert_eq!(d.os.os_type, "hvm");
        assert_eq!(d.os.arch.as_deref(), Some("x86_64"));
        assert_eq!(d.os.machine.as_deref(), Some("pc"));
        assert_eq!(d.devices, Devices::default());
        assert!(d.seclabels.is_empty());
        assert!(!d.hugepages);
        assert_eq!(d.launch_security, None);
    }

    #[test]
    fn domain_id_and_liberal_uuid() {
        let xml = "<domain type='qemu' id='7'><name>a b</name><memory>1</memory>\
                   <uuid> 00000000 0000 0000 0000 0123456789AB </uuid>\
                   <os><type>hvm</type></os></domain>";
        let d = parse(xml).unwrap();
        assert_eq!(d.id, Some(7));
        assert_eq!(d.name, "a b");
        assert_eq!(d.uuid.to_string(), UUID);
        let d = parse(&xml.replace("id='7'", "id='-1'")).unwrap();
        assert_eq!(d.id, Some(-1));
    }

    #[test]
    fn domain_level_extras() {
        let d = parse(&with(
            "<seclabel type='dynamic' model='apparmor' relabel='yes'>\
               <label>libvirt-x</label><imagelabel>img</imagelabel>\
               <baselabel>base</baselabel></seclabel>\
             <seclabel type='none' model='dac'/>\
             <sysinfo type='smbios'><entry name='x' file='/nope'/></sysinfo>\
             <sysinfo type='fwcfg'><entry name='opt/a' file='/srv/a'/>\
               <entry name='opt/b'>value</entry></sysinfo>\
             <launchSecurity type='sev'/>\
             <memoryBacking><hugepages/></memoryBacking>",
        ))
        .unwrap();
        assert_eq!(
            d.seclabels[0],
            SecLabel {
                model: Some("apparmor".into()),
                kind: Some(SecLabelType::Dynamic),
                relabel: Some(true),
                label: Some("libvirt-x".into()),
                imagelabel: Some("img".into()),
                baselabel: Some("base".into()),
            }
        );
        assert_eq!(d.seclabels[1].kind, Some(SecLabelType::None));
        assert_eq!(d.seclabels[1].model.as_deref(), Some("dac"));
        assert_eq!(d.apparmor_seclabel(), Some(&d.seclabels[0]));
        assert_eq!(
            d.fw_cfg,
            vec![
                FwCfgEntry {
                    name: Some("opt/a".into()),
                    file: Some("/srv/a".into())
                },
                FwCfgEntry {
                    name: Some("opt/b".into()),
                    file: None
                },
            ]
        );
        assert_eq!(d.launch_security.as_deref(), Some("sev"));
        assert!(d.hugepages);
    }

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

    // ------------------------------------------------------------- disks ---

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
        assert_eq!(disk.device, "disk");
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
             <disk type='volume'><source pool='pl' volume='vol' file='/pool/vol'/></disk>",
        );
        assert_eq!(
            d.disks[0].source.as_ref().unwrap().protocol.as_deref(),
            Some("rbd")
        );
        let vol = d.disks[1].source.as_ref().unwrap();
        assert_eq!(vol.pool.as_deref(), Some("pl"));
        assert_eq!(vol.volume.as_deref(), Some("vol"));
        assert_eq!(vol.path.as_deref(), Some("/pool/vol"));
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
        let devs: Vec<&str> = d.disks.iter().map(|x| x.device.as_str()).collect();
        assert_eq!(devs, ["disk", "cdrom", "floppy"]);
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
        let e = device_err(&chain(MAX_BACKING_CHAIN_DEPTH + 1));
        assert_eq!(
            e,
            DomainError::BackingChainTooDeep {
                what: "<disk> with target vda".into(),
                limit: MAX_BACKING_CHAIN_DEPTH
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

    // ---------------------------------------------------------- chardevs ---

    #[test]
    fn chardevs_each_kind_in_document_order() {
        let d = devices(
            "<serial type='pty'><target port='0'/></serial>\
             <console type='pty'><target type='serial' port='0'/></console>\
             <serial type='file'><source path='/var/log/s1.log'/><log file='/var/log/s1.meta'/></serial>\
             <parallel type='pipe'><source path='/tmp/p'/></parallel>\
             <channel type='unix'><source mode='bind' path='/run/ch.sock'>\
               <seclabel model='apparmor' relabel='no'/></source>\
               <target type='virtio' name='org.qemu.guest_agent.0'/></channel>\
             <serial type='tcp'><source mode='bind' host='0.0.0.0' service='2445'/></serial>\
             <serial><source path='/dev/pts/3'/></serial>",
        );
        assert_eq!(d.serials.len(), 4);
        assert_eq!(d.serials[0].source_type, "pty");
        assert_eq!(d.serials[0].path, None);
        assert_eq!(d.serials[1].path.as_deref(), Some("/var/log/s1.log"));
        assert_eq!(d.serials[1].log_file.as_deref(), Some("/var/log/s1.meta"));
        assert_eq!(d.serials[2].source_type, "tcp");
        assert_eq!(d.serials[2].path, None);
        assert_eq!(d.serials[3].source_type, "pty");
        assert_eq!(d.serials[3].path.as_deref(), Some("/dev/pts/3"));
        assert!(d.serials.iter().all(|c| c.kind == CharDevKind::Serial));
        assert_eq!(d.consoles[0].kind, CharDevKind::Console);
        assert_eq!(d.consoles[0].target_type.as_deref(), Some("serial"));
        assert_eq!(d.parallels[0].kind, CharDevKind::Parallel);
        assert_eq!(d.parallels[0].source_type, "pipe");
        assert_eq!(d.parallels[0].path.as_deref(), Some("/tmp/p"));
        let ch = &d.channels[0];
        assert_eq!(ch.kind, CharDevKind::Channel);
        assert_eq!(ch.path.as_deref(), Some("/run/ch.sock"));
        assert_eq!(ch.target_type.as_deref(), Some("virtio"));
        assert_eq!(ch.target_name.as_deref(), Some("org.qemu.guest_agent.0"));
        assert!(ch.seclabels[0].opts_out_of_apparmor());
    }

    // ---------------------------------------------------------- graphics ---

    #[test]
    fn graphics_variants() {
        let d = devices(
            "<graphics type='vnc' socket='/run/vnc.sock'><listen type='socket' socket='/run/vnc.sock'/></graphics>\
             <graphics type='spice'><listen type='address' address='0.0.0.0'/>\
               <listen type='socket' socket='/run/spice.sock'/>\
               <gl enable='yes' rendernode='/dev/dri/renderD128'/></graphics>\
             <graphics type='egl-headless'><gl rendernode='/dev/dri/renderD129'/></graphics>\
             <graphics type='egl-headless'/>\
             <graphics type='dbus'><gl enable='no'/></graphics>\
             <graphics type='sdl' display=':0' xauth='/home/u/.Xauthority'><gl enable='yes'/></graphics>",
        );
        let g = &d.graphics;
        assert_eq!(g[0].kind, "vnc");
        assert_eq!(g[0].listen_sockets, vec!["/run/vnc.sock".to_owned()]);
        assert!(!g[0].gl);
        assert_eq!(g[1].listen_sockets, vec!["/run/spice.sock".to_owned()]);
        assert!(g[1].gl);
        assert_eq!(g[1].rendernode.as_deref(), Some("/dev/dri/renderD128"));
        assert!(g[2].gl);
        assert_eq!(g[2].rendernode.as_deref(), Some("/dev/dri/renderD129"));
        assert!(g[3].gl);
        assert_eq!(g[3].rendernode, None);
        assert!(!g[4].gl);
        assert_eq!(g[5].kind, "sdl");
        assert!(g[5].gl);
        assert_eq!(g[5].display.as_deref(), Some(":0"));
        assert_eq!(g[5].xauth.as_deref(), Some("/home/u/.Xauthority"));
    }

    #[test]
    fn graphics_errors() {
        let e = device_err("<graphics><listen type='socket'/></graphics>");
        assert!(e.to_string().contains("<graphics> has no type"), "{e}");
        let e = device_err("<graphics type='spice'><gl enable='maybe'/></graphics>");
        assert!(e.to_string().contains("maybe"), "{e}");
    }

    // ----------------------------------------------------------- hostdev ---

    #[test]
    fn hostdev_usb() {
        let d = devices(
            "<hostdev mode='subsystem' type='usb' managed='yes'><source>\
               <vendor id='0x1234'/><product id='0xBEEF'/><address bus='0x1' device='12'/>\
             </source></hostdev>\
             <hostdev mode='subsystem' type='usb'><source><address bus='001' device='010'/></source></hostdev>",
        );
        assert_eq!(d.hostdevs[0].mode, "subsystem");
        assert_eq!(
            d.hostdevs[0].source,
            HostDevSource::Usb {
                vendor: Some(0x1234),
                product: Some(0xbeef),
                bus: Some(1),
                device: Some(12),
            }
        );
        // C base-0 numbers: a leading zero means octal.
        assert_eq!(
            d.hostdevs[1].source,
            HostDevSource::Usb {
                vendor: None,
                product: None,
                bus: Some(1),
                device: Some(8),
            }
        );
    }

    #[test]
    fn hostdev_usb_errors() {
        let e = device_err("<hostdev type='usb'><source><vendor id='0x12345'/></source></hostdev>");
        assert!(e.to_string().contains("0x12345"), "{e}");
        assert!(e.to_string().contains("out of range"), "{e}");
        let e = device_err("<hostdev type='usb'><source><vendor/></source></hostdev>");
        assert!(e.to_string().contains("<vendor> has no id"), "{e}");
        let e = device_err(
            "<hostdev type='usb'><source><address bus='one' device='2'/></source></hostdev>",
        );
        assert!(e.to_string().contains("bus"), "{e}");
        assert!(e.to_string().contains("\"one\""), "{e}");
        let e = device_err(
            "<hostdev type='usb'><source><address bus='1' device='09'/></source></hostdev>",
        );
        assert!(e.to_string().contains("\"09\""), "{e}");
    }

    #[test]
    fn hostdev_pci() {
        let d = devices(
            "<hostdev mode='subsystem' type='pci' managed='yes'><driver name='vfio'/>\
             <source><address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source>\
             <seclabel model='apparmor' relabel='no'/></hostdev>",
        );
        let h = &d.hostdevs[0];
        let HostDevSource::Pci { address, driver } = &h.source else {
            panic!("{h:?}")
        };
        assert_eq!(address.to_string(), "0000:06:12.5");
        assert_eq!(driver.as_deref(), Some("vfio"));
        assert!(h.seclabels[0].opts_out_of_apparmor());
    }

    #[test]
    fn hostdev_pci_errors() {
        let e = device_err(
            "<hostdev type='pci'><source><address domain='0x0000' bus='0x100' slot='0' function='0'/></source></hostdev>",
        );
        assert!(e.to_string().contains("0x100"), "{e}");
        let e = device_err("<hostdev type='pci'><source/></hostdev>");
        assert!(e.to_string().contains("has no <source><address>"), "{e}");
        let e = device_err("<hostdev mode='subsystem'/>");
        assert!(e.to_string().contains("has no type attribute"), "{e}");
    }

    #[test]
    fn hostdev_mdev_scsi_scsihost_other() {
        let d = devices(
            "<hostdev mode='subsystem' type='mdev' model='vfio-pci'>\
               <source><address uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev>\
             <hostdev mode='subsystem' type='scsi'><source>\
               <adapter name='scsi_host0'/><address bus='0' target='0x1' unit='5'/></source></hostdev>\
             <hostdev mode='subsystem' type='scsi'><source protocol='iscsi' name='iqn.x/1'/></hostdev>\
             <hostdev mode='subsystem' type='scsi_host'><source protocol='vhost' wwpn='naa.5001'/></hostdev>\
             <hostdev mode='capabilities' type='storage'><source><block>/dev/sdf</block></source></hostdev>\
             <hostdev mode='subsystem' type='future'/>",
        );
        let h = &d.hostdevs;
        assert_eq!(
            h[0].source,
            HostDevSource::Mdev {
                model: Some("vfio-pci".into()),
                uuid: Some("c2177883-f1bb-47f0-914d-32a22e3a8804".into()),
            }
        );
        assert_eq!(
            h[1].source,
            HostDevSource::Scsi {
                protocol: None,
                adapter: Some("scsi_host0".into()),
                bus: Some(0),
                target: Some(1),
                unit: Some(5),
            }
        );
        assert!(matches!(&h[2].source,
            HostDevSource::Scsi { protocol: Some(p), .. } if p == "iscsi"));
        assert_eq!(
            h[3].source,
            HostDevSource::ScsiHost {
                protocol: Some("vhost".into()),
                wwpn: Some("naa.5001".into()),
            }
        );
        assert_eq!(h[4].mode, "capabilities");
        assert_eq!(
            h[4].source,
            HostDevSource::Other {
                kind: "storage".into()
            }
        );
        assert_eq!(
            h[5].source,
            HostDevSource::Other {
                kind: "future".into()
            }
        );
    }

    // ------------------------------------------------- other device types ---

    #[test]
    fn filesystems() {
        let d = devices(
            "<filesystem type='mount' accessmode='passthrough'><source dir='/srv/share'/>\
               <target dir='share'/><readonly/></filesystem>\
             <filesystem type='mount'><driver type='virtiofs'/><source socket='/run/vfs.sock'/>\
               <binary path='/usr/libexec/virtiofsd'/><target dir='t'/></filesystem>\
             <filesystem type='file'><driver type='loop'/><source file='/img'/></filesystem>\
             <filesystem><source dir='/x'/></filesystem>",
        );
        let f = &d.filesystems;
        assert_eq!(
            f[0],
            Filesystem {
                kind: "mount".into(),
                driver: None,
                accessmode: Some("passthrough".into()),
                source: Some("/srv/share".into()),
                socket: None,
                target: Some("share".into()),
                readonly: true,
                binary: None,
            }
        );
        assert_eq!(f[1].driver.as_deref(), Some("virtiofs"));
        assert_eq!(f[1].socket.as_deref(), Some("/run/vfs.sock"));
        assert_eq!(f[1].source, None);
        assert_eq!(f[1].binary.as_deref(), Some("/usr/libexec/virtiofsd"));
        assert!(!f[1].readonly);
        assert_eq!(f[2].kind, "file");
        assert_eq!(f[2].source.as_deref(), Some("/img"));
        assert_eq!(f[3].kind, "mount");
    }

    #[test]
    fn inputs() {
        let d = devices(
            "<input type='tablet' bus='usb'/>\
             <input type='passthrough' bus='virtio'><source evdev='/dev/input/event1'/></input>\
             <input type='evdev'><source dev='/dev/input/event2' grab='all'/></input>",
        );
        assert_eq!(d.inputs[0].evdev, None);
        assert_eq!(d.inputs[1].evdev.as_deref(), Some("/dev/input/event1"));
        assert_eq!(d.inputs[2].kind, "evdev");
        assert_eq!(d.inputs[2].evdev.as_deref(), Some("/dev/input/event2"));
        let e = device_err("<input bus='usb'/>");
        assert!(e.to_string().contains("<input> has no type"), "{e}");
    }

    #[test]
    fn interfaces() {
        let d = devices(
            "<interface type='network'><source network='default'/><model type='virtio'/>\
               <driver name='qemu'/></interface>\
             <interface type='vhostuser'><source type='unix' path='/run/vu0' mode='server'/>\
               <model type='virtio'/></interface>\
             <interface type='vdpa'><source dev='/dev/vhost-vdpa-0'/></interface>\
             <interface type='user'><backend type='passt'/></interface>\
             <interface type='direct'><source dev='eth0' mode='vepa'/></interface>",
        );
        let i = &d.interfaces;
        assert_eq!(i[0].kind, "network");
        assert_eq!(i[0].model.as_deref(), Some("virtio"));
        assert_eq!(i[0].driver_name.as_deref(), Some("qemu"));
        assert_eq!(i[0].source_path, None);
        assert_eq!(i[1].source_path.as_deref(), Some("/run/vu0"));
        assert_eq!(i[1].source_type.as_deref(), Some("unix"));
        assert_eq!(i[2].source_path.as_deref(), Some("/dev/vhost-vdpa-0"));
        assert_eq!(i[2].source_type, None);
        assert_eq!(i[3].backend.as_deref(), Some("passt"));
        assert_eq!(i[4].source_path, None);
        let e = device_err("<interface><model type='virtio'/></interface>");
        assert!(e.to_string().contains("<interface> has no type"), "{e}");
    }

    #[test]
    fn memory_devices() {
        let d = devices(
            "<memory model='nvdimm'><source><path>/srv/nvdimm</path></source>\
               <target><size unit='KiB'>524288</size></target></memory>\
             <memory model='dimm'><target><size unit='KiB'>1</size></target></memory>",
        );
        assert_eq!(
            d.memory,
            vec![
                MemoryDevice {
                    model: "nvdimm".into(),
                    path: Some("/srv/nvdimm".into())
                },
                MemoryDevice {
                    model: "dimm".into(),
                    path: None
                },
            ]
        );
        let e = device_err("<memory><source><path>/x</path></source></memory>");
        assert!(e.to_string().contains("has no model attribute"), "{e}");
    }

    #[test]
    fn shmems() {
        let d = devices(
            "<shmem name='plain'><model type='ivshmem-plain'/></shmem>\
             <shmem name='bell'><model type='ivshmem-doorbell'/><server path='/run/bell.sock'/></shmem>\
             <shmem name='dflt'><model type='ivshmem-doorbell'/><server/></shmem>",
        );
        let s = &d.shmems;
        assert_eq!(s[0].name, "plain");
        assert_eq!(s[0].model.as_deref(), Some("ivshmem-plain"));
        assert_eq!(s[0].server, None);
        assert_eq!(
            s[1].server,
            Some(ShmemServer {
                path: Some("/run/bell.sock".into())
            })
        );
        assert_eq!(s[2].server, Some(ShmemServer { path: None }));
        let e = device_err("<shmem><model type='ivshmem-plain'/></shmem>");
        assert!(e.to_string().contains("<shmem> has no name"), "{e}");
    }

    #[test]
    fn tpms() {
        let d = devices(
            "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>\
             <tpm model='tpm-tis'><backend type='emulator' version='2.0'>\
               <source type='file' path='/var/tpm/state'/></backend></tpm>\
             <tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>\
             <tpm model='tpm-crb'><backend type='external'><source type='unix' mode='connect' path='/run/swtpm.sock'/></backend></tpm>",
        );
        let t = &d.tpms;
        assert_eq!(t[0].model.as_deref(), Some("tpm-crb"));
        assert_eq!(
            t[0].backend,
            TpmBackend::Emulator {
                version: Some("2.0".into()),
                state_path: None
            }
        );
        assert_eq!(
            t[1].backend,
            TpmBackend::Emulator {
                version: Some("2.0".into()),
                state_path: Some("/var/tpm/state".into())
            }
        );
        assert_eq!(
            t[2].backend,
            TpmBackend::Passthrough {
                device: Some("/dev/tpm0".into())
            }
        );
        assert_eq!(
            t[3].backend,
            TpmBackend::External {
                socket: Some("/run/swtpm.sock".into())
            }
        );
    }

    #[test]
    fn tpm_errors() {
        let e = device_err("<tpm model='tpm-tis'/>");
        assert!(e.to_string().contains("<tpm> has no <backend>"), "{e}");
        let e = device_err("<tpm><backend type='magic'/></tpm>");
        assert!(e.to_string().contains("magic"), "{e}");
        let e = device_err("<tpm><backend/></tpm>");
        assert!(e.to_string().contains("has no type attribute"), "{e}");
    }

    #[test]
    fn smartcards() {
        let d = devices(
            "<smartcard mode='host'/>\
             <smartcard mode='host-certificates'><certificate>a</certificate>\
               <database>/etc/pki/other</database></smartcard>\
             <smartcard mode='host-certificates'/>\
             <smartcard mode='passthrough' type='spicevmc'/>",
        );
        assert_eq!(
            d.smartcards,
            vec![
                Smartcard::Host,
                Smartcard::HostCertificates {
                    database: Some("/etc/pki/other".into())
                },
                Smartcard::HostCertificates { database: None },
                Smartcard::Passthrough,
            ]
        );
        let e = device_err("<smartcard mode='remote'/>");
        assert!(e.to_string().contains("remote"), "{e}");
        let e = device_err("<smartcard/>");
        assert!(e.to_string().contains("has no mode"), "{e}");
    }

    #[test]
    fn vsocks() {
        let d = devices("<vsock model='virtio'><cid auto='no' address='3'/></vsock>");
        assert_eq!(
            d.vsock,
            Some(Vsock {
                cid: Some(3),
                auto: false
            })
        );
        let d = devices("<vsock model='virtio'><cid auto='yes'/></vsock>");
        assert_eq!(
            d.vsock,
            Some(Vsock {
                cid: None,
                auto: true
            })
        );
        let e = device_err("<vsock><cid address='-3'/></vsock>");
        assert!(e.to_string().contains("\"-3\""), "{e}");
        let e = device_err("<vsock/><vsock/>");
        assert_eq!(e, DomainError::Duplicate("<vsock>"));
    }

    #[test]
    fn unknown_elements_and_attributes_are_ignored() {
        let d = devices(
            "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>\
             <sound model='ich9'/><future-device x='1'/>\
             <disk type='file' bogus='1'><source file='/a' other='2'/><target dev='vda'/></disk>",
        );
        assert_eq!(d.disks.len(), 1);
    }

    // ------------------------------------------------------------ errors ---

    #[test]
    fn too_large() {
        let limits = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        let e = parse_domain("<domain/>  ", &limits).unwrap_err();
        assert_eq!(
            e,
            DomainError::TooLarge {
                limit: 10,
                actual: 11
            }
        );
        assert_eq!(e.kind(), DomainErrorKind::Read);
        assert!(e.to_string().contains("too large"), "{e}");
        // exactly at the limit is accepted by the size check
        let e = parse_domain("<domain/> ", &limits).unwrap_err();
        assert_eq!(e, DomainError::MissingName);
    }

    #[test]
    fn too_many_nodes() {
        let limits = Limits {
            max_nodes: 5,
            ..Limits::default()
        };
        let e = parse_domain(&with(""), &limits).unwrap_err();
        assert_eq!(e, DomainError::TooManyNodes { limit: 5 });
        assert!(e.to_string().contains("too many nodes"), "{e}");
        assert!(e.to_string().contains("limit of 5"), "{e}");
    }

    #[test]
    fn too_deep() {
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        // <domain><os><type> is depth 3: fine.
        parse_domain(&with(""), &limits).unwrap();
        let e = parse_domain(&with("<a><b><c/></b></a>"), &limits).unwrap_err();
        assert_eq!(
            e,
            DomainError::TooDeep {
                limit: 3,
                actual: 4,
                element: "c".into()
            }
        );
        assert!(e.to_string().contains("nested too deeply"), "{e}");
        let limits = Limits {
            max_depth: 0,
            ..Limits::default()
        };
        assert!(matches!(
            parse_domain(&with(""), &limits),
            Err(DomainError::TooDeep { actual: 1, .. })
        ));
    }

    #[test]
    fn nesting_scan_skips_non_element_markup() {
        let limits = Limits {
            max_depth: 4,
            ..Limits::default()
        };
        let deep = "<a><a><a><a><a></a></a></a></a></a>";
        for hidden in [
            format!("<!--{deep}-->"),
            format!("<![CDATA[{deep}]]>"),
            format!("<?pi {deep}?>"),
            format!("<a x='{}'/>", deep.replace('<', "&lt;")),
            "<a x='>' y=\"/>\"><b/></a>".to_owned(),
            "<a/><a/><a/><a/><a/><a/>".to_owned(),
        ] {
            let xml = with(&hidden);
            match parse_domain(&xml, &limits) {
                Ok(_) | Err(DomainError::Malformed(_)) => {}
                Err(e) => panic!("{hidden}: {e}"),
            }
        }
        let e = parse_domain(&with(deep), &limits).unwrap_err();
        assert!(matches!(e, DomainError::TooDeep { actual: 5, .. }), "{e}");
        // Unterminated and nameless tags still end the scan cleanly.
        for odd in ["<", "<a", "<a x='", "<!--", "<![CDATA[", "</", "<?", "<>"] {
            assert!(check_nesting(odd, 4).is_ok(), "{odd:?}");
        }
        assert!(check_nesting("<a><b><c><d><e", 4).is_err());
    }

    #[test]
    fn depth_walk_visits_siblings_after_deep_branches() {
        let limits = Limits {
            max_depth: 4,
            ..Limits::default()
        };
        let ok = with("<a><b><c/></b></a><a><b/></a>");
        parse_domain(&ok, &limits).unwrap();
        let bad = with("<a><b><c/></b></a><a><b><c><d/></c></b></a>");
        assert!(matches!(
            parse_domain(&bad, &limits),
            Err(DomainError::TooDeep { actual: 5, .. })
        ));
    }

    #[test]
    fn dtd_is_refused() {
        let xml = format!("<!DOCTYPE domain [<!ENTITY n 'vm'>]>{}", with(""));
        let e = err(&xml);
        assert_eq!(e, DomainError::DtdNotAllowed);
        assert!(e.to_string().contains("DTD"), "{e}");
        assert_eq!(e.kind(), DomainErrorKind::Malformed);
    }

    #[test]
    fn malformed_reports_position() {
        let e = err("<domain type='kvm'>\n<name>vm</nme></domain>");
        assert!(matches!(e, DomainError::Malformed(_)));
        let msg = e.to_string();
        assert!(msg.contains("malformed"), "{msg}");
        assert!(msg.contains("2:"), "{msg}");
        assert!(matches!(err(""), DomainError::Malformed(_)));
        assert!(matches!(err("just text"), DomainError::Malformed(_)));
    }

    #[test]
    fn root_must_be_domain() {
        let e = err("<network><name>x</name></network>");
        assert_eq!(e, DomainError::NotDomain("network".into()));
        assert!(e.to_string().contains("<network>"), "{e}");
        assert!(e.to_string().contains("<domain>"), "{e}");
    }

    #[test]
    fn missing_pieces_in_libvirt_order() {
        let e = err("<domain/>");
        assert_eq!(e, DomainError::MissingName);
        assert_eq!(e.kind().libvirt_message(), Some("Could not find <name>"));
        assert!(e.to_string().contains("<name>"));

        let e = err("<domain><name>vm</name></domain>");
        assert_eq!(e, DomainError::MissingUuid);
        assert_eq!(e.kind().libvirt_message(), Some("Could not find <uuid>"));

        let e = err(&format!(
            "<domain><name>vm</name><uuid>{UUID}</uuid><os><type>hvm</type></os></domain>"
        ));
        assert_eq!(e, DomainError::MissingVirtType);
        assert!(e.to_string().contains("domain type is not defined"));
        assert_eq!(
            e.kind().libvirt_message(),
            Some("domain type is not defined")
        );

        let e = err(&format!(
            "<domain type='kvm'><name>vm</name><uuid>{UUID}</uuid><os/></domain>"
        ));
        assert_eq!(e, DomainError::MissingOsType);
        assert!(e.to_string().contains("os.type is not defined"));
        assert_eq!(e.kind().libvirt_message(), Some("os.type is not defined"));
        let e = err(&format!(
            "<domain type='kvm'><name>vm</name><uuid>{UUID}</uuid></domain>"
        ));
        assert_eq!(e, DomainError::MissingOsType);
        let e = err(&format!(
            "<domain type=''><name>  </name><uuid>{UUID}</uuid></domain>"
        ));
        assert_eq!(e, DomainError::MissingName);
    }

    #[test]
    fn unknown_os_and_virt_types() {
        let e = err(&with("").replace(">hvm<", ">hvm_invalid<"));
        assert_eq!(e, DomainError::UnknownOsType("hvm_invalid".into()));
        assert_eq!(e.kind().libvirt_message(), Some("unknown OS type"));
        let e = err(&with("").replace("type='kvm'", "type='kvmx'"));
        assert_eq!(e, DomainError::UnknownVirtType("kvmx".into()));
        assert_eq!(
            e.kind().libvirt_message(),
            Some("unknown virtualization type")
        );
        for t in ["qemu", "kqemu", "lxc", "xen"] {
            let xml = with("").replace("type='kvm'", &format!("type='{t}'"));
            assert_eq!(parse(&xml).unwrap().virt_type, t);
        }
    }

    #[test]
    fn invalid_uuid_and_id() {
        let e = err(&with("").replace(UUID, "not-a-uuid"));
        assert!(matches!(e, DomainError::InvalidUuid(_)));
        assert!(e.to_string().contains("invalid <uuid>"), "{e}");
        assert_eq!(e.kind(), DomainErrorKind::Invalid);
        assert_eq!(e.kind().libvirt_message(), Some("could not parse XML"));
        assert_eq!(e.kind().libvirt_summary(), "could not get VM definition");

        let e = err(&with("").replace("type='kvm'", "type='kvm' id='x1'"));
        assert!(e.to_string().contains("<domain id>"), "{e}");
        assert!(e.to_string().contains("\"x1\""), "{e}");
    }

    #[test]
    fn bad_yes_no_and_seclabel_type() {
        let e = err(&with("").replace("</os>", "<loader readonly='true'>/l</loader></os>"));
        assert!(e.to_string().contains("<loader> attribute readonly"), "{e}");
        let e = err(&with("<seclabel type='sometimes'/>"));
        assert!(e.to_string().contains("sometimes"), "{e}");
        let e = err(&with("<seclabel type='dynamic' relabel='1'/>"));
        assert!(e.to_string().contains("relabel"), "{e}");
    }

    #[test]
    fn unsigned_numbers_follow_c_base_zero() {
        assert_eq!(parse_unsigned("0"), Some(0));
        assert_eq!(parse_unsigned("12"), Some(12));
        assert_eq!(parse_unsigned("0x1f"), Some(31));
        assert_eq!(parse_unsigned("0X1F"), Some(31));
        assert_eq!(parse_unsigned("010"), Some(8));
        assert_eq!(parse_unsigned(" 7 "), Some(7));
        for bad in ["", "0x", "08", "+1", "-1", "1a", "0x+1", "0x-1", "１"] {
            assert_eq!(parse_unsigned(bad), None, "{bad:?}");
        }
        assert_eq!(parse_unsigned("18446744073709551616"), None);
    }

    #[test]
    fn error_kinds_cover_every_variant() {
        assert_eq!(
            DomainError::TooManyNodes { limit: 1 }.kind(),
            DomainErrorKind::Malformed
        );
        assert_eq!(
            DomainError::Duplicate("<vsock>").kind(),
            DomainErrorKind::Invalid
        );
        assert_eq!(
            DomainErrorKind::Read.libvirt_summary(),
            "could not read xml file"
        );
        assert_eq!(DomainErrorKind::Malformed.libvirt_message(), None);
    }
}
