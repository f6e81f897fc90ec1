//! The helper against libvirt 9.0's, byte for byte.
//!
//! The binary only ever uses its constant paths, so each run happens in a
//! private mount namespace (`tests/ns-run.sh`) in which a temporary policy
//! directory is bind-mounted on `/etc/apparmor.d/libvirt`, a temporary
//! configuration directory on `/etc/svirt`, and a fake `apparmor_parser`
//! (recording its arguments and environment) on `/sbin/apparmor_parser`.
//! The namespace also fixes what the host looks like where a domain's paths
//! lead (an empty `/usr/share/OVMF`, a `/dev` without GPUs or input devices,
//! no PCI or USB devices in `/sys`, …; see `ns-run.sh`), so the results are
//! the same on a bare machine and on a libvirt host with ovmf, swtpm and
//! qemu-efi installed (`hermetic_view` checks the view). Needs root.
//! Without it the tests print a SKIP note, and fail only when `CI` is set.
//!
//! * `dry_run_compat_mode`: every corpus case against
//!   `tests/compat/expected/`, except [`COMPAT_EXCEPTIONS`].
//! * `dry_run_safe_mode`: the cases whose output differs in safe mode are
//!   exactly [`SAFE_DIFFERENCES`].
//! * `hermetic_view`: the namespace's fixed view of the host.
//! * `real_mode_against_libvirt`: libvirt's helper and ours, each in its
//!   own namespace, run the same command sequences; output, exit status,
//!   written files and parser invocations must be identical.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use svirt::policy::grammar::check_rules_text;

const NAME: &str = "libvirt-00000000-0000-0000-0000-0123456789ab";
const LIBVIRT_HELPER: &str = "/usr/lib/libvirt/virt-aa-helper";

/// Corpus cases where compat mode deliberately differs from libvirt 9.0.
const COMPAT_EXCEPTIONS: &[(&str, &str)] = &[(
    "error-disk-vdpa-unsupported",
    "svirt understands <disk type='vhostvdpa'>, which libvirt 9.0's parser cannot parse",
)];

