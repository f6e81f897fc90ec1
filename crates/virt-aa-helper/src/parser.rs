//! Running `apparmor_parser` to load, reload or unload a profile.
//!
//! The parser is found only in its standard locations
//! ([`svirt::apparmor::parser::find_parser`]), runs with exactly two
//! arguments (the flag and the profile path), a cleared environment plus
//! `PATH=/sbin:/usr/sbin` and `IFS=" \t\n"`, and no standard streams, as
//! libvirt runs it.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use svirt::apparmor::cache;
use svirt::apparmor::parser::{capture, find_parser, libvirt_command, PARSER_LOCATIONS};
use svirt::policydir as files;

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

/// Runs the parser found in the standard locations; a load or replace
/// goes through the VM's compiled-policy cache when one is given.
pub fn run(action: Action, profile: &Path, cache: Option<&Path>) -> Result<Ran, ParserFailure> {
    let parser = find_parser().ok_or(ParserFailure::NotInstalled)?;
    match cache {
        Some(cache) if matches!(action, Action::Load | Action::Replace) => {
            run_cached(&parser, action, profile, cache)
        }
        _ => run_with(&parser, action, profile),
    }
}

/// Loads or replaces with binary policy: `-a|-r -B FILE`.
fn load_binary(parser: &Path, action: Action, binary: &Path) -> bool {
    libvirt_command(parser)
        .arg(action.flag())
        .arg("-B")
        .arg(binary)
        .status()
        .is_ok_and(|s| s.success())
}

/// Writes `binary` to a temporary beside `cache` (named after it, so the
/// helper profiles allow it), loads it and removes it.
fn load_via_temporary(parser: &Path, action: Action, cache: &Path, binary: &[u8]) -> bool {
    let Ok(temp) = files::write_temp(cache, binary) else {
        return false;
    };
    let loaded = load_binary(parser, action, &temp);
    let _ = std::fs::remove_file(&temp);
    loaded
}

