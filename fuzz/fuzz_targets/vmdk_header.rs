#![no_main]
use libfuzzer_sys::fuzz_target;

// Arbitrary bytes must give a typed result or error, never a panic: both
// the sparse header path and the text descriptor path.
fuzz_target!(|data: &[u8]| {
    let _ = svirt::image::vmdk::parse(data);
    let _ = svirt::image::vmdk::parse_sparse_header(data);
    let _ = svirt::image::vmdk::parse_descriptor(data);
});