/// Corpus cases whose dry-run output differs in safe mode (the default),
/// and why. Every other case must match libvirt byte for byte.
const SAFE_DIFFERENCES: &[(&str, &str)] = &[
    (
        "base-id-long-name",
        "start_requests, stable_run_dirs: the start-time -F requests are granted at once, any id",
    ),
    (
        "base-name-exactly-20",
        "start_requests, stable_run_dirs: the start-time -F requests are granted at once, any id",
    ),
    (
        "base-name-multibyte",
        "start_requests, stable_run_dirs: the start-time -F requests are granted at once, any id",
    ),
    (
        "tpm-emulator-2",
        "start_requests, stable_run_dirs: the start-time -F requests are granted at once, any id",
    ),
    (
        "chardev-serial-log",
        "chardev_logs: the <log file> is granted; pty_allocation",
    ),
    (
        "chardev-serial-pty-nopath",
        "pty_allocation: /dev/pts/[0-9]* for a pty not yet allocated",
    ),
    ("device-pstore", "pstore: the <pstore> path is granted rw"),
    ("device-sev", "sev_device: /dev/sev rw for an SEV guest"),
    (
        "device-sgx-epc",
        "sgx_epc: /dev/sgx_vepc rw and /dev/sgx_provision r",
    ),
    (
        "firmware-dir-edk2-ovmf",
        "firmware_dirs: /usr/share/edk2-ovmf/ is read-only-allowed (libvirt 11.3)",
    ),
    (
        "firmware-dir-qemu",
        "firmware_dirs: /usr/share/qemu/ is read-only-allowed (libvirt 9.0 refuses it)",
    ),
    ("firmware-shim", "os_shim: the <shim> is granted r"),
    (
        "disk-boot-readonly",
        "a warning for a backing-chain probe of a missing image",
    ),
    (
        "disk-boot-rw",
        "an extra line naming why the path is refused",
    ),
    (
        "disk-glob-chars",
        "escape_paths: pattern characters are escaped",
    ),
    (
        "disk-volume",
        "pool_volumes: a warning that the volume's pool has no definition",
    ),
    (
        "disk-volume-hostile",
        "pool_volumes: a pool name that is not one path component is refused",
    ),
    (
        "disk-volume-translated",
        "pool_volumes: the translated volume source is granted",
    ),
    (
        "disk-lib-prefix",
        "component_prefixes: /library is not /lib",
    ),
    (
        "disk-nonexistent",
        "a warning for a backing-chain probe of a missing image",
    ),
    (
        "disk-qcow2-datafile-probed",
        "untrusted_header_paths: a data file only the header names is not granted write access (a warning says so)",
    ),
    (
        "disk-quote",
        "escape_paths: a quote is escaped instead of refused",
    ),
    (
        "filesystem-9p-root-readonly",
        "check_trees: a share of / is refused",
    ),
    (
        "disk-relative",
        "reject_relative_paths: a relative path is an error",
    ),
    (
        "disk-restricted-readonly-etc",
        "an extra line naming why the path is refused",
    ),
    (
        "disk-restricted",
        "an extra line naming why the path is refused",
    ),
    (
        "disk-seclabel-relabel-no",
        "device_relabel_no: the opted-out disk gets no rule",
    ),
    (
        "error-bad-name-brace",
        "escaped_names: the name is escaped, not refused",
    ),
    (
        "error-bad-name",
        "escaped_names: the name is escaped, not refused",
    ),
    (
        "error-disk-vdpa-unsupported",
        "vhost_vdpa: svirt parses and grants vhostvdpa disks",
    ),
    ("error-empty", "an extra line naming the XML error"),
    ("error-malformed", "an extra line naming the XML error"),
    ("error-wrong-root", "an extra line naming the XML error"),
    (
        "graphics-sdl-no-xauth",
        "an extra line naming the device without xauth",
    ),
    ("interface-vdpa", "vhost_vdpa: the vDPA device is granted"),
    (
        "memory-nvdimm",
        "virtio_pmem: the virtio-pmem backing file is granted",
    ),
    (
        "tpm-passthrough",
        "tpm_passthrough: the TPM device is granted",
    ),
    (
        "disk-backing-declared",
        "quiet_write_deny: no `deny … w` after a read-only grant (libvirt 12.1)",
    ),
    (
        "disk-cdrom",
        "quiet_write_deny: no `deny … w` after a read-only grant (libvirt 12.1)",
    ),
    (
        "disk-qcow2-probed",
        "quiet_write_deny: no `deny … w` after a read-only grant (libvirt 12.1)",
    ),
    (
        "disk-qcow2-probed-readonly",
        "quiet_write_deny: no `deny … w` after a read-only grant (libvirt 12.1)",
    ),
    (
        "disk-readonly",
        "quiet_write_deny: no `deny … w` after a read-only grant (libvirt 12.1)",
    ),
    (
        "disk-two",
        "quiet_write_deny: no `deny … w` after a read-only grant (libvirt 12.1)",
    ),
    (
        "everything",
        "quiet_write_deny: no `deny … w` after a read-only grant (libvirt 12.1)",
    ),
    (
        "firmware-boot-dir",
        "quiet_write_deny: no `deny … w` after a read-only grant (libvirt 12.1)",
    ),
    (
        "firmware-direct-boot",
        "quiet_write_deny: no `deny … w` after a read-only grant (libvirt 12.1)",
    ),
    (
        "firmware-loader-rom",
        "quiet_write_deny: no `deny … w` after a read-only grant (libvirt 12.1)",
    ),
    (
        "firmware-nvram-network",
        "quiet_write_deny: no `deny … w` after a read-only grant (libvirt 12.1)",
    ),
    (
        "firmware-nvram-source",
        "quiet_write_deny: no `deny … w` after a read-only grant (libvirt 12.1)",
    ),
    (
        "firmware-uefi",
        "quiet_write_deny: no `deny … w` after a read-only grant (libvirt 12.1)",
    ),
    (
        "firmware-uefi-system",
        "quiet_write_deny: no `deny … w` after a read-only grant (libvirt 12.1)",
    ),
    (
        "fwcfg",
        "quiet_write_deny: no `deny … w` after a read-only grant (libvirt 12.1)",
    ),
    (
        "graphics-sdl",
        "quiet_write_deny: no `deny … w` after a read-only grant (libvirt 12.1)",
    ),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ours() -> &'static str {
    env!("CARGO_BIN_EXE_virt-aa-helper")
}

