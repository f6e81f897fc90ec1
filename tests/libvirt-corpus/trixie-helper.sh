#!/bin/sh
# Runs Debian 13's libvirt 11.3 virt-aa-helper from the trixie root that
# trixie-root.sh builds, for one call, as libvirt would run it on a trixie
# host: in a private mount namespace (`unshare -m`) that mounts proc, binds
# /dev and /sys and each --bind DIR at the same path inside the root, then
# `chroot`s and runs the helper as `virt-aa-helper` (`exec -a`), so its
# messages name it as libvirt's do. Stdin, stdout, stderr and the exit
# status are the helper's. The working directory is kept when it exists in
# the root (else /). Nothing stays mounted: the namespace's mounts vanish
# with it. A --bind directory missing from the root is created there (an
# empty directory, left behind).
#
# Usage: trixie-helper.sh [--root ROOT] [--bind DIR]... [--] HELPER-ARG...
#   ROOT defaults to $SVIRT_TRIXIE_ROOT, else ~/.cache/svirt-trixie/root.
# Needs root. Example:
#   trixie-helper.sh --bind /var/lib/libvirt/images -- -d -r -u libvirt-UUID <vm.xml
set -eu
root=${SVIRT_TRIXIE_ROOT:-${HOME:?}/.cache/svirt-trixie/root}
binds=""
while [ $# -gt 0 ]; do
	case $1 in
	--root) root=$2; shift 2 ;;
	--bind)
		case $2 in /*) ;; *) echo "trixie-helper.sh: --bind needs an absolute path: $2" >&2; exit 2 ;; esac
		binds="$binds
$2"
		shift 2
		;;
	--) shift; break ;;
	*) break ;;
	esac
done
helper=/usr/lib/libvirt/virt-aa-helper
if [ ! -x "$root$helper" ]; then
	echo "trixie-helper.sh: no $helper in $root (run tests/libvirt-corpus/trixie-root.sh)" >&2
	exit 77
fi
exec unshare --mount --propagation private sh -c '
	set -e
	root=$1 binds=$2 cwd=$3
	shift 3
	mount -t proc proc "$root/proc"
	mount --rbind /dev "$root/dev"
	mount --rbind /sys "$root/sys"
	printf "%s\n" "$binds" | while IFS= read -r d; do
		[ -n "$d" ] || continue
		mkdir -p "$root$d"
		mount --bind "$d" "$root$d"
	done
	[ -d "$root$cwd" ] || cwd=/
	exec chroot "$root" /bin/bash -c '"'"'cd "$1" && shift && exec -a virt-aa-helper "$0" "$@"'"'"' \
		'"$helper"' "$cwd" "$@"
' trixie-helper "$root" "$binds" "$PWD" "$@"
