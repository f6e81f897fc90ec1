//! Memory devices (§3.2): an NVDIMM's backing file (`rw`); with
//! [`crate::Settings::virtio_pmem`], a virtio-pmem device's too (libvirt
//! 9.0's helper misses it, and QEMU is denied); with
//! [`crate::Settings::sgx_epc`], an SGX EPC section's devices:
//! `/dev/sgx_vepc` (`rw`) and `/dev/sgx_provision` (`r`) for each section,
//! as paths, as libvirt 11.3.

use super::{non_empty, Collector, DeviceError, Lookup};
use crate::domain::{Domain, MemoryDevice, MemoryModel};
use crate::host::Host;
use crate::policy::{Access, Grant, Origin};
use crate::Settings;

pub(super) fn add(cx: &mut Collector) {
    let mut sgx = false;
    for (index, mem) in cx.domain.devices.memory.iter().enumerate() {
        // At start a device without a path gets nothing, no error.
        let _ = add_one(cx, index, mem, &mut sgx, Lookup::Start);
    }
}

/// The grants of a hot-plugged memory device (spec §3.5), decided by the
/// code that decides them at start. A backing file is required where the
/// start would grant one.
pub fn memory_grants(
    domain: &Domain,
    mem: &MemoryDevice,
    settings: &Settings,
    host: &dyn Host,
) -> Result<Vec<Grant>, DeviceError> {
    let mut cx = Collector::for_device(domain, settings, host);
    let all = &domain.devices.memory;
    let index = all.iter().position(|m| m == mem).unwrap_or(all.len());
    add_one(&mut cx, index, mem, &mut false, Lookup::Hotplug)?;
    Ok(cx.out.grants)
}

/// `sgx` is set when an SGX pair was granted.
fn add_one(
    cx: &mut Collector,
    index: usize,
    mem: &MemoryDevice,
    sgx: &mut bool,
    lookup: Lookup,
) -> Result<(), DeviceError> {
    let wanted = match mem.model {
        MemoryModel::Nvdimm => true,
        MemoryModel::VirtioPmem => cx.settings.virtio_pmem,
        // libvirt 11.3 adds both devices as paths, for every section (a
        // missing one warns, the read-only one gets the quiet write deny).
        MemoryModel::SgxEpc if cx.settings.sgx_epc => {
            *sgx = true;
            let origin = Origin::Memory { index };
            cx.push(Grant::path("/dev/sgx_vepc", Access::RW, origin.clone()));
            cx.push(Grant::path("/dev/sgx_provision", Access::R, origin));
            false
        }
        _ => false,
    };
    if !wanted {
        return Ok(());
    }
    match non_empty(&mem.path) {
        Some(path) => cx.push(Grant::path(path, Access::RW, Origin::Memory { index })),
        None if lookup == Lookup::Hotplug => {
            return Err(DeviceError::NoSource {
                what: "memory device",
            })
        }
        None => {}
    }
    Ok(())
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
    fn sgx_epc_devices_per_section() {
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
            [
                "/dev/sgx_vepc rw",
                "/dev/sgx_provision r +quiet-deny",
                "/dev/sgx_vepc rw",
                "/dev/sgx_provision r +quiet-deny"
            ]
        );
    }
}
