#!/bin/bash
# run-in-aa-vm.sh — run a shell script as root inside a throw-away QEMU guest
# that boots a stock Debian kernel with AppArmor enabled and enforcing.
#
# Usage:
#   run-in-aa-vm.sh setup [--force]     install packages, fetch kernel, build initramfs
#   run-in-aa-vm.sh SCRIPT [ARGS...]    run SCRIPT (host path) as root in the guest
#   run-in-aa-vm.sh info                 show cache / kernel / accelerator choice
#
# The guest's root filesystem is the HOST's "/" shared read-only over virtio-9p,
# with a tmpfs overlay on top (writes inside the guest are private and vanish at
# power-off).  /proc, /sys, /dev, /run, securityfs and cgroup2 are fresh guest
# mounts.  SCRIPT's stdout, stderr and exit code are copied back through a
# second, per-run 9p share and re-emitted here; this script exits with SCRIPT's
# exit code.  Setup happens automatically on first use (idempotent).
#
# Environment:
#   AAVM_CACHE       cache dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/svirt-kernel-rig)
#   AAVM_KERNEL_PKG  Debian kernel package (default: what linux-image-amd64 depends on)
#   AAVM_ACCEL       auto (default) | kvm | tcg.  auto = KVM if /dev/kvm can run a
#                    stock kernel (CPU has vmx/svm), else TCG with a notice.
#                    kvm = fail (exit 125) if KVM is unusable.
#   AAVM_MEM         guest RAM in MiB (default 1024)
#   AAVM_SMP         guest vCPUs (default 1)
#   AAVM_TIMEOUT     seconds before the VM is killed (default 900; exit 124)
#   AAVM_APPEND      extra kernel command line
#   AAVM_BOOT        pvh (default: boot the extracted ELF vmlinux via its PVH
#                    entry, ~3 s faster under TCG) | bzimage
#   AAVM_QEMU_ARGS   extra qemu arguments (word-split)
#   AAVM_PASSENV     names of host env vars to export into the guest script
#   AAVM_ROOT_CACHE  9p cache mode for the read-only host root (default loose; "none" to disable)
#   AAVM_OUTDIR      copy files the guest script wrote to $AAVM_OUT (= /run/aavm/io/out,
#                    on the per-run share) into this host directory afterwards
#   AAVM_KEEP=1      keep the per-run dir (console.log, dmesg, guest-info, ...)
#   AAVM_VERBOSE=1   stream the guest serial console to stderr
#   AAVM_QUIET=1     no "using TCG" notice
#
# Inside the guest SCRIPT runs as root with cwd = the caller's cwd, stdin
# /dev/null, and AAVM_GUEST=1, AAVM_OUT=/run/aavm/io/out, AAVM_KERNEL_DIR,
# AAVM_ACCEL_USED exported.  dmesg of the run is saved as dmesg in the run dir.
#
# Exit codes: SCRIPT's own code; 124 = timeout; 125 = infrastructure failure.
set -euo pipefail

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
CACHE=${AAVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/svirt-kernel-rig}
SETUP_FORMAT=2
PKGS=(qemu-system-x86 qemu-utils apparmor busybox-static kmod xz-utils)

log() { echo "aavm: $*" >&2; }
die() { echo "aavm: ERROR: $*" >&2; exit 125; }

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 125
}

# ---------------------------------------------------------------- setup ---

guest_files_hash() {
	cat "$HERE/guest/init" "$HERE/guest/stage2" /bin/busybox 2>/dev/null |
		sha256sum | cut -c1-16
}

