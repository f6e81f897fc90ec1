#![no_main]
use libfuzzer_sys::fuzz_target;

// Arbitrary bytes must give a typed result or error, never a panic.
fuzz_target!(|data: &[u8]| {
    let _ = svirt::image::qed::parse(data);
});
