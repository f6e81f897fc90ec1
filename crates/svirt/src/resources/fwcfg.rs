//! `<sysinfo type='fwcfg'>` entries (§3.2): a host file QEMU passes to the
//! guest, `r` with the quiet write deny.

use super::{non_empty, Collector};
use crate::policy::{Access, Grant, Origin};

pub(super) fn add(cx: &mut Collector) {
    for (index, entry) in cx.domain.fw_cfg.iter().enumerate() {
        if let Some(file) = non_empty(&entry.file) {
            cx.push(Grant::path(file, Access::R, Origin::FwCfg { index }));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::{FwCfgEntry, VirtType};
    use crate::resources::grants_for;
    use crate::resources::testing::*;
    use crate::Settings;

    #[test]
    fn files_only() {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        d.fw_cfg = vec![
            FwCfgEntry {
                name: Some("opt/a".into()),
                file: None,
            },
            FwCfgEntry {
                name: Some("opt/b".into()),
                file: Some("/f/b.bin".into()),
            },
        ];
        let r = grants_for(&d, &Settings::libvirt_compatible(), &FakeHost::default()).unwrap();
        assert_eq!(show(&r.grants), ["/f/b.bin r +quiet-deny"]);
    }
}