/// Whether the namespace rig can run here; prints why not.
fn rig_available() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        let why = (|| {
            let id = Command::new("id").arg("-u").output().ok()?;
            if String::from_utf8_lossy(&id.stdout).trim() != "0" {
                return Some("not root".to_owned());
            }
            for dir in ["/etc/svirt", "/etc/apparmor.d/libvirt"] {
                if std::fs::create_dir_all(dir).is_err() {
                    return Some(format!("cannot create {dir}"));
                }
            }
            if !Path::new("/sbin/apparmor_parser").exists() {
                return Some("/sbin/apparmor_parser is missing (install apparmor)".to_owned());
            }
            let probe = Command::new("unshare")
                .args(["--mount", "--propagation", "private", "true"])
                .status();
            if !matches!(probe, Ok(s) if s.success()) {
                return Some("unshare --mount does not work here".to_owned());
            }
            let setup = Command::new("sh")
                .arg(repo().join("tests/compat/setup.sh"))
                .status();
            if !matches!(setup, Ok(s) if s.success()) {
                return Some("tests/compat/setup.sh failed".to_owned());
            }
            None
        })();
        match why {
            None => true,
            Some(why) => {
                eprintln!("SKIP: the mount-namespace rig cannot run: {why}");
                assert!(
                    std::env::var_os("CI").is_none(),
                    "the mount-namespace rig must run in CI: {why}"
                );
                false
            }
        }
    })
}

/// A policy directory, configuration directory and fake parser.
struct Rig {
    dir: tempfile::TempDir,
}

