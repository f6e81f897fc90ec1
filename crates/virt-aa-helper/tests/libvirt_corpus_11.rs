//! libvirt 11.3's and 9.0's own test domains through Debian 13's libvirt
//! 11.3 helper and ours in compat mode with `libvirt = 11.3`.
//!
//! The reference runs in a Debian 13 "trixie" root
//! (`tests/libvirt-corpus/trixie-root.sh`, `$SVIRT_TRIXIE_ROOT`, default
//! `~/.cache/svirt-trixie/root`). The cases are every `*.xml` under
//! `tests/` whose root element is `<domain>` in trixie's libvirt source
//! package (`SVIRT_LIBVIRT_SUITE=trixie tests/libvirt-corpus/fetch.sh`,
//! `$SVIRT_LIBVIRT_11_SRC`, default `~/.cache/svirt-libvirt-11.3-src`),
//! except the generated outputs of `tests/qemuxmlconfdata`
//! (`NAME.x86_64-latest.xml` …), and, the same way, in bookworm's 9.0
//! package (`$SVIRT_LIBVIRT_SRC`). Case names are prefixed `11.3/` and
//! `9.0/`. Without the root or the sources the test prints a note and
//! passes, unless `SVIRT_REQUIRE_LIBVIRT_CORPUS=1` (set by `scripts/test.sh`).
//!
//! The test re-executes itself as the driver in one private mount
//! namespace (`tests/ns-run.sh`), which shows the fixed file set of the 9.0
//! corpus test on the host and then inside the trixie root: proc, the
//! driver's `/dev` and `/sys`, empty firmware directories ([`HIDDEN`]:
//! trixie's `ovmf` is hidden as the host's is), an empty `/tmp`, `/var/lib`
//! and `/run`. Both helpers run in that root, `chroot`ed and named
//! `virt-aa-helper` (`exec -a`), so every path they probe leads to the
//! same files; ours reads `/etc/svirt/virt-aa-helper.conf` there, which says
//! `mode = compat` and `libvirt = 11.3`. The namespace's mounts vanish
//! with it.
//!
//! * The cases whose stdout, stderr or exit status differ in dry run,
//!   `-d -r` or `-d -c`, are exactly
//!   `tests/libvirt-corpus/compat-exceptions-11.3.txt`.
//! * Every rule we print is within svirt's grammar.
//! * A sample of the profiles ours writes with `-c` (compat 11.3, and safe
//!   mode on 11.3) compiles with trixie's AppArmor 4.1 `apparmor_parser -Q
//!   -K` and trixie's `/etc/apparmor.d`, and with the host's parser and
//!   policy (`SVIRT_CORPUS_COMPILE_SAMPLE` profiles per mode, default 20).
//!
//! `SVIRT_CORPUS_WRITE=1` rewrites the list; `SVIRT_CORPUS_DIFFS=FILE` and
//! `SVIRT_CORPUS_JOBS` work as in `libvirt_corpus.rs`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use svirt::policy::grammar::check_rules_text;

mod corpus_common;
use corpus_common::*;

const COMPAT_LIST: &str = "tests/libvirt-corpus/compat-exceptions-11.3.txt";
/// Inside the root: the directory (on a tmpfs) holding the wrapper and ours.
const RUN_DIR: &str = "run/svirt-corpus";
const THEIRS: &str = "/usr/lib/libvirt/virt-aa-helper";
const VERSIONS: [&str; 2] = ["11.3", "9.0"];

