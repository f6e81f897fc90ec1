//! Kernel log lines carry names chosen by confined processes: parsing them
//! and matching them against patterns must never panic or run away.
#![no_main]
use libfuzzer_sys::fuzz_target;
use svirt::audit::{parse_denial, pattern_matches};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_denial(text);
    if let Some((pattern, path)) = text.split_once('\n') {
        let _ = pattern_matches(pattern, path);
    }
});
