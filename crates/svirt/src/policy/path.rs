//! Path policy: canonicalising paths from the domain, and the restricted,
//! read-only and override prefixes that keep a VM away from system files.
//!
//! The prefix lists are defence in depth: if the VM manager is subverted and
//! asks for `/etc/shadow` as a disk, the helper refuses to write that rule.

use std::path::Path;

use crate::host::Host;

/// Always allowed, read-write too: PCI sysfs files of assigned devices,
/// vhost-scsi configfs, virt-sandbox service configuration.
pub const OVERRIDE_PREFIXES: &[&str] = &[
    "/sys/devices/pci",
    "/sys/kernel/config/target/vhost",
    "/etc/libvirt-sandbox/services/",
];

/// Allowed read-only (kernels, initrds, firmware), refused read-write.
pub const READ_ONLY_PREFIXES: &[&str] = &[
    "/boot/",
    "/vmlinuz",
    "/initrd",
    "/initrd.img",
    "/usr/share/edk2/",
    "/usr/share/OVMF/",
    "/usr/share/ovmf/",
    "/usr/share/AAVMF/",
    "/usr/share/qemu-efi/",
    "/usr/share/qemu-efi-aarch64/",
    "/usr/share/qemu/",
    "/usr/lib/u-boot/",
    "/usr/lib/riscv64-linux-gnu/opensbi",
];

/// Never granted.
pub const RESTRICTED_PREFIXES: &[&str] = &[
    "/bin/",
    "/etc/",
    "/lib",
    "/lost+found/",
    "/proc/",
    "/sbin/",
    "/selinux/",
    "/sys/",
    "/usr/bin/",
    "/usr/lib",
    "/usr/sbin/",
    "/usr/share/",
    "/usr/local/bin/",
    "/usr/local/etc/",
    "/usr/local/lib",
    "/usr/local/sbin/",
];

/// Extra entries for per-component matching. libvirt's plain prefixes
/// `/lib`, `/usr/lib` and `/usr/local/lib` also catch `/lib64`,
/// `/usr/libexec` and friends; matching whole components must name those
/// directories to stay as strict. Likewise `/vmlinuz` and `/initrd` catch
/// the `.old` links.
const COMPONENT_RESTRICTED_EXTRA: &[&str] = &[
    "/lib32",
    "/lib64",
    "/libx32",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libx32",
    "/usr/libexec",
    "/usr/local/lib32",
    "/usr/local/lib64",
    "/usr/local/libexec",
];
const COMPONENT_READ_ONLY_EXTRA: &[&str] = &["/vmlinuz.old", "/initrd.img.old"];

/// How prefixes are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixMatch {
    /// Plain string prefix, as libvirt does: `/lib` matches `/library`.
    String,
    /// Whole path components: `/lib` matches `/lib` and `/lib/x` only.
    Component,
}

/// The verdict of the prefix check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathVerdict {
    Allowed,
    /// Refused: the path names a system location.
    Restricted,
}

fn starts_with(path: &str, prefix: &str, how: PrefixMatch) -> bool {
    match how {
        PrefixMatch::String => path.starts_with(prefix),
        PrefixMatch::Component => {
            let prefix = prefix.trim_end_matches('/');
            match path.strip_prefix(prefix) {
                Some(rest) => rest.is_empty() || rest.starts_with('/'),
                None => false,
            }
        }
    }
}

fn any_prefix(path: &str, lists: &[&[&str]], how: PrefixMatch) -> bool {
    lists
        .iter()
        .flat_map(|l| l.iter())
        .any(|p| starts_with(path, p, how))
}

/// Checks a canonical path against the prefix lists. `read_only` is whether
/// the grant lacks write access.
pub fn check_prefixes(path: &str, read_only: bool, how: PrefixMatch) -> PathVerdict {
    let (restricted, read_only_ok): (&[&[&str]], &[&[&str]]) = match how {
        PrefixMatch::String => (&[RESTRICTED_PREFIXES], &[READ_ONLY_PREFIXES]),
        PrefixMatch::Component => (
            &[RESTRICTED_PREFIXES, COMPONENT_RESTRICTED_EXTRA],
            &[READ_ONLY_PREFIXES, COMPONENT_READ_ONLY_EXTRA],
        ),
    };
    // Overrides stay plain string prefixes in both modes: PCI sysfs paths
    // are `/sys/devices/pci<domain>:<bus>/…`, so the component would never
    // equal `pci`. They only ever allow.
    if any_prefix(path, &[OVERRIDE_PREFIXES], PrefixMatch::String) {
        return PathVerdict::Allowed;
    }
    if read_only && any_prefix(path, read_only_ok, how) {
        return PathVerdict::Allowed;
    }
    if any_prefix(path, restricted, how) || any_prefix(path, read_only_ok, how) {
        return PathVerdict::Restricted;
    }
    PathVerdict::Allowed
}

