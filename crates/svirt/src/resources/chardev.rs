//! Character devices (§3.2): serial, console, parallel and channel ports,
//! in that order.
//!
//! Sources of type pty, dev, file, unix and pipe with a path get `rw`; a
//! pipe means the two FIFOs `<path>.in` and `<path>.out`, except on a
//! console, which gets the bare path. With
//! [`crate::Settings::chardev_logs`], a `<log file>` gets `w`.
//!
//! libvirt's parser treats the first console of an HVM domain specially
//! when it is a serial console (target type `serial` or none), and the
//! helper sees the result:
//! - with no `<serial>`, the console *becomes* the first serial port (so a
//!   pipe is split), and the console itself grants nothing;
//! - with a serial port whose source differs, the console is replaced by
//!   an alias of that port and grants nothing;
//! - with a serial port with the same source, both grant the path.

use super::{non_empty, Collector, Lookup};
use crate::domain::{CharDev, CharDevKind, CharDevSourceType, Domain};
use crate::host::Host;
use crate::policy::{Access, FixedPattern, Grant, Origin};
use crate::Settings;

/// The grants of a hot-plugged character device (spec §3.5), decided by
/// the code that decides them at start. One difference, from the host as
/// it is now: a pipe gets those of `<path>.in` and `<path>.out` that
/// exist, then `<path>` itself (QEMU opens the bare path when the pair
/// is not there), as libvirt's driver asks at hotplug.
pub fn chardev_grants(
    domain: &Domain,
    dev: &CharDev,
    settings: &Settings,
    host: &dyn Host,
) -> Vec<Grant> {
    let mut cx = Collector::for_device(domain, settings, host);
    let devices = &domain.devices;
    let list = match dev.kind {
        CharDevKind::Serial => &devices.serials,
        CharDevKind::Console => &devices.consoles,
        CharDevKind::Parallel => &devices.parallels,
        CharDevKind::Channel => &devices.channels,
    };
    let index = list.iter().position(|d| d == dev).unwrap_or(list.len());
    add_one(
        &mut cx,
        dev,
        index,
        dev.kind != CharDevKind::Console,
        Lookup::Hotplug,
    );
    cx.out.grants
}

pub(super) fn add(cx: &mut Collector) {
    let devices = &cx.domain.devices;
    let hvm = cx.domain.os.os_type == "hvm";

    let mut serials: Vec<(usize, &CharDev)> = devices.serials.iter().enumerate().collect();
    let mut consoles: Vec<(usize, &CharDev)> = devices.consoles.iter().enumerate().collect();
    if let Some(&(_, first)) = consoles.first() {
        if hvm && is_serial_console(first) {
            match serials.first() {
                None => {
                    serials.push(consoles.remove(0));
                }
                Some(&(_, serial)) if !same_source(serial, first) => {
                    consoles.remove(0);
                }
                Some(_) => {}
            }
        }
    }

    for (index, dev) in serials {
        add_one(cx, dev, index, true, Lookup::Start);
    }
    for (index, dev) in consoles {
        add_one(cx, dev, index, false, Lookup::Start);
    }
    for (index, dev) in devices.parallels.iter().enumerate() {
        add_one(cx, dev, index, true, Lookup::Start);
    }
    for (index, dev) in devices.channels.iter().enumerate() {
        add_one(cx, dev, index, true, Lookup::Start);
    }
}

/// Whether a console is the serial console libvirt aliases to serial 0.
fn is_serial_console(console: &CharDev) -> bool {
    matches!(console.target_type.as_deref(), None | Some("serial"))
}

/// libvirt's source equality: the type, the path and the other source
/// attributes (a file's `append`, a socket's `mode`, …).
fn same_source(a: &CharDev, b: &CharDev) -> bool {
    a.source_type == b.source_type && a.path == b.path && a.source_attrs == b.source_attrs
}

/// Source types whose path QEMU opens.
fn has_host_path(source_type: &CharDevSourceType) -> bool {
    use CharDevSourceType::{Dev, File, Pipe, Pty, Unix};
    matches!(source_type, Pty | Dev | File | Unix | Pipe)
}

