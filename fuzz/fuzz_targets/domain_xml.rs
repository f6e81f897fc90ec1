//! Untrusted domain XML: the parser either refuses the input with an error or
//! returns a model that keeps the parser's promises. It never panics and
//! never overflows the stack. A parsed domain's rules, in both modes, stay
//! within svirt's rule grammar, and in safe mode never grant a restricted
//! location or a tree that hands over the host.
#![no_main]
use libfuzzer_sys::fuzz_target;
use svirt::domain::{
    parse_domain, Backing, Domain, Limits, StorageSource, KNOWN_OS_TYPES, KNOWN_VIRT_TYPES,
    MAX_BACKING_CHAIN_DEPTH,
};
use svirt::pipeline::{policy_for, vm_context};
use svirt::policy::grammar::check_rules_text;
use svirt::policy::path::{self, PathVerdict, PrefixMatch};
use svirt::testing::FakeHost;
use svirt::Settings;

/// The rules for `domain` keep the grammar; in safe mode no canonical path
/// is restricted and no tree covers a no-tree location.
fn check_rules(domain: &Domain) {
    // A fake host: nothing exists, nothing on the machine is read.
    let host = FakeHost::new();
    for settings in [Settings::safe(), Settings::libvirt_compatible()] {
        let Ok(policy) = policy_for(domain, &settings, &host, &[]) else {
            continue;
        };
        let text = policy.rules_text();
        if let Err(e) = check_rules_text(&text, settings.escape_paths) {
            panic!("rule outside the grammar: {e}\n{text}");
        }
        if !settings.escape_paths {
            continue;
        }
        let locations = path::no_tree_locations(&settings.layout);
        let own = vm_context(domain).own_dir_names;
        for rule in &policy.rules.rules {
            let Some(c) = &rule.canonical else { continue };
            let read_only = rule.grant.access.is_read_only();
            let allowed =
                path::check_prefixes(c, read_only, PrefixMatch::Component, settings.firmware_dirs)
                    == PathVerdict::Allowed
                    || path::is_pci_assignment_file(c)
                    || path::READ_ONLY_ENTRIES.contains(&c.as_str());
            assert!(allowed, "restricted path granted: {}", rule.text);
            if rule.grant.target.is_tree() && !path::READ_ONLY_ENTRIES.contains(&c.as_str()) {
                assert!(
                    path::check_tree(c, &locations, &own).is_ok(),
                    "tree granted: {}",
                    rule.text
                );
            }
        }
    }
}

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
                check_rules(&domain);
            }
            Err(e) => {
                // Every error renders and maps to a libvirt category.
                assert!(!e.to_string().is_empty());
                let _ = e.kind().libvirt_summary();
            }
        }
    }
});
