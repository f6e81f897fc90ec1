#!/bin/sh
# Benchmark: `virt-aa-helper -d -r -u libvirt-<uuid>` on a two-disk VM,
# svirt's helper (release build) against libvirt's, N runs each.
#
# Usage: scripts/bench-helper.sh [RUNS]   (default 200)
# Uses hyperfine when installed, else a shell loop timed with date +%s%N.
# Both helpers read the same domain; a dry run writes nothing and runs no
# parser, so this needs no root and no AppArmor.
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-200}
LIBVIRT=${LIBVIRT_HELPER:-/usr/lib/libvirt/virt-aa-helper}
NAME=libvirt-00000000-0000-0000-0000-0123456789ab
XML=tests/compat/corpus/disk-two.xml

if [ ! -x "$LIBVIRT" ]; then
    echo "bench-helper.sh: $LIBVIRT not found (apt-get install libvirt-daemon-system)" >&2
    exit 1
fi
sh tests/compat/setup.sh
TARGET=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p virt-aa-helper
OURS=$TARGET/release/virt-aa-helper

# Both must succeed on the input first.
"$OURS" -d -r -u "$NAME" <"$XML" 2>/dev/null
"$LIBVIRT" -d -r -u "$NAME" <"$XML" 2>/dev/null

if command -v hyperfine >/dev/null 2>&1; then
    hyperfine -N --warmup 20 --runs "$RUNS" \
        --input "$XML" -n svirt "$OURS -d -r -u $NAME" \
        -n libvirt "$LIBVIRT -d -r -u $NAME"
    exit 0
fi

# Mean wall time of RUNS runs, in microseconds.
mean_us() {
    i=0
    start=$(date +%s%N)
    while [ "$i" -lt "$RUNS" ]; do
        "$@" -d -r -u "$NAME" <"$XML" 2>/dev/null
        i=$((i + 1))
    done
    end=$(date +%s%N)
    echo $(((end - start) / RUNS / 1000))
}

# The loop's own cost (fork+exec of a trivial binary) is included in both.
mean_us "$OURS" >/dev/null
ours=$(mean_us "$OURS")
theirs=$(mean_us "$LIBVIRT")
echo "runs:                     $RUNS each"
echo "svirt virt-aa-helper:     ${ours} us per run"
echo "libvirt virt-aa-helper:   ${theirs} us per run"
awk -v a="$theirs" -v b="$ours" 'BEGIN { if (b > 0) printf "ratio (libvirt / svirt):  %.1fx\n", a / b }'
