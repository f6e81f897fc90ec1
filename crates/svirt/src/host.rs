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

    /// Whether `path` (following symlinks) is a block or character device.
    fn is_device(&self, path: &Path) -> bool;

    /// The interface index of the host macvtap device `dev`
    /// (`/sys/class/net/<dev>/ifindex`), whose character device QEMU uses
    /// is `/dev/tap<ifindex>`. `None` when `dev` is not one path component,
    /// does not exist, or is not a macvtap device (no
    /// `/sys/class/net/<dev>/macvtap/tap<ifindex>`): a definition naming a
    /// host NIC gets nothing.
    fn macvtap_ifindex(&self, dev: &str) -> Option<u32>;

    /// The VFIO group node (`/dev/vfio/<group>`) of a PCI device, from the
    /// last component of its sysfs `iommu_group` link. `None` when the
    /// device or its group cannot be found. Asked at hotplug only: at
    /// start every group is granted by pattern.
    fn pci_vfio_group(&self, address: PciAddress) -> Option<String>;

    /// The VFIO group node of a mediated device, by UUID (one path
    /// component, else `None`).
    fn mdev_vfio_group(&self, uuid: &str) -> Option<String>;

    /// The `/dev/sgN` nodes of a SCSI device given as adapter
    /// (`scsi_host<N>`), bus, target and unit, sorted. `None` when there
    /// are none.
    fn scsi_generic_nodes(
        &self,
        adapter: &str,
        bus: u32,
        target: u32,
        unit: u64,
    ) -> Option<Vec<String>>;

    /// libvirt's definition of storage pool `name` (one path component),
    /// read from `/run/libvirt/storage/<name>.xml`, else
    /// `/etc/libvirt/storage/<name>.xml` ([`crate::pool`]); nothing else is
    /// read. `Ok(None)` when neither exists; `Err` names the file and why
    /// it cannot be used.
    fn storage_pool(&self, name: &str) -> Result<Option<crate::pool::PoolDef>, String>;
}

/// The real host: the filesystem, sysfs, image headers and libvirt's
/// storage pool definitions.
#[derive(Debug, Default, Clone)]
pub struct RealHost {
    /// Prefix for `/sys`, `/dev` and storage pool lookups; `/` on a real
    /// host.
    pub root: PathBuf,
}

impl RealHost {
    pub fn new() -> Self {
        RealHost {
            root: PathBuf::from("/"),
        }
    }
}

impl RealHost {
    /// A host whose `/sys`, `/dev` and pool definitions live under `root`
    /// (for tests).
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        RealHost { root: root.into() }
    }

    /// `path` (absolute, as on a real host) under [`RealHost::root`].
    fn under_root(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// `path` without the root prefix again, for paths handed back.
    fn strip_root(&self, path: &Path) -> String {
        let stripped = path.strip_prefix(&self.root).unwrap_or(path);
        if stripped.is_absolute() {
            stripped.to_string_lossy().into_owned()
        } else {
            format!("/{}", stripped.to_string_lossy())
        }
    }
}

impl RealHost {
    /// `/dev/vfio/<group>` from an `iommu_group` symlink's last component.
    fn vfio_node(&self, device_dir: &Path) -> Option<String> {
        let target = std::fs::read_link(device_dir.join("iommu_group")).ok()?;
        let group = target.file_name()?.to_str()?;
        if group.is_empty() || !group.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(format!("/dev/vfio/{group}"))
    }
}

/// Reads a small sysfs attribute, trimmed.
fn read_attr(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name))
        .ok()
        .map(|s| s.trim().to_owned())
}

impl Host for RealHost {
    fn usb_device_node(
        &self,
        vendor: Option<u16>,
        product: Option<u16>,
        bus: Option<u32>,
        device: Option<u32>,
    ) -> Option<String> {
        if bus.is_none() && device.is_none() && vendor.is_none() {
            return None;
        }
        let entries = std::fs::read_dir(self.under_root("/sys/bus/usb/devices")).ok()?;
        let mut found: Option<(u32, u32)> = None;
        for entry in entries.flatten() {
            let dir = entry.path();
            let (Some(b), Some(d)) = (read_attr(&dir, "busnum"), read_attr(&dir, "devnum")) else {
                continue; // interfaces and other non-device entries
            };
            let (Ok(b), Ok(d)) = (b.parse::<u32>(), d.parse::<u32>()) else {
                continue;
            };
            if bus.is_some_and(|x| x != b) || device.is_some_and(|x| x != d) {
                continue;
            }
            let id = |attr| read_attr(&dir, attr).and_then(|v| u16::from_str_radix(&v, 16).ok());
            if vendor.is_some() && id("idVendor") != vendor {
                continue;
            }
            if product.is_some() && id("idProduct") != product {
                continue;
            }
            if found.is_some_and(|f| f != (b, d)) {
                // Ambiguous (libvirt refuses too): the XML must give the address.
                return None;
            }
            found = Some((b, d));
        }
        let (b, d) = found?;
        Some(format!("/dev/bus/usb/{b:03}/{d:03}"))
    }

