#!/bin/bash
# policy-compiles.sh — host-side check, no kernel and no root needed: builds a
# per-VM profile from policy/TEMPLATE.qemu the way the generator does (name
# replaced, .files include before the last column-0 "}") and compiles it with
# apparmor_parser -Q -K, with policy/ first on the include path so that
# <abstractions/svirt-qemu> is ours while tunables and abstractions/base come
# from /etc/apparmor.d.
set -euo pipefail
HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
POLICY=$(cd "$HERE/../../policy" && pwd)
command -v apparmor_parser >/dev/null || { echo "SKIP: apparmor_parser not installed"; exit 77; }
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
mkdir "$D/libvirt"
UUID=00000000-1111-2222-3333-444444444444
P=libvirt-$UUID
sed "s/^profile LIBVIRT_TEMPLATE /profile $P /" "$POLICY/TEMPLATE.qemu" |
	awk -v inc="  #include <libvirt/$P.files>" '
		{ line[NR] = $0 } $0 == "}" { last = NR }
		END { if (!last) exit 1
		      for (i = 1; i <= NR; i++) { if (i == last) { print inc; print "" } print line[i] } }' \
	>"$D/libvirt/$P"
grep -q "^profile $P flags=(attach_disconnected) {" "$D/libvirt/$P" || { echo "FAIL: profile line"; exit 1; }
printf '  "/var/lib/libvirt/images/vm.qcow2" rwk,\n' >"$D/libvirt/$P.files"
rc=0
for f in "$D/libvirt/$P" "$POLICY/TEMPLATE.qemu"; do
	if apparmor_parser -Q -K -I "$POLICY" -I "$D" "$f" 2>"$D/err" || { grep -v 'Cache read/write disabled' "$D/err"; false; }; then
		echo "PASS: compiles: ${f#"$D"/}"
	else
		echo "FAIL: does not compile: $f"
		rc=1
	fi
done
# the abstraction must be ours, not a system copy
apparmor_parser -p -I "$POLICY" -I "$D" "$D/libvirt/$P" 2>/dev/null | grep -q 'svirt-qemu.d' ||
	{ echo "FAIL: abstractions/svirt-qemu did not come from $POLICY"; rc=1; }
exit $rc
