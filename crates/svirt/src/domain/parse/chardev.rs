//! `<serial>`, `<parallel>`, `<channel>` and `<console>`.

use roxmltree::Node;

use super::{attr, child, children, seclabels_of, Result};
use crate::domain::model::{CharDev, CharDevKind, CharDevSourceType};

pub(super) fn parse_chardev(kind: CharDevKind, node: Node<'_, '_>) -> Result<CharDev> {
    let mut path = None;
    let mut source_attrs = Vec::new();
    let mut seclabels = Vec::new();
    for (i, src) in children(node, "source").enumerate() {
        if path.is_none() {
            path = attr(src, "path");
        }
        if i == 0 {
            source_attrs = src
                .attributes()
                .filter(|a| a.name() != "path")
                .map(|a| (a.name().to_owned(), a.value().to_owned()))
                .collect();
            source_attrs.sort();
        }
        seclabels.extend(seclabels_of(src)?);
    }
    let target = child(node, "target");
    Ok(CharDev {
        kind,
        // libvirt's default backend when `type` is absent.
        source_type: attr(node, "type")
            .map_or(CharDevSourceType::Pty, |t| CharDevSourceType::from_name(&t)),
        path,
        source_attrs,
        log_file: child(node, "log").and_then(|l| attr(l, "file")),
        target_type: target.and_then(|t| attr(t, "type")),
        target_name: target.and_then(|t| attr(t, "name")),
        seclabels,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn chardevs_each_kind_in_document_order() {
        let d = devices(
            "<serial type='pty'><target port='0'/></serial>\
             <console type='pty'><target type='serial' port='0'/></console>\
             <serial type='file'><source path='/var/log/s1.log'/><log file='/var/log/s1.meta'/></serial>\
             <parallel type='pipe'><source path='/tmp/p'/></parallel>\
             <channel type='unix'><source mode='bind' path='/run/ch.sock'>\
               <seclabel model='apparmor' relabel='no'/></source>\
               <target type='virtio' name='org.qemu.guest_agent.0'/></channel>\
             <serial type='tcp'><source mode='bind' host='0.0.0.0' service='2445'/></serial>\
             <serial><source path='/dev/pts/3'/></serial>",
        );
        assert_eq!(d.serials.len(), 4);
        assert_eq!(d.serials[0].source_type, CharDevSourceType::Pty);
        assert_eq!(d.serials[0].path, None);
        assert_eq!(d.serials[1].path.as_deref(), Some("/var/log/s1.log"));
        assert_eq!(d.serials[1].log_file.as_deref(), Some("/var/log/s1.meta"));
        assert_eq!(d.serials[2].source_type, CharDevSourceType::Tcp);
        assert_eq!(d.serials[2].path, None);
        assert_eq!(d.serials[3].source_type, CharDevSourceType::Pty);
        assert_eq!(d.serials[3].path.as_deref(), Some("/dev/pts/3"));
        assert!(d.serials.iter().all(|c| c.kind == CharDevKind::Serial));
        assert_eq!(d.consoles[0].kind, CharDevKind::Console);
        assert_eq!(d.consoles[0].target_type.as_deref(), Some("serial"));
        assert_eq!(d.parallels[0].kind, CharDevKind::Parallel);
        assert_eq!(d.parallels[0].source_type, CharDevSourceType::Pipe);
        assert_eq!(d.parallels[0].path.as_deref(), Some("/tmp/p"));
        let ch = &d.channels[0];
        assert_eq!(ch.kind, CharDevKind::Channel);
        assert_eq!(ch.path.as_deref(), Some("/run/ch.sock"));
        assert_eq!(ch.target_type.as_deref(), Some("virtio"));
        assert_eq!(ch.target_name.as_deref(), Some("org.qemu.guest_agent.0"));
        assert!(ch.seclabels[0].opts_out_of_apparmor());
    }
}
