//! securityfs: AppArmor's policy interface in the kernel.
//!
//! Every path hangs off two roots held by [`SecurityFs`]: the securityfs
//! directory (`/sys/kernel/security/apparmor`) and the module parameter
//! that says whether AppArmor is on (`/sys/module/apparmor/parameters/enabled`).
//! Tests point both at a temporary directory; the real kernel is exercised
//! in the QEMU guest of `tests/kernel`.
//!
//! The kernel checks the credentials of whoever *opened* `.replace` and
//! `.remove`, so descriptors to them are opened, written once and closed
//! here, never kept or handed to another process.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where securityfs exposes AppArmor on a real system.
pub const DEFAULT_SECURITYFS: &str = "/sys/kernel/security/apparmor";
/// The module parameter that reads `Y` when AppArmor is the active LSM.
pub const DEFAULT_ENABLED_PARAM: &str = "/sys/module/apparmor/parameters/enabled";

/// The largest `profiles` list read (every loaded profile, one per line).
pub const MAX_PROFILES_LIST_BYTES: u64 = 16 * 1024 * 1024;
/// The largest binary policy accepted for one load (the helper's policy
/// files are limited to 10 MiB of text; compiled policy is smaller).
pub const MAX_BINARY_POLICY_BYTES: usize = 64 * 1024 * 1024;
/// The longest profile name accepted for removal and attr writes.
pub const MAX_LABEL_BYTES: usize = 4096;

/// Why AppArmor cannot be used on this kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// The module parameter does not exist: AppArmor is not built into
    /// this kernel.
    NotBuilt { param: PathBuf },
    /// The parameter exists but does not read `Y` (booted with
    /// `apparmor=0`, or another LSM was chosen).
    Disabled { param: PathBuf, value: String },
    /// AppArmor is on, but its securityfs directory is missing (securityfs
    /// not mounted at the expected place).
    SecurityFsMissing { root: PathBuf },
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unavailable::NotBuilt { param } => write!(
                f,
                "AppArmor is not available in this kernel ({} does not exist)",
                param.display()
            ),
            Unavailable::Disabled { param, value } => write!(
                f,
                "AppArmor is disabled in this kernel ({} reads {value:?}, not \"Y\")",
                param.display()
            ),
            Unavailable::SecurityFsMissing { root } => write!(
                f,
                "AppArmor is enabled but its securityfs directory {} is missing \
                 (is securityfs mounted?)",
                root.display()
            ),
        }
    }
}

/// What a caller can act on, whatever the message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KernelErrorKind {
    /// AppArmor is not usable here (see [`Unavailable`]).
    Unavailable,
    /// The kernel or the filesystem refused (no privilege, or confinement).
    Denied,
    /// The thing asked about does not exist (process, profile).
    NotFound,
    /// The caller passed something unusable (a bad name, oversized policy).
    InvalidInput,
    /// The kernel answered with something that could not be parsed.
    Malformed,
    /// Any other operating-system error.
    Os,
}

/// A failure talking to AppArmor's kernel interfaces.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("{0}")]
    Unavailable(Unavailable),
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write to {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("short write to {path}: the kernel took {written} of {expected} bytes")]
    ShortWrite {
        path: PathBuf,
        written: usize,
        expected: usize,
    },
    #[error("{path} line {line}: cannot parse {text:?} as \"name (mode)\"")]
    Malformed {
        path: PathBuf,
        line: usize,
        text: String,
    },
    #[error("{path} holds {size} bytes, more than the {limit}-byte limit")]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("binary policy of {size} bytes is larger than the {limit}-byte limit")]
    PolicyTooLarge { size: usize, limit: usize },
    #[error("binary policy is empty")]
    PolicyEmpty,
    #[error("profile name {name:?} cannot be used: {why}")]
    InvalidName { name: String, why: &'static str },
    #[error("no process {pid}: {path} does not exist")]
    NoProcess { pid: u32, path: PathBuf },
    #[error("cannot read the AppArmor label from {path}: {text:?} is not \"label (mode)\"")]
    BadLabel { path: PathBuf, text: String },
}

