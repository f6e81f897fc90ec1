//! Memory devices (§3.2): an NVDIMM's backing file (`rw`); with
//! [`crate::Settings::virtio_pmem`], a virtio-pmem device's too (libvirt
//! 9.0's helper misses it, and QEMU is denied); with
//! [`crate::Settings::sgx_epc`], an SGX EPC section's devices:
//! `/dev/sgx_vepc` (`rw`) and `/dev/sgx_provision` (`r`), as libvirt 11.3.

use super::{non_empty, Collector};
use crate::domain::MemoryModel;
use crate::policy::{Access, FixedPattern, Grant, Origin};

pub(super) fn add(cx: &mut Collector) {
    let mut sgx = false;
    for (index, mem) in cx.domain.devices.memory.iter().enumerate() {
        let wanted = match mem.model {
            MemoryModel::Nvdimm => true,
            MemoryModel::VirtioPmem => cx.settings.virtio_pmem,
            MemoryModel::SgxEpc if cx.settings.sgx_epc && !sgx => {
                // One pair of rules, however many EPC sections.
                sgx = true;
                let origin = Origin::Memory { index };
                cx.push(Grant::fixed(
                    FixedPattern::SGX_VEPC,
                    Access::RW,
                    origin.clone(),
                ));
                cx.push(Grant::fixed(FixedPattern::SGX_PROVISION, Access::R, origin));
                false
            }
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

    #[test]
    fn sgx_epc_devices_in_safe_mode_once() {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        d.devices.memory = vec![
            MemoryDevice {
                model: MemoryModel::SgxEpc,
                path: None,
            },
            MemoryDevice {
                model: MemoryModel::SgxEpc,
                path: Some("/ignored".into()),
            },
        ];
        let got = |s: &Settings| show(&grants_for(&d, s, &FakeHost::default()).unwrap().grants);
        assert!(got(&Settings::libvirt_compatible()).is_empty());
        assert_eq!(
            got(&Settings::safe()),
            ["/dev/sgx_vepc rw", "/dev/sgx_provision r"]
        );
    }
}