ensure_packages() {
	local missing=() p
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || die "need root to install: ${missing[*]}"
	log "installing: ${missing[*]}"
	# --no-remove: never let apt remove other packages to satisfy a conflict
	# (qemu-system-x86 7.2 from bookworm conflicts with a backports qemu-utils
	# 10.x and apt would otherwise silently remove it).
	local apt_install=(apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends --no-remove)
	# A machine may carry a newer qemu-utils (e.g. a backport) that conflicts with the
	# distribution's qemu-system-x86: install the distribution's qemu-utils with it, in one step.
	if printf '%s\n' "${missing[@]}" | grep -qx qemu-system-x86; then
		local have cand codename
		have=$(dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null || true)
		cand=$(apt-cache policy qemu-system-x86 2>/dev/null | awk '/Candidate:/ {print $2}')
		codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
		# compare source versions (a binNMU suffix +bN may differ between the two packages)
		if [ -n "$have" ] && [ -n "$codename" ] && [ "${have%+b*}" != "${cand%+b*}" ]; then
			log "qemu-utils $have conflicts with the distribution's qemu-system-x86: installing qemu-utils/$codename with it"
			missing+=("qemu-utils/$codename")
			apt_install+=(--allow-downgrades)
		fi
	fi
	if ! DEBIAN_FRONTEND=noninteractive "${apt_install[@]}" "${missing[@]}" \
		>"$CACHE/apt-install.log" 2>&1; then
		if grep -q 'Packages need to be removed but remove is disabled' "$CACHE/apt-install.log"; then
			die "installing ${missing[*]} would REMOVE other packages (see $CACHE/apt-install.log; e.g. a backports qemu-utils vs bookworm qemu-system-x86). Resolve manually."
		fi
		apt-get update >"$CACHE/apt-update.log" 2>&1 || die "apt-get update failed (see $CACHE/apt-update.log)"
		DEBIAN_FRONTEND=noninteractive "${apt_install[@]}" "${missing[@]}" \
			>"$CACHE/apt-install.log" 2>&1 ||
			die "apt-get install ${missing[*]} failed (see $CACHE/apt-install.log)"
	fi
}

