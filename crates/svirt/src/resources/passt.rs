//! passt, the user-mode network back-end (`<interface type='user'>` or
//! `type='vhostuser'` with `<backend type='passt'>`), with
//! [`crate::Settings::passt_child`].
//!
//! libvirtd runs `/usr/bin/passt` in the VM's own profile. svirt confines
//! it in a child profile of that profile, `passt`, which may use this VM's
//! passt files only: for each passt interface, the socket
//! `<run>/libvirt/qemu/passt/<id>-<name>-<alias>.socket` and the pid file
//! `<run>/libvirt/qemu/passt/<id>-<name>-<alias>-passt.pid` (libvirt
//! 11.3's names for a system daemon: the short name as in every per-run
//! name, the name cut to 20 bytes; the pid file's name XML-escaped), and
//! the `logFile` of its `<backend>`. The rest of what passt needs (its
//! capabilities, user namespace, mounts, network) comes from the passt
//! package's `abstractions/passt`, included when it exists.
//!
//! libvirt assigns interface aliases after it makes the profile (`-c`);
//! an interface without one gets the alias libvirt will give it (`net<N>`,
//! N one more than the highest `net<N>` so far, in interface order). The
//! driver's `-r` calls that follow, before passt starts, carry the real
//! aliases, and `.files` is made again from them.

use super::{run_name, run_name_with, Collector};
use crate::domain::Interface;
use crate::policy::{Access, ChildKind, FixedPattern, Grant, Origin, PatternPart};

/// Whether libvirt runs passt for this interface.
pub(super) fn uses_passt(nic: &Interface) -> bool {
    matches!(nic.kind.as_str(), "user" | "vhostuser") && nic.backend.as_deref() == Some("passt")
}

/// The child profile for every passt interface of the domain, if any.
pub(super) fn add(cx: &mut Collector) {
    if !cx.settings.passt_child {
        return;
    }
    let nics = &cx.domain.devices.interfaces;
    let aliases = aliases(nics);
    let run = &cx.settings.layout.runstatedir;
    let dir = || PatternPart::Literal(format!("{run}/libvirt/qemu/passt/"));
    let mut grants = vec![Grant::fixed(
        FixedPattern::PASST_BINARY,
        Access::R,
        Origin::Passt,
    )];
    for (index, nic) in nics.iter().enumerate() {
        if !uses_passt(nic) {
            continue;
        }
        let origin = |role| Origin::Interface { index, role };
        let alias = aliases[index].as_deref().unwrap_or_default();
        let socket = [
            vec![dir()],
            run_name(cx.domain, cx.settings, "", &format!("-{alias}.socket")),
        ]
        .concat();
        let pid = [
            vec![dir()],
            run_name_with(
                cx.domain,
                cx.settings,
                "",
                &format!("-{alias}-passt.pid"),
                xml_escape,
            ),
        ]
        .concat();
        grants.push(Grant::pattern(socket, Access::RW, origin("passt socket")));
        grants.push(Grant::pattern(pid, Access::RW, origin("passt pid file")));
        if let Some(log) = nic.backend_log.as_deref().filter(|l| !l.is_empty()) {
            grants.push(Grant::path(log, Access::W, origin("passt log file")));
        }
    }
    if grants.len() > 1 {
        cx.push(Grant::child(ChildKind::Passt, grants, Origin::Passt));
    }
}

/// Each interface's alias: its own, else the one libvirt's QEMU driver
/// gives it at start (`net<N>`, N one more than the highest `net<N>` of
/// any interface so far; `<interface type='hostdev'>` gets `hostdev<N>`
/// instead, which is not needed here and left `None`).
fn aliases(nics: &[Interface]) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> = nics.iter().map(|n| n.alias.clone()).collect();
    for i in 0..nics.len() {
        if out[i].is_some() {
            continue;
        }
        if nics[i].kind == "hostdev" {
            continue;
        }
        let next = out
            .iter()
            .flatten()
            .filter_map(|a| a.strip_prefix("net")?.parse::<i32>().ok())
            .filter(|n| *n >= 0)
            .max()
            .map_or(0, |n| n.saturating_add(1));
        out[i] = Some(format!("net{next}"));
    }
    out
}

