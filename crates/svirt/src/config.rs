//! `/etc/svirt/virt-aa-helper.conf`: the administrator's choice between
//! svirt's safe output (the default) and libvirt-compatible output.
//!
//! The format is one `key = value` per line; `#` starts a comment line and
//! blank lines are ignored.
//!
//! ```text
//! # libvirt 9.0's exact output, except that paths are still escaped
//! mode = compat
//! escape_paths = true
//! ```
//!
//! `mode` is `safe` or `compat`; `libvirt` is `9.0` (the default) or `11.3`,
//! the release whose helper compat mode reproduces and safe mode builds on.
//! Both must come before any switch. Every other key is a field of
//! `svirt::Settings` taking `true` or `false`, and overrides that one switch. Unknown keys, repeated keys, bad values and
//! files over [`MAX_CONFIG_BYTES`] are errors: the helper refuses to guess.

use std::fmt;
use std::io::Read;
use std::path::Path;

use crate::{LibvirtVersion, Settings};

/// The configuration file. A constant: nothing the caller controls can
/// point the helper at another one.
pub const CONFIG_PATH: &str = "/etc/svirt/virt-aa-helper.conf";

/// Largest configuration file read.
pub const MAX_CONFIG_BYTES: usize = 64 * 1024;

/// Which family of output the administrator chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// svirt's safe defaults.
    Safe,
    /// libvirt 9.0's output byte for byte.
    Compat,
}

/// The helper's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub mode: OutputMode,
    pub libvirt: LibvirtVersion,
    pub settings: Settings,
}

impl Config {
    /// `mode` for `libvirt`, with no switch overridden.
    pub fn new(mode: OutputMode, libvirt: LibvirtVersion) -> Self {
        let settings = match mode {
            OutputMode::Safe => Settings::safe_with(libvirt),
            OutputMode::Compat => Settings::libvirt_compatible_with(libvirt),
        };
        Config {
            mode,
            libvirt,
            settings,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new(OutputMode::Safe, LibvirtVersion::default())
    }
}

/// Why the configuration was refused.
#[derive(Debug)]
pub struct ConfigError {
    pub path: String,
    /// 1-based line, when the problem is on one.
    pub line: Option<usize>,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.path, self.reason),
            None => write!(f, "{}: {}", self.path, self.reason),
        }
    }
}

/// A boolean switch of `Settings`, by its field name.
fn switch<'a>(settings: &'a mut Settings, key: &str) -> Option<&'a mut bool> {
    Some(match key {
        "escape_paths" => &mut settings.escape_paths,
        "component_prefixes" => &mut settings.component_prefixes,
        "escaped_names" => &mut settings.escaped_names,
        "reject_relative_paths" => &mut settings.reject_relative_paths,
        "tpm_passthrough" => &mut settings.tpm_passthrough,
        "qcow2_data_file" => &mut settings.qcow2_data_file,
        "vmdk_extents" => &mut settings.vmdk_extents,
        "vhost_vdpa" => &mut settings.vhost_vdpa,
        "chardev_logs" => &mut settings.chardev_logs,
        "device_relabel_no" => &mut settings.device_relabel_no,
        "pty_allocation" => &mut settings.pty_allocation,
        "virtio_pmem" => &mut settings.virtio_pmem,
        "quiet_write_deny" => &mut settings.quiet_write_deny,
        "hotplug_layer_access" => &mut settings.hotplug_layer_access,
        "check_trees" => &mut settings.check_trees,
        "untrusted_header_paths" => &mut settings.untrusted_header_paths,
        "pci_sysfs_exact" => &mut settings.pci_sysfs_exact,
        "contained_names" => &mut settings.contained_names,
        "exact_hostdev_kinds" => &mut settings.exact_hostdev_kinds,
        "sev_device" => &mut settings.sev_device,
        "sgx_epc" => &mut settings.sgx_epc,
        "pstore" => &mut settings.pstore,
        "audio_backends" => &mut settings.audio_backends,
        "os_shim" => &mut settings.os_shim,
        "firmware_dirs" => &mut settings.firmware_dirs,
        "macvtap" => &mut settings.macvtap,
        "include_if_exists" => &mut settings.include_if_exists,
        "pool_volumes" => &mut settings.pool_volumes,
        "vm_overrides" => &mut settings.vm_overrides,
        "start_requests" => &mut settings.start_requests,
        "unload_by_name" => &mut settings.unload_by_name,
        "stable_run_dirs" => &mut settings.stable_run_dirs,
        "compile_cache" => &mut settings.compile_cache,
        "writable_loader" => &mut settings.writable_loader,
        "translated_volumes" => &mut settings.translated_volumes,
        "parser_11_3" => &mut settings.parser_11_3,
        "vhostuser_socket_required" => &mut settings.vhostuser_socket_required,
        "passt_child" => &mut settings.passt_child,
        _ => return None,
    })
}