/// A load or replace through the VM's compiled-policy cache
/// ([`svirt::apparmor::cache`]): the profile is preprocessed (`-p`, which
/// compiles nothing) and the parser asked for its features directory; when
/// the cache entry was made from exactly that, its binary is loaded
/// (`-B`). Otherwise the profile is compiled once (`-Q -K -S`), the entry
/// replaced, and the new binary loaded. Whatever goes wrong on the way
/// falls back to the plain `-a`/`-r` of the profile file, so the result
/// and its exit status are never worse than without a cache.
fn run_cached(
    parser: &Path,
    action: Action,
    profile: &Path,
    cache_file: &Path,
) -> Result<Ran, ParserFailure> {
    let plain = || run_with(parser, action, profile);
    let Ok(identity) = cache::parser_identity(parser) else {
        return plain();
    };
    let Some(preprocessed) = capture(parser, &["-p".as_ref(), profile.as_os_str()]) else {
        return plain();
    };
    let Some(features) = capture(parser, &["--print-cache-dir".as_ref()]) else {
        return plain();
    };
    let key = cache::key(
        &identity,
        &String::from_utf8_lossy(&features),
        &preprocessed,
    );
    if let Ok(Some(entry)) = files::read_limited(cache_file, cache::MAX_ENTRY_BYTES) {
        if let Some(binary) = cache::binary_for(&entry, &key) {
            if load_via_temporary(parser, action, cache_file, binary) {
                return Ok(Ran::Ok);
            }
        }
    }
    let compile = ["-Q", "-K", "-S"].map(std::ffi::OsStr::new);
    let args = [&compile[..], &[profile.as_os_str()]].concat();
    let Some(binary) = capture(parser, &args).filter(|b| !b.is_empty()) else {
        let _ = files::remove(cache_file);
        return plain();
    };
    if files::replace_atomically(cache_file, &cache::encode(&key, &binary)).is_err()
        || !load_via_temporary(parser, action, cache_file, &binary)
    {
        let _ = files::remove(cache_file);
        return plain();
    }
    Ok(Ran::Ok)
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
    let mut cmd = libvirt_command(parser);
    cmd.arg(action.flag());
    if stub.is_some() {
        cmd.stdin(Stdio::piped());
    } else {
        cmd.arg(profile);
    }
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

    /// A parser that preprocesses by printing the file, "compiles" to
    /// `BIN:` and the text, and logs every call.
    fn caching_fake(dir: &Path, compile_fails: bool) -> PathBuf {
        let d = dir.display();
        let compile = if compile_fails {
            "exit 1".to_owned()
        } else {
            "printf BIN: ; /bin/cat \"$4\"".to_owned()
        };
        fake(
            dir,
            &format!(
                "case \"$1\" in\n\
                 -p) echo p >> {d}/log; /bin/cat \"$2\" ;;\n\
                 --print-cache-dir) echo dir >> {d}/log; /bin/cat {d}/features ;;\n\
                 -Q) echo compile >> {d}/log; {compile} ;;\n\
                 *) if [ \"$2\" = -B ]; then echo \"load $1 $(/bin/cat \"$3\")\" >> {d}/log;\n\
                    else echo \"plain $1\" >> {d}/log; fi ;;\n\
                 esac"
            ),
        )
    }

    fn take_log(dir: &Path) -> Vec<String> {
        let log = dir.join("log");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn the_cache_loads_compiled_policy_only_for_what_it_was_made_from() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let parser = caching_fake(d, false);
        std::fs::write(d.join("features"), "/var/cache/apparmor/abc.0\n").unwrap();
        let profile = d.join("libvirt-x");
        let cache = d.join("libvirt-x.cache");
        std::fs::write(&profile, "profile one").unwrap();
        let run = || run_cached(&parser, Action::Replace, &profile, &cache);

        assert_eq!(run(), Ok(Ran::Ok));
        assert_eq!(
            take_log(d),
            ["p", "dir", "compile", "load -r BIN:profile one"]
        );
        // Unchanged: loaded from the cache, nothing compiled.
        assert_eq!(run(), Ok(Ran::Ok));
        assert_eq!(take_log(d), ["p", "dir", "load -r BIN:profile one"]);
        assert_eq!(
            run_cached(&parser, Action::Load, &profile, &cache),
            Ok(Ran::Ok)
        );
        assert_eq!(take_log(d), ["p", "dir", "load -a BIN:profile one"]);

        // The preprocessed text (template, abstractions, .files, override).
        std::fs::write(&profile, "profile two").unwrap();
        assert_eq!(run(), Ok(Ran::Ok));
        assert_eq!(
            take_log(d),
            ["p", "dir", "compile", "load -r BIN:profile two"]
        );
        // The kernel's features.
        std::fs::write(d.join("features"), "/var/cache/apparmor/def.0\n").unwrap();
        assert_eq!(run(), Ok(Ran::Ok));
        assert_eq!(
            take_log(d),
            ["p", "dir", "compile", "load -r BIN:profile two"]
        );
        assert_eq!(run(), Ok(Ran::Ok));
        assert_eq!(take_log(d), ["p", "dir", "load -r BIN:profile two"]);
        // The parser itself (an upgrade replaces the file).
        std::fs::remove_file(&parser).unwrap();
        let parser = caching_fake(d, false);
        assert_eq!(
            run_cached(&parser, Action::Replace, &profile, &cache),
            Ok(Ran::Ok)
        );
        assert_eq!(
            take_log(d),
            ["p", "dir", "compile", "load -r BIN:profile two"]
        );
        // A damaged entry is compiled again.
        let mut entry = std::fs::read(&cache).unwrap();
        entry.truncate(entry.len() - 3);
        std::fs::write(&cache, entry).unwrap();
        assert_eq!(
            run_cached(&parser, Action::Replace, &profile, &cache),
            Ok(Ran::Ok)
        );
        assert_eq!(
            take_log(d),
            ["p", "dir", "compile", "load -r BIN:profile two"]
        );
        // No temporaries are left.
        let left: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_failing_compile_falls_back_to_the_plain_load() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let parser = caching_fake(d, true);
        std::fs::write(d.join("features"), "x").unwrap();
        let profile = d.join("libvirt-x");
        std::fs::write(&profile, "profile one").unwrap();
        let cache = d.join("libvirt-x.cache");
        assert_eq!(
            run_cached(&parser, Action::Replace, &profile, &cache),
            Ok(Ran::Ok)
        );
        assert_eq!(take_log(d), ["p", "dir", "compile", "plain -r"]);
        assert!(!cache.exists());
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
