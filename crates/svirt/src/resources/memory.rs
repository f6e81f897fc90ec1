//! Memory devices (§3.2): an NVDIMM's backing file (`rw`); with
//! [`crate::Settings::virtio_pmem`], a virtio-pmem device's too (libvirt
//! 9.0's helper misses it, and QEMU is denied).

use super::{non_empty, Collector};
use crate::domain::MemoryModel;
use crate::policy::{Access, Grant, Origin};

pub(super) fn add(cx: &mut Collector) {
    for (index, mem) in cx.domain.devices.memory.iter().enumerate() {
        let wanted = match mem.model {
            MemoryModel::Nvdimm => true,
            MemoryModel::VirtioPmem => cx.settings.virtio_pmem,
            _ => false,
        };
        if let (true, Some(path)) = (wanted, non_empty(&mem.path)) {
            cx.push(Grant::path(path, Access::RW, Origin::Memory { index }));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::{MemoryDevice, MemoryModel, VirtType};
    use crate::resources::grants_for;
    use crate::resources::testing::*;
    use crate::Settings;

    #[test]
    fn nvdimm_always_pmem_with_the_switch() {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        d.devices.memory = ["nvdimm", "virtio-pmem", "dimm", "virtio-mem"]
            .iter()
            .map(|m| MemoryDevice {
                model: MemoryModel::from_name(m),
                path: Some(format!("/m/{m}")),
            })
            .collect();
        let mut s = Settings::libvirt_compatible();
        let got = |s: &Settings| show(&grants_for(&d, s, &FakeHost::default()).unwrap().grants);
        assert_eq!(got(&s), ["/m/nvdimm rw"]);
        s.virtio_pmem = true;
        assert_eq!(got(&s), ["/m/nvdimm rw", "/m/virtio-pmem rw"]);
    }
}
