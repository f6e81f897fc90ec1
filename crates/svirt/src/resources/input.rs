//! Input devices (§3.2): a passthrough or evdev input's event device, `rw`.

use super::{non_empty, Collector};
use crate::policy::{Access, Grant, Origin};

pub(super) fn add(cx: &mut Collector) {
    for (index, input) in cx.domain.devices.inputs.iter().enumerate() {
        if !matches!(input.kind.as_str(), "passthrough" | "evdev") {
            continue;
        }
        if let Some(dev) = non_empty(&input.evdev) {
            cx.push(Grant::path(dev, Access::RW, Origin::Input { index }));
        }
    }
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
