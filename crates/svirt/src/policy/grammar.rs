//! The grammar every rule svirt writes must follow, checked on the text
//! itself. [`super::rules_for`] runs it on each rule before keeping it, and
//! the tests and fuzz targets run it on whole `.files` texts, so a rule
//! outside it is a bug that never reaches the kernel.
//!
//! A line is empty, a comment, or
//! `  [deny ]"<pattern>" <perms>,` where `<perms>` is a non-empty subset
//! of `mrwlk` in that order. In safe mode (`escaped`), `<pattern>` is one
//! of svirt's fixed patterns, or an absolute escaped literal with at most
//! one of svirt's globs ([`Glob`]); only a glob that stands for directories
//! (`**/`, the migration pipe) may be followed by more literal text. In
//! libvirt mode pattern characters from input stay live, as libvirt leaves
//! them, but a `"`, a control character or a trailing backslash never
//! appears.

use super::escape::SPECIAL;
use super::grant::{ChildKind, FixedPattern, Glob};

/// Why a line is outside the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line:?}: {reason}")]
pub struct GrammarError {
    pub line: String,
    pub reason: String,
}

/// Checks every line of rule text (a `.files` include or a part of one).
///
/// Besides rules, the text may hold svirt's child profiles
/// ([`ChildKind`]): the exec transition and the header line exactly as
/// svirt writes them, then, one level deeper, rules of the grammar above,
/// comments and the kind's fixed lines, then the closing brace. Child
/// profiles do not nest, and every one that opens must close.
pub fn check_rules_text(text: &str, escaped: bool) -> Result<(), GrammarError> {
    let mut open: Option<ChildKind> = None;
    for line in text.split('\n') {
        if let Some(c) = line.chars().find(|c| c.is_control()) {
            return Err(err(line, format!("control character {c:?}")));
        }
        match open {
            None => {
                if ChildKind::ALL.iter().any(|k| line == k.exec_line()) {
                    continue;
                }
                if let Some(k) = ChildKind::ALL.iter().find(|k| line == k.header_line()) {
                    open = Some(*k);
                    continue;
                }
                check_line(line, escaped)?;
            }
            Some(kind) => {
                if line == ChildKind::CLOSE_LINE {
                    open = None;
                    continue;
                }
                if kind.fixed_lines().iter().any(|l| l == line) {
                    continue;
                }
                let trimmed = line.trim_start_matches(' ');
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    continue;
                }
                let Some(inner) = line.strip_prefix("  ").filter(|l| l.starts_with("  ")) else {
                    return Err(err(
                        line,
                        "a rule in a child profile is indented by four spaces",
                    ));
                };
                check_line(inner, escaped)?;
            }
        }
    }
    match open {
        Some(kind) => Err(err(&kind.header_line(), "the child profile is not closed")),
        None => Ok(()),
    }
}

fn err(line: &str, reason: impl Into<String>) -> GrammarError {
    GrammarError {
        line: line.to_owned(),
        reason: reason.into(),
    }
}

fn check_line(line: &str, escaped: bool) -> Result<(), GrammarError> {
    if let Some(c) = line.chars().find(|c| c.is_control()) {
        return Err(err(line, format!("control character {c:?}")));
    }
    let trimmed = line.trim_start_matches(' ');
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(());
    }
    let Some(body) = line.strip_prefix("  ") else {
        return Err(err(line, "a rule is indented by two spaces"));
    };
    let body = body.strip_prefix("deny ").unwrap_or(body);
    let Some(body) = body.strip_prefix('"') else {
        return Err(err(line, "a rule starts with a quoted path"));
    };
    let Some(close) = closing_quote(body) else {
        return Err(err(line, "unterminated quoted path"));
    };
    let (pattern, rest) = (&body[..close], &body[close + 1..]);
    let Some(perms) = rest.strip_prefix(' ').and_then(|r| r.strip_suffix(',')) else {
        return Err(err(line, "a rule ends with ` <perms>,`"));
    };
    check_perms(perms).map_err(|r| err(line, r))?;
    check_pattern(pattern, escaped).map_err(|r| err(line, r))
}

