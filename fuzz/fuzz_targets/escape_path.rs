//! Any string either is refused or escapes to text with no live pattern
//! character that reads back as itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use svirt::policy::escape::{escape_literal, has_live_pattern, unescape};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(escaped) = escape_literal(text) {
        assert!(!has_live_pattern(&escaped));
        assert_eq!(unescape(&escaped), text);
    }
});