resolve_kernel_pkg() {
	if [ -n "${AAVM_KERNEL_PKG:-}" ]; then
		echo "$AAVM_KERNEL_PKG"
		return
	fi
	local p
	p=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	if [ -z "$p" ]; then
		apt-get update >"$CACHE/apt-update.log" 2>&1 || true
		p=$(apt-cache depends linux-image-amd64 2>/dev/null |
			awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	fi
	[ -n "$p" ] || die "cannot resolve linux-image-amd64 (apt-get update?)"
	echo "$p"
}

fetch_kernel() { # $1 = package name; sets KDIR/KVER in the cache
	local pkg=$1 deb tmp kver
	mkdir -p "$CACHE/dl" "$CACHE/kernel"
	deb=$(ls "$CACHE/dl/${pkg}"_*.deb 2>/dev/null | tail -1 || true)
	if [ -z "$deb" ]; then
		log "downloading $pkg"
		(cd "$CACHE/dl" && apt-get download -o APT::Sandbox::User=root "$pkg" >"$CACHE/apt-download.log" 2>&1) ||
			{ apt-get update >"$CACHE/apt-update.log" 2>&1 &&
				(cd "$CACHE/dl" && apt-get download -o APT::Sandbox::User=root "$pkg" >"$CACHE/apt-download.log" 2>&1); } ||
			die "apt-get download $pkg failed (see $CACHE/apt-download.log)"
		deb=$(ls "$CACHE/dl/${pkg}"_*.deb | tail -1)
	fi
	kver=${pkg#linux-image-}
	kver=${kver%-unsigned}
	if [ ! -e "$CACHE/kernel/$kver/.done" ]; then
		log "extracting $(basename "$deb")"
		tmp=$(mktemp -d "$CACHE/kernel/.x.XXXXXX")
		dpkg -x "$deb" "$tmp"
		[ -f "$tmp/boot/vmlinuz-$kver" ] || die "no boot/vmlinuz-$kver in $deb"
		grep -q '^CONFIG_SECURITY_APPARMOR=y' "$tmp/boot/config-$kver" ||
			die "$pkg is not built with CONFIG_SECURITY_APPARMOR=y"
		depmod -b "$tmp" "$kver"
		dpkg-deb -f "$deb" Version >"$tmp/.pkgversion"
		rm -rf "$CACHE/kernel/$kver"
		mv "$tmp" "$CACHE/kernel/$kver"
		touch "$CACHE/kernel/$kver/.done"
	fi
	echo "$kver"
}

# Uncompressed ELF vmlinux for PVH direct boot (CONFIG_PVH=y): skips the
# in-guest XZ decompression, which costs ~3 s per boot under TCG.
extract_vmlinux() { # $1 = bzImage, $2 = output
	local img=$1 out=$2 spec magic cmd pat off
	for spec in 'fd377a585a00:xz -dc --single-stream' '1f8b08:gzip -dc' '28b52ffd:zstd -dcq'; do
		magic=${spec%%:*}
		cmd=${spec#*:}
		pat=$(echo "$magic" | sed 's/../\\x&/g')
		for off in $(LC_ALL=C grep -obUaP "$pat" "$img" 2>/dev/null | head -5 | cut -d: -f1); do
			tail -c +$((off + 1)) "$img" | $cmd >"$out.tmp" 2>/dev/null
			if [ "$(head -c4 "$out.tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
				mv "$out.tmp" "$out"
				return 0
			fi
		done
	done
	rm -f "$out.tmp"
	return 1
}

ensure_pvh_kernel() { # $1 = kver
	local k=$CACHE/kernel/$1
	[ -f "$k/vmlinux-pvh" ] && return 0
	grep -q '^CONFIG_PVH=y' "$k/boot/config-$1" || return 0
	extract_vmlinux "$k/boot/vmlinuz-$1" "$k/vmlinux-pvh" ||
		log "warning: could not extract vmlinux for PVH boot; using bzImage (slower)"
}

build_initrd() { # $1 = kver
	local kver=$1 kroot=$CACHE/kernel/$1 ird m f
	ird=$(mktemp -d "$CACHE/.initrd.XXXXXX")
	mkdir -p "$ird"/{bin,dev,proc,sys,modules}
	cp /bin/busybox "$ird/bin/busybox"
	ldd /bin/busybox >/dev/null 2>&1 &&
		die "/bin/busybox is dynamically linked; install busybox-static"
	cp "$HERE/guest/init" "$ird/init"
	cp "$HERE/guest/stage2" "$ird/stage2"
	chmod 755 "$ird/init" "$ird/stage2"
	: >"$ird/modules.list"
	# dependency-ordered, de-duplicated insmod list
	modprobe -d "$kroot" -S "$kver" --show-depends -a \
		virtio_pci 9pnet_virtio 9p overlay |
		awk '$1 == "insmod" && !seen[$2]++ {print $2}' |
		while read -r f; do
			m=$(basename "$f")
			cp "$f" "$ird/modules/$m"
			echo "$m" >>"$ird/modules.list"
		done
	[ -s "$ird/modules.list" ] || die "could not resolve guest modules"
	(cd "$ird" && find . -mindepth 1 | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null) |
		gzip -1 >"$CACHE/initrd-$kver.img.tmp"
	mv "$CACHE/initrd-$kver.img.tmp" "$CACHE/initrd-$kver.img"
	rm -rf "$ird"
}

do_setup() { # $1 = --force or empty
	local t0 pkg kver stamp
	t0=$(date +%s)
	mkdir -p "$CACHE/runs"
	exec 9>"$CACHE/.lock"
	flock 9
	if [ "${1:-}" != --force ] && setup_current; then
		[ "${AAVM_SETUP_VERBOSE:-0}" = 1 ] && log "already set up ($CACHE/current.env)"
		flock -u 9
		return 0
	fi
	ensure_packages
	pkg=$(resolve_kernel_pkg)
	kver=$(fetch_kernel "$pkg")
	ensure_pvh_kernel "$kver"
	build_initrd "$kver"
	stamp="format=$SETUP_FORMAT guest=$(guest_files_hash) pkg=$pkg kver=$kver"
	{
		echo "KVER=$kver"
		echo "KPKG=$pkg"
		echo "KPKGVER=$(cat "$CACHE/kernel/$kver/.pkgversion")"
		echo "STAMP='$stamp'"
	} >"$CACHE/current.env"
	log "setup done in $(($(date +%s) - t0))s: kernel $pkg ($(cat "$CACHE/kernel/$kver/.pkgversion")), cache $CACHE"
	flock -u 9
}

setup_current() {
	[ -f "$CACHE/current.env" ] || return 1
	local KVER KPKG KPKGVER STAMP
	# shellcheck disable=SC1091
	. "$CACHE/current.env"
	[ -n "${AAVM_KERNEL_PKG:-}" ] && [ "$AAVM_KERNEL_PKG" != "$KPKG" ] && return 1
	[ "$STAMP" = "format=$SETUP_FORMAT guest=$(guest_files_hash) pkg=$KPKG kver=$KVER" ] || return 1
	[ -f "$CACHE/kernel/$KVER/.done" ] && [ -f "$CACHE/initrd-$KVER.img" ] || return 1
	command -v qemu-system-x86_64 >/dev/null && command -v qemu-img >/dev/null && command -v apparmor_parser >/dev/null || return 1
}

# ---------------------------------------------------------------- accel ---

# Sets ACCEL_ARGS and ACCEL_DESC.
choose_accel() {
	local want=${AAVM_ACCEL:-auto} why=""
	if [ ! -e /dev/kvm ]; then
		why="/dev/kvm does not exist"
	elif [ ! -c /dev/kvm ]; then
		why="/dev/kvm is not a character device"
	elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		why="/dev/kvm is not read/writable by $(id -un)"
	elif [ -d /sys/module/kvm_pvm ] && ! grep -qw -e vmx -e svm /proc/cpuinfo; then
		why="/dev/kvm is PVM (kvm_pvm; no vmx/svm in /proc/cpuinfo): it can only run PVM-enabled guest kernels, a stock Debian kernel hangs"
	elif ! grep -qw -e vmx -e svm /proc/cpuinfo; then
		why="CPU exposes no vmx/svm flag, KVM cannot run a stock kernel"
	fi
	case "$want" in
	kvm)
		[ -z "$why" ] || die "AAVM_ACCEL=kvm but KVM is unusable: $why"
		;;
	tcg) why="AAVM_ACCEL=tcg" ;;
	auto) ;;
	*) die "AAVM_ACCEL must be auto, kvm or tcg" ;;
	esac
	if [ -z "$why" ]; then
		ACCEL_ARGS=(-accel kvm -cpu host)
		ACCEL_DESC=kvm
	else
		[ "$want" = tcg ] || [ "${AAVM_QUIET:-0}" = 1 ] || log "note: using TCG (software emulation, slower): $why"
		# tb-size: translation cache; "max" exposes e.g. svm so a nested qemu
		# inside the guest could even try KVM (slowly).
		ACCEL_ARGS=(-accel tcg,tb-size=256 -cpu max)
		ACCEL_DESC=tcg
	fi
}

