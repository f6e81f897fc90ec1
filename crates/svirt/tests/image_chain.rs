//! Backing chains of real images made by `qemu-img`, plus hostile files.
//! Tests print a note and pass if `qemu-img` is missing (CI installs it).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

mod common;

use common::have_qemu_img;
use svirt::domain::{Backing, StorageSource, StorageType};
use svirt::image::{probe_chain, walk_chain, ImageFs, ProbedChain, ReadError, MAX_LAYERS};

fn qemu_img(dir: &Path, args: &[&str]) {
    common::qemu_img_in(Some(dir), args);
}

fn source(path: &Path, format: Option<&str>) -> StorageSource {
    let mut s = StorageSource::new(StorageType::File, Some(path.display().to_string()));
    s.format = format.map(str::to_owned);
    s
}

fn real(p: &Path) -> String {
    fs::canonicalize(p).unwrap().display().to_string()
}

fn paths(c: &ProbedChain) -> Vec<&str> {
    c.layers.iter().map(|l| l.path.as_str()).collect()
}

fn warned(c: &ProbedChain, needle: &str) -> bool {
    c.warnings.iter().any(|w| w.contains(needle))
}

/// Replaces `from` by `to` (same length) in the first 64 KiB of `path`.
fn patch(path: &Path, from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut b = fs::read(path).unwrap();
    let end = b.len().min(65536);
    let at = b[..end]
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern present");
    b[at..at + to.len()].copy_from_slice(to);
    fs::write(path, b).unwrap();
}

fn set_be(path: &Path, off: usize, bytes: &[u8]) {
    let mut b = fs::read(path).unwrap();
    b[off..off + bytes.len()].copy_from_slice(bytes);
    fs::write(path, b).unwrap();
}

