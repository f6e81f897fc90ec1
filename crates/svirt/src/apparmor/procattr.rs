//! A process's AppArmor label, through the proc attr files.
//!
//! AppArmor has its own directory, `<proc>/<pid>/attr/apparmor/`, which is
//! safe when several LSMs are stacked. The older `attr/current` and
//! `attr/exec` are shared by every LSM; they are used only when the
//! AppArmor directory does not exist (kernels before 5.1), never because
//! the new file failed for some other reason, which would hide the real
//! error. Callers should have checked [`super::SecurityFs::check_available`]
//! first: on a kernel where another LSM owns the legacy files, they belong
//! to that LSM.
//!
//! Label changes apply to the *thread* that writes them, so writes go
//! through `<proc>/thread-self`, not `<proc>/self`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::kernel::{
    check_label, parse_label_and_mode, read_bounded, write_once, KernelError, ProfileMode,
};

/// Where procfs is mounted on a real system.
pub const DEFAULT_PROC: &str = "/proc";

/// The longest attr text read (a label plus its mode).
const MAX_ATTR_BYTES: u64 = 64 * 1024;

/// A process's confinement as `attr/current` reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProcessLabel {
    /// The process runs unconfined.
    Unconfined,
    /// The process runs under `label` (a profile name, or a stack such as
    /// `a//&b`) in `mode`.
    Confined { label: String, mode: ProfileMode },
}

impl ProcessLabel {
    /// Parses the attr text: `unconfined`, or `label (mode)`, with an
    /// optional trailing newline (and NUL, which some kernels add).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim_end_matches(['\n', '\0']);
        if text == "unconfined" {
            return Some(ProcessLabel::Unconfined);
        }
        let (label, mode) = parse_label_and_mode(text)?;
        Some(ProcessLabel::Confined {
            label: label.to_owned(),
            mode,
        })
    }

    /// The label, `None` when unconfined.
    pub fn label(&self) -> Option<&str> {
        match self {
            ProcessLabel::Unconfined => None,
            ProcessLabel::Confined { label, .. } => Some(label),
        }
    }
}

impl fmt::Display for ProcessLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessLabel::Unconfined => f.write_str("unconfined"),
            ProcessLabel::Confined { label, mode } => write!(f, "{label} ({mode})"),
        }
    }
}

/// The proc attr interface, rooted at a configurable procfs.
///
/// ```
/// use svirt::apparmor::{ProcAttr, ProcessLabel, ProfileMode};
///
/// let proc = tempfile::tempdir()?;
/// let attr = proc.path().join("42/attr/apparmor");
/// std::fs::create_dir_all(&attr)?;
/// std::fs::write(attr.join("current"), "libvirt-8f1e2c3d-0000-4000-8000-000000000001 (enforce)\n")?;
/// let label = ProcAttr::with_root(proc.path()).label_of(42)?;
/// assert_eq!(
///     label,
///     ProcessLabel::Confined {
///         label: "libvirt-8f1e2c3d-0000-4000-8000-000000000001".into(),
///         mode: ProfileMode::Enforce,
///     }
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcAttr {
    root: PathBuf,
}

impl Default for ProcAttr {
    fn default() -> Self {
        ProcAttr::with_root(DEFAULT_PROC)
    }
}

/// Which attr file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attr {
    Current,
    Exec,
}

impl Attr {
    fn name(self) -> &'static str {
        match self {
            Attr::Current => "current",
            Attr::Exec => "exec",
        }
    }
}

impl ProcAttr {
    /// The real `/proc`.
    pub fn new() -> Self {
        ProcAttr::default()
    }

