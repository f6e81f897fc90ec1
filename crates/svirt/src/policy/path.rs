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

/// Where PCI devices live in sysfs (the first override prefix).
pub const PCI_SYSFS_PREFIX: &str = "/sys/devices/pci";

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
    "/usr/lib/u-boot/",
    "/usr/lib/riscv64-linux-gnu/opensbi",
];

/// Firmware directories libvirt allows read-only after 9.0 (11.3 has them
/// all), used with [`crate::Settings::firmware_dirs`]. libvirt 9.0 refuses
/// every one of them: they are below the restricted `/usr/share/`.
/// `/usr/share/qemu/` is where Debian 13's firmware lives (and SUSE's).
pub const NEWER_FIRMWARE_PREFIXES: &[&str] = &[
    "/usr/share/edk2-ovmf/",
    "/usr/share/qemu-efi-loongarch64/",
    "/usr/share/qemu-efi-riscv64/",
    "/usr/share/qemu/",
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
/// the grant lacks write access; `newer_firmware` adds
/// [`NEWER_FIRMWARE_PREFIXES`] to the read-only-allowed list.
pub fn check_prefixes(
    path: &str,
    read_only: bool,
    how: PrefixMatch,
    newer_firmware: bool,
) -> PathVerdict {
    let restricted: &[&[&str]] = match how {
        PrefixMatch::String => &[RESTRICTED_PREFIXES],
        PrefixMatch::Component => &[RESTRICTED_PREFIXES, COMPONENT_RESTRICTED_EXTRA],
    };
    let mut read_only_ok: Vec<&[&str]> = vec![READ_ONLY_PREFIXES];
    if how == PrefixMatch::Component {
        read_only_ok.push(COMPONENT_READ_ONLY_EXTRA);
    }
    if newer_firmware {
        read_only_ok.push(NEWER_FIRMWARE_PREFIXES);
    }
    let read_only_ok = read_only_ok.as_slice();
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

/// Locations no VM may have as a tree (a 9p share, a smartcard database,
/// a `-F <dir>/{,**}` request): a tree that is one of these, contains one,
/// or lies inside one hands the VM the host or other VMs. Matched per
/// component, on top of [`RESTRICTED_PREFIXES`] and
/// [`READ_ONLY_PREFIXES`]. The per-VM state directories are added from
/// the [`crate::settings::Layout`] by [`no_tree_locations`].
pub const NO_TREE_LOCATIONS: &[&str] = &[
    "/",
    "/boot",
    "/dev",
    "/etc",
    "/etc/apparmor.d",
    "/etc/libvirt",
    "/proc",
    "/root",
    "/run",
    "/sys",
    "/usr",
    "/var/run",
    "/var/lib/apparmor",
];

/// libvirt's own state below `LOCALSTATEDIR` and `RUNSTATEDIR`: other VMs'
/// disks, NVRAM, TPM state, logs and sockets.
const NO_TREE_STATE: &[(StateRoot, &str)] = &[
    (StateRoot::Local, "/lib/libvirt"),
    (StateRoot::Local, "/log/libvirt"),
    (StateRoot::Local, "/log/swtpm"),
    (StateRoot::Local, "/cache/libvirt"),
    (StateRoot::Run, "/libvirt"),
];

#[derive(Clone, Copy)]
enum StateRoot {
    Local,
    Run,
}

/// Every location a tree may not be, contain or lie inside.
pub fn no_tree_locations(layout: &crate::settings::Layout) -> Vec<String> {
    let mut out: Vec<String> = NO_TREE_LOCATIONS
        .iter()
        .chain(RESTRICTED_PREFIXES)
        .chain(READ_ONLY_PREFIXES)
        .chain(NEWER_FIRMWARE_PREFIXES)
        .chain(COMPONENT_RESTRICTED_EXTRA)
        .map(|p| p.trim_end_matches('/').to_owned())
        .map(|p| if p.is_empty() { "/".to_owned() } else { p })
        .collect();
    for (root, rest) in NO_TREE_STATE {
        let base = match root {
            StateRoot::Local => &layout.localstatedir,
            StateRoot::Run => &layout.runstatedir,
        };
        out.push(format!("{}{rest}", base.trim_end_matches('/')));
    }
    out.sort();
    out.dedup();
    out
}

/// Read-only directory listings allowed inside a no-tree location:
/// libvirt's default NSS database for host smartcards.
pub const READ_ONLY_ENTRIES: &[&str] = &["/etc/pki/nssdb"];

/// Why a tree was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeRefusal {
    /// The directory is this location.
    Is(String),
    /// The directory contains this location.
    Contains(String),
    /// The directory lies inside this location.
    Inside(String),
}

impl std::fmt::Display for TreeRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TreeRefusal::Is(l) => write!(f, "it is {l}"),
            TreeRefusal::Contains(l) => write!(f, "it contains {l}"),
            TreeRefusal::Inside(l) => write!(f, "it lies inside {l}"),
        }
    }
}

