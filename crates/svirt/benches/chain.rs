//! Probing a 200-deep qcow2 chain made with `qemu-img` during setup.
//!
//! "cold" is the first probe right after the chain was created (the page
//! cache is then still warm from writing, so it is not a true cold-cache
//! number: dropping the cache needs root and `posix_fadvise`, which the
//! crate does not use); "warm" is the steady state measured by criterion.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use svirt::domain::{StorageSource, StorageType};
use svirt::image::probe_chain;

fn make_chain(dir: &Path, depth: usize) -> Option<StorageSource> {
    let run = |args: &[&str]| {
        Command::new("qemu-img")
            .current_dir(dir)
            .args(args)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !run(&["create", "-q", "-f", "qcow2", "l0.qcow2", "1M"]) {
        return None;
    }
    for i in 1..depth {
        let b = format!("l{}.qcow2", i - 1);
        let t = format!("l{i}.qcow2");
        if !run(&[
            "create", "-q", "-u", "-f", "qcow2", "-b", &b, "-F", "qcow2", &t, "1M",
        ]) {
            return None;
        }
    }
    let top = dir.join(format!("l{}.qcow2", depth - 1));
    let mut s = StorageSource::new(StorageType::File, Some(top.display().to_string()));
    s.format = Some("qcow2".into());
    Some(s)
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(top) = make_chain(dir.path(), 200) else {
        eprintln!("note: qemu-img unavailable; chain bench skipped");
        return;
    };
    let t = Instant::now();
    let first = probe_chain(&top);
    eprintln!(
        "chain/first-run-after-create: {:?} for {} layers",
        t.elapsed(),
        first.layers.len()
    );
    assert_eq!(first.layers.len(), 200);
    c.bench_function("chain/qcow2-200/warm", |b| b.iter(|| probe_chain(&top)));
}

criterion_group!(benches, bench);
criterion_main!(benches);
