//! Running `apparmor_parser`, the one tool that compiles policy.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where distributions install the parser, in the order it is looked for.
pub const PARSER_LOCATIONS: &[&str] = &["/sbin/apparmor_parser", "/usr/sbin/apparmor_parser"];

/// Finds the parser in its standard locations. The search never consults
/// `PATH` or anything else the caller controls.
pub fn find_parser() -> Option<PathBuf> {
    PARSER_LOCATIONS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
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
