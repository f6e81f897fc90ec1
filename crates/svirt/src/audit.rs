//! AppArmor denials as the kernel logs them, and what a VM's rules say
//! about them: the pure part of `svirt explain`.
//!
//! A denial looks like (dmesg or audit.log):
//! `audit: type=1400 audit(…): apparmor="DENIED" operation="open"
//! profile="libvirt-…" name="/var/lib/x.img" pid=42 comm="qemu-system-x86"
//! requested_mask="r" denied_mask="r" fsuid=64055 ouid=0`.
//! The audit subsystem writes a value with spaces or special bytes as bare
//! hex instead of quoting it; both forms are read here.

use crate::policy::escape::unescape;
use crate::policy::path::is_within;
use crate::policy::{Access, Mode, Rule, Target};

/// Longest log line looked at; longer lines are skipped.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// One `apparmor="DENIED"` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub operation: String,
    pub profile: String,
    /// The file (for file operations).
    pub name: Option<String>,
    pub requested: Option<String>,
    pub denied: Option<String>,
    pub pid: Option<u32>,
    pub comm: Option<String>,
}

/// Reads the `key=value` pairs of an audit record.
fn fields(line: &str) -> Vec<(&str, String)> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(eq) = rest.find('=') {
        let key_start = rest[..eq].rfind(' ').map_or(0, |i| i + 1);
        let key = &rest[key_start..eq];
        let after = &rest[eq + 1..];
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (quoted[..end].to_owned(), &quoted[end + 1..]),
                None => (quoted.to_owned(), ""),
            }
        } else {
            let end = after.find(' ').unwrap_or(after.len());
            let raw = &after[..end];
            (
                decode_hex(raw).unwrap_or_else(|| raw.to_owned()),
                &after[end..],
            )
        };
        out.push((key, value));
        rest = tail;
    }
    out
}

