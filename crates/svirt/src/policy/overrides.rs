//! The operator's per-VM rules: `libvirt-<uuid>.override`, written by
//! `svirt allow` and included by the VM's profile when present
//! ([`super::render::override_include_line`]). The helper never writes
//! it, so the rules last across regenerations.
//!
//! Each entry is a marker line naming what was asked, followed by the
//! rule lines the checked constructor made for it:
//!
//! ```text
//! #svirt-allow rw /srv/shared/data.img
//!   "/srv/shared/data.img" rwk,
//! ```
//!
//! Lines outside entries (an operator's hand edits) are kept as written.

use super::grant::{Access, Grant, Origin};
use super::name::ProfileName;
use super::rules::{rules_for, Diagnostic, PolicyFailure, VmContext};
use crate::host::Host;
use crate::Settings;

/// Starts an entry's marker line.
pub const ENTRY_MARK: &str = "#svirt-allow ";
/// Largest override file read or written.
pub const MAX_OVERRIDE_BYTES: usize = 1024 * 1024;
/// Most entries in one VM's override file.
pub const MAX_ENTRIES: usize = 1000;

/// One `svirt allow`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The path as the operator gave it.
    pub path: String,
    pub write: bool,
    /// The path the rule is for, after canonicalisation.
    pub canonical: String,
    /// The rule lines, each indented and newline-terminated.
    pub rules: String,
}

impl Entry {
    pub fn access(&self) -> &'static str {
        if self.write {
            "rw"
        } else {
            "r"
        }
    }
}

/// A parsed override file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub entries: Vec<Entry>,
    /// Lines that belong to no entry and are not the file's header.
    pub other_lines: Vec<String>,
}

/// Why an override cannot be added or read.
#[derive(Debug, thiserror::Error)]
pub enum OverrideError {
    #[error("{0}")]
    Refused(String),
    #[error("the override file is larger than {MAX_OVERRIDE_BYTES} bytes")]
    TooLarge,
    #[error("the override file has more than {MAX_ENTRIES} entries")]
    TooMany,
    #[error(
        "line {line}: a `{ENTRY_MARK}` line must be `{ENTRY_MARK}r PATH` or `{ENTRY_MARK}rw PATH`"
    )]
    BadMarker { line: usize },
}

fn header(name: &ProfileName, vm: &str) -> String {
    format!(
        "# The operator's rules for VM {vm} ({name}), written by `svirt allow`.\n\
         # The VM's profile includes this file; the helper never rewrites it.\n\
         # List: svirt allow --domain <xml> --list; remove: --remove PATH.\n"
    )
}

fn is_header_line(line: &str) -> bool {
    line.starts_with("# The operator's rules for VM ")
        || line.starts_with("# The VM's profile includes this file")
        || line.starts_with("# List: svirt allow")
}

impl Overrides {
    /// Reads an override file's text.
    pub fn parse(text: &str) -> Result<Overrides, OverrideError> {
        if text.len() > MAX_OVERRIDE_BYTES {
            return Err(OverrideError::TooLarge);
        }
        let mut out = Overrides::default();
        for (index, line) in text.split_terminator('\n').enumerate() {
            if let Some(rest) = line.strip_prefix(ENTRY_MARK.trim_end()) {
                let (access, path) = rest
                    .strip_prefix(' ')
                    .ok_or(OverrideError::BadMarker { line: index + 1 })?
                    .split_once(' ')
                    .ok_or(OverrideError::BadMarker { line: index + 1 })?;
                let write = match access {
                    "r" => false,
                    "rw" => true,
                    _ => return Err(OverrideError::BadMarker { line: index + 1 }),
                };
                if out.entries.len() == MAX_ENTRIES {
                    return Err(OverrideError::TooMany);
                }
                out.entries.push(Entry {
                    path: path.to_owned(),
                    write,
                    canonical: String::new(),
                    rules: String::new(),
                });
            } else if let Some(entry) = out.entries.last_mut() {
                if entry.canonical.is_empty() {
                    entry.canonical = rule_path(line).unwrap_or_default();
                }
                entry.rules.push_str(line);
                entry.rules.push('\n');
            } else if !is_header_line(line) {
                out.other_lines.push(line.to_owned());
            }
        }
        Ok(out)
    }

    /// The file's text.
    pub fn render(&self, name: &ProfileName, vm: &str) -> String {
        let mut out = header(name, &super::escape::inert(vm));
        for line in &self.other_lines {
            out.push_str(line);
            out.push('\n');
        }
        for e in &self.entries {
            out.push_str(ENTRY_MARK);
            out.push_str(e.access());
            out.push(' ');
            out.push_str(&e.path);
            out.push('\n');
            out.push_str(&e.rules);
        }
        out
    }

    /// Adds `entry`, replacing an entry for the same canonical path.
    pub fn add(&mut self, entry: Entry) -> Result<(), OverrideError> {
        self.entries
            .retain(|e| e.canonical != entry.canonical && e.path != entry.path);
        if self.entries.len() == MAX_ENTRIES {
            return Err(OverrideError::TooMany);
        }
        self.entries.push(entry);
        Ok(())
    }

    /// Removes the entries for `path` (as given or canonical); how many.
    pub fn remove(&mut self, path: &str, canonical: Option<&str>) -> usize {
        let before = self.entries.len();
        self.entries
            .retain(|e| e.path != path && Some(e.canonical.as_str()) != canonical);
        before - self.entries.len()
    }
}

