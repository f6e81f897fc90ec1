//! AppArmor denials as the kernel logs them, and what a VM's rules say
//! about them: the pure part of `svirt explain`.
//!
//! A denial looks like (dmesg or audit.log):
//! `audit: type=1400 audit(…): apparmor="DENIED" operation="open"
//! profile="libvirt-…" name="/var/lib/x.img" pid=42 comm="qemu-system-x86"
//! requested_mask="r" denied_mask="r" fsuid=64055 ouid=0`.
//! The audit subsystem writes a value with spaces or special bytes as bare
//! hex instead of quoting it; both forms are read here.

use crate::domain::{Backing, DiskDevice, Domain, StorageSource};
use crate::policy::escape::{inert, unescape};
use crate::policy::path::{
    check_prefixes, is_within, normalize_lexically, PathVerdict, PrefixMatch,
};
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
    /// The audit event's `audit(SECONDS.MILLIS:SERIAL)` stamp: when it
    /// happened (wall clock), and which event it is.
    pub stamp: Option<Stamp>,
}

/// An audit event's identity: the same event read from two logs (the
/// kernel ring buffer and audit.log, or the journal's two transports) has
/// the same stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Stamp {
    pub seconds: u64,
    pub millis: u32,
    pub serial: u64,
}

/// Reads the first `audit(SECONDS.MILLIS:SERIAL)` of a line.
pub fn parse_stamp(line: &str) -> Option<Stamp> {
    let start = line.find("audit(")? + "audit(".len();
    let rest = &line[start..];
    let end = rest.find(')')?;
    let (time, serial) = rest[..end].split_once(':')?;
    let (seconds, millis) = time.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(seconds) || !digits(millis) || !digits(serial) || millis.len() > 3 {
        return None;
    }
    Some(Stamp {
        seconds: seconds.parse().ok()?,
        millis: millis.parse().ok()?,
        serial: serial.parse().ok()?,
    })
}

/// The fields the kernel logs as untrusted strings: quoted, or bare hex
/// when they hold a space, a quote or a special byte.
const HEX_FIELDS: &[&str] = &[
    "name",
    "comm",
    "profile",
    "target",
    "peer",
    "exe",
    "label",
    "peer_label",
    "namespace",
    "srcname",
    "info",
];

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
            // Only string fields are hex-encoded; `pid=4242` is a number.
            let decoded = HEX_FIELDS.contains(&key).then(|| decode_hex(raw)).flatten();
            (decoded.unwrap_or_else(|| raw.to_owned()), &after[end..])
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
        stamp: parse_stamp(line),
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

/// What the operator should change so that a denial goes away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixKind {
    /// The domain definition should say it (a disk, a hostdev, no
    /// `<readonly/>`); the profile follows the definition.
    Definition,
    /// `svirt allow --domain D PATH [--write]`: a per-VM rule.
    Allow,
    /// The VM's rules already allow it: the loaded profile is stale.
    Covered,
    /// A location svirt never grants.
    Restricted,
    /// Nothing svirt can change, or no safe command to print (says why).
    None,
}

impl FixKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FixKind::Definition => "definition",
            FixKind::Allow => "allow",
            FixKind::Covered => "covered",
            FixKind::Restricted => "restricted",
            FixKind::None => "none",
        }
    }
}

/// The fix for one denial, in words (for [`FixKind::Allow`], the command).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub kind: FixKind,
    pub text: String,
}

impl Fix {
    fn new(kind: FixKind, text: impl Into<String>) -> Self {
        Fix {
            kind,
            text: text.into(),
        }
    }
}

/// What the VM's definition says a path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// The image of a disk (layer 0). `readonly`: `<readonly/>`, or a CD-ROM.
    Disk {
        target: String,
        readonly: bool,
        cdrom: bool,
    },
    /// A declared backing layer (`<backingStore>`) of a disk; `layer` ≥ 1.
    Backing { target: String, layer: usize },
}