impl Rig {
    fn new(config: &str) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("policy")).unwrap();
        std::fs::create_dir(root.join("etc-svirt")).unwrap();
        for t in ["TEMPLATE.qemu", "TEMPLATE.lxc"] {
            let src = Path::new("/etc/apparmor.d/libvirt").join(t);
            if src.exists() {
                std::fs::copy(&src, root.join("policy").join(t)).unwrap();
            }
        }
        std::fs::write(root.join("etc-svirt/virt-aa-helper.conf"), config).unwrap();
        std::fs::write(root.join("parser-rc"), "0\n").unwrap();
        let log = root.join("parser.log");
        let rc = root.join("parser-rc");
        // Only shell builtins: the helper clears PATH to /sbin:/usr/sbin.
        std::fs::write(
            root.join("parser"),
            format!(
                "#!/bin/sh\n{{ printf 'argv:'; for a in \"$@\"; do printf ' [%s]' \"$a\"; done; echo; export -p; }} >> '{}'\nread rc < '{}'\nexit $rc\n",
                log.display(),
                rc.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.join("parser"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        Rig { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn set_parser_status(&self, rc: i32) {
        std::fs::write(self.root().join("parser-rc"), format!("{rc}\n")).unwrap();
    }

    fn run(&self, helper: &str, args: &[&str], stdin: Option<&Path>) -> Output {
        let root = self.root();
        let mut cmd = Command::new("sh");
        cmd.arg(repo().join("crates/virt-aa-helper/tests/ns-run.sh"))
            .arg(root.join("policy"))
            .arg(root.join("etc-svirt"))
            .arg(root.join("parser"))
            .arg(helper)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match stdin {
            Some(p) => cmd.stdin(std::fs::File::open(p).unwrap()),
            None => cmd.stdin(Stdio::null()),
        };
        cmd.output().unwrap()
    }

    /// The policy directory's files and contents (our lock file aside),
    /// and the parser log.
    fn state(&self) -> (Vec<(String, Vec<u8>)>, String) {
        let mut files: Vec<_> = std::fs::read_dir(self.root().join("policy"))
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| !e.file_name().to_string_lossy().ends_with(".lock"))
            .map(|e| {
                let data = std::fs::read(e.path()).unwrap_or_default();
                (e.file_name().to_string_lossy().into_owned(), data)
            })
            .collect();
        files.sort();
        let log = std::fs::read_to_string(self.root().join("parser.log")).unwrap_or_default();
        (files, log)
    }
}

fn corpus() -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir(repo().join("tests/compat/corpus"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".xml").map(str::to_owned))
        .collect();
    cases.sort();
    cases
}

fn expected(case: &str) -> (Vec<u8>, Vec<u8>, i32) {
    let base = repo().join("tests/compat/expected").join(case);
    let read = |ext: &str| std::fs::read(base.with_extension(ext)).unwrap();
    let status = String::from_utf8(read("status")).unwrap();
    (
        read("stdout"),
        read("stderr"),
        status.trim().parse().unwrap(),
    )
}

/// Cases whose dry run differs from libvirt's recording under `config`.
/// Safe mode's stderr with its `#include if exists <libvirt/…>` line in
/// libvirt 9.0's `#include <libvirt/…>` form, after checking that safe mode
/// never writes the plain form.
fn plain_include(case: &str, ours: &[u8]) -> Vec<u8> {
    const IF_EXISTS: &str = "\n  #include if exists <libvirt/";
    const PLAIN: &str = "\n  #include <libvirt/";
    let ours = String::from_utf8_lossy(ours);
    assert!(
        !ours.contains(PLAIN),
        "{case}: a plain .files include in safe mode"
    );
    ours.replace(IF_EXISTS, PLAIN).into_bytes()
}

fn differing_cases(config: &str) -> Vec<(String, String)> {
    let rig = Rig::new(config);
    let mut differ = Vec::new();
    for case in corpus() {
        let xml = repo()
            .join("tests/compat/corpus")
            .join(format!("{case}.xml"));
        let out = rig.run(ours(), &["-d", "-c", "-u", NAME], Some(&xml));
        // Every rule printed, in either mode, is within svirt's grammar.
        let printed = String::from_utf8_lossy(&out.stderr);
        let rules: Vec<&str> = printed.lines().filter(|l| l.starts_with("  ")).collect();
        if let Err(e) = check_rules_text(&rules.join("\n"), !config.contains("compat")) {
            panic!("{case}: {e}");
        }
        let (stdout, stderr, status) = expected(&case);
        let ours = if config.contains("compat") {
            out.stderr.clone()
        } else {
            // Safe mode's `include_if_exists` changes the include line of
            // every `-c`: checked here, then compared as libvirt's form so
            // that the other differences stay visible.
            plain_include(&case, &out.stderr)
        };
        if out.stdout != stdout || ours != stderr || out.status.code() != Some(status) {
            differ.push((case, String::from_utf8_lossy(&out.stderr).into_owned()));
        }
    }
    let (files, log) = rig.state();
    assert!(
        files.iter().all(|(n, _)| n.starts_with("TEMPLATE.")),
        "a dry run wrote {files:?}"
    );
    assert!(log.is_empty(), "a dry run ran the parser: {log}");
    differ
}

/// Every run sees the same host: the locations a domain's paths lead to are
/// a fixed file set in the namespace (`ns-run.sh`), whatever the machine
/// has installed (ovmf, swtpm, qemu-efi, GPUs, USB and PCI devices).
#[test]
fn hermetic_view() {
    if !rig_available() {
        return;
    }
    let rig = Rig::new("");
    let script = "pwd; for d in /dev /dev/pts /dev/shm /var/lib /var/lib/libvirt \
        /var/lib/libvirt/qemu /var/lib/svirt-ns-cwd /sys/bus /sys/class /sys/dev \
        /sys/kernel/iommu_groups /usr/share/OVMF /usr/share/ovmf /usr/share/AAVMF \
        /usr/share/edk2 /usr/share/edk2-ovmf /usr/share/qemu /usr/share/qemu-efi \
        /usr/share/qemu-efi-aarch64 /usr/share/qemu-efi-loongarch64 /usr/share/qemu-efi-riscv64 \
        /usr/share/qemu-efi-arm /usr/share/seabios /usr/share/ipxe /usr/share/swtpm \
        /boot /etc/pki /library /etc/libvirt/storage /run/libvirt/storage; do \
        [ -d $d ] && [ -n \"$(ls -A $d)\" ] && echo $d: $(ls -A $d); done; \
        ls -ln /dev | awk '/^c/ {print $10, $1, $5, $6}'; \
        env | grep -E '^(LC_|LANG|LIBVIRT_)' | sort; true";
    let out = rig.run("sh", &["-c", script], None);
    assert!(out.status.success(), "{out:?}");
    let got = String::from_utf8_lossy(&out.stdout);
    // Device numbers of the host's own null, zero, … are the same on every
    // Linux machine; ttyS0 is made.
    let want = "/var/lib/svirt-ns-cwd
/dev: fd full null pts random shm stderr stdin stdout tty ttyS0 urandom zero
/var/lib: libvirt svirt-ns-cwd
/var/lib/libvirt: qemu
full crw-rw-rw- 1, 7
null crw-rw-rw- 1, 3
random crw-rw-rw- 1, 8
tty crw-rw-rw- 5, 0
ttyS0 crw------- 4, 64
urandom crw-rw-rw- 1, 9
zero crw-rw-rw- 1, 5
LC_ALL=C
";
    assert_eq!(
        got,
        want,
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dry_run_compat_mode() {
    if !rig_available() {
        return;
    }
    let differ = differing_cases("mode = compat\n");
    let unexpected: Vec<_> = differ
        .iter()
        .filter(|(c, _)| !COMPAT_EXCEPTIONS.iter().any(|(e, _)| e == c))
        .collect();
    assert!(
        unexpected.is_empty(),
        "compat mode differs from libvirt 9.0 on: {unexpected:#?}"
    );
    for (case, _) in COMPAT_EXCEPTIONS {
        assert!(
            differ.iter().any(|(c, _)| c == case),
            "{case} is a documented exception but matches libvirt: drop it from the list"
        );
    }
}

#[test]
fn dry_run_safe_mode() {
    if !rig_available() {
        return;
    }
    // No configuration file at all means safe mode.
    let differ = differing_cases("");
    let got: Vec<&str> = differ.iter().map(|(c, _)| c.as_str()).collect();
    let mut want: Vec<&str> = SAFE_DIFFERENCES.iter().map(|(c, _)| *c).collect();
    want.sort();
    assert_eq!(got, want, "safe-mode differences: {differ:#?}");
}

#[test]
fn usage_and_argument_errors_match_libvirt() {
    if !rig_available() || !Path::new(LIBVIRT_HELPER).exists() {
        return;
    }
    let rig = Rig::new("mode = compat\n");
    for args in [
        &["-h"][..],
        &[],
        &["-u", NAME],
        &["-x"],
        &["--d"],
        &["--a"],
        &["--re"],
        &["--add=1"],
        &["--uu"],
        &["-u"],
        &["-p", "1"],
        &["-a", "-u", "libvirt-00000000-0000-0000-0000-0123456789ag"],
        &["-a", "-u", &format!("{NAME}a"), "-x"],
        &["--create", "--uuid", "bad"],
        &["-a", "-u", NAME],
        &["-dR", &format!("-u{NAME}")],
    ] {
        let a = rig.run(LIBVIRT_HELPER, args, None);
        let b = rig.run(ours(), args, None);
        // getopt prints argv[0] verbatim: the two binaries' paths differ.
        let norm =
            |o: &Output, path: &str| String::from_utf8_lossy(&o.stderr).replace(path, "HELPER");
        assert_eq!(a.stdout, b.stdout, "{args:?}");
        assert_eq!(norm(&a, LIBVIRT_HELPER), norm(&b, ours()), "{args:?}");
        assert_eq!(a.status.code(), b.status.code(), "{args:?}");
    }
}

/// One step of a real-mode sequence.
struct Step<'a> {
    args: &'a [&'a str],
    xml: Option<&'a str>,
    parser_status: i32,
    /// Prepare the policy directory before the step.
    before: Option<&'a dyn Fn(&Path)>,
}

fn step<'a>(args: &'a [&'a str], xml: Option<&'a str>) -> Step<'a> {
    Step {
        args,
        xml,
        parser_status: 0,
        before: None,
    }
}