/// libvirt's XML escaping of a pid file name (`virBufferEscapeString`):
/// `< > & " '` become entities. Control characters, which it drops, never
/// reach a rule (refused by the rule constructor).
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::VirtType;
    use crate::pipeline::policy_for;
    use crate::resources::testing::{domain, FakeHost};
    use crate::Settings;

    /// The `.files` text from the child's exec line on.
    fn child_text(d: &crate::domain::Domain, settings: &Settings) -> String {
        let text = policy_for(d, settings, &FakeHost::default(), &[])
            .unwrap()
            .rules
            .text();
        match text.find("  \"/usr/bin/passt\" Cx") {
            Some(at) => text[at..].to_owned(),
            None => String::new(),
        }
    }

    fn passt_vm(name: &str, id: Option<i64>) -> crate::domain::Domain {
        let mut d = domain(name);
        d.virt_type = VirtType::Qemu;
        d.id = id;
        let mut user = nic("user", None);
        user.backend = Some("passt".into());
        user.backend_log = Some("/var/log/passt/web.log".into());
        let mut vhost = nic("vhostuser", Some("ua-fast"));
        vhost.backend = Some("passt".into());
        d.devices.interfaces = vec![nic("network", None), user, vhost];
        d
    }

    #[test]
    fn the_files_text_of_a_passt_domain() {
        // Not live: the id is libvirt's default, and the aliases are the
        // ones libvirt will assign (the network NIC takes net0).
        let d = passt_vm("web", None);
        assert_eq!(
            child_text(&d, &Settings::safe()),
            "  \"/usr/bin/passt\" Cx -> passt,\n\
             \x20 profile passt {\n\
             \x20   \"/usr/bin/passt\" r,\n\
             \x20   \"/run/libvirt/qemu/passt/-1-web-net1.socket\" rw,\n\
             \x20   \"/run/libvirt/qemu/passt/-1-web-net1-passt.pid\" rw,\n\
             \x20   \"/var/log/passt/web.log\" w,\n\
             \x20   \"/run/libvirt/qemu/passt/-1-web-ua-fast.socket\" rw,\n\
             \x20   \"/run/libvirt/qemu/passt/-1-web-ua-fast-passt.pid\" rw,\n\
             \x20   signal (receive) set=(term) peer=libvirtd,\n\
             \x20   signal (receive) set=(term) peer=/usr/sbin/libvirtd,\n\
             \x20   signal (receive) set=(term) peer=virtqemud,\n\
             \x20   include if exists <abstractions/passt>\n\
             \x20 }\n"
        );
        // Live, with `stable_run_dirs`: the id is svirt's digits-only glob.
        let live = passt_vm("web", Some(42));
        let id = crate::policy::Glob::RunId.as_str();
        let text = child_text(&live, &Settings::safe());
        assert!(text.contains(&format!(
            "    \"/run/libvirt/qemu/passt/{id}-web-net1.socket\" rw,\n"
        )));
        let mut literal = Settings::safe();
        literal.stable_run_dirs = false;
        let text = child_text(&live, &literal);
        assert!(text.contains("    \"/run/libvirt/qemu/passt/42-web-ua-fast-passt.pid\" rw,\n"));
        // A name libvirt cuts keeps the literal id.
        let long = passt_vm("a-rather-long-domain-name", Some(42));
        let text = child_text(&long, &Settings::safe());
        assert!(text.contains("/passt/42-a-rather-long-domain-net1.socket\" rw,"));
    }

    #[test]
    fn nothing_in_compat_mode_or_without_passt() {
        let d = passt_vm("web", Some(3));
        for settings in [
            Settings::libvirt_compatible(),
            Settings::libvirt_compatible_with(crate::LibvirtVersion::V11_3),
        ] {
            let mut settings = settings;
            settings.vhostuser_socket_required = false;
            let text = policy_for(&d, &settings, &FakeHost::default(), &[])
                .unwrap()
                .rules
                .text();
            assert!(!text.contains("passt"), "{text}");
        }
        let mut off = Settings::safe();
        off.passt_child = false;
        assert_eq!(child_text(&d, &off), "");
        let mut plain = d.clone();
        for n in &mut plain.devices.interfaces {
            n.backend = None;
        }
        assert_eq!(child_text(&plain, &Settings::safe()), "");
        // Only one child, however many passt interfaces.
        let text = child_text(&d, &Settings::safe());
        assert_eq!(text.matches("profile passt {").count(), 1);
    }

    #[test]
    fn hostile_names_and_aliases_are_escaped_or_refused() {
        // Pattern characters: escaped. libvirt XML-escapes the pid file's
        // name (`&` → `&amp;`), not the socket's.
        let mut d = passt_vm("w*b&[x]", None);
        d.devices.interfaces[2].alias = Some("ua-{a,b}".into());
        let text = child_text(&d, &Settings::safe());
        assert!(
            text.contains("\"/run/libvirt/qemu/passt/-1-w\\*b&\\[x\\]-net1.socket\" rw,"),
            "{text}"
        );
        assert!(
            text.contains("\"/run/libvirt/qemu/passt/-1-w\\*b&amp;\\[x\\]-net1-passt.pid\" rw,"),
            "{text}"
        );
        assert!(
            text.contains("\"/run/libvirt/qemu/passt/-1-w\\*b&\\[x\\]-ua-\\{a\\,b\\}.socket\" rw,"),
            "{text}"
        );
        crate::policy::grammar::check_rules_text(&text, true).unwrap();
        // An alias that would leave the directory, or a control
        // character: refused, naming the problem.
        for bad in ["ua-../../x", "ua-x/y", "ua-\u{1}"] {
            let mut d = passt_vm("web", None);
            d.devices.interfaces[2].alias = Some(bad.into());
            let e = policy_for(&d, &Settings::safe(), &FakeHost::default(), &[]).unwrap_err();
            assert!(e.to_string().contains("refused"), "{bad}: {e}");
        }
        // A restricted log file is refused like any path.
        let mut d = passt_vm("web", None);
        d.devices.interfaces[1].backend_log = Some("/etc/shadow".into());
        let e = policy_for(&d, &Settings::safe(), &FakeHost::default(), &[]).unwrap_err();
        assert!(e.to_string().contains("/etc/shadow"), "{e}");
    }

    fn nic(kind: &str, alias: Option<&str>) -> Interface {
        Interface {
            kind: kind.into(),
            alias: alias.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn aliases_as_libvirt_assigns_them() {
        let got = aliases(&[
            nic("user", None),
            nic("network", Some("ua-x")),
            nic("hostdev", None),
            nic("vhostuser", None),
            nic("bridge", Some("net7")),
            nic("user", None),
        ]);
        let want = [
            Some("net8"),
            Some("ua-x"),
            None,
            Some("net9"),
            Some("net7"),
            Some("net10"),
        ];
        assert_eq!(got, want.map(|a| a.map(str::to_owned)));
        let fresh = aliases(&[nic("user", None), nic("user", None)]);
        assert_eq!(fresh, [Some("net0".into()), Some("net1".into())]);
    }

    #[test]
    fn pid_names_are_xml_escaped() {
        assert_eq!(
            xml_escape("1-a&b<c>'\"-net0"),
            "1-a&amp;b&lt;c&gt;&apos;&quot;-net0"
        );
        assert_eq!(xml_escape("1-vm-net0-passt.pid"), "1-vm-net0-passt.pid");
    }
}
