//! A host described in memory, for tests, golden files and benchmarks: the
//! output depends only on the domain and this description, never on the
//! machine running the test.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use crate::domain::{PciAddress, StorageSource};
use crate::host::Host;
use crate::image::{ProbedChain, ProbedLayer};

/// A fake [`Host`]: only the listed paths exist, symlinks resolve as
/// listed, and devices are looked up in tables.
#[derive(Debug, Clone, Default)]
pub struct FakeHost {
    /// Paths that exist (after symlink resolution).
    pub existing: BTreeSet<String>,
    /// Symlink → target (absolute), for whole existing prefixes.
    pub symlinks: BTreeMap<String, String>,
    /// `(bus, device)` → USB device node.
    pub usb_by_address: BTreeMap<(u32, u32), String>,
    /// `(vendor, product)` → USB device node.
    pub usb_by_id: BTreeMap<(u16, u16), String>,
    pub pci_files: BTreeMap<PciAddress, Vec<String>>,
    pub render_node: Option<String>,
    /// Top image path → the chain below it (layer 0 is added from `top`).
    pub backing: BTreeMap<String, Vec<ProbedLayer>>,
    /// Top image path → its own header's data file and extents.
    pub top_headers: BTreeMap<String, (Option<String>, Vec<String>)>,
    /// Paths that are block or character devices.
    pub devices: BTreeSet<String>,
    /// Host macvtap device name → interface index.
    pub macvtaps: BTreeMap<String, u32>,
    /// PCI device → its IOMMU group number.
    pub pci_iommu_groups: BTreeMap<PciAddress, u32>,
    /// Mediated device UUID → its IOMMU group number.
    pub mdev_iommu_groups: BTreeMap<String, u32>,
    /// `(adapter, bus, target, unit)` → the device's `/dev/sgN` nodes.
    pub scsi_generic: BTreeMap<(String, u32, u32, u64), Vec<String>>,
    /// Storage pool name → its definition (an `Err` is the read error).
    pub pools: BTreeMap<String, Result<crate::pool::PoolDef, String>>,
}

impl FakeHost {
    pub fn new() -> Self {
        FakeHost::default()
    }

    /// Marks `path` and all its parents as existing.
    pub fn with_file(mut self, path: &str) -> Self {
        let mut p = Path::new(path);
        loop {
            self.existing.insert(p.to_string_lossy().into_owned());
            match p.parent() {
                Some(parent) => p = parent,
                None => break,
            }
        }
        self
    }

    pub fn with_symlink(mut self, link: &str, target: &str) -> Self {
        self = self.with_file(target);
        self.symlinks.insert(link.to_owned(), target.to_owned());
        if let Some(parent) = Path::new(link).parent() {
            self = self.with_file(&parent.to_string_lossy());
        }
        self
    }

    /// Marks `path` (and its parents) as existing, and as a device.
    pub fn with_device(mut self, path: &str) -> Self {
        self = self.with_file(path);
        self.devices.insert(path.to_owned());
        self
    }

    /// What the top image's own header names: a data file and extents.
    pub fn with_top_header(mut self, top: &str, data_file: Option<&str>, extents: &[&str]) -> Self {
        self.top_headers.insert(
            top.to_owned(),
            (
                data_file.map(str::to_owned),
                extents.iter().map(|e| (*e).to_owned()).collect(),
            ),
        );
        self
    }

    /// A host macvtap device `dev` with interface index `ifindex`.
    pub fn with_macvtap(mut self, dev: &str, ifindex: u32) -> Self {
        self.macvtaps.insert(dev.to_owned(), ifindex);
        self
    }

    /// A storage pool definition: its type and target path.
    pub fn with_pool(mut self, name: &str, kind: &str, target: &str) -> Self {
        self.pools.insert(
            name.to_owned(),
            Ok(crate::pool::PoolDef {
                kind: kind.to_owned(),
                target_path: Some(target.to_owned()),
                source_name: None,
                file: format!("/etc/libvirt/storage/{name}.xml"),
            }),
        );
        self
    }

    pub fn with_backing(mut self, top: &str, layers: Vec<ProbedLayer>) -> Self {
        self.backing.insert(top.to_owned(), layers);
        self
    }
}

impl Host for FakeHost {
    fn usb_device_node(
        &self,
        vendor: Option<u16>,
        product: Option<u16>,
        bus: Option<u32>,
        device: Option<u32>,
    ) -> Option<String> {
        if let (Some(b), Some(d)) = (bus, device) {
            return self.usb_by_address.get(&(b, d)).cloned();
        }
        match (vendor, product) {
            (Some(v), Some(p)) => self.usb_by_id.get(&(v, p)).cloned(),
            _ => None,
        }
    }

    fn pci_device_files(&self, address: PciAddress) -> Vec<String> {
        self.pci_files.get(&address).cloned().unwrap_or_default()
    }

    fn default_render_node(&self) -> Option<String> {
        self.render_node.clone()
    }

    fn probe_chain(&self, top: &StorageSource) -> ProbedChain {
        let Some(path) = &top.path else {
            return ProbedChain::default();
        };
        let (data_file, extents) = self.top_headers.get(path).cloned().unwrap_or_default();
        let mut layers = vec![ProbedLayer {
            path: path.clone(),
            format: top.format.clone(),
            data_file,
            extents,
        }];
        layers.extend(self.backing.get(path).cloned().unwrap_or_default());
        ProbedChain {
            layers,
            warnings: Vec::new(),
        }
    }

    fn realpath(&self, path: &Path) -> io::Result<PathBuf> {
        let text = path.to_string_lossy();
        // Resolve the longest symlinked prefix, component by component.
        let mut resolved = String::new();
        for comp in text.split('/').filter(|c| !c.is_empty() && *c != ".") {
            if comp == ".." {
                if let Some(idx) = resolved.rfind('/') {
                    resolved.truncate(idx);
                }
                continue;
            }
            resolved.push('/');
            resolved.push_str(comp);
            if let Some(target) = self.symlinks.get(&resolved) {
                resolved = target.clone();
            }
        }
        if resolved.is_empty() {
            resolved.push('/');
        }
        if self.existing.contains(&resolved) {
            Ok(PathBuf::from(resolved))
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{resolved} does not exist"),
            ))
        }
    }

    fn exists(&self, path: &Path) -> bool {
        self.realpath(path).is_ok()
    }

    fn macvtap_ifindex(&self, dev: &str) -> Option<u32> {
        self.macvtaps.get(dev).copied()
    }

    fn pci_vfio_group(&self, address: PciAddress) -> Option<String> {
        let group = self.pci_iommu_groups.get(&address)?;
        Some(format!("/dev/vfio/{group}"))
    }

    fn mdev_vfio_group(&self, uuid: &str) -> Option<String> {
        let group = self.mdev_iommu_groups.get(uuid)?;
        Some(format!("/dev/vfio/{group}"))
    }

    fn scsi_generic_nodes(
        &self,
        adapter: &str,
        bus: u32,
        target: u32,
        unit: u64,
    ) -> Option<Vec<String>> {
        self.scsi_generic
            .get(&(adapter.to_owned(), bus, target, unit))
            .cloned()
    }

    fn is_device(&self, path: &Path) -> bool {
        self.realpath(path)
            .is_ok_and(|p| self.devices.contains(p.to_string_lossy().as_ref()))
    }

    fn storage_pool(&self, name: &str) -> Result<Option<crate::pool::PoolDef>, String> {
        self.pools.get(name).cloned().transpose()
    }
}
