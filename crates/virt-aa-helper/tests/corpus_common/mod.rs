//! What the libvirt corpus tests (`libvirt_corpus.rs` for libvirt 9.0,
//! `libvirt_corpus_11.rs` for 11.3) share: finding the test domains,
//! running a helper on one in dry run, the fixed file set of the driver's
//! mount namespace, parallel workers, and the lists of expected
//! differences.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

pub const MODES: [&str; 2] = ["-r", "-c"];
pub const DRIVER_ENV: &str = "SVIRT_CORPUS_DRIVER";
pub const TIMEOUT: Duration = Duration::from_secs(60);

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn ours() -> &'static str {
    env!("CARGO_BIN_EXE_virt-aa-helper")
}

pub fn env_is_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Writes straight to stderr, past the test harness's capture.
pub fn note(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

pub fn find_cases(src: &Path) -> Vec<String> {
    fn walk(dir: &Path, src: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(&path, src, out);
            } else if path.extension().is_some_and(|x| x == "xml") {
                if let Ok(data) = std::fs::read(&path) {
                    if root_element(&data) == Some(&b"domain"[..]) {
                        let rel = path.strip_prefix(src).unwrap();
                        out.push(rel.to_str().unwrap().to_owned());
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&src.join("tests"), src, &mut out);
    out.sort();
    out
}

/// The name of the first element, skipping processing instructions,
/// comments and the document type declaration, without parsing the rest
/// (some test files are invalid on purpose).
pub fn root_element(data: &[u8]) -> Option<&[u8]> {
    let find = |from: usize, pat: &[u8]| {
        data.get(from..)?
            .windows(pat.len())
            .position(|w| w == pat)
            .map(|p| from + p + pat.len())
    };
    let mut i = 0;
    while let Some(p) = data[i..].iter().position(|&b| b == b'<') {
        let at = i + p;
        let rest = &data[at..];
        let skip_to = if rest.starts_with(b"<?") {
            find(at + 2, b"?>")
        } else if rest.starts_with(b"<!--") {
            find(at + 4, b"-->")
        } else if rest.starts_with(b"<!DOCTYPE") {
            find(at + 9, b">")
        } else {
            None
        };
        if let Some(next) = skip_to {
            i = next;
            continue;
        }
        if rest.len() > 1 && (rest[1].is_ascii_alphabetic() || rest[1] == b'_') {
            let len = rest[1..]
                .iter()
                .position(|&b| !(b.is_ascii_alphanumeric() || b"_:.-".contains(&b)))
                .unwrap_or(rest.len() - 1);
            return Some(&rest[1..1 + len]);
        }
        i = at + 1;
    }
    None
}

/// The `-u` argument: `libvirt-<uuid>` from the domain's `<uuid>`.
pub fn profile_name(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let uuid = text
        .find("<uuid>")
        .and_then(|s| {
            let rest = &text[s + 6..];
            let e = rest.find("</uuid>")?;
            let u = rest[..e].trim();
            let ok = (32..=36).contains(&u.len())
                && u.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
            ok.then(|| u.to_ascii_lowercase())
        })
        .unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".to_owned());
    format!("libvirt-{uuid}")
}

/// One run's observable result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub status: String,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Run {
    pub fn encode(&self, out: &mut Vec<u8>) {
        writeln!(
            out,
            "{} {} {}",
            self.status,
            self.stdout.len(),
            self.stderr.len()
        )
        .unwrap();
        out.extend_from_slice(&self.stdout);
        out.extend_from_slice(&self.stderr);
    }
}

/// Runs `argv` (a helper, or a wrapper and its arguments) with `-d MODE -u
/// NAME`, the domain on stdin, in `cwd`.
pub fn run_helper(argv: &[&str], mode: &str, name: &str, xml: &[u8], cwd: &Path) -> Run {
    let mut child = Command::new(argv[0])
        .args(&argv[1..])
        .args(["-d", mode, "-u", name])
        .current_dir(cwd)
        .env_remove(DRIVER_ENV)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let xml = xml.to_vec();
    // The helper may exit without reading everything: ignore EPIPE.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&xml);
    });
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let (out, timed_out) = match rx.recv_timeout(TIMEOUT) {
        Ok(out) => (out.unwrap(), false),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            (rx.recv().unwrap().unwrap(), true)
        }
    };
    writer.join().unwrap();
    let status = if timed_out {
        "timeout".to_owned()
    } else {
        match out.status.code() {
            Some(c) => c.to_string(),
            None => format!("{:?}", out.status),
        }
    };
    Run {
        status,
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Libvirt,
    Compat,
    Safe,
}