/// Grants for one port. `split_pipe` is false for consoles.
fn add_one(cx: &mut Collector, dev: &CharDev, index: usize, split_pipe: bool, lookup: Lookup) {
    if cx.opted_out(&dev.seclabels) {
        return;
    }
    let origin = |role| Origin::CharDev {
        kind: dev.kind,
        index,
        role,
    };
    if let (true, Some(path)) = (has_host_path(&dev.source_type), non_empty(&dev.path)) {
        if dev.source_type == CharDevSourceType::Pipe && lookup == Lookup::Hotplug {
            for (suffix, role) in [(".in", "pipe input"), (".out", "pipe output")] {
                let fifo = format!("{path}{suffix}");
                if cx.host.exists(std::path::Path::new(&fifo)) {
                    cx.push(Grant::path(fifo, Access::RW, origin(role)));
                }
            }
            cx.push(Grant::path(path, Access::RW, origin("source")));
        } else if dev.source_type == CharDevSourceType::Pipe && split_pipe {
            cx.push(Grant::path(
                format!("{path}.in"),
                Access::RW,
                origin("pipe input"),
            ));
            cx.push(Grant::path(
                format!("{path}.out"),
                Access::RW,
                origin("pipe output"),
            ));
        } else {
            cx.push(Grant::path(path, Access::RW, origin("source")));
        }
    } else if dev.source_type == CharDevSourceType::Pty && cx.settings.pty_allocation {
        // Before start the pty has no number; QEMU opens the one it
        // allocates by path. The grant is this VM's alone, unlike a console
        // glob in a shared abstraction.
        cx.push(Grant::fixed(
            FixedPattern::PTYS,
            Access::RW,
            origin("pty allocated at start"),
        ));
    }
    if cx.settings.chardev_logs {
        if let Some(log) = non_empty(&dev.log_file) {
            cx.push(Grant::path(log, Access::W, origin("log file")));
        }
    }
}

#[cfg(test)]
mod pty_tests {
    use super::*;
    use crate::domain::{CharDevKind, VirtType};
    use crate::resources::grants_for;
    use crate::resources::testing::*;
    use crate::Settings;

    #[test]
    fn unallocated_pty_gets_the_pts_pattern_in_safe_mode_only() {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        d.devices.serials.push(CharDev {
            kind: CharDevKind::Serial,
            source_type: CharDevSourceType::Pty,
            path: None,
            source_attrs: Vec::new(),
            log_file: None,
            target_type: None,
            target_name: None,
            seclabels: Vec::new(),
        });
        let safe = grants_for(&d, &Settings::safe(), &FakeHost::default()).unwrap();
        assert_eq!(show(&safe.grants), vec!["/dev/pts/[0-9]* rw"]);
        let compat = grants_for(&d, &Settings::libvirt_compatible(), &FakeHost::default()).unwrap();
        assert!(compat.grants.is_empty());
        // Once the pty exists, the exact path is granted instead.
        d.devices.serials[0].path = Some("/dev/pts/9".into());
        let safe = grants_for(&d, &Settings::safe(), &FakeHost::default()).unwrap();
        assert_eq!(show(&safe.grants), vec!["/dev/pts/9 rw"]);
    }

