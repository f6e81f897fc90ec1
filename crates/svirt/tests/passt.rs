//! The passt child profile (`passt_child`) compiles with the real parsers:
//! the host's (AppArmor 3.0 on Debian 12) and, when the Debian 13 root of
//! the 11.3 corpus is there (`$SVIRT_TRIXIE_ROOT`, default
//! `~/.cache/svirt-trixie/root`, root needed), trixie's AppArmor 4.1
//! (`apparmor_parser -Q -K` inside the root). Each with no
//! `abstractions/passt` (the passt package not installed), with a stand-in
//! of svirt's own that uses the package's kinds of rules (an `abi` line,
//! capabilities, mount, pivot_root, network; `userns` for 4.x), and with
//! the real one when the host or the root has the package.
//!
//! Also: under the distribution's `abstractions/libvirt-qemu` of Debian 13,
//! which has its own `passt` child, a second one fails to compile, and
//! svirt leaves passt to it (`settings_for_profile`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use svirt::apparmor::parser;
use svirt::domain::Limits;
use svirt::pipeline::{self, GeneratedProfile, BUILTIN_QEMU_ABSTRACTION, BUILTIN_QEMU_TEMPLATE};
use svirt::testing::FakeHost;
use svirt::Settings;

const DOMAIN: &str = "<domain type='kvm' id='7'>\
  <name>web</name>\
  <uuid>11111111-2222-3333-4444-555555555555</uuid>\
  <memory>1048576</memory>\
  <os><type arch='x86_64' machine='pc'>hvm</type></os>\
  <devices>\
    <interface type='user'><backend type='passt' logFile='/var/log/passt-web.log'/>\
      <model type='virtio'/></interface>\
    <interface type='vhostuser'><backend type='passt'/><model type='virtio'/>\
      <alias name='ua-fast'/></interface>\
  </devices>\
</domain>";

/// svirt's own stand-in for the passt package's abstraction: the same
/// kinds of rules, for AppArmor 3.0.
const STAND_IN_3: &str = "  abi <abi/3.0>,\n\
  include <abstractions/base>\n\
  capability net_bind_service,\n\
  capability sys_admin,\n\
  capability net_admin,\n\
  / r,\n\
  mount \"\" -> \"/\",\n\
  pivot_root \"/tmp/\" -> \"/tmp/\",\n\
  umount \"/\",\n\
  network inet stream,\n\
  network unix stream,\n\
  /usr/bin/passt.avx2 ix,\n";

/// The same for AppArmor 4: an ABI 4.0 abstraction with a `userns` rule.
fn stand_in_4() -> String {
    STAND_IN_3.replace("abi/3.0", "abi/4.0") + "  userns,\n"
}

fn generated(settings: &Settings, template: &str) -> GeneratedProfile {
    pipeline::generate(
        DOMAIN,
        settings,
        &FakeHost::default(),
        template,
        &Limits::default(),
    )
    .unwrap()
}

/// Writes the profile, its `.files`, svirt's abstraction and, when given,
/// `abstractions/passt` under `base`; returns the profile's path.
fn write_policy(base: &Path, g: &GeneratedProfile, passt: Option<&str>) -> PathBuf {
    let name = g.policy.name.as_str();
    fs::create_dir_all(base.join("libvirt")).unwrap();
    fs::create_dir_all(base.join("abstractions")).unwrap();
    fs::write(
        base.join(format!("libvirt/{name}.files")),
        g.files.as_deref().unwrap(),
    )
    .unwrap();
    fs::write(
        base.join("abstractions/svirt-qemu"),
        BUILTIN_QEMU_ABSTRACTION,
    )
    .unwrap();
    if let Some(text) = passt {
        fs::write(base.join("abstractions/passt"), text).unwrap();
    }
    let path = base.join(format!("libvirt/{name}"));
    fs::write(&path, &g.profile).unwrap();
    path
}

const CHILD: &str = "  \"/usr/bin/passt\" Cx -> passt,\n  profile passt {\n";

#[test]
fn the_child_is_in_safe_mode_only() {
    let safe = generated(&Settings::safe(), BUILTIN_QEMU_TEMPLATE);
    assert!(safe.files.as_deref().unwrap().contains(CHILD));
    for settings in [
        Settings::libvirt_compatible(),
        Settings::libvirt_compatible_with(svirt::LibvirtVersion::V11_3),
    ] {
        let mut settings = settings;
        // 11.3's helper fails a vhost-user interface without a socket.
        settings.vhostuser_socket_required = false;
        let compat = generated(&settings, BUILTIN_QEMU_TEMPLATE);
        assert!(!compat.files.as_deref().unwrap().contains("passt"));
    }
}

