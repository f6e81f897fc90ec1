#!/bin/sh
# Records what Debian's libvirt 9.0 virt-aa-helper does with every corpus
# case, in dry run: tests/compat/expected/<case>.{stdout,stderr,status}.
#
# Usage: tests/compat/record-libvirt.sh [CASE...]
# Needs root: each case runs in the compat test's mount namespace
# (crates/virt-aa-helper/tests/ns-run.sh), which gives the helper an empty
# policy directory and a fixed view of the host (no firmware, swtpm state,
# GPUs or host devices), so the recording does not depend on what this
# machine has installed. It never writes or loads a profile (-d). The corpus
# refers to files under /tmp/svirt-compat, which setup.sh (re)creates first.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
HELPER=${VIRT_AA_HELPER:-/usr/lib/libvirt/virt-aa-helper}
UUID=00000000-0000-0000-0000-0123456789ab

if [ ! -x "$HELPER" ]; then
    echo "record-libvirt.sh: $HELPER not found (apt install libvirt-daemon-system)" >&2
    exit 1
fi
case $HELPER in /*) ;; *) HELPER=$PWD/$HELPER ;; esac

"$HERE/setup.sh"
mkdir -p "$HERE/expected"
# The namespace's policy directory (with libvirt's templates), configuration
# directory and a parser that is never run.
rig=$(mktemp -d)
trap 'rm -rf "$rig"' EXIT
mkdir "$rig/policy" "$rig/etc-svirt"
for t in TEMPLATE.qemu TEMPLATE.lxc; do
    if [ -e "/etc/apparmor.d/libvirt/$t" ]; then
        cp "/etc/apparmor.d/libvirt/$t" "$rig/policy/"
    fi
done
printf '#!/bin/sh\nexit 1\n' >"$rig/parser"
chmod 755 "$rig/parser"
NS_RUN=$HERE/../../crates/virt-aa-helper/tests/ns-run.sh

if [ $# -eq 0 ]; then
    set -- $(cd "$HERE/corpus" && ls *.xml | sed 's/\.xml$//')
fi
for case in "$@"; do
    out="$HERE/expected/$case"
    status=0
    sh "$NS_RUN" "$rig/policy" "$rig/etc-svirt" "$rig/parser" \
        "$HELPER" -d -c -u "libvirt-$UUID" <"$HERE/corpus/$case.xml" \
        >"$out.stdout" 2>"$out.stderr" || status=$?
    echo "$status" >"$out.status"
done
echo "recorded $# cases with $("$HELPER" --help >/dev/null 2>&1; dpkg-query -W -f '${Package} ${Version}' libvirt-daemon-system 2>/dev/null || echo "$HELPER")"
