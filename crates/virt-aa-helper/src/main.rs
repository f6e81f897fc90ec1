//! `virt-aa-helper`: a drop-in replacement for libvirt's helper.
//!
//! * `args.rs` parses the command line (no side effects);
//! * `run.rs` does the checks, then the side effects in a fixed order;
//! * `files.rs` writes atomically and locks; `parser.rs` runs
//!   `apparmor_parser`; `config.rs` reads the administrator's choice;
//! * this file turns every typed error into libvirt's lines and exit
//!   status 1, in one place.
//!
//! Paths are constants: nothing the caller controls changes where the
//! helper writes, which configuration it reads or which parser it runs.

mod args;
pub use svirt::policydir as files;
mod output;
mod parser;
mod run;

use std::io::Write;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;
use std::process::ExitCode;
use svirt::config;

use svirt::domain::DomainErrorKind;
use svirt::host::RealHost;
use svirt::policy::{PolicyError, TemplateError};

use crate::args::{ArgsError, Parsed};
use crate::output::Output;
use crate::run::{Context, Failure};

fn main() -> ExitCode {
    let argv: Vec<Vec<u8>> = std::env::args_os().map(OsStringExt::into_vec).collect();
    let prog = args::program_name(argv.first().map(Vec::as_slice).unwrap_or(b"")).to_vec();
    let mut out = Output::new(&prog);
    let code = match args::parse(&argv) {
        Ok(Parsed::Help) => {
            out.stdout = args::usage(&prog);
            ExitCode::SUCCESS
        }
        Ok(Parsed::Run(a)) => {
            let host = RealHost::new();
            let load_config = || config::load(Path::new(config::CONFIG_PATH));
            let run_parser =
                |action, profile: &Path, cache: Option<&Path>| parser::run(action, profile, cache);
            let is_loaded = |name: &svirt::policy::ProfileName| {
                // The distribution's helper profile cannot read the list
                // (and would log a denial): assume loaded, since libvirt's
                // `-F` always follows the `-c`/`-r` that loaded this `.files`.
                files::under_libvirt_helper_profile()
                    || svirt::apparmor::SecurityFs::new()
                        .profile_mode(name.as_str())
                        .map_or(true, |m| m.is_some())
            };
            let stdin = std::io::stdin();
            let mut lock = stdin.lock();
            let mut cx = Context {
                dir: Path::new(files::POLICY_DIR),
                load_config: &load_config,
                parser: &run_parser,
                is_loaded: &is_loaded,
                host: &host,
                stdin: &mut lock,
                lock_timeout: files::LOCK_TIMEOUT,
            };
            match run::run(&a, &mut cx, &mut out) {
                Ok(()) => ExitCode::SUCCESS,
                Err(f) => {
                    report(&f, &mut out);
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            report_args(&e, &mut out);
            ExitCode::FAILURE
        }
    };
    // Nothing useful can be done if the streams are closed.
    let _ = std::io::stdout().write_all(&out.stdout);
    let _ = std::io::stderr().write_all(&out.stderr);
    code
}

/// libvirt's output for a refused command line.
fn report_args(e: &ArgsError, out: &mut Output) {
    match e {
        ArgsError::Unsupported { getopt } => {
            if let Some(line) = getopt {
                out.raw_line(line);
            }
            out.error("unsupported option");
        }
        ArgsError::InvalidUuid => out.error("invalid UUID"),
        ArgsError::NoMode => out.stdout = args::usage(out.prog()),
    }
}

const NOT_DEFINED: &str = "could not get VM definition";
const INVALID: &str = "invalid VM definition";
const NOT_CREATED: &str = "could not create profile";
const PARSER_FAILED: &str = "apparmor_parser exited with error";

/// libvirt's lines for a failed run. svirt's own detail lines (naming the
/// path and the reason where libvirt prints a bare summary) come first;
/// those for I/O failures are always printed, the others only when
/// `out.verbose` (not in compat mode).
fn report(f: &Failure, out: &mut Output) {
    let verbose = out.verbose;
    let detail = |out: &mut Output, text: String| {
        if verbose {
            out.error(text);
        }
    };
    match f {
        Failure::Config(e) => out.error(e.to_string()),
        Failure::ReadXml(why) => {
            detail(out, why.clone());
            out.error("could not read xml file");
        }
        Failure::NotUtf8Xml => {
            detail(out, "the domain XML is not UTF-8".to_owned());
            out.error(NOT_DEFINED);
        }
        Failure::Definition(e) => {
            let kind = e.kind();
            match kind {
                DomainErrorKind::MissingName | DomainErrorKind::MissingUuid => {
                    out.warning(kind.libvirt_message().unwrap_or_default());
                }
                DomainErrorKind::Malformed | DomainErrorKind::Read => detail(out, e.to_string()),
                _ => {
                    if kind == DomainErrorKind::Invalid {
                        detail(out, e.to_string());
                    }
                    out.error(kind.libvirt_message().unwrap_or_default());
                }
            }
            out.error(kind.libvirt_summary());
        }
        Failure::BadName(e) => {
            detail(out, e.to_string());
            out.error("bad name");
            out.error(NOT_DEFINED);
        }
        Failure::UuidMismatch => {
            out.error("given uuid does not match XML uuid");
            out.error(INVALID);
        }
        Failure::Resources(e) => {
            detail(out, e.to_string());
            out.error(INVALID);
        }
        Failure::Policy(e) => {
            match e {
                PolicyError::Restricted { path, .. }
                | PolicyError::Tree { path, .. }
                | PolicyError::Quote { path, .. } => {
                    detail(out, e.to_string());
                    out.error(path);
                    out.error("skipped restricted file");
                }
                PolicyError::Realpath { prefix, .. } => {
                    detail(out, e.to_string());
                    out.error(prefix);
                    out.error("could not find realpath");
                }
                PolicyError::Relative { .. }
                | PolicyError::Escape { .. }
                | PolicyError::Grammar { .. } => {
                    out.error(e.to_string());
                }
            }
            out.error(INVALID);
        }
        Failure::ExtraNotUtf8(bytes) => {
            let mut line = bytes.clone();
            line.extend_from_slice(b": refused, the file name is not UTF-8");
            out.error(line);
            out.error(INVALID);
        }
        Failure::ProfileExists => out.error("profile exists"),
        Failure::ProfileMissing => out.error("profile does not exist"),
        Failure::Examine(e) | Failure::Lock(e) | Failure::ReadFiles(e) => out.error(e.to_string()),
        Failure::RemoveFiles(e) => out.error(e.to_string()),
        Failure::ZeroSizeRemove(p) => {
            detail(out, p.to_string());
            out.error(PARSER_FAILED);
            out.error("could not remove profile");
        }
        Failure::ZeroSizeUnlink(e) => {
            out.error(e.to_string());
            out.error("could not remove profile");
        }
        Failure::TemplateMissing(path) => {
            detail(out, format!("{path} does not exist"));
            out.error("template does not exist");
            out.error(NOT_CREATED);
        }
        Failure::TemplateRead(path, e) => {
            out.error(format!("could not read {path}: {e}"));
            out.error("failed to read AppArmor template");
            out.error(NOT_CREATED);
        }
        Failure::Template(e) => {
            detail(out, e.to_string());
            match e {
                TemplateError::TooLarge { .. } => out.error("invalid length for new profile"),
                _ => out.error("no replacement string in template"),
            }
            out.error(NOT_CREATED);
        }
        Failure::CreateProfile(e) => {
            out.error(e.to_string());
            out.error("failed to create profile");
            out.error(NOT_CREATED);
        }
        Failure::FilesTooLarge(size) => {
            detail(
                out,
                format!(
                    "the new .files would be {size} bytes, more than the limit of {} bytes",
                    files::MAX_FILE_BYTES
                ),
            );
            out.error("invalid length for new profile");
        }
        Failure::WriteFiles(e) => {
            out.error(e.to_string());
            out.error("failed to create include file");
        }
        Failure::Parser(p) => {
            detail(out, p.to_string());
            out.error(PARSER_FAILED);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(f: Failure, verbose: bool) -> String {
        let mut out = Output::new(b"virt-aa-helper");
        out.verbose = verbose;
        report(&f, &mut out);
        String::from_utf8(out.stderr).unwrap()
    }

    fn not_domain() -> svirt::domain::DomainError {
        svirt::domain::DomainError::NotDomain {
            element: "x".into(),
            at: svirt::domain::Position { line: 1, column: 1 },
        }
    }

    #[test]
    fn compat_lines_are_libvirts() {
        assert_eq!(
            lines(Failure::UuidMismatch, false),
            "virt-aa-helper: error: given uuid does not match XML uuid\n\
             virt-aa-helper: error: invalid VM definition\n"
        );
        assert_eq!(
            lines(
                Failure::Definition(svirt::domain::DomainError::MissingName),
                false
            ),
            "virt-aa-helper: warning: Could not find <name>\n\
             virt-aa-helper: error: could not get VM definition\n"
        );
        assert_eq!(
            lines(Failure::Definition(not_domain()), false),
            "virt-aa-helper: error: could not get VM definition\n"
        );
        assert_eq!(
            lines(
                Failure::Policy(PolicyError::Restricted {
                    path: "/etc/passwd".into(),
                    canonical: "/etc/passwd".into(),
                    origin: svirt::policy::Origin::Extra
                }),
                false
            ),
            "virt-aa-helper: error: /etc/passwd\n\
             virt-aa-helper: error: skipped restricted file\n\
             virt-aa-helper: error: invalid VM definition\n"
        );
    }

    #[test]
    fn safe_mode_names_the_reason() {
        let text = lines(Failure::Definition(not_domain()), true);
        assert!(
            text.starts_with("virt-aa-helper: error: line 1, column 1: the root element is <x>"),
            "{text}"
        );
        assert!(text.ends_with("error: could not get VM definition\n"));
    }

    #[test]
    fn getopt_line_then_unsupported() {
        let mut out = Output::new(b"virt-aa-helper");
        report_args(
            &ArgsError::Unsupported {
                getopt: Some(b"/x/virt-aa-helper: invalid option -- 'x'".to_vec()),
            },
            &mut out,
        );
        assert_eq!(
            out.stderr,
            b"/x/virt-aa-helper: invalid option -- 'x'\nvirt-aa-helper: error: unsupported option\n"
        );
    }
}