/// Parses configuration text; `path` is only used in messages.
pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
    let err = |line: usize, reason: String| ConfigError {
        path: path.to_owned(),
        line: Some(line),
        reason,
    };
    let (mut mode, mut libvirt) = (OutputMode::Safe, LibvirtVersion::default());
    let mut switches: Vec<(usize, &str, bool)> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let n = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(err(n, format!("expected `key = value`, found {line:?}")));
        };
        let (key, value) = (key.trim(), value.trim());
        if seen.iter().any(|k| k == key) {
            return Err(err(n, format!("key {key:?} is set twice")));
        }
        if (key == "mode" || key == "libvirt") && !switches.is_empty() {
            return Err(err(n, format!("`{key}` must come before any switch")));
        }
        if key == "mode" {
            mode = match value {
                "safe" => OutputMode::Safe,
                "compat" => OutputMode::Compat,
                _ => {
                    return Err(err(
                        n,
                        format!("mode must be `safe` or `compat`, not {value:?}"),
                    ))
                }
            };
        } else if key == "libvirt" {
            libvirt = LibvirtVersion::parse(value).ok_or_else(|| {
                let known: Vec<&str> = LibvirtVersion::ALL.iter().map(|v| v.as_str()).collect();
                err(
                    n,
                    format!("libvirt must be one of {}, not {value:?}", known.join(", ")),
                )
            })?;
        } else {
            if switch(&mut Settings::safe(), key).is_none() {
                return Err(err(n, format!("unknown key {key:?}")));
            }
            let on = match value {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(err(
                        n,
                        format!("{key} must be `true` or `false`, not {value:?}"),
                    ))
                }
            };
            switches.push((n, key, on));
        }
        seen.push(key.to_owned());
    }
    let mut config = Config::new(mode, libvirt);
    for (_, key, on) in switches {
        if let Some(slot) = switch(&mut config.settings, key) {
            *slot = on;
        }
    }
    Ok(config)
}