fn run_sequence(helper: &str, config: &str, steps: &[Step<'_>]) -> Vec<String> {
    let rig = Rig::new(config);
    let mut record = Vec::new();
    for s in steps {
        rig.set_parser_status(s.parser_status);
        if let Some(f) = s.before {
            f(&rig.root().join("policy"));
        }
        let xml = s
            .xml
            .map(|c| repo().join("tests/compat/corpus").join(format!("{c}.xml")));
        let out = rig.run(helper, s.args, xml.as_deref());
        let (files, log) = rig.state();
        record.push(format!(
            "{:?} status={:?}\nstdout={}\nstderr={}\nfiles={:#?}\nparser={}",
            s.args,
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            files
                .iter()
                .map(|(n, d)| (n.clone(), String::from_utf8_lossy(d).into_owned()))
                .collect::<Vec<_>>(),
            log
        ));
    }
    record
}

#[test]
fn real_mode_against_libvirt() {
    if !rig_available() || !Path::new(LIBVIRT_HELPER).exists() {
        eprintln!("SKIP: {LIBVIRT_HELPER} is not installed");
        return;
    }
    let zero = |dir: &Path| std::fs::write(dir.join(NAME), "").unwrap();
    let sequences: Vec<Vec<Step<'_>>> = vec![
        // create, reload unchanged, append, add, delete, re-create refused
        vec![
            step(&["-c", "-u", NAME], Some("disk-two")),
            step(&["-r", "-u", NAME], Some("disk-two")),
            step(
                &["-r", "-u", NAME, "-F", "/tmp/svirt-compat/cdrom.iso"],
                Some("disk-two"),
            ),
            step(
                &["-r", "-u", NAME, "-F", "/tmp/svirt-compat/cdrom.iso"],
                Some("disk-two"),
            ),
            step(
                &["-r", "-u", NAME, "-f", "/tmp/svirt-compat/kernel"],
                Some("disk-two"),
            ),
            step(&["-r", "-u", NAME, "--append-file"], Some("disk-two")),
            step(&["-c", "-u", NAME], Some("disk-two")),
            step(&["-a", "-u", NAME], None),
            Step {
                parser_status: 234,
                ..step(&["-R", "-u", NAME], None)
            },
            step(&["-D", "-u", NAME], None),
            step(&["-r", "-u", NAME], Some("base-minimal")),
        ],
        // parser failures
        vec![
            Step {
                parser_status: 1,
                ..step(&["-c", "-u", NAME], Some("disk-two"))
            },
            step(&["-c", "-u", NAME], Some("everything")),
            Step {
                parser_status: 1,
                ..step(&["-r", "-u", NAME], Some("disk-two"))
            },
            Step {
                parser_status: 1,
                ..step(&["-D", "-u", NAME], None)
            },
        ],
        // zero-size repair
        vec![
            Step {
                before: Some(&zero),
                ..step(&["-r", "-u", NAME], Some("disk-two"))
            },
            Step {
                before: Some(&zero),
                parser_status: 234,
                ..step(&["-r", "-u", NAME], Some("disk-two"))
            },
            Step {
                before: Some(&zero),
                parser_status: 1,
                ..step(&["-r", "-u", NAME], Some("disk-two"))
            },
        ],
        // missing profile, errors, LXC, -F on a fresh profile
        vec![
            step(&["-r", "-u", NAME], Some("disk-two")),
            step(&["-a", "-u", NAME], None),
            step(&["-D", "-u", NAME], None),
            step(&["-c", "-u", NAME], Some("disk-restricted")),
            step(
                &["-c", "-u", NAME, "-F", "/tmp/svirt-compat/cdrom.iso"],
                Some("disk-two"),
            ),
            step(&["-r", "-u", NAME, "-F", "/etc/shadow"], Some("disk-two")),
            step(
                &["-r", "-u", NAME, "-F", "/nonexistent/x"],
                Some("disk-two"),
            ),
        ],
        vec![
            step(&["-c", "-u", NAME], Some("lxc-domain")),
            step(&["-r", "-u", NAME], Some("lxc-domain")),
        ],
        vec![
            step(&["-c", "-u", NAME], Some("worked-example")),
            step(&["-r", "-u", NAME], Some("chardev-all-kinds")),
        ],
    ];
    for steps in &sequences {
        let theirs = run_sequence(LIBVIRT_HELPER, "mode = compat\n", steps);
        let mine = run_sequence(ours(), "mode = compat\n", steps);
        for (a, b) in theirs.iter().zip(&mine) {
            assert_eq!(a, b, "libvirt (left) and svirt (right) differ");
        }
    }
}

