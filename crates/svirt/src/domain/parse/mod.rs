//! XML → [`Domain`]: a bounded walk over untrusted domain XML.
//!
//! The input is checked against [`Limits`] in three places: its length and
//! its element nesting (a byte scan, see [`check_nesting`]) before anything is
//! parsed, and its node count while roxmltree builds the tree. DTDs are
//! refused outright, so entity expansion never happens. After that the
//! checks follow the order of libvirt's helper (root element, `<name>`,
//! `<uuid>`, `type`, `<os><type>`), then every device is read into the typed
//! model, one module per device family (mirroring `resources/`).
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
//!   attribute and the value, and where it is ([`Position`]: line and
//!   column), never a silent default.

use roxmltree::{Document, Node, ParsingOptions};

use super::model::{CharDevKind, Devices, Domain, Os, SecLabel, SecLabelType, VirtType};
use super::uuid::{DomainUuid, UuidError};

mod audio;
mod chardev;
mod disk;
mod filesystem;
mod firmware;
mod fwcfg;
mod graphics;
mod hostdev;
mod input;
mod memory;
mod net;
mod pstore;
mod shmem;
mod smartcard;
#[cfg(test)]
mod testing;
mod tpm;
mod vsock;

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

/// `<domain type>` values libvirt knows: the names of [`VirtType`].
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

/// Where an element or attribute starts in the domain XML: 1-based line
/// and column, the column counted in characters (as roxmltree counts them
/// in its own errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl Position {
    /// Where `node` starts.
    pub(super) fn of(node: Node<'_, '_>) -> Self {
        let pos = node.document().text_pos_at(node.range().start);
        Position {
            line: pos.row,
            column: pos.col,
        }
    }

    /// Where `node`'s attribute `name` starts, or `node` when it has none.
    pub(super) fn of_attr(node: Node<'_, '_>, name: &str) -> Self {
        match node.attribute_node(name) {
            Some(a) => {
                let pos = node.document().text_pos_at(a.range().start);
                Position {
                    line: pos.row,
                    column: pos.col,
                }
            }
            None => Position::of(node),
        }
    }

    /// The position of byte `offset` (a character boundary) in `text`,
    /// counted as roxmltree's `Document::text_pos_at` counts it; for the
    /// checks that run before there is a tree.
    fn in_text(text: &str, offset: usize) -> Self {
        let before = &text[..offset.min(text.len())];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = 1 + before.bytes().filter(|&b| b == b'\n').count();
        let column = 1 + before[line_start..].chars().count();
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a domain definition was refused. The variants about an element or
/// attribute that is there carry its [`Position`], shown first in the
/// message; the ones about something absent from the whole document
/// (`MissingName`, …) do not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("domain XML is too large: {actual} bytes, more than the limit of {limit} bytes")]
    TooLarge { limit: usize, actual: usize },
    #[error("domain XML has too many nodes: more than the limit of {limit}")]
    TooManyNodes { limit: u32 },
    #[error(
        "{at}: domain XML is nested too deeply: <{element}> is at depth {actual}, \
         deeper than the limit of {limit}"
    )]
    TooDeep {
        limit: usize,
        actual: usize,
        element: String,
        at: Position,
    },
    #[error(
        "domain XML contains a DTD (<!DOCTYPE> with declarations); \
         DTDs and entity definitions are not accepted"
    )]
    DtdNotAllowed,
    /// roxmltree's message names the position itself.
    #[error("domain XML is malformed: {0}")]
    Malformed(#[source] roxmltree::Error),
    #[error(
        "{at}: the root element is <{element}>, but a domain definition must start with <domain>"
    )]
    NotDomain { element: String, at: Position },
    #[error("could not find <name> in the domain XML")]
    MissingName,
    #[error("could not find <uuid> in the domain XML")]
    MissingUuid,
    #[error("{at}: invalid <uuid>: {error}")]
    InvalidUuid {
        #[source]
        error: UuidError,
        at: Position,
    },
    #[error("domain type is not defined: <domain> has no type attribute")]
    MissingVirtType,
    #[error("{at}: unknown virtualization type {name:?} in <domain type>")]
    UnknownVirtType { name: String, at: Position },
    #[error("os.type is not defined: <os><type> is missing or empty")]
    MissingOsType,
    #[error("{at}: unknown OS type {name:?} in <os><type>")]
    UnknownOsType { name: String, at: Position },
    #[error("{at}: invalid {what} {value:?}: {reason}")]
    InvalidValue {
        what: String,
        value: String,
        reason: &'static str,
        at: Position,
    },
    #[error("{at}: {what} has no {missing}")]
    Missing {
        what: String,
        missing: &'static str,
        at: Position,
    },
    #[error("{at}: more than one {what} element; only one is supported")]
    Duplicate { what: &'static str, at: Position },
    #[error("{at}: backing chain of {what} is more than {limit} <backingStore> layers deep")]
    BackingChainTooDeep {
        what: String,
        limit: usize,
        at: Position,
    },
    /// A definition libvirt's parser refuses (see `validate.rs`).
    #[error("{at}: invalid {what}: {reason}")]
    Invalid {
        what: String,
        reason: String,
        at: Position,
    },
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
            | DomainError::NotDomain { .. } => DomainErrorKind::Malformed,
            DomainError::MissingName => DomainErrorKind::MissingName,
            DomainError::MissingUuid => DomainErrorKind::MissingUuid,
            DomainError::MissingVirtType => DomainErrorKind::MissingVirtType,
            DomainError::MissingOsType => DomainErrorKind::MissingOsType,
            DomainError::UnknownOsType { .. } => DomainErrorKind::UnknownOsType,
            DomainError::UnknownVirtType { .. } => DomainErrorKind::UnknownVirtType,
            DomainError::InvalidUuid { .. }
            | DomainError::InvalidValue { .. }
            | DomainError::Missing { .. }
            | DomainError::Duplicate { .. }
            | DomainError::BackingChainTooDeep { .. }
            | DomainError::Invalid { .. } => DomainErrorKind::Invalid,
        }
    }
}