#[test]
fn qcow2_chain_absolute() {
    if !have_qemu_img() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    qemu_img(p, &["create", "-q", "-f", "qcow2", "base.qcow2", "1M"]);
    let base = real(&p.join("base.qcow2"));
    qemu_img(
        p,
        &[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-b",
            &base,
            "-F",
            "qcow2",
            "mid.qcow2",
        ],
    );
    let mid = real(&p.join("mid.qcow2"));
    qemu_img(
        p,
        &[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-b",
            &mid,
            "-F",
            "qcow2",
            "top.qcow2",
        ],
    );
    let c = probe_chain(&source(&p.join("top.qcow2"), Some("qcow2")));
    assert_eq!(paths(&c), vec![real(&p.join("top.qcow2")), mid, base]);
    assert!(c
        .layers
        .iter()
        .all(|l| l.format.as_deref() == Some("qcow2")));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn relative_backing_and_symlinks() {
    if !have_qemu_img() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    fs::create_dir(p.join("sub")).unwrap();
    fs::create_dir(p.join("links")).unwrap();
    qemu_img(p, &["create", "-q", "-f", "qcow2", "base.qcow2", "1M"]);
    std::os::unix::fs::symlink(p.join("base.qcow2"), p.join("links/base-link.qcow2")).unwrap();
    // Named relative to the directory of the image that names it.
    qemu_img(
        &p.join("sub"),
        &[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-b",
            "../links/base-link.qcow2",
            "-F",
            "qcow2",
            "top.qcow2",
        ],
    );
    std::os::unix::fs::symlink(p.join("sub/top.qcow2"), p.join("links/top-link.qcow2")).unwrap();
    let c = probe_chain(&source(&p.join("sub/top.qcow2"), Some("qcow2")));
    assert_eq!(
        paths(&c),
        vec![real(&p.join("sub/top.qcow2")), real(&p.join("base.qcow2"))]
    );
    // Through a symlinked top, the relative name is resolved against the
    // directory QEMU opened (links/), where `../links/base-link.qcow2` also
    // exists.
    let c = probe_chain(&source(&p.join("links/top-link.qcow2"), Some("qcow2")));
    assert_eq!(
        paths(&c),
        vec![real(&p.join("sub/top.qcow2")), real(&p.join("base.qcow2"))]
    );
}

#[test]
fn loops_are_detected() {
    if !have_qemu_img() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    qemu_img(p, &["create", "-q", "-f", "qcow2", "a.qcow2", "1M"]);
    qemu_img(
        p,
        &["rebase", "-u", "-b", "a.qcow2", "-F", "qcow2", "a.qcow2"],
    );
    let c = probe_chain(&source(&p.join("a.qcow2"), Some("qcow2")));
    assert_eq!(paths(&c), vec![real(&p.join("a.qcow2"))]);
    assert!(warned(&c, "loop"), "{:?}", c.warnings);

    qemu_img(p, &["create", "-q", "-f", "qcow2", "b.qcow2", "1M"]);
    qemu_img(
        p,
        &["rebase", "-u", "-b", "b.qcow2", "-F", "qcow2", "a.qcow2"],
    );
    qemu_img(
        p,
        &["rebase", "-u", "-b", "a.qcow2", "-F", "qcow2", "b.qcow2"],
    );
    let c = probe_chain(&source(&p.join("a.qcow2"), Some("qcow2")));
    assert_eq!(
        paths(&c),
        vec![real(&p.join("a.qcow2")), real(&p.join("b.qcow2"))]
    );
    assert!(warned(&c, "loop"), "{:?}", c.warnings);
}

#[test]
fn depth_250_is_cut_at_200() {
    if !have_qemu_img() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    qemu_img(p, &["create", "-q", "-f", "qcow2", "l0.qcow2", "1M"]);
    for i in 1..250 {
        let b = format!("l{}.qcow2", i - 1);
        let t = format!("l{i}.qcow2");
        // -u: do not open the (ever deeper) backing chain while creating.
        qemu_img(
            p,
            &[
                "create", "-q", "-u", "-f", "qcow2", "-b", &b, "-F", "qcow2", &t, "1M",
            ],
        );
    }
    let c = probe_chain(&source(&p.join("l249.qcow2"), Some("qcow2")));
    assert_eq!(c.layers.len(), MAX_LAYERS);
    assert_eq!(c.layers[199].path, real(&p.join("l50.qcow2")));
    assert!(warned(&c, "deeper than 200"), "{:?}", c.warnings);
    // Exactly 200 layers: no warning.
    let c = probe_chain(&source(&p.join("l199.qcow2"), Some("qcow2")));
    assert_eq!(c.layers.len(), 200);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn a_missing_backing_file_ends_the_chain() {
    if !have_qemu_img() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    qemu_img(
        p,
        &[
            "create",
            "-q",
            "-u",
            "-f",
            "qcow2",
            "-b",
            "gone.qcow2",
            "-F",
            "qcow2",
            "top.qcow2",
            "1M",
        ],
    );
    let c = probe_chain(&source(&p.join("top.qcow2"), Some("qcow2")));
    let gone = format!("{}/gone.qcow2", real(p));
    // As libvirt: the missing file is not a layer (no rule), with a warning.
    assert_eq!(paths(&c), vec![real(&p.join("top.qcow2"))]);
    assert!(
        warned(&c, &gone) && warned(&c, "chain stops"),
        "{:?}",
        c.warnings
    );
    // A missing top image too.
    let c = probe_chain(&source(&p.join("nothing.qcow2"), Some("qcow2")));
    assert_eq!(c.layers.len(), 1);
    assert!(warned(&c, "does not exist"));
}

#[test]
fn external_data_files() {
    if !have_qemu_img() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    qemu_img(
        p,
        &[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-o",
            "data_file=base.data",
            "base.qcow2",
            "1M",
        ],
    );
    qemu_img(
        p,
        &[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-o",
            "data_file=top.data",
            "-b",
            "base.qcow2",
            "-F",
            "qcow2",
            "top.qcow2",
        ],
    );
    let c = probe_chain(&source(&p.join("top.qcow2"), Some("qcow2")));
    assert_eq!(c.layers.len(), 2);
    assert_eq!(c.layers[0].data_file, Some(real(&p.join("top.data"))));
    assert_eq!(c.layers[1].data_file, Some(real(&p.join("base.data"))));
    // The XML's <dataStore> wins.
    let mut top = source(&p.join("top.qcow2"), Some("qcow2"));
    top.data_store = Some(Box::new(source(&p.join("base.data"), Some("raw"))));
    let c = probe_chain(&top);
    assert_eq!(c.layers[0].data_file, Some(real(&p.join("base.data"))));
}

#[test]
fn raw_declared_image_is_never_read() {
    if !have_qemu_img() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    // What a guest could write into its raw disk.
    qemu_img(
        p,
        &[
            "create",
            "-q",
            "-u",
            "-f",
            "qcow2",
            "-b",
            "/etc/shadow",
            "-F",
            "raw",
            "evil.img",
            "1M",
        ],
    );
    let evil = p.join("evil.img");
    for declared in [Some("raw"), None] {
        let c = probe_chain(&source(&evil, declared));
        assert_eq!(paths(&c), vec![real(&evil)], "declared {declared:?}");
    }
    // Recorded as raw by the layer above: listed, not read.
    qemu_img(
        p,
        &[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-b",
            "evil.img",
            "-F",
            "raw",
            "top.qcow2",
        ],
    );
    let c = probe_chain(&source(&p.join("top.qcow2"), Some("qcow2")));
    assert_eq!(paths(&c), vec![real(&p.join("top.qcow2")), real(&evil)]);
    assert_eq!(c.layers[1].format.as_deref(), Some("raw"));
    assert!(!paths(&c).contains(&"/etc/shadow"));
    // Declared raw in <backingStore> while the header says qcow2: the XML wins.
    let mut top = source(&p.join("top.qcow2"), Some("qcow2"));
    let mut b = source(&evil, Some("raw"));
    b.backing = Backing::Unknown;
    top.backing = Backing::Layer(Box::new(b));
    let c = probe_chain(&top);
    assert_eq!(c.layers.len(), 2);
}

#[test]
fn xml_backing_store_wins() {
    if !have_qemu_img() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    qemu_img(p, &["create", "-q", "-f", "qcow2", "base.qcow2", "1M"]);
    qemu_img(p, &["create", "-q", "-f", "qcow2", "other.qcow2", "1M"]);
    qemu_img(
        p,
        &[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-b",
            "base.qcow2",
            "-F",
            "qcow2",
            "top.qcow2",
        ],
    );
    let mut top = source(&p.join("top.qcow2"), Some("qcow2"));
    top.backing = Backing::None;
    assert_eq!(probe_chain(&top).layers.len(), 1);
    let mut other = source(&p.join("other.qcow2"), Some("qcow2"));
    other.backing = Backing::None;
    top.backing = Backing::Layer(Box::new(other));
    let c = probe_chain(&top);
    assert_eq!(
        paths(&c),
        vec![real(&p.join("top.qcow2")), real(&p.join("other.qcow2"))]
    );
}

#[test]
fn unrecorded_backing_format_is_listed_not_read() {
    if !have_qemu_img() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    qemu_img(p, &["create", "-q", "-f", "qcow2", "c.qcow2", "1M"]);
    qemu_img(
        p,
        &[
            "create", "-q", "-f", "qcow2", "-b", "c.qcow2", "-F", "qcow2", "b.qcow2",
        ],
    );
    qemu_img(
        p,
        &[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-b",
            "b.qcow2",
            "-F",
            "qcow2",
            "top.qcow2",
        ],
    );
    // Make the backing format extension of top unknown to every reader.
    patch(
        &p.join("top.qcow2"),
        &0xe279_2acau32.to_be_bytes(),
        &0x1234_5678u32.to_be_bytes(),
    );
    let c = probe_chain(&source(&p.join("top.qcow2"), Some("qcow2")));
    assert_eq!(
        paths(&c),
        vec![real(&p.join("top.qcow2")), real(&p.join("b.qcow2"))]
    );
    assert_eq!(c.layers[1].format, None);
    assert!(warned(&c, "not recorded"), "{:?}", c.warnings);
}

#[test]
fn qed_chains() {
    if !have_qemu_img() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    qemu_img(p, &["create", "-q", "-f", "qed", "q1.qed", "1M"]);
    qemu_img(
        p,
        &[
            "create", "-q", "-f", "qed", "-b", "q1.qed", "-F", "qed", "q2.qed",
        ],
    );
    qemu_img(
        p,
        &[
            "create", "-q", "-f", "qed", "-b", "q2.qed", "-F", "qed", "q3.qed",
        ],
    );
    let c = probe_chain(&source(&p.join("q3.qed"), Some("qed")));
    assert_eq!(
        paths(&c),
        vec![
            real(&p.join("q3.qed")),
            real(&p.join("q2.qed")),
            real(&p.join("q1.qed"))
        ]
    );
    assert_eq!(c.layers[2].format.as_deref(), Some("qed"));
    // A raw backing (the "do not probe" bit) is never read.
    qemu_img(
        p,
        &[
            "create",
            "-q",
            "-u",
            "-f",
            "qcow2",
            "-b",
            "/etc/shadow",
            "-F",
            "raw",
            "evil.img",
            "1M",
        ],
    );
    qemu_img(
        p,
        &[
            "create", "-q", "-f", "qed", "-b", "evil.img", "-F", "raw", "qr.qed",
        ],
    );
    let c = probe_chain(&source(&p.join("qr.qed"), Some("qed")));
    assert_eq!(
        paths(&c),
        vec![real(&p.join("qr.qed")), real(&p.join("evil.img"))]
    );
    assert_eq!(c.layers[1].format.as_deref(), Some("raw"));
}

#[test]
fn vmdk_chains_and_descriptors() {
    if !have_qemu_img() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    qemu_img(p, &["create", "-q", "-f", "vmdk", "v1.vmdk", "1M"]);
    qemu_img(
        p,
        &[
            "create", "-q", "-f", "vmdk", "-b", "v1.vmdk", "-F", "vmdk", "v2.vmdk",
        ],
    );
    qemu_img(
        p,
        &[
            "create", "-q", "-f", "vmdk", "-b", "v2.vmdk", "-F", "vmdk", "v3.vmdk",
        ],
    );
    // A VMDK parent hint records no format: the parent is listed, not read.
    let c = probe_chain(&source(&p.join("v3.vmdk"), Some("vmdk")));
    assert_eq!(
        paths(&c),
        vec![real(&p.join("v3.vmdk")), real(&p.join("v2.vmdk"))]
    );
    assert!(warned(&c, "not recorded"));
    // Declared in the XML, the whole chain is followed.
    let mut top = source(&p.join("v3.vmdk"), Some("vmdk"));
    top.backing = Backing::Layer(Box::new(source(&p.join("v2.vmdk"), Some("vmdk"))));
    let c = probe_chain(&top);
    assert_eq!(c.layers.len(), 3, "{:?}", c);
    assert_eq!(c.layers[2].path, real(&p.join("v1.vmdk")));
    // A descriptor file with separate extents.
    qemu_img(
        p,
        &[
            "create",
            "-q",
            "-f",
            "vmdk",
            "-o",
            "subformat=twoGbMaxExtentFlat",
            "split.vmdk",
            "1M",
        ],
    );
    let c = probe_chain(&source(&p.join("split.vmdk"), Some("vmdk")));
    assert_eq!(c.layers.len(), 1);
    assert_eq!(c.layers[0].extents, vec![real(&p.join("split-f001.vmdk"))]);
}

#[test]
fn hostile_headers_give_warnings() {
    if !have_qemu_img() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let check = |name: &str, needle: &str| {
        let c = probe_chain(&source(&p.join(name), Some("qcow2")));
        assert_eq!(c.layers.len(), 1, "{name}: {c:?}");
        assert!(warned(&c, needle), "{name}: {:?}", c.warnings);
    };
    fs::write(p.join("short.qcow2"), b"QFI\xfb\0\0\0\x03").unwrap();
    check("short.qcow2", "truncated");

    qemu_img(
        p,
        &[
            "create", "-q", "-u", "-f", "qcow2", "-b", "bxxxxxxx", "-F", "qcow2", "t.qcow2", "1M",
        ],
    );
    for (name, off, bytes) in [
        ("offset.qcow2", 8, u64::MAX.to_be_bytes().to_vec()),
        ("long.qcow2", 16, 1024u32.to_be_bytes().to_vec()),
        ("huge.qcow2", 16, u32::MAX.to_be_bytes().to_vec()),
    ] {
        fs::copy(p.join("t.qcow2"), p.join(name)).unwrap();
        set_be(&p.join(name), off, &bytes);
    }
    check("offset.qcow2", "out of range");
    check("long.qcow2", "1023");
    check("huge.qcow2", "1023");
    fs::copy(p.join("t.qcow2"), p.join("utf8.qcow2")).unwrap();
    patch(&p.join("utf8.qcow2"), b"bxxxxxxx", b"b\xff\xfexxxxx");
    check("utf8.qcow2", "UTF-8");
}

#[test]
fn fifo_does_not_block() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("pipe.qcow2");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("note: mkfifo unavailable; skipping");
        return;
    }
    let (tx, rx) = mpsc::channel();
    let f = fifo.clone();
    std::thread::spawn(move || {
        let c = probe_chain(&source(&f, Some("qcow2")));
        let _ = tx.send(c);
    });
    let c = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("probing a FIFO must not block");
    assert_eq!(c.layers.len(), 1);
    assert!(warned(&c, "FIFO"), "{:?}", c.warnings);
    // Character devices are refused too.
    let c = probe_chain(&source(Path::new("/dev/null"), Some("qcow2")));
    assert!(warned(&c, "character device"), "{:?}", c.warnings);
}