impl KernelError {
    /// The class of failure, for callers that branch on it.
    pub fn kind(&self) -> KernelErrorKind {
        let io_kind = |e: &io::Error| match e.kind() {
            io::ErrorKind::PermissionDenied => KernelErrorKind::Denied,
            io::ErrorKind::NotFound => KernelErrorKind::NotFound,
            io::ErrorKind::InvalidInput => KernelErrorKind::InvalidInput,
            _ => KernelErrorKind::Os,
        };
        match self {
            KernelError::Unavailable(_) => KernelErrorKind::Unavailable,
            KernelError::Read { source, .. } | KernelError::Write { source, .. } => io_kind(source),
            KernelError::ShortWrite { .. } => KernelErrorKind::Os,
            KernelError::Malformed { .. } | KernelError::BadLabel { .. } => {
                KernelErrorKind::Malformed
            }
            KernelError::TooLarge { .. } => KernelErrorKind::Malformed,
            KernelError::PolicyTooLarge { .. }
            | KernelError::PolicyEmpty
            | KernelError::InvalidName { .. } => KernelErrorKind::InvalidInput,
            KernelError::NoProcess { .. } => KernelErrorKind::NotFound,
        }
    }
}

/// A profile's mode, as the kernel prints it in parentheses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProfileMode {
    Enforce,
    Complain,
    Kill,
    Unconfined,
    /// `prompt` (AppArmor 4+).
    Prompt,
    /// A stack whose members are in different modes.
    Mixed,
    /// A mode this code does not know yet, verbatim.
    Other(String),
}

impl ProfileMode {
    /// Parses the text between the parentheses.
    pub fn parse(text: &str) -> Self {
        match text {
            "enforce" => ProfileMode::Enforce,
            "complain" => ProfileMode::Complain,
            "kill" => ProfileMode::Kill,
            "unconfined" => ProfileMode::Unconfined,
            "prompt" => ProfileMode::Prompt,
            "mixed" => ProfileMode::Mixed,
            other => ProfileMode::Other(other.to_owned()),
        }
    }

    /// The kernel's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            ProfileMode::Enforce => "enforce",
            ProfileMode::Complain => "complain",
            ProfileMode::Kill => "kill",
            ProfileMode::Unconfined => "unconfined",
            ProfileMode::Prompt => "prompt",
            ProfileMode::Mixed => "mixed",
            ProfileMode::Other(s) => s,
        }
    }
}

impl fmt::Display for ProfileMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of the `profiles` list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LoadedProfile {
    /// The profile name; may contain spaces (attachment paths do).
    pub name: String,
    pub mode: ProfileMode,
}

/// Splits `"name (mode)"`. The mode is the text inside the *last*
/// parentheses, so names with spaces and parentheses survive.
pub fn parse_label_and_mode(line: &str) -> Option<(&str, ProfileMode)> {
    let inner = line.strip_suffix(')')?;
    let open = inner.rfind(" (")?;
    let name = &inner[..open];
    let mode = &inner[open + 2..];
    if name.is_empty() || mode.is_empty() || mode.contains(['(', ')']) {
        return None;
    }
    Some((name, ProfileMode::parse(mode)))
}

/// Parses the whole `profiles` list; `path` only names the source in errors.
pub fn parse_profiles(text: &str, path: &Path) -> Result<Vec<LoadedProfile>, KernelError> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let (name, mode) = parse_label_and_mode(line).ok_or_else(|| KernelError::Malformed {
            path: path.to_owned(),
            line: index + 1,
            text: line.to_owned(),
        })?;
        out.push(LoadedProfile {
            name: name.to_owned(),
            mode,
        });
    }
    Ok(out)
}

