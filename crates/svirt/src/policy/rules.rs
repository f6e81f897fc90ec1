//! Grants → AppArmor rules: canonicalise, check, escape, write.

use std::fmt::Write as _;

use super::escape::{self, EscapeError};
use super::grant::{Grant, Mode, Origin, PatternPart, Target};
use super::path::{self, PathVerdict, PrefixMatch};
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

const QUIET_DENY_COMMENT: &str = "  # don't audit writes to readonly files\n";

/// Turns grants into rules, in order.
pub fn rules_for(
    grants: &[Grant],
    settings: &Settings,
    host: &dyn Host,
) -> Result<RuleSet, PolicyFailure> {
    let mut set = RuleSet::default();
    for grant in grants {
        match rule_for(grant, settings, host, &mut set.diagnostics) {
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

fn rule_for(
    grant: &Grant,
    settings: &Settings,
    host: &dyn Host,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Option<Rule>, PolicyError> {
    match &grant.target {
        Target::Pattern(parts) => {
            let pattern =
                render_pattern(parts, settings).map_err(|source| PolicyError::Escape {
                    origin: grant.origin.clone(),
                    source,
                })?;
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
            let _ = writeln!(text, "  {deny}\"{pattern}\" {},", grant.access);
            Ok(Some(Rule {
                grant: grant.clone(),
                canonical: None,
                text,
            }))
        }
        Target::Path(p) | Target::Tree(p) => {
            let recursive = matches!(grant.target, Target::Tree(_));
            file_rule(grant, p, recursive, settings, host, diagnostics)
        }
    }
}

fn render_pattern(parts: &[PatternPart], settings: &Settings) -> Result<String, EscapeError> {
    let mut out = String::new();
    for part in parts {
        match part {
            PatternPart::Glob(g) => out.push_str(g),
            PatternPart::Literal(l) if settings.escape_paths => {
                out.push_str(&escape::escape_literal(l)?)
            }
            PatternPart::Literal(l) => out.push_str(l),
        }
    }
    Ok(out)
}

fn file_rule(
    grant: &Grant,
    original: &str,
    recursive: bool,
    settings: &Settings,
    host: &dyn Host,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Option<Rule>, PolicyError> {
    let origin = || grant.origin.clone();
    if settings.escape_paths {
        escape::check_no_control(original).map_err(|source| PolicyError::Escape {
            origin: origin(),
            source,
        })?;
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
    let mut canonical = path::canonicalize(original, host).map_err(|e| PolicyError::Realpath {
        path: original.to_owned(),
        prefix: e.prefix,
        origin: origin(),
        source: e.source,
    })?;

    // The checks run on the canonical path, so a symlink cannot smuggle a
    // system file past them.
    if canonical.contains('"') && !settings.escape_paths {
        return Err(PolicyError::Quote {
            path: original.to_owned(),
            origin: origin(),
        });
    }
    if !host.exists(std::path::Path::new(&canonical)) {
        diagnostics.push(Diagnostic::PathMissing(canonical.clone()));
    }
    let how = if settings.component_prefixes {
        PrefixMatch::Component
    } else {
        PrefixMatch::String
    };
    if path::check_prefixes(&canonical, grant.access.is_read_only(), how) == PathVerdict::Restricted
    {
        return Err(PolicyError::Restricted {
            path: original.to_owned(),
            canonical,
            origin: origin(),
        });
    }
    if canonical.ends_with('/') {
        canonical.pop();
    }

    let literal = if settings.escape_paths {
        escape::escape_literal(&canonical).map_err(|source| PolicyError::Escape {
            origin: origin(),
            source,
        })?
    } else {
        canonical.clone()
    };
    let suffix = if recursive { "/**" } else { "" };
    let mut text = String::new();
    let _ = writeln!(text, "  \"{literal}{suffix}\" {},", grant.access);
    if grant.quiet_write_deny {
        text.push_str(QUIET_DENY_COMMENT);
        let _ = writeln!(text, "  deny \"{literal}{suffix}\" w,");
    }
    if recursive {
        let _ = writeln!(text, "  \"{literal}/\" r,");
    }
    Ok(Some(Rule {
        grant: grant.clone(),
        canonical: Some(canonical),
        text,
    }))
}