#[test]
fn unreadable_files() {
    let d = tempfile::tempdir().unwrap();
    // A directory where an image is expected.
    let c = probe_chain(&source(d.path(), Some("qcow2")));
    assert_eq!(c.layers.len(), 1);
    assert!(warned(&c, "directory"), "{:?}", c.warnings);
    // Permission denied (root can read anything: skip the check then).
    let f = d.path().join("secret.qcow2");
    fs::write(&f, b"QFI\xfb").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&f, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::File::open(&f).is_ok() {
        eprintln!("note: running as root; permission-denied case skipped");
        return;
    }
    let c = probe_chain(&source(&f, Some("qcow2")));
    assert_eq!(c.layers.len(), 1);
    assert!(warned(&c, "ermission denied"), "{:?}", c.warnings);
}

/// A fake filesystem: files by path, recording every read.
#[derive(Default)]
struct FakeFs {
    files: HashMap<PathBuf, Vec<u8>>,
    reads: RefCell<Vec<PathBuf>>,
}

impl ImageFs for FakeFs {
    fn read_at(&self, path: &Path, offset: u64, len: usize) -> Result<Vec<u8>, ReadError> {
        self.reads.borrow_mut().push(path.to_path_buf());
        let b = self.files.get(path).ok_or(ReadError::NotFound)?;
        let start = (offset as usize).min(b.len());
        let end = start.saturating_add(len).min(b.len());
        Ok(b[start..end].to_vec())
    }
    fn size(&self, path: &Path) -> Result<u64, ReadError> {
        self.files
            .get(path)
            .map(|b| b.len() as u64)
            .ok_or(ReadError::NotFound)
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        if self.files.contains_key(path) {
            Ok(path.to_path_buf())
        } else {
            Err(io::Error::from(io::ErrorKind::NotFound))
        }
    }
}

