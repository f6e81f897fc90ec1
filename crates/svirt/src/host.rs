//! The host as the pipeline sees it: the few questions about the machine that
//! decide which paths a VM needs. Everything that reads the filesystem for
//! the pure steps goes through [`Host`], so tests can answer with a fake.

use std::io;
use std::path::{Path, PathBuf};

use crate::domain::{PciAddress, StorageSource};
use crate::image::ProbedChain;

/// Questions the resources and policy steps ask about the host.
pub trait Host {
    /// The device node of a USB host device (`/dev/bus/usb/BBB/DDD`), found by
    /// bus and device number or by vendor and product id. `None` when it
    /// cannot be found (libvirt then silently grants nothing).
    fn usb_device_node(
        &self,
        vendor: Option<u16>,
        product: Option<u16>,
        bus: Option<u32>,
        device: Option<u32>,
    ) -> Option<String>;

    /// The sysfs files QEMU opens for a PCI device (config, resource*, rom,
    /// …), resolved to their real paths under `/sys/devices/pci…`.
    fn pci_device_files(&self, address: PciAddress) -> Vec<String>;

    /// The host's default DRM render node, e.g. `/dev/dri/renderD128`.
    fn default_render_node(&self) -> Option<String>;

    /// The chain below `top` as read from image headers (layer 0 is `top`).
    fn probe_chain(&self, top: &StorageSource) -> ProbedChain;

    /// `realpath(3)`: resolve symlinks, `.`, `..` and repeated slashes.
    fn realpath(&self, path: &Path) -> io::Result<PathBuf>;

    /// Whether something exists at `path` (following symlinks).
    fn exists(&self, path: &Path) -> bool;
}

/// The real host: the filesystem, sysfs and image headers.
#[derive(Debug, Default, Clone)]
pub struct RealHost {
    /// Prefix for `/sys` and `/dev` lookups; `/` on a real host.
    pub root: PathBuf,
}

impl RealHost {
    pub fn new() -> Self {
        RealHost {
            root: PathBuf::from("/"),
        }
    }
}
