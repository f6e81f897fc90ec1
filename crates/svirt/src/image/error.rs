//! Errors of the header parsers and of the file reader.

use std::io;

/// Why a header could not be understood. Every parser returns one of these
/// instead of panicking; the chain walker turns it into a warning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Fewer bytes than the fixed part of the header needs.
    #[error("header truncated: {format} needs {need} bytes, only {have} available")]
    Truncated {
        format: &'static str,
        need: usize,
        have: usize,
    },
    /// The file does not start with the format's magic number.
    #[error("not a {format} image (bad magic)")]
    BadMagic { format: &'static str },
    /// A version this code does not understand.
    #[error("unsupported {format} version {version}")]
    UnsupportedVersion { format: &'static str, version: u32 },
    /// An offset or length points outside the bytes we are willing to read.
    #[error("{format}: {what} out of range (offset {offset}, length {len}, limit {limit})")]
    OutOfRange {
        format: &'static str,
        what: &'static str,
        offset: u64,
        len: u64,
        limit: u64,
    },
    /// A name longer than the format (or QEMU) allows.
    #[error("{format}: {what} is {len} bytes, over the {max}-byte limit")]
    NameTooLong {
        format: &'static str,
        what: &'static str,
        len: usize,
        max: usize,
    },
    /// A file name that is not UTF-8. Paths in the domain model and in the
    /// profile are UTF-8 strings, so such a name cannot be granted; the
    /// chain stops there with a warning (QEMU is then denied, which fails
    /// closed).
    #[error("{format}: {what} is not valid UTF-8")]
    NonUtf8 {
        format: &'static str,
        what: &'static str,
    },
    /// Anything else that makes the header unusable.
    #[error("{format}: {detail}")]
    Malformed {
        format: &'static str,
        detail: String,
    },
}

/// Why the bytes of an image could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Nothing at that path.
    #[error("no such file")]
    NotFound,
    /// Something that is not an image file: a FIFO, socket, character
    /// device or directory. It is never opened for reading (a FIFO would
    /// block, a device may have side effects).
    #[error("refusing to read a {kind}")]
    Refused { kind: &'static str },
    /// More bytes than the format may legitimately need.
    #[error("{what} larger than the {limit}-byte limit")]
    TooLarge { what: &'static str, limit: u64 },
    /// Any other I/O error (permission denied, …).
    #[error("{0}")]
    Io(#[from] io::Error),
}
