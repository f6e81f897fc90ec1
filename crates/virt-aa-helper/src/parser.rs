//! Running `apparmor_parser` to load, reload or unload a profile.
//!
//! The parser is found only in its standard locations
//! ([`svirt::apparmor::parser::find_parser`]), runs with exactly two
//! arguments (the flag and the profile path), a cleared environment plus
//! `PATH=/sbin:/usr/sbin` and `IFS=" \t\n"`, and no standard streams, as
//! libvirt runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use svirt::apparmor::parser::{find_parser, PARSER_LOCATIONS};

/// The exit status with which the parser reports that a profile to remove
/// is not loaded.
pub const NOT_LOADED_STATUS: i32 = 234;

/// What the parser is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `-a`: load.
    Load,
    /// `-r`: replace.
    Replace,
    /// `-R`: remove.
    Remove,
    /// `-R` with only the profile's name on stdin (`unload_by_name`).
    RemoveByName,
}

impl Action {
    pub fn flag(self) -> &'static str {
        match self {
            Action::Load => "-a",
            Action::Replace => "-r",
            Action::Remove | Action::RemoveByName => "-R",
        }
    }
}

/// Why running the parser failed.
#[derive(Debug)]
pub enum ParserFailure {
    NotInstalled,
    Spawn {
        parser: PathBuf,
        source: std::io::Error,
    },
    /// Exit status (`None`: killed by a signal).
    Status {
        parser: PathBuf,
        action: Action,
        profile: PathBuf,
        status: Option<i32>,
    },
}

impl std::fmt::Display for ParserFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParserFailure::NotInstalled => write!(
                f,
                "apparmor_parser is not installed (looked in {})",
                PARSER_LOCATIONS.join(", ")
            ),
            ParserFailure::Spawn { parser, source } => {
                write!(f, "could not run {}: {source}", parser.display())
            }
            ParserFailure::Status {
                parser,
                action,
                profile,
                status: Some(s),
            } => write!(
                f,
                "{} {} {} exited with status {s}",
                parser.display(),
                action.flag(),
                profile.display()
            ),
            ParserFailure::Status {
                parser,
                action,
                profile,
                status: None,
            } => write!(
                f,
                "{} {} {} was killed by a signal",
                parser.display(),
                action.flag(),
                profile.display()
            ),
        }
    }
}

/// The result of a successful run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    Ok,
    /// `-R` of a profile that was not loaded (status 234): success.
    WasNotLoaded,
}

/// Runs the parser found in the standard locations.
pub fn run(action: Action, profile: &Path) -> Result<Ran, ParserFailure> {
    let parser = find_parser().ok_or(ParserFailure::NotInstalled)?;
    run_with(&parser, action, profile)
}

/// The stand-in that `-R` reads from stdin instead of the profile file:
/// removal only needs the profile's name (the kernel drops the profile and
/// its children by name), and parsing the real file means preprocessing
/// and compiling the whole abstraction just to learn that name. `None` when
/// the file name is not a plain profile name.
fn removal_stub(profile: &Path) -> Option<String> {
    let name = profile.file_name()?.to_str()?;
    let plain = name.starts_with(svirt::policy::PROFILE_PREFIX)
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    plain.then(|| format!("profile {name} {{}}\n"))
}

/// Runs `parser` (tests pass a fake one).
pub fn run_with(parser: &Path, action: Action, profile: &Path) -> Result<Ran, ParserFailure> {
    let stub = (action == Action::RemoveByName)
        .then(|| removal_stub(profile))
        .flatten();
    let mut cmd = Command::new(parser);
    cmd.arg(action.flag());
    if stub.is_none() {
        cmd.arg(profile);
    }
    cmd.env_clear()
        .env("PATH", "/sbin:/usr/sbin")
        .env("IFS", " \t\n")
        .stdin(if stub.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let spawn_error = |source| ParserFailure::Spawn {
        parser: parser.to_owned(),
        source,
    };
    let mut child = cmd.spawn().map_err(spawn_error)?;
    if let (Some(text), Some(mut stdin)) = (&stub, child.stdin.take()) {
        use std::io::Write;
        // A parser that exits early closes the pipe; its status tells.
        let _ = stdin.write_all(text.as_bytes());
    }
    let status = child.wait().map_err(spawn_error)?;
    match status.code() {
        Some(0) => Ok(Ran::Ok),
        Some(NOT_LOADED_STATUS) if matches!(action, Action::Remove | Action::RemoveByName) => {
            Ok(Ran::WasNotLoaded)
        }
        code => Err(ParserFailure::Status {
            parser: parser.to_owned(),
            action,
            profile: profile.to_owned(),
            status: code,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fake(dir: &Path, body: &str) -> PathBuf {
        let p = dir.join("parser");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn arguments_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let p = fake(
            dir.path(),
            &format!(
                "{{ for a in \"$@\"; do echo \"arg:$a\"; done; export -p; }} > {}",
                log.display()
            ),
        );
        assert_eq!(
            run_with(&p, Action::Replace, Path::new("/x/prof")),
            Ok(Ran::Ok)
        );
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.starts_with("arg:-r\narg:/x/prof\n"), "{text}");
        assert!(text.contains("PATH='/sbin:/usr/sbin'"), "{text}");
        assert!(!text.contains("HOME="), "{text}");
    }

    #[test]
    fn removal_reads_a_stub_with_the_name_from_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let p = fake(
            dir.path(),
            &format!("{{ echo \"args:$*\"; /bin/cat; }} > {}", log.display()),
        );
        let profile = Path::new("/etc/apparmor.d/libvirt/libvirt-0a-b");
        assert_eq!(run_with(&p, Action::RemoveByName, profile), Ok(Ran::Ok));
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(text, "args:-R\nprofile libvirt-0a-b {}\n");
        // libvirt's way, and anything but a plain name, use the file.
        assert_eq!(run_with(&p, Action::Remove, profile), Ok(Ran::Ok));
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(text, format!("args:-R {}\n", profile.display()));
        let odd = Path::new("/x/libvirt-A B");
        assert_eq!(run_with(&p, Action::RemoveByName, odd), Ok(Ran::Ok));
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(text, "args:-R /x/libvirt-A B\n");
    }

    #[test]
    fn status_234_counts_only_for_remove() {
        let dir = tempfile::tempdir().unwrap();
        let p = fake(dir.path(), "exit 234");
        assert_eq!(
            run_with(&p, Action::Remove, Path::new("/x")),
            Ok(Ran::WasNotLoaded)
        );
        let e = run_with(&p, Action::Load, Path::new("/x")).unwrap_err();
        assert!(
            e.to_string().ends_with("-a /x exited with status 234"),
            "{e}"
        );
    }

    #[test]
    fn spawn_failures_name_the_parser() {
        let e = run_with(
            Path::new("/nonexistent/parser"),
            Action::Load,
            Path::new("/x"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/parser"), "{e}");
    }

    impl PartialEq for ParserFailure {
        fn eq(&self, other: &Self) -> bool {
            self.to_string() == other.to_string()
        }
    }
}
