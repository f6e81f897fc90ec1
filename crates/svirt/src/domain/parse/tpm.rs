//! `<tpm>`.

use roxmltree::Node;

use super::{attr, child, DomainError, Position, Result};
use crate::domain::model::{Tpm, TpmBackend};

pub(super) fn parse_tpm(node: Node<'_, '_>) -> Result<Tpm> {
    let backend = child(node, "backend").ok_or_else(|| DomainError::Missing {
        what: "<tpm>".into(),
        missing: "<backend> element",
        at: Position::of(node),
    })?;
    let backend = match backend.attribute("type") {
        Some("emulator") => TpmBackend::Emulator {
            version: tpm_version(backend)?,
            state_path: child(backend, "source").and_then(|s| attr(s, "path")),
        },
        Some("passthrough") => TpmBackend::Passthrough {
            device: child(backend, "device").and_then(|d| attr(d, "path")),
        },
        Some("external") => TpmBackend::External {
            socket: child(backend, "source").and_then(|s| attr(s, "path")),
        },
        None | Some("") => {
            return Err(DomainError::Missing {
                what: "<tpm><backend>".into(),
                missing: "type attribute",
                at: Position::of(backend),
            })
        }
        Some(other) => {
            return Err(DomainError::InvalidValue {
                what: "<tpm><backend> attribute type".into(),
                value: other.to_owned(),
                reason: "expected 'emulator', 'passthrough' or 'external'",
                at: Position::of_attr(backend, "type"),
            })
        }
    };
    Ok(Tpm {
        model: attr(node, "model"),
        backend,
    })
}

/// An emulator TPM's version: `1.2` or `2.0`, as libvirt's parser accepts
/// (it refuses anything else, `default` included). It names the state
/// directory, so nothing else may pass.
fn tpm_version(backend: Node<'_, '_>) -> Result<Option<String>> {
    match backend.attribute("version") {
        None => Ok(None),
        Some(v @ ("1.2" | "2.0")) => Ok(Some(v.to_owned())),
        Some(other) => Err(DomainError::InvalidValue {
            what: "<tpm><backend> attribute version".into(),
            value: other.to_owned(),
            reason: "expected '1.2' or '2.0'",
            at: Position::of_attr(backend, "version"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn tpms() {
        let d = devices(
            "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>\
             <tpm model='tpm-tis'><backend type='emulator' version='2.0'>\
               <source type='file' path='/var/tpm/state'/></backend></tpm>\
             <tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>\
             <tpm model='tpm-crb'><backend type='external'><source type='unix' mode='connect' path='/run/swtpm.sock'/></backend></tpm>",
        );
        let t = &d.tpms;
        assert_eq!(t[0].model.as_deref(), Some("tpm-crb"));
        assert_eq!(
            t[0].backend,
            TpmBackend::Emulator {
                version: Some("2.0".into()),
                state_path: None
            }
        );
        assert_eq!(
            t[1].backend,
            TpmBackend::Emulator {
                version: Some("2.0".into()),
                state_path: Some("/var/tpm/state".into())
            }
        );
        assert_eq!(
            t[2].backend,
            TpmBackend::Passthrough {
                device: Some("/dev/tpm0".into())
            }
        );
        assert_eq!(
            t[3].backend,
            TpmBackend::External {
                socket: Some("/run/swtpm.sock".into())
            }
        );
    }

    #[test]
    fn tpm_errors() {
        let e = device_err("<tpm model='tpm-tis'/>");
        assert!(e.to_string().contains("<tpm> has no <backend>"), "{e}");
        let e = device_err("<tpm><backend type='magic'/></tpm>");
        assert!(e.to_string().contains("magic"), "{e}");
        let e = device_err("<tpm><backend/></tpm>");
        assert!(e.to_string().contains("has no type attribute"), "{e}");
    }
}