type Result<T> = std::result::Result<T, DomainError>;

/// Parses an untrusted domain definition into the typed model, with
/// libvirt 9.0's checks of what is valid.
pub fn parse_domain(xml: &str, limits: &Limits) -> Result<Domain> {
    parse_domain_as(xml, limits, false)
}

/// [`parse_domain`], with libvirt 11.3's checks of what is valid when
/// `parser_11_3` ([`crate::Settings::parser_11_3`]).
pub fn parse_domain_as(xml: &str, limits: &Limits, parser_11_3: bool) -> Result<Domain> {
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
        return Err(DomainError::NotDomain {
            element: root.tag_name().name().to_owned(),
            at: Position::of(root),
        });
    }

    // The pre-parse checks, in libvirt's order.
    let name = child(root, "name")
        .and_then(text)
        .ok_or(DomainError::MissingName)?;
    let uuid_node = child(root, "uuid");
    let uuid_text = uuid_node.and_then(text).ok_or(DomainError::MissingUuid)?;
    let virt_type = attr(root, "type").ok_or(DomainError::MissingVirtType)?;
    let os_node = child(root, "os");
    let os_type_node = os_node.and_then(|os| child(os, "type"));
    let os_type = os_type_node
        .and_then(text)
        .ok_or(DomainError::MissingOsType)?;
    if !KNOWN_OS_TYPES.contains(&os_type.as_str()) {
        return Err(DomainError::UnknownOsType {
            name: os_type,
            at: Position::of(os_type_node.expect("the type has text")),
        });
    }
    let virt_type = match VirtType::from_name(&virt_type) {
        Some(known) => known,
        None => {
            return Err(DomainError::UnknownVirtType {
                name: virt_type,
                at: Position::of_attr(root, "type"),
            })
        }
    };

    // The full parse.
    let uuid = DomainUuid::parse(&uuid_text).map_err(|error| DomainError::InvalidUuid {
        error,
        at: Position::of(uuid_node.expect("the uuid has text")),
    })?;
    let id = match root.attribute("id") {
        None | Some("") => None,
        Some(v) => Some(
            v.trim()
                .parse::<i64>()
                .map_err(|_| DomainError::InvalidValue {
                    what: "<domain id>".into(),
                    value: v.into(),
                    reason: "expected a decimal integer",
                    at: Position::of_attr(root, "id"),
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
        firmware::parse_os(os_node, &mut os)?;
    }

    let seclabels = children(root, "seclabel")
        .map(parse_seclabel)
        .collect::<Result<Vec<_>>>()?;

    let fw_cfg = fwcfg::parse_fw_cfg(root);

    let launch_security = child(root, "launchSecurity").and_then(|n| attr(n, "type"));
    let hugepages = child(root, "memoryBacking")
        .and_then(|mb| child(mb, "hugepages"))
        .is_some();

    let devices = match child(root, "devices") {
        Some(d) => parse_devices(d)?,
        None => Devices::default(),
    };
    super::validate::validate(root, &uuid, parser_11_3)?;

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
pub(crate) fn check_nesting(xml: &str, max_depth: usize) -> Result<()> {
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
                    at: Position::in_text(xml, i),
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
            at: Position::of_attr(node, name),
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
        at: Position::of_attr(node, name),
    };
    let n = parse_unsigned(value)
        .ok_or_else(|| bad("expected an unsigned number (decimal, 0x hex or 0 octal)"))?;
    T::try_from(n)
        .map(Some)
        .map_err(|_| bad("the number is out of range"))
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
                at: Position::of_attr(node, "type"),
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

// --------------------------------------------------------------- devices ---

fn parse_devices(node: Node<'_, '_>) -> Result<Devices> {
    let mut devices = Devices::default();
    // libvirt lists the host devices of `<interface type='hostdev'>` before
    // the `<hostdev>` elements (it parses interfaces first).
    let mut interface_hostdevs = Vec::new();
    for dev in node.children().filter(Node::is_element) {
        match dev.tag_name().name() {
            "emulator" if devices.emulator.is_none() => devices.emulator = text(dev),
            "disk" => disk::insert_disk(&mut devices.disks, disk::parse_disk(dev)?),
            "interface" if dev.attribute("type") == Some("hostdev") => {
                interface_hostdevs.push(net::parse_interface_hostdev(dev)?);
                devices.interfaces.push(net::parse_interface(dev)?);
            }
            "serial" => devices
                .serials
                .push(chardev::parse_chardev(CharDevKind::Serial, dev)?),
            "parallel" => devices
                .parallels
                .push(chardev::parse_chardev(CharDevKind::Parallel, dev)?),
            "channel" => devices
                .channels
                .push(chardev::parse_chardev(CharDevKind::Channel, dev)?),
            "console" => devices
                .consoles
                .push(chardev::parse_chardev(CharDevKind::Console, dev)?),
            "graphics" => devices.graphics.push(graphics::parse_graphics(dev)?),
            "hostdev" => devices.hostdevs.push(hostdev::parse_hostdev(dev)?),
            "filesystem" => devices.filesystems.push(filesystem::parse_filesystem(dev)),
            "input" => devices.inputs.push(input::parse_input(dev)?),
            "interface" => devices.interfaces.push(net::parse_interface(dev)?),
            "memory" => devices.memory.push(memory::parse_memory(dev)?),
            "shmem" => devices.shmems.push(shmem::parse_shmem(dev)?),
            "tpm" => devices.tpms.push(tpm::parse_tpm(dev)?),
            "smartcard" => devices.smartcards.push(smartcard::parse_smartcard(dev)?),
            "pstore" => devices.pstores.push(pstore::parse_pstore(dev)),
            "audio" => devices.audios.push(audio::parse_audio(dev)?),
            "vsock" => {
                if devices.vsock.is_some() {
                    return Err(DomainError::Duplicate {
                        what: "<vsock>",
                        at: Position::of(dev),
                    });
                }
                devices.vsock = Some(vsock::parse_vsock(dev)?);
            }
            _ => {}
        }
    }
    interface_hostdevs.append(&mut devices.hostdevs);
    devices.hostdevs = interface_hostdevs;
    Ok(devices)
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::domain::model::{
        CharDevSourceType, DiskDevice, FwCfgEntry, GraphicsType, MemoryModel,
    };

    // ------------------------------------------------------------ basics ---

    #[test]
    fn minimal_domain() {
        let d = parse(&with("")).unwrap();
        assert_eq!(d.virt_type, VirtType::Kvm);
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
    fn unknown_kind_names_are_kept_as_written() {
        let d = devices(
            "<disk type='file' device='tape'><source file='/t'/></disk>\
             <serial type='future'><source path='/f'/></serial>\
             <graphics type='hologram'/>\
             <memory model='dram-2030'/>",
        );
        assert_eq!(d.disks[0].device, DiskDevice::Other("tape".into()));
        assert_eq!(
            d.serials[0].source_type,
            CharDevSourceType::Other("future".into())
        );
        assert_eq!(d.graphics[0].kind, GraphicsType::Other("hologram".into()));
        assert!(!d.graphics[0].gl);
        assert_eq!(d.memory[0].model, MemoryModel::Other("dram-2030".into()));
        // Absent (or empty) means libvirt's default.
        let d = devices("<disk device=''/><serial type=''/>");
        assert_eq!(d.disks[0].device, DiskDevice::Disk);
        assert_eq!(d.serials[0].source_type, CharDevSourceType::Pty);
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
        let xml = with("<a><b><c/></b></a>");
        let e = parse_domain(&xml, &limits).unwrap_err();
        assert_eq!(
            e,
            DomainError::TooDeep {
                limit: 3,
                actual: 4,
                element: "c".into(),
                at: at(&xml, "<c/>", 0),
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
        assert_eq!(
            e,
            DomainError::NotDomain {
                element: "network".into(),
                at: Position { line: 1, column: 1 },
            }
        );
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
        let xml = with("").replace(">hvm<", ">hvm_invalid<");
        let e = err(&xml);
        assert_eq!(
            e,
            DomainError::UnknownOsType {
                name: "hvm_invalid".into(),
                at: at(&xml, "<type", 0),
            }
        );
        assert_eq!(e.kind().libvirt_message(), Some("unknown OS type"));
        let e = err(&with("").replace("type='kvm'", "type='kvmx'"));
        assert_eq!(
            e,
            DomainError::UnknownVirtType {
                name: "kvmx".into(),
                at: Position { line: 1, column: 9 },
            }
        );
        assert_eq!(
            e.kind().libvirt_message(),
            Some("unknown virtualization type")
        );
        for t in ["qemu", "kqemu", "lxc", "xen"] {
            let xml = with("").replace("type='kvm'", &format!("type='{t}'"));
            assert_eq!(parse(&xml).unwrap().virt_type.as_str(), t);
        }
    }

    #[test]
    fn known_virt_types_are_the_enum() {
        let names: Vec<&str> = VirtType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(names, KNOWN_VIRT_TYPES);
        for t in VirtType::ALL {
            assert_eq!(VirtType::from_name(t.as_str()), Some(*t));
            assert_eq!(t.to_string(), t.as_str());
            assert_eq!(
                t.is_qemu_family(),
                matches!(t.as_str(), "qemu" | "kqemu" | "kvm")
            );
        }
        assert_eq!(VirtType::from_name("KVM"), None);
    }

    #[test]
    fn invalid_uuid_and_id() {
        let e = err(&with("").replace(UUID, "not-a-uuid"));
        assert!(matches!(e, DomainError::InvalidUuid { .. }));
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
    fn errors_name_line_and_column() {
        let doc = |devices: &str| {
            format!(
                "<domain type='kvm'>\n  <name>vm</name>\n  <uuid>{UUID}</uuid>\n  \
                 <memory>1</memory>\n  <os><type>hvm</type></os>\n  <devices>\n{devices}\n  \
                 </devices>\n</domain>\n"
            )
        };
        // An attribute's value: the attribute.
        let e = err(&doc("    <disk type='floppy-disk'/>"));
        assert_eq!(
            e.to_string(),
            "line 7, column 11: invalid <disk> attribute type \"floppy-disk\": \
             expected file, block, dir, network, volume, nvme, vhostuser or vhostvdpa"
        );
        // Something missing: the element that lacks it. Columns count
        // characters, not bytes.
        let e = err(&doc("    <!-- é --><graphics/>"));
        assert_eq!(
            e.to_string(),
            "line 7, column 15: <graphics> has no type attribute"
        );
        // libvirt's validity checks: the offending element.
        let e = err(&doc("").replace("<name>vm</name>", "<name>a/b</name>"));
        assert_eq!(
            e.to_string(),
            "line 2, column 3: invalid name a/b: a domain name cannot contain '/'"
        );
        assert_eq!(e.kind(), DomainErrorKind::Invalid);
        // The nesting scan runs before there is a tree, and counts the same.
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        let e = parse_domain(&doc("  <x/>\n\t<ü><y/></ü>"), &limits).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 8, column 5: domain XML is nested too deeply: <y> is at depth 4, \
             deeper than the limit of 3"
        );
        // Errors about something absent from the whole document, and the
        // parser's own, keep their text.
        assert_eq!(
            err("<domain/>").to_string(),
            "could not find <name> in the domain XML"
        );
        let e = err("<domain>\n<name>vm</nme></domain>");
        assert!(e.to_string().contains("2:"), "{e}");
    }

    #[test]
    fn position_in_text_counts_as_roxmltree_does() {
        let xml = "<a>\n  <é x='1'>\r\n\t<b/>ü<c/></é>\n</a>";
        let doc = Document::parse(xml).unwrap();
        for (offset, _) in xml.char_indices() {
            let theirs = doc.text_pos_at(offset);
            let ours = Position::in_text(xml, offset);
            assert_eq!(
                (ours.line, ours.column),
                (theirs.row, theirs.col),
                "{offset}"
            );
        }
        let b = doc.descendants().find(|n| n.has_tag_name("b")).unwrap();
        assert_eq!(Position::of(b), Position { line: 3, column: 2 });
        let e = doc.descendants().find(|n| n.has_tag_name("é")).unwrap();
        assert_eq!(Position::of_attr(e, "x"), Position { line: 2, column: 6 });
        assert_eq!(Position::of_attr(e, "y"), Position { line: 2, column: 3 });
        assert_eq!(
            Position { line: 3, column: 2 }.to_string(),
            "line 3, column 2"
        );
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
            DomainError::Duplicate {
                what: "<vsock>",
                at: Position { line: 1, column: 1 }
            }
            .kind(),
            DomainErrorKind::Invalid
        );
        assert_eq!(
            DomainErrorKind::Read.libvirt_summary(),
            "could not read xml file"
        );
        assert_eq!(DomainErrorKind::Malformed.libvirt_message(), None);
    }
}
