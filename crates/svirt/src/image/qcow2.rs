//! qcow2 (versions 2 and 3): the fields that name other files.
//!
//! All integers are big-endian. The fixed header is 72 bytes in version 2
//! and `header_length` (at least 104) bytes in version 3. Header extensions
//! follow it, each `type: u32, length: u32, data` padded to 8 bytes, ended
//! by type 0; they live in the first cluster, before the backing file name.

use super::bytes::{be32, be64, format_name, name, slice};
use super::HeaderError;

const FORMAT: &str = "qcow2";

/// `QFI\xfb`.
pub const MAGIC: u32 = 0x5146_49fb;
/// QEMU refuses backing file names longer than this.
pub const MAX_BACKING_NAME: usize = 1023;
/// Our own cap on the external data file name (`PATH_MAX - 1`).
pub const MAX_DATA_FILE_NAME: usize = 4095;
/// How many bytes the reader hands to [`parse`]: the header, its extensions
/// and the backing file name must lie within them.
pub const READ_LIMIT: usize = 64 * 1024;

/// Extension: the format of the backing file.
pub const EXT_BACKING_FORMAT: u32 = 0xe279_2aca;
/// Extension: the name of the external data file.
pub const EXT_DATA_FILE: u32 = 0x4441_5441;
/// Incompatible feature bit: the image keeps its data in an external file.
pub const INCOMPAT_DATA_FILE: u64 = 1 << 2;

const V2_HEADER_LEN: usize = 72;
const V3_MIN_HEADER_LEN: usize = 104;

/// What a qcow2 header says about other files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Qcow2Header {
    pub version: u32,
    /// The backing file name exactly as recorded (maybe relative).
    pub backing_file: Option<String>,
    /// The backing format extension, if present.
    pub backing_format: Option<String>,
    /// The external data file extension, if present (maybe relative).
    pub data_file: Option<String>,
    /// The incompatible feature bit for an external data file. When it is
    /// set but [`Self::data_file`] is `None`, QEMU must be told the data
    /// file by other means (the XML `<dataStore>`).
    pub has_external_data_file: bool,
}

