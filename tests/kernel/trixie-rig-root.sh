#!/bin/sh
# trixie-rig-root.sh — makes (once) the Debian 13 "trixie" root in which the
# kernel suite's libvirt11-e2e section runs libvirt 11.3 (trixie-ns.sh), and
# prints its path. Idempotent: a root whose stamp names the same package set
# is reused; anything else is made afresh.
#
#   SVIRT_TRIXIE_RIG_ROOT  where (default ~/.cache/svirt-trixie-rig/root)
#   SVIRT_DEBIAN_MIRROR    default http://deb.debian.org
#
# debootstrap --variant=minbase, a policy-rc.d that exits 101 (no service
# starts), then Debian 13's libvirt, QEMU, AppArmor, OVMF and swtpm and the
# few tools libvirt-e2e.sh uses. Nothing of the host is changed but
# debootstrap itself (installed with apt-get when missing). Exits 77 when
# the root cannot be made (no network, no root).
set -eu

ROOT=${SVIRT_TRIXIE_RIG_ROOT:-${HOME:?}/.cache/svirt-trixie-rig/root}
MIRROR=${SVIRT_DEBIAN_MIRROR:-http://deb.debian.org}/debian
PKGS="apparmor libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils ovmf busybox swtpm swtpm-tools socat iproute2 kmod procps"
STAMP=$ROOT/.svirt-rig-packages

skip() {
	echo "trixie-rig-root: $*" >&2
	exit 77
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$PKGS" ] && [ -x "$ROOT/usr/sbin/libvirtd" ]; then
	echo "$ROOT"
	exit 0
fi
[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, chroot)"
if ! command -v debootstrap >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends debootstrap \
		>/dev/null 2>&1 || skip "cannot install debootstrap"
fi
rm -rf "$ROOT"
mkdir -p "$(dirname "$ROOT")"
log=$(dirname "$ROOT")/build.log
debootstrap --variant=minbase trixie "$ROOT" "$MIRROR" >"$log" 2>&1 ||
	skip "debootstrap trixie failed (see $log)"
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
mount -t proc proc "$ROOT/proc"
rc=0
chroot "$ROOT" sh -c "export DEBIAN_FRONTEND=noninteractive
	apt-get update -q && apt-get install -y -q --no-install-recommends $PKGS" >>"$log" 2>&1 || rc=$?
umount "$ROOT/proc"
[ "$rc" = 0 ] || skip "apt-get install in the trixie root failed (see $log)"
echo "$PKGS" >"$STAMP"
echo "$ROOT"
