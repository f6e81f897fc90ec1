//! Per-domain base rules (§3.1): log, monitor, per-run directory, pid file
//! and migration pipe. Only for the QEMU family (`qemu`, `kqemu`, `kvm`);
//! emitted first.

use super::{run_name, short_name, Collector};
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
            [
                vec![Literal(format!("{var}/lib/libvirt/qemu/"))],
                run_name(cx.domain, cx.settings, "domain-", ""),
                vec![Literal("/".to_owned()), Glob(AnyFile)],
            ]
            .concat(),
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
        for request in start_requests(cx.domain, cx.settings) {
            cx.push(request.grant);
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
) -> Vec<StartRequest> {
    // Without an id (a persistent definition) libvirt asks for nothing yet.
    if !domain.virt_type.is_qemu_family() || domain.id.is_none() {
        return Vec::new();
    }
    let lib = format!("{}/lib/libvirt/qemu/", settings.layout.localstatedir);
    let short = short_name(domain);
    let dir = run_name(domain, settings, "domain-", "");
    let tree = vec![Literal("/".to_owned()), Glob(Subtree)];
    let requests = [
        (
            "private run directory tree (libvirt asks at start)",
            format!("{lib}domain-{short}/{{,**}}"),
            [vec![Literal(lib.clone())], dir.clone(), tree.clone()].concat(),
        ),
        (
            "channel directory tree (libvirt asks at start)",
            format!("{lib}channel/target/domain-{short}/{{,**}}"),
            [
                vec![Literal(format!("{lib}channel/target/"))],
                dir.clone(),
                tree,
            ]
            .concat(),
        ),
        (
            "master key (libvirt asks at start)",
            format!("{lib}domain-{short}/master-key.aes"),
            [
                vec![Literal(lib.clone())],
                dir,
                vec![Literal("/master-key.aes".to_owned())],
            ]
            .concat(),
        ),
    ];
    requests
        .into_iter()
        .map(|(what, requested, parts)| StartRequest {
            requested,
            grant: Grant::pattern(parts, Access::RWK, Origin::Base(what)),
        })
        .collect()
}

/// One file libvirt's driver asks for at start: the path it passes with
/// `-F`, and the grant that answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartRequest {
    pub requested: String,
    pub grant: Grant,
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

    #[test]
    fn stable_run_dirs_match_every_id_of_this_vm_only() {
        use crate::audit::pattern_matches;
        let mut d = domain("web");
        d.id = Some(7);
        let r = grants_for(&d, &Settings::safe(), &FakeHost::default()).unwrap();
        let private = r
            .grants
            .iter()
            .find(|g| g.origin.to_string().contains("private run directory"))
            .unwrap();
        let rules = crate::policy::rules_for(
            std::slice::from_ref(private),
            &Settings::safe(),
            &crate::testing::FakeHost::new(),
            &Default::default(),
        )
        .unwrap();
        let rule = &rules.rules[0].text;
        let pattern = rule.split('"').nth(1).unwrap();
        for id in ["1", "7", "42", "2147483647"] {
            let path = format!("/var/lib/libvirt/qemu/domain-{id}-web/monitor.sock");
            assert!(pattern_matches(pattern, &path), "{path}");
        }
        for other in [
            "domain-5-1-web",
            "domain--1-web",
            "domain-07-web",
            "domain-web",
            "domain-7-web2",
        ] {
            let path = format!("/var/lib/libvirt/qemu/{other}/monitor.sock");
            assert!(!pattern_matches(pattern, &path), "{path}");
        }
        // A name libvirt cuts keeps its literal id.
        let mut long = domain("a-rather-long-domain-name");
        long.id = Some(7);
        let text = show(
            &grants_for(&long, &Settings::safe(), &FakeHost::default())
                .unwrap()
                .grants,
        )
        .join("\n");
        assert!(text.contains("domain-7-a-rather-long-domain"), "{text}");
    }
}
