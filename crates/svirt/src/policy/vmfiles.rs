//! The files a VM owns in the per-VM policy directory
//! (`/etc/apparmor.d/libvirt`), by name. The helper writes the profile,
//! `.files`, `.lock` and temporaries; the operator's `svirt allow` and
//! `svirt complain` write `.override` and `.complain`. Cleanup and audits
//! recognise a VM's files only through [`classify`].

use super::name::{ProfileName, PROFILE_PREFIX};
use crate::domain::DomainUuid;

/// Suffix of the `.files` include the helper regenerates.
pub const FILES_SUFFIX: &str = ".files";
/// Suffix of the helper's per-VM lock file.
pub const LOCK_SUFFIX: &str = ".lock";
/// Suffix of the operator's per-VM rules (`svirt allow`), which the
/// profile includes when present and regeneration never touches.
pub const OVERRIDE_SUFFIX: &str = ".override";
/// Suffix of the VM's compiled policy, kept for its next start.
pub const CACHE_SUFFIX: &str = ".cache";
/// Suffix of the marker that keeps a VM's profile in complain mode.
pub const COMPLAIN_SUFFIX: &str = ".complain";
/// What a temporary file carries between its target's name and
/// `<pid>-<n>`; it is renamed over the target once complete.
pub const TEMP_INFIX: &str = ".tmp-";

/// What a file in the policy directory is to its VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VmFileKind {
    Profile,
    Files,
    Lock,
    Override,
    Complain,
    Cache,
    /// A temporary a helper or `svirt` left behind if it was killed
    /// before renaming it into place.
    Temporary,
}

impl VmFileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VmFileKind::Profile => "profile",
            VmFileKind::Files => "files",
            VmFileKind::Lock => "lock",
            VmFileKind::Override => "override",
            VmFileKind::Complain => "complain",
            VmFileKind::Cache => "cache",
            VmFileKind::Temporary => "temporary",
        }
    }
}

/// The file name of one of a VM's files (not for temporaries).
pub fn file_name(name: &ProfileName, kind: VmFileKind) -> Option<String> {
    let suffix = match kind {
        VmFileKind::Profile => "",
        VmFileKind::Files => FILES_SUFFIX,
        VmFileKind::Lock => LOCK_SUFFIX,
        VmFileKind::Override => OVERRIDE_SUFFIX,
        VmFileKind::Complain => COMPLAIN_SUFFIX,
        VmFileKind::Cache => CACHE_SUFFIX,
        VmFileKind::Temporary => return None,
    };
    Some(format!("{name}{suffix}"))
}

/// Which VM a policy-directory file name belongs to, and what it is.
/// Only the canonical lowercase `libvirt-<uuid>` form is recognised (the
/// only form svirt and libvirt write); anything else, templates included,
/// is not a VM's file.
pub fn classify(file_name: &str) -> Option<(DomainUuid, VmFileKind)> {
    let rest = file_name.strip_prefix(PROFILE_PREFIX)?;
    let (uuid_text, tail) = (rest.get(..36)?, &rest[36..]);
    let uuid = DomainUuid::parse(uuid_text).ok()?;
    if uuid.to_string() != uuid_text {
        return None;
    }
    let kind = match tail {
        "" => VmFileKind::Profile,
        FILES_SUFFIX => VmFileKind::Files,
        LOCK_SUFFIX => VmFileKind::Lock,
        OVERRIDE_SUFFIX => VmFileKind::Override,
        COMPLAIN_SUFFIX => VmFileKind::Complain,
        CACHE_SUFFIX => VmFileKind::Cache,
        _ => {
            let base_end = tail.find(TEMP_INFIX)?;
            let base = &tail[..base_end];
            if !matches!(base, "" | FILES_SUFFIX | OVERRIDE_SUFFIX | CACHE_SUFFIX) {
                return None;
            }
            let counters = &tail[base_end + TEMP_INFIX.len()..];
            let (pid, n) = counters.split_once('-')?;
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            if !digits(pid) || !digits(n) {
                return None;
            }
            VmFileKind::Temporary
        }
    };
    Some((uuid, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "0a1b2c3d-0000-4000-8000-00000000000f";

    #[test]
    fn every_kind_round_trips() {
        let uuid = DomainUuid::parse(U).unwrap();
        let name = ProfileName::for_uuid(&uuid);
        for kind in [
            VmFileKind::Profile,
            VmFileKind::Files,
            VmFileKind::Lock,
            VmFileKind::Override,
            VmFileKind::Complain,
            VmFileKind::Cache,
        ] {
            let file = file_name(&name, kind).unwrap();
            assert_eq!(classify(&file), Some((uuid, kind)), "{file}");
        }
        for temp in [
            ".tmp-12-0",
            ".files.tmp-1-3",
            ".override.tmp-99-1",
            ".cache.tmp-5-0",
        ] {
            let file = format!("libvirt-{U}{temp}");
            assert_eq!(classify(&file), Some((uuid, VmFileKind::Temporary)));
        }
    }

    #[test]
    fn other_names_are_not_a_vms() {
        for name in [
            "TEMPLATE.qemu".to_owned(),
            format!("libvirt-{}", U.to_uppercase()),
            format!("libvirt-{U}.bak"),
            format!("libvirt-{U}.lock.tmp-1-2"),
            format!("libvirt-{U}.tmp-1"),
            format!("libvirt-{U}.tmp-x-1"),
            format!("libvirt-{}", &U[..35]),
            "libvirt-".to_owned(),
            format!("svirt-{U}"),
        ] {
            assert_eq!(classify(&name), None, "{name}");
        }
    }
}
