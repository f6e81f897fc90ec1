//! The edge: reading a bounded prefix of an image file without ever
//! blocking, and resolving paths. [`ImageFs`] lets tests fake both.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::ReadError;

/// What the chain walker needs from the filesystem.
pub trait ImageFs {
    /// At most `len` bytes of `path` starting at `offset` (fewer at end of
    /// file). Must never block and never read more than `len` bytes.
    fn read_at(&self, path: &Path, offset: u64, len: usize) -> Result<Vec<u8>, ReadError>;

    /// The size of the file at `path` in bytes (following symlinks).
    fn size(&self, path: &Path) -> Result<u64, ReadError>;

    /// `realpath(3)`; an error when the path does not exist.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
}

/// The real filesystem.
///
/// Files are checked before and after opening: only regular files and
/// block devices are read. FIFOs, sockets, character devices and
/// directories are refused without being opened for reading (a FIFO would
/// block, a device may have side effects). The open itself uses
/// `O_NONBLOCK | O_NOCTTY`, so a FIFO swapped in between the check and the
/// open cannot block us either; the second check (on the open descriptor)
/// then refuses it. Only the header region is ever read from a block
/// device.
#[derive(Debug, Default, Clone, Copy)]
pub struct FsImages;

// Flag values from the Linux UAPI for the architectures where they are the
// generic ones. Elsewhere we rely on the type check before the open alone.
pub(crate) const OPEN_FLAGS: i32 = if cfg!(all(
    target_os = "linux",
    any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "arm",
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "powerpc64",
        target_arch = "s390x",
        target_arch = "loongarch64"
    )
)) {
    0o4000 /* O_NONBLOCK */ | 0o400 /* O_NOCTTY */
} else {
    0
};

fn check_kind(meta: &Metadata) -> Result<(), ReadError> {
    let t = meta.file_type();
    if t.is_file() || t.is_block_device() {
        Ok(())
    } else {
        let kind = if t.is_fifo() {
            "FIFO"
        } else if t.is_socket() {
            "socket"
        } else if t.is_char_device() {
            "character device"
        } else if t.is_dir() {
            "directory"
        } else {
            "special file"
        };
        Err(ReadError::Refused { kind })
    }
}

fn not_found(e: io::Error) -> ReadError {
    if e.kind() == io::ErrorKind::NotFound {
        ReadError::NotFound
    } else {
        ReadError::Io(e)
    }
}

impl FsImages {
    fn open_checked(path: &Path) -> Result<File, ReadError> {
        let before = std::fs::metadata(path).map_err(not_found)?;
        check_kind(&before)?;
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(OPEN_FLAGS)
            .open(path)
            .map_err(not_found)?;
        let after = file.metadata()?;
        check_kind(&after)?;
        if before.dev() != after.dev() || before.ino() != after.ino() {
            return Err(ReadError::Io(io::Error::other(
                "file changed while opening it",
            )));
        }
        Ok(file)
    }
}

impl ImageFs for FsImages {
    fn read_at(&self, path: &Path, offset: u64, len: usize) -> Result<Vec<u8>, ReadError> {
        let mut file = Self::open_checked(path)?;
        if offset != 0 {
            file.seek(SeekFrom::Start(offset))?;
        }
        let mut out = Vec::with_capacity(len.min(64 * 1024));
        file.take(len as u64).read_to_end(&mut out)?;
        Ok(out)
    }

    fn size(&self, path: &Path) -> Result<u64, ReadError> {
        let meta = std::fs::metadata(path).map_err(not_found)?;
        check_kind(&meta)?;
        Ok(meta.len())
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
}
