#!/bin/sh
# VM start cost in a real AppArmor kernel: boots the kernel rig once and
# runs tests/kernel/bench-vm-start.sh in it (libvirt's restart sequence, a
# cold start of 20 VMs and one compile, svirt's helper against libvirt's,
# interleaved). Prints medians and ratios; see docs/performance.md.
# Usage: scripts/bench-vm-start.sh   (BENCH_CYCLES, BENCH_COLD, BENCH_COMPILES)
set -eu
cd "$(dirname "$0")/.."
unset CARGO_TARGET_DIR
cargo build --release --workspace -q
tests/kernel/run-in-aa-vm.sh setup >/dev/null
export AAVM_PASSENV="${AAVM_PASSENV:-} BENCH_CYCLES BENCH_COLD BENCH_COMPILES"
export AAVM_TIMEOUT="${AAVM_TIMEOUT:-1500}"
exec tests/kernel/run-in-aa-vm.sh tests/kernel/bench-vm-start.sh
