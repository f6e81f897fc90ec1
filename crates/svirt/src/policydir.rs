//! The policy directory: bounded reads, atomic writes, exclusive creation
//! and the per-profile lock.
//!
//! Every function takes the directory, so tests use temporary ones; the
//! binary only ever passes [`POLICY_DIR`].
//!
//! Every file this module creates is named `<profile name>…` (the profile,
//! `.files`, `.lock`, and `.tmp-<pid>-<n>` temporaries), so a distribution's
//! helper profile that allows `rw` on `/etc/apparmor.d/libvirt/libvirt-<uuid>*`
//! (and no `k` or `l`) still allows all of it. No hard links are made.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rustix::fs::{FlockOperation, RenameFlags, CWD};

/// Where per-VM profiles, their `.files` and the templates live.
pub const POLICY_DIR: &str = "/etc/apparmor.d/libvirt";

/// Largest template, `.files` or profile read or written (libvirt's limit).
pub const MAX_FILE_BYTES: usize = crate::policy::MAX_POLICY_FILE_BYTES;

/// How long to wait for another helper run on the same profile.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// A failed file operation: what was being done, to which path, and why.
#[derive(Debug)]
pub struct FileError {
    pub action: &'static str,
    pub path: PathBuf,
    pub source: io::Error,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "could not {} {}: {}",
            self.action,
            self.path.display(),
            self.source
        )
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn fail<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> FileError + 'a {
    move |source| FileError {
        action,
        path: path.to_owned(),
        source,
    }
}

/// The files of one profile in a policy directory.
#[derive(Debug, Clone)]
pub struct ProfileFiles {
    pub dir: PathBuf,
    pub name: String,
}

impl ProfileFiles {
    pub fn new(dir: impl Into<PathBuf>, name: &str) -> Self {
        ProfileFiles {
            dir: dir.into(),
            name: name.to_owned(),
        }
    }

    /// `<dir>/<name>`
    pub fn profile(&self) -> PathBuf {
        self.dir.join(&self.name)
    }

    /// `<dir>/<name>.files`
    pub fn files(&self) -> PathBuf {
        self.dir.join(format!("{}.files", self.name))
    }

    /// `<dir>/<name>.lock`
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(format!("{}.lock", self.name))
    }

    /// `<dir>/<name>.override`: the operator's rules (`svirt allow`).
    pub fn override_file(&self) -> PathBuf {
        self.dir.join(format!(
            "{}{}",
            self.name,
            crate::policy::vmfiles::OVERRIDE_SUFFIX
        ))
    }

    /// `<dir>/<name>.cache`: the compiled policy and what it was made from.
    pub fn cache(&self) -> PathBuf {
        self.dir.join(format!(
            "{}{}",
            self.name,
            crate::policy::vmfiles::CACHE_SUFFIX
        ))
    }

    /// `<dir>/<name>.complain`: the marker of lasting complain mode.
    pub fn complain_marker(&self) -> PathBuf {
        self.dir.join(format!(
            "{}{}",
            self.name,
            crate::policy::vmfiles::COMPLAIN_SUFFIX
        ))
    }

    /// `<dir>/<template>`
    pub fn template(&self, file_name: &str) -> PathBuf {
        self.dir.join(file_name)
    }
}

/// What is at a path: nothing, or something of this size. Like libvirt's
/// checks, this follows symlinks and counts directories as existing.
pub fn probe(path: &Path) -> Result<Option<u64>, FileError> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(Some(m.len())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(fail("examine", path)(e)),
    }
}

/// Reads a whole file of at most `limit` bytes; `None` if it is absent.
pub fn read_limited(path: &Path, limit: usize) -> Result<Option<Vec<u8>>, FileError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail("open", path)(e)),
    };
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(fail("read", path))?;
    if bytes.len() > limit {
        return Err(FileError {
            action: "read",
            path: path.to_owned(),
            source: io::Error::new(
                io::ErrorKind::InvalidData,
                format!("larger than the limit of {limit} bytes"),
            ),
        });
    }
    Ok(Some(bytes))
}

