//! Profile names and the domain-name rules.

use std::fmt;

use crate::domain::DomainUuid;
use crate::Settings;

/// The prefix of every per-VM profile.
pub const PROFILE_PREFIX: &str = "libvirt-";

/// `libvirt-<uuid>`: the per-VM profile name, and the policy file names.
/// Only built from a parsed UUID, so it is always `libvirt-` followed by 36
/// characters of `[0-9a-f-]`: safe unquoted in policy, in attr files and as
/// a file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProfileName(String);

impl ProfileName {
    pub fn for_uuid(uuid: &DomainUuid) -> Self {
        ProfileName(format!("{PROFILE_PREFIX}{uuid}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Characters libvirt refuses in a domain name, because the name goes into
/// glob rules (log, pid, migration paths) unescaped.
pub const LIBVIRT_NAME_FORBIDDEN: &[char] = &['/', '[', ']', '{', '}', '?', '^', ',', '"', '*'];

/// Why a domain name cannot be used in policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the domain name is empty")]
    Empty,
    #[error(
        "domain name {name:?} contains {}{ch:?}, which cannot be used in AppArmor policy",
        if ch.is_control() { "the control character " } else { "" }
    )]
    Forbidden { name: String, ch: char },
}

/// Applies the domain-name rules. libvirt refuses every glob and quoting
/// character. With escaping on, only what escaping cannot fix is refused:
/// `/` (it would change directories inside path rules) and control
/// characters.
pub fn check_domain_name(name: &str, settings: &Settings) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    let bad = |c: char| {
        if settings.escaped_names && settings.escape_paths {
            c == '/' || c.is_control()
        } else {
            LIBVIRT_NAME_FORBIDDEN.contains(&c)
        }
    };
    match name.chars().find(|&c| bad(c)) {
        Some(ch) => Err(NameError::Forbidden {
            name: name.to_owned(),
            ch,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_name_is_prefix_and_canonical_uuid() {
        let uuid = DomainUuid::parse("00000000 0000 0000 0000 0123456789AB").unwrap();
        assert_eq!(
            ProfileName::for_uuid(&uuid).as_str(),
            "libvirt-00000000-0000-0000-0000-0123456789ab"
        );
    }

    #[test]
    fn libvirt_names() {
        let s = Settings::libvirt_compatible();
        assert!(check_domain_name("vm 1@x", &s).is_ok());
        for bad in ["a/b", "[x", "a*", "a,b", "q\"", "{x}", "a?", "^"] {
            assert!(check_domain_name(bad, &s).is_err(), "{bad}");
        }
        assert_eq!(check_domain_name("", &s), Err(NameError::Empty));
    }

    #[test]
    fn escaped_names() {
        let s = Settings::safe();
        assert!(check_domain_name("[web]*{1,2}", &s).is_ok());
        assert!(check_domain_name("a/b", &s).is_err());
        assert_eq!(
            check_domain_name("a\nb", &s).unwrap_err().to_string(),
            "domain name \"a\\nb\" contains the control character '\\n', which cannot be used in AppArmor policy"
        );
    }
}