/// Reads the configuration from `path`; a missing file means the defaults.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let shown = path.display().to_string();
    let io = |e: std::io::Error| ConfigError {
        path: shown.clone(),
        line: None,
        reason: e.to_string(),
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(e) => return Err(io(e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError {
            path: shown,
            line: None,
            reason: format!("larger than the limit of {MAX_CONFIG_BYTES} bytes"),
        });
    }
    let text = String::from_utf8(bytes).map_err(|_| ConfigError {
        path: shown.clone(),
        line: None,
        reason: "not UTF-8 text".to_owned(),
    })?;
    parse(&text, &shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_safe() {
        assert_eq!(parse("", "c").unwrap(), Config::default());
        assert_eq!(
            parse("# x\n\n  \n", "c").unwrap().settings,
            Settings::safe()
        );
    }

    #[test]
    fn compat_and_overrides() {
        let c = parse("mode = compat\nescape_paths = true\n", "c").unwrap();
        assert_eq!(c.mode, OutputMode::Compat);
        let mut want = Settings::libvirt_compatible();
        want.escape_paths = true;
        assert_eq!(c.settings, want);
        let c = parse("mode=safe\nchardev_logs=false", "c").unwrap();
        assert!(!c.settings.chardev_logs);
        assert!(c.settings.escape_paths);
        let c = parse("virtio_pmem = false", "c").unwrap();
        assert_eq!(c.mode, OutputMode::Safe);
        assert!(!c.settings.virtio_pmem);
    }

    /// Every switch key, in `Settings` order.
    const KEYS: &[&str] = &[
        "escape_paths",
        "component_prefixes",
        "escaped_names",
        "reject_relative_paths",
        "tpm_passthrough",
        "qcow2_data_file",
        "vmdk_extents",
        "vhost_vdpa",
        "chardev_logs",
        "device_relabel_no",
        "pty_allocation",
        "virtio_pmem",
        "quiet_write_deny",
        "hotplug_layer_access",
        "check_trees",
        "untrusted_header_paths",
        "pci_sysfs_exact",
        "contained_names",
        "exact_hostdev_kinds",
        "sev_device",
        "sgx_epc",
        "pstore",
        "audio_backends",
        "os_shim",
        "firmware_dirs",
        "macvtap",
        "include_if_exists",
        "pool_volumes",
        "vm_overrides",
        "start_requests",
        "unload_by_name",
        "stable_run_dirs",
        "compile_cache",
        "writable_loader",
        "translated_volumes",
        "parser_11_3",
        "vhostuser_socket_required",
        "passt_child",
    ];

    #[test]
    fn every_switch_is_known() {
        for key in KEYS {
            // The opposite of the safe default, whichever it is.
            let mut s = Settings::safe();
            let flipped = !*switch(&mut s, key).unwrap();
            let c = parse(&format!("mode = safe\n{key} = {flipped}\n"), "c").unwrap();
            assert_ne!(c.settings, Settings::safe(), "{key}");
        }
    }

    #[test]
    fn every_settings_switch_is_configurable() {
        // Settings' Debug output lists its fields: a switch added to the
        // library must be added to the configuration too.
        let debug = format!("{:?}", Settings::safe());
        for part in debug.split([',', '{']) {
            if let Some((key, value)) = part.split_once(':') {
                let value = value.trim();
                if value == "true" || value == "false" {
                    let key = key.trim();
                    let mut s = Settings::safe();
                    assert!(switch(&mut s, key).is_some(), "{key} is not configurable");
                }
            }
        }
    }

    #[test]
    fn errors_name_the_file_line_and_key() {
        let e = parse(
            "mode = safe\nbogus = true\n",
            "/etc/svirt/virt-aa-helper.conf",
        );
        assert_eq!(
            e.unwrap_err().to_string(),
            "/etc/svirt/virt-aa-helper.conf:2: unknown key \"bogus\""
        );
        let e = parse("layout = x", "c").unwrap_err();
        assert!(e.to_string().contains("unknown key \"layout\""), "{e}");
        assert!(parse("mode = paranoid", "c").is_err());
        assert!(parse("escape_paths = yes", "c").is_err());
        assert!(parse("escape_paths", "c").is_err());
        assert!(parse("escape_paths = true\nescape_paths = false", "c").is_err());
        assert!(parse("escape_paths = true\nmode = compat", "c").is_err());
    }

    #[test]
    fn load_limits_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.conf");
        assert_eq!(load(&p).unwrap(), Config::default());
        std::fs::write(&p, "#".repeat(MAX_CONFIG_BYTES + 1)).unwrap();
        assert!(load(&p).unwrap_err().to_string().contains("limit"));
        std::fs::write(&p, b"mode = compat\xff").unwrap();
        assert!(load(&p).is_err());
        std::fs::write(&p, "mode = compat\n").unwrap();
        assert_eq!(load(&p).unwrap().mode, OutputMode::Compat);
    }

    #[test]
    fn libvirt_version_chooses_the_reference() {
        use crate::LibvirtVersion::{V11_3, V9_0};
        assert_eq!(parse("", "c").unwrap().libvirt, V9_0);
        let c = parse("mode = compat\nlibvirt = 11.3\n", "c").unwrap();
        assert_eq!(c.libvirt, V11_3);
        assert_eq!(c.settings, Settings::libvirt_compatible_with(V11_3));
        assert!(c.settings.include_if_exists && c.settings.writable_loader);
        assert!(!c.settings.escape_paths);
        // either order before the switches; a switch still overrides
        let c = parse(
            "libvirt = 11.3.0\nmode = compat\nwritable_loader = false\n",
            "c",
        )
        .unwrap();
        assert_eq!(c.libvirt, V11_3);
        assert!(!c.settings.writable_loader && c.settings.include_if_exists);
        let c = parse("libvirt = 11.3\n", "c").unwrap();
        assert_eq!(c.settings, Settings::safe_with(V11_3));
        assert!(c.settings.writable_loader);
        assert!(!Settings::safe_with(V9_0).writable_loader);
        // the lines the Debian package writes (packaging/debian/set-libvirt-version)
        let c = parse(
            "# libvirt: set by the svirt package from the installed libvirt-daemon \
             (delete this line to keep your own value)\nlibvirt = 9.0\nmode = compat\n",
            "c",
        )
        .unwrap();
        assert_eq!(c.settings, Settings::libvirt_compatible());
    }

    #[test]
    fn bad_libvirt_versions_are_refused() {
        for (text, want) in [
            (
                "libvirt = 10.0",
                "libvirt must be one of 9.0, 11.3, not \"10.0\"",
            ),
            ("libvirt = ", "libvirt must be one of"),
            ("libvirt = 11", "libvirt must be one of"),
            (
                "escape_paths = true\nlibvirt = 11.3",
                "`libvirt` must come before any switch",
            ),
            ("libvirt = 9.0\nlibvirt = 9.0", "set twice"),
        ] {
            let e = parse(text, "c").unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn libvirt_11_3_differs_from_9_0_only_in_its_switches() {
        let (a, b) = (
            Settings::libvirt_compatible(),
            Settings::libvirt_compatible_with(crate::LibvirtVersion::V11_3),
        );
        let mut differ: Vec<&str> = KEYS
            .iter()
            .copied()
            .filter(|k| {
                let (mut x, mut y) = (a.clone(), b.clone());
                *switch(&mut x, k).unwrap() != *switch(&mut y, k).unwrap()
            })
            .collect();
        differ.sort_unstable();
        let mut want = [
            "exact_hostdev_kinds",
            "sgx_epc",
            "pstore",
            "os_shim",
            "firmware_dirs",
            "virtio_pmem",
            "include_if_exists",
            "writable_loader",
            "translated_volumes",
            "parser_11_3",
            "vhostuser_socket_required",
        ];
        want.sort_unstable();
        assert_eq!(differ, want);
    }
}
