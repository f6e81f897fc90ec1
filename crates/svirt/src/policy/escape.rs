//! Turning a literal path into AppArmor policy text that matches that path
//! and nothing else.
//!
//! Inside a quoted AppArmor string, glob characters (`* ? [ ] { } ^ ,`) stay
//! live, `@{var}` is still expanded, and `\` starts an escape. A path that
//! comes from a domain definition is a literal, so every one of those
//! characters is backslash-escaped. A backslash itself becomes the
//! one-character class `[\\]`: the lexer takes the longest quoted string, so
//! an escaped backslash right before the closing quote (`"…\\"`) would
//! swallow the quote and run on to the next rule. Control characters cannot be expressed
//! safely (a newline inside quotes is legal to the lexer and confuses every
//! reader of the profile), so they are refused.

/// Characters that have a meaning inside a quoted AppArmor string.
pub const SPECIAL: &[char] = &['\\', '"', '*', '?', '[', ']', '{', '}', '^', ',', '@'];

/// How a literal backslash is written: a class holding only `\`.
const BACKSLASH: &str = "[\\\\]";

/// Why a literal cannot be put into a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscapeError {
    #[error("{text:?} contains the control character {ch:?} at byte {at}, which cannot appear in an AppArmor rule")]
    ControlCharacter { text: String, ch: char, at: usize },
    #[error("{text:?} contains a double quote, which would end the rule's quoted path")]
    Quote { text: String },
    #[error("{text:?} ends with a backslash, which would escape the rule's closing quote")]
    TrailingBackslash { text: String },
    #[error("{text:?} must be one path component: {reason}")]
    NotAComponent { text: String, reason: &'static str },
}

/// Checks that `text` has no control characters (0x00–0x1f, 0x7f).
pub fn check_no_control(text: &str) -> Result<(), EscapeError> {
    match text.char_indices().find(|(_, c)| c.is_ascii_control()) {
        Some((at, ch)) => Err(EscapeError::ControlCharacter {
            text: text.to_owned(),
            ch,
            at,
        }),
        None => Ok(()),
    }
}

/// Escapes `text` so that, inside double quotes, it matches itself only.
pub fn escape_literal(text: &str) -> Result<String, EscapeError> {
    check_no_control(text)?;
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\\' {
            out.push_str(BACKSLASH);
        } else {
            if SPECIAL.contains(&c) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    Ok(out)
}

/// The inverse of [`escape_literal`]: what the AppArmor parser reads back
/// from an escaped quoted string. Used by tests and `svirt explain`.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix(BACKSLASH) {
            out.push('\\');
            rest = after;
            continue;
        }
        rest = &rest[c.len_utf8()..];
        if c == '\\' {
            let mut chars = rest.chars();
            if let Some(next) = chars.next() {
                rest = chars.as_str();
                out.push(next);
            } else {
                out.push('\\');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `escaped` contains a pattern character that is not escaped.
pub fn has_live_pattern(escaped: &str) -> bool {
    let mut rest = escaped;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix(BACKSLASH) {
            rest = after;
            continue;
        }
        rest = &rest[c.len_utf8()..];
        if c == '\\' {
            let mut chars = rest.chars();
            chars.next();
            rest = chars.as_str();
        } else if SPECIAL.contains(&c) {
            return true;
        }
    }
    false
}

/// Writes `text` as a quoted AppArmor string, escaped.
pub fn quote_literal(text: &str) -> Result<String, EscapeError> {
    let mut out = String::with_capacity(text.len() + 10);
    out.push('"');
    out.push_str(&escape_literal(text)?);
    out.push('"');
    Ok(out)
}

/// Whether a character must not reach a terminal or a log line as is: C0
/// and C1 controls, DEL, and the Unicode bidirectional overrides and
/// isolates (they reorder what the operator reads).
fn is_unsafe_for_display(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` made inert for a diagnostic: every character that could forge a
/// line or drive a terminal is shown escaped (`\n`, `\x1b`, `\u{202e}`).
/// Everything from input that svirt prints goes through this.
pub fn inert(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_unsafe_for_display) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && is_unsafe_for_display(c) => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if is_unsafe_for_display(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_every_pattern_character() {
        assert_eq!(
            escape_literal("/srv/vm/a*{b,c}[d]@{HOME}?^\\\".img").unwrap(),
            "/srv/vm/a\\*\\{b\\,c\\}\\[d\\]\\@\\{HOME\\}\\?\\^[\\\\]\\\".img"
        );
    }

    #[test]
    fn backslash_never_precedes_the_closing_quote() {
        assert_eq!(escape_literal("/vm/a\\").unwrap(), "/vm/a[\\\\]");
        assert_eq!(unescape("/vm/a[\\\\]"), "/vm/a\\");
        assert_eq!(unescape(&escape_literal("/[\\]\\").unwrap()), "/[\\]\\");
    }

    #[test]
    fn plain_paths_are_unchanged() {
        assert_eq!(
            escape_literal("/var/lib/libvirt/images/vm 1.qcow2").unwrap(),
            "/var/lib/libvirt/images/vm 1.qcow2"
        );
    }

    #[test]
    fn refuses_control_characters() {
        let err = escape_literal("/a\nb").unwrap_err();
        assert_eq!(err.to_string(), "\"/a\\nb\" contains the control character '\\n' at byte 2, which cannot appear in an AppArmor rule");
        assert!(escape_literal("/a\u{7f}").is_err());
        assert!(escape_literal("/a\0").is_err());
    }

    #[test]
    fn inert_escapes_line_breaks_and_terminal_controls() {
        assert_eq!(inert("/img/a.qcow2"), "/img/a.qcow2");
        assert_eq!(
            inert("a\nvirt-aa-helper: error: forged\x1b[2J\u{202e}x\u{85}"),
            "a\\nvirt-aa-helper: error: forged\\x1b[2J\\u{202e}x\\u{85}"
        );
        assert_eq!(inert("tab\there\r"), "tab\\there\\r");
    }

    proptest! {
        #[test]
        fn inert_text_is_one_printable_line(s in any::<String>()) {
            let shown = inert(&s);
            prop_assert!(!shown.chars().any(is_unsafe_for_display), "{:?}", shown);
        }

        #[test]
        fn escape_round_trips_and_leaves_nothing_live(s in "\\PC*") {
            let escaped = escape_literal(&s).unwrap();
            prop_assert!(!has_live_pattern(&escaped));
            prop_assert_eq!(unescape(&escaped), s);
        }

        #[test]
        fn arbitrary_strings_are_escaped_or_refused(s in any::<String>()) {
            match escape_literal(&s) {
                Ok(escaped) => {
                    prop_assert!(!has_live_pattern(&escaped));
                    prop_assert_eq!(unescape(&escaped), s);
                }
                Err(EscapeError::ControlCharacter { .. }) => {
                    prop_assert!(s.chars().any(|c| c.is_ascii_control()));
                }
                Err(e) => prop_assert!(false, "escape_literal refused {:?}: {}", s, e),
            }
        }
    }
}