/// Checks a profile name before it is written to a kernel interface: it
/// must be non-empty, bounded, and free of NUL and control characters (a
/// newline would end the command early and the rest would be lost or
/// misread).
pub fn check_label(name: &str) -> Result<(), KernelError> {
    let bad = |why| KernelError::InvalidName {
        name: name.to_owned(),
        why,
    };
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.len() > MAX_LABEL_BYTES {
        return Err(bad("it is longer than 4096 bytes"));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(bad("it contains a NUL or control character"));
    }
    Ok(())
}

/// A small summary of `features/`: what the running kernel supports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    /// The feature families (directories directly under `features/`):
    /// `file`, `domain`, `policy`, `network`, `mount`, `signal`, …
    pub families: BTreeSet<String>,
    /// Entries of `features/domain/` (`change_profile`, `stack`,
    /// `post_nnp_subset`, `version`, …).
    pub domain: BTreeSet<String>,
    /// The binary policy versions the kernel accepts
    /// (`features/policy/versions/`: `v5`, `v6`, …).
    pub policy_versions: BTreeSet<String>,
}

impl Features {
    /// Whether a feature family directory exists.
    pub fn has(&self, family: &str) -> bool {
        self.families.contains(family)
    }

    /// Whether `domain/<name>` exists (e.g. `stack`, `post_nnp_subset`).
    pub fn has_domain(&self, name: &str) -> bool {
        self.domain.contains(name)
    }
}

/// AppArmor's securityfs and its enabled switch, rooted where the caller
/// says.
///
/// ```
/// use svirt::apparmor::{SecurityFs, ProfileMode};
///
/// let dir = tempfile::tempdir()?;
/// let fs = dir.path().join("apparmor");
/// std::fs::create_dir(&fs)?;
/// std::fs::write(dir.path().join("enabled"), "Y\n")?;
/// std::fs::write(
///     fs.join("profiles"),
///     "libvirt-8f1e2c3d-0000-4000-8000-000000000001 (enforce)\n/usr/bin/man (complain)\n",
/// )?;
/// let sfs = SecurityFs::with_roots(&fs, dir.path().join("enabled"));
/// sfs.check_available()?;
/// let loaded = sfs.profiles()?;
/// assert_eq!(loaded[1].name, "/usr/bin/man");
/// assert_eq!(
///     sfs.profile_mode("libvirt-8f1e2c3d-0000-4000-8000-000000000001")?,
///     Some(ProfileMode::Enforce)
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityFs {
    root: PathBuf,
    enabled_param: PathBuf,
}

impl Default for SecurityFs {
    fn default() -> Self {
        SecurityFs::with_roots(DEFAULT_SECURITYFS, DEFAULT_ENABLED_PARAM)
    }
}

impl SecurityFs {
    /// The real system's securityfs.
    pub fn new() -> Self {
        SecurityFs::default()
    }

    /// A securityfs at `root` with the enabled switch at `enabled_param`.
    pub fn with_roots(root: impl Into<PathBuf>, enabled_param: impl Into<PathBuf>) -> Self {
        SecurityFs {
            root: root.into(),
            enabled_param: enabled_param.into(),
        }
    }

    /// The securityfs directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The enabled switch.
    pub fn enabled_param(&self) -> &Path {
        &self.enabled_param
    }

