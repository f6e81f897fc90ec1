//! Filesystem passthrough (§3.2): a 9p share (`type='mount'` with the
//! default or `path` driver) grants its directory tree, `rwl` when
//! writable and plain `r` without the quiet write deny when read-only
//! (so a read-only share of `/` does not deny writes everywhere).
//! virtiofs and the other drivers get nothing: virtiofsd is a separate
//! process, and its socket lives in the per-run directory.

use super::{non_empty, Collector};
use crate::policy::{Access, Grant, Origin, Target};

pub(super) fn add(cx: &mut Collector) {
    for (index, fs) in cx.domain.devices.filesystems.iter().enumerate() {
        if fs.kind != "mount" || !matches!(fs.driver.as_deref(), None | Some("path")) {
            continue;
        }
        let Some(dir) = non_empty(&fs.source) else {
            continue;
        };
        let access = if fs.readonly { Access::R } else { Access::RWL };
        cx.push(Grant::tree(
            Target::Tree(dir.to_owned()),
            access,
            false,
            Origin::Filesystem { index },
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::Filesystem;
    use crate::resources::grants_for;
    use crate::resources::testing::*;
    use crate::Settings;

    fn fs(kind: &str, driver: Option<&str>, source: &str, readonly: bool) -> Filesystem {
        Filesystem {
            kind: kind.into(),
            driver: driver.map(Into::into),
            accessmode: Some("passthrough".into()),
            source: Some(source.into()),
            socket: None,
            target: Some("tag".into()),
            readonly,
            binary: None,
        }
    }

    #[test]
    fn ninep_read_write_and_read_only() {
        let mut d = domain("vm");
        d.devices.filesystems = vec![
            fs("mount", None, "/srv/share", false),
            fs("mount", Some("path"), "/srv/ro/", true),
            fs("mount", Some("virtiofs"), "/srv/vfs", false),
            fs("mount", Some("handle"), "/srv/h", false),
            fs("block", None, "/dev/sdb", false),
        ];
        let r = grants_for(&d, &Settings::libvirt_compatible(), &FakeHost::default()).unwrap();
        assert_eq!(
            show(&r.grants[5..]),
            ["tree /srv/share rwl", "tree /srv/ro/ r"]
        );
    }
}
