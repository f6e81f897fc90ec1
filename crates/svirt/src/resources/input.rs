//! Input devices (§3.2): a passthrough or evdev input's event device, `rw`.

use super::{non_empty, Collector, DeviceError, Lookup};
use crate::domain::{Domain, Input};
use crate::host::Host;
use crate::policy::{Access, Grant, Origin};
use crate::Settings;

pub(super) fn add(cx: &mut Collector) {
    for (index, input) in cx.domain.devices.inputs.iter().enumerate() {
        // At start an input without a source gets nothing, no error.
        let _ = add_one(cx, index, input, Lookup::Start);
    }
}

/// The grants of a hot-plugged input device (spec §3.5), decided by the
/// code that decides them at start. A passthrough or evdev input must name
/// its event device.
pub fn input_grants(
    domain: &Domain,
    input: &Input,
    settings: &Settings,
    host: &dyn Host,
) -> Result<Vec<Grant>, DeviceError> {
    let mut cx = Collector::for_device(domain, settings, host);
    let all = &domain.devices.inputs;
    let index = all.iter().position(|i| i == input).unwrap_or(all.len());
    add_one(&mut cx, index, input, Lookup::Hotplug)?;
    Ok(cx.out.grants)
}

fn add_one(
    cx: &mut Collector,
    index: usize,
    input: &Input,
    lookup: Lookup,
) -> Result<(), DeviceError> {
    if !matches!(input.kind.as_str(), "passthrough" | "evdev") {
        return Ok(());
    }
    match non_empty(&input.evdev) {
        Some(dev) => cx.push(Grant::path(dev, Access::RW, Origin::Input { index })),
        None if lookup == Lookup::Hotplug => {
            return Err(DeviceError::NoSource {
                what: "passthrough input device",
            })
        }
        None => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::domain::{Input, VirtType};
    use crate::resources::grants_for;
    use crate::resources::testing::*;
    use crate::Settings;

    #[test]
    fn passthrough_and_evdev_only() {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        d.devices.inputs = vec![
            Input {
                kind: "passthrough".into(),
                evdev: Some("/dev/input/event1".into()),
            },
            Input {
                kind: "evdev".into(),
                evdev: Some("/dev/input/event2".into()),
            },
            Input {
                kind: "tablet".into(),
                evdev: None,
            },
        ];
        let r = grants_for(&d, &Settings::libvirt_compatible(), &FakeHost::default()).unwrap();
        assert_eq!(
            show(&r.grants),
            ["/dev/input/event1 rw", "/dev/input/event2 rw"]
        );
    }
}
