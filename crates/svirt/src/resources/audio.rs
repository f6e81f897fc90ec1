//! Audio backends (`<audio>`): with [`crate::Settings::audio_backends`],
//! the host resources of a backend QEMU opens itself. libvirt's helper
//! grants nothing for `<audio>`: its shared abstraction gives every VM
//! `/dev/snd/*` and PulseAudio's files instead, which svirt's abstraction
//! does not. So here a VM gets them in its own rules, and only when its
//! definition has such a backend:
//!
//! - `alsa`: `/dev/snd/` `r` and `/dev/snd/*` `rw` (alsa-lib picks the
//!   control and PCM nodes at run time, from PCM names such as `hw:0` or
//!   `default`, which are not paths), and read-only the configuration
//!   alsa-lib 1.2 reads: `/usr/share/alsa/**`, `/etc/asound.conf` and
//!   `/etc/alsa/conf.d/{,*}` (where Debian links the PulseAudio and
//!   PipeWire plugins' files). Once however many ALSA backends. alsa-lib
//!   does not read `/proc/asound` (its library and configuration name no
//!   path there), so nothing there is granted; nor `~/.asoundrc`,
//!   `/var/lib/alsa/` or dmix's `/tmp/alsa-dmix-*` socket.
//! - `oss`: each `<input dev>` and `<output dev>` path `rw`, QEMU's
//!   default `/dev/dsp` for one that is absent.
//! - `file`: the WAV file, `w` (QEMU creates and writes it, as a chardev
//!   log). Without `path` QEMU writes `qemu.wav` in its working directory,
//!   which the helper cannot name: nothing.
//! - `pulseaudio`: each local server in `serverName` (an absolute path or
//!   `unix:<path>`), `rw`. A host name or `tcp:` server needs only the
//!   abstraction's `network inet stream`. Without `serverName` the client
//!   library uses the per-user socket (`/run/user/<uid>/pulse/native`),
//!   which the helper cannot know: the operator names the server or grants
//!   the socket with `svirt allow`. The client's cookie, configuration and
//!   shared-memory files are not granted (it works without them with a
//!   server that accepts it: memfd transport, same-uid or anonymous auth).
//! - `none`, `spice`, `dbus`: nothing (no host device; SPICE and D-Bus
//!   carry the audio over their own connections).
//! - `sdl`: nothing. SDL picks its own driver (`driver=`) and the files it
//!   opens; use `svirt allow`.
//! - `jack`: nothing. JACK clients share `/dev/shm` segments with the
//!   server; granting those would let VMs share memory, so the operator
//!   decides with `svirt allow`.
//! - `coreaudio`: macOS only; unknown types: nothing.
//!
//! Every path is a [`Grant::path`]: canonicalised, checked and escaped by
//! the policy step like any device path.

use super::{non_empty, Collector};
use crate::domain::{Audio, AudioType};
use crate::policy::{Access, FixedPattern, Grant, Origin};

/// QEMU's OSS device when `<input>`/`<output>` names none.
pub const OSS_DEFAULT_DEVICE: &str = "/dev/dsp";

