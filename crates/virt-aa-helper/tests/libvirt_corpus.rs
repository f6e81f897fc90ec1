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

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use svirt::policy::grammar::check_rules_text;

mod corpus_common;
use corpus_common::*;

const LIBVIRT_HELPER: &str = "/usr/lib/libvirt/virt-aa-helper";
const COMPAT_LIST: &str = "tests/libvirt-corpus/compat-exceptions.txt";
const SAFE_LIST: &str = "tests/libvirt-corpus/safe-differences.txt";

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
        let theirs = run_helper(&[LIBVIRT_HELPER], MODES[mode], name, xml, &cwd);
        let mine = run_helper(&[ours()], MODES[mode], name, xml, &cwd);
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
        let mine = run_helper(&[ours()], MODES[mode], name, xml, &cwd);
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
