//! VMDK: monolithic sparse files (`KDMV` header with an embedded text
//! descriptor) and plain-text descriptor files.
//!
//! From the descriptor we need the parent (`parentFileNameHint="…"`) and
//! the extent files (`RW 1234 SPARSE "file.vmdk"`, `RDONLY … FLAT "f" 0`,
//! …), which QEMU opens as well.

use super::bytes::{le32, le64, name};
use super::HeaderError;

const FORMAT: &str = "vmdk";

/// `KDMV` read as a little-endian u32.
pub const SPARSE_MAGIC: u32 = 0x564d_444b;
/// The largest descriptor we read, embedded or in its own file.
pub const MAX_DESCRIPTOR: usize = 1 << 20;
/// Bytes the reader fetches first (enough for the sparse header).
pub const HEADER_READ: usize = 512;
/// Our cap on a file name in a descriptor (`PATH_MAX - 1`).
pub const MAX_NAME: usize = 4095;
const SECTOR: u64 = 512;
/// At most this many extents are listed; more is an error.
pub const MAX_EXTENTS: usize = 4096;

/// Where the embedded descriptor of a monolithic sparse file lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SparseHeader {
    pub version: u32,
    /// Byte offset of the descriptor in the file.
    pub descriptor_offset: u64,
    /// Its length in bytes (at most [`MAX_DESCRIPTOR`]); 0 if there is none.
    pub descriptor_len: usize,
}

/// One extent line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extent {
    /// `RW`, `RDONLY` or `NOACCESS`.
    pub access: String,
    /// `SPARSE`, `FLAT`, `VMFS`, …
    pub kind: String,
    /// The extent file, as written (relative to the descriptor's directory).
    pub file: String,
}

/// What a descriptor says about other files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Descriptor {
    pub create_type: Option<String>,
    /// `parentFileNameHint`, as written (maybe relative).
    pub parent: Option<String>,
    /// Extents that name a file (`ZERO` extents name none).
    pub extents: Vec<Extent>,
}

/// Whether `buf` starts like a monolithic sparse file.
pub fn is_sparse(buf: &[u8]) -> bool {
    le32(buf, 0, FORMAT).is_ok_and(|m| m == SPARSE_MAGIC)
}

/// Parses the `KDMV` header of a sparse extent.
pub fn parse_sparse_header(buf: &[u8]) -> Result<SparseHeader, HeaderError> {
    if le32(buf, 0, FORMAT)? != SPARSE_MAGIC {
        return Err(HeaderError::BadMagic { format: FORMAT });
    }
    let version = le32(buf, 4, FORMAT)?;
    if !(1..=3).contains(&version) {
        return Err(HeaderError::UnsupportedVersion {
            format: FORMAT,
            version,
        });
    }
    let offset = le64(buf, 28, FORMAT)?;
    let sectors = le64(buf, 36, FORMAT)?;
    let too_far = |what| HeaderError::OutOfRange {
        format: FORMAT,
        what,
        offset,
        len: sectors,
        limit: MAX_DESCRIPTOR as u64,
    };
    if offset == 0 || sectors == 0 {
        return Ok(SparseHeader {
            version,
            descriptor_offset: 0,
            descriptor_len: 0,
        });
    }
    let len = sectors
        .checked_mul(SECTOR)
        .filter(|&l| l <= MAX_DESCRIPTOR as u64)
        .ok_or_else(|| too_far("embedded descriptor length"))?;
    let byte_offset = offset
        .checked_mul(SECTOR)
        .filter(|o| o.checked_add(len).is_some())
        .ok_or_else(|| too_far("embedded descriptor offset"))?;
    Ok(SparseHeader {
        version,
        descriptor_offset: byte_offset,
        descriptor_len: len as usize,
    })
}

