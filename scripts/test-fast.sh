#!/bin/sh
# The quick tier, for every change: formatting, lints (including
# incompatible_msrv against the workspace's rust-version) and `cargo test
# --workspace`: unit, integration, property and golden tests, the
# byte-for-byte comparison with libvirt's helper on tests/compat/ (needs
# root and libvirt's helper, else it prints SKIP) and, once
# tests/libvirt-corpus/fetch.sh has fetched libvirt's source, on libvirt's
# own test domains. Under 3 minutes after a build, most of it the libvirt
# corpus. scripts/test.sh runs the same and the slow rest (the kernel suite,
# benchmarks, fuzzing).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
