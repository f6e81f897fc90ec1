//! Grants → AppArmor rules: canonicalise, check, escape, write.

use std::fmt::Write as _;
use std::path::Path;

use super::escape::{self, EscapeError};
use super::grammar;
use super::grant::{ChildKind, ChildProfile, Glob, Grant, Mode, Origin, PatternPart, Target};
use super::path::{self, PathVerdict, PrefixMatch, TreeRefusal};
use crate::host::Host;
use crate::Settings;

/// Something the operator should see, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diagnostic {
    Warning(String),
    /// An error that did not stop generation (a best-effort grant refused).
    Error(String),
    /// A granted path does not exist yet (QEMU may create it). libvirt
    /// reports this as a warning; svirt's own command stays quiet about it.
    PathMissing(String),
}

impl Diagnostic {
    pub fn text(&self) -> &str {
        match self {
            Diagnostic::Warning(t) | Diagnostic::Error(t) | Diagnostic::PathMissing(t) => t,
        }
    }
}

/// Why no profile can be made from these grants.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "{path}: refused, it is a restricted system path{}",
        resolved_note(path, canonical)
    )]
    Restricted {
        path: String,
        canonical: String,
        origin: Origin,
    },
    #[error(
        "{path}: refused ({origin}): a VM may not have this directory with what lies below it, {refusal}{}",
        resolved_note(path, canonical)
    )]
    Tree {
        path: String,
        canonical: String,
        refusal: Box<TreeRefusal>,
        origin: Origin,
    },
    #[error("{path}: refused, a path must not contain a double quote")]
    Quote { path: String, origin: Origin },
    #[error("{path}: could not resolve the existing part {prefix}: {source}")]
    Realpath {
        path: String,
        prefix: String,
        origin: Origin,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: refused, only absolute paths can be granted ({origin})")]
    Relative { path: String, origin: Origin },
    #[error("refused ({origin}): {source}")]
    Escape {
        origin: Origin,
        #[source]
        source: EscapeError,
    },
    /// A rule outside svirt's grammar was about to be written: a bug in
    /// svirt, caught before anything reaches the kernel.
    #[error(
        "internal error: refusing to write a rule outside svirt's grammar ({origin}): {reason}"
    )]
    Grammar { origin: Origin, reason: String },
}

fn resolved_note(path: &str, canonical: &str) -> String {
    if path == canonical {
        String::new()
    } else {
        format!(" (it resolves to {canonical})")
    }
}

/// Rule generation failed; `diagnostics` holds what was reported before.
#[derive(Debug, thiserror::Error)]
// Displays as the error itself; not a `source`, so a report does not print
// the same sentence twice.
#[error("{error}")]
pub struct PolicyFailure {
    pub diagnostics: Vec<Diagnostic>,
    pub error: Box<PolicyError>,
}

/// One grant as written into the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub grant: Grant,
    /// The path after canonicalisation (`None` for svirt-written patterns).
    pub canonical: Option<String>,
    /// The rule lines, each indented and newline-terminated.
    pub text: String,
    /// The rules inside a child profile ([`Target::Child`]), each as
    /// [`rule_for`] made it (their text, one level deeper, is part of
    /// `text`); empty for every other rule.
    pub inner: Vec<Rule>,
}

/// The rules for a VM, in order, and what was reported while making them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSet {
    /// Grants that produced rules (skipped relative paths are absent).
    pub rules: Vec<Rule>,
    pub diagnostics: Vec<Diagnostic>,
}

impl RuleSet {
    /// All rule lines, as they go into the `.files` include.
    pub fn text(&self) -> String {
        self.rules.iter().map(|r| r.text.as_str()).collect()
    }
}

/// The VM the rules are for, as far as the checks need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VmContext {
    /// Last components that make a directory this VM's own per-run
    /// directory (`domain-<id>-<name>`, `<id>-<name>`): such a directory
    /// may be granted as a tree inside libvirt's state directories.
    pub own_dir_names: Vec<String>,
}

