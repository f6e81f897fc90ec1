#!/bin/bash
# trixie-ns.sh ROOT CMD [ARG...] — runs CMD with a Debian 13 ("trixie") root
# as the whole filesystem, inside the kernel rig's guest: a private mount
# namespace that pivot_roots into ROOT (tests/libvirt-corpus/trixie-root.sh
# makes it), so that AppArmor sees trixie's paths as /usr/sbin/libvirtd,
# /usr/lib/libvirt/virt-aa-helper … and its profiles attach as on a Debian 13
# host. A plain chroot would not do: AppArmor names files from the namespace
# root, not the chroot.
#
# Inside: /proc, /sys (with securityfs), /dev (the guest's, with /dev/pts and
# /dev/hugepages when mounted), a fresh /run and /tmp, and the repository at
# its own path (so CMD may be one of its scripts and use its binaries).
# Kernel modules are loaded before entering (trixie's root has none of the
# guest kernel's). Every mount is private to the namespace and goes with it.
#
# Runs as root inside the rig's guest only (AAVM_GUEST=1).
set -euo pipefail

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
die() { echo "FAIL: trixie-ns: $*"; exit 1; }

[ $# -ge 2 ] || die "usage: trixie-ns.sh ROOT CMD [ARG...]"
ROOT=$(readlink -f "$1")
shift
[ "$(id -u)" = 0 ] || die "must run as root"
[ "${AAVM_GUEST:-0}" = 1 ] || die "refusing to run outside the rig's guest"
[ -x "$ROOT/usr/sbin/libvirtd" ] || die "$ROOT has no /usr/sbin/libvirtd (tests/libvirt-corpus/trixie-root.sh)"
grep -q 'VERSION_CODENAME=trixie' "$ROOT/etc/os-release" || die "$ROOT is not a Debian 13 root"

for m in kvm_amd kvm_intel tun vhost_net bridge; do modprobe "$m" 2>/dev/null || true; done

if [ "${TRIXIE_NS_INNER:-}" != 1 ]; then
	exec unshare --mount --propagation private env TRIXIE_NS_INNER=1 "$0" "$ROOT" "$@"
fi

# ---- inside the new mount namespace
mount --bind "$ROOT" "$ROOT"
mount -t proc proc "$ROOT/proc"
mount -t sysfs sysfs "$ROOT/sys"
mount -t securityfs securityfs "$ROOT/sys/kernel/security" 2>/dev/null || true
mount --rbind /dev "$ROOT/dev"
mount -t tmpfs -o mode=0755 tmpfs "$ROOT/run"
mount -t tmpfs -o mode=1777 tmpfs "$ROOT/tmp"
mkdir -p "$ROOT$REPO"
mount --bind "$REPO" "$ROOT$REPO"
[ -n "${AAVM_OUT:-}" ] && [ -d "$AAVM_OUT" ] && mkdir -p "$ROOT$AAVM_OUT" && mount --bind "$AAVM_OUT" "$ROOT$AAVM_OUT"
[ -n "${AAVM_KERNEL_DIR:-}" ] && [ -d "$AAVM_KERNEL_DIR" ] &&
	mkdir -p "$ROOT$AAVM_KERNEL_DIR" && mount --bind "$AAVM_KERNEL_DIR" "$ROOT$AAVM_KERNEL_DIR"
cp /etc/hosts "$ROOT/etc/hosts" 2>/dev/null || true
mkdir -p "$ROOT/.oldroot"
cd "$ROOT"
pivot_root . .oldroot
umount -l /.oldroot
cd /
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
exec "$@"