/// Creates a new temporary file beside `target`, named after it, holding
/// `content`, flushed to disk. Returns its path.
pub fn write_temp(target: &Path, content: &[u8]) -> Result<PathBuf, FileError> {
    let dir = target.parent().unwrap_or_else(|| Path::new("."));
    let base = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let pid = std::process::id();
    let mut attempt = 0u32;
    let (temp, mut file) = loop {
        let temp = dir.join(format!("{base}.tmp-{pid}-{attempt}"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&temp)
        {
            Ok(f) => break (temp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(fail("create", &temp)(e)),
        }
    };
    let written = file
        .write_all(content)
        .and_then(|()| file.sync_all())
        .map_err(fail("write", &temp));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    Ok(temp)
}

/// Whether this process runs under a helper profile written for libvirt's
/// own helper (Debian's, Ubuntu's, upstream's `usr.lib.libvirt.virt-aa-helper`),
/// told without an audit record: that profile refuses `/proc/<pid>/mounts`
/// with an explicit `deny` rule, which the kernel does not log, while svirt's
/// profile allows it and an unconfined process can read it. That profile
/// grants no `k` on the lock file and no `r` on the policy directory, and
/// asking anyway logs a DENIED line on every call; under it the run takes no
/// lock and skips the directory fsync, as libvirt's helper does. Asked once.
pub fn under_libvirt_helper_profile() -> bool {
    static ANSWER: OnceLock<bool> = OnceLock::new();
    *ANSWER.get_or_init(|| matches!(File::open("/proc/self/mounts"), Err(e) if refused(&e)))
}

/// Best effort: makes a rename in `dir` durable.
fn sync_dir(dir: &Path) {
    if under_libvirt_helper_profile() {
        return;
    }
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Replaces `target` with `content` atomically: a temporary file in the same
/// directory, fsync, rename. Readers see the old or the new file, never a
/// partial one.
pub fn replace_atomically(target: &Path, content: &[u8]) -> Result<(), FileError> {
    let temp = write_temp(target, content)?;
    if let Err(e) = std::fs::rename(&temp, target) {
        let _ = std::fs::remove_file(&temp);
        return Err(fail("replace", target)(e));
    }
    sync_dir(target.parent().unwrap_or_else(|| Path::new(".")));
    Ok(())
}

/// Why an exclusive creation failed.
#[derive(Debug)]
pub enum CreateError {
    /// Something already exists at the target.
    Exists,
    Io(FileError),
}

/// Creates `target` with `content`, failing if it exists: a complete
/// temporary file renamed with `RENAME_NOREPLACE`. Where the filesystem
/// cannot do that, the target itself is created with `O_EXCL` and written.
pub fn create_exclusively(target: &Path, content: &[u8]) -> Result<(), CreateError> {
    let temp = write_temp(target, content).map_err(CreateError::Io)?;
    match rustix::fs::renameat_with(CWD, &temp, CWD, target, RenameFlags::NOREPLACE) {
        Ok(()) => {
            sync_dir(target.parent().unwrap_or_else(|| Path::new(".")));
            return Ok(());
        }
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            let e = io::Error::from(e);
            match e.raw_os_error() {
                Some(code) if code == rustix::io::Errno::EXIST.raw_os_error() => {
                    return Err(CreateError::Exists)
                }
                Some(code)
                    if code == rustix::io::Errno::INVAL.raw_os_error()
                        || code == rustix::io::Errno::NOSYS.raw_os_error()
                        || code == rustix::io::Errno::OPNOTSUPP.raw_os_error() => {}
                _ => return Err(CreateError::Io(fail("create", target)(e))),
            }
        }
    }
    // Fallback: no atomic no-replace rename on this filesystem.
    let mut file = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(target)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(CreateError::Exists),
        Err(e) => return Err(CreateError::Io(fail("create", target)(e))),
    };
    if let Err(e) = file.write_all(content).and_then(|()| file.sync_all()) {
        let _ = std::fs::remove_file(target);
        return Err(CreateError::Io(fail("write", target)(e)));
    }
    Ok(())
}

/// Removes a file; an absent one is not an error.
pub fn remove(path: &Path) -> Result<(), FileError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(fail("remove", path)(e)),
    }
}

/// An exclusive lock on one profile, held until dropped (the kernel drops
/// it when the file is closed).
#[derive(Debug)]
pub struct ProfileLock {
    _file: File,
}

fn refused(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(c) if c == rustix::io::Errno::ACCESS.raw_os_error()
            || c == rustix::io::Errno::PERM.raw_os_error()
    )
}

