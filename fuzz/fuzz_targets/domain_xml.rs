//! Untrusted domain XML: the parser either refuses the input with an error or
//! returns a model that keeps the parser's promises. It never panics and
//! never overflows the stack.
#![no_main]
use libfuzzer_sys::fuzz_target;
use svirt::domain::{
    parse_domain, Backing, Limits, StorageSource, KNOWN_OS_TYPES, KNOWN_VIRT_TYPES,
    MAX_BACKING_CHAIN_DEPTH,
};

fn chain_len(top: &StorageSource) -> usize {
    let mut n = 0;
    let mut layer = top;
    while let Backing::Layer(next) = &layer.backing {
        layer = next;
        n += 1;
    }
    n
}

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else {
        return;
    };
    for limits in [
        Limits::default(),
        Limits {
            max_bytes: 4096,
            max_nodes: 64,
            max_depth: 8,
        },
    ] {
        match parse_domain(xml, &limits) {
            Ok(domain) => {
                assert!(xml.len() <= limits.max_bytes);
                assert!(!domain.name.trim().is_empty());
                assert!(KNOWN_OS_TYPES.contains(&domain.os.os_type.as_str()));
                assert!(KNOWN_VIRT_TYPES.contains(&domain.virt_type.as_str()));
                for disk in &domain.devices.disks {
                    if let Some(src) = &disk.source {
                        assert!(chain_len(src) <= MAX_BACKING_CHAIN_DEPTH);
                    }
                }
            }
            Err(e) => {
                // Every error renders and maps to a libvirt category.
                assert!(!e.to_string().is_empty());
                let _ = e.kind().libvirt_summary();
            }
        }
    }
});