impl Kind {
    pub fn tag(self) -> &'static str {
        match self {
            Kind::Libvirt => "libvirt",
            Kind::Compat => "compat",
            Kind::Safe => "safe",
        }
    }
}

/// Runs `job(case, mode)` on every case and mode on parallel workers.
pub fn parallel<T: Send>(n: usize, job: impl Fn(usize, usize) -> T + Sync) -> Vec<T> {
    let jobs = std::env::var("SVIRT_CORPUS_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<T>>> =
        Mutex::new(std::iter::repeat_with(|| None).take(n * 2).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n * 2 {
                    break;
                }
                let r = job(i / 2, i % 2);
                out.lock().unwrap()[i] = Some(r);
            });
        }
    });
    out.into_inner()
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect()
}

/// Host locations whose contents depend on what is installed or plugged
/// in: the driver mounts an empty tmpfs on each that exists, so that both
/// helpers see the same fixed file set on every machine (the view of
/// `tests/ns-run.sh`'s hermetic namespace, and /tmp).
pub const HIDDEN: &[&str] = &[
    "/var/lib",
    "/sys/bus",
    "/sys/class",
    "/sys/dev",
    "/sys/kernel/iommu_groups",
    "/usr/share/OVMF",
    "/usr/share/ovmf",
    "/usr/share/AAVMF",
    "/usr/share/edk2",
    "/usr/share/edk2-ovmf",
    "/usr/share/qemu",
    "/usr/share/qemu-efi",
    "/usr/share/qemu-efi-aarch64",
    "/usr/share/qemu-efi-loongarch64",
    "/usr/share/qemu-efi-riscv64",
    "/usr/share/seabios",
    "/usr/share/ipxe",
    "/usr/share/swtpm",
    "/boot",
    "/etc/pki",
    "/library",
    "/tmp",
];

/// The helpers' working directory, empty.
pub const CWD: &str = "/var/lib/svirt-ns-cwd";

/// Device nodes kept in the driver's private `/dev` (bound from the host's).
pub const KEPT_DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

pub fn run_ok(cmd: &str, args: &[&std::ffi::OsStr]) {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Inside the driver's namespace: empty tmpfs on [`HIDDEN`] (with
/// `/var/lib/libvirt/qemu/` empty), and a `/dev` holding only
/// [`KEPT_DEVICES`], `ttyS0`, `fd`, `std{in,out,err}`, empty `pts/`, `shm/`.
/// A location holding the helpers or the work directory is left alone; the
/// notes returned say which. The helpers run in the empty [`CWD`] (in the
/// work directory if `/var/lib` stays), so relative paths lead nowhere.
pub fn hermetic_view(work: &Path) -> (String, PathBuf) {
    let keep = [
        PathBuf::from(ours()),
        std::env::current_exe().unwrap(),
        work.to_path_buf(),
    ];
    let mut notes = String::new();
    let os = std::ffi::OsStr::new;
    let tmpfs = |at: &Path, mode: &str| {
        let opts = format!("mode={mode},size=1m");
        run_ok(
            "mount",
            &[
                os("-t"),
                os("tmpfs"),
                os("-o"),
                os(&opts),
                os("svirt-corpus"),
                at.as_os_str(),
            ],
        );
    };
    for dir in HIDDEN {
        let Ok(real) = std::fs::canonicalize(dir) else {
            continue;
        };
        if !real.is_dir() {
            continue;
        }
        if let Some(k) = keep.iter().find(|k| k.starts_with(&real)) {
            writeln!(
                notes,
                "NOTE: libvirt corpus: {dir} not hidden, it holds {}",
                k.display()
            )
            .unwrap();
            continue;
        }
        tmpfs(&real, if *dir == "/tmp" { "1777" } else { "755" });
        if *dir == "/var/lib" {
            std::fs::create_dir_all("/var/lib/libvirt/qemu").unwrap();
            std::fs::create_dir_all(CWD).unwrap();
        }
    }
    let dev = work.join("dev");
    std::fs::create_dir(&dev).unwrap();
    tmpfs(&dev, "755");
    for name in KEPT_DEVICES {
        let node = dev.join(name);
        std::fs::write(&node, "").unwrap();
        let host = format!("/dev/{name}");
        run_ok("mount", &[os("--bind"), os(&host), node.as_os_str()]);
    }
    // A serial port exists, as where tests/compat/expected/ was recorded.
    let tty_s0 = dev.join("ttyS0");
    run_ok(
        "mknod",
        &[
            os("-m"),
            os("600"),
            tty_s0.as_os_str(),
            os("c"),
            os("4"),
            os("64"),
        ],
    );
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        std::os::unix::fs::symlink(target, dev.join(link)).unwrap();
    }
    std::fs::create_dir(dev.join("pts")).unwrap();
    std::fs::create_dir(dev.join("shm")).unwrap();
    run_ok("mount", &[os("--move"), dev.as_os_str(), os("/dev")]);
    let cwd = if Path::new(CWD).is_dir() {
        PathBuf::from(CWD)
    } else {
        let cwd = work.join("cwd");
        std::fs::create_dir(&cwd).unwrap();
        cwd
    };
    (notes, cwd)
}

