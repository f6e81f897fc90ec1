//! Bounds-checked integer reads for the header parsers.

use super::HeaderError;

/// `len` bytes at `off`, or a truncation error naming the format.
pub(crate) fn slice<'a>(
    buf: &'a [u8],
    off: usize,
    len: usize,
    format: &'static str,
) -> Result<&'a [u8], HeaderError> {
    let end = off.checked_add(len).ok_or(HeaderError::Truncated {
        format,
        need: usize::MAX,
        have: buf.len(),
    })?;
    buf.get(off..end).ok_or(HeaderError::Truncated {
        format,
        need: end,
        have: buf.len(),
    })
}

fn array<const N: usize>(
    buf: &[u8],
    off: usize,
    format: &'static str,
) -> Result<[u8; N], HeaderError> {
    let s = slice(buf, off, N, format)?;
    let mut out = [0u8; N];
    out.copy_from_slice(s);
    Ok(out)
}

pub(crate) fn be32(buf: &[u8], off: usize, format: &'static str) -> Result<u32, HeaderError> {
    array(buf, off, format).map(u32::from_be_bytes)
}

pub(crate) fn be64(buf: &[u8], off: usize, format: &'static str) -> Result<u64, HeaderError> {
    array(buf, off, format).map(u64::from_be_bytes)
}

pub(crate) fn le32(buf: &[u8], off: usize, format: &'static str) -> Result<u32, HeaderError> {
    array(buf, off, format).map(u32::from_le_bytes)
}

pub(crate) fn le64(buf: &[u8], off: usize, format: &'static str) -> Result<u64, HeaderError> {
    array(buf, off, format).map(u64::from_le_bytes)
}

/// A file name stored in a header: cut at the first NUL, non-empty,
/// no longer than `max`, and UTF-8.
pub(crate) fn name(
    raw: &[u8],
    max: usize,
    format: &'static str,
    what: &'static str,
) -> Result<Option<String>, HeaderError> {
    let raw = match raw.iter().position(|&b| b == 0) {
        Some(nul) => &raw[..nul],
        None => raw,
    };
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.len() > max {
        return Err(HeaderError::NameTooLong {
            format,
            what,
            len: raw.len(),
            max,
        });
    }
    match std::str::from_utf8(raw) {
        Ok(s) => Ok(Some(s.to_owned())),
        Err(_) => Err(HeaderError::NonUtf8 { format, what }),
    }
}

/// A format name recorded in a header (`qcow2`, `raw`, …): short, and made
/// of lower-case letters, digits, `-` and `_` only.
pub(crate) fn format_name(raw: &[u8], format: &'static str) -> Result<Option<String>, HeaderError> {
    let Some(s) = name(raw, 15, format, "backing format")? else {
        return Ok(None);
    };
    if s.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        Ok(Some(s))
    } else {
        Err(HeaderError::Malformed {
            format,
            detail: format!("backing format {s:?} is not a format name"),
        })
    }
}
