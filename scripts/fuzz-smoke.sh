#!/bin/sh
# Runs each fuzz target for a short time (default 20 s each): the image
# header parsers, domain XML and path escaping.
# Usage: scripts/fuzz-smoke.sh [SECONDS] [TARGET...]
# Needs cargo-fuzz and a nightly toolchain. Exits non-zero on the first
# crash or build failure.
set -eu
secs="${1:-20}"
[ "$#" -gt 0 ] && shift
targets="${*:-qcow2_header qed_header vmdk_header domain_xml escape_path audit_line}"
cd "$(dirname "$0")/../fuzz"
for t in $targets; do
    echo "== fuzzing $t for ${secs}s"
    cargo +nightly fuzz run "$t" -- -max_total_time="$secs"
done
