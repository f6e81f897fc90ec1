//! `<shmem>`.

use roxmltree::Node;

use super::{attr, child, DomainError, Position, Result};
use crate::domain::model::{Shmem, ShmemServer};

pub(super) fn parse_shmem(node: Node<'_, '_>) -> Result<Shmem> {
    let name = attr(node, "name").ok_or_else(|| DomainError::Missing {
        what: "<shmem>".into(),
        missing: "name attribute",
        at: Position::of(node),
    })?;
    Ok(Shmem {
        name,
        model: child(node, "model").and_then(|m| attr(m, "type")),
        server: child(node, "server").map(|s| ShmemServer {
            path: attr(s, "path"),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn shmems() {
        let d = devices(
            "<shmem name='plain'><model type='ivshmem-plain'/></shmem>\
             <shmem name='bell'><model type='ivshmem-doorbell'/><server path='/run/bell.sock'/></shmem>\
             <shmem name='dflt'><model type='ivshmem-doorbell'/><server/></shmem>",
        );
        let s = &d.shmems;
        assert_eq!(s[0].name, "plain");
        assert_eq!(s[0].model.as_deref(), Some("ivshmem-plain"));
        assert_eq!(s[0].server, None);
        assert_eq!(
            s[1].server,
            Some(ShmemServer {
                path: Some("/run/bell.sock".into())
            })
        );
        assert_eq!(s[2].server, Some(ShmemServer { path: None }));
        let e = device_err("<shmem><model type='ivshmem-plain'/></shmem>");
        assert!(e.to_string().contains("<shmem> has no name"), "{e}");
    }
}
