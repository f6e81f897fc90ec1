//! Helpers for the parser's unit tests.

use super::{parse_domain, DomainError, Limits, Position, Result};
use crate::domain::model::{Devices, Domain};

pub(super) const UUID: &str = "00000000-0000-0000-0000-0123456789ab";

pub(super) fn parse(xml: &str) -> Result<Domain> {
    parse_domain(xml, &Limits::default())
}

/// A minimal valid domain with `extra` inside `<domain>`.
pub(super) fn with(extra: &str) -> String {
    format!(
        "<domain type='kvm'><name>vm</name><uuid>{UUID}</uuid><memory>1024</memory>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os>{extra}</domain>"
    )
}

pub(super) fn devices(inner: &str) -> Devices {
    parse(&with(&format!("<devices>{inner}</devices>")))
        .unwrap()
        .devices
}

pub(super) fn err(xml: &str) -> DomainError {
    parse(xml).unwrap_err()
}

pub(super) fn device_err(inner: &str) -> DomainError {
    err(&with(&format!("<devices>{inner}</devices>")))
}

/// Where the `nth` (from 0) `needle` starts in a one-line `xml`.
pub(super) fn at(xml: &str, needle: &str, nth: usize) -> Position {
    assert!(!xml.contains('\n'));
    let (offset, _) = xml.match_indices(needle).nth(nth).expect("needle");
    Position {
        line: 1,
        column: u32::try_from(offset + 1).unwrap(),
    }
}