/// glib's `g_path_get_dirname` for absolute paths: everything before the
/// last `/`, with the separators before it dropped; `/` for top-level names.
fn dirname(path: &str) -> &str {
    match path.rfind('/') {
        None => ".",
        Some(idx) => {
            let head = path[..idx].trim_end_matches('/');
            if head.is_empty() {
                "/"
            } else {
                head
            }
        }
    }
}

/// Why a path could not be canonicalised.
#[derive(Debug, thiserror::Error)]
#[error("could not resolve {prefix}: {source}")]
pub struct CanonicalError {
    pub prefix: String,
    #[source]
    pub source: std::io::Error,
}

/// Canonicalises an absolute path the way libvirt's helper does, so that
/// files QEMU will create later are still allowed: the longest existing
/// prefix is resolved with realpath and the rest is appended verbatim. If
/// nothing but `/` exists, the path is returned unchanged.
pub fn canonicalize(path: &str, host: &dyn Host) -> Result<String, CanonicalError> {
    let mut existing = path;
    while !host.exists(Path::new(existing)) {
        let parent = dirname(existing);
        if parent == existing {
            break;
        }
        existing = parent;
    }
    if existing.len() <= 1 {
        return Ok(path.to_owned());
    }
    let real = host
        .realpath(Path::new(existing))
        .map_err(|source| CanonicalError {
            prefix: existing.to_owned(),
            source,
        })?;
    let mut out = real.to_string_lossy().into_owned();
    out.push_str(&path[existing.len()..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirname_matches_glib() {
        assert_eq!(dirname("/a/b"), "/a");
        assert_eq!(dirname("/a//b"), "/a");
        assert_eq!(dirname("/a/b/"), "/a/b");
        assert_eq!(dirname("/a"), "/");
        assert_eq!(dirname("/"), "/");
    }

    #[test]
    fn string_prefixes_are_libvirts() {
        use PathVerdict::*;
        let s = PrefixMatch::String;
        assert_eq!(check_prefixes("/library/x.img", false, s), Restricted);
        assert_eq!(check_prefixes("/lib64/x", false, s), Restricted);
        assert_eq!(check_prefixes("/etc/shadow", true, s), Restricted);
        assert_eq!(check_prefixes("/boot/vmlinuz", true, s), Allowed);
        assert_eq!(check_prefixes("/boot/vmlinuz", false, s), Restricted);
        assert_eq!(check_prefixes("/initrdX", true, s), Allowed);
        assert_eq!(check_prefixes("/initrdX", false, s), Restricted);
        assert_eq!(
            check_prefixes("/usr/share/OVMF/OVMF_CODE.fd", true, s),
            Allowed
        );
        assert_eq!(check_prefixes("/usr/share/doc/x", true, s), Restricted);
        assert_eq!(
            check_prefixes("/sys/devices/pci0000:00/config", false, s),
            Allowed
        );
        assert_eq!(check_prefixes("/sys/class/x", false, s), Restricted);
        assert_eq!(
            check_prefixes("/var/lib/libvirt/images/a.img", false, s),
            Allowed
        );
    }

    #[test]
    fn component_prefixes_do_not_block_lookalikes() {
        use PathVerdict::*;
        let c = PrefixMatch::Component;
        assert_eq!(check_prefixes("/library/x.img", false, c), Allowed);
        assert_eq!(check_prefixes("/lib/x", false, c), Restricted);
        assert_eq!(check_prefixes("/lib", false, c), Restricted);
        assert_eq!(check_prefixes("/lib64/x", false, c), Restricted);
        assert_eq!(check_prefixes("/usr/libexec/x", false, c), Restricted);
        assert_eq!(check_prefixes("/usr/library/x", false, c), Allowed);
        assert_eq!(check_prefixes("/etcetera/x", false, c), Allowed);
        assert_eq!(check_prefixes("/etc", true, c), Restricted);
        assert_eq!(check_prefixes("/initrdX", true, c), Allowed);
        assert_eq!(check_prefixes("/initrdX", false, c), Allowed);
        assert_eq!(check_prefixes("/initrd.img", false, c), Restricted);
        assert_eq!(check_prefixes("/initrd.img.old", true, c), Allowed);
        assert_eq!(check_prefixes("/boot", false, c), Restricted);
        assert_eq!(check_prefixes("/usr/share/qemu/bios.bin", true, c), Allowed);
        assert_eq!(
            check_prefixes("/usr/share/qemu/bios.bin", false, c),
            Restricted
        );
        assert_eq!(
            check_prefixes("/sys/devices/pci0000:00/0000:00:1f.2/config", false, c),
            Allowed
        );
        assert_eq!(
            check_prefixes("/sys/devices/platform/x", false, c),
            Restricted
        );
    }
}