/// Parses a qcow2 header from the first bytes of the file (give it at most
/// [`READ_LIMIT`] bytes; anything the header points at beyond `buf` is an
/// error, never a further read).
pub fn parse(buf: &[u8]) -> Result<Qcow2Header, HeaderError> {
    if be32(buf, 0, FORMAT)? != MAGIC {
        return Err(HeaderError::BadMagic { format: FORMAT });
    }
    let version = be32(buf, 4, FORMAT)?;
    if version != 2 && version != 3 {
        return Err(HeaderError::UnsupportedVersion {
            format: FORMAT,
            version,
        });
    }
    let backing_offset = be64(buf, 8, FORMAT)?;
    let backing_size = be32(buf, 16, FORMAT)?;
    let cluster_bits = be32(buf, 20, FORMAT)?;
    if !(9..=21).contains(&cluster_bits) {
        return Err(HeaderError::Malformed {
            format: FORMAT,
            detail: format!("cluster_bits {cluster_bits} outside 9..=21"),
        });
    }
    let cluster_size: u64 = 1 << cluster_bits;
    // The fixed header must be complete even when there are no extensions.
    slice(buf, 0, V2_HEADER_LEN, FORMAT)?;

    let (header_len, incompatible) = if version == 3 {
        let incompatible = be64(buf, 72, FORMAT)?;
        let header_len = be32(buf, 100, FORMAT)?;
        let header_len = usize::try_from(header_len).unwrap_or(usize::MAX);
        if header_len < V3_MIN_HEADER_LEN || header_len as u64 > cluster_size {
            return Err(HeaderError::OutOfRange {
                format: FORMAT,
                what: "header length",
                offset: 0,
                len: header_len as u64,
                limit: cluster_size,
            });
        }
        (header_len, incompatible)
    } else {
        (V2_HEADER_LEN, 0)
    };

    let mut out = Qcow2Header {
        version,
        has_external_data_file: incompatible & INCOMPAT_DATA_FILE != 0,
        ..Qcow2Header::default()
    };

    // The backing name, if any.
    if backing_offset != 0 {
        if backing_size as usize > MAX_BACKING_NAME {
            return Err(HeaderError::NameTooLong {
                format: FORMAT,
                what: "backing file name",
                len: backing_size as usize,
                max: MAX_BACKING_NAME,
            });
        }
        let limit = (buf.len() as u64).min(READ_LIMIT as u64);
        let end = backing_offset.checked_add(u64::from(backing_size));
        if backing_offset > cluster_size || end.is_none_or(|e| e > limit) {
            return Err(HeaderError::OutOfRange {
                format: FORMAT,
                what: "backing file name",
                offset: backing_offset,
                len: u64::from(backing_size),
                limit,
            });
        }
        // In range of `buf`, so both fit in usize.
        let raw = slice(buf, backing_offset as usize, backing_size as usize, FORMAT)?;
        out.backing_file = name(raw, MAX_BACKING_NAME, FORMAT, "backing file name")?;
    }

    // Extensions end at the backing name, or at the end of the first
    // cluster, or at the end of what we read, whichever comes first.
    let mut ext_end = cluster_size.min(buf.len() as u64);
    if backing_offset != 0 {
        ext_end = ext_end.min(backing_offset);
    }
    let ext_end = ext_end as usize;
    let mut pos = header_len;
    let mut seen_format = false;
    let mut seen_data_file = false;
    // Each step advances by at least 8 bytes, so the walk is bounded by
    // `ext_end / 8`; the explicit cap is a second guard.
    for _ in 0..(READ_LIMIT / 8) {
        if pos >= ext_end {
            break;
        }
        if pos + 8 > ext_end {
            return Err(HeaderError::OutOfRange {
                format: FORMAT,
                what: "header extension",
                offset: pos as u64,
                len: 8,
                limit: ext_end as u64,
            });
        }
        let kind = be32(buf, pos, FORMAT)?;
        let len = be32(buf, pos + 4, FORMAT)? as usize;
        if kind == 0 {
            break;
        }
        let data_start = pos + 8;
        if len > ext_end - data_start {
            return Err(HeaderError::OutOfRange {
                format: FORMAT,
                what: "header extension",
                offset: data_start as u64,
                len: len as u64,
                limit: ext_end as u64,
            });
        }
        let data = slice(buf, data_start, len, FORMAT)?;
        match kind {
            EXT_BACKING_FORMAT => {
                if seen_format {
                    return Err(HeaderError::Malformed {
                        format: FORMAT,
                        detail: "two backing format extensions".into(),
                    });
                }
                seen_format = true;
                out.backing_format = format_name(data, FORMAT)?;
            }
            EXT_DATA_FILE => {
                if seen_data_file {
                    return Err(HeaderError::Malformed {
                        format: FORMAT,
                        detail: "two data file extensions".into(),
                    });
                }
                seen_data_file = true;
                out.data_file = name(data, MAX_DATA_FILE_NAME, FORMAT, "data file name")?;
            }
            _ => {}
        }
        // Data is padded to a multiple of 8; `len <= ext_end` keeps this small.
        pos = data_start + len.div_ceil(8) * 8;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version 3 header with optional backing name and extensions.
    fn image(backing: Option<&[u8]>, exts: &[(u32, &[u8])], incompat: u64) -> Vec<u8> {
        let mut b = vec![0u8; 104];
        b[0..4].copy_from_slice(&MAGIC.to_be_bytes());
        b[4..8].copy_from_slice(&3u32.to_be_bytes());
        b[20..24].copy_from_slice(&16u32.to_be_bytes());
        b[72..80].copy_from_slice(&incompat.to_be_bytes());
        b[100..104].copy_from_slice(&104u32.to_be_bytes());
        for (kind, data) in exts {
            b.extend_from_slice(&kind.to_be_bytes());
            b.extend_from_slice(&(data.len() as u32).to_be_bytes());
            b.extend_from_slice(data);
            b.resize(b.len().div_ceil(8) * 8, 0);
        }
        b.extend_from_slice(&[0u8; 8]);
        if let Some(name) = backing {
            let off = b.len() as u64;
            b[8..16].copy_from_slice(&off.to_be_bytes());
            b[16..20].copy_from_slice(&(name.len() as u32).to_be_bytes());
            b.extend_from_slice(name);
        }
        b
    }

    #[test]
    fn plain_v3_without_backing() {
        let h = parse(&image(None, &[], 0)).unwrap();
        assert_eq!(h.version, 3);
        assert_eq!(h.backing_file, None);
        assert_eq!(h.backing_format, None);
    }

    #[test]
    fn backing_name_and_format() {
        let h = parse(&image(
            Some(b"base.qcow2"),
            &[(EXT_BACKING_FORMAT, b"qcow2")],
            0,
        ))
        .unwrap();
        assert_eq!(h.backing_file.as_deref(), Some("base.qcow2"));
        assert_eq!(h.backing_format.as_deref(), Some("qcow2"));
    }

    #[test]
    fn data_file_extension_and_bit() {
        let h = parse(&image(
            None,
            &[(EXT_DATA_FILE, b"data.raw")],
            INCOMPAT_DATA_FILE,
        ))
        .unwrap();
        assert_eq!(h.data_file.as_deref(), Some("data.raw"));
        assert!(h.has_external_data_file);
    }

    #[test]
    fn v2_header() {
        let mut b = vec![0u8; 72];
        b[0..4].copy_from_slice(&MAGIC.to_be_bytes());
        b[4..8].copy_from_slice(&2u32.to_be_bytes());
        b[20..24].copy_from_slice(&16u32.to_be_bytes());
        b[8..16].copy_from_slice(&72u64.to_be_bytes());
        b[16..20].copy_from_slice(&4u32.to_be_bytes());
        b.extend_from_slice(b"base");
        let h = parse(&b).unwrap();
        assert_eq!(h.version, 2);
        assert_eq!(h.backing_file.as_deref(), Some("base"));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(parse(b"QFI"), Err(HeaderError::Truncated { .. })));
        assert!(matches!(
            parse(&[0u8; 200]),
            Err(HeaderError::BadMagic { .. })
        ));
        let long = vec![b'a'; 1024];
        assert!(matches!(
            parse(&image(Some(&long), &[], 0)),
            Err(HeaderError::NameTooLong { len: 1024, .. })
        ));
        let ok = vec![b'a'; 1023];
        assert!(parse(&image(Some(&ok), &[], 0)).is_ok());
        assert!(matches!(
            parse(&image(Some(b"\xff\xfe"), &[], 0)),
            Err(HeaderError::NonUtf8 { .. })
        ));
        // Absurd backing offset.
        let mut b = image(Some(b"x"), &[], 0);
        b[8..16].copy_from_slice(&u64::MAX.to_be_bytes());
        assert!(matches!(parse(&b), Err(HeaderError::OutOfRange { .. })));
        // Extension length running past the end.
        let mut b = image(None, &[(EXT_BACKING_FORMAT, b"qcow2")], 0);
        b[108..112].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(parse(&b), Err(HeaderError::OutOfRange { .. })));
        // Version 1 and 4.
        let mut b = image(None, &[], 0);
        b[4..8].copy_from_slice(&4u32.to_be_bytes());
        assert!(matches!(
            parse(&b),
            Err(HeaderError::UnsupportedVersion { .. })
        ));
    }
}