/// The audit subsystem's bare-hex encoding of an untrusted string.
fn decode_hex(raw: &str) -> Option<String> {
    if raw.len() < 2 || !raw.len().is_multiple_of(2) || !raw.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..raw.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&raw[i..i + 2], 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// Parses one log line; `None` unless it is an AppArmor denial.
pub fn parse_denial(line: &str) -> Option<Denial> {
    if line.len() > MAX_LINE_BYTES || !line.contains("apparmor=\"DENIED\"") {
        return None;
    }
    let mut d = Denial {
        operation: String::new(),
        profile: String::new(),
        name: None,
        requested: None,
        denied: None,
        pid: None,
        comm: None,
    };
    for (key, value) in fields(line) {
        match key {
            "operation" => d.operation = value,
            "profile" => d.profile = value,
            "name" => d.name = Some(value),
            "requested_mask" => d.requested = Some(value),
            "denied_mask" => d.denied = Some(value),
            "pid" => d.pid = value.parse().ok(),
            "comm" => d.comm = Some(value),
            _ => {}
        }
    }
    (!d.profile.is_empty()).then_some(d)
}

/// Whether an AppArmor pattern (as written in policy, escapes included)
/// matches `path`. Supports `*`, `**`, `?`, `[…]`, `[^…]`, `{a,b}` and
/// backslash escapes: enough for the rules svirt and libvirt write.
pub fn pattern_matches(pattern: &str, path: &str) -> bool {
    let pat: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = path.chars().collect();
    let mut budget = MATCH_STEPS;
    matches_at(&pat, &text, 0, &mut budget)
}

/// Work allowed for one match: backtracking over several `*` can be
/// exponential, and a policy file may hold anything.
const MATCH_STEPS: u32 = 200_000;

fn matches_at(p: &[char], t: &[char], depth: usize, budget: &mut u32) -> bool {
    // Alternations nest; the depth and step bounds keep hostile patterns
    // finite (an exhausted budget counts as no match).
    if depth > 16 || *budget == 0 {
        return false;
    }
    *budget -= 1;
    if p.is_empty() {
        return t.is_empty();
    }
    match p[0] {
        '\\' if p.len() > 1 => {
            !t.is_empty() && t[0] == p[1] && matches_at(&p[2..], &t[1..], depth, budget)
        }
        '*' if p.get(1) == Some(&'*') => {
            (0..=t.len()).any(|i| matches_at(&p[2..], &t[i..], depth, budget))
        }
        '*' => {
            let limit = t.iter().position(|&c| c == '/').unwrap_or(t.len());
            (0..=limit).any(|i| matches_at(&p[1..], &t[i..], depth, budget))
        }
        '?' => !t.is_empty() && t[0] != '/' && matches_at(&p[1..], &t[1..], depth, budget),
        '[' => match class_end(p) {
            Some(end) => {
                !t.is_empty()
                    && class_matches(&p[1..end], t[0])
                    && matches_at(&p[end + 1..], &t[1..], depth, budget)
            }
            None => !t.is_empty() && t[0] == '[' && matches_at(&p[1..], &t[1..], depth, budget),
        },
        '{' => match alternatives(p) {
            Some((alts, end)) => alts.iter().any(|alt| {
                let mut joined: Vec<char> = alt.clone();
                joined.extend_from_slice(&p[end + 1..]);
                matches_at(&joined, t, depth + 1, budget)
            }),
            None => !t.is_empty() && t[0] == '{' && matches_at(&p[1..], &t[1..], depth, budget),
        },
        c => !t.is_empty() && t[0] == c && matches_at(&p[1..], &t[1..], depth, budget),
    }
}

fn class_end(p: &[char]) -> Option<usize> {
    let mut i = 1;
    while i < p.len() {
        match p[i] {
            '\\' => i += 2,
            ']' if i > 1 => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn class_matches(class: &[char], c: char) -> bool {
    let (negate, class) = match class.first() {
        Some('^') => (true, &class[1..]),
        _ => (false, class),
    };
    let mut i = 0;
    let mut hit = false;
    while i < class.len() {
        let lo = if class[i] == '\\' && i + 1 < class.len() {
            i += 1;
            class[i]
        } else {
            class[i]
        };
        if i + 2 < class.len() && class[i + 1] == '-' {
            if (lo..=class[i + 2]).contains(&c) {
                hit = true;
            }
            i += 3;
        } else {
            if lo == c {
                hit = true;
            }
            i += 1;
        }
    }
    hit != negate
}

/// Splits `{a,b,…}` at the top level; returns the alternatives and the
/// index of the closing brace.
fn alternatives(p: &[char]) -> Option<(Vec<Vec<char>>, usize)> {
    let mut alts = vec![Vec::new()];
    let mut level = 0usize;
    let mut i = 1;
    while i < p.len() {
        match p[i] {
            '\\' if i + 1 < p.len() => {
                alts.last_mut()?.extend_from_slice(&p[i..i + 2]);
                i += 2;
                continue;
            }
            '{' => level += 1,
            '}' if level == 0 => return Some((alts, i)),
            '}' => level -= 1,
            ',' if level == 0 => {
                alts.push(Vec::new());
                i += 1;
                continue;
            }
            _ => {}
        }
        alts.last_mut()?.push(p[i]);
        i += 1;
    }
    None
}

/// The permission letters of a mask (`r`, `w`, `a` counts as write,
/// `c` create as write, `k`, `l`, `m`).
pub fn mask_access(mask: &str) -> Access {
    let mut a = Access::default();
    for c in mask.chars() {
        a = a.union(match c {
            'r' => Access::READ,
            'w' | 'a' | 'c' | 'd' => Access::WRITE,
            'k' => Access::LOCK,
            'l' => Access::LINK,
            'm' => Access::MMAP,
            _ => Access::default(),
        });
    }
    a
}

/// The rule text's quoted pattern (the first quoted string of its first
/// non-comment line).
fn rule_pattern(rule: &Rule) -> Option<String> {
    let line = rule
        .text
        .lines()
        .find(|l| !l.trim_start().starts_with('#'))?;
    let start = line.find('"')? + 1;
    let end = line.rfind('"')?;
    (end > start).then(|| line[start..end].to_owned())
}

/// What a VM's rules say about one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage<'a> {
    /// Allow rules whose pattern matches the path.
    pub allowed_by: Vec<&'a Rule>,
    /// Deny rules whose pattern matches the path.
    pub denied_by: Vec<&'a Rule>,
}

impl Coverage<'_> {
    /// The union of what the allow rules grant.
    pub fn granted(&self) -> Access {
        self.allowed_by
            .iter()
            .fold(Access::default(), |a, r| a.union(r.grant.access))
    }
}

/// Which of `rules` match `path`. Literal paths are compared after
/// unescaping; trees cover everything below them.
pub fn coverage<'a>(rules: &'a [Rule], path: &str) -> Coverage<'a> {
    let mut cov = Coverage {
        allowed_by: Vec::new(),
        denied_by: Vec::new(),
    };
    for rule in rules {
        let hit = match (&rule.grant.target, &rule.canonical) {
            (Target::Path(_), Some(c)) => c == path,
            (Target::Tree(_), Some(c)) => path != c && is_within(path, c),
            (Target::Subtree(_), Some(c)) => is_within(path, c),
            (Target::Entries(_), Some(c)) => {
                path == c || path.rsplit_once('/').is_some_and(|(dir, _)| dir == c)
            }
            _ => rule_pattern(rule)
                .is_some_and(|p| pattern_matches(&p, path) || unescape(&p) == path),
        };
        if hit {
            match rule.grant.mode {
                Mode::Allow => cov.allowed_by.push(rule),
                Mode::Deny => cov.denied_by.push(rule),
            }
        }
        // The quiet write deny of a read-only grant is part of the rule text.
        if hit && rule.grant.quiet_write_deny {
            cov.denied_by.push(rule);
        }
    }
    cov
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"[ 12.3] audit: type=1400 audit(1700000000.123:45): apparmor="DENIED" operation="open" profile="libvirt-6f1b3a52-1c2d-4e8f-9a10-2b3c4d5e6f70" name="/var/lib/libvirt/images/other.qcow2" pid=812 comm="qemu-system-x86" requested_mask="r" denied_mask="r" fsuid=64055 ouid=64055"#;

    #[test]
    fn parses_a_dmesg_denial() {
        let d = parse_denial(LINE).unwrap();
        assert_eq!(d.operation, "open");
        assert_eq!(d.profile, "libvirt-6f1b3a52-1c2d-4e8f-9a10-2b3c4d5e6f70");
        assert_eq!(
            d.name.as_deref(),
            Some("/var/lib/libvirt/images/other.qcow2")
        );
        assert_eq!(d.requested.as_deref(), Some("r"));
        assert_eq!(d.pid, Some(812));
        assert_eq!(d.comm.as_deref(), Some("qemu-system-x86"));
    }

    #[test]
    fn decodes_hex_names() {
        // "/srv/vm/a b.img" is logged as bare hex.
        let line = r#"apparmor="DENIED" operation="open" profile="p" name=2F7372762F766D2F6120622E696D67 requested_mask="r""#;
        assert_eq!(
            parse_denial(line).unwrap().name.as_deref(),
            Some("/srv/vm/a b.img")
        );
    }

    #[test]
    fn ignores_other_lines() {
        assert!(parse_denial("hello").is_none());
        assert!(parse_denial(r#"apparmor="ALLOWED" operation="open" profile="p""#).is_none());
        assert!(parse_denial(r#"apparmor="DENIED" operation="open""#).is_none());
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches(
            "/var/log/libvirt/**/vm.log",
            "/var/log/libvirt/qemu/vm.log"
        ));
        assert!(!pattern_matches(
            "/var/lib/libvirt/qemu/domain-1-vm/*",
            "/var/lib/libvirt/qemu/domain-1-vm/a/b"
        ));
        assert!(pattern_matches("/dev/vfio/[0-9]*", "/dev/vfio/12"));
        assert!(!pattern_matches("/dev/vfio/[0-9]*", "/dev/vfio/vfio"));
        assert!(pattern_matches("/etc/pki/nssdb/{,*}", "/etc/pki/nssdb/"));
        assert!(pattern_matches(
            "/etc/pki/nssdb/{,*}",
            "/etc/pki/nssdb/cert9.db"
        ));
        assert!(pattern_matches("/srv/a\\*b", "/srv/a*b"));
        assert!(!pattern_matches("/srv/a\\*b", "/srv/aXb"));
        assert!(pattern_matches("/srv/[\\\\]", "/srv/\\"));
        assert!(pattern_matches("/x/{a,b{c,d}}", "/x/bd"));
    }

    #[test]
    fn hostile_patterns_stay_bounded() {
        let p = "/**a**a**a**a**a**a**a**a**a**a**b";
        let t = format!("/{}", "a".repeat(200));
        assert!(!pattern_matches(p, &t));
    }

    #[test]
    fn masks() {
        assert_eq!(mask_access("rw"), Access::RW);
        assert_eq!(mask_access("a"), Access::W);
        assert_eq!(mask_access("k"), Access::LOCK);
    }
}
