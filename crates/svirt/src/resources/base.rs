//! Per-domain base rules (§3.1): log, monitor, per-run directory, pid file
//! and migration pipe. Only for the QEMU family (`qemu`, `kqemu`, `kvm`);
//! emitted first.

use super::{short_name, Collector};
use crate::policy::Glob::{AnyDirs, AnyFile, Subtree, TunnelMigrate};
use crate::policy::{
    Access, Grant, Origin, PatternPart::Glob, PatternPart::Literal, PatternPart::Name,
};

pub(super) fn add(cx: &mut Collector) {
    if !cx.domain.virt_type.is_qemu_family() {
        return;
    }
    let name = &cx.domain.name;
    let var = &cx.settings.layout.localstatedir;
    let run = &cx.settings.layout.runstatedir;
    let rules = [
        (
            "QEMU log",
            vec![
                Literal(format!("{var}/log/libvirt/")),
                Glob(AnyDirs),
                Name(format!("{name}.log")),
            ],
            Access::W,
        ),
        (
            "legacy monitor socket",
            vec![
                Literal(format!("{var}/lib/libvirt/qemu/")),
                Name(format!("domain-{name}")),
                Literal("/monitor.sock".to_owned()),
            ],
            Access::RW,
        ),
        (
            "private run directory",
            vec![
                Literal(format!("{var}/lib/libvirt/qemu/")),
                Name(format!("domain-{}", short_name(cx.domain))),
                Literal("/".to_owned()),
                Glob(AnyFile),
            ],
            Access::RW,
        ),
        (
            "pid file",
            vec![
                Literal(format!("{run}/libvirt/")),
                Glob(AnyDirs),
                Name(format!("{name}.pid")),
            ],
            Access::RWK,
        ),
        (
            "tunnelled migration pipe",
            vec![
                Literal(format!("{run}/libvirt/")),
                Glob(TunnelMigrate),
                Name(name.clone()),
            ],
            Access::RW,
        ),
    ];
    for (what, parts, access) in rules {
        cx.push(Grant::pattern(parts, access, Origin::Base(what)));
    }
    if cx.settings.start_requests {
        for (_, grant) in start_requests(cx.domain, cx.settings) {
            cx.push(grant);
        }
    }
}

/// What libvirt's QEMU driver asks the helper for (`-F`) at every start,
/// once the domain has its id (a live definition): the private per-run directory and the
/// channel directory as trees (`/{,**}`), and the master key, each `rwk`.
/// Written as svirt's own patterns around the VM's name, they render
/// exactly as the helper renders those requests when the paths are
/// canonical, so a profile made with them already holds the requests'
/// rules and the helper's `-F` calls change nothing
/// ([`crate::Settings::start_requests`]).
pub fn start_requests(
    domain: &crate::domain::Domain,
    settings: &crate::Settings,
) -> Vec<(&'static str, Grant)> {
    // Without an id (a persistent definition) libvirt asks for nothing yet.
    if !domain.virt_type.is_qemu_family() || domain.id.is_none() {
        return Vec::new();
    }
    let lib = format!("{}/lib/libvirt/qemu/", settings.layout.localstatedir);
    let dir = Name(format!("domain-{}", short_name(domain)));
    let requests = [
        (
            "private run directory tree (libvirt asks at start)",
            vec![
                Literal(lib.clone()),
                dir.clone(),
                Literal("/".to_owned()),
                Glob(Subtree),
            ],
        ),
        (
            "channel directory tree (libvirt asks at start)",
            vec![
                Literal(format!("{lib}channel/target/")),
                dir.clone(),
                Literal("/".to_owned()),
                Glob(Subtree),
            ],
        ),
        (
            "master key (libvirt asks at start)",
            vec![Literal(lib), dir, Literal("/master-key.aes".to_owned())],
        ),
    ];
    requests
        .into_iter()
        .map(|(what, parts)| (what, Grant::pattern(parts, Access::RWK, Origin::Base(what))))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::domain::VirtType;
    use crate::resources::grants_for;
    use crate::resources::testing::*;
    use crate::Settings;

    #[test]
    fn worked_example_base_rules() {
        let d = domain("virt-aa-helper-test");
        let r = grants_for(&d, &Settings::libvirt_compatible(), &FakeHost::default()).unwrap();
        assert_eq!(
            show(&r.grants),
            [
                "«/var/log/libvirt/»**/‹virt-aa-helper-test.log› w",
                "«/var/lib/libvirt/qemu/»‹domain-virt-aa-helper-test›«/monitor.sock» rw",
                "«/var/lib/libvirt/qemu/»‹domain--1-virt-aa-helper-test›«/»* rw",
                "«/run/libvirt/»**/‹virt-aa-helper-test.pid› rwk",
                "«/run/libvirt/»**/*.tunnelmigrate.dest.‹virt-aa-helper-test› rw",
            ]
        );
        assert!(r.grants.iter().all(|g| !g.quiet_write_deny));
    }

    #[test]
    fn id_and_truncation_and_layout() {
        let mut d = domain("a-rather-long-domain-name-for-truncation");
        d.id = Some(42);
        let mut s = Settings::default();
        s.layout.localstatedir = "/usr/local/var".into();
        s.layout.runstatedir = "/usr/local/var/run".into();
        let r = grants_for(&d, &s, &FakeHost::default()).unwrap();
        let shown = show(&r.grants);
        assert_eq!(
            shown[2],
            "«/usr/local/var/lib/libvirt/qemu/»‹domain-42-a-rather-long-domain›«/»* rw"
        );
        assert_eq!(
            shown[3],
            "«/usr/local/var/run/libvirt/»**/‹a-rather-long-domain-name-for-truncation.pid› rwk"
        );
    }

    #[test]
    fn only_qemu_family_gets_base_rules() {
        for (t, n) in [
            (VirtType::Kvm, 5),
            (VirtType::Qemu, 5),
            (VirtType::Kqemu, 5),
            (VirtType::Lxc, 0),
            (VirtType::Xen, 0),
        ] {
            let mut d = domain("vm");
            d.virt_type = t;
            let r = grants_for(&d, &Settings::default(), &FakeHost::default()).unwrap();
            assert_eq!(r.grants.len(), n, "{t}");
        }
    }
}