#[test]
fn libvirt_corpus_11() {
    if let Some(work) = std::env::var_os(DRIVER_ENV) {
        drive(Path::new(&work));
        return;
    }
    let require = env_is_set("SVIRT_REQUIRE_LIBVIRT_CORPUS");
    let missing = |what: &str, how: &str| {
        assert!(
            !require,
            "SVIRT_REQUIRE_LIBVIRT_CORPUS is set but {what}; {how}"
        );
        note(&format!(
            "NOTE: libvirt 11.3 corpus skipped: {what} ({how}; scripts/test.sh does)"
        ));
    };
    let Some(root) = trixie_root() else {
        missing(
            "the Debian 13 root is not built",
            "run tests/libvirt-corpus/trixie-root.sh and export SVIRT_TRIXIE_ROOT",
        );
        return;
    };
    let Some(src11) = source_dir("SVIRT_LIBVIRT_11_SRC", ".cache/svirt-libvirt-11.3-src") else {
        missing(
            "libvirt 11.3's source is not unpacked",
            "run SVIRT_LIBVIRT_SUITE=trixie tests/libvirt-corpus/fetch.sh and export \
             SVIRT_LIBVIRT_11_SRC",
        );
        return;
    };
    let Some(src9) = source_dir("SVIRT_LIBVIRT_SRC", ".cache/svirt-libvirt-src") else {
        missing(
            "libvirt 9.0's source is not unpacked",
            "run tests/libvirt-corpus/fetch.sh and export SVIRT_LIBVIRT_SRC",
        );
        return;
    };
    if let Some((why, as_root)) = rig_missing() {
        assert!(
            !(require && as_root) && std::env::var_os("CI").is_none(),
            "the libvirt 11.3 corpus must run here, but cannot: {why}"
        );
        note(&format!("SKIP: libvirt 11.3 corpus: {why}"));
        return;
    }
    let mut cases = Vec::new();
    for (version, src) in VERSIONS.iter().zip([&src11, &src9]) {
        let found: Vec<String> = find_cases(src)
            .into_iter()
            .filter(|c| !is_generated_output(c))
            .map(|c| format!("{version}/{c}"))
            .collect();
        assert!(
            found.len() > 1000,
            "only {} domains under {}/tests",
            found.len(),
            src.display()
        );
        cases.extend(found);
    }

    let work = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let w = work.path();
    for d in ["policy", "etc-compat", "etc-safe"] {
        std::fs::create_dir(w.join(d)).unwrap();
    }
    for t in ["TEMPLATE.qemu", "TEMPLATE.lxc"] {
        let from = root.join("etc/apparmor.d/libvirt").join(t);
        if from.exists() {
            std::fs::copy(&from, w.join("policy").join(t)).unwrap();
        }
    }
    std::fs::write(
        w.join("etc-compat/virt-aa-helper.conf"),
        "mode = compat\nlibvirt = 11.3\n",
    )
    .unwrap();
    // Safe mode on 11.3, for the compile sample. The stand-in parser below
    // compiles nothing, so the compiled-policy cache is left out.
    std::fs::write(
        w.join("etc-safe/virt-aa-helper.conf"),
        "libvirt = 11.3\ncompile_cache = false\n",
    )
    .unwrap();
    // The parser the helpers see in the root: records its calls and
    // succeeds (a dry run must never call it; the compile sample's `-c`
    // does, and the real parsers then compile what it wrote).
    let log = w.join("parser.log");
    std::fs::write(
        w.join("parser"),
        format!("#!/bin/sh\necho \"$@\" >> '{}'\nexit 0\n", log.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(w.join("parser"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut list = String::new();
    for c in &cases {
        writeln!(list, "{c}").unwrap();
    }
    std::fs::write(w.join("cases"), list).unwrap();
    std::fs::write(
        w.join("src"),
        format!(
            "{}\n{}\n{}\n",
            root.display(),
            src11.display(),
            src9.display()
        ),
    )
    .unwrap();

    let started = std::time::Instant::now();
    let out = Command::new("sh")
        .arg(repo().join("crates/virt-aa-helper/tests/ns-run.sh"))
        .arg(w.join("policy"))
        .arg("-")
        .arg("-")
        .arg(std::env::current_exe().unwrap())
        .args([
            "libvirt_corpus_11",
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
    let mounted = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(
        !mounted.contains(&format!(" {}/", root.display())),
        "something stayed mounted in the trixie root:\n{mounted}"
    );

    let notes = std::fs::read_to_string(w.join("notes")).unwrap_or_default();
    if !notes.is_empty() {
        note(notes.trim_end());
    }
    let results = read_results(&w.join("results"));
    let grammar = std::fs::read_to_string(w.join("grammar")).unwrap_or_default();
    let dry_parser = std::fs::read_to_string(w.join("dry-parser")).unwrap_or_default();
    let compile = std::fs::read_to_string(w.join("compile")).unwrap_or_default();
    let compiled = std::fs::read_to_string(w.join("compiled")).unwrap_or_default();

    let mut summary = format!(
        "libvirt 11.3 corpus (Debian 13's helper, compat with libvirt = 11.3) [{:.0} s]:",
        elapsed.as_secs_f64()
    );
    for version in VERSIONS {
        let prefix = format!("{version}/");
        let total = cases.iter().filter(|c| c.starts_with(&prefix)).count();
        let same = |mode: usize| {
            total
                - results
                    .keys()
                    .filter(|(c, m, k)| *k == Kind::Compat && *m == mode && c.starts_with(&prefix))
                    .count()
        };
        write!(
            summary,
            " libvirt {version}'s domains: identical {}/{total} (-r) {}/{total} (-c);",
            same(0),
            same(1)
        )
        .unwrap();
    }
    write!(summary, " {}", compiled.trim()).unwrap();
    note(&summary);
    let compat = differing(&results, Kind::Compat);

    if let Some(path) = std::env::var_os("SVIRT_CORPUS_DIFFS").filter(|p| !p.is_empty()) {
        let mut text = String::new();
        for (case, which) in &compat {
            writeln!(text, "== compat {case} {which}").unwrap();
            text.push_str(&case_diff(&results, case, Kind::Compat));
        }
        std::fs::write(&path, text).unwrap();
        note(&format!(
            "libvirt 11.3 corpus: diffs written to {}",
            Path::new(&path).display()
        ));
    }
    if env_is_set("SVIRT_CORPUS_WRITE") {
        write_list(COMPAT_LIST, &compat);
        note(&format!("libvirt 11.3 corpus: rewrote {COMPAT_LIST}"));
    }

    let mut report = String::new();
    check_list(
        &mut report,
        COMPAT_LIST,
        "compat (libvirt = 11.3)",
        &compat,
        &results,
        Kind::Compat,
    );
    if !grammar.is_empty() {
        writeln!(report, "Rules outside svirt's grammar:\n{grammar}").unwrap();
    }
    if !dry_parser.is_empty() {
        writeln!(report, "A dry run ran the parser: {dry_parser}").unwrap();
    }
    if !compile.is_empty() {
        writeln!(report, "Profiles that do not compile:\n{compile}").unwrap();
    }
    if !report.is_empty() {
        panic!(
            "{summary}\n\n{report}\nIf the change is intended, rewrite the list with \
             SVIRT_CORPUS_WRITE=1 cargo test -p virt-aa-helper --test libvirt_corpus_11 \
             and give each new entry its reason."
        );
    }
}

/// The trixie root, when built.
fn trixie_root() -> Option<PathBuf> {
    let dir = match std::env::var_os("SVIRT_TRIXIE_ROOT").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/svirt-trixie/root"),
    };
    let dir = std::fs::canonicalize(dir).ok()?;
    dir.join(THEIRS.trim_start_matches('/'))
        .is_file()
        .then_some(dir)
}

/// An unpacked source tree: `$var` or `~/default`.
fn source_dir(var: &str, default: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME")?).join(default),
    };
    dir.join("tests").is_dir().then_some(dir)
}

/// Why the rig cannot run here, if it cannot, and whether we are root.
fn rig_missing() -> Option<(String, bool)> {
    let id = Command::new("id").arg("-u").output().ok();
    if id.is_none_or(|id| String::from_utf8_lossy(&id.stdout).trim() != "0") {
        return Some((
            "not root (the mount namespace and chroot need it)".to_owned(),
            false,
        ));
    }
    let why = if !Path::new("/sbin/apparmor_parser").exists() {
        "/sbin/apparmor_parser is missing (install apparmor)".to_owned()
    } else if !Path::new("/etc/apparmor.d/libvirt").is_dir() {
        "/etc/apparmor.d/libvirt is missing (install libvirt-daemon-system)".to_owned()
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

/// A file `tests/qemuxmlconfdata` generates from an input
/// (`NAME.x86_64-latest.xml`, `NAME.aarch64-9.1.0.abi-update.xml`, …):
/// not a test domain of its own.
fn is_generated_output(case: &str) -> bool {
    let Some(name) = case.strip_prefix("tests/qemuxmlconfdata/") else {
        return false;
    };
    // `.<arch>-latest` or `.<arch>-<x.y.z>`, then `.` or `+`.
    name.split('.').skip(1).any(|part| {
        let Some((arch, rest)) = part.split_once('-') else {
            return false;
        };
        let arch_ok = !arch.is_empty()
            && arch.starts_with(|c: char| c.is_ascii_lowercase())
            && arch
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        let rest = rest.split('+').next().unwrap_or("");
        arch_ok
            && (rest == "latest" || (rest.chars().all(|c| c.is_ascii_digit()) && !rest.is_empty()))
    })
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

fn mount(args: &[&std::ffi::OsStr]) {
    run_ok("mount", args);
}

fn tmpfs(at: &Path, mode: &str) {
    let opts = format!("mode={mode},size=64m");
    mount(&[
        os("-t"),
        os("tmpfs"),
        os("-o"),
        os(&opts),
        os("svirt-corpus"),
        at.as_os_str(),
    ]);
}

fn bind(from: &Path, to: &Path) {
    mount(&[os("--bind"), from.as_os_str(), to.as_os_str()]);
}

/// Inside the driver's namespace, after [`hermetic_view`] on the host: the
/// same fixed file set inside the trixie root, with ours, a wrapper that
/// runs a helper as `virt-aa-helper`, the stand-in parser, the policy
/// directory and the compat configuration mounted in.
fn chroot_view(root: &Path, work: &Path) {
    mount(&[
        os("-t"),
        os("proc"),
        os("proc"),
        root.join("proc").as_os_str(),
    ]);
    for d in ["dev", "sys"] {
        mount(&[
            os("--rbind"),
            Path::new("/").join(d).as_os_str(),
            root.join(d).as_os_str(),
        ]);
    }
    for dir in HIDDEN {
        let inside = root.join(dir.trim_start_matches('/'));
        // Not through a link: it would lead out of the root.
        let Ok(meta) = std::fs::symlink_metadata(&inside) else {
            continue;
        };
        if meta.is_dir() {
            tmpfs(&inside, if *dir == "/tmp" { "1777" } else { "755" });
        }
    }
    std::fs::create_dir_all(root.join("var/lib/libvirt/qemu")).unwrap();
    std::fs::create_dir_all(root.join(CWD.trim_start_matches('/'))).unwrap();
    tmpfs(&root.join("run"), "755");
    let run = root.join(RUN_DIR);
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(
        run.join("exec-as"),
        format!("#!/bin/bash\ncd {CWD} || exit 125\nexec -a virt-aa-helper \"$@\"\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(run.join("exec-as"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(run.join("virt-aa-helper"), "").unwrap();
    bind(Path::new(ours()), &run.join("virt-aa-helper"));
    let etc_svirt = root.join("etc/svirt");
    std::fs::create_dir_all(&etc_svirt).unwrap();
    bind(&work.join("etc-compat"), &etc_svirt);
    bind(&work.join("policy"), &root.join("etc/apparmor.d/libvirt"));
    bind(&work.join("parser"), &root.join("usr/sbin/apparmor_parser"));
}

/// The argv that runs `helper` (a path inside the root) in the root.
fn in_root<'a>(root: &'a str, helper: &'a str) -> [&'a str; 4] {
    ["chroot", root, "/run/svirt-corpus/exec-as", helper]
}

const OURS_IN_ROOT: &str = "/run/svirt-corpus/virt-aa-helper";

/// The driver, inside the mount namespace.
fn drive(work: &Path) {
    let srcs: Vec<PathBuf> = std::fs::read_to_string(work.join("src"))
        .unwrap()
        .lines()
        .map(PathBuf::from)
        .collect();
    let (root, src11, src9) = (&srcs[0], &srcs[1], &srcs[2]);
    let cases: Vec<String> = std::fs::read_to_string(work.join("cases"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let inputs: Vec<(Vec<u8>, String)> = cases
        .iter()
        .map(|c| {
            let (version, rel) = c.split_once('/').unwrap();
            let src = if version == "11.3" { src11 } else { src9 };
            let data = std::fs::read(src.join(rel)).unwrap();
            let name = profile_name(&data);
            (data, name)
        })
        .collect();
    let (notes, _) = hermetic_view(work);
    std::fs::write(work.join("notes"), notes).unwrap();
    chroot_view(root, work);
    let cwd = PathBuf::from("/");
    let root_s = root.to_str().unwrap();
    let theirs_argv = in_root(root_s, THEIRS);
    let ours_argv = in_root(root_s, OURS_IN_ROOT);

    let grammar = Mutex::new(String::new());
    let runs = parallel(cases.len(), |case, mode| {
        let (xml, name) = &inputs[case];
        let theirs = run_helper(&theirs_argv, MODES[mode], name, xml, &cwd);
        let mine = run_helper(&ours_argv, MODES[mode], name, xml, &cwd);
        let printed = String::from_utf8_lossy(&mine.stderr);
        let rules: Vec<&str> = printed.lines().filter(|l| l.starts_with("  ")).collect();
        if let Err(e) = check_rules_text(&rules.join("\n"), false) {
            writeln!(
                grammar.lock().unwrap(),
                "{} {}: {e}",
                cases[case],
                MODES[mode]
            )
            .unwrap();
        }
        (theirs, mine)
    });
    let mut out = Vec::new();
    for (i, (theirs, mine)) in runs.iter().enumerate() {
        if theirs == mine {
            continue;
        }
        for (kind, run) in [(Kind::Libvirt, theirs), (Kind::Compat, mine)] {
            writeln!(out, "{} {} {}", i / 2, i % 2, kind.tag()).unwrap();
            run.encode(&mut out);
        }
    }
    std::fs::write(work.join("results"), out).unwrap();
    std::fs::write(work.join("grammar"), grammar.into_inner().unwrap()).unwrap();
    let log = work.join("parser.log");
    std::fs::write(
        work.join("dry-parser"),
        std::fs::read_to_string(&log).unwrap_or_default(),
    )
    .unwrap();
    let written: Vec<String> = std::fs::read_dir(work.join("policy"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("TEMPLATE."))
        .collect();
    assert!(written.is_empty(), "a dry run wrote {written:?}");

    // The compile sample: QEMU domains (the templates are QEMU's) ours
    // accepts in `-c`, evenly spread.
    let accepted: Vec<usize> = (0..cases.len())
        .filter(|&c| runs[c * 2 + 1].1.status == "0" && is_qemu(&inputs[c].0))
        .collect();
    let per_mode: usize = std::env::var("SVIRT_CORPUS_COMPILE_SAMPLE")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let step = (accepted.len() / per_mode.max(1)).max(1);
    let sample: Vec<usize> = accepted
        .iter()
        .copied()
        .step_by(step)
        .take(per_mode)
        .collect();
    let mut failures = String::new();
    let mut count = 0;
    for (mode, etc) in [("compat", "etc-compat"), ("safe", "etc-safe")] {
        bind(&work.join(etc), &root.join("etc/svirt"));
        for &case in &sample {
            let (xml, name) = &inputs[case];
            count += compile_one(root, work, xml, name, &ours_argv, |what| {
                writeln!(failures, "{} ({mode}): {what}", cases[case]).unwrap();
            });
        }
    }
    std::fs::write(work.join("compile"), failures).unwrap();
    std::fs::write(
        work.join("compiled"),
        format!(
            "{count} profiles of ours (compat and safe, libvirt = 11.3) compiled with trixie's \
             and the host's apparmor_parser"
        ),
    )
    .unwrap();
}

/// Whether the `<domain>` element says `type='kvm'` or `type='qemu'`.
fn is_qemu(xml: &[u8]) -> bool {
    let text = String::from_utf8_lossy(xml);
    let Some(start) = text.find("<domain") else {
        return false;
    };
    let tag = &text[start..];
    let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
    ["kvm", "qemu"]
        .iter()
        .any(|t| tag.contains(&format!("type='{t}'")) || tag.contains(&format!("type=\"{t}\"")))
}

/// Writes the profile of one domain with ours (`-c`, the stand-in parser
/// loads nothing), compiles it with trixie's parser in the root and with
/// the host's, and removes it. Returns 1 when a profile was written.
fn compile_one(
    root: &Path,
    work: &Path,
    xml: &[u8],
    name: &str,
    ours_argv: &[&str],
    mut fail: impl FnMut(&str),
) -> usize {
    let policy = work.join("policy");
    let mut child = Command::new(ours_argv[0])
        .args(&ours_argv[1..])
        .args(["-c", "-u", name])
        .env_remove(DRIVER_ENV)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(xml);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let profile = policy.join(name);
    if !out.status.success() || !profile.exists() {
        fail(&format!(
            "ours -c failed ({:?}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
        clean_policy(&policy);
        return 0;
    }
    let inside = format!("/etc/apparmor.d/libvirt/{name}");
    // The real parser: unmount the stand-in for the time of the compile.
    let parser_in_root = root.join("usr/sbin/apparmor_parser");
    run_ok("umount", &[parser_in_root.as_os_str()]);
    let parsers: [(&str, Vec<&str>); 2] = [
        (
            "trixie's apparmor_parser",
            vec![
                "chroot",
                root.to_str().unwrap(),
                "/usr/sbin/apparmor_parser",
                "-Q",
                "-K",
                &inside,
            ],
        ),
        (
            "the host's apparmor_parser",
            vec!["/sbin/apparmor_parser", "-Q", "-K", &inside],
        ),
    ];
    for (what, argv) in parsers {
        let out = Command::new(argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        if !out.status.success() {
            fail(&format!(
                "{what} failed ({:?}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    bind(&work.join("parser"), &parser_in_root);
    clean_policy(&policy);
    1
}

/// Removes everything but the templates from the policy directory.
fn clean_policy(policy: &Path) {
    for e in std::fs::read_dir(policy).unwrap() {
        let e = e.unwrap();
        if !e.file_name().to_string_lossy().starts_with("TEMPLATE.") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
}

#[test]
fn generated_outputs_are_not_cases() {
    for out in [
        "tests/qemuxmlconfdata/disk-cdrom.x86_64-latest.xml",
        "tests/qemuxmlconfdata/cpu-host-model.x86_64-9.2.0.xml",
        "tests/qemuxmlconfdata/launch-security-sev.x86_64-latest+amdsev.xml",
        "tests/qemuxmlconfdata/virtio-options.x86_64-latest.abi-update.xml",
        "tests/qemuxmlconfdata/aarch64-aavmf.aarch64-latest.xml",
    ] {
        assert!(is_generated_output(out), "{out}");
    }
    for input in [
        "tests/qemuxmlconfdata/disk-cdrom.xml",
        "tests/qemuxmlconfdata/x86_64-default-cpu-kvm-pc-4.2.xml",
        "tests/qemuxmlconfdata/aarch64-aavmf-virtio-mmio.xml",
        "tests/qemuxml2xmloutdata/disk-cdrom.x86_64-latest.xml",
    ] {
        assert!(!is_generated_output(input), "{input}");
    }
}