    /// The path of a file under the securityfs root.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Whether AppArmor is usable: `Ok(None)` if so, else why not. Other
    /// read errors (e.g. permission) are errors.
    pub fn unavailable(&self) -> Result<Option<Unavailable>, KernelError> {
        let value = match fs::read_to_string(&self.enabled_param) {
            Ok(v) => v,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Some(Unavailable::NotBuilt {
                    param: self.enabled_param.clone(),
                }))
            }
            Err(source) => {
                return Err(KernelError::Read {
                    path: self.enabled_param.clone(),
                    source,
                })
            }
        };
        let value = value.trim();
        if value != "Y" {
            return Ok(Some(Unavailable::Disabled {
                param: self.enabled_param.clone(),
                value: value.to_owned(),
            }));
        }
        if !self.root.is_dir() {
            return Ok(Some(Unavailable::SecurityFsMissing {
                root: self.root.clone(),
            }));
        }
        Ok(None)
    }

    /// Whether AppArmor is enabled in the kernel and its securityfs present.
    pub fn is_enabled(&self) -> bool {
        matches!(self.unavailable(), Ok(None))
    }

    /// `Ok(())` when AppArmor is usable, else [`KernelError::Unavailable`].
    pub fn check_available(&self) -> Result<(), KernelError> {
        match self.unavailable()? {
            None => Ok(()),
            Some(why) => Err(KernelError::Unavailable(why)),
        }
    }

    /// Every loaded profile with its mode, in the kernel's order. The list
    /// is readable by root only on common systems.
    pub fn profiles(&self) -> Result<Vec<LoadedProfile>, KernelError> {
        let path = self.path("profiles");
        let text = read_bounded(&path, MAX_PROFILES_LIST_BYTES)?;
        parse_profiles(&text, &path)
    }

    /// The mode of the profile called exactly `name`, or `None` when no
    /// such profile is loaded. (libvirt searches the list for a substring;
    /// this matches whole names.)
    pub fn profile_mode(&self, name: &str) -> Result<Option<ProfileMode>, KernelError> {
        Ok(self
            .profiles()?
            .into_iter()
            .find(|p| p.name == name)
            .map(|p| p.mode))
    }

    /// Loads binary policy, replacing profiles of the same names
    /// (`.replace`). The policy goes to the kernel in a single write: the
    /// kernel takes a policy blob per write.
    pub fn replace_policy(&self, binary: &[u8]) -> Result<(), KernelError> {
        check_policy(binary)?;
        write_once(&self.path(".replace"), binary)
    }

    /// Loads binary policy, failing if a profile of the same name is
    /// already loaded (`.load`).
    pub fn load_policy(&self, binary: &[u8]) -> Result<(), KernelError> {
        check_policy(binary)?;
        write_once(&self.path(".load"), binary)
    }

    /// Unloads the profile called `name` (`.remove` takes the name followed
    /// by a NUL). Unlike `apparmor_parser -R`, no profile file is needed.
    pub fn remove_profile(&self, name: &str) -> Result<(), KernelError> {
        check_label(name)?;
        let mut bytes = Vec::with_capacity(name.len() + 1);
        bytes.extend_from_slice(name.as_bytes());
        bytes.push(0);
        write_once(&self.path(".remove"), &bytes)
    }

    /// Reads the summary of `features/`.
    pub fn features(&self) -> Result<Features, KernelError> {
        let dir = self.path("features");
        let families = list_dir(&dir, true)?;
        let domain = if families.contains("domain") {
            list_dir(&dir.join("domain"), false)?
        } else {
            BTreeSet::new()
        };
        let versions = dir.join("policy").join("versions");
        let policy_versions = if versions.is_dir() {
            list_dir(&versions, false)?
        } else {
            BTreeSet::new()
        };
        Ok(Features {
            families,
            domain,
            policy_versions,
        })
    }
}

fn check_policy(binary: &[u8]) -> Result<(), KernelError> {
    if binary.is_empty() {
        return Err(KernelError::PolicyEmpty);
    }
    if binary.len() > MAX_BINARY_POLICY_BYTES {
        return Err(KernelError::PolicyTooLarge {
            size: binary.len(),
            limit: MAX_BINARY_POLICY_BYTES,
        });
    }
    Ok(())
}

/// Names in `dir`; only directories when `dirs_only`.
fn list_dir(dir: &Path, dirs_only: bool) -> Result<BTreeSet<String>, KernelError> {
    let read_err = |source| KernelError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut out = BTreeSet::new();
    for entry in fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        if dirs_only && !entry.file_type().map_err(read_err)?.is_dir() {
            continue;
        }
        if let Some(name) = entry.file_name().to_str() {
            out.insert(name.to_owned());
        }
    }
    Ok(out)
}

