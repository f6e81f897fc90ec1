//! libvirt 9.0's own test domains through libvirt's helper and ours.
//!
//! Every `*.xml` under `tests/` of Debian's libvirt source package whose
//! root element is `<domain>` is a case. `tests/libvirt-corpus/fetch.sh`
//! fetches and unpacks the package (to `$SVIRT_LIBVIRT_SRC`, default
//! `~/.cache/svirt-libvirt-src`); without it this test prints a note and
//! passes, unless `SVIRT_REQUIRE_LIBVIRT_CORPUS=1` (set by `scripts/test.sh`).
//!
//! All runs happen in one private mount namespace (`tests/ns-run.sh`, with
//! copies of the host's `TEMPLATE.*` as the policy directory): the test
//! re-executes itself there as the driver (`SVIRT_CORPUS_DRIVER`), which
//! runs libvirt's `/usr/lib/libvirt/virt-aa-helper` and ours in compat mode
//! on every case in dry run, `-d -r` and `-d -c`, then bind-mounts an empty
//! `/etc/svirt` and runs ours again in safe mode. The namespace shows a
//! fixed file set ([`HIDDEN`] locations empty, a `/dev` of a few nodes), so
//! the result does not depend on the firmware, devices, VMs or `/tmp` of
//! the host.
//!
//! * Compat mode: the cases whose stdout, stderr or exit status differ from
//!   libvirt's are exactly `tests/libvirt-corpus/compat-exceptions.txt`.
//! * Safe mode: the cases that differ from libvirt are exactly
//!   `tests/libvirt-corpus/safe-differences.txt`.
//! * Every rule we print is within svirt's grammar.
//!
//! `SVIRT_CORPUS_WRITE=1` rewrites both lists from the run, keeping the
//! reasons of entries already there and marking new ones `TODO classify`.
//! `SVIRT_CORPUS_DIFFS=FILE` writes the first differing lines of every
//! differing case there. `SVIRT_CORPUS_JOBS` sets the number of parallel
//! workers (default: the number of CPUs).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;
use svirt::policy::grammar::check_rules_text;

const LIBVIRT_HELPER: &str = "/usr/lib/libvirt/virt-aa-helper";
const MODES: [&str; 2] = ["-r", "-c"];
const DRIVER_ENV: &str = "SVIRT_CORPUS_DRIVER";
const COMPAT_LIST: &str = "tests/libvirt-corpus/compat-exceptions.txt";
const SAFE_LIST: &str = "tests/libvirt-corpus/safe-differences.txt";
const TIMEOUT: Duration = Duration::from_secs(60);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ours() -> &'static str {
    env!("CARGO_BIN_EXE_virt-aa-helper")
}