/// The path of a rule line written by the constructor (`  "/x" rwk,`),
/// unescaped, for display and matching.
fn rule_path(line: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix('"')?;
    let end = rest.rfind('"')?;
    Some(super::escape::unescape(&rest[..end]))
}

/// Makes the entry for `path` through the one checked constructor, with
/// svirt's safe settings whatever the helper's mode: a restricted location
/// or a path with control characters is refused, and the path is
/// canonicalised and escaped like every other rule. Read is `rk`, write
/// `rwk`, as for a disk.
pub fn entry_for(
    path: &str,
    write: bool,
    host: &dyn Host,
    vm: &VmContext,
) -> Result<Entry, OverrideError> {
    if !path.starts_with('/') {
        return Err(OverrideError::Refused(format!(
            "{}: not an absolute path",
            super::escape::inert(path)
        )));
    }
    let access = if write { Access::RWK } else { Access::RK };
    let grant = Grant::path(path, access, Origin::Operator).without_write_deny();
    let set = rules_for(&[grant], &Settings::safe(), host, vm).map_err(|f: PolicyFailure| {
        OverrideError::Refused(super::escape::inert(&f.error.to_string()).into_owned())
    })?;
    let refused: Vec<String> = set
        .diagnostics
        .iter()
        .filter_map(|d| match d {
            Diagnostic::Error(t) | Diagnostic::Warning(t) => Some(t.clone()),
            Diagnostic::PathMissing(_) => None,
        })
        .collect();
    let Some(rule) = set.rules.first() else {
        return Err(OverrideError::Refused(format!(
            "{}: no rule can be made: {}",
            super::escape::inert(path),
            super::escape::inert(&refused.join("; "))
        )));
    };
    Ok(Entry {
        path: path.to_owned(),
        write,
        canonical: rule.canonical.clone().unwrap_or_else(|| path.to_owned()),
        rules: set.text(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DomainUuid;
    use crate::testing::FakeHost;

    fn name() -> ProfileName {
        ProfileName::for_uuid(&DomainUuid::parse("00000000-0000-0000-0000-0000000000aa").unwrap())
    }

    #[test]
    fn entries_round_trip_through_the_file() {
        let host = FakeHost::new().with_file("/srv/data");
        let vm = VmContext::default();
        let mut o = Overrides::default();
        o.add(entry_for("/srv/data/a b.img", true, &host, &vm).unwrap())
            .unwrap();
        o.add(entry_for("/srv/data/iso[1].iso", false, &host, &vm).unwrap())
            .unwrap();
        let text = o.render(&name(), "web");
        assert!(text.contains("#svirt-allow rw /srv/data/a b.img\n  \"/srv/data/a b.img\" rwk,\n"));
        assert!(
            text.contains("\"/srv/data/iso\\[1\\].iso\" rk,\n"),
            "{text}"
        );
        crate::policy::grammar::check_rules_text(
            &o.entries
                .iter()
                .map(|e| e.rules.as_str())
                .collect::<String>(),
            true,
        )
        .unwrap();
        let back = Overrides::parse(&text).unwrap();
        assert_eq!(back, o);
        assert_eq!(back.entries[1].canonical, "/srv/data/iso[1].iso");
        // Adding the same path again replaces it; removing finds it.
        let mut again = back.clone();
        again
            .add(entry_for("/srv/data/a b.img", false, &host, &vm).unwrap())
            .unwrap();
        assert_eq!(again.entries.len(), 2);
        assert_eq!(again.remove("/srv/data/a b.img", None), 1);
        assert_eq!(again.remove("/nope", None), 0);
    }

    #[test]
    fn restricted_and_hostile_paths_are_refused() {
        let host = FakeHost::new();
        let vm = VmContext::default();
        for bad in [
            "/etc/shadow",
            "/x/../etc/shadow",
            "/proc/1/mem",
            "relative.img",
            "/srv/a\nb",
            "/srv/a\u{9b}b",
        ] {
            assert!(entry_for(bad, false, &host, &vm).is_err(), "{bad:?}");
        }
        // A quote is escaped, not refused, and reads back as itself.
        let quoted = entry_for("/srv/\"q\"", false, &host, &vm).unwrap();
        let mut o = Overrides::default();
        o.add(quoted).unwrap();
        let back = Overrides::parse(&o.render(&name(), "vm")).unwrap();
        assert_eq!(back.entries[0].canonical, "/srv/\"q\"");
    }

    #[test]
    fn hand_edits_are_kept_and_bad_markers_refused() {
        let text = "# mine\n  /opt/tool rix,\n#svirt-allow r /srv/x\n  \"/srv/x\" rk,\n";
        let o = Overrides::parse(text).unwrap();
        assert_eq!(o.other_lines, ["# mine", "  /opt/tool rix,"]);
        assert_eq!(o.entries[0].canonical, "/srv/x");
        assert!(o
            .render(&name(), "vm")
            .contains("# mine\n  /opt/tool rix,\n#svirt-allow"));
        assert!(Overrides::parse("#svirt-allow rwx /a\n").is_err());
        assert!(Overrides::parse("#svirt-allow\n").is_err());
    }
}
