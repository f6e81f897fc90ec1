//! Property tests on escaping: any file name either is refused with a clear
//! error, or becomes a quoted rule with no live pattern character that
//! reads back as the same path and compiles with the real parser.

use std::fs;
use std::path::Path;

use proptest::prelude::*;
use svirt::apparmor::parser;
use svirt::policy::escape::{has_live_pattern, unescape};
use svirt::policy::{rules_for, Access, Grant, Origin, PolicyError};
use svirt::testing::FakeHost;
use svirt::Settings;

/// File names rich in the characters that matter.
fn name_strategy() -> impl Strategy<Value = Vec<u8>> {
    let special = prop::sample::select(
        b"\\\"*?[]{}^,@$#%&()<>|;:'`~!=+ -_.\n\t\x7f\x00\xc3\xa9\xff".to_vec(),
    );
    prop::collection::vec(
        prop_oneof![3 => special, 2 => any::<u8>(), 5 => b'a'..=b'z'],
        1..24,
    )
}

/// The quoted text of the first rule line.
fn quoted(rule: &str) -> &str {
    let start = rule.find('"').unwrap() + 1;
    let end = rule.rfind('"').unwrap();
    &rule[start..end]
}

/// Renders a path as a rule; `Err` carries the refusal.
fn render(path: &str) -> Result<String, PolicyError> {
    let grant = Grant::path(path, Access::RWK, Origin::Extra);
    rules_for(
        &[grant],
        &Settings::safe(),
        &FakeHost::new(),
        &Default::default(),
    )
    .map(|set| set.text())
    .map_err(|f| *f.error)
}

fn compile_rules(rules: &str) {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("prop");
    fs::write(&profile, format!("profile prop {{\n{rules}}}\n")).unwrap();
    parser::compile_only(&profile, dir.path(), &[Path::new("/etc/apparmor.d")])
        .unwrap_or_else(|e| panic!("{e}\nrules:\n{rules}"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn file_names_are_escaped_or_refused(names in prop::collection::vec(name_strategy(), 1..16)) {
        let mut accepted = String::new();
        for bytes in names {
            // Domain XML is UTF-8: other byte strings cannot reach the renderer.
            let Ok(name) = String::from_utf8(bytes) else { continue };
            let path = format!("/srv/vm/{name}");
            match render(&path) {
                Ok(text) => {
                    let first = text.lines().next().unwrap();
                    let inner = quoted(first);
                    prop_assert!(!has_live_pattern(inner), "live pattern in {first}");
                    // The path as checked: `.`, `..` and `//` collapsed.
                    let checked = svirt::policy::path::normalize_lexically(&path);
                    prop_assert_eq!(unescape(inner), checked.strip_suffix('/').unwrap_or(&checked));
                    accepted.push_str(&text);
                }
                Err(err) => {
                    let msg = err.to_string();
                    prop_assert!(path.chars().any(char::is_control), "refused a clean path: {msg}");
                    prop_assert!(msg.contains("control character"), "unclear error: {msg}");
                }
            }
        }
        if !accepted.is_empty() {
            compile_rules(&accepted);
        }
    }
}

#[test]
fn compat_mode_leaves_patterns_live() {
    // The documented libvirt behaviour, kept reproducible.
    let grant = Grant::path("/srv/vm/*.img", Access::RWK, Origin::Extra);
    let set = rules_for(
        &[grant],
        &Settings::libvirt_compatible(),
        &FakeHost::new(),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(set.text(), "  \"/srv/vm/*.img\" rwk,\n");
    let set = rules_for(
        &[Grant::path("/srv/vm/*.img", Access::RWK, Origin::Extra)],
        &Settings::safe(),
        &FakeHost::new(),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(set.text(), "  \"/srv/vm/\\*.img\" rwk,\n");
}