/// Takes the per-profile lock (`flock` on `<name>.lock`), waiting at most
/// `timeout` for another run on the same profile to finish.
///
/// Returns `Ok(None)` if locking is refused with `EACCES`/`EPERM`: a
/// distribution's helper profile may allow `rw` but not `k` on the policy
/// directory. The run then goes on unlocked, as libvirt's always does; under
/// such a profile ([`under_libvirt_helper_profile`]) it does not even try, so
/// the kernel logs no denial and no `.lock` file is left behind.
pub fn lock_profile(
    files: &ProfileFiles,
    timeout: Duration,
) -> Result<Option<ProfileLock>, FileError> {
    if under_libvirt_helper_profile() {
        return Ok(None);
    }
    let path = files.lock_path();
    let file = match OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        // A planted symlink must not make us open (and lock) another file.
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if refused(&e) => return Ok(None),
        Err(e) => return Err(fail("open lock file", &path)(e)),
    };
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(Some(ProfileLock { _file: file })),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::INTR => {}
            Err(e) => {
                let e = io::Error::from(e);
                if refused(&e) {
                    return Ok(None);
                }
                return Err(fail("lock", &path)(e));
            }
        }
        if start.elapsed() >= timeout {
            return Err(FileError {
                action: "lock",
                path,
                source: io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "another run held the lock for more than {} seconds",
                        timeout.as_secs()
                    ),
                ),
            });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "libvirt-00000000-0000-0000-0000-0123456789ab";

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn paths_are_named_after_the_profile() {
        let f = ProfileFiles::new("/d", NAME);
        assert_eq!(f.profile(), Path::new("/d").join(NAME));
        assert_eq!(f.files(), Path::new("/d").join(format!("{NAME}.files")));
        assert_eq!(f.lock_path(), Path::new("/d").join(format!("{NAME}.lock")));
    }

    #[test]
    fn replace_writes_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let f = ProfileFiles::new(dir.path(), NAME);
        replace_atomically(&f.files(), b"one").unwrap();
        replace_atomically(&f.files(), b"two").unwrap();
        assert_eq!(std::fs::read(f.files()).unwrap(), b"two");
        assert_eq!(names(dir.path()), vec![format!("{NAME}.files")]);
    }

    #[test]
    fn temporaries_match_the_distribution_helper_profile() {
        // Debian allows rw on libvirt-[0-9a-f]*-[0-9a-f]*-…: the temporary
        // must start with the profile name.
        let dir = tempfile::tempdir().unwrap();
        let f = ProfileFiles::new(dir.path(), NAME);
        let t = write_temp(&f.files(), b"x").unwrap();
        let n = t.file_name().unwrap().to_string_lossy().into_owned();
        assert!(n.starts_with(&format!("{NAME}.files.tmp-")), "{n}");
        assert!(!n.contains('/'));
    }

    #[test]
    fn exclusive_creation_refuses_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = ProfileFiles::new(dir.path(), NAME);
        create_exclusively(&f.profile(), b"first").unwrap();
        assert!(matches!(
            create_exclusively(&f.profile(), b"second"),
            Err(CreateError::Exists)
        ));
        assert_eq!(std::fs::read(f.profile()).unwrap(), b"first");
        assert_eq!(names(dir.path()), vec![NAME.to_owned()]);
    }

    #[test]
    fn failures_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope").join(NAME);
        let e = replace_atomically(&missing, b"x").unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
        assert!(matches!(
            create_exclusively(&missing, b"x"),
            Err(CreateError::Io(_))
        ));
    }

    #[test]
    fn bounded_reads() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        assert_eq!(read_limited(&p, 4).unwrap(), None);
        std::fs::write(&p, b"1234").unwrap();
        assert_eq!(read_limited(&p, 4).unwrap().unwrap(), b"1234");
        std::fs::write(&p, b"12345").unwrap();
        let e = read_limited(&p, 4).unwrap_err();
        assert!(e.to_string().contains("limit of 4 bytes"), "{e}");
        assert_eq!(probe(&p).unwrap(), Some(5));
        assert_eq!(probe(&dir.path().join("x")).unwrap(), None);
    }

    #[test]
    fn remove_ignores_absent_files() {
        let dir = tempfile::tempdir().unwrap();
        remove(&dir.path().join("x")).unwrap();
    }

    #[test]
    fn a_planted_lock_symlink_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let f = ProfileFiles::new(dir.path(), NAME);
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        std::os::unix::fs::symlink(&victim, f.lock_path()).unwrap();
        let e = lock_profile(&f, LOCK_TIMEOUT).unwrap_err();
        assert!(e.to_string().contains(".lock"), "{e}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    }

    #[test]
    fn the_lock_serialises_runs() {
        let dir = tempfile::tempdir().unwrap();
        let f = ProfileFiles::new(dir.path(), NAME);
        let held = lock_profile(&f, LOCK_TIMEOUT).unwrap().unwrap();
        let e = lock_profile(&f, Duration::from_millis(30)).unwrap_err();
        assert!(e.to_string().contains(".lock"), "{e}");
        drop(held);
        assert!(lock_profile(&f, Duration::from_millis(30))
            .unwrap()
            .is_some());
    }
}
