//! `<filesystem>`.

use roxmltree::Node;

use super::{attr, child, first_attr, has_child};
use crate::domain::model::Filesystem;

pub(super) fn parse_filesystem(node: Node<'_, '_>) -> Filesystem {
    let src = child(node, "source");
    Filesystem {
        kind: attr(node, "type").unwrap_or_else(|| "mount".to_owned()),
        driver: child(node, "driver").and_then(|d| attr(d, "type")),
        accessmode: attr(node, "accessmode"),
        source: src.and_then(|s| first_attr(s, &["dir", "file", "dev", "name"])),
        socket: src.and_then(|s| attr(s, "socket")),
        target: child(node, "target").and_then(|t| attr(t, "dir")),
        readonly: has_child(node, "readonly"),
        binary: child(node, "binary").and_then(|b| attr(b, "path")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn filesystems() {
        let d = devices(
            "<filesystem type='mount' accessmode='passthrough'><source dir='/srv/share'/>\
               <target dir='share'/><readonly/></filesystem>\
             <filesystem type='mount'><driver type='virtiofs'/><source socket='/run/vfs.sock'/>\
               <binary path='/usr/libexec/virtiofsd'/><target dir='t'/></filesystem>\
             <filesystem type='file'><driver type='loop'/><source file='/img'/></filesystem>\
             <filesystem><source dir='/x'/></filesystem>",
        );
        let f = &d.filesystems;
        assert_eq!(
            f[0],
            Filesystem {
                kind: "mount".into(),
                driver: None,
                accessmode: Some("passthrough".into()),
                source: Some("/srv/share".into()),
                socket: None,
                target: Some("share".into()),
                readonly: true,
                binary: None,
            }
        );
        assert_eq!(f[1].driver.as_deref(), Some("virtiofs"));
        assert_eq!(f[1].socket.as_deref(), Some("/run/vfs.sock"));
        assert_eq!(f[1].source, None);
        assert_eq!(f[1].binary.as_deref(), Some("/usr/libexec/virtiofsd"));
        assert!(!f[1].readonly);
        assert_eq!(f[2].kind, "file");
        assert_eq!(f[2].source.as_deref(), Some("/img"));
        assert_eq!(f[3].kind, "mount");
    }
}