/// Reads a text file of at most `limit` bytes.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<String, KernelError> {
    use std::io::Read;
    let read_err = |source| KernelError::Read {
        path: path.to_owned(),
        source,
    };
    let file = fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if size > limit {
        return Err(KernelError::TooLarge {
            path: path.to_owned(),
            size,
            limit,
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        read_err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not UTF-8 at byte {}", e.utf8_error().valid_up_to()),
        ))
    })
}

/// Opens an existing kernel file for writing and writes `bytes` in exactly
/// one `write(2)`: the kernel interfaces treat each write as one command,
/// so a loop of partial writes would send several broken ones.
pub(crate) fn write_once(path: &Path, bytes: &[u8]) -> Result<(), KernelError> {
    let write_err = |source| KernelError::Write {
        path: path.to_owned(),
        source,
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(write_err)?;
    let written = file.write(bytes).map_err(write_err)?;
    if written != bytes.len() {
        return Err(KernelError::ShortWrite {
            path: path.to_owned(),
            written,
            expected: bytes.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake {
        _dir: tempfile::TempDir,
        sfs: SecurityFs,
    }

    fn fake(enabled: Option<&str>, with_root: bool) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("security/apparmor");
        if with_root {
            fs::create_dir_all(&root).unwrap();
            for f in [".replace", ".load", ".remove"] {
                fs::write(root.join(f), "").unwrap();
            }
        }
        let param = dir.path().join("enabled");
        if let Some(v) = enabled {
            fs::write(&param, v).unwrap();
        }
        Fake {
            sfs: SecurityFs::with_roots(root, param),
            _dir: dir,
        }
    }

    #[test]
    fn availability_reasons() {
        let f = fake(None, true);
        let why = f.sfs.unavailable().unwrap().unwrap();
        assert!(matches!(why, Unavailable::NotBuilt { .. }));
        assert!(why
            .to_string()
            .starts_with("AppArmor is not available in this kernel ("));
        let f = fake(Some("N\n"), true);
        let err = f.sfs.check_available().unwrap_err();
        assert_eq!(err.kind(), KernelErrorKind::Unavailable);
        assert!(err.to_string().contains("reads \"N\", not \"Y\""), "{err}");
        let f = fake(Some("Y\n"), false);
        assert!(matches!(
            f.sfs.unavailable().unwrap(),
            Some(Unavailable::SecurityFsMissing { .. })
        ));
        let f = fake(Some("Y\n"), true);
        assert!(f.sfs.is_enabled());
        f.sfs.check_available().unwrap();
    }

    #[test]
    fn profiles_list_parses_names_with_spaces_and_modes() {
        let f = fake(Some("Y"), true);
        fs::write(
            f.sfs.path("profiles"),
            "libvirt-00000000-0000-0000-0000-0123456789ab (enforce)\n\
             /usr/bin/with space (x) (complain)\n\
             docker-default (kill)\n\
             odd (prompt)\n\
             newmode (future)\n",
        )
        .unwrap();
        let p = f.sfs.profiles().unwrap();
        assert_eq!(p.len(), 5);
        assert_eq!(p[1].name, "/usr/bin/with space (x)");
        assert_eq!(p[1].mode, ProfileMode::Complain);
        assert_eq!(p[2].mode, ProfileMode::Kill);
        assert_eq!(p[3].mode, ProfileMode::Prompt);
        assert_eq!(p[4].mode, ProfileMode::Other("future".into()));
        assert_eq!(
            f.sfs
                .profile_mode("libvirt-00000000-0000-0000-0000-0123456789ab")
                .unwrap(),
            Some(ProfileMode::Enforce)
        );
        // Whole names only: a prefix is not a match.
        assert_eq!(f.sfs.profile_mode("libvirt-00000000").unwrap(), None);
        assert_eq!(f.sfs.profile_mode("docker").unwrap(), None);
    }

    #[test]
    fn malformed_profiles_line_names_the_line() {
        let f = fake(Some("Y"), true);
        fs::write(f.sfs.path("profiles"), "a (enforce)\nno mode here\n").unwrap();
        let err = f.sfs.profiles().unwrap_err();
        assert_eq!(err.kind(), KernelErrorKind::Malformed);
        assert!(
            err.to_string()
                .ends_with("profiles line 2: cannot parse \"no mode here\" as \"name (mode)\""),
            "{err}"
        );
        for bad in ["x ()", " (enforce)", "x (a(b)", "x enforce"] {
            assert_eq!(parse_label_and_mode(bad), None, "{bad}");
        }
    }

    #[test]
    fn missing_profiles_list_is_a_read_error_naming_the_path() {
        let f = fake(Some("Y"), true);
        let err = f.sfs.profiles().unwrap_err();
        assert_eq!(err.kind(), KernelErrorKind::NotFound);
        assert!(err.to_string().starts_with("cannot read "));
        assert!(err.to_string().ends_with("/profiles"));
    }

    #[test]
    fn replace_load_and_remove_write_once() {
        let f = fake(Some("Y"), true);
        f.sfs.replace_policy(b"\x04\x08binary").unwrap();
        assert_eq!(fs::read(f.sfs.path(".replace")).unwrap(), b"\x04\x08binary");
        f.sfs.load_policy(b"blob").unwrap();
        assert_eq!(fs::read(f.sfs.path(".load")).unwrap(), b"blob");
        f.sfs
            .remove_profile("libvirt-00000000-0000-0000-0000-0123456789ab")
            .unwrap();
        assert_eq!(
            fs::read(f.sfs.path(".remove")).unwrap(),
            b"libvirt-00000000-0000-0000-0000-0123456789ab\0"
        );
    }

    #[test]
    fn bad_inputs_are_refused_before_any_write() {
        let f = fake(Some("Y"), true);
        assert!(matches!(
            f.sfs.replace_policy(b""),
            Err(KernelError::PolicyEmpty)
        ));
        for name in ["", "a\nb", "a\0b"] {
            let err = f.sfs.remove_profile(name).unwrap_err();
            assert_eq!(err.kind(), KernelErrorKind::InvalidInput, "{name:?}");
        }
        assert_eq!(fs::read(f.sfs.path(".remove")).unwrap(), b"");
    }

    #[test]
    fn writes_to_a_missing_interface_name_the_path() {
        let f = fake(Some("Y"), false);
        let err = f.sfs.replace_policy(b"x").unwrap_err();
        assert_eq!(err.kind(), KernelErrorKind::NotFound);
        assert!(err.to_string().starts_with("cannot write to "));
        assert!(err.to_string().ends_with("apparmor/.replace"));
    }

    #[test]
    fn features_summary() {
        let f = fake(Some("Y"), true);
        let feat = f.sfs.path("features");
        for d in ["file", "domain", "policy/versions", "network"] {
            fs::create_dir_all(feat.join(d)).unwrap();
        }
        for file in [
            "domain/stack",
            "domain/change_profile",
            "domain/version",
            "policy/versions/v7",
            "policy/versions/v8",
            "file/mask",
        ] {
            fs::write(feat.join(file), "yes\n").unwrap();
        }
        let got = f.sfs.features().unwrap();
        assert!(got.has("file") && got.has("network") && !got.has("mount"));
        assert!(got.has_domain("stack") && !got.has_domain("post_nnp_subset"));
        assert_eq!(got.policy_versions.iter().collect::<Vec<_>>(), ["v7", "v8"]);
        fs::remove_dir_all(&feat).unwrap();
        assert_eq!(
            f.sfs.features().unwrap_err().kind(),
            KernelErrorKind::NotFound
        );
    }
}