/// Where the quoted string ends, as AppArmor's lexer reads it: a
/// backslash escapes the next character.
fn closing_quote(body: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

fn check_perms(perms: &str) -> Result<(), String> {
    const ORDER: &str = "mrwlk";
    let mut at = 0;
    for c in perms.chars() {
        match ORDER[at..].find(c) {
            Some(i) => at += i + 1,
            None => {
                return Err(format!(
                    "permissions {perms:?} are not a subset of mrwlk in order"
                ))
            }
        }
    }
    if perms.is_empty() {
        return Err("no permissions".to_owned());
    }
    Ok(())
}

/// Checks the text between the quotes.
pub fn check_pattern(pattern: &str, escaped: bool) -> Result<(), String> {
    if closing_quote(pattern).is_some() {
        return Err("a double quote inside the quoted path".to_owned());
    }
    let trailing = pattern.bytes().rev().take_while(|b| *b == b'\\').count();
    if trailing % 2 == 1 {
        return Err("a backslash escapes the closing quote".to_owned());
    }
    if FixedPattern::ALL.iter().any(|f| f.as_str() == pattern) {
        return Ok(());
    }
    if !escaped {
        return match super::escape::find_escape_sequence(pattern) {
            Some(seq) => Err(format!("the escape sequence {seq:?} would be decoded")),
            None => Ok(()),
        };
    }
    if !pattern.starts_with('/') {
        return Err("the path is not absolute".to_owned());
    }
    let mut rest = pattern;
    let mut glob: Option<Glob> = None;
    let mut run_id = false;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("[\\\\]") {
            rest = after;
        } else if c == '\\' {
            let mut chars = rest[1..].chars();
            match chars.next() {
                Some(e) if SPECIAL.contains(&e) => rest = chars.as_str(),
                _ => return Err("a backslash that escapes nothing".to_owned()),
            }
        } else if SPECIAL.contains(&c) {
            if let Some(g) = glob {
                return Err(format!(
                    "pattern character {c:?} after svirt's glob {:?}",
                    g.as_str()
                ));
            }
            let Some(g) = longest_glob_at(rest) else {
                return Err(format!("live pattern character {c:?} that is not svirt's"));
            };
            rest = &rest[g.as_str().len()..];
            if g == Glob::RunId {
                // Inside a name: text must follow, and one more glob may.
                if run_id || !rest.starts_with(|c: char| !SPECIAL.contains(&c)) {
                    return Err("svirt's domain-id glob must be followed by text, once".to_owned());
                }
                run_id = true;
                continue;
            }
            if !rest.is_empty() && !g.may_precede_literal() {
                return Err(format!("text after svirt's glob {:?}", g.as_str()));
            }
            glob = Some(g);
        } else {
            rest = &rest[c.len_utf8()..];
        }
    }
    Ok(())
}

