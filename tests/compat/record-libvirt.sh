#!/bin/sh
# Records what Debian's libvirt 9.0 virt-aa-helper does with every corpus
# case, in dry run: tests/compat/expected/<case>.{stdout,stderr,status}.
#
# Usage: tests/compat/record-libvirt.sh [CASE...]
# Needs root only if the helper's profile directory is not readable; it never
# writes or loads a profile (-d). The corpus refers to files under
# /tmp/svirt-compat, which setup.sh (re)creates first.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
HELPER=${VIRT_AA_HELPER:-/usr/lib/libvirt/virt-aa-helper}
UUID=00000000-0000-0000-0000-0123456789ab

if [ ! -x "$HELPER" ]; then
    echo "record-libvirt.sh: $HELPER not found (apt install libvirt-daemon-system)" >&2
    exit 1
fi
if [ -e "/etc/apparmor.d/libvirt/libvirt-$UUID" ]; then
    echo "record-libvirt.sh: /etc/apparmor.d/libvirt/libvirt-$UUID exists; -c would refuse" >&2
    exit 1
fi

"$HERE/setup.sh"
mkdir -p "$HERE/expected"

if [ $# -eq 0 ]; then
    set -- $(cd "$HERE/corpus" && ls *.xml | sed 's/\.xml$//')
fi
for case in "$@"; do
    out="$HERE/expected/$case"
    status=0
    "$HELPER" -d -c -u "libvirt-$UUID" <"$HERE/corpus/$case.xml" \
        >"$out.stdout" 2>"$out.stderr" || status=$?
    echo "$status" >"$out.status"
done
echo "recorded $# cases with $("$HELPER" --help >/dev/null 2>&1; dpkg-query -W -f '${Package} ${Version}' libvirt-daemon-system 2>/dev/null || echo "$HELPER")"