/// Turns grants into rules, in order. Every rule is made by [`rule_for`]
/// and checked against the rule grammar before it is kept.
pub fn rules_for(
    grants: &[Grant],
    settings: &Settings,
    host: &dyn Host,
    vm: &VmContext,
) -> Result<RuleSet, PolicyFailure> {
    let cx = Cx { settings, host, vm };
    let mut set = RuleSet::default();
    for grant in grants {
        match rule_for(grant, &cx, &mut set.diagnostics) {
            Ok(Some(rule)) => set.rules.push(rule),
            Ok(None) => {}
            Err(PolicyError::Restricted { path, .. }) if grant.best_effort => {
                set.diagnostics.push(Diagnostic::Error(path));
                set.diagnostics
                    .push(Diagnostic::Error("skipped restricted file".to_owned()));
            }
            Err(error) => {
                return Err(PolicyFailure {
                    diagnostics: set.diagnostics,
                    error: Box::new(error),
                });
            }
        }
    }
    Ok(set)
}

struct Cx<'a> {
    settings: &'a Settings,
    host: &'a dyn Host,
    vm: &'a VmContext,
}

/// The shape of a rule's pattern around its checked literal.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The path itself.
    File,
    /// `<dir>/**` plus `<dir>/ r`.
    Tree,
    /// `<dir>/{,**}`.
    Subtree,
    /// `<dir>/{,*}`.
    Entries,
}

/// The one constructor of rule text. Every string that reaches a rule
/// passes through here: paths are made absolute and canonical and checked
/// ([`check_path`]), pattern literals are checked and escaped
/// ([`literal_text`]), and the text is formatted by [`write_rule`] and
/// checked against [`grammar`].
fn rule_for(
    grant: &Grant,
    cx: &Cx<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Option<Rule>, PolicyError> {
    let escape_err = |source| PolicyError::Escape {
        origin: grant.origin.clone(),
        source,
    };
    let (pattern, canonical, shape) = match &grant.target {
        Target::Child(child) => return child_rule(grant, child, cx, diagnostics).map(Some),
        Target::Fixed(f) => (f.as_str().to_owned(), None, Shape::File),
        Target::Pattern(parts) => (
            render_pattern(parts, cx.settings).map_err(escape_err)?,
            None,
            Shape::File,
        ),
        // libvirt writes the database as given, without any check.
        Target::Entries(dir) if !cx.settings.check_trees => {
            let mut p = literal_text(dir, cx.settings).map_err(escape_err)?;
            p.push('/');
            p.push_str(Glob::Entries.as_str());
            (p, None, Shape::File)
        }
        Target::Path(p) | Target::Tree(p) | Target::Subtree(p) | Target::Entries(p) => {
            let shape = match grant.target {
                Target::Tree(_) => Shape::Tree,
                Target::Subtree(_) => Shape::Subtree,
                Target::Entries(_) => Shape::Entries,
                _ => Shape::File,
            };
            let Some(checked) = check_path(grant, p, shape, cx, diagnostics)? else {
                return Ok(None);
            };
            (checked.literal, Some(checked.canonical), shape)
        }
    };
    // Without `quiet_write_deny` (safe mode, as libvirt 12.1) a read-only
    // grant is written without its `deny … w`, so that a write grant added
    // later (`-F` for a block job) is not overridden. The rule's grant says
    // what its text holds.
    let mut grant = grant.clone();
    if !cx.settings.quiet_write_deny {
        grant.quiet_write_deny = false;
    }
    let text = write_rule(&grant, &pattern, shape);
    if let Err(e) = grammar::check_rules_text(&text, cx.settings.escape_paths) {
        return Err(PolicyError::Grammar {
            origin: grant.origin,
            reason: e.to_string(),
        });
    }
    Ok(Some(Rule {
        grant,
        canonical,
        text,
        inner: Vec::new(),
    }))
}

/// A child profile as one rule: each of its grants is made by
/// [`rule_for`] (so checked like any other), the block is formatted by
/// [`write_child`], and the whole text is checked against [`grammar`].
fn child_rule(
    grant: &Grant,
    child: &ChildProfile,
    cx: &Cx<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Rule, PolicyError> {
    let grammar_err = |reason: String| PolicyError::Grammar {
        origin: grant.origin.clone(),
        reason,
    };
    let mut inner = Vec::new();
    for g in &child.grants {
        if matches!(g.target, Target::Child(_)) {
            return Err(grammar_err(
                "a child profile inside a child profile".to_owned(),
            ));
        }
        if let Some(rule) = rule_for(g, cx, diagnostics)? {
            inner.push(rule);
        }
    }
    let texts: Vec<&str> = inner.iter().map(|r| r.text.as_str()).collect();
    let text = write_child(child.kind, &texts);
    grammar::check_rules_text(&text, cx.settings.escape_paths)
        .map_err(|e| grammar_err(e.to_string()))?;
    Ok(Rule {
        grant: grant.clone(),
        canonical: None,
        text,
        inner,
    })
}

/// The text of a child profile: the exec transition, the header, the
/// inner rules (made by [`write_rule`], one level deeper), the kind's
/// fixed lines, the closing brace.
fn write_child(kind: ChildKind, inner: &[&str]) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "{}", kind.exec_line());
    let _ = writeln!(text, "{}", kind.header_line());
    for line in inner.iter().flat_map(|rule| rule.lines()) {
        let _ = writeln!(text, "  {line}");
    }
    for line in kind.fixed_lines() {
        let _ = writeln!(text, "{line}");
    }
    let _ = writeln!(text, "{}", ChildKind::CLOSE_LINE);
    text
}