fn fake_qcow2(backing: &str, fmt: &str) -> Vec<u8> {
    let mut b = vec![0u8; 104];
    b[0..4].copy_from_slice(b"QFI\xfb");
    b[4..8].copy_from_slice(&3u32.to_be_bytes());
    b[20..24].copy_from_slice(&16u32.to_be_bytes());
    b[100..104].copy_from_slice(&104u32.to_be_bytes());
    b.extend_from_slice(&0xe279_2acau32.to_be_bytes());
    b.extend_from_slice(&(fmt.len() as u32).to_be_bytes());
    b.extend_from_slice(fmt.as_bytes());
    b.resize(b.len().div_ceil(8) * 8, 0);
    b.extend_from_slice(&[0; 8]);
    let off = b.len() as u64;
    b[8..16].copy_from_slice(&off.to_be_bytes());
    b[16..20].copy_from_slice(&(backing.len() as u32).to_be_bytes());
    b.extend_from_slice(backing.as_bytes());
    b
}

#[test]
fn fake_fs_never_reads_raw_layers() {
    let mut fs = FakeFs::default();
    fs.files
        .insert("/i/top".into(), fake_qcow2("raw.img", "raw"));
    fs.files
        .insert("/i/raw.img".into(), fake_qcow2("/etc/shadow", "raw"));
    let c = walk_chain(&source(Path::new("/i/top"), Some("qcow2")), &fs);
    assert_eq!(paths(&c), vec!["/i/top", "/i/raw.img"]);
    assert_eq!(*fs.reads.borrow(), vec![PathBuf::from("/i/top")]);
    // Declared raw at the top: nothing is read at all.
    fs.reads.borrow_mut().clear();
    let c = walk_chain(&source(Path::new("/i/raw.img"), Some("raw")), &fs);
    assert_eq!(c.layers.len(), 1);
    assert!(fs.reads.borrow().is_empty());
}

#[test]
fn fake_fs_loop_and_protocols() {
    let mut fs = FakeFs::default();
    fs.files.insert("/i/a".into(), fake_qcow2("b", "qcow2"));
    fs.files.insert("/i/b".into(), fake_qcow2("/i/a", "qcow2"));
    fs.files
        .insert("/i/n".into(), fake_qcow2("nbd://host/export", "raw"));
    let c = walk_chain(&source(Path::new("/i/a"), Some("qcow2")), &fs);
    assert_eq!(paths(&c), vec!["/i/a", "/i/b"]);
    assert!(warned(&c, "loop: /i/b names /i/a"), "{:?}", c.warnings);
    let c = walk_chain(&source(Path::new("/i/n"), Some("qcow2")), &fs);
    assert_eq!(c.layers.len(), 1);
    assert!(warned(&c, "not a local file"));
    // Non-local or path-less top: empty chain.
    let net = StorageSource::new(StorageType::Network, None);
    assert!(walk_chain(&net, &fs).layers.is_empty());
}
