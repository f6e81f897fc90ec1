//! Running `virt-aa-helper` the way libvirt's driver does (spec §1.10).
//!
//! The helper is the only program that writes `/etc/apparmor.d/libvirt`
//! and loads policy; the manager only hands it the domain XML on stdin.
//! That split is the point: a subverted manager cannot write policy
//! itself. The helper's environment is cleared except for
//! `LIBVIRT_LOG_OUTPUTS`.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

/// How the helper ended, when it did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelperExit {
    /// It exited with this status (libvirt's helper uses only 1).
    Code(i32),
    /// A signal killed it.
    Signal(i32),
}

impl HelperExit {
    fn from_status(status: ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => HelperExit::Code(code),
            (None, Some(sig)) => HelperExit::Signal(sig),
            (None, None) => HelperExit::Code(-1),
        }
    }
}

/// A failed helper run.
#[derive(Debug, thiserror::Error)]
pub enum HelperError {
    #[error("cannot run the AppArmor helper {helper}")]
    Spawn {
        helper: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot wait for the AppArmor helper {helper}")]
    Wait {
        helper: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}", failed_message(helper, args, *exit, stderr))]
    Failed {
        helper: PathBuf,
        args: Vec<String>,
        exit: HelperExit,
        /// What the helper printed on stderr, trimmed.
        stderr: String,
    },
}

fn failed_message(helper: &Path, args: &[String], exit: HelperExit, stderr: &str) -> String {
    let how = match exit {
        HelperExit::Code(_) => "failed",
        HelperExit::Signal(_) => "was killed",
    };
    let mut msg = format!("{} {} {how}", helper.display(), args.join(" "));
    if !stderr.is_empty() {
        msg.push_str(": ");
        msg.push_str(stderr);
    }
    msg
}

/// What to ask of the helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelperMode<'a> {
    /// `-c`: create the profile (and `.files`) from the XML and load it.
    Create,
    /// `-r`: regenerate `.files` from the XML and reload.
    Replace,
    /// `-r -F FILE`: append one rule for FILE to `.files` and reload.
    Append(&'a Path),
    /// `-D`: unload the profile and delete `.files`.
    Delete,
}

/// The helper binary and the one environment variable it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helper {
    pub path: PathBuf,
    /// `LIBVIRT_LOG_OUTPUTS` (libvirt passes `<priority>:stderr`); `None`
    /// runs the helper with an empty environment.
    pub log_outputs: Option<String>,
}

impl fmt::Display for Helper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.path.display().fmt(f)
    }
}

impl Helper {
    /// The arguments for one run, after the program name.
    pub fn args(mode: HelperMode<'_>, profile: &str) -> Vec<OsString> {
        let flag = match mode {
            HelperMode::Create => "-c",
            HelperMode::Replace | HelperMode::Append(_) => "-r",
            HelperMode::Delete => "-D",
        };
        let mut args: Vec<OsString> = vec![flag.into(), "-u".into(), profile.into()];
        if let HelperMode::Append(file) = mode {
            args.push("-F".into());
            args.push(file.as_os_str().to_owned());
        }
        args
    }

    /// Runs the helper. `xml` goes to stdin for the modes that read it
    /// (`-c`, `-r`); `-D` gets no stdin.
    pub fn run(&self, mode: HelperMode<'_>, profile: &str, xml: &str) -> Result<(), HelperError> {
        let args = Helper::args(mode, profile);
        let mut cmd = Command::new(&self.path);
        cmd.args(&args).env_clear();
        if let Some(v) = &self.log_outputs {
            cmd.env("LIBVIRT_LOG_OUTPUTS", v);
        }
        let feed = !matches!(mode, HelperMode::Delete);
        cmd.stdin(if feed { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = spawn_retrying_busy(&mut cmd).map_err(|source| HelperError::Spawn {
            helper: self.path.clone(),
            source,
        })?;
        let stdin = child.stdin.take();
        // Feed stdin from a second thread while this one drains stderr, so
        // neither pipe can fill up and stall the other side.
        let output = std::thread::scope(|s| {
            if let Some(mut pipe) = stdin {
                s.spawn(move || {
                    // A helper that exits without reading everything closes
                    // the pipe; its exit status is what reports that.
                    let _ = pipe.write_all(xml.as_bytes());
                });
            }
            child.wait_with_output()
        })
        .map_err(|source| HelperError::Wait {
            helper: self.path.clone(),
            source,
        })?;
        if output.status.success() {
            return Ok(());
        }
        Err(HelperError::Failed {
            helper: self.path.clone(),
            args: args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            exit: HelperExit::from_status(output.status),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

/// Spawns `cmd`, retrying briefly on `ETXTBSY`: a helper binary that was
/// just replaced (a package upgrade) can still be open for writing in a
/// child another thread forked but has not exec'd yet.
fn spawn_retrying_busy(cmd: &mut Command) -> std::io::Result<std::process::Child> {
    const ETXTBSY: i32 = 26;
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(ETXTBSY) && tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_per_mode() {
        let show = |m| {
            Helper::args(m, "libvirt-x")
                .into_iter()
                .map(|a| a.into_string().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(show(HelperMode::Create), ["-c", "-u", "libvirt-x"]);
        assert_eq!(show(HelperMode::Replace), ["-r", "-u", "libvirt-x"]);
        assert_eq!(
            show(HelperMode::Append(Path::new("/a b"))),
            ["-r", "-u", "libvirt-x", "-F", "/a b"]
        );
        assert_eq!(show(HelperMode::Delete), ["-D", "-u", "libvirt-x"]);
    }

    #[test]
    fn failure_message_has_args_and_stderr_not_the_status() {
        let err = HelperError::Failed {
            helper: "/h".into(),
            args: vec!["-D".into(), "-u".into(), "p".into()],
            exit: HelperExit::Code(1),
            stderr: "virt-aa-helper: error: profile does not exist".into(),
        };
        assert_eq!(
            err.to_string(),
            "/h -D -u p failed: virt-aa-helper: error: profile does not exist"
        );
    }

    #[test]
    fn missing_helper_is_a_spawn_error() {
        let h = Helper {
            path: "/nonexistent/virt-aa-helper".into(),
            log_outputs: None,
        };
        let err = h.run(HelperMode::Replace, "p", "<domain/>").unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot run the AppArmor helper /nonexistent/virt-aa-helper"
        );
    }
}
