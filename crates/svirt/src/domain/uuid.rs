//! Domain UUIDs, parsed as liberally as libvirt parses them and always
//! printed in the canonical lowercase, dashed form.

use std::fmt;

/// A 128-bit domain UUID.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainUuid([u8; 16]);

/// Why a UUID string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UuidError {
    #[error("UUID {0:?} has a character that is not a hex digit, '-' or ' ' at byte {1}")]
    BadCharacter(String, usize),
    #[error("UUID {0:?} has {1} hex digits; a UUID has 32 (16 pairs)")]
    WrongLength(String, usize),
}

impl DomainUuid {
    /// Parses the forms libvirt accepts: optional leading and trailing
    /// whitespace, exactly 16 hex pairs in either case, and any number of `-`
    /// or ` ` separators *between* pairs (never inside one).
    pub fn parse(text: &str) -> Result<Self, UuidError> {
        let bytes = text.as_bytes();
        let mut pos = 0;
        while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let mut out = [0u8; 16];
        let mut filled = 0;
        while filled < 16 {
            match bytes.get(pos) {
                None => return Err(UuidError::WrongLength(text.to_owned(), filled * 2)),
                Some(b'-' | b' ') => {
                    pos += 1;
                    continue;
                }
                Some(_) => {}
            }
            let hi = hex_value(bytes[pos])
                .ok_or_else(|| UuidError::BadCharacter(text.to_owned(), pos))?;
            let lo = match bytes.get(pos + 1) {
                None => return Err(UuidError::WrongLength(text.to_owned(), filled * 2 + 1)),
                Some(&b) => {
                    hex_value(b).ok_or_else(|| UuidError::BadCharacter(text.to_owned(), pos + 1))?
                }
            };
            out[filled] = hi << 4 | lo;
            filled += 1;
            pos += 2;
        }
        while pos < bytes.len() {
            if !bytes[pos].is_ascii_whitespace() {
                return Err(if hex_value(bytes[pos]).is_some() {
                    UuidError::WrongLength(text.to_owned(), 33)
                } else {
                    UuidError::BadCharacter(text.to_owned(), pos)
                });
            }
            pos += 1;
        }
        Ok(DomainUuid(out))
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for DomainUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for DomainUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DomainUuid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_round_trips() {
        let u = DomainUuid::parse("00000000-0000-0000-0000-0123456789ab").unwrap();
        assert_eq!(u.to_string(), "00000000-0000-0000-0000-0123456789ab");
    }

    #[test]
    fn liberal_forms_normalise() {
        for text in [
            "  0123456789ABCDEF0123456789abcdef \n",
            "01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef",
            "01234567-89ab-cdef-0123-456789abcdef",
            "0123-4567--89ab-cdef-0123456789abcdef",
        ] {
            assert_eq!(
                DomainUuid::parse(text).unwrap().to_string(),
                "01234567-89ab-cdef-0123-456789abcdef",
                "{text:?}"
            );
        }
    }

    #[test]
    fn refuses_bad_input() {
        assert!(matches!(
            DomainUuid::parse("00000000-0000-0000-0000-0123456789ag"),
            Err(UuidError::BadCharacter(_, 35))
        ));
        assert!(matches!(
            DomainUuid::parse("00000000-0000-0000-0000-0123456789a"),
            Err(UuidError::WrongLength(_, 31))
        ));
        assert!(DomainUuid::parse("00000000-0000-0000-0000-0123456789abab").is_err());
        // separators may not split a pair
        assert!(DomainUuid::parse("0-0000000-0000-0000-0000-0123456789ab").is_err());
        assert!(DomainUuid::parse("").is_err());
    }
}