    /// A procfs mounted at `root`.
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        ProcAttr { root: root.into() }
    }

    /// The procfs root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The attr file to use under `base` (`<proc>/<pid>` or
    /// `<proc>/thread-self`): AppArmor's own when its directory exists,
    /// the legacy one otherwise. `Err` carries the missing process
    /// directory.
    fn attr_path(&self, base: &Path, attr: Attr) -> Result<PathBuf, PathBuf> {
        let attr_dir = base.join("attr");
        let own_dir = attr_dir.join("apparmor");
        if own_dir.is_dir() {
            return Ok(own_dir.join(attr.name()));
        }
        if attr_dir.is_dir() {
            return Ok(attr_dir.join(attr.name()));
        }
        Err(attr_dir)
    }

    /// The label process `pid` runs under.
    ///
    /// The pid is only a number: if the process exits and the number is
    /// reused between the caller learning it and this read, the label of
    /// the new process is returned. Callers that need certainty should
    /// read the label of a child they have not yet reaped.
    pub fn label_of(&self, pid: u32) -> Result<ProcessLabel, KernelError> {
        let base = self.root.join(pid.to_string());
        let path = self
            .attr_path(&base, Attr::Current)
            .map_err(|_| KernelError::NoProcess {
                pid,
                path: base.clone(),
            })?;
        read_label(&path).map_err(|e| match e {
            // The process went away between the two looks.
            KernelError::Read { source, .. }
                if source.kind() == io::ErrorKind::NotFound && !base.exists() =>
            {
                KernelError::NoProcess { pid, path: base }
            }
            other => other,
        })
    }

    /// The label of the calling thread.
    pub fn own_label(&self) -> Result<ProcessLabel, KernelError> {
        let base = self.root.join("thread-self");
        let path = self
            .attr_path(&base, Attr::Current)
            .map_err(|path| KernelError::Read {
                path,
                source: io::Error::from(io::ErrorKind::NotFound),
            })?;
        read_label(&path)
    }

    /// Asks the kernel to switch the calling thread to `profile` at its
    /// next `execve` (`exec <profile>` to `attr/apparmor/exec`). The label
    /// is checked then, not now; a confined caller needs a rule allowing
    /// the transition.
    pub fn set_exec_label(&self, profile: &str) -> Result<PathBuf, KernelError> {
        self.write_command(Attr::Exec, "exec", profile)
    }

    /// Switches the calling thread to `profile` now (`changeprofile
    /// <profile>` to `attr/apparmor/current`). Descriptors already open
    /// are not rechecked, so close what the new profile must not have
    /// first.
    pub fn change_profile(&self, profile: &str) -> Result<PathBuf, KernelError> {
        self.write_command(Attr::Current, "changeprofile", profile)
    }

    fn write_command(&self, attr: Attr, verb: &str, profile: &str) -> Result<PathBuf, KernelError> {
        check_label(profile)?;
        let base = self.root.join("thread-self");
        let path = self
            .attr_path(&base, attr)
            .map_err(|path| KernelError::Write {
                path,
                source: io::Error::from(io::ErrorKind::NotFound),
            })?;
        write_once(&path, format!("{verb} {profile}").as_bytes())?;
        Ok(path)
    }

    /// The numeric entries of the procfs root: every process visible now.
    pub fn pids(&self) -> Result<Vec<u32>, KernelError> {
        let read_err = |source| KernelError::Read {
            path: self.root.clone(),
            source,
        };
        let mut pids = Vec::new();
        for entry in std::fs::read_dir(&self.root).map_err(read_err)? {
            let entry = entry.map_err(read_err)?;
            if let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) {
                pids.push(pid);
            }
        }
        pids.sort_unstable();
        Ok(pids)
    }
}

