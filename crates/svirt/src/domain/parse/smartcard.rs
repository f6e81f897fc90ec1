//! `<smartcard>`.

use roxmltree::Node;

use super::{child, text, DomainError, Position, Result};
use crate::domain::model::Smartcard;

pub(super) fn parse_smartcard(node: Node<'_, '_>) -> Result<Smartcard> {
    match node.attribute("mode") {
        Some("host") => Ok(Smartcard::Host),
        Some("host-certificates") => Ok(Smartcard::HostCertificates {
            database: smartcard_database(node)?,
        }),
        Some("passthrough") => Ok(Smartcard::Passthrough),
        None | Some("") => Err(DomainError::Missing {
            what: "<smartcard>".into(),
            missing: "mode attribute",
            at: Position::of(node),
        }),
        Some(other) => Err(DomainError::InvalidValue {
            what: "<smartcard> attribute mode".into(),
            value: other.to_owned(),
            reason: "expected 'host', 'host-certificates' or 'passthrough'",
            at: Position::of_attr(node, "mode"),
        }),
    }
}

/// A host-certificates smartcard's NSS database: libvirt's parser refuses
/// a relative path.
fn smartcard_database(node: Node<'_, '_>) -> Result<Option<String>> {
    let db_node = child(node, "database");
    let db = db_node.and_then(text);
    match (db.as_deref(), db_node) {
        (Some(d), Some(db_node)) if !d.starts_with('/') => Err(DomainError::InvalidValue {
            what: "<smartcard><database>".into(),
            value: d.to_owned(),
            reason: "expected an absolute path",
            at: Position::of(db_node),
        }),
        _ => Ok(db),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn smartcards() {
        let d = devices(
            "<smartcard mode='host'/>\
             <smartcard mode='host-certificates'><certificate>a</certificate>\
               <database>/etc/pki/other</database></smartcard>\
             <smartcard mode='host-certificates'/>\
             <smartcard mode='passthrough' type='spicevmc'/>",
        );
        assert_eq!(
            d.smartcards,
            vec![
                Smartcard::Host,
                Smartcard::HostCertificates {
                    database: Some("/etc/pki/other".into())
                },
                Smartcard::HostCertificates { database: None },
                Smartcard::Passthrough,
            ]
        );
        let e = device_err("<smartcard mode='remote'/>");
        assert!(e.to_string().contains("remote"), "{e}");
        let e = device_err("<smartcard/>");
        assert!(e.to_string().contains("has no mode"), "{e}");
    }
}