/// Which disk (or declared backing layer) of `domain` is `path`.
pub fn role_in_domain(domain: &Domain, path: &str) -> Option<Role> {
    let want = normalize_lexically(path);
    let same = |src: &StorageSource| {
        src.path
            .as_deref()
            .is_some_and(|p| p == path || normalize_lexically(p) == want)
    };
    for (index, disk) in domain.devices.disks.iter().enumerate() {
        let target = disk
            .target_dev
            .clone()
            .unwrap_or_else(|| format!("number {}", index + 1));
        let Some(top) = &disk.source else { continue };
        if same(top) {
            let cdrom = disk.device == DiskDevice::Cdrom;
            return Some(Role::Disk {
                target,
                readonly: top.readonly || cdrom,
                cdrom,
            });
        }
        let mut layer = 0;
        let mut below = &top.backing;
        while let Backing::Layer(src) = below {
            layer += 1;
            if same(src) {
                return Some(Role::Backing { target, layer });
            }
            below = &src.backing;
        }
    }
    None
}

/// What is known about one VM denial, besides the denial itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixFacts<'a> {
    /// Whether the VM's rules could be read; `granted` and `deny_rule`
    /// mean nothing otherwise.
    pub rules_known: bool,
    /// What the VM's rules grant on the path.
    pub granted: Access,
    /// Whether a deny rule of the VM's matches the path (deny wins over
    /// any allow rule, `svirt allow`'s included).
    pub deny_rule: bool,
    /// What the definition says the path is, if the definition is known.
    pub role: Option<Role>,
    /// The domain file for `svirt allow --domain`, if known (absolute;
    /// anything [`shell_word`] refuses is shown as [`DOMAIN_PLACEHOLDER`]).
    pub domain_file: Option<&'a str>,
}

/// Shown instead of a domain file that is not known or cannot be printed.
pub const DOMAIN_PLACEHOLDER: &str = "<domain.xml>";

/// Characters a word may have without quotes in any POSIX shell.
fn is_plain_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '/' | '.' | '_' | '-' | '+' | ':' | ',' | '=' | '@' | '%')
}

/// Why a word cannot be printed as part of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WordRefusal {
    /// Control characters (or terminal-reordering ones) cannot be pasted
    /// safely: the line would not show what the shell runs.
    Control,
    /// Not an absolute path.
    NotAbsolute,
}

impl std::fmt::Display for WordRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WordRefusal::Control => {
                "it contains control characters, which a pasted command would not show as they are"
            }
            WordRefusal::NotAbsolute => "it is not an absolute path",
        })
    }
}

/// `path` as one POSIX shell word: as is when it is plain (letters,
/// digits, `/._-+:,=@%`, not starting with `-`), otherwise in single
/// quotes with each `'` written `'\''`. Refuses paths that are not
/// absolute or that hold characters [`inert`] would escape.
pub fn shell_word(path: &str) -> Result<String, WordRefusal> {
    if matches!(inert(path), std::borrow::Cow::Owned(_)) {
        return Err(WordRefusal::Control);
    }
    if !path.starts_with('/') {
        return Err(WordRefusal::NotAbsolute);
    }
    if path.chars().all(is_plain_word_char) {
        return Ok(path.to_owned());
    }
    Ok(format!("'{}'", path.replace('\'', "'\\''")))
}

/// Whether a denied mask asks to create, write, append or delete.
pub fn mask_writes(mask: &str) -> bool {
    mask.chars().any(|c| matches!(c, 'w' | 'a' | 'c' | 'd'))
}

/// Extensions of disk images and ISO files.
const IMAGE_EXTENSIONS: &[&str] = &[
    "qcow2", "qcow", "img", "raw", "iso", "vmdk", "qed", "vdi", "vhd", "vhdx",
];

/// Whether the file name looks like a disk image or an ISO.
pub fn looks_like_image(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && IMAGE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
    })
}

