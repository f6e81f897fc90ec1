#!/bin/sh
# Builds (or reuses) a Debian 13 "trixie" root holding libvirt 11.3's
# virt-aa-helper, AppArmor 4.1 and trixie's ovmf, the reference for svirt's
# `libvirt = 11.3` compatibility mode, and prints its path on stdout. The
# same root runs libvirtd 11.3 with QEMU in the kernel rig (the suite's
# libvirt11-e2e section, tests/kernel/trixie-ns.sh) and takes the Debian
# package for a real install (tests/package/check-deb-trixie.sh), hence
# QEMU, swtpm and the few tools tests/kernel/libvirt-e2e.sh uses.
# Idempotent: a root whose stamp matches this script's recipe is reused.
#
#   SVIRT_TRIXIE_ROOT     where the root goes (default ~/.cache/svirt-trixie/root)
#   SVIRT_DEBIAN_MIRROR   default http://deb.debian.org
#
# Made with `debootstrap --variant=minbase trixie`; inside it a policy-rc.d
# that exits 101 (no service ever starts), then
# `apt-get install --no-install-recommends` of the packages below.
# Needs root. Installs debootstrap on the host with apt-get when missing.
# Nothing is left mounted. Exits 77 when the root cannot be built (no
# network, not root).
set -eu

root=${SVIRT_TRIXIE_ROOT:-${HOME:?}/.cache/svirt-trixie/root}
mirror=${SVIRT_DEBIAN_MIRROR:-http://deb.debian.org}
packages="apparmor libvirt-daemon-system ovmf libvirt-clients qemu-system-x86 qemu-utils busybox swtpm swtpm-tools socat iproute2 kmod procps passt"
recipe="trixie minbase $packages"
stamp="$root/.svirt-trixie-root"

fail() {
	echo "trixie-root.sh: $*" >&2
	exit 77
}

if [ -e "$stamp" ] && [ "$(cat "$stamp")" = "$recipe" ] &&
	[ -x "$root/usr/lib/libvirt/virt-aa-helper" ]; then
	echo "$root"
	exit 0
fi
[ "$(id -u)" = 0 ] || fail "not root (debootstrap and chroot need it)"
# Only ever replace a root this script made (or an unfinished one).
if [ -e "$root" ] && [ -n "$(ls -A "$root" 2>/dev/null)" ] &&
	[ ! -e "$root/.svirt-trixie-partial" ] && [ ! -e "$stamp" ]; then
	fail "$root exists and was not made by this script; not touching it"
fi

if ! command -v debootstrap >/dev/null 2>&1; then
	echo "trixie-root.sh: installing debootstrap" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt_install() {
		apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends debootstrap >&2
	}
	apt_install || { apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 && apt_install; } ||
		fail "cannot install debootstrap"
fi

rm -rf "$root"
mkdir -p "$root" || fail "cannot create $root"
touch "$root/.svirt-trixie-partial"
echo "trixie-root.sh: debootstrap trixie into $root" >&2
debootstrap --variant=minbase trixie "$root" "$mirror/debian" >&2 ||
	fail "debootstrap failed (no network?)"
touch "$root/.svirt-trixie-partial"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror/debian trixie main
deb $mirror/debian trixie-updates main
deb $mirror/debian-security trixie-security main
SOURCES
# apt inside the root, in a private mount namespace: nothing stays mounted.
unshare --mount --propagation private sh -c '
	set -e
	mount -t proc proc "$1/proc"
	mount --bind /dev "$1/dev"
	mount --bind /sys "$1/sys"
	[ -e "$1/etc/resolv.conf" ] || cp /etc/resolv.conf "$1/etc/resolv.conf"
	export DEBIAN_FRONTEND=noninteractive LC_ALL=C
	chroot "$1" apt-get -q update
	chroot "$1" apt-get -q -y install --no-install-recommends $2
	chroot "$1" apt-get clean
' trixie-root "$root" "$packages" >&2 || fail "apt-get install in the trixie root failed"
[ -x "$root/usr/lib/libvirt/virt-aa-helper" ] || fail "no virt-aa-helper in the trixie root"
rm -f "$root/.svirt-trixie-partial"
echo "$recipe" >"$stamp"
echo "$root"
