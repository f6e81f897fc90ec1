//! `<sysinfo type='fwcfg'>` entries.

use roxmltree::Node;

use super::{attr, children};
use crate::domain::model::FwCfgEntry;

/// The entries of every `<sysinfo type='fwcfg'>`, in document order.
pub(super) fn parse_fw_cfg(root: Node<'_, '_>) -> Vec<FwCfgEntry> {
    let mut fw_cfg = Vec::new();
    for sysinfo in children(root, "sysinfo") {
        if sysinfo.attribute("type") != Some("fwcfg") {
            continue;
        }
        for entry in children(sysinfo, "entry") {
            fw_cfg.push(FwCfgEntry {
                name: attr(entry, "name"),
                file: attr(entry, "file"),
            });
        }
    }
    fw_cfg
}
