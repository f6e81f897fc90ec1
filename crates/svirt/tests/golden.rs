//! Golden tests: the complete policy for each shipped example, in safe and
//! libvirt-compatible mode, against a host described in memory. Every
//! profile produced here is also compiled with the real `apparmor_parser`
//! (see `compiles.rs`).

mod common;

use common::{example_host, generate_example, EXAMPLES};
use svirt::policy::grammar::check_rules_text;
use svirt::Settings;

#[test]
fn examples_safe_mode() {
    for name in EXAMPLES {
        let g = generate_example(name, &Settings::safe(), &example_host());
        check_rules_text(g.files.as_deref().unwrap_or_default(), true).unwrap();
        insta::assert_snapshot!(format!("{name}.safe"), common::as_text(&g));
    }
}

#[test]
fn examples_compat_mode() {
    for name in EXAMPLES {
        let g = generate_example(name, &Settings::libvirt_compatible(), &example_host());
        check_rules_text(g.files.as_deref().unwrap_or_default(), false).unwrap();
        insta::assert_snapshot!(format!("{name}.compat"), common::as_text(&g));
    }
}
