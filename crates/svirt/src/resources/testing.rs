//! Test helpers: a fake [`Host`], a bare domain and a compact view of
//! grants.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::domain::{Devices, Domain, DomainUuid, Os, PciAddress, StorageSource, VirtType};
use crate::host::Host;
use crate::image::{ProbedChain, ProbedLayer};
use crate::policy::{Grant, Mode, PatternPart, Target};

/// A host whose answers are set by the test.
#[derive(Debug, Default)]
pub struct FakeHost {
    /// `(bus, device)` → node, and `(vendor, product)` → node.
    pub usb_by_address: BTreeMap<(u32, u32), String>,
    pub usb_by_id: BTreeMap<(u16, u16), String>,
    pub pci: BTreeMap<String, Vec<String>>,
    pub render_node: Option<String>,
    /// Top path → the chain below it (without the top).
    pub chains: BTreeMap<String, Vec<ProbedLayer>>,
    pub existing: Vec<String>,
    pub realpaths: BTreeMap<String, String>,
    /// VMDK extents the top image's header names.
    pub top_extents: Vec<String>,
    /// Block and character devices.
    pub devices: Vec<String>,
    /// Paths `probe_chain` was asked about.
    pub probed: RefCell<Vec<String>>,
    /// Host macvtap device name → interface index.
    pub macvtaps: BTreeMap<String, u32>,
    /// Devices `macvtap_ifindex` was asked about.
    pub ifindex_asked: RefCell<Vec<String>>,
    /// PCI address (`0000:01:00.0`) or mdev UUID → IOMMU group number.
    pub iommu_groups: BTreeMap<String, u32>,
    /// `adapter:bus:target:unit` → the device's `/dev/sgN` nodes.
    pub scsi_generic: BTreeMap<String, Vec<String>>,
    /// Whether a VFIO group or SCSI node lookup was made (never at start).
    pub sysfs_asked: RefCell<usize>,
    /// Where pool definitions are read from (`<root>/etc/libvirt/storage`,
    /// `<root>/run/libvirt/storage`); none when `None`.
    pub pool_root: Option<PathBuf>,
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
        self.usb_by_id.get(&(vendor?, product?)).cloned()
    }

    fn pci_device_files(&self, address: PciAddress) -> Vec<String> {
        self.pci
            .get(&address.to_string())
            .cloned()
            .unwrap_or_default()
    }

    fn default_render_node(&self) -> Option<String> {
        self.render_node.clone()
    }

    fn probe_chain(&self, top: &StorageSource) -> ProbedChain {
        let path = top.path.clone().unwrap_or_default();
        self.probed.borrow_mut().push(path.clone());
        let mut layers = vec![ProbedLayer {
            path: path.clone(),
            format: top.format.clone(),
            data_file: None,
            extents: self.top_extents.clone(),
        }];
        layers.extend(self.chains.get(&path).cloned().unwrap_or_default());
        ProbedChain {
            layers,
            warnings: Vec::new(),
        }
    }

    fn realpath(&self, path: &Path) -> io::Result<PathBuf> {
        let p = path.to_string_lossy().into_owned();
        Ok(PathBuf::from(self.realpaths.get(&p).cloned().unwrap_or(p)))
    }

    fn exists(&self, path: &Path) -> bool {
        self.existing.iter().any(|e| Path::new(e) == path)
    }

    fn macvtap_ifindex(&self, dev: &str) -> Option<u32> {
        self.ifindex_asked.borrow_mut().push(dev.to_owned());
        self.macvtaps.get(dev).copied()
    }

    fn is_device(&self, path: &Path) -> bool {
        self.devices.iter().any(|e| Path::new(e) == path)
    }

    fn pci_vfio_group(&self, address: PciAddress) -> Option<String> {
        *self.sysfs_asked.borrow_mut() += 1;
        let group = self.iommu_groups.get(&address.to_string())?;
        Some(format!("/dev/vfio/{group}"))
    }

    fn mdev_vfio_group(&self, uuid: &str) -> Option<String> {
        *self.sysfs_asked.borrow_mut() += 1;
        let group = self.iommu_groups.get(uuid)?;
        Some(format!("/dev/vfio/{group}"))
    }

    fn scsi_generic_nodes(
        &self,
        adapter: &str,
        bus: u32,
        target: u32,
        unit: u64,
    ) -> Option<Vec<String>> {
        *self.sysfs_asked.borrow_mut() += 1;
        self.scsi_generic
            .get(&format!("{adapter}:{bus}:{target}:{unit}"))
            .cloned()
    }

    fn storage_pool(&self, name: &str) -> Result<Option<crate::pool::PoolDef>, String> {
        match &self.pool_root {
            Some(root) => crate::pool::read(root, name),
            None => Ok(None),
        }
    }
}

/// A KVM domain with no devices.
pub fn domain(name: &str) -> Domain {
    Domain {
        virt_type: VirtType::Kvm,
        id: None,
        name: name.into(),
        uuid: DomainUuid::parse("00000000-0000-0000-0000-0123456789ab").unwrap(),
        os: Os {
            os_type: "hvm".into(),
            ..Os::default()
        },
        seclabels: Vec::new(),
        devices: Devices::default(),
        fw_cfg: Vec::new(),
        launch_security: None,
        hugepages: false,
    }
}

/// One line per grant: `[deny ]<target> <access>[ +quiet-deny]`, with the
/// pattern parts joined and literals marked `«…»`.
pub fn show(grants: &[Grant]) -> Vec<String> {
    grants
        .iter()
        .map(|g| {
            let target = match &g.target {
                Target::Path(p) => p.clone(),
                Target::Tree(d) => format!("tree {d}"),
                Target::Subtree(d) => format!("subtree {d}"),
                Target::Entries(d) => format!("entries {d}"),
                Target::Fixed(f) => f.as_str().to_owned(),
                Target::Child(c) => {
                    format!("child {} [{}]", c.kind.name(), show(&c.grants).join(", "))
                }
                Target::Pattern(parts) => parts
                    .iter()
                    .map(|p| match p {
                        PatternPart::Literal(l) => format!("«{l}»"),
                        PatternPart::Name(n) => format!("‹{n}›"),
                        PatternPart::Glob(g) => g.as_str().to_owned(),
                    })
                    .collect(),
            };
            let deny = if g.mode == Mode::Deny { "deny " } else { "" };
            let quiet = if g.quiet_write_deny {
                " +quiet-deny"
            } else {
                ""
            };
            format!("{deny}{target} {}{quiet}", g.access)
        })
        .collect()
}
