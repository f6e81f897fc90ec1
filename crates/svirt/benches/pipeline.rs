//! The whole pure pipeline, XML → profile text, for a typical two-disk VM
//! and for VMs with 10, 100 and 1000 disks (growth should be linear).
//! Goal: under 1 ms for the typical VM.
//!
//! Run: `cargo bench -p svirt --bench pipeline`. It prints the time per
//! disk for each size so linearity can be read off directly.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use svirt::domain::Limits;
use svirt::pipeline::{generate, BUILTIN_QEMU_TEMPLATE};
use svirt::testing::FakeHost;
use svirt::Settings;

fn domain_with_disks(n: usize) -> String {
    let mut xml = String::from(
        "<domain type='kvm' id='1'><name>bench</name>\
         <uuid>11111111-2222-3333-4444-555555555555</uuid>\
         <memory unit='KiB'>1048576</memory>\
         <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os><devices>\
         <emulator>/usr/bin/qemu-system-x86_64</emulator>",
    );
    for i in 0..n {
        let _ = write!(
            xml,
            "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
             <source file='/var/lib/libvirt/images/bench-{i}.qcow2'/>\
             <backingStore type='file'><format type='qcow2'/>\
             <source file='/var/lib/libvirt/images/base-{i}.qcow2'/><backingStore/></backingStore>\
             <target dev='vd{i}' bus='virtio'/></disk>"
        );
    }
    xml.push_str(
        "<interface type='network'><source network='default'/><model type='virtio'/></interface>\
         <serial type='pty'><source path='/dev/pts/3'/><target port='0'/></serial>\
         <console type='pty'><source path='/dev/pts/3'/><target type='serial' port='0'/></console>\
         </devices></domain>",
    );
    xml
}

fn bench_pipeline(c: &mut Criterion) {
    let host = FakeHost::new().with_file("/var/lib/libvirt/images");
    let limits = Limits::default();
    let mut group = c.benchmark_group("xml_to_profile");
    for (label, settings) in [
        ("safe", Settings::safe()),
        ("compat", Settings::libvirt_compatible()),
    ] {
        for n in [2usize, 10, 100, 1000] {
            let xml = domain_with_disks(n);
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::new(label, n), &xml, |b, xml| {
                b.iter(|| {
                    generate(
                        black_box(xml),
                        &settings,
                        &host,
                        BUILTIN_QEMU_TEMPLATE,
                        &limits,
                    )
                    .unwrap()
                })
            });
        }
    }
    group.finish();

    // Per-disk cost at each size, to read linearity off directly.
    let settings = Settings::safe();
    for n in [2usize, 10, 100, 1000] {
        let xml = domain_with_disks(n);
        let runs = (20_000 / n).max(5) as u32;
        let start = Instant::now();
        for _ in 0..runs {
            black_box(generate(&xml, &settings, &host, BUILTIN_QEMU_TEMPLATE, &limits).unwrap());
        }
        let per_run: Duration = start.elapsed() / runs;
        println!(
            "pipeline: {n:>5} disks: {:>9.1} µs per VM, {:>6.2} µs per disk (goal for 2 disks: < 1000 µs)",
            per_run.as_secs_f64() * 1e6,
            per_run.as_secs_f64() * 1e6 / n as f64
        );
    }
}

criterion_group!(benches, bench_pipeline);
criterion_main!(benches);
