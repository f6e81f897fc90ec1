//! The device nodes a hot-plugged host device needs (spec §3.5) that the
//! pipeline's [`crate::host::Host`] does not answer: VFIO group nodes and
//! SCSI generic nodes. Everything is read under a configurable root so
//! tests can build a fake sysfs.

use std::path::{Path, PathBuf};

use crate::domain::PciAddress;

/// The vhost-scsi device QEMU opens for `<hostdev type='scsi_host'>`.
pub const VHOST_SCSI: &str = "/dev/vhost-scsi";

/// sysfs lookups under `root` (`/` on a real host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysfsDevices {
    pub root: PathBuf,
}

impl Default for SysfsDevices {
    fn default() -> Self {
        SysfsDevices { root: "/".into() }
    }
}

impl SysfsDevices {
    fn under(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// `/dev/vfio/<group>` from an `iommu_group` symlink's last component.
    fn vfio_node(&self, device_dir: &Path) -> Option<String> {
        let target = std::fs::read_link(device_dir.join("iommu_group")).ok()?;
        let group = target.file_name()?.to_str()?;
        if group.is_empty() || !group.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(format!("/dev/vfio/{group}"))
    }

    /// The VFIO group node of a PCI device.
    pub fn pci_vfio_group(&self, address: PciAddress) -> Option<String> {
        self.vfio_node(&self.under(&format!("/sys/bus/pci/devices/{address}")))
    }

    /// The VFIO group node of a mediated device.
    pub fn mdev_vfio_group(&self, uuid: &str) -> Option<String> {
        if uuid.is_empty() || uuid.contains('/') {
            return None;
        }
        self.vfio_node(&self.under(&format!("/sys/bus/mdev/devices/{uuid}")))
    }

    /// The `/dev/sgN` nodes of a SCSI device given as adapter
    /// (`scsi_host<N>`), bus, target and unit.
    pub fn scsi_generic_nodes(
        &self,
        adapter: &str,
        bus: u32,
        target: u32,
        unit: u64,
    ) -> Option<Vec<String>> {
        let host: u32 = adapter.strip_prefix("scsi_host")?.parse().ok()?;
        let dir = self.under(&format!(
            "/sys/bus/scsi/devices/{host}:{bus}:{target}:{unit}/scsi_generic"
        ));
        let mut nodes: Vec<String> = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter(|n| n.starts_with("sg") && n[2..].bytes().all(|b| b.is_ascii_digit()))
            .map(|n| format!("/dev/{n}"))
            .collect();
        nodes.sort();
        (!nodes.is_empty()).then_some(nodes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn vfio_groups_and_sg_nodes() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let pci = root.join("sys/bus/pci/devices/0000:01:00.0");
        fs::create_dir_all(&pci).unwrap();
        symlink(
            "../../../../kernel/iommu_groups/17",
            pci.join("iommu_group"),
        )
        .unwrap();
        let mdev = root.join("sys/bus/mdev/devices/c2177883-f1bb-47f0-914d-32a22e3a8804");
        fs::create_dir_all(&mdev).unwrap();
        symlink("../../kernel/iommu_groups/3", mdev.join("iommu_group")).unwrap();
        fs::create_dir_all(root.join("sys/bus/scsi/devices/2:0:1:4/scsi_generic/sg5")).unwrap();
        let s = SysfsDevices {
            root: root.to_owned(),
        };
        let addr = PciAddress {
            domain: 0,
            bus: 1,
            slot: 0,
            function: 0,
        };
        assert_eq!(s.pci_vfio_group(addr).as_deref(), Some("/dev/vfio/17"));
        assert_eq!(s.pci_vfio_group(PciAddress::default()), None);
        assert_eq!(
            s.mdev_vfio_group("c2177883-f1bb-47f0-914d-32a22e3a8804")
                .as_deref(),
            Some("/dev/vfio/3")
        );
        assert_eq!(s.mdev_vfio_group("../x"), None);
        assert_eq!(
            s.scsi_generic_nodes("scsi_host2", 0, 1, 4),
            Some(vec!["/dev/sg5".to_owned()])
        );
        assert_eq!(s.scsi_generic_nodes("scsi_host2", 0, 1, 5), None);
        assert_eq!(s.scsi_generic_nodes("host2", 0, 1, 4), None);
    }
}