fn longest_glob_at(text: &str) -> Option<Glob> {
    Glob::ALL
        .iter()
        .copied()
        .filter(|g| text.starts_with(g.as_str()))
        .max_by_key(|g| g.as_str().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> bool {
        check_rules_text(line, true).is_ok()
    }

    #[test]
    fn accepts_what_svirt_writes() {
        for line in [
            "  \"/var/lib/libvirt/images/a.qcow2\" rwk,",
            "  \"/var/log/libvirt/**/vm\\[1\\].log\" w,",
            "  \"/run/libvirt/**/*.tunnelmigrate.dest.vm\" rw,",
            "  \"/var/lib/libvirt/qemu/domain-1-vm/*\" rw,",
            "  \"/srv/share/**\" rwl,",
            "  \"/srv/share/\" r,",
            "  \"/srv/x/{,**}\" rwk,",
            "  \"/etc/pki/nssdb/{,*}\" rk,",
            "  \"/dev/pts/[0-9]*\" rw,",
            "  \"/usr/lib/@{multiarch}/dri/*.so*\" mr,",
            "  deny \"/img/base.qcow2\" w,",
            "  # don't audit writes to readonly files",
            "  \"/vm/a[\\\\]\" rwk,",
            "  \"/vm/a\\\"b\" rwk,",
            "",
        ] {
            assert!(ok(line), "{line}");
        }
    }

    #[test]
    fn refuses_live_input_and_broken_lines() {
        for line in [
            "  \"/data/*.img\" rwk,",
            "  \"/data/@{HOME}/x\" r,",
            "  \"/srv/**/x/**\" r,",
            "  \"/srv/share/**\" rwx,",
            "  \"/srv/share/**\" wr,",
            "  \"/x\" rw, /etc/shadow r,",
            "  \"/x\\\" rw,",
            "  \"relative\" rw,",
            "\"/x\" rw,",
            "  \"/x\" ,",
            "  \"/a\\nb\" rw,",
        ] {
            assert!(!ok(line), "{line}");
        }
        assert!(check_rules_text("  \"/x\" rw,\n  \"/y\u{1b}\" rw,\n", true).is_err());
    }

    #[test]
    fn the_domain_id_glob_stands_inside_a_name_once() {
        let id = Glob::RunId.as_str();
        for good in [
            format!("  \"/var/lib/libvirt/qemu/domain-{id}-vm/*\" rw,"),
            format!("  \"/var/lib/libvirt/qemu/domain-{id}-vm/{{,**}}\" rwk,"),
            format!("  \"/var/lib/libvirt/qemu/domain-{id}-vm/master-key.aes\" rwk,"),
            format!("  \"/run/libvirt/qemu/swtpm/{id}-vm-swtpm.sock\" rw,"),
        ] {
            assert!(ok(&good), "{good}");
        }
        for bad in [
            format!("  \"/x/domain-{id}\" rw,"),
            format!("  \"/x/domain-{id}{id}-vm\" rw,"),
            format!("  \"/x/domain-{id}-{id}-vm\" rw,"),
            format!("  \"/x/domain-{id}*\" rw,"),
            format!("  \"/x/**/domain-{id}-vm\" rw,"),
            format!("  \"/x/domain-{id}-vm/*/y\" rw,"),
        ] {
            assert!(!ok(&bad), "{bad}");
        }
    }

    fn passt_child(inner: &str) -> String {
        let k = ChildKind::Passt;
        let mut text = format!("{}\n{}\n", k.exec_line(), k.header_line());
        text.push_str(inner);
        for l in k.fixed_lines() {
            text.push_str(&l);
            text.push('\n');
        }
        text.push_str(ChildKind::CLOSE_LINE);
        text.push('\n');
        text
    }

    #[test]
    fn child_profiles_of_svirts_shape_only() {
        let id = Glob::RunId.as_str();
        let good = passt_child(&format!(
            "    \"/usr/bin/passt\" r,\n    \"/run/libvirt/qemu/passt/{id}-vm-net0.socket\" rw,\n"
        ));
        assert!(ok(&good), "{good}");
        assert!(ok(&format!("  \"/x\" rw,\n{good}  \"/y\" rw,\n")));
        for bad in [
            // Not closed, closed twice, nested, a rule at the wrong depth.
            good.replace("\n  }\n", "\n"),
            format!("{good}  }}\n"),
            passt_child(&passt_child("")),
            passt_child("  \"/x\" rw,\n"),
            passt_child("      \"/x\" rw,\n"),
            // Live input inside, other statements, other names.
            passt_child("    \"/data/*.img\" rw,\n"),
            passt_child("    capability sys_admin,\n"),
            passt_child("    signal (receive) set=(kill) peer=libvirtd,\n"),
            passt_child("    include <abstractions/passt>\n"),
            good.replace("profile passt {", "profile other {"),
            good.replace("Cx -> passt,", "Ux,"),
            "  \"/usr/bin/passt\" Cx -> other,".to_owned(),
            "  }".to_owned(),
            // The child's fixed lines only inside it.
            "    include if exists <abstractions/passt>".to_owned(),
        ] {
            assert!(!ok(&bad), "{bad}");
        }
    }

    #[test]
    fn libvirt_mode_leaves_patterns_but_never_quotes() {
        assert!(check_rules_text("  \"/data/*.img\" rwk,", false).is_ok());
        assert!(check_rules_text("  \"/etc/x\"y/{,*}\" rk,", false).is_err());
        assert!(check_rules_text("  \"/x\\\" rk,", false).is_err());
        assert!(check_rules_text("  \"/\\145tc/shadow\" rk,", false).is_err());
        assert!(check_rules_text("  \"2.0/\" rwk, /etc/shadow r, \"/x\" rk,", false).is_err());
    }
}