/// Whether `path` is `dir` or lies below it, per component.
pub fn is_within(path: &str, dir: &str) -> bool {
    if dir == "/" {
        return path.starts_with('/');
    }
    match path.strip_prefix(dir) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// Whether `dir` lies where libvirt keeps per-VM directories: below one of
/// libvirt's own state directories (`…/libvirt` in `locations`), or on a
/// hugepage mount (`/dev/hugepages*`, `/run/hugepages*`).
fn in_per_vm_area(dir: &str, locations: &[String]) -> bool {
    let hugepages = ["/dev/", "/run/"].iter().any(|root| {
        dir.strip_prefix(root)
            .is_some_and(|rest| rest.starts_with("hugepages"))
    });
    hugepages
        || locations
            .iter()
            .any(|l| l.ends_with("/libvirt") && dir != l && is_within(dir, l))
}

/// Checks a canonical directory (no trailing slash, `/` for the root)
/// that would be granted as a tree. `own_names` are the last components
/// that make a directory this VM's own (libvirt's per-run directories are
/// named `domain-<id>-<name>` or `<id>-<name>`): such a directory may lie
/// inside libvirt's state directories or on a hugepage mount, but never be
/// or contain a no-tree location.
pub fn check_tree(
    dir: &str,
    locations: &[String],
    own_names: &[String],
) -> Result<(), TreeRefusal> {
    for l in locations {
        if dir == l {
            return Err(TreeRefusal::Is(l.clone()));
        }
    }
    for l in locations {
        if is_within(l, dir) {
            return Err(TreeRefusal::Contains(l.clone()));
        }
    }
    let last = dir.rsplit('/').next().unwrap_or("");
    if own_names.iter().any(|n| n == last) && in_per_vm_area(dir, locations) {
        return Ok(());
    }
    for l in locations.iter().filter(|l| *l != "/") {
        if is_within(dir, l) {
            return Err(TreeRefusal::Inside(l.clone()));
        }
    }
    Ok(())
}

/// Whether a canonical path is a file that PCI device assignment needs,
/// in a PCI device's own sysfs directory:
/// `/sys/devices/pci<dom>:<bus>/<addr>/…/<addr>/<file>`, with `<file>` one
/// of `config`, `resource*`, `rom`, `reset`, `vendor`, `device` (the set
/// [`crate::host::Host::pci_device_files`] yields). Anything else there
/// (`remove`, `rescan`, `driver_override`, a bridge's files through `..`)
/// is not.
pub fn is_pci_assignment_file(path: &str) -> bool {
    let Some(rest) = path.strip_prefix(PCI_SYSFS_PREFIX) else {
        return false;
    };
    let mut parts = rest.split('/');
    let Some(root) = parts.next() else {
        return false;
    };
    if !is_pci_root(root) {
        return false;
    }
    let comps: Vec<&str> = parts.collect();
    let Some((file, devices)) = comps.split_last() else {
        return false;
    };
    !devices.is_empty() && devices.iter().all(|d| is_pci_address(d)) && is_pci_assignment_name(file)
}

/// The files in a PCI device's sysfs directory that device assignment
/// needs: `config`, `resource`, `resourceN`, `resourceN_wc`, `rom`,
/// `reset`, `vendor`, `device` (the set libvirt's PCI file iterator
/// yields).
pub fn is_pci_assignment_name(name: &str) -> bool {
    matches!(name, "config" | "rom" | "reset" | "vendor" | "device") || is_resource_file(name)
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `<domain>:<bus>` after the `pci` of a root complex directory.
fn is_pci_root(s: &str) -> bool {
    matches!(s.split_once(':'), Some((d, b)) if is_hex(d, 4) && is_hex(b, 2))
}

/// `DDDD:BB:SS.F`
fn is_pci_address(s: &str) -> bool {
    let Some((dbs, f)) = s.split_once('.') else {
        return false;
    };
    let mut it = dbs.split(':');
    matches!(
        (it.next(), it.next(), it.next(), it.next()),
        (Some(d), Some(b), Some(sl), None) if is_hex(d, 4) && is_hex(b, 2) && is_hex(sl, 2)
    ) && f.len() == 1
        && f.bytes().all(|c| (b'0'..=b'7').contains(&c))
}

/// `resource`, `resourceN`, `resourceN_wc`.
fn is_resource_file(s: &str) -> bool {
    let Some(n) = s.strip_prefix("resource") else {
        return false;
    };
    let n = n.strip_suffix("_wc").unwrap_or(n);
    n.is_empty() || (n.len() <= 2 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Checks that `name` is one path component: not empty, not `.` or `..`,
/// no `/`. Names from the domain that become part of a path (an ivshmem
/// name) must never leave their directory.
pub fn check_component(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("it is empty")
    } else if name == "." || name == ".." {
        Err("it names a directory, not a file in it")
    } else if name.contains('/') {
        Err("it contains '/'")
    } else {
        Ok(())
    }
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

/// Collapses `//`, `.` and `..` components lexically. [`canonicalize`]
/// resolves the part of a path that exists; the rest, which does not exist
/// yet and so holds no symlink, is appended verbatim, and a `..` there
/// (`/nonexistent/../etc/shadow`) must not hide where the path leads from
/// the per-component checks. A trailing `/` is kept.
pub fn normalize_lexically(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut out = String::with_capacity(path.len());
    for p in &parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() || (path.ends_with('/') && !out.ends_with('/')) {
        out.push('/');
    }
    out
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
        assert_eq!(
            check_prefixes("/library/x.img", false, s, false),
            Restricted
        );
        assert_eq!(check_prefixes("/lib64/x", false, s, false), Restricted);
        assert_eq!(check_prefixes("/etc/shadow", true, s, false), Restricted);
        assert_eq!(check_prefixes("/boot/vmlinuz", true, s, false), Allowed);
        assert_eq!(check_prefixes("/boot/vmlinuz", false, s, false), Restricted);
        assert_eq!(check_prefixes("/initrdX", true, s, false), Allowed);
        assert_eq!(check_prefixes("/initrdX", false, s, false), Restricted);
        assert_eq!(
            check_prefixes("/usr/share/OVMF/OVMF_CODE.fd", true, s, false),
            Allowed
        );
        assert_eq!(
            check_prefixes("/usr/share/doc/x", true, s, false),
            Restricted
        );
        assert_eq!(
            check_prefixes("/sys/devices/pci0000:00/config", false, s, false),
            Allowed
        );
        assert_eq!(check_prefixes("/sys/class/x", false, s, false), Restricted);
        assert_eq!(
            check_prefixes("/var/lib/libvirt/images/a.img", false, s, false),
            Allowed
        );
    }

    #[test]
    fn component_prefixes_do_not_block_lookalikes() {
        use PathVerdict::*;
        let c = PrefixMatch::Component;
        assert_eq!(check_prefixes("/library/x.img", false, c, false), Allowed);
        assert_eq!(check_prefixes("/lib/x", false, c, false), Restricted);
        assert_eq!(check_prefixes("/lib", false, c, false), Restricted);
        assert_eq!(check_prefixes("/lib64/x", false, c, false), Restricted);
        assert_eq!(
            check_prefixes("/usr/libexec/x", false, c, false),
            Restricted
        );
        assert_eq!(check_prefixes("/usr/library/x", false, c, false), Allowed);
        assert_eq!(check_prefixes("/etcetera/x", false, c, false), Allowed);
        assert_eq!(check_prefixes("/etc", true, c, false), Restricted);
        assert_eq!(check_prefixes("/initrdX", true, c, false), Allowed);
        assert_eq!(check_prefixes("/initrdX", false, c, false), Allowed);
        assert_eq!(check_prefixes("/initrd.img", false, c, false), Restricted);
        assert_eq!(check_prefixes("/initrd.img.old", true, c, false), Allowed);
        assert_eq!(check_prefixes("/boot", false, c, false), Restricted);
        assert_eq!(
            check_prefixes("/usr/share/qemu/bios.bin", true, c, true),
            Allowed
        );
        assert_eq!(
            check_prefixes("/usr/share/qemu/bios.bin", false, c, false),
            Restricted
        );
        assert_eq!(
            check_prefixes(
                "/sys/devices/pci0000:00/0000:00:1f.2/config",
                false,
                c,
                false
            ),
            Allowed
        );
        assert_eq!(
            check_prefixes("/sys/devices/platform/x", false, c, false),
            Restricted
        );
    }

    #[test]
    fn newer_firmware_directories_only_with_the_switch() {
        use PathVerdict::*;
        for how in [PrefixMatch::String, PrefixMatch::Component] {
            for dir in NEWER_FIRMWARE_PREFIXES {
                let file = format!("{dir}CODE.fd");
                // libvirt 9.0 refuses them (they are below /usr/share/).
                assert_eq!(check_prefixes(&file, true, how, false), Restricted);
                assert_eq!(check_prefixes(&file, true, how, true), Allowed);
                assert_eq!(check_prefixes(&file, false, how, true), Restricted);
            }
            // The older directories stay allowed either way.
            assert_eq!(
                check_prefixes("/usr/share/OVMF/OVMF_CODE.fd", true, how, false),
                Allowed
            );
        }
        // libvirt 9.0 (Debian 12) refuses /usr/share/qemu/ read-only.
        assert_eq!(
            check_prefixes("/usr/share/qemu/bios.bin", true, PrefixMatch::String, false),
            Restricted
        );
    }

    fn locations() -> Vec<String> {
        no_tree_locations(&crate::settings::Layout::default())
    }

    #[test]
    fn trees_that_hand_over_the_host_are_refused() {
        let l = locations();
        let own = vec!["domain-1-vm".to_owned(), "1-vm".to_owned()];
        let check = |d: &str| check_tree(d, &l, &own);
        assert_eq!(check("/"), Err(TreeRefusal::Is("/".into())));
        assert_eq!(check("/dev"), Err(TreeRefusal::Is("/dev".into())));
        assert_eq!(
            check("/var"),
            Err(TreeRefusal::Contains("/var/cache/libvirt".into()))
        );
        assert_eq!(
            check("/usr/local"),
            Err(TreeRefusal::Contains("/usr/local/bin".into()))
        );
        assert_eq!(
            check("/run/user/1000/x"),
            Err(TreeRefusal::Inside("/run".into()))
        );
        assert_eq!(
            check("/var/lib/libvirt/images"),
            Err(TreeRefusal::Inside("/var/lib/libvirt".into()))
        );
        assert_eq!(check("/dev/shm"), Err(TreeRefusal::Inside("/dev".into())));
        assert!(check("/var/lib/libvirt/qemu").is_err());
        assert!(check("/root/share").is_err());
        assert!(check("/etc/pki/nssdb").is_err());
        // Ordinary shares, and this VM's own per-run directories.
        assert_eq!(check("/srv/share"), Ok(()));
        assert_eq!(check("/home/user/share"), Ok(()));
        assert_eq!(check("/var/lib/libvirt/qemu/domain-1-vm"), Ok(()));
        assert_eq!(check("/dev/hugepages/libvirt/qemu/1-vm"), Ok(()));
        assert!(check("/var/lib/libvirt/qemu/domain-2-other").is_err());
        // Named like the VM, but outside libvirt's areas.
        assert!(check("/root/domain-1-vm").is_err());
        assert!(check("/dev/shm/1-vm").is_err());
        assert_eq!(check("/run/hugepages/kvm/libvirt/qemu/1-vm"), Ok(()));
        assert_eq!(check("/run/libvirt/qemu/1-vm"), Ok(()));
        // A directory named like the VM still may not be or hold a location.
        assert!(check_tree("/1-vm", &["/1-vm/x".to_owned()], &own).is_err());
    }

    #[test]
    fn pci_assignment_files_only() {
        let dev = "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0";
        for f in [
            "config",
            "resource",
            "resource0",
            "resource2_wc",
            "rom",
            "reset",
        ] {
            assert!(is_pci_assignment_file(&format!("{dev}/{f}")), "{f}");
        }
        for f in [
            "remove",
            "rescan",
            "driver_override",
            "power/control",
            "resourcex",
        ] {
            assert!(!is_pci_assignment_file(&format!("{dev}/{f}")), "{f}");
        }
        assert!(!is_pci_assignment_file("/sys/devices/pci0000:00/config"));
        assert!(!is_pci_assignment_file(
            "/sys/devices/pci0000:00/0000:00:01.0/../remove"
        ));
        assert!(!is_pci_assignment_file("/sys/devices/platform/config"));
        assert!(!is_pci_assignment_file(
            "/sys/devices/pcifoo/0000:00:01.0/config"
        ));
    }

    #[test]
    fn lexical_normalization() {
        assert_eq!(
            normalize_lexically("/nonexistent/../etc/shadow"),
            "/etc/shadow"
        );
        assert_eq!(normalize_lexically("/a//b/./c/"), "/a/b/c/");
        assert_eq!(normalize_lexically("/../.."), "/");
        assert_eq!(normalize_lexically("/srv/share"), "/srv/share");
    }

    #[test]
    fn components() {
        assert!(check_component("plain0").is_ok());
        assert!(check_component("a..b").is_ok());
        for bad in ["", ".", "..", "../sda", "a/b", "/abs"] {
            assert!(check_component(bad).is_err(), "{bad}");
        }
    }
}