# ------------------------------------------------------------------ run ---

do_run() {
	local script=$1 rundir rc qpid tpid=""
	shift
	[ -e "$script" ] || die "no such script: $script"
	script=$(readlink -f "$script")
	[ -f "$script" ] || die "not a regular file: $script"
	do_setup ""
	# shellcheck disable=SC1091
	. "$CACHE/current.env"
	choose_accel

	rundir=$(mktemp -d "$CACHE/runs/run.XXXXXX")
	RUNDIR=$rundir QPID=""
	trap 'on_exit' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	trap 'exit 141' PIPE
	chmod 755 "$rundir"
	mkdir -m 1777 "$rundir/out"
	# Paths under /run, /dev, /proc, /sys are fresh mounts in the guest: ship a copy.
	case "$script" in
	/run/* | /dev/* | /proc/* | /sys/*)
		cp "$script" "$rundir/script"
		chmod +x "$rundir/script"
		script=/run/aavm/io/script
		;;
	esac
	{
		printf 'AAVM_SCRIPT=%q\n' "$script"
		printf 'AAVM_CWD=%q\n' "$PWD"
		printf 'export AAVM_KERNEL_DIR=%q AAVM_ACCEL_USED=%q\n' "$CACHE/kernel/$KVER" "$ACCEL_DESC"
		printf 'AAVM_ARGS=('
		[ $# -gt 0 ] && printf ' %q' "$@"
		printf ' )\n'
		local v
		for v in ${AAVM_PASSENV:-}; do
			[ -n "${!v+x}" ] && printf 'export %s=%q\n' "$v" "${!v}"
		done
	} >"$rundir/cmd"

	local quiet=quiet
	[ "${AAVM_VERBOSE:-0}" = 1 ] && quiet=""
	# log_buf_len: the suite finds what a step logged by counting dmesg lines
	# from a mark; the default 256 KiB ring wraps during a full run, and
	# counted lines then point at the wrong place
	local append="console=ttyS0 $quiet panic=-1 log_buf_len=32M aavm.kmoddir=$CACHE/kernel/$KVER/lib/modules/$KVER"
	local rootcache=${AAVM_ROOT_CACHE:-loose}
	[ "$rootcache" != none ] && append+=" aavm.rootopts=cache=$rootcache"
	[ -n "${AAVM_APPEND:-}" ] && append+=" $AAVM_APPEND"

	local kernel=$CACHE/kernel/$KVER/boot/vmlinuz-$KVER
	if [ "${AAVM_BOOT:-pvh}" = pvh ] && [ -f "$CACHE/kernel/$KVER/vmlinux-pvh" ]; then
		kernel=$CACHE/kernel/$KVER/vmlinux-pvh
	fi
	local qemu=(qemu-system-x86_64 -nodefaults -no-user-config -machine pc
		"${ACCEL_ARGS[@]}" -m "${AAVM_MEM:-1024}" -smp "${AAVM_SMP:-1}"
		-display none -vga none -no-reboot
		-kernel "$kernel"
		-initrd "$CACHE/initrd-$KVER.img"
		-append "$append"
		-serial "file:$rundir/console.log"
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
		-virtfs "local,path=$rundir,mount_tag=aavmio,security_model=none,multidevs=remap"
		# shellcheck disable=SC2206
		${AAVM_QEMU_ARGS:-})
	printf '%q ' "${qemu[@]}" >"$rundir/qemu.cmd"

	local t0 t1
	t0=$(date +%s%N)
	set +e
	timeout -k 10 "${AAVM_TIMEOUT:-900}" "${qemu[@]}" </dev/null >"$rundir/qemu.log" 2>&1 &
	qpid=$!
	QPID=$qpid
	if [ "${AAVM_VERBOSE:-0}" = 1 ]; then
		tail -n +1 -F --pid=$qpid "$rundir/console.log" >&2 2>/dev/null &
		tpid=$!
	fi
	wait $qpid
	rc=$?
	QPID=""
	[ -n "$tpid" ] && wait "$tpid" 2>/dev/null
	set -e
	t1=$(date +%s%N)
	echo "accel=$ACCEL_DESC wall_ms=$(((t1 - t0) / 1000000))" >>"$rundir/host-info"

	if [ -f "$rundir/rc" ]; then
		[ -f "$rundir/stdout" ] && cat "$rundir/stdout"
		[ -f "$rundir/stderr" ] && cat "$rundir/stderr" >&2
		rc=$(cat "$rundir/rc")
	else
		if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			log "ERROR: guest timed out after ${AAVM_TIMEOUT:-900}s"
			rc=124
		else
			log "ERROR: guest produced no exit code (qemu rc=$rc)"
			rc=125
		fi
		[ -f "$rundir/stdout" ] && cat "$rundir/stdout"
		[ -f "$rundir/stderr" ] && cat "$rundir/stderr" >&2
		[ -s "$rundir/init-error" ] && cat "$rundir/init-error" >&2
		[ -s "$rundir/qemu.log" ] && { log "qemu output:"; cat "$rundir/qemu.log" >&2; }
		[ -s "$rundir/console.log" ] && { log "last console lines:"; tail -n 40 "$rundir/console.log" >&2; }
		AAVM_KEEP=1
	fi
	if [ -n "${AAVM_OUTDIR:-}" ]; then
		mkdir -p "$AAVM_OUTDIR" && cp -R "$rundir/out/." "$AAVM_OUTDIR/"
	fi
	if [ "${AAVM_KEEP:-0}" = 1 ]; then
		log "run dir kept: $rundir"
	else
		rm -rf "$rundir"
	fi
	RUNDIR=""
	exit "$rc"
}

# interrupted (Ctrl-C, SIGTERM, closed pipe): stop the VM, drop the run dir
on_exit() {
	[ -n "${QPID:-}" ] && kill "$QPID" 2>/dev/null
	if [ -n "${RUNDIR:-}" ] && [ "${AAVM_KEEP:-0}" != 1 ]; then
		rm -rf "$RUNDIR"
	fi
}

do_info() {
	do_setup ""
	# shellcheck disable=SC1091
	. "$CACHE/current.env"
	choose_accel
	echo "cache:   $CACHE"
	echo "kernel:  $KPKG $KPKGVER ($CACHE/kernel/$KVER/boot/vmlinuz-$KVER)"
	echo "pvh:     $(ls "$CACHE/kernel/$KVER/vmlinux-pvh" 2>/dev/null || echo "none (bzImage boot)")"
	echo "initrd:  $CACHE/initrd-$KVER.img"
	echo "accel:   $ACCEL_DESC (${ACCEL_ARGS[*]})"
	echo "qemu:    $(qemu-system-x86_64 --version | head -1)"
}

[ $# -ge 1 ] || usage
case "$1" in
-h | --help | help) usage ;;
setup)
	shift
	AAVM_SETUP_VERBOSE=1 do_setup "${1:-}"
	;;
info) do_info ;;
*) do_run "$@" ;;
esac