pub(super) fn add(cx: &mut Collector) {
    if !cx.settings.audio_backends {
        return;
    }
    let mut alsa = false;
    let mut granted: Vec<String> = Vec::new();
    for (index, audio) in cx.domain.devices.audios.iter().enumerate() {
        let origin = |role| Origin::Audio { index, role };
        match audio.kind {
            AudioType::Alsa if !alsa => {
                alsa = true;
                for (pattern, access, role) in [
                    (FixedPattern::SND_DIR, Access::R, "ALSA devices"),
                    (FixedPattern::SND_DEVICES, Access::RW, "ALSA devices"),
                    (FixedPattern::ALSA_DATA, Access::R, "ALSA configuration"),
                    (FixedPattern::ALSA_CONF, Access::R, "ALSA configuration"),
                    (FixedPattern::ALSA_CONF_D, Access::R, "ALSA configuration"),
                ] {
                    cx.push(Grant::fixed(pattern, access, origin(role)));
                }
            }
            AudioType::Oss => {
                for (dev, role) in [
                    (&audio.input_dev, "OSS input device"),
                    (&audio.output_dev, "OSS output device"),
                ] {
                    let dev = non_empty(dev).unwrap_or(OSS_DEFAULT_DEVICE);
                    if !granted.iter().any(|g| g == dev) {
                        granted.push(dev.to_owned());
                        cx.push(Grant::path(dev, Access::RW, origin(role)));
                    }
                }
            }
            AudioType::File => {
                if let Some(path) = non_empty(&audio.path) {
                    cx.push(Grant::path(path, Access::W, origin("WAV file")));
                }
            }
            AudioType::PulseAudio => {
                for socket in pulse_sockets(audio) {
                    if !granted.iter().any(|g| g == socket) {
                        granted.push(socket.to_owned());
                        cx.push(Grant::path(
                            socket,
                            Access::RW,
                            origin("PulseAudio server socket"),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
}

/// The local sockets a PulseAudio `serverName` names. The client library
/// reads it as a list separated by whitespace, each entry optionally
/// prefixed by `{machine-id}`; an entry is a local socket when it is
/// `unix:<path>` or starts with `/`. Anything else (a host name,
/// `tcp:`, `tcp6:`) is reached over the network.
fn pulse_sockets(audio: &Audio) -> Vec<&str> {
    let Some(servers) = non_empty(&audio.server_name) else {
        return Vec::new();
    };
    servers
        .split_ascii_whitespace()
        .filter_map(|entry| {
            // An entry whose `{machine-id}` is not closed names no server.
            let entry = match entry.strip_prefix('{') {
                Some(rest) => rest.split_once('}')?.1,
                None => entry,
            };
            if let Some(path) = entry.strip_prefix("unix:") {
                Some(path).filter(|p| !p.is_empty())
            } else if entry.starts_with('/') {
                Some(entry)
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::VirtType;
    use crate::policy::{rules_for, PolicyError, Target};
    use crate::resources::testing::*;
    use crate::resources::{grants_for, Resources};
    use crate::Settings;

    fn backend(kind: &str) -> Audio {
        Audio::new(AudioType::from_name(kind))
    }

    fn run(audios: Vec<Audio>, settings: &Settings) -> Resources {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        d.devices.audios = audios;
        grants_for(&d, settings, &FakeHost::default()).unwrap()
    }

    fn safe(audios: Vec<Audio>) -> Vec<String> {
        show(&run(audios, &Settings::safe()).grants)
    }

    const ALSA: [&str; 5] = [
        "/dev/snd/ r",
        "/dev/snd/* rw",
        "/usr/share/alsa/** r",
        "/etc/asound.conf r",
        "/etc/alsa/conf.d/{,*} r",
    ];

    #[test]
    fn alsa_devices_and_configuration_once() {
        let mut a = backend("alsa");
        // PCM names, not paths: never granted.
        a.input_dev = Some("hw:0".into());
        a.output_dev = Some("/not/a/path".into());
        assert_eq!(safe(vec![a.clone()]), ALSA);
        assert_eq!(safe(vec![a, backend("alsa")]), ALSA);
        let r = run(vec![backend("alsa")], &Settings::safe());
        assert!(r.grants.iter().all(|g| !g.quiet_write_deny));
        assert_eq!(
            r.grants[1].origin.to_string(),
            "audio backend 0 ALSA devices"
        );
    }

    #[test]
    fn oss_devices_with_qemu_default() {
        assert_eq!(safe(vec![backend("oss")]), ["/dev/dsp rw"]);
        let mut a = backend("oss");
        a.input_dev = Some("/dev/dsp1".into());
        assert_eq!(safe(vec![a.clone()]), ["/dev/dsp1 rw", "/dev/dsp rw"]);
        a.output_dev = Some("/dev/dsp2".into());
        assert_eq!(safe(vec![a.clone()]), ["/dev/dsp1 rw", "/dev/dsp2 rw"]);
        // The same device once, however many times it is named.
        assert_eq!(safe(vec![a.clone(), a]), ["/dev/dsp1 rw", "/dev/dsp2 rw"]);
        let r = run(vec![backend("oss")], &Settings::safe());
        assert_eq!(
            r.grants[0].origin.to_string(),
            "audio backend 0 OSS input device"
        );
    }

    #[test]
    fn file_is_written() {
        let mut a = backend("file");
        a.path = Some("/var/lib/libvirt/qemu/vm.wav".into());
        assert_eq!(safe(vec![a]), ["/var/lib/libvirt/qemu/vm.wav w"]);
        // No path: QEMU's qemu.wav in its working directory, unknown here.
        assert!(safe(vec![backend("file")]).is_empty());
    }

    #[test]
    fn pulseaudio_local_servers_only() {
        let pa = |server: Option<&str>| {
            let mut a = backend("pulseaudio");
            a.server_name = server.map(str::to_owned);
            safe(vec![a])
        };
        assert!(pa(None).is_empty());
        assert_eq!(pa(Some("/run/pulse/native")), ["/run/pulse/native rw"]);
        assert_eq!(
            pa(Some("unix:/run/user/1000/pulse/native")),
            ["/run/user/1000/pulse/native rw"]
        );
        assert_eq!(
            pa(Some(
                "{0123abcd}unix:/run/pulse/native tcp:host:4713 /srv/pa.sock"
            )),
            ["/run/pulse/native rw", "/srv/pa.sock rw"]
        );
        for remote in [
            "acme.example.org",
            "tcp:acme.example.org:4713",
            "tcp6:[::1]",
            "unix:",
            "{id}",
            "{",
            "{/run/pulse/native",
        ] {
            assert!(pa(Some(remote)).is_empty(), "{remote}");
        }
    }

    #[test]
    fn other_backends_get_nothing() {
        for kind in [
            "none",
            "spice",
            "dbus",
            "sdl",
            "jack",
            "coreaudio",
            "pipewire",
            "future",
        ] {
            let mut a = backend(kind);
            a.input_dev = Some("/dev/dsp".into());
            a.output_dev = Some("/dev/dsp".into());
            a.path = Some("/srv/x.wav".into());
            a.server_name = Some("/run/pulse/native".into());
            assert!(safe(vec![a]).is_empty(), "{kind}");
        }
    }

    fn every_backend() -> Vec<Audio> {
        let mut oss = backend("oss");
        oss.output_dev = Some("/dev/dsp1".into());
        let mut file = backend("file");
        file.path = Some("/srv/a.wav".into());
        let mut pa = backend("pulseaudio");
        pa.server_name = Some("unix:/run/pulse/native".into());
        vec![backend("alsa"), oss, file, pa, backend("jack")]
    }

    #[test]
    fn switch_off_gives_nothing() {
        let mut s = Settings::safe();
        s.audio_backends = false;
        assert!(run(every_backend(), &s).grants.is_empty());
        assert!(run(every_backend(), &Settings::libvirt_compatible())
            .grants
            .is_empty());
        assert_eq!(run(every_backend(), &Settings::safe()).grants.len(), 9);
    }

    /// The policy step for one audio path, in safe mode: its rule text.
    fn policy_for(kind: &str, path: &str) -> Result<String, PolicyError> {
        let mut a = backend(kind);
        match kind {
            "oss" => a.output_dev = Some(path.into()),
            "file" => a.path = Some(path.into()),
            _ => a.server_name = Some(format!("unix:{path}")),
        }
        let grants: Vec<Grant> = run(vec![a], &Settings::safe())
            .grants
            .into_iter()
            .filter(|g| g.target != Target::Path(OSS_DEFAULT_DEVICE.into()))
            .collect();
        assert_eq!(grants.len(), 1, "{kind} {path:?}");
        rules_for(
            &grants,
            &Settings::safe(),
            &crate::testing::FakeHost::new(),
            &Default::default(),
        )
        .map(|set| set.text())
        .map_err(|f| *f.error)
    }

    #[test]
    fn hostile_paths_are_checked_like_any_device_path() {
        for kind in ["oss", "file", "pulseaudio"] {
            // Restricted locations, relative paths and control characters
            // are refused; pattern characters are escaped.
            // (PulseAudio splits its server list at whitespace, newlines
            // included, so each piece is a path of its own.)
            for bad in [
                "/etc/shadow",
                "/boot/x",
                "dsp",
                "/dev/dsp\u{1}x",
                "/x\u{7f}",
            ] {
                assert!(policy_for(kind, bad).is_err(), "{kind} {bad:?}");
            }
            if kind != "pulseaudio" {
                assert!(policy_for(kind, "/dev/dsp\n/x rw").is_err(), "{kind}");
            }
            let text = policy_for(kind, "/srv/a*{b,c}@{HOME}").unwrap();
            assert!(
                text.contains(r#""/srv/a\*\{b\,c\}\@\{HOME\}""#),
                "{kind}: {text}"
            );
        }
    }
}