#[test]
fn profiles_compile_with_the_real_parser() {
    if !rig_available() || !Path::new("/etc/apparmor.d/abstractions/libvirt-qemu").exists() {
        return;
    }
    // A wrapper that compiles only (-Q -K), from a copy of the real parser
    // (the bind mount hides the original).
    let rig = Rig::new("");
    let real = rig.root().join("real-parser");
    std::fs::copy("/sbin/apparmor_parser", &real).unwrap();
    let wrapper = rig.root().join("parser");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\nexec '{}' -Q -K \"$@\"\n", real.display()),
    )
    .unwrap();
    for (case, id) in [
        ("everything", "12"),
        ("disk-glob-chars", "-1"),
        ("worked-example", "-1"),
    ] {
        let xml = repo()
            .join("tests/compat/corpus")
            .join(format!("{case}.xml"));
        let out = rig.run(ours(), &["-c", "-u", NAME], Some(&xml));
        assert!(
            out.status.success(),
            "{case}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = rig.run(
            ours(),
            &[
                "-r",
                "-u",
                NAME,
                "-F",
                // The VM's own per-run directory, as libvirt's driver asks.
                &format!("/var/lib/libvirt/qemu/domain-{id}-virt-aa-helper-test/{{,**}}"),
            ],
            Some(&xml),
        );
        assert!(
            out.status.success(),
            "{case} -F subtree: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::remove_file(rig.root().join("policy").join(NAME)).unwrap();
        std::fs::remove_file(rig.root().join("policy").join(format!("{NAME}.files"))).unwrap();
    }
}

#[test]
fn own_apparmor_profile_compiles() {
    let Some(parser) = ["/sbin/apparmor_parser", "/usr/sbin/apparmor_parser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        eprintln!("SKIP: apparmor_parser is not installed");
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have apparmor_parser"
        );
        return;
    };
    let out = Command::new(parser)
        .args(["-Q", "-K"])
        .arg(repo().join("policy/usr.lib.libvirt.virt-aa-helper"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
