//! `<memory>` devices (DIMMs, NVDIMMs, virtio-pmem, …).

use roxmltree::Node;

use super::{attr, child, child_text, DomainError, Position, Result};
use crate::domain::model::{MemoryDevice, MemoryModel};

pub(super) fn parse_memory(node: Node<'_, '_>) -> Result<MemoryDevice> {
    let model = attr(node, "model").ok_or_else(|| DomainError::Missing {
        what: "<memory> device".into(),
        missing: "model attribute",
        at: Position::of(node),
    })?;
    let model = MemoryModel::from_name(&model);
    Ok(MemoryDevice {
        model,
        path: child(node, "source").and_then(|s| child_text(s, "path")),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn memory_devices() {
        let d = devices(
            "<memory model='nvdimm'><source><path>/srv/nvdimm</path></source>\
               <target><size unit='KiB'>524288</size></target></memory>\
             <memory model='dimm'><target><size unit='KiB'>1</size></target></memory>",
        );
        assert_eq!(
            d.memory,
            vec![
                MemoryDevice {
                    model: MemoryModel::Nvdimm,
                    path: Some("/srv/nvdimm".into())
                },
                MemoryDevice {
                    model: MemoryModel::Dimm,
                    path: None
                },
            ]
        );
        let e = device_err("<memory><source><path>/x</path></source></memory>");
        assert!(e.to_string().contains("has no model attribute"), "{e}");
    }
}
