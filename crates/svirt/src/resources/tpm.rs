//! TPMs (§3.2).
//!
//! An emulated TPM (swtpm) gets svirt-written patterns: its socket and pid
//! file under the run directory, its state directory (`r`, everything
//! below `rwk`) and its log file.
//!
//! With [`crate::Settings::tpm_passthrough`], a passthrough TPM gets its
//! device (`rw`) and its sysfs `cancel` file (`w`). libvirt opens the first
//! of `/sys/class/misc/<dev>/device/cancel` and
//! `/sys/class/tpm/<dev>/device/cancel` that exists and hands QEMU the
//! descriptor; the kernel checks it against the profile under its real
//! path, so we resolve it here and grant that path as a fixed pattern
//! (sysfs is otherwise a restricted prefix).

use std::path::Path;

use super::{non_empty, run_name, Collector};
use crate::domain::TpmBackend;
use crate::policy::Glob::Everything;
use crate::policy::{
    Access, Grant, Origin, PatternPart::Glob, PatternPart::Literal, PatternPart::Name,
};

/// The device a passthrough TPM uses when the XML names none.
pub const DEFAULT_TPM_DEVICE: &str = "/dev/tpm0";

pub(super) fn add(cx: &mut Collector) {
    for (index, tpm) in cx.domain.devices.tpms.iter().enumerate() {
        let origin = |role| Origin::Tpm { index, role };
        match &tpm.backend {
            TpmBackend::Emulator { version, .. } => add_emulator(cx, version.as_deref(), &origin),
            TpmBackend::Passthrough { device } if cx.settings.tpm_passthrough => {
                let device = non_empty(device).unwrap_or(DEFAULT_TPM_DEVICE);
                cx.push(Grant::path(
                    device,
                    Access::RW,
                    origin("passthrough device"),
                ));
                if let Some(cancel) = cancel_path(cx, device) {
                    cx.push(Grant::pattern(
                        vec![Literal(cancel)],
                        Access::W,
                        origin("passthrough cancel file"),
                    ));
                }
            }
            TpmBackend::Passthrough { .. } | TpmBackend::External { .. } => {}
        }
    }
}

