//! `<input>`.

use roxmltree::Node;

use super::{attr, child, first_attr, DomainError, Position, Result};
use crate::domain::model::Input;

pub(super) fn parse_input(node: Node<'_, '_>) -> Result<Input> {
    let kind = attr(node, "type").ok_or_else(|| DomainError::Missing {
        what: "<input>".into(),
        missing: "type attribute",
        at: Position::of(node),
    })?;
    Ok(Input {
        kind,
        evdev: child(node, "source").and_then(|s| first_attr(s, &["evdev", "dev"])),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn inputs() {
        let d = devices(
            "<input type='tablet' bus='usb'/>\
             <input type='passthrough' bus='virtio'><source evdev='/dev/input/event1'/></input>\
             <input type='evdev'><source dev='/dev/input/event2' grab='all'/></input>",
        );
        assert_eq!(d.inputs[0].evdev, None);
        assert_eq!(d.inputs[1].evdev.as_deref(), Some("/dev/input/event1"));
        assert_eq!(d.inputs[2].kind, "evdev");
        assert_eq!(d.inputs[2].evdev.as_deref(), Some("/dev/input/event2"));
        let e = device_err("<input bus='usb'/>");
        assert!(e.to_string().contains("<input> has no type"), "{e}");
    }
}