fn read_label(path: &Path) -> Result<ProcessLabel, KernelError> {
    let text = read_bounded(path, MAX_ATTR_BYTES)?;
    ProcessLabel::parse(&text).ok_or_else(|| KernelError::BadLabel {
        path: path.to_owned(),
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apparmor::KernelErrorKind;
    use std::fs;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    #[test]
    fn parses_labels() {
        assert_eq!(
            ProcessLabel::parse("unconfined\n"),
            Some(ProcessLabel::Unconfined)
        );
        assert_eq!(
            ProcessLabel::parse("a//&b (mixed)\n\0"),
            Some(ProcessLabel::Confined {
                label: "a//&b".into(),
                mode: ProfileMode::Mixed
            })
        );
        assert_eq!(ProcessLabel::parse("garbage"), None);
        assert_eq!(
            ProcessLabel::parse("/usr/sbin/x y (complain)")
                .unwrap()
                .to_string(),
            "/usr/sbin/x y (complain)"
        );
    }

    #[test]
    fn prefers_the_apparmor_directory() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "7/attr/apparmor/current", "p (enforce)\n");
        write(tmp.path(), "7/attr/current", "legacy (complain)\n");
        let label = ProcAttr::with_root(tmp.path()).label_of(7).unwrap();
        assert_eq!(label.label(), Some("p"));
    }

    #[test]
    fn falls_back_only_when_the_apparmor_directory_is_absent() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "8/attr/current", "legacy (complain)\n");
        let pa = ProcAttr::with_root(tmp.path());
        assert_eq!(pa.label_of(8).unwrap().label(), Some("legacy"));
        // The AppArmor directory exists but its file cannot be read: the
        // error is reported, not hidden by the legacy file.
        fs::create_dir_all(tmp.path().join("8/attr/apparmor")).unwrap();
        let err = pa.label_of(8).unwrap_err();
        assert!(
            err.to_string().ends_with("8/attr/apparmor/current"),
            "{err}"
        );
    }

    #[test]
    fn missing_process_and_bad_text() {
        let tmp = tempfile::tempdir().unwrap();
        let pa = ProcAttr::with_root(tmp.path());
        let err = pa.label_of(99).unwrap_err();
        assert_eq!(err.kind(), KernelErrorKind::NotFound);
        assert!(err.to_string().starts_with("no process 99: "), "{err}");
        write(tmp.path(), "5/attr/apparmor/current", "what\n");
        let err = pa.label_of(5).unwrap_err();
        assert_eq!(err.kind(), KernelErrorKind::Malformed);
        assert!(err
            .to_string()
            .contains("\"what\\n\" is not \"label (mode)\""));
    }

    #[test]
    fn exec_and_changeprofile_go_to_thread_self() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "thread-self/attr/apparmor/exec", "");
        write(
            tmp.path(),
            "thread-self/attr/apparmor/current",
            "unconfined\n",
        );
        let pa = ProcAttr::with_root(tmp.path());
        assert_eq!(pa.own_label().unwrap(), ProcessLabel::Unconfined);
        let p = pa.set_exec_label("libvirt-x").unwrap();
        assert!(p.ends_with("thread-self/attr/apparmor/exec"));
        assert_eq!(fs::read_to_string(&p).unwrap(), "exec libvirt-x");
        let p = pa.change_profile("libvirt-y").unwrap();
        assert_eq!(fs::read_to_string(p).unwrap(), "changeprofile libvirt-y");
    }

    #[test]
    fn legacy_exec_file_and_refusals() {
        let tmp = tempfile::tempdir().unwrap();
        let pa = ProcAttr::with_root(tmp.path());
        let err = pa.set_exec_label("x").unwrap_err();
        assert_eq!(err.kind(), KernelErrorKind::NotFound);
        write(tmp.path(), "thread-self/attr/exec", "");
        let p = pa.set_exec_label("libvirt-z").unwrap();
        assert!(p.ends_with("thread-self/attr/exec"));
        assert_eq!(fs::read_to_string(p).unwrap(), "exec libvirt-z");
        let err = pa.set_exec_label("a\nchangeprofile b").unwrap_err();
        assert_eq!(err.kind(), KernelErrorKind::InvalidInput);
    }

    #[test]
    fn pids_are_the_numeric_entries() {
        let tmp = tempfile::tempdir().unwrap();
        for d in ["1", "20", "3", "self", "sys"] {
            fs::create_dir_all(tmp.path().join(d)).unwrap();
        }
        assert_eq!(ProcAttr::with_root(tmp.path()).pids().unwrap(), [1, 3, 20]);
    }
}