const QUIET_DENY_COMMENT: &str = "  # don't audit writes to readonly files\n";

/// The only place rule text is formatted. `pattern` is checked text: an
/// escaped literal with at most one of svirt's globs, or a fixed pattern.
fn write_rule(grant: &Grant, pattern: &str, shape: Shape) -> String {
    let suffix = match shape {
        Shape::File => String::new(),
        Shape::Tree => format!("/{}", Glob::Everything.as_str()),
        Shape::Subtree => format!("/{}", Glob::Subtree.as_str()),
        Shape::Entries => format!("/{}", Glob::Entries.as_str()),
    };
    let mut text = String::new();
    if let Some(comment) = grant.comment {
        for line in comment.lines() {
            let _ = writeln!(text, "  # {line}");
        }
    }
    let deny = if grant.mode == Mode::Deny {
        "deny "
    } else {
        ""
    };
    let _ = writeln!(text, "  {deny}\"{pattern}{suffix}\" {},", grant.access);
    if grant.quiet_write_deny {
        text.push_str(QUIET_DENY_COMMENT);
        let _ = writeln!(text, "  deny \"{pattern}{suffix}\" w,");
    }
    if shape == Shape::Tree {
        let _ = writeln!(text, "  \"{pattern}/\" r,");
    }
    text
}

/// A literal piece of a svirt-written pattern, as rule text: control
/// characters and `"` are refused in every mode; escaped in safe mode.
fn literal_text(text: &str, settings: &Settings) -> Result<String, EscapeError> {
    escape::check_no_control(text)?;
    if settings.escape_paths {
        return escape::escape_literal(text);
    }
    if text.contains('"') {
        return Err(EscapeError::Quote {
            text: text.to_owned(),
        });
    }
    if let Some(sequence) = escape::find_escape_sequence(text) {
        return Err(EscapeError::EscapeSequence {
            text: text.to_owned(),
            sequence: sequence.to_owned(),
        });
    }
    Ok(text.to_owned())
}

fn render_pattern(parts: &[PatternPart], settings: &Settings) -> Result<String, EscapeError> {
    let mut out = String::new();
    for part in parts {
        match part {
            PatternPart::Glob(g) => out.push_str(g.as_str()),
            PatternPart::Literal(l) => out.push_str(&literal_text(l, settings)?),
            PatternPart::Name(n) => {
                path::check_component(n).map_err(|reason| EscapeError::NotAComponent {
                    text: n.clone(),
                    reason,
                })?;
                out.push_str(&literal_text(n, settings)?);
            }
        }
    }
    refuse_trailing_backslash(&out)?;
    Ok(out)
}

/// libvirt mode leaves `\` as is: an odd run at the end would escape the
/// closing quote and swallow the rest of the file.
fn refuse_trailing_backslash(text: &str) -> Result<(), EscapeError> {
    let run = text.bytes().rev().take_while(|b| *b == b'\\').count();
    if run % 2 == 1 {
        return Err(EscapeError::TrailingBackslash {
            text: text.to_owned(),
        });
    }
    Ok(())
}

/// A path from input after every check: absolute, canonical, allowed,
/// and as rule text.
struct CheckedPath {
    canonical: String,
    literal: String,
}

/// What a header-named path is refused for, as a warning.
fn header_refusal(grant: &Grant, path: &str, why: &str) -> Option<Diagnostic> {
    let h = grant.from_header.as_ref()?;
    Some(Diagnostic::Warning(format!(
        "{}: the {} its header names, {path}, is not granted: {why}",
        h.image, h.field
    )))
}