/// The definition change for a device node or sysfs file QEMU only gets
/// through a device in the definition.
pub fn device_fix(path: &str) -> Option<&'static str> {
    if path.starts_with("/dev/vfio/") {
        Some("a VFIO device: add the PCI device (or mdev) as a <hostdev> to the definition")
    } else if path.starts_with("/dev/bus/usb/") {
        Some("a USB device node: add the device as a <hostdev mode='subsystem' type='usb'> to the definition")
    } else if path.starts_with("/sys/bus/pci/") || path.starts_with("/sys/devices/pci") {
        Some("a PCI device's sysfs file: add the device as a <hostdev mode='subsystem' type='pci'> to the definition")
    } else if path.starts_with("/dev/tap") || path.starts_with("/dev/macvtap") {
        Some("a macvtap device: add an <interface type='direct'> to the definition (libvirt opens the tap and grants it)")
    } else {
        None
    }
}

/// The fix for one denial. `vm`: whether the profile is a VM's
/// (`libvirt-<uuid>`); other profiles get no fix (`None`).
pub fn fix_for(d: &Denial, vm: bool, facts: &FixFacts<'_>) -> Option<Fix> {
    if !vm {
        return None;
    }
    let Some(path) = d.name.as_deref() else {
        return Some(Fix::new(
            FixKind::None,
            format!(
                "none: not a file access ({}); svirt's per-VM rules only grant files, \
                 anything else belongs in the template's abstraction",
                d.operation
            ),
        ));
    };
    let mask = d.denied.as_deref().or(d.requested.as_deref()).unwrap_or("");
    if mask.contains('x') {
        return Some(Fix::new(
            FixKind::None,
            "none: an exec denial; svirt allow grants file access, not execution, and QEMU \
             runs no other programs (a helper it needs belongs in the template's abstraction)",
        ));
    }
    let writes = mask_writes(mask);
    let asked = mask_access(mask);
    if facts.rules_known && !facts.deny_rule && !asked.is_empty() && facts.granted.contains(asked) {
        return Some(Fix::new(
            FixKind::Covered,
            "already covered: the VM's rules allow it, so the profile in the kernel is older \
             than them; reload it (virt-aa-helper -r, or the manager's hotplug path)",
        ));
    }
    match &facts.role {
        Some(Role::Disk {
            target,
            cdrom: true,
            ..
        }) if writes => {
            return Some(Fix::new(
                FixKind::Definition,
                format!(
                    "disk {target} is a CD-ROM, which is always read-only; to write it, make it \
                     a <disk device='disk'>"
                ),
            ))
        }
        Some(Role::Disk {
            target,
            readonly: true,
            ..
        }) if writes => {
            return Some(Fix::new(
                FixKind::Definition,
                format!("remove <readonly/> from disk {target} in the definition"),
            ))
        }
        Some(Role::Backing { target, layer }) if writes => {
            return Some(Fix::new(
                FixKind::Definition,
                format!(
                    "layer {layer} of disk {target} is a backing file, read-only by design; \
                     to change it, use a block job (virsh blockcommit or blockpull), which \
                     grants the layer write access while it runs"
                ),
            ))
        }
        Some(Role::Disk { target, .. }) => {
            return Some(Fix::new(
                FixKind::Definition,
                format!(
                    "the definition has it as disk {target}: the loaded profile predates it; \
                     regenerate the profile (restart the VM, or virt-aa-helper -r)"
                ),
            ))
        }
        _ => {}
    }
    if facts.deny_rule && writes {
        return Some(Fix::new(
            FixKind::None,
            "none: a deny rule of the VM's makes it read-only on purpose (a backing layer, a \
             <readonly/> disk or firmware), and svirt allow cannot override a deny; change the \
             definition, or use a block job for a backing layer",
        ));
    }
    if let Some(device) = device_fix(path) {
        return Some(Fix::new(FixKind::Definition, device));
    }
    if check_prefixes(path, !writes, PrefixMatch::Component, false) == PathVerdict::Restricted {
        return Some(Fix::new(
            FixKind::Restricted,
            "none: this path is restricted (a system location); svirt allow refuses it, and the \
             VM should not need it",
        ));
    }
    if looks_like_image(path) && facts.role.is_none() {
        let (how, what) = if path.to_ascii_lowercase().ends_with(".iso") {
            ("<disk device='cdrom'>", "an ISO")
        } else {
            ("<disk>", "a disk image")
        };
        return Some(Fix::new(
            FixKind::Definition,
            format!(
                "it looks like {what}: add it to the definition as a {how} (if it is a backing \
                 file of a disk, declare the chain with <backingStore>)"
            ),
        ));
    }
    let word = match shell_word(path) {
        Ok(word) => word,
        Err(why) => {
            return Some(Fix::new(
                FixKind::None,
                format!("none: no svirt allow command is printed for this path: {why}"),
            ))
        }
    };
    let domain = facts
        .domain_file
        .and_then(|f| shell_word(f).ok())
        .unwrap_or_else(|| DOMAIN_PLACEHOLDER.to_owned());
    let write = if writes { " --write" } else { "" };
    Some(Fix::new(
        FixKind::Allow,
        format!("svirt allow --domain {domain} {word}{write}"),
    ))
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
    fn numbers_are_not_hex() {
        // 4242 and 1234 are valid hex too; only string fields are decoded.
        let line =
            r#"apparmor="DENIED" operation="open" profile="p" name=2F78 pid=4242 fsuid=1234"#;
        let d = parse_denial(line).unwrap();
        assert_eq!(d.pid, Some(4242));
        assert_eq!(d.name.as_deref(), Some("/x"));
        let line = r#"apparmor="DENIED" operation="open" profile=6C6962 comm=7120656D75 pid=12"#;
        let d = parse_denial(line).unwrap();
        assert_eq!(
            (d.profile.as_str(), d.comm.as_deref()),
            ("lib", Some("q emu"))
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

    #[test]
    fn reads_audit_stamps() {
        let d = parse_denial(LINE).unwrap();
        assert_eq!(
            d.stamp,
            Some(Stamp {
                seconds: 1_700_000_000,
                millis: 123,
                serial: 45
            })
        );
        let log = r#"type=AVC msg=audit(1700000001.5:46): apparmor="DENIED" operation="open" profile="p" name="/x""#;
        assert_eq!(parse_denial(log).unwrap().stamp.unwrap().serial, 46);
        assert_eq!(parse_stamp("audit(12:3)"), None);
        assert_eq!(parse_stamp("audit(1.2345:3)"), None);
        assert_eq!(parse_stamp("audit(x.1:3)"), None);
        assert_eq!(parse_stamp("no stamp"), None);
    }

    const VM: &str = "<domain type='kvm'><name>web01</name>\
        <uuid>6f1b3a52-1c2d-4e8f-9a10-2b3c4d5e6f70</uuid><memory>65536</memory>\
        <os><type arch='x86_64'>hvm</type></os><devices>\
        <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
          <source file='/srv/vm/top.qcow2'/>\
          <backingStore type='file'><format type='qcow2'/><source file='/srv/vm/base.qcow2'/>\
            <backingStore/></backingStore>\
          <target dev='vda' bus='virtio'/></disk>\
        <disk type='file' device='disk'><driver name='qemu' type='raw'/>\
          <source file='/srv/vm/data.img'/><target dev='vdb' bus='virtio'/><readonly/></disk>\
        <disk type='file' device='cdrom'><driver name='qemu' type='raw'/>\
          <source file='/srv/iso/install.iso'/><target dev='sda' bus='sata'/></disk>\
        </devices></domain>";

    fn vm() -> Domain {
        crate::domain::parse_domain(VM, &crate::domain::Limits::default()).unwrap()
    }

    fn denial(name: Option<&str>, mask: &str) -> Denial {
        Denial {
            operation: "open".into(),
            profile: "libvirt-6f1b3a52-1c2d-4e8f-9a10-2b3c4d5e6f70".into(),
            name: name.map(str::to_owned),
            requested: Some(mask.into()),
            denied: Some(mask.into()),
            pid: Some(1),
            comm: Some("qemu-system-x86".into()),
            stamp: None,
        }
    }

    const FILE: &str = "/etc/libvirt/qemu/web01.xml";

    /// The fix for a denial of `mask` on `path`, with the definition's role
    /// for it and no rule granting it.
    fn fix(path: &str, mask: &str) -> Fix {
        let facts = FixFacts {
            rules_known: true,
            role: role_in_domain(&vm(), path),
            domain_file: Some(FILE),
            ..FixFacts::default()
        };
        fix_for(&denial(Some(path), mask), true, &facts).unwrap()
    }

    #[test]
    fn roles_come_from_the_definition() {
        let d = vm();
        assert_eq!(
            role_in_domain(&d, "/srv/vm/top.qcow2"),
            Some(Role::Disk {
                target: "vda".into(),
                readonly: false,
                cdrom: false
            })
        );
        assert_eq!(
            role_in_domain(&d, "/srv/vm//./base.qcow2"),
            Some(Role::Backing {
                target: "vda".into(),
                layer: 1
            })
        );
        assert_eq!(
            role_in_domain(&d, "/srv/vm/data.img"),
            Some(Role::Disk {
                target: "vdb".into(),
                readonly: true,
                cdrom: false
            })
        );
        assert!(matches!(
            role_in_domain(&d, "/srv/iso/install.iso"),
            Some(Role::Disk {
                cdrom: true,
                readonly: true,
                ..
            })
        ));
        assert_eq!(role_in_domain(&d, "/srv/vm/other.qcow2"), None);
    }

    #[test]
    fn a_readonly_disk_written_needs_the_definition_changed() {
        let f = fix("/srv/vm/data.img", "w");
        assert_eq!(f.kind, FixKind::Definition);
        assert_eq!(f.text, "remove <readonly/> from disk vdb in the definition");
        // Control: reading it is not a <readonly/> problem.
        let f = fix("/srv/vm/data.img", "r");
        assert_eq!(f.kind, FixKind::Definition);
        assert!(f.text.contains("predates it"), "{}", f.text);
        // A CD-ROM cannot be made writable by removing <readonly/>.
        let f = fix("/srv/iso/install.iso", "rw");
        assert!(f.text.contains("CD-ROM"), "{}", f.text);
    }

    #[test]
    fn a_backing_layer_written_needs_a_block_job() {
        for mask in ["w", "a", "c", "d", "rw"] {
            let f = fix("/srv/vm/base.qcow2", mask);
            assert_eq!(f.kind, FixKind::Definition, "{mask}");
            assert!(f.text.contains("layer 1 of disk vda"), "{}", f.text);
            assert!(f.text.contains("blockcommit"), "{}", f.text);
        }
        // Control: a read of the backing file is not a block-job matter.
        assert_eq!(fix("/srv/vm/base.qcow2", "r").kind, FixKind::Allow);
    }

    #[test]
    fn an_image_outside_the_definition_should_become_a_disk() {
        let f = fix("/srv/vm/other.qcow2", "r");
        assert_eq!(f.kind, FixKind::Definition);
        assert!(f.text.contains("as a <disk>"), "{}", f.text);
        let f = fix("/srv/iso/Debian.ISO", "r");
        assert!(f.text.contains("<disk device='cdrom'>"), "{}", f.text);
        // Controls: not images.
        for path in [
            "/srv/vm/notes.txt",
            "/srv/vm/.img",
            "/srv/vm/qcow2",
            "/srv/img.d/x",
        ] {
            assert_eq!(fix(path, "r").kind, FixKind::Allow, "{path}");
        }
    }

    #[test]
    fn host_devices_need_a_hostdev_or_an_interface() {
        for path in [
            "/dev/vfio/12",
            "/dev/bus/usb/001/004",
            "/sys/bus/pci/devices/0000:01:00.0/config",
            "/sys/devices/pci0000:00/0000:00:01.0/resource0",
        ] {
            let f = fix(path, "rw");
            assert_eq!(f.kind, FixKind::Definition, "{path}");
            assert!(f.text.contains("<hostdev"), "{path}: {}", f.text);
        }
        for path in ["/dev/tap42", "/dev/macvtap3"] {
            let f = fix(path, "rw");
            assert!(f.text.contains("<interface type='direct'>"), "{}", f.text);
        }
        // Controls: look-alikes that are not those devices.
        assert_eq!(fix("/dev/vfiox", "r").kind, FixKind::Allow);
        assert_eq!(fix("/srv/dev/vfio/1", "r").kind, FixKind::Allow);
        assert_eq!(device_fix("/dev/tty1"), None);
    }

    #[test]
    fn restricted_paths_get_no_allow_command() {
        for (path, mask) in [
            ("/etc/shadow", "r"),
            ("/root/.ssh/id_rsa", "r"),
            ("/usr/lib/x86_64-linux-gnu/libc.so.6", "w"),
            ("/boot/vmlinuz-6.1", "w"),
            ("/sys/kernel/debug/x", "r"),
        ] {
            let f = fix(path, mask);
            if path.starts_with("/root") {
                // Not in svirt's restricted list: svirt allow would take it.
                assert_eq!(f.kind, FixKind::Allow, "{path}");
                continue;
            }
            assert_eq!(f.kind, FixKind::Restricted, "{path}");
            assert!(f.text.contains("svirt allow refuses it"), "{}", f.text);
        }
        // Control: a kernel may be read, so reading it gets a command.
        assert_eq!(fix("/boot/vmlinuz-6.1", "r").kind, FixKind::Allow);
    }

    #[test]
    fn other_files_get_the_svirt_allow_command() {
        let f = fix("/srv/share/seed.bin", "r");
        assert_eq!(f.kind, FixKind::Allow);
        assert_eq!(
            f.text,
            "svirt allow --domain /etc/libvirt/qemu/web01.xml /srv/share/seed.bin"
        );
        for mask in ["w", "a", "c", "d", "rw", "wk"] {
            assert!(
                fix("/srv/share/seed.bin", mask).text.ends_with(" --write"),
                "{mask}"
            );
        }
        for mask in ["r", "k", "m", "rk"] {
            assert!(
                !fix("/srv/share/seed.bin", mask).text.contains("--write"),
                "{mask}"
            );
        }
        let f = fix("/srv/it's $(here) `x`.bin", "r");
        assert_eq!(
            f.text,
            "svirt allow --domain /etc/libvirt/qemu/web01.xml '/srv/it'\\''s $(here) `x`.bin'"
        );
    }

    #[test]
    fn unprintable_paths_and_domain_files_are_not_put_into_commands() {
        let f = fix("/srv/a\nb.bin", "r");
        assert_eq!(f.kind, FixKind::None);
        assert!(f.text.contains("control characters"), "{}", f.text);
        assert!(!f.text.contains('\n'));
        let f = fix("/srv/a\u{202e}b.bin", "r");
        assert_eq!(f.kind, FixKind::None);
        let f = fix("srv/relative.bin", "r");
        assert_eq!(f.kind, FixKind::None);
        assert!(f.text.contains("not an absolute path"), "{}", f.text);
        // An unknown or unprintable domain file becomes the placeholder.
        for file in [None, Some("/etc/libvirt/qemu/a\x1bb.xml")] {
            let facts = FixFacts {
                rules_known: true,
                domain_file: file,
                ..FixFacts::default()
            };
            let f = fix_for(&denial(Some("/srv/x.bin"), "r"), true, &facts).unwrap();
            assert_eq!(f.text, "svirt allow --domain <domain.xml> /srv/x.bin");
        }
    }

    #[test]
    fn covered_denials_say_the_profile_is_stale() {
        let covered = |granted: Access, deny_rule: bool, mask: &str| {
            let facts = FixFacts {
                rules_known: true,
                granted,
                deny_rule,
                ..FixFacts::default()
            };
            fix_for(&denial(Some("/srv/x.bin"), mask), true, &facts).unwrap()
        };
        assert_eq!(covered(Access::RW, false, "r").kind, FixKind::Covered);
        assert_eq!(covered(Access::RWK, false, "wk").kind, FixKind::Covered);
        // Controls: less is granted than asked, or a deny rule wins.
        assert_eq!(covered(Access::RK, false, "w").kind, FixKind::Allow);
        let f = covered(Access::RW, true, "w");
        assert_eq!(f.kind, FixKind::None);
        assert!(f.text.contains("cannot override a deny"), "{}", f.text);
        // Rules that could not be read cover nothing.
        let facts = FixFacts {
            granted: Access::RW,
            ..FixFacts::default()
        };
        let f = fix_for(&denial(Some("/srv/x.bin"), "r"), true, &facts).unwrap();
        assert_eq!(f.kind, FixKind::Allow);
    }

    #[test]
    fn other_profiles_and_non_file_denials() {
        let facts = FixFacts::default();
        assert_eq!(
            fix_for(&denial(Some("/srv/x.bin"), "r"), false, &facts),
            None
        );
        let f = fix_for(&denial(None, ""), true, &facts).unwrap();
        assert_eq!(f.kind, FixKind::None);
        assert!(f.text.contains("not a file access"), "{}", f.text);
        let f = fix_for(&denial(Some("/usr/bin/id"), "x"), true, &facts).unwrap();
        assert_eq!(f.kind, FixKind::None);
        assert!(f.text.contains("exec"), "{}", f.text);
    }

    /// What a POSIX shell makes of one word made of plain characters and
    /// single-quoted parts: `None` if it is not exactly one such word.
    fn sh_unquote(word: &str) -> Option<String> {
        let mut out = String::new();
        let mut chars = word.chars();
        while let Some(c) = chars.next() {
            match c {
                '\'' => loop {
                    match chars.next()? {
                        '\'' => break,
                        c => out.push(c),
                    }
                },
                '\\' => out.push(chars.next()?),
                c if is_plain_word_char(c) => out.push(c),
                _ => return None,
            }
        }
        Some(out)
    }

    #[test]
    fn the_unquoter_is_strict() {
        assert_eq!(sh_unquote("'a b'\\''c'").as_deref(), Some("a b'c"));
        assert_eq!(sh_unquote("a b"), None);
        assert_eq!(sh_unquote("'a"), None);
        assert_eq!(sh_unquote("$x"), None);
    }

    proptest::proptest! {
        #[test]
        fn shell_words_round_trip(tail in proptest::prelude::any::<String>(), absolute in proptest::prelude::any::<bool>()) {
            let path = if absolute { format!("/{tail}") } else { tail.clone() };
            match shell_word(&path) {
                Ok(word) => {
                    proptest::prop_assert_eq!(sh_unquote(&word), Some(path.clone()));
                    let facts = FixFacts { domain_file: Some("/etc/libvirt/qemu/v m.xml"), ..FixFacts::default() };
                    let mut d = denial(Some(&path), "rw");
                    d.denied = Some("w".into());
                    let fix = fix_for(&d, true, &facts).unwrap();
                    proptest::prop_assert!(!fix.text.chars().any(char::is_control), "{:?}", fix.text);
                    proptest::prop_assert_eq!(&inert(&fix.text), &fix.text);
                    if fix.kind == FixKind::Allow {
                        let rest = fix.text.strip_prefix("svirt allow --domain '/etc/libvirt/qemu/v m.xml' ").unwrap();
                        let word = rest.strip_suffix(" --write").unwrap();
                        proptest::prop_assert_eq!(sh_unquote(word), Some(path.clone()));
                    }
                }
                Err(WordRefusal::Control) => {
                    proptest::prop_assert!(matches!(inert(&path), std::borrow::Cow::Owned(_)));
                }
                Err(WordRefusal::NotAbsolute) => proptest::prop_assert!(!path.starts_with('/')),
            }
        }

        #[test]
        fn hostile_paths_in_shell_words(parts in proptest::collection::vec(proptest::prop_oneof![
            proptest::prelude::Just("'".to_owned()), proptest::prelude::Just(" ".to_owned()),
            proptest::prelude::Just("$(x)".to_owned()), proptest::prelude::Just("`".to_owned()),
            proptest::prelude::Just("\\".to_owned()), proptest::prelude::Just("\"".to_owned()),
            proptest::prelude::Just(";&|<>*?~#!".to_owned()), "[a-z]{1,3}",
        ], 0..12)) {
            let path = format!("/{}", parts.concat());
            let word = shell_word(&path).unwrap();
            proptest::prop_assert_eq!(sh_unquote(&word), Some(path));
        }
    }
}