    #[test]
    fn hotplugged_pipe_gets_the_fifos_that_exist_then_the_path() {
        let d = domain("vm");
        let dev = CharDev {
            kind: CharDevKind::Serial,
            source_type: CharDevSourceType::Pipe,
            path: Some("/x/p".into()),
            source_attrs: Vec::new(),
            log_file: None,
            target_type: None,
            target_name: None,
            seclabels: Vec::new(),
        };
        let host = FakeHost {
            existing: vec!["/x/p.in".into()],
            ..FakeHost::default()
        };
        let got = super::chardev_grants(&d, &dev, &Settings::safe(), &host);
        assert_eq!(show(&got), ["/x/p.in rw", "/x/p rw"]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CharDevKind, SecLabel, VirtType};
    use crate::resources::grants_for;
    use crate::resources::testing::*;
    use crate::Settings;

    fn chr(kind: CharDevKind, ty: &str, path: Option<&str>, target: Option<&str>) -> CharDev {
        CharDev {
            kind,
            source_type: CharDevSourceType::from_name(ty),
            path: path.map(Into::into),
            source_attrs: Vec::new(),
            log_file: None,
            target_type: target.map(Into::into),
            target_name: None,
            seclabels: Vec::new(),
        }
    }

    fn run(f: impl FnOnce(&mut crate::domain::Devices), settings: &Settings) -> Vec<String> {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        f(&mut d.devices);
        show(
            &grants_for(&d, settings, &FakeHost::default())
                .unwrap()
                .grants,
        )
    }

    fn compat() -> Settings {
        Settings::libvirt_compatible()
    }

    use CharDevKind::*;

    #[test]
    fn order_is_serial_console_parallel_channel() {
        let got = run(
            |d| {
                d.channels = vec![chr(Channel, "unix", Some("/r/qga.sock"), Some("virtio"))];
                d.parallels = vec![
                    chr(Parallel, "file", Some("/r/par"), None),
                    chr(Parallel, "pipe", Some("/r/ppipe"), None),
                ];
                d.consoles = vec![chr(Console, "file", Some("/r/c0"), Some("virtio"))];
                d.serials = vec![
                    chr(Serial, "file", Some("/r/s0"), None),
                    chr(Serial, "pipe", Some("/r/s1"), None),
                ];
            },
            &compat(),
        );
        assert_eq!(
            got,
            [
                "/r/s0 rw",
                "/r/s1.in rw",
                "/r/s1.out rw",
                "/r/c0 rw",
                "/r/par rw",
                "/r/ppipe.in rw",
                "/r/ppipe.out rw",
                "/r/qga.sock rw",
            ]
        );
    }

    #[test]
    fn source_types_with_and_without_paths() {
        let got = run(
            |d| {
                d.serials = ["pty", "dev", "file", "unix", "pipe"]
                    .iter()
                    .map(|t| chr(Serial, t, Some("/p"), None))
                    .chain(
                        ["tcp", "udp", "null", "vc", "stdio", "spicevmc", "spiceport"]
                            .iter()
                            .map(|t| chr(Serial, t, Some("/q"), None)),
                    )
                    .chain([
                        chr(Serial, "pty", None, None),
                        chr(Serial, "file", Some(""), None),
                    ])
                    .collect();
            },
            &compat(),
        );
        assert_eq!(
            got,
            ["/p rw", "/p rw", "/p rw", "/p rw", "/p.in rw", "/p.out rw"]
        );
    }

    #[test]
    fn console_pipe_is_not_split() {
        let got = run(
            |d| d.consoles = vec![chr(Console, "pipe", Some("/r/c"), Some("virtio"))],
            &compat(),
        );
        assert_eq!(got, ["/r/c rw"]);
    }

    #[test]
    fn serial_console_without_serial_becomes_the_serial() {
        for target in [Some("serial"), None] {
            let got = run(
                |d| d.consoles = vec![chr(Console, "pipe", Some("/r/c"), target)],
                &compat(),
            );
            assert_eq!(got, ["/r/c.in rw", "/r/c.out rw"], "{target:?}");
        }
    }

    #[test]
    fn serial_console_differing_from_serial_grants_nothing() {
        let got = run(
            |d| {
                d.serials = vec![chr(Serial, "file", Some("/r/s0"), None)];
                d.consoles = vec![chr(Console, "file", Some("/r/c0"), Some("serial"))];
            },
            &compat(),
        );
        assert_eq!(got, ["/r/s0 rw"]);
    }

    #[test]
    fn serial_console_same_as_serial_grants_twice() {
        let got = run(
            |d| {
                d.serials = vec![chr(Serial, "pty", Some("/dev/pts/3"), None)];
                d.consoles = vec![chr(Console, "pty", Some("/dev/pts/3"), Some("serial"))];
            },
            &compat(),
        );
        assert_eq!(got, ["/dev/pts/3 rw", "/dev/pts/3 rw"]);
    }

    #[test]
    fn non_hvm_consoles_are_taken_as_they_are() {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        d.os.os_type = "exe".into();
        d.devices.consoles = vec![chr(Console, "pipe", Some("/r/c"), None)];
        let got = show(
            &grants_for(&d, &compat(), &FakeHost::default())
                .unwrap()
                .grants,
        );
        assert_eq!(got, ["/r/c rw"]);
    }

    #[test]
    fn log_files_only_with_the_switch() {
        let mut s = chr(Serial, "pty", None, None);
        s.log_file = Some("/var/log/s.log".into());
        let mut c = chr(Channel, "unix", Some("/r/ch"), None);
        c.log_file = Some("/var/log/ch.log".into());
        let devs = |d: &mut crate::domain::Devices| {
            d.serials = vec![s.clone()];
            d.channels = vec![c.clone()];
        };
        assert_eq!(run(devs, &compat()), ["/r/ch rw"]);
        let mut on = compat();
        on.chardev_logs = true;
        assert_eq!(
            run(devs, &on),
            ["/var/log/s.log w", "/r/ch rw", "/var/log/ch.log w"]
        );
    }

    #[test]
    fn relabel_no_only_with_the_switch() {
        let mut s = chr(Serial, "file", Some("/r/s0"), None);
        s.seclabels.push(SecLabel {
            model: Some("apparmor".into()),
            relabel: Some(false),
            ..SecLabel::default()
        });
        let devs = |d: &mut crate::domain::Devices| d.serials = vec![s.clone()];
        assert_eq!(run(devs, &compat()), ["/r/s0 rw"]);
        let mut on = compat();
        on.device_relabel_no = true;
        assert!(run(devs, &on).is_empty());
    }

    #[test]
    fn pipe_origins() {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        d.devices.serials = vec![chr(Serial, "pipe", Some("/r/p"), None)];
        let r = grants_for(&d, &compat(), &FakeHost::default()).unwrap();
        assert_eq!(
            r.grants[1].origin,
            Origin::CharDev {
                kind: Serial,
                index: 0,
                role: "pipe output"
            }
        );
    }
}