/// Makes `original` a checked literal: absolute, canonical (symlinks
/// resolved, so they cannot smuggle a system file past the checks),
/// outside the restricted locations, and for trees outside the no-tree
/// locations. `Ok(None)`: skipped with a diagnostic.
fn check_path(
    grant: &Grant,
    original: &str,
    shape: Shape,
    cx: &Cx<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Option<CheckedPath>, PolicyError> {
    let settings = cx.settings;
    let origin = || grant.origin.clone();
    let untrusted = settings.untrusted_header_paths && grant.from_header.is_some();
    let refuse_header = |diagnostics: &mut Vec<Diagnostic>, why: &str| {
        diagnostics.extend(header_refusal(grant, original, why));
        Ok(None)
    };
    if let Err(source) = escape::check_no_control(original) {
        if untrusted {
            return refuse_header(diagnostics, "it contains a control character");
        }
        return Err(PolicyError::Escape {
            origin: origin(),
            source,
        });
    }
    if !original.starts_with('/') {
        if settings.reject_relative_paths {
            return Err(PolicyError::Relative {
                path: original.to_owned(),
                origin: origin(),
            });
        }
        diagnostics.push(Diagnostic::Warning(original.to_owned()));
        diagnostics.push(Diagnostic::Warning("skipped non-absolute path".to_owned()));
        return Ok(None);
    }
    let mut canonical =
        path::canonicalize(original, cx.host).map_err(|e| PolicyError::Realpath {
            path: original.to_owned(),
            prefix: e.prefix,
            origin: origin(),
            source: e.source,
        })?;
    if settings.component_prefixes {
        canonical = path::normalize_lexically(&canonical);
    }
    if canonical.contains('"') && !settings.escape_paths {
        return Err(PolicyError::Quote {
            path: original.to_owned(),
            origin: origin(),
        });
    }
    let exists = cx.host.exists(Path::new(&canonical));
    // libvirt writes a database as a raw rule, without this warning.
    if !exists && shape != Shape::Entries {
        diagnostics.push(Diagnostic::PathMissing(canonical.clone()));
    }
    let read_only = grant.access.is_read_only();
    let nss_db = shape == Shape::Entries
        && read_only
        && path::READ_ONLY_ENTRIES.contains(&canonical.trim_end_matches('/'));
    if !nss_db && verdict(grant, &canonical, settings) == PathVerdict::Restricted {
        if untrusted {
            return refuse_header(diagnostics, "it is a restricted system path");
        }
        return Err(PolicyError::Restricted {
            path: original.to_owned(),
            canonical,
            origin: origin(),
        });
    }
    if untrusted && exists && cx.host.is_device(Path::new(&canonical)) {
        return refuse_header(
            diagnostics,
            "it is a device; name it in the domain (<backingStore>, <dataStore>) to grant it",
        );
    }
    if canonical.len() > 1 && canonical.ends_with('/') {
        canonical.pop();
    }
    if shape != Shape::File && settings.check_trees && !nss_db {
        let locations = path::no_tree_locations(&settings.layout);
        if let Err(refusal) = path::check_tree(&canonical, &locations, &cx.vm.own_dir_names) {
            return Err(PolicyError::Tree {
                path: original.to_owned(),
                canonical,
                refusal: Box::new(refusal),
                origin: origin(),
            });
        }
    }
    // libvirt strips one trailing slash; `/` itself becomes the empty
    // prefix of `/**`.
    let stem = if canonical == "/" && (shape != Shape::File || !settings.escape_paths) {
        ""
    } else {
        &canonical
    };
    let literal = literal_text(stem, settings).map_err(|source| PolicyError::Escape {
        origin: origin(),
        source,
    })?;
    refuse_trailing_backslash(&literal).map_err(|source| PolicyError::Escape {
        origin: origin(),
        source,
    })?;
    Ok(Some(CheckedPath { canonical, literal }))
}

/// The restricted-location verdict for a canonical path.
fn verdict(grant: &Grant, canonical: &str, settings: &Settings) -> PathVerdict {
    // PCI sysfs: only the files device assignment needs, only for a host
    // device or a file the caller adds.
    if settings.pci_sysfs_exact && canonical.starts_with(path::PCI_SYSFS_PREFIX) {
        let may = matches!(grant.origin, Origin::HostDev { .. } | Origin::Extra);
        return if may && path::is_pci_assignment_file(canonical) {
            PathVerdict::Allowed
        } else {
            PathVerdict::Restricted
        };
    }
    let how = if settings.component_prefixes {
        PrefixMatch::Component
    } else {
        PrefixMatch::String
    };
    path::check_prefixes(
        canonical,
        grant.access.is_read_only(),
        how,
        settings.firmware_dirs,
    )
}
