//! The `svirt` binary for the integration tests, in a fixed view of the host.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

fn ns_run() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../virt-aa-helper/tests/ns-run.sh")
}

/// Whether commands can run in the compat tests' mount namespace (root and
/// `unshare --mount`); says so once when they cannot.
fn hermetic() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        let ok = Command::new("sh")
            .arg(ns_run())
            .args(["-", "-", "-", "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!(
                "note: no mount namespace (needs root): svirt sees this machine's \
                 firmware, images and devices"
            );
        }
        ok
    })
}

/// `svirt`, which looks at the host (`RealHost`): in the mount namespace of
/// `crates/virt-aa-helper/tests/ns-run.sh` where it can (root), so the
/// firmware, swtpm state, images, devices and sysfs of the machine running
/// the tests do not change what it sees; the host's policy directory,
/// templates and `apparmor_parser` stay. Directly otherwise.
pub fn svirt() -> Command {
    if hermetic() {
        let mut c = Command::new("sh");
        c.arg(ns_run())
            .args(["-", "-", "-"])
            .arg(env!("CARGO_BIN_EXE_svirt"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_svirt"))
    }
}
