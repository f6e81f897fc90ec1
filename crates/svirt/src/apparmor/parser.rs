//! Running `apparmor_parser`, the one tool that compiles policy.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where distributions install the parser, in the order it is looked for:
/// libvirt 9.0's hard-coded `/sbin`, then `/usr/sbin` (Debian, where `/sbin`
/// is a link to it), then `/usr/bin` (distributions with merged `sbin`, such
/// as Arch and Void: void-linux #31904).
pub const PARSER_LOCATIONS: &[&str] = &[
    "/sbin/apparmor_parser",
    "/usr/sbin/apparmor_parser",
    "/usr/bin/apparmor_parser",
];

/// Finds the parser in its standard locations. The search never consults
/// `PATH` or anything else the caller controls.
pub fn find_parser() -> Option<PathBuf> {
    PARSER_LOCATIONS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// The parser as libvirt runs it: a cleared environment with
/// `PATH=/sbin:/usr/sbin` and `IFS`, no stdin or stdout, stderr discarded
/// (callers change what they need).
pub fn libvirt_command(parser: &Path) -> Command {
    let mut cmd = Command::new(parser);
    cmd.env_clear()
        .env("PATH", "/sbin:/usr/sbin")
        .env("IFS", " \t\n")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// The parser's standard output for `args`, run as libvirt runs it (a
/// cleared environment with `PATH=/sbin:/usr/sbin`, no stdin, stderr
/// discarded), at most [`super::cache::MAX_ENTRY_BYTES`]; `None` if it
/// cannot run, fails or says more.
pub fn capture(parser: &Path, args: &[&std::ffi::OsStr]) -> Option<Vec<u8>> {
    use std::io::Read;
    let limit = super::cache::MAX_ENTRY_BYTES;
    let mut child = libvirt_command(parser)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut out = Vec::new();
    let read = child
        .stdout
        .take()?
        .take(limit as u64 + 1)
        .read_to_end(&mut out);
    let status = child.wait().ok()?;
    (read.is_ok() && status.success() && out.len() <= limit).then_some(out)
}

#[derive(Debug, thiserror::Error)]
pub enum ParserError {
    #[error("apparmor_parser is not installed (looked in {}); install the apparmor package", PARSER_LOCATIONS.join(", "))]
    NotInstalled,
    #[error("could not run {parser}: {source}")]
    Spawn {
        parser: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("apparmor_parser rejected {profile}:\n{stderr}")]
    Rejected {
        profile: PathBuf,
        status: Option<i32>,
        stderr: String,
    },
    #[error("apparmor_parser produced no binary policy for {profile}")]
    NoOutput { profile: PathBuf },
}

/// Compiles `profile` without loading it (`-Q -K`), resolving includes from
/// `base` first and then from each of `include_dirs`.
pub fn compile_only(
    profile: &Path,
    base: &Path,
    include_dirs: &[&Path],
) -> Result<(), ParserError> {
    let parser = find_parser().ok_or(ParserError::NotInstalled)?;
    let mut cmd = Command::new(&parser);
    cmd.arg("-Q").arg("-K").arg("--base").arg(base);
    for dir in include_dirs {
        cmd.arg("-I").arg(dir);
    }
    cmd.arg(profile)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let out = cmd.output().map_err(|source| ParserError::Spawn {
        parser: parser.clone(),
        source,
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ParserError::Rejected {
            profile: profile.to_owned(),
            status: out.status.code(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// Compiles profiles to binary policy with `apparmor_parser`, without
/// loading anything (`-Q`) and without its mtime-keyed cache (`-K`), so it
/// needs no privilege. Loading is a separate step
/// ([`super::SecurityFs::replace_policy`]).
///
/// ```no_run
/// use std::path::Path;
/// use svirt::apparmor::{Compiler, SecurityFs};
///
/// let binary = Compiler::find()?
///     .include_dir("/etc/apparmor.d")
///     .compile(Path::new("/etc/apparmor.d/libvirt/libvirt-8f1e2c3d-0000-4000-8000-000000000001"))?;
/// SecurityFs::new().replace_policy(&binary)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiler {
    parser: PathBuf,
    base: Option<PathBuf>,
    include_dirs: Vec<PathBuf>,
    features_file: Option<PathBuf>,
}

impl Compiler {
    /// The parser found in [`PARSER_LOCATIONS`].
    pub fn find() -> Result<Self, ParserError> {
        find_parser()
            .map(Compiler::with_parser)
            .ok_or(ParserError::NotInstalled)
    }

    /// A specific parser binary.
    pub fn with_parser(parser: impl Into<PathBuf>) -> Self {
        Compiler {
            parser: parser.into(),
            base: None,
            include_dirs: Vec::new(),
            features_file: None,
        }
    }

    /// `--base DIR`: where relative includes are resolved first.
    pub fn base(mut self, dir: impl Into<PathBuf>) -> Self {
        self.base = Some(dir.into());
        self
    }

    /// `-I DIR`: a further include directory (repeatable).
    pub fn include_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.include_dirs.push(dir.into());
        self
    }

    /// `-M FILE`: compile for the features in FILE instead of the running
    /// kernel's (e.g. when the compiling host has no AppArmor).
    pub fn features_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.features_file = Some(file.into());
        self
    }

    /// The parser arguments shared by both outputs.
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.parser);
        cmd.arg("-Q").arg("-K");
        if let Some(base) = &self.base {
            cmd.arg("--base").arg(base);
        }
        for dir in &self.include_dirs {
            cmd.arg("-I").arg(dir);
        }
        if let Some(file) = &self.features_file {
            cmd.arg("-M").arg(file);
        }
        cmd.stdin(Stdio::null()).stderr(Stdio::piped());
        cmd
    }

    fn run(&self, mut cmd: Command, profile: &Path) -> Result<Vec<u8>, ParserError> {
        let out = cmd.output().map_err(|source| ParserError::Spawn {
            parser: self.parser.clone(),
            source,
        })?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(ParserError::Rejected {
                profile: profile.to_owned(),
                status: out.status.code(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            })
        }
    }

    /// Compiles `profile` and returns the binary policy (`-S`, to stdout).
    pub fn compile(&self, profile: &Path) -> Result<Vec<u8>, ParserError> {
        let mut cmd = self.command();
        cmd.arg("-S").arg(profile).stdout(Stdio::piped());
        let binary = self.run(cmd, profile)?;
        if binary.is_empty() {
            return Err(ParserError::NoOutput {
                profile: profile.to_owned(),
            });
        }
        Ok(binary)
    }

    /// Compiles `profile` into the file `output` (`-o FILE`).
    pub fn compile_to_file(&self, profile: &Path, output: &Path) -> Result<(), ParserError> {
        let mut cmd = self.command();
        cmd.arg("-o").arg(output).arg(profile).stdout(Stdio::null());
        self.run(cmd, profile).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn parser_locations_in_search_order() {
        // libvirt 9.0's location first, so a host with several finds the
        // one libvirt would run; /usr/bin last (merged-sbin distributions).
        assert_eq!(
            PARSER_LOCATIONS,
            [
                "/sbin/apparmor_parser",
                "/usr/sbin/apparmor_parser",
                "/usr/bin/apparmor_parser"
            ]
        );
        // And the helper profile may run each of them.
        let profile = include_str!("../../../../policy/usr.lib.libvirt.virt-aa-helper");
        assert!(profile.contains("  /{usr/,}{s,}bin/apparmor_parser Ux,\n"));
    }

    /// A stand-in parser that records its arguments and prints `BIN`.
    fn fake_parser(dir: &Path, exit: i32) -> PathBuf {
        let path = dir.join("apparmor_parser");
        let log = dir.join("argv");
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nprintf BIN\necho 'parser says no' >&2\nexit {exit}\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn argv(dir: &Path) -> Vec<String> {
        std::fs::read_to_string(dir.join("argv"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn compile_to_stdout_and_to_file() {
        let tmp = tempfile::tempdir().unwrap();
        let c = Compiler::with_parser(fake_parser(tmp.path(), 0))
            .base("/b")
            .include_dir("/i")
            .features_file("/f");
        let bin = c.compile(Path::new("/p/prof")).unwrap();
        assert_eq!(bin, b"BIN");
        assert_eq!(
            argv(tmp.path()),
            ["-Q", "-K", "--base", "/b", "-I", "/i", "-M", "/f", "-S", "/p/prof"]
        );
        c.compile_to_file(Path::new("/p/prof"), Path::new("/o/out"))
            .unwrap();
        assert_eq!(argv(tmp.path())[8..], ["-o", "/o/out", "/p/prof"]);
    }

    #[test]
    fn rejection_keeps_stderr_and_names_the_profile() {
        let tmp = tempfile::tempdir().unwrap();
        let c = Compiler::with_parser(fake_parser(tmp.path(), 1));
        let err = c.compile(Path::new("/p/prof")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "apparmor_parser rejected /p/prof:\nparser says no\n"
        );
        let err = Compiler::with_parser(tmp.path().join("none"))
            .compile(Path::new("/p"))
            .unwrap_err();
        assert!(matches!(err, ParserError::Spawn { .. }));
    }
}
