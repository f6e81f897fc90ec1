//! QED: the backing file name and what the header says about its format.
//!
//! All integers are little-endian. The 64-byte header is
//! `magic "QED\0", cluster_size, table_size, header_size (clusters),
//! features, compat_features, autoclear_features, l1_table_offset,
//! image_size, backing_filename_offset, backing_filename_size`.
//! QED has no field for the backing format: feature bit 2 says "the backing
//! file is raw, do not probe it"; without it, QEMU probes the format.

use super::bytes::{le32, le64, name, slice};
use super::HeaderError;

const FORMAT: &str = "qed";

/// `QED\0` read as a little-endian u32.
pub const MAGIC: u32 = 0x0044_4551;
/// The image has a backing file.
pub const F_BACKING_FILE: u64 = 1 << 0;
/// The image was not closed cleanly (harmless for us).
pub const F_NEED_CHECK: u64 = 1 << 1;
/// The backing file is raw: never probe it.
pub const F_BACKING_FORMAT_NO_PROBE: u64 = 1 << 2;
const KNOWN_FEATURES: u64 = F_BACKING_FILE | F_NEED_CHECK | F_BACKING_FORMAT_NO_PROBE;
/// Our cap on the backing name (`PATH_MAX - 1`).
pub const MAX_BACKING_NAME: usize = 4095;
/// How many bytes the reader hands to [`parse`].
pub const READ_LIMIT: usize = 64 * 1024;
const HEADER_LEN: usize = 64;

/// What a QED header says about other files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QedHeader {
    /// The backing file name exactly as recorded (maybe relative).
    pub backing_file: Option<String>,
    /// Feature bit 2: the backing file is raw. When false and there is a
    /// backing file, its format is not recorded anywhere.
    pub backing_is_raw: bool,
}

/// Parses a QED header from the first bytes of the file.
pub fn parse(buf: &[u8]) -> Result<QedHeader, HeaderError> {
    if le32(buf, 0, FORMAT)? != MAGIC {
        return Err(HeaderError::BadMagic { format: FORMAT });
    }
    slice(buf, 0, HEADER_LEN, FORMAT)?;
    let cluster_size = le32(buf, 4, FORMAT)?;
    let header_size = le32(buf, 12, FORMAT)?;
    let features = le64(buf, 16, FORMAT)?;
    if !cluster_size.is_power_of_two() || !(4096..=(64 << 20)).contains(&cluster_size) {
        return Err(HeaderError::Malformed {
            format: FORMAT,
            detail: format!("cluster size {cluster_size} is not a power of two in 4 KiB..=64 MiB"),
        });
    }
    if features & !KNOWN_FEATURES != 0 {
        return Err(HeaderError::Malformed {
            format: FORMAT,
            detail: format!("unknown feature bits {:#x}", features & !KNOWN_FEATURES),
        });
    }
    let mut out = QedHeader::default();
    if features & F_BACKING_FILE == 0 {
        return Ok(out);
    }
    out.backing_is_raw = features & F_BACKING_FORMAT_NO_PROBE != 0;
    let offset = le32(buf, 56, FORMAT)?;
    let size = le32(buf, 60, FORMAT)?;
    if size as usize > MAX_BACKING_NAME {
        return Err(HeaderError::NameTooLong {
            format: FORMAT,
            what: "backing file name",
            len: size as usize,
            max: MAX_BACKING_NAME,
        });
    }
    // The name must lie inside the header clusters and inside what we read.
    let header_bytes = u64::from(cluster_size) * u64::from(header_size);
    let limit = header_bytes.min(buf.len() as u64).min(READ_LIMIT as u64);
    let end = u64::from(offset) + u64::from(size);
    if (offset as usize) < HEADER_LEN || end > limit {
        return Err(HeaderError::OutOfRange {
            format: FORMAT,
            what: "backing file name",
            offset: u64::from(offset),
            len: u64::from(size),
            limit,
        });
    }
    let raw = slice(buf, offset as usize, size as usize, FORMAT)?;
    out.backing_file = name(raw, MAX_BACKING_NAME, FORMAT, "backing file name")?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(features: u64, backing: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 64];
        b[0..4].copy_from_slice(b"QED\0");
        b[4..8].copy_from_slice(&65536u32.to_le_bytes());
        b[8..12].copy_from_slice(&4u32.to_le_bytes());
        b[12..16].copy_from_slice(&1u32.to_le_bytes());
        b[16..24].copy_from_slice(&features.to_le_bytes());
        b[56..60].copy_from_slice(&64u32.to_le_bytes());
        b[60..64].copy_from_slice(&(backing.len() as u32).to_le_bytes());
        b.extend_from_slice(backing);
        b
    }

    #[test]
    fn no_backing() {
        assert_eq!(parse(&image(0, b"")).unwrap(), QedHeader::default());
    }

    #[test]
    fn backing_and_raw_bit() {
        let h = parse(&image(F_BACKING_FILE, b"base.qed")).unwrap();
        assert_eq!(h.backing_file.as_deref(), Some("base.qed"));
        assert!(!h.backing_is_raw);
        let h = parse(&image(F_BACKING_FILE | F_BACKING_FORMAT_NO_PROBE, b"b.raw")).unwrap();
        assert!(h.backing_is_raw);
    }

    #[test]
    fn bad_input() {
        assert!(matches!(
            parse(b"QED\0"),
            Err(HeaderError::Truncated { .. })
        ));
        assert!(matches!(
            parse(&image(8, b"")),
            Err(HeaderError::Malformed { .. })
        ));
        let mut b = image(F_BACKING_FILE, b"x");
        b[56..60].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(parse(&b), Err(HeaderError::OutOfRange { .. })));
        let mut b = image(F_BACKING_FILE, b"x");
        b[60..64].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(parse(&b), Err(HeaderError::NameTooLong { .. })));
        assert!(matches!(
            parse(&image(F_BACKING_FILE, b"\xc3\x28")),
            Err(HeaderError::NonUtf8 { .. })
        ));
    }
}