fn env_is_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Writes straight to stderr, past the test harness's capture.
fn note(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

#[test]
fn libvirt_corpus() {
    if let Some(work) = std::env::var_os(DRIVER_ENV) {
        drive(Path::new(&work));
        return;
    }
    let require = env_is_set("SVIRT_REQUIRE_LIBVIRT_CORPUS");
    let Some(src) = source_dir() else {
        assert!(
            !require,
            "SVIRT_REQUIRE_LIBVIRT_CORPUS is set but libvirt's source is not unpacked; \
             run tests/libvirt-corpus/fetch.sh and export SVIRT_LIBVIRT_SRC"
        );
        note(
            "NOTE: libvirt corpus skipped: libvirt's source is not unpacked \
             (run tests/libvirt-corpus/fetch.sh; scripts/test.sh does)",
        );
        return;
    };
    if let Some((why, as_root)) = rig_missing() {
        // Like tests/compat: without root it skips unless in CI; as root,
        // a missing piece fails when the corpus is required.
        assert!(
            !(require && as_root) && std::env::var_os("CI").is_none(),
            "the libvirt corpus must run here, but cannot: {why}"
        );
        note(&format!("SKIP: libvirt corpus: {why}"));
        return;
    }
    let cases = find_cases(&src);
    assert!(
        cases.len() > 1000,
        "only {} domains under {}/tests",
        cases.len(),
        src.display()
    );

    // Not under /tmp, which the driver hides.
    let work = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let w = work.path();
    for d in ["policy", "etc-compat", "etc-safe"] {
        std::fs::create_dir(w.join(d)).unwrap();
    }
    for t in ["TEMPLATE.qemu", "TEMPLATE.lxc"] {
        let from = Path::new("/etc/apparmor.d/libvirt").join(t);
        if from.exists() {
            std::fs::copy(&from, w.join("policy").join(t)).unwrap();
        }
    }
    std::fs::write(w.join("etc-compat/virt-aa-helper.conf"), "mode = compat\n").unwrap();
    // A dry run never runs the parser; this one records it if it does.
    let log = w.join("parser.log");
    std::fs::write(
        w.join("parser"),
        format!("#!/bin/sh\necho \"$@\" >> '{}'\nexit 1\n", log.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(w.join("parser"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut list = String::new();
    for c in &cases {
        writeln!(list, "{c}").unwrap();
    }
    std::fs::write(w.join("cases"), list).unwrap();
    std::fs::write(w.join("src"), src.as_os_str().as_encoded_bytes()).unwrap();

    let started = std::time::Instant::now();
    let out = Command::new("sh")
        .arg(repo().join("crates/virt-aa-helper/tests/ns-run.sh"))
        .arg(w.join("policy"))
        .arg(w.join("etc-compat"))
        .arg(w.join("parser"))
        .arg(std::env::current_exe().unwrap())
        .args([
            "libvirt_corpus",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DRIVER_ENV, w)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the driver in the mount namespace failed: {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let elapsed = started.elapsed();

    let policy: Vec<String> = std::fs::read_dir(w.join("policy"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("TEMPLATE."))
        .collect();
    assert!(policy.is_empty(), "a dry run wrote {policy:?}");
    let parser = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(parser.is_empty(), "a dry run ran the parser: {parser}");

    let notes = std::fs::read_to_string(w.join("notes")).unwrap_or_default();
    if !notes.is_empty() {
        note(notes.trim_end());
    }
    let results = read_results(&w.join("results"));
    let grammar = std::fs::read_to_string(w.join("grammar")).unwrap_or_default();

    let total = cases.len();
    let same = |kind: Kind, mode: usize| {
        total
            - results
                .keys()
                .filter(|(_, m, k)| *k == kind && *m == mode)
                .count()
    };
    let compat = differing(&results, Kind::Compat);
    let safe = differing(&results, Kind::Safe);
    let summary = format!(
        "libvirt corpus: {total} domains, compat identical {}/{total} (-r) {}/{total} (-c), \
         safe identical {}/{total} (-r) {}/{total} (-c) [{:.0} s]",
        same(Kind::Compat, 0),
        same(Kind::Compat, 1),
        same(Kind::Safe, 0),
        same(Kind::Safe, 1),
        elapsed.as_secs_f64()
    );
    note(&summary);

    if let Some(path) = std::env::var_os("SVIRT_CORPUS_DIFFS").filter(|p| !p.is_empty()) {
        let mut text = String::new();
        for (kind, got) in [(Kind::Compat, &compat), (Kind::Safe, &safe)] {
            for (case, which) in got {
                writeln!(text, "== {} {case} {which}", kind.tag()).unwrap();
                text.push_str(&case_diff(&results, case, kind));
            }
        }
        std::fs::write(&path, text).unwrap();
        note(&format!(
            "libvirt corpus: diffs written to {}",
            Path::new(&path).display()
        ));
    }
    if env_is_set("SVIRT_CORPUS_WRITE") {
        write_list(COMPAT_LIST, &compat);
        write_list(SAFE_LIST, &safe);
        note(&format!(
            "libvirt corpus: rewrote {COMPAT_LIST} and {SAFE_LIST}"
        ));
    }

    let mut report = String::new();
    check_list(
        &mut report,
        COMPAT_LIST,
        "compat",
        &compat,
        &results,
        Kind::Compat,
    );
    check_list(&mut report, SAFE_LIST, "safe", &safe, &results, Kind::Safe);
    if !grammar.is_empty() {
        writeln!(report, "Rules outside svirt's grammar:\n{grammar}").unwrap();
    }
    if !report.is_empty() {
        panic!(
            "{summary}\n\n{report}\nIf the change is intended, rewrite the lists with \
             SVIRT_CORPUS_WRITE=1 cargo test -p virt-aa-helper --test libvirt_corpus \
             and classify the new entries."
        );
    }
}

/// The unpacked source: `$SVIRT_LIBVIRT_SRC` or the default cache.
fn source_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("SVIRT_LIBVIRT_SRC").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/svirt-libvirt-src"),
    };
    dir.join("tests").is_dir().then_some(dir)
}

/// Why the namespace rig cannot run here, if it cannot, and whether we are
/// root.
fn rig_missing() -> Option<(String, bool)> {
    let id = Command::new("id").arg("-u").output().ok();
    if id.is_none_or(|id| String::from_utf8_lossy(&id.stdout).trim() != "0") {
        return Some(("not root (the mount namespace needs it)".to_owned(), false));
    }
    let why = if !Path::new(LIBVIRT_HELPER).exists() {
        format!("{LIBVIRT_HELPER} is missing (scripts/install-deps.sh)")
    } else if !Path::new("/sbin/apparmor_parser").exists() {
        "/sbin/apparmor_parser is missing (install apparmor)".to_owned()
    } else if let Some(dir) = ["/etc/svirt", "/etc/apparmor.d/libvirt"]
        .into_iter()
        .find(|d| std::fs::create_dir_all(d).is_err())
    {
        format!("cannot create {dir}")
    } else if !Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        "unshare --mount does not work here".to_owned()
    } else {
        return None;
    };
    Some((why, true))
}

/// Every `*.xml` under `src/tests` whose root element is `<domain>`, as
/// paths relative to `src`, sorted.
fn find_cases(src: &Path) -> Vec<String> {
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
fn root_element(data: &[u8]) -> Option<&[u8]> {
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
fn profile_name(data: &[u8]) -> String {
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
struct Run {
    status: String,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Run {
    fn encode(&self, out: &mut Vec<u8>) {
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

fn run_helper(helper: &str, mode: &str, name: &str, xml: &[u8], cwd: &Path) -> Run {
    let mut child = Command::new(helper)
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
enum Kind {
    Libvirt,
    Compat,
    Safe,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Libvirt => "libvirt",
            Kind::Compat => "compat",
            Kind::Safe => "safe",
        }
    }
}

/// Runs `job(case, mode)` on every case and mode on parallel workers.
fn parallel<T: Send>(n: usize, job: impl Fn(usize, usize) -> T + Sync) -> Vec<T> {
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
const HIDDEN: &[&str] = &[
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
const CWD: &str = "/var/lib/svirt-ns-cwd";

/// Device nodes kept in the driver's private `/dev` (bound from the host's).
const KEPT_DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

fn run_ok(cmd: &str, args: &[&std::ffi::OsStr]) {
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
fn hermetic_view(work: &Path) -> (String, PathBuf) {
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
fn drive(work: &Path) {
    let src = PathBuf::from(std::fs::read_to_string(work.join("src")).unwrap());
    let cases: Vec<String> = std::fs::read_to_string(work.join("cases"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let inputs: Vec<(Vec<u8>, String)> = cases
        .iter()
        .map(|c| {
            let data = std::fs::read(src.join(c)).unwrap();
            let name = profile_name(&data);
            (data, name)
        })
        .collect();
    let (notes, cwd) = hermetic_view(work);
    std::fs::write(work.join("notes"), notes).unwrap();
    let grammar = Mutex::new(String::new());
    let check = |case: usize, mode: usize, run: &Run, escaped: bool| {
        let printed = String::from_utf8_lossy(&run.stderr);
        let rules: Vec<&str> = printed.lines().filter(|l| l.starts_with("  ")).collect();
        if let Err(e) = check_rules_text(&rules.join("\n"), escaped) {
            let kind = if escaped { "safe" } else { "compat" };
            writeln!(
                grammar.lock().unwrap(),
                "{} {} ({kind}): {e}",
                cases[case],
                MODES[mode]
            )
            .unwrap();
        }
    };
    // /etc/svirt holds `mode = compat`.
    let first = parallel(cases.len(), |case, mode| {
        let (xml, name) = &inputs[case];
        let theirs = run_helper(LIBVIRT_HELPER, MODES[mode], name, xml, &cwd);
        let mine = run_helper(ours(), MODES[mode], name, xml, &cwd);
        check(case, mode, &mine, false);
        (theirs, mine)
    });
    // No configuration at all: safe mode.
    let status = Command::new("mount")
        .args(["--bind"])
        .arg(work.join("etc-safe"))
        .arg("/etc/svirt")
        .status()
        .unwrap();
    assert!(status.success(), "mount --bind etc-safe /etc/svirt failed");
    let second = parallel(cases.len(), |case, mode| {
        let (xml, name) = &inputs[case];
        let mine = run_helper(ours(), MODES[mode], name, xml, &cwd);
        check(case, mode, &mine, true);
        mine
    });
    let mut out = Vec::new();
    for (i, ((theirs, compat), safe)) in first.iter().zip(&second).enumerate() {
        let safe_same = plain_include(safe) == *theirs;
        if compat == theirs && safe_same {
            continue;
        }
        let (case, mode) = (i / 2, i % 2);
        for (kind, run) in [
            (Kind::Libvirt, theirs),
            (Kind::Compat, compat),
            (Kind::Safe, safe),
        ] {
            let same = match kind {
                Kind::Safe => safe_same,
                _ => run == theirs,
            };
            if kind == Kind::Libvirt || !same {
                writeln!(out, "{case} {mode} {}", kind.tag()).unwrap();
                run.encode(&mut out);
            }
        }
    }
    std::fs::write(work.join("results"), out).unwrap();
    std::fs::write(work.join("grammar"), grammar.into_inner().unwrap()).unwrap();
}

/// Safe mode's run with its `#include if exists <libvirt/…>` lines in
/// libvirt 9.0's `#include <libvirt/…>` form (unchanged if it also has a
/// plain one, which safe mode must never write, so the case differs).
/// `include_if_exists` changes every `-c`; comparing in libvirt's form
/// keeps the other differences visible.
fn plain_include(safe: &Run) -> Run {
    const IF_EXISTS: &str = "\n  #include if exists <libvirt/";
    const PLAIN: &str = "\n  #include <libvirt/";
    let ours = String::from_utf8_lossy(&safe.stderr);
    if ours.contains(PLAIN) {
        return safe.clone();
    }
    Run {
        stderr: ours.replace(IF_EXISTS, PLAIN).into_bytes(),
        ..safe.clone()
    }
}

/// (case, mode, kind) → run, for the cases where ours differs from
/// libvirt's, and libvirt's run for those.
type Results = BTreeMap<(String, usize, Kind), Run>;

fn read_results(path: &Path) -> Results {
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
fn differing(results: &Results, kind: Kind) -> BTreeMap<String, String> {
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
struct List {
    header: String,
    entries: BTreeMap<String, (String, String)>,
}

fn read_list(rel: &str) -> List {
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

fn write_list(rel: &str, got: &BTreeMap<String, String>) {
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
fn check_list(
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
fn case_diff(results: &Results, case: &str, kind: Kind) -> String {
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
fn diff(mode: &str, theirs: &Run, mine: &Run) -> String {
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

#[test]
fn root_element_skips_prolog() {
    assert_eq!(
        root_element(b"<?xml version='1.0'?>\n<!-- <x> -->\n<!DOCTYPE d>\n<domain type='kvm'>"),
        Some(&b"domain"[..])
    );
    assert_eq!(
        root_element(b"<domainsnapshot>"),
        Some(&b"domainsnapshot"[..])
    );
    assert_eq!(root_element(b"no xml"), None);
    assert_eq!(root_element(b"<?"), None);
    assert_eq!(root_element(b"<!DOCTYPE"), None);
    assert_eq!(
        profile_name(b"<domain><uuid> C7A5FDBD-EDAF-9455-926A-D65C16DB1809 </uuid>"),
        "libvirt-c7a5fdbd-edaf-9455-926a-d65c16db1809"
    );
    assert_eq!(
        profile_name(b"<domain/>"),
        "libvirt-00000000-0000-0000-0000-000000000000"
    );
}
