//! Disk image headers and backing chains.
//!
//! QEMU opens every layer of a disk's backing chain, so the VM's profile
//! must allow every layer, and nothing else. This module finds the layers:
//!
//! - [`qcow2`], [`qed`] and [`vmdk`] are pure parsers over byte slices that
//!   return the names a header records (backing file, backing format,
//!   external data file, VMDK extents) or a typed [`HeaderError`]. They
//!   never panic and never look past the slice they are given.
//! - [`reader`] is the edge: [`FsImages`] reads a bounded prefix of a file
//!   and refuses FIFOs, sockets, character devices and directories without
//!   blocking on them.
//! - [`chain`] walks the chain over an [`ImageFs`]; [`probe_chain`] runs it
//!   on the real filesystem.
//!
//! # Rules of the walk
//!
//! - Layer 0 is the top image. Relative backing names are joined to the
//!   directory of the image naming them (as QEMU opens them), and each
//!   layer's path is then canonicalised; a missing file keeps its joined
//!   path, still becomes a layer and gets a warning.
//! - At most [`chain::MAX_LAYERS`] (200) layers, as libvirt; a deeper chain
//!   is cut with a warning. Loops (A→A, A→B→A) end the walk with a warning.
//! - An explicit `<backingStore>` wins over headers; `<backingStore/>`
//!   ends the chain.
//! - The format of each layer is the one declared (`<driver type>` for the
//!   top, `<format type>` inside `<backingStore>`) or recorded by the layer
//!   above (the qcow2 backing-format extension; the QED "backing is raw"
//!   bit). **A layer whose format is `raw` is never read**: a guest may
//!   have written a qcow2 header into its raw disk (CVE-2010-2237/2238).
//!
//! # Where no format is known
//!
//! We do what libvirt 9.0's helper does (observed with Debian's
//! `/usr/lib/libvirt/virt-aa-helper -d -r`, see `docs/images.md`):
//!
//! - a top image without `<driver type>` is not read at all, so a backing
//!   chain below it is not followed (libvirt treats it as raw);
//! - a qcow2 or VMDK layer that names a backing file without recording its
//!   format: the backing file becomes a layer, but its own header is not
//!   read (libvirt reads it only to drop the layer when it has a backing
//!   file of its own; we keep the rule and warn);
//! - a QED layer whose header lacks the "backing is raw" bit: the backing
//!   file's format is probed from its magic (qcow2, QED, VMDK, else raw)
//!   and followed, exactly as libvirt and QEMU do. **Risk:** if such a
//!   backing file is really a raw image a guest once wrote, its fake header
//!   is believed. qemu-img always sets the bit for raw backing files, so
//!   only hand-made or very old images are exposed.

pub mod chain;
mod error;
pub mod qcow2;
pub mod qed;
pub mod reader;
pub mod vmdk;

mod bytes;

pub use chain::{walk_chain, MAX_LAYERS};
pub use error::{HeaderError, ReadError};
pub use reader::{FsImages, ImageFs};

use crate::domain::StorageSource;

/// One layer of a chain found by reading image headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbedLayer {
    /// The layer's path, resolved against the directory of the image that
    /// names it, then canonicalised (when it exists).
    pub path: String,
    /// Its format, as declared or as recorded by the layer above (or, for
    /// the QED case above, probed). `None` when unknown: the header was not
    /// read.
    pub format: Option<String>,
    /// The external data file: the XML `<dataStore>` if any, else the one
    /// named in the layer's own header (qcow2), resolved like backing
    /// names. It needs the same access as its image.
    pub data_file: Option<String>,
    /// VMDK extent files other than the layer itself, resolved like
    /// backing names. QEMU opens them with the layer's access (a descriptor
    /// file keeps its data there; a monolithic sparse file names only
    /// itself).
    pub extents: Vec<String>,
}

/// A chain read from image headers. `layers[0]` is the top image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbedChain {
    pub layers: Vec<ProbedLayer>,
    /// Human-readable warnings (depth limit, loops, missing layers,
    /// unreadable headers), each naming the path and the reason.
    pub warnings: Vec<String>,
}

/// The chain below `top` on the real filesystem (layer 0 is `top`). Empty
/// when `top` has no path or is not local storage.
pub fn probe_chain(top: &StorageSource) -> ProbedChain {
    walk_chain(top, &FsImages)
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = super::qcow2::parse(&data);
            let _ = super::qed::parse(&data);
            let _ = super::vmdk::parse(&data);
            let _ = super::vmdk::parse_sparse_header(&data);
        }

        #[test]
        fn qcow2_prefix_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..2048), version in 0u32..5) {
            let mut data = b"QFI\xfb".to_vec();
            data.extend_from_slice(&version.to_be_bytes());
            data.extend_from_slice(&tail);
            let _ = super::qcow2::parse(&data);
        }

        #[test]
        fn vmdk_descriptor_text_never_panics(s in "[ -~\n\"=]{0,512}") {
            let _ = super::vmdk::parse_descriptor(s.as_bytes());
        }
    }
}
