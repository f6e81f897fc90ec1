//! `<vsock>`.

use roxmltree::Node;

use super::{child, num_attr, yes_no, Result};
use crate::domain::model::Vsock;

pub(super) fn parse_vsock(node: Node<'_, '_>) -> Result<Vsock> {
    let Some(cid) = child(node, "cid") else {
        return Ok(Vsock {
            cid: None,
            auto: false,
        });
    };
    Ok(Vsock {
        cid: num_attr(cid, "address", "<vsock><cid>")?,
        auto: yes_no(cid, "auto")?.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::DomainError;
    use super::*;

    #[test]
    fn vsocks() {
        let d = devices("<vsock model='virtio'><cid auto='no' address='3'/></vsock>");
        assert_eq!(
            d.vsock,
            Some(Vsock {
                cid: Some(3),
                auto: false
            })
        );
        let d = devices("<vsock model='virtio'><cid auto='yes'/></vsock>");
        assert_eq!(
            d.vsock,
            Some(Vsock {
                cid: None,
                auto: true
            })
        );
        let e = device_err("<vsock><cid address='-3'/></vsock>");
        assert!(e.to_string().contains("\"-3\""), "{e}");
        let xml = with("<devices><vsock/><vsock/></devices>");
        assert_eq!(
            err(&xml),
            DomainError::Duplicate {
                what: "<vsock>",
                at: at(&xml, "<vsock", 1),
            }
        );
    }
}