/// Parses a text descriptor (embedded or a file of its own). The text ends
/// at the first NUL (embedded descriptors are NUL-padded). Lines that are
/// not UTF-8 are skipped unless they are a parent hint or an extent line,
/// which are an error: we would otherwise miss a file QEMU opens.
pub fn parse_descriptor(buf: &[u8]) -> Result<Descriptor, HeaderError> {
    if buf.len() > MAX_DESCRIPTOR {
        return Err(HeaderError::OutOfRange {
            format: FORMAT,
            what: "descriptor",
            offset: 0,
            len: buf.len() as u64,
            limit: MAX_DESCRIPTOR as u64,
        });
    }
    let text = match buf.iter().position(|&b| b == 0) {
        Some(nul) => &buf[..nul],
        None => buf,
    };
    let mut out = Descriptor::default();
    for raw in text.split(|&b| b == b'\n') {
        let Ok(line) = std::str::from_utf8(raw) else {
            let t = raw.trim_ascii_start();
            if t.starts_with(b"parentFileNameHint")
                || t.starts_with(b"RW")
                || t.starts_with(b"RDONLY")
                || t.starts_with(b"NOACCESS")
            {
                return Err(HeaderError::NonUtf8 {
                    format: FORMAT,
                    what: "descriptor line",
                });
            }
            continue;
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(extent) = extent_line(line)? {
            if out.extents.len() >= MAX_EXTENTS {
                return Err(HeaderError::Malformed {
                    format: FORMAT,
                    detail: format!("more than {MAX_EXTENTS} extents"),
                });
            }
            out.extents.push(extent);
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(value.trim());
        match key.trim() {
            "parentFileNameHint" => {
                out.parent = name(value.as_bytes(), MAX_NAME, FORMAT, "parent file name")?;
            }
            "createType" => out.create_type = Some(value.to_owned()),
            _ => {}
        }
    }
    Ok(out)
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
}

/// `ACCESS SECTORS TYPE ["FILE" [OFFSET]]`, or `None` if the line is not
/// an extent line at all.
fn extent_line(line: &str) -> Result<Option<Extent>, HeaderError> {
    let mut words = line.split_ascii_whitespace();
    let access = match words.next() {
        Some(a @ ("RW" | "RDONLY" | "NOACCESS")) => a,
        _ => return Ok(None),
    };
    let bad = |detail: &str| HeaderError::Malformed {
        format: FORMAT,
        detail: format!("extent line {line:?}: {detail}"),
    };
    let sectors = words.next().ok_or_else(|| bad("no size"))?;
    if sectors.parse::<u64>().is_err() {
        return Err(bad("size is not a number"));
    }
    let kind = words.next().ok_or_else(|| bad("no type"))?;
    if kind == "ZERO" {
        return Ok(None);
    }
    let open = line.find('"').ok_or_else(|| bad("no quoted file name"))?;
    let rest = &line[open + 1..];
    let close = rest
        .find('"')
        .ok_or_else(|| bad("unterminated file name"))?;
    let file = name(
        &rest.as_bytes()[..close],
        MAX_NAME,
        FORMAT,
        "extent file name",
    )?
    .ok_or_else(|| bad("empty file name"))?;
    Ok(Some(Extent {
        access: access.to_owned(),
        kind: kind.to_owned(),
        file,
    }))
}

/// Parses either kind of VMDK from `buf` alone: a sparse header whose
/// embedded descriptor lies inside `buf`, or a text descriptor. Used by the
/// fuzz target and tests; the chain walker reads the descriptor separately.
pub fn parse(buf: &[u8]) -> Result<Descriptor, HeaderError> {
    if is_sparse(buf) {
        let h = parse_sparse_header(buf)?;
        if h.descriptor_len == 0 {
            return Ok(Descriptor::default());
        }
        let start = usize::try_from(h.descriptor_offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(h.descriptor_len).min(buf.len());
        let desc = buf.get(start..end).ok_or(HeaderError::Truncated {
            format: FORMAT,
            need: start,
            have: buf.len(),
        })?;
        parse_descriptor(desc)
    } else {
        parse_descriptor(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESC: &str = "# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=2\n\
createType=\"monolithicSparse\"\nparentFileNameHint=\"../base.vmdk\"\n\
# Extent description\nRW 20480 SPARSE \"top.vmdk\"\nRDONLY 100 FLAT \"flat file.bin\" 0\n\
RW 10 ZERO\nddb.adapterType = \"ide\"\n";

    #[test]
    fn text_descriptor() {
        let d = parse_descriptor(DESC.as_bytes()).unwrap();
        assert_eq!(d.parent.as_deref(), Some("../base.vmdk"));
        assert_eq!(d.create_type.as_deref(), Some("monolithicSparse"));
        assert_eq!(d.extents.len(), 2);
        assert_eq!(d.extents[1].file, "flat file.bin");
        assert_eq!(d.extents[1].kind, "FLAT");
    }

    #[test]
    fn sparse_with_embedded_descriptor() {
        let mut b = vec![0u8; 1024];
        b[0..4].copy_from_slice(b"KDMV");
        b[4..8].copy_from_slice(&1u32.to_le_bytes());
        b[28..36].copy_from_slice(&1u64.to_le_bytes());
        b[36..44].copy_from_slice(&1u64.to_le_bytes());
        b[512..512 + 40].copy_from_slice(&DESC.as_bytes()[..40]);
        let h = parse_sparse_header(&b).unwrap();
        assert_eq!(h.descriptor_offset, 512);
        assert_eq!(h.descriptor_len, 512);
        assert!(parse(&b).is_ok());
        b[36..44].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(parse(&b), Err(HeaderError::OutOfRange { .. })));
        b[36..44].copy_from_slice(&1u64.to_le_bytes());
        b[28..36].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(parse(&b).is_err());
    }

    #[test]
    fn bad_lines() {
        assert!(parse_descriptor(b"RW 1 SPARSE \"unterminated\n").is_err());
        assert!(parse_descriptor(b"RW x SPARSE \"f\"\n").is_err());
        assert!(matches!(
            parse_descriptor(b"parentFileNameHint=\"\xff\"\n"),
            Err(HeaderError::NonUtf8 { .. })
        ));
        // Non-UTF-8 noise elsewhere is skipped.
        assert!(parse_descriptor(b"ddb.x = \"\xff\"\nRW 1 FLAT \"f\"\n").is_ok());
    }
}