/// The driver, inside the mount namespace: runs everything and writes
/// `results` (libvirt's run and ours wherever they differ) and `grammar`.
pub type Results = BTreeMap<(String, usize, Kind), Run>;

pub fn read_results(path: &Path) -> Results {
    let cases: Vec<String> = std::fs::read_to_string(path.with_file_name("cases"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let mut data = Vec::new();
    std::fs::File::open(path)
        .unwrap()
        .read_to_end(&mut data)
        .unwrap();
    let mut res = Results::new();
    let mut at = 0;
    let line = |at: &mut usize| {
        let end = *at + data[*at..].iter().position(|&b| b == b'\n').unwrap();
        let l = String::from_utf8(data[*at..end].to_vec()).unwrap();
        *at = end + 1;
        l
    };
    while at < data.len() {
        let head = line(&mut at);
        let sizes = line(&mut at);
        let start = at;
        let h: Vec<&str> = head.split(' ').collect();
        let s: Vec<&str> = sizes.split(' ').collect();
        let (no, ne): (usize, usize) = (s[1].parse().unwrap(), s[2].parse().unwrap());
        let run = Run {
            status: s[0].to_owned(),
            stdout: data[start..start + no].to_vec(),
            stderr: data[start + no..start + no + ne].to_vec(),
        };
        at = start + no + ne;
        let kind = match h[2] {
            "libvirt" => Kind::Libvirt,
            "compat" => Kind::Compat,
            _ => Kind::Safe,
        };
        let case = cases[h[0].parse::<usize>().unwrap()].clone();
        res.insert((case, h[1].parse().unwrap(), kind), run);
    }
    res
}

/// Case → `-r`, `-c` or `both`, for the cases where `kind` differs.
pub fn differing(results: &Results, kind: Kind) -> BTreeMap<String, String> {
    let mut by_case: BTreeMap<String, [bool; 2]> = BTreeMap::new();
    for (case, mode, k) in results.keys() {
        if *k == kind {
            by_case.entry(case.clone()).or_default()[*mode] = true;
        }
    }
    by_case
        .into_iter()
        .map(|(c, m)| {
            let which = match m {
                [true, true] => "both",
                [true, false] => "-r",
                _ => "-c",
            };
            (c, which.to_owned())
        })
        .collect()
}

/// A list file: its header comment and its entries, case → (which, reason).
pub struct List {
    pub header: String,
    pub entries: BTreeMap<String, (String, String)>,
}

pub fn read_list(rel: &str) -> List {
    let text = std::fs::read_to_string(repo().join(rel)).unwrap_or_default();
    let mut header = String::new();
    let mut entries = BTreeMap::new();
    for line in text.lines() {
        let (body, reason) = match line.split_once('#') {
            Some((b, r)) => (b.trim(), r.trim()),
            None => (line.trim(), ""),
        };
        if body.is_empty() {
            if entries.is_empty() {
                header.push_str(line);
                header.push('\n');
            }
            continue;
        }
        let mut parts = body.split_whitespace();
        let (Some(case), Some(which), None) = (parts.next(), parts.next(), parts.next()) else {
            panic!("{rel}: not `<path> <-r|-c|both>  # reason`: {line}");
        };
        assert!(
            ["-r", "-c", "both"].contains(&which),
            "{rel}: mode must be -r, -c or both: {line}"
        );
        entries.insert(case.to_owned(), (which.to_owned(), reason.to_owned()));
    }
    List { header, entries }
}

pub fn write_list(rel: &str, got: &BTreeMap<String, String>) {
    let old = read_list(rel);
    let mut text = old.header;
    for (case, which) in got {
        let reason = old
            .entries
            .get(case)
            .map(|(_, r)| r.as_str())
            .filter(|r| !r.is_empty())
            .unwrap_or("TODO classify");
        writeln!(text, "{case} {which}  # {reason}").unwrap();
    }
    std::fs::write(repo().join(rel), text).unwrap();
}

/// Appends to `report` what differs between the list and the run.
pub fn check_list(
    report: &mut String,
    rel: &str,
    what: &str,
    got: &BTreeMap<String, String>,
    results: &Results,
    kind: Kind,
) {
    let list = read_list(rel);
    let new: Vec<_> = got
        .iter()
        .filter(|(c, w)| list.entries.get(*c).map(|(lw, _)| lw) != Some(*w))
        .collect();
    let stale: Vec<_> = list
        .entries
        .iter()
        .filter(|(c, (w, _))| got.get(*c) != Some(w))
        .collect();
    if !new.is_empty() {
        writeln!(
            report,
            "{} case(s) differ from libvirt in {what} mode but are not in {rel} \
             (or with another mode):",
            new.len()
        )
        .unwrap();
        for (i, (case, which)) in new.iter().enumerate() {
            writeln!(report, "  {case} {which}").unwrap();
            if i < 20 {
                report.push_str(&case_diff(results, case, kind));
            }
        }
        if new.len() > 20 {
            writeln!(report, "  (diffs shown for the first 20)").unwrap();
        }
        report.push('\n');
    }
    if !stale.is_empty() {
        writeln!(
            report,
            "{} entr(y/ies) of {rel} no longer match the run (now identical to libvirt, \
             or differing in another mode): remove or update them:",
            stale.len()
        )
        .unwrap();
        for (case, (which, reason)) in stale {
            let now = got.get(case).map_or("identical", String::as_str);
            writeln!(report, "  {case} {which}  # {reason}  [now: {now}]").unwrap();
        }
        report.push('\n');
    }
}

/// The first differing lines of a case in each mode (once if the same).
pub fn case_diff(results: &Results, case: &str, kind: Kind) -> String {
    let mut out = String::new();
    let mut first = None;
    for (mode, m) in MODES.iter().enumerate() {
        let key = |k| (case.to_owned(), mode, k);
        if let Some(mine) = results.get(&key(kind)) {
            let theirs = &results[&key(Kind::Libvirt)];
            let body = diff("", theirs, mine);
            if first.as_ref() == Some(&body) {
                writeln!(out, "    {m}: the same").unwrap();
            } else {
                out.push_str(&diff(m, theirs, mine));
                first = Some(body);
            }
        }
    }
    out
}

/// The first differing lines of two runs, libvirt's `-`, ours `+`.
pub fn diff(mode: &str, theirs: &Run, mine: &Run) -> String {
    let mut out = String::new();
    if theirs.status != mine.status {
        writeln!(
            out,
            "    {mode} status: libvirt {}, svirt {}",
            theirs.status, mine.status
        )
        .unwrap();
    }
    for (stream, a, b) in [
        ("stdout", &theirs.stdout, &mine.stdout),
        ("stderr", &theirs.stderr, &mine.stderr),
    ] {
        if a == b {
            continue;
        }
        let a = String::from_utf8_lossy(a);
        let b = String::from_utf8_lossy(b);
        let a: Vec<&str> = a.lines().collect();
        let b: Vec<&str> = b.lines().collect();
        let pre = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        let suf = a[pre..]
            .iter()
            .rev()
            .zip(b[pre..].iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        writeln!(out, "    {mode} {stream}, from line {}:", pre + 1).unwrap();
        for l in &a[pre.saturating_sub(2)..pre] {
            writeln!(out, "       {l}").unwrap();
        }
        let (da, db) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
        for l in da.iter().take(8) {
            writeln!(out, "     - {l}").unwrap();
        }
        if da.len() > 8 {
            writeln!(out, "     - … ({} more)", da.len() - 8).unwrap();
        }
        for l in db.iter().take(8) {
            writeln!(out, "     + {l}").unwrap();
        }
        if db.len() > 8 {
            writeln!(out, "     + … ({} more)", db.len() - 8).unwrap();
        }
    }
    out
}