#[test]
fn compiles_with_the_hosts_parser() {
    assert!(
        parser::find_parser().is_some(),
        "apparmor_parser is not installed (CI installs the apparmor package)"
    );
    let g = generated(&Settings::safe(), BUILTIN_QEMU_TEMPLATE);
    let installed = fs::read_to_string("/etc/apparmor.d/abstractions/passt").ok();
    let mut cases = vec![
        ("no abstractions/passt", None),
        ("stand-in", Some(STAND_IN_3.to_owned())),
    ];
    match installed {
        // The host's own, found through -I /etc/apparmor.d.
        Some(_) => cases.push(("the installed abstractions/passt", None)),
        None => eprintln!("note: passt is not installed on the host; its abstraction not checked"),
    }
    for (what, passt) in cases {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let path = write_policy(base, &g, passt.as_deref());
        // Without the host's include directory for the first case, so that
        // an installed abstractions/passt is not found.
        let etc = Path::new("/etc/apparmor.d");
        let result = if what == "no abstractions/passt" {
            let only = tempfile::tempdir().unwrap();
            for sub in ["abstractions", "tunables", "abi"] {
                copy_dir(&etc.join(sub), &only.path().join(sub));
            }
            let _ = fs::remove_file(only.path().join("abstractions/passt"));
            parser::compile_only(&path, base, &[only.path()])
        } else {
            parser::compile_only(&path, base, &[etc])
        };
        result.unwrap_or_else(|e| panic!("{what}: {e}"));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    let Ok(entries) = fs::read_dir(from) else {
        return;
    };
    fs::create_dir_all(to).unwrap();
    for e in entries {
        let e = e.unwrap();
        let kind = e.file_type().unwrap();
        if kind.is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else if kind.is_file() {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The Debian 13 root, when it can be used here.
fn trixie_root() -> Option<PathBuf> {
    let root = std::env::var_os("SVIRT_TRIXIE_ROOT")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/svirt-trixie/root"))
        })?;
    let required = std::env::var_os("SVIRT_REQUIRE_LIBVIRT_CORPUS").is_some_and(|v| v == "1");
    let usable = root.join("usr/sbin/apparmor_parser").exists() && rustix_is_root();
    if !usable {
        assert!(
            !required,
            "the trixie root {} cannot be used",
            root.display()
        );
        eprintln!("note: no usable trixie root (or not root); AppArmor 4.1 not checked");
        return None;
    }
    Some(root)
}

fn rustix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Compiles `g` with trixie's parser: the policy goes into a tmpfs over
/// the root's `/tmp`, in a private mount namespace, so the root is not
/// changed. `passt`: the text of `abstractions/passt` in the base
/// directory; `real_passt`: let the root's own `/etc/apparmor.d` (and its
/// `abstractions/passt`, when installed) be searched.
fn compile_in_trixie(
    root: &Path,
    g: &GeneratedProfile,
    passt: Option<&str>,
    real_passt: bool,
) -> Result<(), String> {
    let stage = tempfile::tempdir().unwrap();
    let path = write_policy(&stage.path().join("base"), g, passt);
    let name = path.file_name().unwrap().to_str().unwrap();
    let include = if real_passt {
        "/etc/apparmor.d".to_owned()
    } else {
        // The root's abstractions without passt's.
        "/tmp/inc".to_owned()
    };
    let script = format!(
        "set -e\n\
         mount -t tmpfs tmpfs \"$ROOT/tmp\"\n\
         cp -a \"$STAGE/base\" \"$ROOT/tmp/base\"\n\
         mkdir \"$ROOT/tmp/inc\"\n\
         for d in abstractions tunables abi; do cp -a \"$ROOT/etc/apparmor.d/$d\" \"$ROOT/tmp/inc/\"; done\n\
         rm -f \"$ROOT/tmp/inc/abstractions/passt\"\n\
         exec chroot \"$ROOT\" /usr/sbin/apparmor_parser -Q -K --base /tmp/base -I {include} /tmp/base/libvirt/{name}\n"
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env("ROOT", root)
        .env("STAGE", stage.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn compiles_with_trixies_parser() {
    let Some(root) = trixie_root() else {
        return;
    };
    let g = generated(&Settings::safe(), BUILTIN_QEMU_TEMPLATE);
    compile_in_trixie(&root, &g, None, false).expect("no abstractions/passt");
    compile_in_trixie(&root, &g, Some(&stand_in_4()), false).expect("an ABI 4.0 stand-in");
    compile_in_trixie(&root, &g, Some(STAND_IN_3), false).expect("an ABI 3.0 stand-in");
    if root.join("etc/apparmor.d/abstractions/passt").exists() {
        compile_in_trixie(&root, &g, None, true).expect("the passt package's abstraction");
    } else {
        eprintln!("note: passt is not installed in the root; its abstraction not checked");
    }
}

#[test]
fn the_distributions_passt_child_is_left_alone() {
    let Some(root) = trixie_root() else {
        return;
    };
    let Ok(template) = fs::read_to_string(root.join("etc/apparmor.d/libvirt/TEMPLATE.qemu")) else {
        eprintln!("note: no libvirt template in the root");
        return;
    };
    let abstraction = root.join("etc/apparmor.d/abstractions/libvirt-qemu");
    if !fs::read_to_string(&abstraction).is_ok_and(|a| a.contains("profile passt")) {
        eprintln!("note: the root's libvirt-qemu has no passt child");
        return;
    }
    // What svirt writes: no second child under Debian's abstraction.
    let g = generated(&Settings::safe(), &template);
    assert!(!g.files.as_deref().unwrap().contains("passt"));
    compile_in_trixie(&root, &g, None, true).expect("Debian's template with svirt's .files");
    // The negative control: the same profile with svirt's child fails.
    let mut forced = g.clone();
    let ours = generated(&Settings::safe(), BUILTIN_QEMU_TEMPLATE);
    forced.files = ours.files.clone();
    let e = compile_in_trixie(&root, &forced, None, true).unwrap_err();
    assert!(e.contains("passt"), "{e}");
}
