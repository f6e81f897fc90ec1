#!/bin/sh
# Every test: formatting, lints, unit/integration/property/golden tests, the
# Debian package's contents (tests/package/check-deb.sh), the kernel suite in
# a throw-away AppArmor guest, and a short fuzz smoke run when cargo-fuzz is
# available.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# libvirt 9.0's own test domains for the corpus comparisons in `cargo test`
# (crates/virt-aa-helper/tests/libvirt_corpus.rs), which must then run.
SVIRT_LIBVIRT_SRC=$(tests/libvirt-corpus/fetch.sh) || {
	echo "test.sh: cannot fetch libvirt's source package (tests/libvirt-corpus/fetch.sh)" >&2
	exit 1
}
# libvirt 11.3's reference: a Debian 13 root holding its helper and AppArmor
# 4.1 (debootstrap, about a minute; reused afterwards) and trixie's libvirt
# source for its test domains (crates/virt-aa-helper/tests/libvirt_corpus_11.rs).
SVIRT_TRIXIE_ROOT=$(tests/libvirt-corpus/trixie-root.sh) || {
	echo "test.sh: cannot build the Debian 13 root (tests/libvirt-corpus/trixie-root.sh)" >&2
	exit 1
}
SVIRT_LIBVIRT_11_SRC=$(SVIRT_LIBVIRT_SUITE=trixie tests/libvirt-corpus/fetch.sh) || {
	echo "test.sh: cannot fetch libvirt 11.3's source package (tests/libvirt-corpus/fetch.sh)" >&2
	exit 1
}
export SVIRT_LIBVIRT_SRC SVIRT_TRIXIE_ROOT SVIRT_LIBVIRT_11_SRC SVIRT_REQUIRE_LIBVIRT_CORPUS=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace >"$log" 2>&1 || { cat "$log"; exit 1; }
cat "$log"
passed=$(sed -n 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' "$log" | awk '{n += $1} END {print n + 0}')
# The compile-time switch: without the `apparmor` feature the driver never
# confines.
cargo test -q -p svirt --no-default-features --lib driver::
# The Debian package (scripts/package.sh, a release build), checked on the
# host; the kernel suite's `package` section installs and removes it.
tests/package/check-deb.sh >"$log" 2>&1 || { cat "$log"; exit 1; }
cat "$log"
dpassed=$(sed -n 's/^check-deb: all \([0-9]*\) checks passed.*/\1/p' "$log")
# The same package on Debian 13 (dpkg in a copy of the trixie root above).
tests/package/check-deb-trixie.sh >"$log" 2>&1 || { cat "$log"; exit 1; }
cat "$log"
dpassed=$((${dpassed:-0} + $(sed -n 's/^check-deb-trixie: all \([0-9]*\) checks passed.*/\1/p' "$log")))
# Confinement in a real AppArmor kernel, real QEMU and real libvirt: one QEMU
# guest boot, 20-25 minutes under TCG (tests/kernel/README.md).
scripts/kernel-tests.sh >"$log" 2>&1 || { cat "$log"; exit 1; }
cat "$log"
kpassed=$(sed -n 's/^kernel suite: all \([0-9]*\) checks passed.*/\1/p' "$log")
cargo bench --workspace --no-run -q
# A short fuzz run of every target, when a nightly toolchain is available.
if cargo +nightly --version >/dev/null 2>&1; then
	command -v cargo-fuzz >/dev/null 2>&1 || cargo install -q --locked cargo-fuzz
	scripts/fuzz-smoke.sh "${SVIRT_FUZZ_SECONDS:-10}"
else
	echo "test.sh: no nightly toolchain; fuzz smoke run skipped"
fi
echo
echo "cargo tests: $passed passed, 0 failed; package checks: ${dpassed:-0} passed; kernel suite: ${kpassed:-0} checks passed"
echo "all: $((passed + ${dpassed:-0} + ${kpassed:-0})) passed, 0 failed"