fn add_emulator(
    cx: &mut Collector,
    version: Option<&str>,
    origin: &dyn Fn(&'static str) -> Origin,
) {
    let var = &cx.settings.layout.localstatedir;
    let run = &cx.settings.layout.runstatedir;
    let uuid = cx.domain.uuid.to_string();
    // libvirtd always fills in the version; libvirt's helper prints a C
    // null string when a hand-written domain leaves it out.
    let dir = match version {
        Some("2.0") => "tpm2".to_owned(),
        Some(v) => format!("tpm{v}"),
        None => "(null)".to_owned(),
    };
    let state = || {
        vec![
            Literal(format!("{var}/lib/libvirt/swtpm/")),
            Name(uuid.clone()),
            Literal("/".to_owned()),
            Name(dir.clone()),
            Literal("/".to_owned()),
        ]
    };
    let swtpm_run = |suffix: &str| {
        [
            vec![Literal(format!("{run}/libvirt/qemu/swtpm/"))],
            run_name(cx.domain, cx.settings, "", &format!("-swtpm.{suffix}")),
        ]
        .concat()
    };
    let mut everything = state();
    everything.push(Glob(Everything));
    let grants = [
        Grant::pattern(swtpm_run("sock"), Access::RW, origin("swtpm socket")),
        Grant::pattern(state(), Access::R, origin("swtpm state directory")),
        Grant::pattern(everything, Access::RWK, origin("swtpm state")),
        Grant::pattern(
            vec![
                Literal(format!("{var}/log/swtpm/libvirt/qemu/")),
                Name(format!("{}-swtpm.log", cx.domain.name)),
            ],
            Access::W,
            origin("swtpm log"),
        ),
        Grant::pattern(swtpm_run("pid"), Access::RW, origin("swtpm pid file")),
    ];
    for g in grants {
        cx.push(g);
    }
}

/// The real path of the cancel file libvirt would open for `device`.
fn cancel_path(cx: &Collector, device: &str) -> Option<String> {
    let name = device.rsplit('/').next().filter(|n| !n.is_empty())?;
    ["misc", "tpm"].iter().find_map(|class| {
        let link = format!("/sys/class/{class}/{name}/device/cancel");
        let link = Path::new(&link);
        if !cx.host.exists(link) {
            return None;
        }
        let real = cx.host.realpath(link).ok()?;
        Some(real.to_string_lossy().into_owned())
    })
}

#[cfg(test)]
mod tests {
    use crate::domain::{Tpm, TpmBackend, VirtType};
    use crate::resources::grants_for;
    use crate::resources::testing::*;
    use crate::Settings;

    fn emulator(version: Option<&str>) -> Tpm {
        Tpm {
            model: Some("tpm-crb".into()),
            backend: TpmBackend::Emulator {
                version: version.map(Into::into),
                state_path: None,
            },
        }
    }

    fn run(tpm: Tpm, settings: &Settings, host: &FakeHost, id: Option<i64>) -> Vec<String> {
        let mut d = domain("virt-aa-helper-test");
        d.virt_type = VirtType::Lxc;
        d.id = id;
        d.devices.tpms = vec![tpm];
        show(&grants_for(&d, settings, host).unwrap().grants)
    }

    #[test]
    fn emulator_rules_libvirt_9_0() {
        let got = run(
            emulator(Some("2.0")),
            &Settings::libvirt_compatible(),
            &FakeHost::default(),
            Some(9),
        );
        assert_eq!(
            got,
            [
                "«/run/libvirt/qemu/swtpm/»‹9-virt-aa-helper-test-swtpm.sock› rw",
                "«/var/lib/libvirt/swtpm/»‹00000000-0000-0000-0000-0123456789ab›«/»‹tpm2›«/» r",
                "«/var/lib/libvirt/swtpm/»‹00000000-0000-0000-0000-0123456789ab›«/»‹tpm2›«/»** rwk",
                "«/var/log/swtpm/libvirt/qemu/»‹virt-aa-helper-test-swtpm.log› w",
                "«/run/libvirt/qemu/swtpm/»‹9-virt-aa-helper-test-swtpm.pid› rw",
            ]
        );
    }

    #[test]
    fn emulator_versions() {
        let s = Settings::libvirt_compatible();
        let got = run(emulator(Some("1.2")), &s, &FakeHost::default(), None);
        assert_eq!(
            got[1],
            "«/var/lib/libvirt/swtpm/»‹00000000-0000-0000-0000-0123456789ab›«/»‹tpm1.2›«/» r"
        );
        assert_eq!(
            got[0],
            "«/run/libvirt/qemu/swtpm/»‹-1-virt-aa-helper-test-swtpm.sock› rw"
        );
        let got = run(emulator(None), &s, &FakeHost::default(), None);
        assert!(got[1].contains("‹(null)›"), "{got:?}");
    }

    #[test]
    fn passthrough_only_with_the_switch() {
        let tpm = Tpm {
            model: Some("tpm-tis".into()),
            backend: TpmBackend::Passthrough {
                device: Some("/dev/tpm0".into()),
            },
        };
        let mut host = FakeHost::default();
        host.existing
            .push("/sys/class/tpm/tpm0/device/cancel".into());
        host.realpaths.insert(
            "/sys/class/tpm/tpm0/device/cancel".into(),
            "/sys/devices/pnp0/00:05/cancel".into(),
        );
        let s = Settings::libvirt_compatible();
        assert!(run(tpm.clone(), &s, &host, None).is_empty());
        let mut on = s.clone();
        on.tpm_passthrough = true;
        assert_eq!(
            run(tpm.clone(), &on, &host, None),
            ["/dev/tpm0 rw", "«/sys/devices/pnp0/00:05/cancel» w"]
        );
        // misc wins when both exist; neither: no cancel grant.
        host.existing
            .push("/sys/class/misc/tpm0/device/cancel".into());
        assert_eq!(
            run(tpm.clone(), &on, &host, None)[1],
            "«/sys/class/misc/tpm0/device/cancel» w"
        );
        assert_eq!(run(tpm, &on, &FakeHost::default(), None), ["/dev/tpm0 rw"]);
    }
}