    fn pci_device_files(&self, address: PciAddress) -> Vec<String> {
        let dir = self.under_root(&format!("/sys/bus/pci/devices/{address}"));
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        // Directory order, as libvirt's iterator walks it.
        let mut files = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !crate::policy::path::is_pci_assignment_name(name) {
                continue;
            }
            let path = dir.join(name);
            let real = std::fs::canonicalize(&path).unwrap_or(path);
            files.push(self.strip_root(&real));
        }
        files
    }

    fn default_render_node(&self) -> Option<String> {
        let entries = std::fs::read_dir(self.under_root("/dev/dri")).ok()?;
        let mut nodes: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter(|n| n.starts_with("renderD"))
            .collect();
        nodes.sort();
        nodes.first().map(|n| format!("/dev/dri/{n}"))
    }

    fn probe_chain(&self, top: &StorageSource) -> ProbedChain {
        crate::image::probe_chain(top)
    }

    fn realpath(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn macvtap_ifindex(&self, dev: &str) -> Option<u32> {
        // Never leave /sys/class/net, whatever the caller checked.
        crate::policy::path::check_component(dev).ok()?;
        let dir = self.under_root(&format!("/sys/class/net/{dev}"));
        let ifindex = read_attr(&dir, "ifindex")?.parse::<u32>().ok()?;
        dir.join(format!("macvtap/tap{ifindex}"))
            .exists()
            .then_some(ifindex)
    }

    fn is_device(&self, path: &Path) -> bool {
        use std::os::unix::fs::FileTypeExt;
        std::fs::metadata(path)
            .map(|m| m.file_type().is_block_device() || m.file_type().is_char_device())
            .unwrap_or(false)
    }

    fn pci_vfio_group(&self, address: PciAddress) -> Option<String> {
        self.vfio_node(&self.under_root(&format!("/sys/bus/pci/devices/{address}")))
    }

    fn mdev_vfio_group(&self, uuid: &str) -> Option<String> {
        crate::policy::path::check_component(uuid).ok()?;
        self.vfio_node(&self.under_root(&format!("/sys/bus/mdev/devices/{uuid}")))
    }

    fn scsi_generic_nodes(
        &self,
        adapter: &str,
        bus: u32,
        target: u32,
        unit: u64,
    ) -> Option<Vec<String>> {
        let host: u32 = adapter.strip_prefix("scsi_host")?.parse().ok()?;
        let dir = self.under_root(&format!(
            "/sys/bus/scsi/devices/{host}:{bus}:{target}:{unit}/scsi_generic"
        ));
        let mut nodes: Vec<String> = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter(|n| {
                n.starts_with("sg") && n.len() > 2 && n[2..].bytes().all(|b| b.is_ascii_digit())
            })
            .map(|n| format!("/dev/{n}"))
            .collect();
        nodes.sort();
        (!nodes.is_empty()).then_some(nodes)
    }

    fn storage_pool(&self, name: &str) -> Result<Option<crate::pool::PoolDef>, String> {
        crate::pool::read(&self.root, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(root: &Path, path: &str, text: &str) {
        let p = root.join(path.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    fn usb(root: &Path, name: &str, bus: u32, dev: u32, vendor: &str, product: &str) {
        let d = format!("/sys/bus/usb/devices/{name}");
        write(root, &format!("{d}/busnum"), &format!("{bus}\n"));
        write(root, &format!("{d}/devnum"), &format!("{dev}\n"));
        write(root, &format!("{d}/idVendor"), &format!("{vendor}\n"));
        write(root, &format!("{d}/idProduct"), &format!("{product}\n"));
    }

    #[test]
    fn usb_lookup_by_address_and_id() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        usb(root, "usb1", 1, 1, "1d6b", "0002");
        usb(root, "1-1", 1, 3, "1234", "beef");
        usb(root, "2-1", 2, 7, "abcd", "0001");
        usb(root, "2-2", 2, 8, "abcd", "0001");
        fs::create_dir_all(root.join("sys/bus/usb/devices/1-1:1.0")).unwrap();
        let h = RealHost::with_root(root);
        assert_eq!(
            h.usb_device_node(None, None, Some(1), Some(3)).as_deref(),
            Some("/dev/bus/usb/001/003")
        );
        assert_eq!(
            h.usb_device_node(Some(0x1234), Some(0xbeef), None, None)
                .as_deref(),
            Some("/dev/bus/usb/001/003")
        );
        assert_eq!(h.usb_device_node(None, None, Some(1), Some(9)), None);
        // Two devices with the same ids: ambiguous.
        assert_eq!(h.usb_device_node(Some(0xabcd), Some(1), None, None), None);
        assert_eq!(
            h.usb_device_node(Some(0xabcd), Some(1), Some(2), Some(8))
                .as_deref(),
            Some("/dev/bus/usb/002/008")
        );
        assert_eq!(h.usb_device_node(None, None, None, None), None);
    }

    #[test]
    fn pci_files_resolve_through_the_bus_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let real = "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0";
        for f in [
            "config",
            "resource",
            "resource0",
            "resource2_wc",
            "rom",
            "reset",
            "vendor",
            "device",
            "irq",
            "driver_override",
            "remove",
        ] {
            write(root, &format!("{real}/{f}"), "");
        }
        fs::create_dir_all(root.join("sys/bus/pci/devices")).unwrap();
        std::os::unix::fs::symlink(
            root.join(real.trim_start_matches('/')),
            root.join("sys/bus/pci/devices/0000:01:00.0"),
        )
        .unwrap();
        let h = RealHost::with_root(root.canonicalize().unwrap());
        let mut files = h.pci_device_files(PciAddress {
            domain: 0,
            bus: 1,
            slot: 0,
            function: 0,
        });
        files.sort();
        let want: Vec<String> = [
            "config",
            "device",
            "reset",
            "resource",
            "resource0",
            "resource2_wc",
            "rom",
            "vendor",
        ]
        .iter()
        .map(|f| format!("{real}/{f}"))
        .collect();
        assert_eq!(files, want);
        assert!(h.pci_device_files(PciAddress::default()).is_empty());
    }

    #[test]
    fn default_render_node_is_the_first_sorted() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for n in ["card0", "renderD129", "renderD128"] {
            write(root, &format!("/dev/dri/{n}"), "");
        }
        assert_eq!(
            RealHost::with_root(root).default_render_node().as_deref(),
            Some("/dev/dri/renderD128")
        );
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            RealHost::with_root(empty.path()).default_render_node(),
            None
        );
    }

    #[test]
    fn macvtap_ifindex_reads_sysfs_and_stays_in_class_net() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        // As the kernel lays it out (checked with `ip link add … type macvtap`).
        write(root, "/sys/class/net/macvtap0/ifindex", "12\n");
        write(root, "/sys/class/net/macvtap0/macvtap/tap12/dev", "246:1\n");
        // A host NIC: no macvtap directory.
        write(root, "/sys/class/net/eth0/ifindex", "2\n");
        // The tap directory of another index.
        write(root, "/sys/class/net/odd/ifindex", "7\n");
        write(root, "/sys/class/net/odd/macvtap/tap8/dev", "246:2\n");
        write(root, "/sys/class/net/bad/ifindex", "x\n");
        write(root, "/sys/class/ifindex", "5\n");
        write(root, "/sys/class/macvtap/tap5/dev", "246:3\n");
        let h = RealHost::with_root(root);
        assert_eq!(h.macvtap_ifindex("macvtap0"), Some(12));
        for name in ["macvtap1", "eth0", "odd", "bad"] {
            assert_eq!(h.macvtap_ifindex(name), None, "{name}");
        }
        for name in ["..", ".", "", "../net/macvtap0", "a/b"] {
            assert_eq!(h.macvtap_ifindex(name), None, "{name}");
        }
    }

    #[test]
    fn probe_chain_reads_the_image_headers() {
        let src = StorageSource::new(
            crate::domain::StorageType::File,
            Some("/nonexistent/x.img".into()),
        );
        let chain = RealHost::new().probe_chain(&src);
        assert!(chain.layers.len() <= 1, "{chain:?}");
    }

    #[test]
    fn vfio_groups_and_sg_nodes() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let pci = root.join("sys/bus/pci/devices/0000:01:00.0");
        std::fs::create_dir_all(&pci).unwrap();
        std::os::unix::fs::symlink(
            "../../../../kernel/iommu_groups/17",
            pci.join("iommu_group"),
        )
        .unwrap();
        let mdev = root.join("sys/bus/mdev/devices/c2177883-f1bb-47f0-914d-32a22e3a8804");
        std::fs::create_dir_all(&mdev).unwrap();
        std::os::unix::fs::symlink("../../kernel/iommu_groups/3", mdev.join("iommu_group"))
            .unwrap();
        std::fs::create_dir_all(root.join("sys/bus/scsi/devices/2:0:1:4/scsi_generic/sg5"))
            .unwrap();
        let s = RealHost::with_root(root);
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
