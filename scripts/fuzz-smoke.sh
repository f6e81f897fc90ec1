#!/bin/sh
# Runs each fuzz target for a short time (default 20 s each): the image
# header parsers, domain XML, path escaping and audit lines.
# Usage: scripts/fuzz-smoke.sh [SECONDS] [TARGET...]
# Needs cargo-fuzz and a nightly toolchain. Exits non-zero on the first
# crash or build failure.
#
# Each target starts from the committed seeds in fuzz/seeds/<target>/ (read
# only: libFuzzer writes new inputs only into the first corpus directory)
# plus a scratch corpus fuzz/corpus/<target>/ (git-ignored), which keeps
# what earlier runs found. Delete fuzz/corpus/ to start from the seeds alone.
set -eu
secs="${1:-20}"
[ "$#" -gt 0 ] && shift
targets="${*:-qcow2_header qed_header vmdk_header domain_xml escape_path audit_line operator_choices}"
cd "$(dirname "$0")/../fuzz"
# Non-empty files, as libFuzzer counts them (it skips empty files and always
# tries the empty input anyway).
count() { find "$1" -type f -size +0 2>/dev/null | wc -l | tr -d ' '; }
for t in $targets; do
    corpus="corpus/$t"
    seeds="seeds/$t"
    mkdir -p "$corpus"
    if [ -d "$seeds" ]; then
        echo "== fuzzing $t for ${secs}s from $(count "$seeds") seed files ($seeds) and $(count "$corpus") scratch inputs ($corpus)"
        cargo +nightly fuzz run "$t" "$corpus" "$seeds" -- -max_total_time="$secs"
    else
        echo "== fuzzing $t for ${secs}s: no seeds ($seeds missing), $(count "$corpus") scratch inputs ($corpus)"
        cargo +nightly fuzz run "$t" "$corpus" -- -max_total_time="$secs"
    fi
done
