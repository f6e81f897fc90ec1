#!/bin/bash
# suite.sh — svirt's end-to-end confinement tests against a REAL AppArmor
# kernel.  Runs as root INSIDE the kernel rig's guest, all in one boot:
#
#     scripts/kernel-tests.sh                                   # the one command
#     tests/kernel/run-in-aa-vm.sh tests/kernel/suite.sh        # the same, by hand
#
# Uses the release binaries target/release/{svirt,virt-aa-helper} of this
# checkout (visible in the guest at the same path) and the host's
# apparmor_parser, QEMU, qemu-img and libvirt policy.  Every check prints one
# PASS:/FAIL: line; the exit code is non-zero if any check failed.
#
#   1 confinement  virt-aa-helper -c + svirt exec: a confined driver process
#                  opens exactly its disks (qcow2 top rw, backing r, raw r)
#   2 escaping     glob characters, @{VAR} and a trailing backslash in disk
#                  names grant the literal file only
#   3 hotplug      svirt attach-disk / detach-disk on a running process
#   4 removal      virt-aa-helper -D, and svirt unload after the file is gone
#   5 qemu         a real qemu-system-x86_64 under svirt exec
#     abstraction  qemu-boots.sh: svirt's abstraction boots a guest kernel,
#                  and other VMs' files stay denied
#   6 libvirt      tests 1 and 5 again with Debian's libvirt template
#   7 untrusted    issue 10: a qcow2 header naming another VM's disk as its
#                  data file grants nothing; a 9p share of / is refused
#     explain      svirt explain --since reads the kernel log (dmesg: no
#                  journald in the guest), names the VM from a definitions
#                  root and prints svirt allow / <readonly/> fixes
#   9 audit      svirt audit: an unconfined fake QEMU and two VMs writing one
#                  disk are exactly its findings (exit 1); shareable + stopped: 0
#  10 gc         svirt gc: dry run changes nothing; --apply removes and unloads
#                  only an undefined domain's files (and a stale temporary)
#     libvirt-e2e  libvirt-e2e.sh: an unmodified libvirtd with svirt's
#                  helper swapped in (issue 7), and libvirt's own as control
#     libvirt11-e2e  libvirt-e2e.sh in a Debian 13 root (trixie-ns.sh): libvirtd
#                  11.3 with svirt's helper (libvirt = 11.3), 11.3's own as control
#     policy       libvirt-e2e.sh policy policy-debian (issue 15): two VMs
#                  with VNC, SPICE, OVMF+NVRAM, swtpm, a tap, hugepages, rng,
#                  pty, agent channel and sound under svirt's policy with no
#                  denial; A's profile reaches none of B's files nor sound,
#                  VFIO or render nodes; Debian's policy as the control
#   8 package      the Debian package (scripts/package.sh) installed, upgraded
#                  in place, removed and purged with dpkg: libvirt's helper
#                  diverted and given back byte for byte, svirt's helper
#                  profile loaded in place of Debian's and Debian's again after
#                  removal (runs last: it replaces the helper and its profile)
#
# Environment (pass into the guest with AAVM_PASSENV):
#   SVIRT_KERNEL_ONLY    space-separated test names to run (default: all)
#   SVIRT_KERNEL_BREAK   inject one deliberate breakage (negative control):
#       helper    /bin/true as the helper (tests 1, 6: nothing is loaded)
#       escaping  /etc/svirt/virt-aa-helper.conf "mode = compat" (test 2)
#       hotplug   the attach-disk call is skipped (test 3)
#       unplug    detach-disk is given the definition still holding the disk (test 3)
#       removal   virt-aa-helper -d -D (dry run) and no svirt unload (test 4)
#       qemu      the other VM's disk is also in the VM's definition (tests 5, 6)
#       libvirt   the local hook for Debian's abstraction is not installed (test 6)
#       poolrule  Debian's helper profile lacks the README's local/ rule for
#                 libvirt's pool definitions (libvirt-e2e, mode ours: the
#                 volume disk is not granted, virsh start fails)
#       overrides /etc/svirt/virt-aa-helper.conf "vm_overrides = false" when
#                 the profile is recreated (overrides: the allowed file and
#                 complain mode are lost)
#       untrusted /etc/svirt/virt-aa-helper.conf "mode = compat" (test 7: the
#                 share of / is granted; tests 2, 3 and libvirt-e2e fail too)
#       policy    svirt's abstraction gets Debian's shared NVRAM rule
#                 (owner /var/lib/libvirt/qemu/nvram/*_VARS.fd rwk) through
#                 its local hook (policy: A reaches B's NVRAM)
#       package   the package's postrm is repacked without its diversion
#                 removal (test 8: libvirt's helper does not come back)
# If AAVM_OUT is set (the rig sets it), the generated profiles and the
# AppArmor part of dmesg are copied there.
set -u

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN=$REPO/target/release
SVIRT=$BIN/svirt
HELPER=$BIN/virt-aa-helper
BREAK=${SVIRT_KERNEL_BREAK:-}
ONLY=${SVIRT_KERNEL_ONLY:-}
AADIR=/etc/apparmor.d
PDIR=$AADIR/libvirt
SFS=/sys/kernel/security/apparmor
W=/srv/svirt-kt # everything the tests create (the guest's tmpfs overlay)

FAILS=0 PASSES=0 CUR=""
FAILED_TESTS=""
pass() { echo "PASS: [$CUR] $*"; PASSES=$((PASSES + 1)); }
fail() {
	echo "FAIL: [$CUR] $*"
	FAILS=$((FAILS + 1))
	case " $FAILED_TESTS " in *" $CUR "*) ;; *) FAILED_TESTS="$FAILED_TESTS $CUR" ;; esac
}
info() { echo "  .. $*"; }
die() { echo "FAIL: [setup] $*"; echo "kernel suite: ABORTED"; exit 1; }
check() { # DESC COMMAND...: PASS if COMMAND succeeds
	local d=$1
	shift
	if "$@"; then pass "$d"; else fail "$d"; fi
}
section() {
	CUR=$1
	echo
	echo "=== $1: $2"
}
wanted() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }

# ---------------------------------------------------------------- preflight --
[ "$(id -u)" = 0 ] || die "must run as root (inside the rig's guest)"
enabled=$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)
if [ "$enabled" != Y ]; then
	echo "FAIL: [setup] AppArmor is NOT enabled in this kernel (/sys/module/apparmor/parameters/enabled = '${enabled:-missing}')"
	echo "FAIL: [setup] nothing can be proved without it; run me through scripts/kernel-tests.sh (boots a kernel with AppArmor enforcing)"
	exit 1
fi
[ -d "$SFS" ] || die "securityfs is not mounted at /sys/kernel/security"
grep -qw apparmor /sys/kernel/security/lsm 2>/dev/null || die "apparmor is not in /sys/kernel/security/lsm"
[ "${AAVM_GUEST:-0}" = 1 ] || die "not inside the kernel rig's guest (AAVM_GUEST unset): refusing to load test profiles into this kernel"
for t in "$SVIRT" "$HELPER"; do
	[ -x "$t" ] || die "missing $t (cargo build --release --workspace)"
done
for t in apparmor_parser qemu-system-x86_64 qemu-img dd cat sleep mkfifo; do
	command -v "$t" >/dev/null || die "missing tool: $t"
done
[ -f "$REPO/policy/TEMPLATE.qemu" ] && [ -f "$REPO/policy/abstractions/svirt-qemu" ] ||
	die "policy files not found under $REPO/policy"
[ -z "$BREAK" ] || echo "NOTE: negative control: SVIRT_KERNEL_BREAK=$BREAK (failures expected)"
echo "kernel $(uname -r), lsm=$(cat /sys/kernel/security/lsm), apparmor enabled=$enabled, accel=${AAVM_ACCEL_USED:-?}"

# Without auditd, AppArmor messages reach dmesg through printk, which is
# rate-limited; a burst of denials would be partly dropped.
sysctl -qw kernel.printk_ratelimit=0 2>/dev/null || true

rm -rf "$W"
mkdir -p "$W" "$PDIR" || die "mkdir"
chmod 755 "$W"

# The test images: root-owned, so DAC allows root everything and only
# AppArmor can refuse.
mkimg() { # FILE [qcow2 [BACKING]] | FILE raw
	local f=$1 fmt=${2:-raw}
	mkdir -p "$(dirname "$f")"
	if [ "$fmt" = raw ]; then
		head -c 65536 /dev/urandom >"$f"
	elif [ -n "${3:-}" ]; then
		qemu-img create -q -f qcow2 -F qcow2 -b "$3" "$f" >/dev/null
	else
		qemu-img create -q -f qcow2 "$f" 16M >/dev/null
	fi || die "cannot create $f"
}

# A domain XML: NAME UUID DISK... where DISK is PATH:FORMAT[:ro], or
# fs=DIR:TAG for a 9p share of DIR (<filesystem type='mount'>). No
# <backingStore>: the helper must read the chain from the image headers.
domain_xml() {
	local name=$1 uuid=$2 d p fmt ro dev=a
	shift 2
	echo "<domain type='kvm'><name>$name</name><uuid>$uuid</uuid>"
	echo "<memory unit='KiB'>65536</memory><os><type arch='x86_64'>hvm</type></os><devices>"
	echo "<emulator>/usr/bin/qemu-system-x86_64</emulator>"
	for d in "$@"; do
		case "$d" in
		fs=*)
			p=${d#fs=}
			echo "<filesystem type='mount' accessmode='passthrough'><source dir='${p%:*}'/><target dir='${p##*:}'/></filesystem>"
			continue
			;;
		esac
		p=${d%%:*}
		fmt=${d#*:}
		ro=""
		case "$fmt" in *:ro) ro="<readonly/>" fmt=${fmt%:ro} ;; esac
		p=${p//&/&amp;}
		p=${p//\'/&apos;}
		p=${p//</&lt;}
		echo "<disk type='file' device='disk'><driver name='qemu' type='$fmt'/>"
		echo "<source file='$p'/><target dev='vd$dev' bus='virtio'/>$ro</disk>"
		dev=$(echo "$dev" | tr a-y b-z)
	done
	echo "</devices></domain>"
}
new_uuid() { cat /proc/sys/kernel/random/uuid; }
loaded() { grep -q "^$1 (" "$SFS/profiles"; }
mode_of() { grep "^$1 (" "$SFS/profiles" | sed 's/.*(//; s/)$//'; }
# the AppArmor lines of dmesg since MARK for one profile
dmesg_mark() { MARK=$(dmesg | wc -l); }
aa_lines() { # PROFILE
	sleep 0.3
	dmesg | tail -n +"$((MARK + 1))" | grep 'apparmor="DENIED"' | grep -F "profile=\"$1\""
}
denied_for() { # PROFILE PATH
	aa_lines "$1" | grep -qF "name=\"$2\""
}

# ------------------------------------------------------------ policy set-up --
# Debian's libvirt template, if the host has one (tests 6).  The overlay makes
# the copies below private to this guest.
DEB_TEMPLATE=""
if [ -f "$PDIR/TEMPLATE.qemu" ] && grep -q 'abstractions/libvirt-qemu' "$PDIR/TEMPLATE.qemu"; then
	cp "$PDIR/TEMPLATE.qemu" "$W/debian-TEMPLATE.qemu"
	DEB_TEMPLATE=$W/debian-TEMPLATE.qemu
fi

# The confined driver process runs these tools; they are granted through
# each abstraction's documented local hook, never by editing shipped files.
TOOL_RULES='  # tests/kernel/suite.sh: the confined test driver (sh loop, dd, cat, sleep)
  /{usr/,}bin/{sh,dash,bash,cat,dd,sleep} rmix,'

use_svirt_template() {
	cp "$REPO/policy/TEMPLATE.qemu" "$PDIR/TEMPLATE.qemu" &&
		cp "$REPO/policy/abstractions/svirt-qemu" "$AADIR/abstractions/svirt-qemu" &&
		mkdir -p "$AADIR/abstractions/svirt-qemu.d" &&
		echo "$TOOL_RULES" >"$AADIR/abstractions/svirt-qemu.d/svirt-kernel-tests" ||
		die "cannot install svirt's template"
	TEMPLATE_KIND=svirt
	WANT_ABSTRACTION=abstractions/svirt-qemu
}
use_debian_template() {
	[ -n "$DEB_TEMPLATE" ] || return 1
	cp "$DEB_TEMPLATE" "$PDIR/TEMPLATE.qemu" || return 1
	mkdir -p "$AADIR/local/abstractions"
	if [ "$BREAK" = libvirt ]; then
		info "BREAK=libvirt: no local hook for Debian's abstraction"
	else
		echo "$TOOL_RULES" >>"$AADIR/local/abstractions/libvirt-qemu" || return 1
	fi
	TEMPLATE_KIND=debian
	WANT_ABSTRACTION=abstractions/libvirt-qemu
}

# Which helper the tests run: the real one, or /bin/true (BREAK=helper).
H=$HELPER
[ "$BREAK" = helper ] && H=/bin/true
if [ "$BREAK" = escaping ] || [ "$BREAK" = untrusted ]; then
	mkdir -p /etc/svirt && echo "mode = compat" >/etc/svirt/virt-aa-helper.conf
else
	rm -f /etc/svirt/virt-aa-helper.conf
fi

# ------------------------------------------------------ the confined driver --
# A shell loop started with `svirt exec`, so it runs under the VM's profile.
# It reads one request per line and answers one line: OK, EACCES or ERR ...
# Its stdin/stdout are FIFOs opened by this (unconfined) script: inherited
# descriptors of an unconfined opener are not revalidated at exec.
#   pid          its own pid
#   r PATH       read a block                  (dd if=PATH)
#   w PATH       open for writing, write nothing (dd of=PATH count=0 conv=notrunc)
#   rw PATH      read the first block and write it back in place
#   cat PATH     read with cat
#   x CMD ARGS   run a command
#   q            exit 0
PROBE_LOOP='set -f
try() {
	if e=$("$@" 2>&1 >/dev/null); then echo OK; else
		case $e in *"ermission denied"*) echo EACCES ;; *) echo ERR $e ;; esac
	fi
}
while IFS= read -r line; do
	op=${line%% *}
	arg=${line#"$op"}
	arg=${arg# }
	case $op in
	pid) echo $$ ;;
	r) try dd if="$arg" of=/dev/null bs=4096 count=1 status=none ;;
	w) try dd if=/dev/zero of="$arg" bs=512 count=0 conv=notrunc status=none ;;
	rw) try dd if="$arg" of="$arg" bs=512 count=1 conv=notrunc status=none ;;
	cat) try cat "$arg" ;;
	x) try $arg ;;
	q) exit 0 ;;
	*) echo "ERR unknown request $op" ;;
	esac
done'

PROBE_SPID="" PROBE_PID=""
probe_start() { # TAG DOMAIN_XML: starts the confined driver, sets PROBE_PID
	local tag=$1 xml=$2 tmp
	rm -f "$W/$tag.in" "$W/$tag.out"
	mkfifo "$W/$tag.in" "$W/$tag.out" || die mkfifo
	# <> so that neither open blocks; the read side is then reopened
	# read-only, so that it sees EOF as soon as the driver is gone.
	exec {PI}<>"$W/$tag.in" {tmp}<>"$W/$tag.out"
	"$SVIRT" exec --domain "$xml" --helper "$H" -- /bin/sh -c "$PROBE_LOOP" \
		<&"$PI" >&"$tmp" 2>"$W/$tag.err" &
	PROBE_SPID=$!
	exec {PO}<"$W/$tag.out" {tmp}>&-
	PROBE_PID=""
	ask pid
	case "$REPLY" in
	[0-9]*) PROBE_PID=$REPLY ;;
	*)
		info "the confined driver did not start ($REPLY); svirt exec said: $(tr '\n' ' ' <"$W/$tag.err")"
		return 1
		;;
	esac
}
# One request, one reply line.  A single long read: bash's read -t can drop
# input when it times out in the middle of a line.  EOF = the driver is gone.
ask() { # REQUEST...: sets REPLY (DEAD if the driver is gone, TIMEOUT)
	REPLY=""
	echo "$*" >&"$PI"
	if read -r -t 90 -u "$PO" REPLY; then
		return
	elif [ $? -gt 128 ]; then
		REPLY=TIMEOUT
	else
		REPLY=DEAD
	fi
}
expect() { # WANT REQUEST DESC
	ask "$2"
	if [ "$REPLY" = "$1" ]; then pass "$3: $1"; else fail "$3: want $1, got $REPLY"; fi
}
probe_stop() { # waits for svirt exec; sets PROBE_RC
	PROBE_RC=""
	if [ -n "$PROBE_SPID" ]; then
		kill -0 "$PROBE_SPID" 2>/dev/null && echo q >&"$PI"
		local i
		for ((i = 0; i < 150; i++)); do kill -0 "$PROBE_SPID" 2>/dev/null || break; sleep 0.2; done
		kill -0 "$PROBE_SPID" 2>/dev/null && kill -KILL "$PROBE_SPID"
		wait "$PROBE_SPID"
		PROBE_RC=$?
	fi
	exec {PI}>&- {PO}<&-
	PROBE_SPID="" PROBE_PID=""
}

save_profile() { # PROFILE TAG: keep the generated files for AAVM_OUT
	mkdir -p "$W/profiles"
	cp "$PDIR/$1" "$W/profiles/$2.profile" 2>/dev/null
	cp "$PDIR/$1.files" "$W/profiles/$2.files" 2>/dev/null
}

# ============================================================ 1 confinement ==
test_confinement() { # TAG (confinement | libvirt)
	local tag=$1 uuid prof xml d=$W/$1 l
	uuid=$(new_uuid)
	prof=libvirt-$uuid
	xml=$W/$tag.xml
	mkimg "$d/base.qcow2" qcow2
	mkimg "$d/top.qcow2" qcow2 "$d/base.qcow2"
	mkimg "$d/ro.img" raw
	mkimg "$W/othervm/disk.qcow2" qcow2
	[ -f /root/svirt-kt-secret ] || { echo secret >/root/svirt-kt-secret && chmod 600 /root/svirt-kt-secret; }
	domain_xml "vm-$tag" "$uuid" "$d/top.qcow2:qcow2" "$d/ro.img:raw:ro" >"$xml"
	dmesg_mark

	"$H" -c -u "$prof" <"$xml" >"$W/$tag.helper.out" 2>&1
	local rc=$?
	if [ "$rc" = 0 ] && loaded "$prof"; then
		pass "virt-aa-helper -c loaded $prof ($(mode_of "$prof"))"
	else
		fail "virt-aa-helper -c: rc $rc, $prof loaded: $(loaded "$prof" && echo yes || echo no); $(tr '\n' ' ' <"$W/$tag.helper.out")"
	fi
	save_profile "$prof" "$tag"
	if grep -q "include <$WANT_ABSTRACTION>" "$PDIR/$prof" 2>/dev/null; then
		pass "the profile was made from the $TEMPLATE_KIND template (includes <$WANT_ABSTRACTION>)"
	else
		fail "the profile does not include <$WANT_ABSTRACTION>"
	fi
	if grep -qF "\"$d/base.qcow2\" r" "$PDIR/$prof.files" 2>/dev/null; then
		pass "the backing file (read from the qcow2 header) is in .files: $(grep -F "$d/base.qcow2" "$PDIR/$prof.files" | sed 's/^ *//' | tr '\n' ' ')"
	else
		fail "the backing file $d/base.qcow2 is not granted read-only in .files"
	fi

	if ! probe_start "$tag" "$xml"; then
		fail "svirt exec did not start the confined driver under $prof"
		probe_stop
		return
	fi
	pass "svirt exec started the confined driver (pid $PROBE_PID)"
	l=$(cat "/proc/$PROBE_PID/attr/apparmor/current" 2>/dev/null)
	[ "$l" = "$prof (enforce)" ] && pass "/proc/$PROBE_PID/attr/apparmor/current: $l" ||
		fail "/proc/$PROBE_PID/attr/apparmor/current is '$l', want '$prof (enforce)'"
	l=$("$SVIRT" label "$PROBE_PID" 2>&1)
	[ "$l" = "$prof (enforce)" ] && pass "svirt label $PROBE_PID: $l" ||
		fail "svirt label $PROBE_PID: '$l', want '$prof (enforce)'"
	l=$("$SVIRT" label $$ 2>&1)
	[ "$l" = unconfined ] && pass "svirt label of the test shell: unconfined" ||
		fail "svirt label $$: '$l', want unconfined"
	# Columns: PROFILE MODE CHOICES PIDS (CHOICES is "-" without any).
	if "$SVIRT" status 2>&1 | grep -Eq "^$prof +enforce +- +([0-9 ]* )?$PROBE_PID( |\$)"; then
		pass "svirt status: $("$SVIRT" status | grep "^$prof" | tr -s ' ')"
	else
		fail "svirt status does not list $prof enforce with pid $PROBE_PID: $("$SVIRT" status 2>&1 | tr '\n' '|')"
	fi
	if "$SVIRT" status --json 2>&1 | tr -d ' \n' |
		grep -q "\"mode\":\"enforce\",\"overrides\":0,\"pids\":\[\([0-9]*,\)*$PROBE_PID\(,[0-9]*\)*\],\"profile\":\"$prof\"}"; then
		pass "svirt status --json lists $prof, enforce, pid $PROBE_PID"
	else
		fail "svirt status --json: $("$SVIRT" status --json 2>&1 | tr -d ' \n')"
	fi

	expect OK "rw $d/top.qcow2" "read+write the top image"
	expect OK "w $d/top.qcow2" "open the top image for writing"
	expect OK "r $d/base.qcow2" "read the backing file"
	expect EACCES "w $d/base.qcow2" "write the backing file"
	expect OK "cat $d/ro.img" "read the read-only raw disk"
	expect EACCES "w $d/ro.img" "write the read-only raw disk"
	expect EACCES "r $W/othervm/disk.qcow2" "read another VM's disk"
	expect EACCES "w $W/othervm/disk.qcow2" "write another VM's disk"
	expect EACCES "r /etc/shadow" "read /etc/shadow"
	expect EACCES "r /root/svirt-kt-secret" "read a file in /root"
	expect OK "x sleep 0" "run sleep (granted by the local hook)"
	expect EACCES "x /usr/bin/id" "run /usr/bin/id (not granted)"
	ask pid
	[ "$REPLY" = "$PROBE_PID" ] && pass "the driver is still the same process" || fail "pid changed: $REPLY"

	# (writes to the backing file and the read-only disk are refused because
	# nothing allows them; safe mode writes no `deny ... w` rule (issue 12),
	# so they are logged; in compat mode libvirt 9.0's deny hides them)
	local missing=""
	for p in "$W/othervm/disk.qcow2" /etc/shadow /root/svirt-kt-secret /usr/bin/id; do
		denied_for "$prof" "$p" || missing+=" $p"
	done
	[ -z "$missing" ] && pass "dmesg: apparmor=\"DENIED\" profile=\"$prof\" for each refused file" ||
		fail "no DENIED line in dmesg for:$missing"
	local unexpected
	unexpected=$(aa_lines "$prof" | grep -vF -e "name=\"$d/base.qcow2\"" -e "name=\"$d/ro.img\"" \
		-e "name=\"$W/othervm/disk.qcow2\"" -e 'name="/etc/shadow"' -e 'name="/root/svirt-kt-secret"' -e 'name="/usr/bin/id"')
	[ -z "$unexpected" ] && pass "no other DENIED lines for $prof" ||
		fail "unexpected DENIED lines: $(echo "$unexpected" | sed -E 's/.*(operation=)/\1/' | head -5)"

	probe_stop
	[ "$PROBE_RC" = 0 ] && pass "svirt exec exited 0 after the driver quit" || fail "svirt exec rc $PROBE_RC: $(tr '\n' ' ' <"$W/$tag.err")"
	if ! loaded "$prof" && [ ! -e "$PDIR/$prof.files" ]; then
		pass "svirt exec unloaded $prof and removed its .files at exit (helper -D)"
	else
		fail "after svirt exec: loaded=$(loaded "$prof" && echo yes || echo no), .files exists=$([ -e "$PDIR/$prof.files" ] && echo yes || echo no)"
	fi
}

# =============================================================== 2 escaping ==
test_escaping() {
	local uuid prof xml lit sib
	# a) glob characters and an AppArmor variable in the name
	lit='/srv/vm/a*{b,c}[d]@{HOME}.img'
	# each one a file that the name would match if some of it were a live pattern
	local siblings=(
		'/srv/vm/aX{b,c}[d]@{HOME}.img'  # * live
		'/srv/vm/a*b[d]@{HOME}.img'      # {b,c} live
		'/srv/vm/a*c[d]@{HOME}.img'      # {b,c} live
		'/srv/vm/a*{b,c}d@{HOME}.img'    # [d] live
		'/srv/vm/aXbd@{HOME}.img'        # all globs live, @ literal
		'/srv/vm/acd@{HOME}.img'         # all globs live, @ literal
		'/srv/vm/aXbd/root/.img'         # everything live, @{HOME} = /root/
		'/srv/vm/acd/root/.img'          # everything live
		'/srv/vm/aXYcd/home/u/.img'      # everything live, @{HOME} = /home/*/
	)
	mkimg "$lit" raw
	for sib in "${siblings[@]}"; do mkimg "$sib" raw; done
	uuid=$(new_uuid)
	prof=libvirt-$uuid
	xml=$W/escaping.xml
	domain_xml vm-escaping "$uuid" "$lit:raw" >"$xml"
	dmesg_mark
	if probe_start escaping "$xml"; then
		save_profile "$prof" escaping
		pass "confined driver under $prof: $(grep -F '/srv/vm/' "$PDIR/$prof.files" | sed 's/^ *//')"
		expect OK "rw $lit" "open the literal $lit"
		for sib in "${siblings[@]}"; do
			expect EACCES "r $sib" "open the sibling $sib"
		done
		expect EACCES "r /srv/vm/" "list /srv/vm"
	else
		fail "svirt exec did not start the confined driver for $lit"
	fi
	probe_stop

	# b) a name ending in a backslash
	lit='/srv/vm/back\'
	siblings=('/srv/vm/back' '/srv/vm/backX' '/srv/vm/back\\')
	mkimg "$lit" raw
	for sib in "${siblings[@]}"; do mkimg "$sib" raw; done
	uuid=$(new_uuid)
	prof=libvirt-$uuid
	xml=$W/escaping-bs.xml
	domain_xml vm-backslash "$uuid" "$lit:raw" >"$xml"
	if probe_start escaping-bs "$xml"; then
		save_profile "$prof" escaping-bs
		pass "confined driver under $prof: $(grep -F '/srv/vm/' "$PDIR/$prof.files" | sed 's/^ *//')"
		expect OK "rw $lit" "open the literal $lit"
		for sib in "${siblings[@]}"; do
			expect EACCES "r $sib" "open the sibling $sib"
		done
	else
		fail "svirt exec did not start the confined driver for $lit"
	fi
	probe_stop
}

# ================================================================ 3 hotplug ==
test_hotplug() {
	local uuid prof xml xml2 d=$W/hotplug rc out
	uuid=$(new_uuid)
	prof=libvirt-$uuid
	xml=$W/hotplug.xml
	xml2=$W/hotplug-with-disk.xml
	mkimg "$d/boot.img" raw
	mkimg "$d/new-base.qcow2" qcow2
	mkimg "$d/new.qcow2" qcow2 "$d/new-base.qcow2"
	domain_xml vm-hotplug "$uuid" "$d/boot.img:raw" >"$xml"
	domain_xml vm-hotplug "$uuid" "$d/boot.img:raw" "$d/new.qcow2:qcow2" >"$xml2"
	if ! probe_start hotplug "$xml"; then
		fail "svirt exec did not start the confined driver"
		probe_stop
		return
	fi
	local pid0=$PROBE_PID
	pass "confined driver under $prof (pid $pid0)"
	expect OK "rw $d/boot.img" "its boot disk"
	expect EACCES "r $d/new.qcow2" "the new disk before attach-disk"
	expect EACCES "r $d/new-base.qcow2" "the new disk's backing file before attach-disk"

	# svirt's driver is given the definition that holds the new disk, so
	# it regenerates from it (-r without -F, which appends rwk) and the
	# backing file stays read-only (issue 12: no hotplug_layer_access needed).
	# (libvirt grants before the disk is in the definition, and every -F
	# file becomes rwk.)
	if [ "$BREAK" = hotplug ]; then
		info "BREAK=hotplug: attach-disk skipped"
	else
		out=$("$SVIRT" attach-disk --domain "$xml2" --helper "$H" --format qcow2 "$d/new.qcow2" 2>&1)
		rc=$?
		[ "$rc" = 0 ] && pass "svirt attach-disk $d/new.qcow2 (rc 0)" || fail "svirt attach-disk: rc $rc: $out"
	fi
	save_profile "$prof" hotplug-attached
	expect OK "rw $d/new.qcow2" "the new disk after attach-disk"
	expect OK "r $d/new-base.qcow2" "its backing file after attach-disk"
	expect EACCES "w $d/new-base.qcow2" "writing its backing file after attach-disk (kept read-only)"
	ask pid
	[ "$REPLY" = "$pid0" ] && pass "same process throughout (pid $pid0, not restarted)" || fail "pid is $REPLY, was $pid0"

	# Unplug: the disk leaves the definition, then restore_image_label.
	local defn=$xml
	if [ "$BREAK" = unplug ]; then
		info "BREAK=unplug: detach-disk gets the definition that still holds the disk"
		defn=$xml2
	fi
	out=$("$SVIRT" detach-disk --domain "$defn" --helper "$H" "$d/new.qcow2" 2>&1)
	rc=$?
	[ "$rc" = 0 ] && pass "svirt detach-disk $d/new.qcow2 (rc 0)" || fail "svirt detach-disk: rc $rc: $out"
	save_profile "$prof" hotplug-detached
	expect EACCES "r $d/new.qcow2" "the new disk after detach-disk"
	expect EACCES "r $d/new-base.qcow2" "its backing file after detach-disk"
	expect OK "rw $d/boot.img" "the boot disk after detach-disk"
	ask pid
	[ "$REPLY" = "$pid0" ] && pass "same process after detach (pid $pid0)" || fail "pid is $REPLY, was $pid0"
	probe_stop
	[ "$PROBE_RC" = 0 ] && pass "svirt exec exited 0" || fail "svirt exec rc $PROBE_RC: $(tr '\n' ' ' <"$W/hotplug.err")"
}

# ================================================================ 4 removal ==
test_removal() {
	local uuid prof xml rc out
	uuid=$(new_uuid)
	prof=libvirt-$uuid
	xml=$W/removal.xml
	mkimg "$W/removal/disk.img" raw
	domain_xml vm-removal "$uuid" "$W/removal/disk.img:raw" >"$xml"

	"$H" -c -u "$prof" <"$xml" >/dev/null 2>&1
	loaded "$prof" && pass "virt-aa-helper -c loaded $prof" || fail "virt-aa-helper -c did not load $prof"
	local dflag=()
	[ "$BREAK" = removal ] && { info "BREAK=removal: virt-aa-helper -d -D (dry run), no svirt unload"; dflag=(-d); }
	out=$("$H" "${dflag[@]}" -D -u "$prof" 2>&1)
	rc=$?
	[ "$rc" = 0 ] && pass "virt-aa-helper -D -u $prof (rc 0)" || fail "virt-aa-helper -D: rc $rc: $out"
	if ! loaded "$prof"; then
		pass "$prof is gone from $SFS/profiles"
	else
		fail "$prof is still in $SFS/profiles after virt-aa-helper -D"
	fi
	[ ! -e "$PDIR/$prof.files" ] && pass "-D removed $prof.files" || fail "-D left $PDIR/$prof.files"
	rm -f "$PDIR/$prof"

	# Removal by name through the kernel interface, after the profile file is gone.
	uuid=$(new_uuid)
	prof=libvirt-$uuid
	domain_xml vm-removal2 "$uuid" "$W/removal/disk.img:raw" >"$xml"
	"$H" -c -u "$prof" <"$xml" >/dev/null 2>&1
	loaded "$prof" && pass "virt-aa-helper -c loaded $prof" || fail "virt-aa-helper -c did not load $prof"
	rm -f "$PDIR/$prof" "$PDIR/$prof.files" "$PDIR/$prof.lock"
	out=$("$H" -R -u "$prof" 2>&1)
	rc=$?
	if [ "$rc" != 0 ] && loaded "$prof"; then
		pass "without the file, virt-aa-helper -R cannot unload it (rc $rc)"
	else
		fail "virt-aa-helper -R without the profile file: rc $rc, loaded: $(loaded "$prof" && echo yes || echo no)"
	fi
	if [ "$BREAK" = removal ]; then
		out="(skipped)" rc=0
	else
		out=$("$SVIRT" unload "$prof" 2>&1)
		rc=$?
	fi
	if [ "$rc" = 0 ] && ! loaded "$prof"; then
		pass "svirt unload $prof: '$out'; gone from profiles"
	else
		fail "svirt unload $prof: rc $rc, '$out', still loaded: $(loaded "$prof" && echo yes || echo no)"
	fi
	out=$("$SVIRT" unload "$prof" 2>&1)
	rc=$?
	[ "$rc" != 0 ] && pass "svirt unload of a profile that is not loaded fails: $out" ||
		fail "svirt unload of a missing profile succeeded"
}

# ============================================================== overrides ==
# svirt allow / complain / enforce (issue 13): per-VM choices that take
# effect at once and last across regenerations and a recreated profile.
test_overrides() {
	local uuid prof xml d=$W/overrides rc out
	uuid=$(new_uuid)
	prof=libvirt-$uuid
	xml=$W/overrides.xml
	mkimg "$d/boot.img" raw
	mkimg "$d/extra.dat" raw
	mkimg "$d/other.dat" raw
	domain_xml vm-overrides "$uuid" "$d/boot.img:raw" >"$xml"
	if ! probe_start overrides "$xml"; then
		fail "svirt exec did not start the confined driver"
		probe_stop
		return
	fi
	expect OK "rw $d/boot.img" "its boot disk"
	expect EACCES "r $d/extra.dat" "a file outside its definition, before svirt allow"
	out=$("$SVIRT" allow --domain "$xml" "$d/extra.dat" 2>&1)
	rc=$?
	[ "$rc" = 0 ] && [[ $out == *"applies now"* ]] && pass "svirt allow $d/extra.dat (rc 0, reloaded)" ||
		fail "svirt allow: rc $rc: $out"
	expect OK "r $d/extra.dat" "the allowed file, at once"
	expect EACCES "w $d/extra.dat" "writing the file allowed read-only"
	expect EACCES "r $d/other.dat" "another file"
	out=$("$SVIRT" allow --domain "$xml" --write /etc/shadow 2>&1)
	rc=$?
	[ "$rc" != 0 ] && [[ $out == *restricted* ]] && pass "svirt allow of /etc/shadow is refused: $out" ||
		fail "svirt allow /etc/shadow: rc $rc: $out"
	expect EACCES "r /etc/shadow" "/etc/shadow after the refused allow"

	# A regeneration (libvirt's -r at hotplug or the next start) keeps it.
	"$H" -r -u "$prof" <"$xml" >/dev/null 2>&1 || fail "virt-aa-helper -r failed"
	expect OK "r $d/extra.dat" "the allowed file after virt-aa-helper -r"
	out=$("$SVIRT" allow --domain "$xml" --write "$d/extra.dat" 2>&1) || fail "svirt allow --write: $out"
	expect OK "w $d/extra.dat" "writing it after svirt allow --write"

	# Complain mode: at once, across -r, and across a recreated profile.
	out=$("$SVIRT" complain --domain "$xml" 2>&1) || fail "svirt complain: $out"
	[ "$(mode_of "$prof")" = complain ] && pass "svirt complain: $prof is in complain mode" ||
		fail "svirt complain: mode is '$(mode_of "$prof")'"
	expect OK "r $d/other.dat" "another file in complain mode (logged, allowed)"
	"$H" -r -u "$prof" <"$xml" >/dev/null 2>&1 || fail "virt-aa-helper -r failed"
	[ "$(mode_of "$prof")" = complain ] && pass "still complain after virt-aa-helper -r" ||
		fail "after virt-aa-helper -r the mode is '$(mode_of "$prof")'"
	out=$("$SVIRT" status 2>&1)
	[[ $out == *"$prof"*"complain(lasting)"* ]] && pass "svirt status shows the lasting complain mode" ||
		fail "svirt status: $out"
	probe_stop

	# The VM stops (-D keeps the profile file); the file is then lost and
	# the next start creates it from the template (-c).
	if [ "$BREAK" = overrides ]; then
		info "BREAK=overrides: vm_overrides = false for the recreated profile"
		mkdir -p /etc/svirt && printf 'mode = safe\nvm_overrides = false\n' >/etc/svirt/virt-aa-helper.conf
	fi
	rm -f "$PDIR/$prof"
	if ! probe_start overrides "$xml"; then
		fail "svirt exec did not start the confined driver again"
		probe_stop
		return
	fi
	[ "$(mode_of "$prof")" = complain ] && pass "a recreated profile starts in complain mode" ||
		fail "the recreated profile's mode is '$(mode_of "$prof")'"
	out=$("$SVIRT" enforce --domain "$xml" 2>&1) || fail "svirt enforce: $out"
	[ "$(mode_of "$prof")" = enforce ] && pass "svirt enforce: back to enforce" ||
		fail "svirt enforce: mode is '$(mode_of "$prof")'"
	expect OK "rw $d/extra.dat" "the allowed file in the recreated profile"
	expect EACCES "r $d/other.dat" "another file, enforced again"
	"$H" -r -u "$prof" <"$xml" >/dev/null 2>&1 || fail "virt-aa-helper -r failed"
	[ "$(mode_of "$prof")" = enforce ] && pass "still enforce after virt-aa-helper -r" ||
		fail "after virt-aa-helper -r the mode is '$(mode_of "$prof")'"
	out=$("$SVIRT" allow --domain "$xml" --remove "$d/extra.dat" 2>&1) || fail "svirt allow --remove: $out"
	expect EACCES "r $d/extra.dat" "the file after svirt allow --remove"
	probe_stop
	[ "$BREAK" = overrides ] && rm -f /etc/svirt/virt-aa-helper.conf
	rm -f "$PDIR/$prof" "$PDIR/$prof".*
}

# ============================================================= startcost ==
# Issue 14: what a VM start costs in parser runs. A logging wrapper is
# bind-mounted over apparmor_parser, so each check sees exactly which
# parser calls a helper call made: a restart of an unchanged VM compiles
# nothing, the start-time -F calls run no parser, -D compiles nothing, and
# every change that matters (an abstraction, .files, the override, the
# parser) compiles again and takes effect.
test_startcost() {
	local uuid prof d=$W/startcost xml real=$W/apparmor_parser.real wrap=$W/parser-wrapper
	local plog=$W/parser.log defs=$W/startcost-etc out id
	uuid=$(new_uuid)
	prof=libvirt-$uuid
	mkimg "$d/boot.img" raw
	mkimg "$d/extra.dat" raw
	mkimg "$d/other.dat" raw
	mkimg "$d/new.img" raw
	live() { # ID [DISK...]: the live definition libvirt passes at start
		local id=$1
		shift
		domain_xml vm-startcost "$uuid" "$d/boot.img:raw" "$@" | sed "1s/<domain type='kvm'>/<domain type='kvm' id='$id'>/"
	}
	cp "$(readlink -f /usr/sbin/apparmor_parser)" "$real" || { fail "cannot copy apparmor_parser"; return; }
	printf '#!/bin/sh\necho "$*" >>%s\nexec %s "$@"\n' "$plog" "$real" >"$wrap"
	chmod 755 "$wrap"
	mount --bind "$wrap" /usr/sbin/apparmor_parser || { fail "cannot wrap apparmor_parser"; return; }
	calls() { # the parser calls since the last look, one per line, paths cut
		[ -f "$plog" ] && sed "s|$PDIR/||g" "$plog" | tr '\n' ';'
		rm -f "$plog"
	}
	helper() { # ID ARGS...
		local id=$1
		shift
		live "$id" >"$W/startcost.xml"
		"$H" "$@" <"$W/startcost.xml" >"$W/startcost.out" 2>&1 || fail "virt-aa-helper $*: $(cat "$W/startcost.out")"
	}
	start_requests() { # ID: libvirt 9.0's three -F calls after a start
		local dir=/var/lib/libvirt/qemu/domain-$1-vm-startcost
		helper "$1" -r -u "$prof" -F "$dir/{,**}"
		helper "$1" -r -u "$prof" -F "/var/lib/libvirt/qemu/channel/target/domain-$1-vm-startcost/{,**}"
		helper "$1" -r -u "$prof" -F "$dir/master-key.aes"
	}
	reads() { aa-exec -p "$prof" -- dd if="$1" of=/dev/null bs=512 count=1 status=none 2>/dev/null; }
	want_calls() { # DESC WANT: WANT is a shell pattern over calls()
		out=$(calls)
		# shellcheck disable=SC2053
		[[ $out == $2 ]] && pass "$1: parser calls '$out'" || fail "$1: parser calls '$out', want '$2'"
	}

	rm -f "$plog"
	helper 3 -c -u "$prof"
	want_calls "first start (-c) compiles once and loads the binary" "-p $prof;--print-cache-dir;-Q -K -S $prof;-a -B $prof.cache.tmp-*;"
	loaded "$prof" && pass "$prof is loaded" || fail "$prof is not loaded after -c"
	[ -s "$PDIR/$prof.cache" ] && pass "the compiled policy is kept in $prof.cache" || fail "no $prof.cache"
	start_requests 3
	want_calls "the three start-time -F calls" ""
	reads "$d/boot.img" && pass "its disk is readable" || fail "its disk is not readable"
	reads "$d/extra.dat" && fail "extra.dat is readable before any change" || pass "extra.dat is denied"
	helper 3 -D -u "$prof"
	want_calls "-D (destroy)" "-R;"
	loaded "$prof" && fail "$prof still loaded after -D" || pass "-D unloaded $prof"

	# Restart: the domain id moves on; the rules and the compiled policy do not.
	helper 4 -r -u "$prof"
	want_calls "restart (-r with the next id) loads the kept binary" "-p $prof;--print-cache-dir;-r -B $prof.cache.tmp-*;"
	start_requests 4
	want_calls "the -F calls after the restart" ""
	reads "$d/boot.img" && pass "after the restart its disk is readable" || fail "after the restart its disk is not readable"
	reads "$d/other.dat" && fail "after the restart another file is readable" || pass "after the restart another file is denied"

	# Each change that matters compiles again, and takes effect.
	mkdir -p "$AADIR/abstractions/svirt-qemu.d"
	echo "  \"$d/extra.dat\" r," >"$AADIR/abstractions/svirt-qemu.d/startcost"
	helper 4 -r -u "$prof"
	want_calls "an abstraction changed" "*-Q -K -S*"
	reads "$d/extra.dat" && pass "the abstraction's new rule applies" || fail "the abstraction's new rule does not apply (stale policy)"
	rm -f "$AADIR/abstractions/svirt-qemu.d/startcost"
	helper 4 -r -u "$prof"
	want_calls "the abstraction changed back" "*-Q -K -S*"
	reads "$d/extra.dat" && fail "the removed abstraction rule still applies (stale policy)" || pass "the removed abstraction rule is gone"
	echo "  \"$d/other.dat\" r," >"$PDIR/$prof.override"
	helper 4 -r -u "$prof"
	want_calls "the override changed" "*-Q -K -S*"
	reads "$d/other.dat" && pass "the override applies" || fail "the override does not apply (stale policy)"
	rm -f "$PDIR/$prof.override"
	live 4 "$d/new.img:raw" >"$W/startcost-new.xml"
	"$H" -r -u "$prof" <"$W/startcost-new.xml" >/dev/null 2>&1
	want_calls ".files changed (a new disk)" "*-Q -K -S*"
	reads "$d/new.img" && pass "the new disk is readable" || fail "the new disk is not readable (stale policy)"
	helper 4 -r -u "$prof"
	want_calls "back to the old definition" "*-Q -K -S*"
	reads "$d/new.img" && fail "the removed disk is still readable (stale policy)" || pass "the removed disk is denied again"
	touch "$wrap"
	helper 4 -r -u "$prof"
	want_calls "the parser changed (its file)" "*-Q -K -S*"
	# The profile file itself, as when it is made again from a changed template.
	mkimg "$d/tmpl.dat" raw
	sed -i '$ d' "$PDIR/$prof" && printf '  "%s" r,\n}\n' "$d/tmpl.dat" >>"$PDIR/$prof"
	helper 4 -r -u "$prof"
	want_calls "the profile file changed (a new template)" "*-Q -K -S*"
	reads "$d/tmpl.dat" && pass "the profile file's new rule applies" || fail "the profile file's new rule does not apply (stale policy)"

	# svirt precompile after a parser change: the next start compiles nothing.
	touch "$wrap"
	mkdir -p "$defs/qemu"
	live 4 >"$defs/qemu/vm-startcost.xml"
	out=$("$SVIRT" precompile --libvirt-config "$defs" --libvirt-state "$W/startcost-run" 2>&1)
	[[ $out == *"vm-startcost"*"compiled"* ]] && pass "svirt precompile compiled it again: $(echo "$out" | tail -n 1)" ||
		fail "svirt precompile: $out"
	calls >/dev/null
	helper 5 -r -u "$prof"
	want_calls "the start after svirt precompile" "-p $prof;--print-cache-dir;-r -B $prof.cache.tmp-*;"
	reads "$d/boot.img" && pass "and its disk is readable" || fail "after precompile its disk is not readable"

	helper 5 -D -u "$prof"
	umount /usr/sbin/apparmor_parser || fail "cannot unwrap apparmor_parser"
	rm -f "$PDIR/$prof" "$PDIR/$prof".*
}

# =================================================================== 5 qemu ==
test_qemu() { # TAG (qemu | libvirt-qemu)
	local tag=$1 uuid prof xml d=$W/$1 other qpid spid rc i
	uuid=$(new_uuid)
	prof=libvirt-$uuid
	xml=$W/$tag.xml
	other=$W/othervm/$tag-other.qcow2
	mkimg "$d/base.qcow2" qcow2
	mkimg "$d/vm.qcow2" qcow2 "$d/base.qcow2"
	mkimg "$other" qcow2
	if [ "$BREAK" = qemu ]; then
		info "BREAK=qemu: the other VM's disk is in this VM's definition too"
		domain_xml "vm-$tag" "$uuid" "$d/vm.qcow2:qcow2" "$other:qcow2" >"$xml"
	else
		domain_xml "vm-$tag" "$uuid" "$d/vm.qcow2:qcow2" >"$xml"
	fi
	local qemu=(qemu-system-x86_64 -machine none -nodefaults -no-user-config -display none
		-name "guest=vm-$tag,debug-threads=on" -uuid "$uuid")
	dmesg_mark

	# a) its own disk
	"$SVIRT" exec --domain "$xml" --helper "$H" -- "${qemu[@]}" \
		-drive "file=$d/vm.qcow2,if=none,id=d0,format=qcow2" \
		</dev/null >"$W/$tag.log" 2>"$W/$tag.err" &
	spid=$!
	qpid=""
	for ((i = 0; i < 150; i++)); do
		qpid=$(pgrep -P "$spid" 2>/dev/null | head -1)
		if [ -n "$qpid" ] && ls -l "/proc/$qpid/fd" 2>/dev/null | grep -q -- "-> $d/vm.qcow2\$"; then
			break
		fi
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.2
	done
	save_profile "$prof" "$tag"
	if [ -n "$qpid" ] && ls -l "/proc/$qpid/fd" 2>/dev/null | grep -q -- "-> $d/vm.qcow2\$"; then
		pass "QEMU (pid $qpid) started under svirt exec and holds its disk $d/vm.qcow2 open"
		ls -l "/proc/$qpid/fd" 2>/dev/null | grep -q -- "-> $d/base.qcow2\$" &&
			pass "QEMU holds its backing file open (chain from the qcow2 header)" ||
			fail "QEMU does not hold $d/base.qcow2 open"
		local l
		l=$("$SVIRT" label "$qpid" 2>&1)
		[ "$l" = "$prof (enforce)" ] && pass "svirt label $qpid: $l" || fail "svirt label $qpid: '$l', want '$prof (enforce)'"
		"$SVIRT" status | grep -Eq "^$prof +enforce +- +([0-9 ]* )?$qpid( |\$)" &&
			pass "svirt status lists QEMU under $prof" || fail "svirt status: $("$SVIRT" status 2>&1 | tr '\n' '|')"
	else
		fail "QEMU did not start with its own disk: $(tr '\n' ' ' <"$W/$tag.err")"
	fi
	kill -TERM "$spid" 2>/dev/null # svirt exec forwards it to QEMU
	wait "$spid"
	rc=$?
	if grep -q 'terminating on signal 15' "$W/$tag.err"; then
		pass "SIGTERM to svirt exec stopped QEMU (rc $rc)"
	else
		fail "QEMU did not stop cleanly on SIGTERM (rc $rc): $(tr '\n' ' ' <"$W/$tag.err")"
	fi
	loaded "$prof" && fail "$prof still loaded after svirt exec exited" || pass "svirt exec unloaded $prof at exit"

	# b) the same VM given another VM's disk
	"$SVIRT" exec --domain "$xml" --helper "$H" -- "${qemu[@]}" \
		-drive "file=$other,if=none,id=d0,format=qcow2" \
		</dev/null >"$W/$tag-other.log" 2>"$W/$tag-other.err" &
	spid=$!
	for ((i = 0; i < 100; i++)); do kill -0 "$spid" 2>/dev/null || break; sleep 0.2; done
	if kill -0 "$spid" 2>/dev/null; then
		kill -TERM "$spid"
		wait "$spid"
		fail "QEMU kept running with another VM's disk ($other)"
	else
		wait "$spid"
		rc=$?
		if [ "$rc" != 0 ] && grep -q 'Permission denied' "$W/$tag-other.err"; then
			pass "another VM's disk refused (rc $rc): $(grep -m1 'Permission denied' "$W/$tag-other.err")"
		else
			fail "another VM's disk: rc $rc, stderr: $(tr '\n' ' ' <"$W/$tag-other.err")"
		fi
	fi
	if denied_for "$prof" "$other"; then
		pass "dmesg: $(aa_lines "$prof" | grep -F "name=\"$other\"" | grep -o 'apparmor="DENIED".*requested_mask="[a-z]*"' | head -1)"
	else
		fail "no apparmor=\"DENIED\" line naming profile=\"$prof\" and $other in dmesg"
	fi
	local unexpected
	unexpected=$(aa_lines "$prof" | grep -vF "name=\"$other\"")
	[ -z "$unexpected" ] && pass "no other DENIED lines for $prof" ||
		fail "unexpected DENIED lines: $(echo "$unexpected" | sed -E 's/.*(operation=)/\1/' | head -5)"
}

# ============================================================== 7 untrusted ==
# Issue 10: paths that a VM could have written itself (image headers) are not
# trusted, and no tree grant covers a system location.
test_untrusted() {
	local d=$W/untrusted uuid prof xml out rc a b l unexpected
	# a) VM A's writable top image is a qcow2 whose header names VM B's disk
	#    as its external data file (data_file_raw: A's guest sees B's bytes).
	a=$d/a.qcow2
	b=$W/vmb/disk.img
	mkdir -p "$d" "$W/vmb"
	out=$(qemu-img create -q -f qcow2 -o "data_file=$b,data_file_raw=on" "$a" 1M 2>&1)
	rc=$?
	# (qemu-img creates B's file; B's data is written after)
	printf 'SVIRT-KT VM B DATA\n' | dd of="$b" conv=notrunc status=none 2>/dev/null
	l=$(qemu-img info "$a" 2>/dev/null | sed -n 's/^ *data file: //p')
	if [ "$rc" = 0 ] && [ "$l" = "$b" ]; then
		pass "qemu-img $(qemu-img --version | sed -n '1s/.*version \([^ ]*\).*/\1/p'): A's header names B's disk as its data file ($l)"
	else
		fail "qemu-img cannot make a qcow2 with data_file=$b (rc $rc, data file '$l'): $out"
	fi
	qemu-img convert -O raw "$a" "$d/a-view.raw" 2>/dev/null
	l=$(head -c 18 "$d/a-view.raw" 2>/dev/null)
	[ "$l" = "SVIRT-KT VM B DATA" ] && pass "unconfined, A's virtual disk reads B's data ('$l')" ||
		fail "A's virtual disk does not show B's data (got '$l')"
	rm -f "$d/a-view.raw"

	uuid=$(new_uuid)
	prof=libvirt-$uuid
	xml=$W/untrusted-a.xml
	domain_xml vm-untrusted-a "$uuid" "$a:qcow2" >"$xml"
	"$H" -c -u "$prof" <"$xml" >"$W/untrusted-a.helper.out" 2>&1
	rc=$?
	save_profile "$prof" untrusted-a
	if [ "$rc" = 0 ] && loaded "$prof"; then
		pass "virt-aa-helper -c loaded $prof for A (no <dataStore>)"
	else
		fail "virt-aa-helper -c for A: rc $rc, loaded: $(loaded "$prof" && echo yes || echo no); $(tr '\n' ' ' <"$W/untrusted-a.helper.out")"
	fi
	l=$(grep -F ': warning: ' "$W/untrusted-a.helper.out" | grep -F "$b")
	[ -n "$l" ] && pass "the helper warned: $(echo "$l" | head -1)" ||
		fail "no helper warning names the data file $b; the helper said: $(tr '\n' ' ' <"$W/untrusted-a.helper.out")"
	if [ -f "$PDIR/$prof.files" ] && ! grep -qF "$b" "$PDIR/$prof.files"; then
		pass "A's .files has no rule for B's disk: $(grep -F "$d/" "$PDIR/$prof.files" | sed 's/^ *//' | tr '\n' ' ')"
	else
		fail "A's .files grants B's disk: $(grep -F "$b" "$PDIR/$prof.files" 2>&1 | sed 's/^ *//' | tr '\n' ' ')"
	fi
	dmesg_mark
	if probe_start untrusted-a "$xml"; then
		pass "confined driver under $prof (pid $PROBE_PID)"
		expect OK "rw $a" "A reads+writes its own top image"
		expect EACCES "r $b" "A reads B's disk (its header's data file)"
		expect EACCES "w $b" "A opens B's disk for writing"
		denied_for "$prof" "$b" && pass "dmesg: $(aa_lines "$prof" | grep -F "name=\"$b\"" | grep -o 'apparmor="DENIED".*requested_mask="[a-z]*"' | head -1)" ||
			fail "no apparmor=\"DENIED\" line naming profile=\"$prof\" and $b in dmesg"
		unexpected=$(aa_lines "$prof" | grep -vF "name=\"$b\"")
		[ -z "$unexpected" ] && pass "no other DENIED lines for $prof" ||
			fail "unexpected DENIED lines: $(echo "$unexpected" | sed -E 's/.*(operation=)/\1/' | head -5)"
	else
		fail "svirt exec did not start the confined driver for A"
	fi
	probe_stop

	# b) a 9p share of / is refused: no profile, nothing loaded, no VM
	uuid=$(new_uuid)
	prof=libvirt-$uuid
	xml=$W/untrusted-root.xml
	domain_xml vm-share-root "$uuid" "fs=/:root" >"$xml"
	out=$("$H" -c -u "$prof" <"$xml" 2>&1)
	rc=$?
	save_profile "$prof" untrusted-root
	[ "$rc" != 0 ] && pass "virt-aa-helper -c refuses a share of / (rc $rc): $(echo "$out" | head -1)" ||
		fail "virt-aa-helper -c granted a share of / (rc 0): $(grep -E '^ *"/(\*\*)?" ' "$PDIR/$prof.files" 2>&1 | sed 's/^ *//' | tr '\n' ' ')"
	[[ "$out" == *refused* ]] && pass "its error says 'refused'" || fail "its error does not say 'refused': $(echo "$out" | tr '\n' ' ')"
	if [ ! -e "$PDIR/$prof" ] && [ ! -e "$PDIR/$prof.files" ] && ! loaded "$prof"; then
		pass "no $prof, no .files written, nothing loaded"
	else
		fail "after the refusal: profile file $([ -e "$PDIR/$prof" ] && echo exists || echo absent), .files $([ -e "$PDIR/$prof.files" ] && echo exists || echo absent), loaded: $(loaded "$prof" && echo yes || echo no)"
	fi
	loaded "$prof" && "$H" -D -u "$prof" >/dev/null 2>&1
	rm -f "$PDIR/$prof" "$PDIR/$prof.files" "$PDIR/$prof.lock"
	out=$("$SVIRT" exec --domain "$xml" --helper "$H" -- /bin/echo SVIRT-KT-RAN 2>&1)
	rc=$?
	if [ "$rc" != 0 ] && [[ "$out" != *SVIRT-KT-RAN* ]] && ! loaded "$prof"; then
		pass "svirt exec does not run the VM (rc $rc): $(echo "$out" | head -1)"
	else
		fail "svirt exec with a share of /: rc $rc, the command ran: $([[ "$out" == *SVIRT-KT-RAN* ]] && echo yes || echo no), loaded: $(loaded "$prof" && echo yes || echo no)"
	fi
	loaded "$prof" && "$H" -D -u "$prof" >/dev/null 2>&1

	# the control: a share of a fresh directory under /srv works, and
	# grants that tree only
	mkdir -p "$W/share" "$W/other"
	echo shared >"$W/share/file"
	echo other >"$W/other/file"
	uuid=$(new_uuid)
	prof=libvirt-$uuid
	xml=$W/untrusted-share.xml
	domain_xml vm-share "$uuid" "fs=$W/share:share" >"$xml"
	out=$("$H" -c -u "$prof" <"$xml" 2>&1)
	rc=$?
	save_profile "$prof" untrusted-share
	if [ "$rc" = 0 ] && loaded "$prof" && grep -qF "\"$W/share/**\"" "$PDIR/$prof.files"; then
		pass "virt-aa-helper -c grants the share of $W/share: $(grep -F "$W/share/" "$PDIR/$prof.files" | sed 's/^ *//' | tr '\n' ' ')"
	else
		fail "virt-aa-helper -c for a share of $W/share: rc $rc, loaded: $(loaded "$prof" && echo yes || echo no); $(echo "$out" | tr '\n' ' ')"
	fi
	dmesg_mark
	if probe_start untrusted-share "$xml"; then
		pass "confined driver under $prof (pid $PROBE_PID)"
		expect OK "cat $W/share/file" "read a file in the share"
		expect OK "rw $W/share/file" "read+write a file in the share"
		expect EACCES "cat $W/other/file" "read a file in the sibling $W/other"
		denied_for "$prof" "$W/other/file" && pass "dmesg: apparmor=\"DENIED\" profile=\"$prof\" for $W/other/file" ||
			fail "no apparmor=\"DENIED\" line naming profile=\"$prof\" and $W/other/file in dmesg"
	else
		fail "svirt exec did not start the confined driver for the share of $W/share"
	fi
	probe_stop
}

# ================================================================ explain ==
# svirt explain reads the guest's kernel log itself. The rig's guest runs no
# journald (its PID 1 is the rig's script) and no auditd, so this is the
# dmesg fallback: the denials reach the ring buffer through printk.
test_explain() {
	local d=$W/explain uuid prof defs=$W/explain-root xml out rc want
	uuid=$(new_uuid)
	prof=libvirt-$uuid
	mkimg "$d/disk.img" raw
	mkimg "$d/ro.img" raw
	mkimg "$d/seed data.bin" raw # a space: the kernel logs the name in hex
	# libvirt's persistent definition, in a scratch definitions root.
	mkdir -p "$defs/etc/libvirt/qemu"
	xml=$defs/etc/libvirt/qemu/vm-explain.xml
	domain_xml vm-explain "$uuid" "$d/disk.img:raw" "$d/ro.img:raw:ro" >"$xml"
	probe_start explain "$xml" || { fail "the confined driver did not start"; probe_stop; return; }
	expect OK "r $d/disk.img" "own disk read"
	expect EACCES "r $d/seed data.bin" "a file outside the definition"
	expect EACCES "w $d/ro.img" "write to the <readonly/> disk"
	sleep 0.5
	out=$("$SVIRT" explain --since '2 min ago' --definitions-root "$defs" 2>"$W/explain.err")
	rc=$?
	probe_stop
	printf '%s\n' "$out" | sed 's/^/  | /'
	[ -s "$W/explain.err" ] && sed 's/^/  ! /' "$W/explain.err"
	[ "$rc" = 0 ] && pass "svirt explain --since '2 min ago' exits 0" || fail "svirt explain: rc $rc"
	want="VM vm-explain ($prof): "
	printf '%s\n' "$out" | grep -qF "${want}dd (pid " && pass "names the VM: '${want}dd (pid …'" ||
		fail "no line starting '${want}dd (pid '"
	want="was denied open 'r' on $d/seed data.bin"
	printf '%s\n' "$out" | grep -qF "$want" && pass "the denial: '$want' (hex name decoded)" ||
		fail "no '$want'"
	want="  fix: svirt allow --domain $xml '$d/seed data.bin'"
	printf '%s\n' "$out" | grep -qxF "$want" && pass "the fix: '$want'" || fail "no line '$want'"
	want="  fix: remove <readonly/> from disk vdb in the definition"
	printf '%s\n' "$out" | grep -qxF "$want" && pass "the write to the read-only disk: '$want'" ||
		fail "no line '$want'"
	printf '%s\n' "$out" | grep -q "from dmesg\$" && pass "read from dmesg (no journald in the rig's guest)" ||
		fail "not read from dmesg: $(printf '%s\n' "$out" | tail -n 1)"
	# Control: the same log, from a time after the denials, has none of them.
	out=$("$SVIRT" explain --since "@$(($(date +%s) + 60))" --definitions-root "$defs" 2>&1)
	if printf '%s\n' "$out" | grep -qF "$prof"; then
		fail "--since in the future still shows $prof"
	else
		pass "--since after the denials shows none of them ('$(printf '%s\n' "$out" | tail -n 1)')"
	fi
	# And with the domain given: the rules svirt generates, the same fix.
	out=$("$SVIRT" explain --since '2 min ago' --domain "$xml" --json 2>/dev/null)
	printf '%s\n' "$out" | grep -qF "\"fix\": \"svirt allow --domain $xml '$d/seed data.bin'\"" &&
		pass "--domain --json: the same fix" || fail "--domain --json: no such fix in $out"
}

# ================================================================ 8 package ==
# The Debian package of scripts/package.sh (target/debian/svirt_*.deb),
# installed and removed with dpkg as an operator would, over Debian's
# libvirt-daemon: the diversion, svirt's helper profile in place of Debian's,
# the apt hook, and everything given back on removal.
PKG_HELPER=/usr/lib/libvirt/virt-aa-helper
PKG_DEB_PROFILE=$AADIR/usr.lib.libvirt.virt-aa-helper
PKG_OWN_PROFILE=$AADIR/svirt.virt-aa-helper
PKG_DISABLE=$AADIR/disable/usr.lib.libvirt.virt-aa-helper
PKG_MARKER=/var/lib/svirt/package/disabled-distrib-helper-profile
PKG_CONF=/etc/svirt/virt-aa-helper.conf

# Which profile named virt-aa-helper confines the binary at $PKG_HELPER
# (svirt's helper must be there): svirt's profile lets it read
# /etc/svirt/virt-aa-helper.conf, Debian's denies that, and an unreadable
# configuration fails every call. Prints svirt, debian or "other: ...".
# The call is a dry run (-d -c): it prints the profile and changes nothing.
helper_profile_kind() {
	local out rc
	out=$("$PKG_HELPER" -d -c -u "$PKG_PROF" <"$PKG_XML" 2>&1)
	rc=$?
	if [ "$rc" = 0 ] && [[ "$out" == *"$W/package/disk.qcow2"* ]]; then
		echo svirt
	elif [ "$rc" != 0 ] && [[ "$out" == *"$PKG_CONF"*"ermission denied"* ]]; then
		# (root: only AppArmor can refuse it)
		echo debian
	else
		echo "other: rc $rc, $(echo "$out" | head -3 | tr '\n' ' ')"
	fi
}
# The same question for the profile loaded now, whatever binary is at
# $PKG_HELPER: svirt's helper from the package is bind-mounted over it.
loaded_helper_profile_kind() {
	mount --bind "$PKG_ROOT$PKG_HELPER" "$PKG_HELPER" || { echo "other: bind-mount failed"; return; }
	helper_profile_kind
	umount "$PKG_HELPER"
}
diversion() { dpkg-divert --list "$PKG_HELPER"; }
sha() { sha256sum <"$1" 2>/dev/null | cut -d' ' -f1; }

test_package() {
	local deb out rc sum0 k hook f leftover broken
	deb=$(ls -t "$REPO"/target/debian/svirt_*.deb 2>/dev/null | head -1)
	if [ -z "$deb" ]; then
		fail "no target/debian/svirt_*.deb (scripts/package.sh builds it; scripts/kernel-tests.sh runs it)"
		return
	fi
	if ! dpkg-query -W -f='${Status}' libvirt-daemon 2>/dev/null | grep -q 'install ok installed' ||
		[ ! -f "$PKG_DEB_PROFILE" ]; then
		fail "Debian's libvirt-daemon and its helper profile are not installed (scripts/install-deps.sh)"
		return
	fi
	# A clean start: the helper is libvirt's, not diverted, no mount over it,
	# no svirt file from the other sections or the README's manual steps.
	while mountpoint -q "$PKG_HELPER"; do umount "$PKG_HELPER" || break; done
	[ -z "$(diversion)" ] || { fail "$PKG_HELPER is diverted already: $(diversion)"; return; }
	rm -f "$AADIR/abstractions/svirt-qemu" "$PKG_OWN_PROFILE" "$PKG_DISABLE"
	rm -rf /var/lib/svirt
	mkdir -p "$W/package"
	PKG_ROOT=$W/package/root
	rm -rf "$PKG_ROOT"
	dpkg-deb -x "$deb" "$PKG_ROOT" || { fail "dpkg-deb -x $deb"; return; }
	mkimg "$W/package/disk.qcow2" qcow2
	PKG_PROF=libvirt-$(new_uuid)
	PKG_XML=$W/package/domain.xml
	domain_xml vm-package "${PKG_PROF#libvirt-}" "$W/package/disk.qcow2:qcow2" >"$PKG_XML"
	mkdir -p /etc/svirt && echo "mode = safe" >"$PKG_CONF"
	# Skip man-db's index rebuild after each dpkg run (minutes under TCG);
	# man -w below searches the directories themselves.
	rm -f /var/lib/man-db/auto-update
	if [ "$BREAK" = package ]; then
		info "BREAK=package: postrm repacked without its diversion removal"
		rm -rf "$W/package/broken"
		dpkg-deb -R "$deb" "$W/package/broken" &&
			sed -i 's/^\([[:space:]]*\)remove_diversion$/\1: # BREAK=package/' "$W/package/broken/DEBIAN/postrm" &&
			dpkg-deb --root-owner-group -b "$W/package/broken" "$W/package/svirt-broken.deb" >/dev/null &&
			deb=$W/package/svirt-broken.deb || { fail "cannot repack the package"; return; }
	fi

	# A host with libvirt: Debian's helper profile is loaded.
	apparmor_parser -r "$PKG_DEB_PROFILE" >"$W/package/parser.log" 2>&1 ||
		{ fail "cannot load $PKG_DEB_PROFILE: $(cat "$W/package/parser.log")"; return; }
	sum0=$(sha "$PKG_HELPER")
	pass "before: libvirt $(dpkg-query -W -f='${Version}' libvirt-daemon)'s helper, sha256 ${sum0:0:16}…, $(grep '^virt-aa-helper ' "$SFS/profiles") from $PKG_DEB_PROFILE"
	k=$(loaded_helper_profile_kind)
	[ "$k" = debian ] && pass "the check tells Debian's profile: it denies svirt's helper its configuration" ||
		fail "with Debian's profile loaded, the check says '$k', want debian"

	# ---- install
	out=$(dpkg -i "$deb" 2>&1)
	rc=$?
	[ "$rc" = 0 ] && pass "dpkg -i ${deb##*/} (rc 0)" || fail "dpkg -i ${deb##*/}: rc $rc: $(echo "$out" | tail -5 | tr '\n' ' ')"
	info "$(echo "$out" | grep -i -e divert -e warning | tr '\n' ' ')"
	[ "$(dpkg-query -W -f='${Status}' svirt 2>/dev/null)" = "install ok installed" ] &&
		pass "dpkg-query: svirt $(dpkg-query -W -f='${Version}' svirt) install ok installed" ||
		fail "svirt's status: '$(dpkg-query -W -f='${Status}' svirt 2>&1)'"
	[ "$(diversion)" = "diversion of $PKG_HELPER to $PKG_HELPER.distrib by svirt" ] &&
		pass "dpkg-divert --list: $(diversion)" || fail "dpkg-divert --list: '$(diversion)'"
	[ "$(sha "$PKG_HELPER.distrib")" = "$sum0" ] && pass "libvirt's helper is kept as $PKG_HELPER.distrib, byte for byte" ||
		fail "$PKG_HELPER.distrib: sha256 '$(sha "$PKG_HELPER.distrib")', want $sum0"
	if [ ! -L "$PKG_HELPER" ] && cmp -s "$PKG_HELPER" "$PKG_ROOT$PKG_HELPER"; then
		pass "$PKG_HELPER is svirt's helper (a regular file, byte for byte the package's)"
	else
		fail "$PKG_HELPER is not svirt's helper: $(ls -l "$PKG_HELPER")"
	fi
	[ -L "$PKG_DISABLE" ] && [ "$(readlink "$PKG_DISABLE")" = "$PKG_DEB_PROFILE" ] && [ -f "$PKG_MARKER" ] &&
		pass "Debian's profile is disabled for the boot-time loader ($PKG_DISABLE -> $(readlink "$PKG_DISABLE")), marker written" ||
		fail "disable link: '$(ls -l "$PKG_DISABLE" 2>&1)', marker: $([ -f "$PKG_MARKER" ] && echo yes || echo no)"
	[ "$(mode_of virt-aa-helper)" = enforce ] && pass "$SFS/profiles: virt-aa-helper (enforce)" ||
		fail "virt-aa-helper in $SFS/profiles: '$(grep '^virt-aa-helper ' "$SFS/profiles")'"
	k=$(helper_profile_kind)
	[ "$k" = svirt ] && pass "it is svirt's profile: a dry run through $PKG_HELPER (-d -c -u $PKG_PROF) reads $PKG_CONF and prints the profile" ||
		fail "after install the loaded helper profile is '$k', want svirt's"
	out=$(/usr/bin/svirt --version 2>&1)
	[ "$out" = "svirt $(dpkg-query -W -f='${Version}' svirt)" ] && pass "/usr/bin/svirt --version: $out" ||
		fail "/usr/bin/svirt --version: '$out'"
	out=$(man -w svirt 2>&1; man -w svirt-attach-disk 2>&1; man -w 8 virt-aa-helper 2>&1)
	[ "$(echo "$out" | grep -c '^/usr/share/man/man[18]/.*\.gz$')" = 3 ] && pass "man -w: $(echo "$out" | tr '\n' ' ')" ||
		fail "man -w svirt, svirt-attach-disk, 8 virt-aa-helper: $(echo "$out" | tr '\n' ' ')"
	for f in /usr/share/bash-completion/completions/svirt /usr/share/zsh/vendor-completions/_svirt \
		/usr/share/fish/vendor_completions.d/svirt.fish /usr/share/svirt/policy/TEMPLATE.qemu \
		"$AADIR/abstractions/svirt-qemu"; do
		[ -s "$f" ] || fail "$f is missing or empty"
	done
	pass "completions, TEMPLATE.qemu and abstractions/svirt-qemu installed"

	# ---- libvirt's upgrade: its postinst (dh_apparmor) runs exactly this,
	# which apparmor_parser skips while the disable link exists
	apparmor_parser -r -T -W "$PKG_DEB_PROFILE" >"$W/package/parser.log" 2>&1
	rc=$?
	k=$(helper_profile_kind)
	[ "$rc" = 0 ] && [ "$k" = svirt ] &&
		pass "libvirt's postinst reload (apparmor_parser -r -T -W) leaves svirt's profile loaded: $(tr '\n' ' ' <"$W/package/parser.log")" ||
		fail "after libvirt's postinst reload (rc $rc: $(tr '\n' ' ' <"$W/package/parser.log")) the profile is '$k', want svirt's"
	# Anything that loads Debian's profile past the disable link (here: from
	# stdin) replaces svirt's until the apt hook runs after the next dpkg run.
	apparmor_parser -r <"$PKG_DEB_PROFILE" >"$W/package/parser.log" 2>&1
	k=$(helper_profile_kind)
	[ "$k" = debian ] && pass "Debian's profile loaded from stdin (past the disable link) replaces svirt's" ||
		fail "after loading Debian's profile from stdin the check says '$k', want debian: $(tr '\n' ' ' <"$W/package/parser.log")"
	hook=$(apt-config dump DPkg::Post-Invoke | sed -n 's/^DPkg::Post-Invoke:: "\(.*\)";$/\1/p' | sed 's/\\"/"/g' | grep svirt)
	if [ -n "$hook" ] && sh -c "$hook"; then
		pass "apt's DPkg::Post-Invoke hook from the package ran: $hook"
	else
		fail "no svirt DPkg::Post-Invoke hook in apt-config dump, or it failed: '$hook'"
	fi
	k=$(helper_profile_kind)
	[ "$k" = svirt ] && pass "the apt hook loaded svirt's profile again" || fail "after the apt hook the profile is '$k', want svirt's"

	# ---- the same package again (an upgrade in place): idempotent
	out=$(dpkg -i "$deb" 2>&1)
	rc=$?
	[ "$rc" = 0 ] && [ "$(diversion)" = "diversion of $PKG_HELPER to $PKG_HELPER.distrib by svirt" ] &&
		[ "$(sha "$PKG_HELPER.distrib")" = "$sum0" ] && [ "$(helper_profile_kind)" = svirt ] &&
		pass "dpkg -i again: rc 0, one diversion, libvirt's helper kept, svirt's profile loaded" ||
		fail "dpkg -i again: rc $rc, diversion '$(diversion)', .distrib sha256 $(sha "$PKG_HELPER.distrib"): $(echo "$out" | tail -3 | tr '\n' ' ')"
	dpkg -L svirt >"$W/package/files.list" 2>/dev/null

	# ---- remove
	out=$(dpkg -r svirt 2>&1)
	rc=$?
	[ "$rc" = 0 ] && pass "dpkg -r svirt (rc 0)" || fail "dpkg -r svirt: rc $rc: $(echo "$out" | tail -5 | tr '\n' ' ')"
	[ -z "$(diversion)" ] && pass "the diversion is gone" || fail "after dpkg -r: $(diversion)"
	[ "$(sha "$PKG_HELPER")" = "$sum0" ] && [ ! -e "$PKG_HELPER.distrib" ] &&
		pass "$PKG_HELPER is libvirt's again, byte for byte (sha256 ${sum0:0:16}…)" ||
		fail "$PKG_HELPER sha256 '$(sha "$PKG_HELPER")', want $sum0; .distrib $([ -e "$PKG_HELPER.distrib" ] && echo remains || echo gone)"
	[ ! -e "$PKG_DISABLE" ] && [ ! -L "$PKG_DISABLE" ] && [ ! -e "$PKG_MARKER" ] &&
		pass "the disable link svirt made and its marker are gone" ||
		fail "after dpkg -r: disable link '$(ls -l "$PKG_DISABLE" 2>&1)', marker $([ -e "$PKG_MARKER" ] && echo remains || echo gone)"
	[ ! -e "$PKG_OWN_PROFILE" ] && [ ! -e /usr/bin/svirt ] && pass "svirt's helper profile and /usr/bin/svirt are gone" ||
		fail "after dpkg -r: $(ls "$PKG_OWN_PROFILE" /usr/bin/svirt 2>/dev/null | tr '\n' ' ')remain"
	[ "$(mode_of virt-aa-helper)" = enforce ] && k=$(loaded_helper_profile_kind) && [ "$k" = debian ] &&
		pass "virt-aa-helper (enforce) is Debian's profile again" ||
		fail "after dpkg -r: virt-aa-helper '$(mode_of virt-aa-helper)', the check says '${k:-}', want Debian's"

	# ---- purge: nothing of svirt's is left
	out=$(dpkg -P svirt 2>&1)
	rc=$?
	[ "$rc" = 0 ] && pass "dpkg -P svirt (rc 0)" || fail "dpkg -P svirt: rc $rc: $(echo "$out" | tail -5 | tr '\n' ' ')"
	[ -z "$(dpkg-query -W -f='${Status}' svirt 2>/dev/null | grep -v 'not-installed')" ] &&
		pass "dpkg knows svirt no more" || fail "svirt's status after purge: $(dpkg-query -W -f='${Status}' svirt 2>&1)"
	leftover=""
	while read -r f; do
		[ "$f" = "$PKG_HELPER" ] && continue # libvirt's again
		[ -d "$f" ] && [ ! -L "$f" ] && continue # directories shared with other packages
		[ -e "$f" ] || [ -L "$f" ] && leftover+=" $f"
	done <"$W/package/files.list"
	for f in /var/lib/svirt "$PKG_DISABLE" "$PKG_HELPER.distrib" /usr/share/svirt /usr/lib/svirt; do
		[ -e "$f" ] || [ -L "$f" ] && leftover+=" $f"
	done
	[ -s "$W/package/files.list" ] && [ -z "$leftover" ] &&
		pass "no file of the package's $(wc -l <"$W/package/files.list") paths remains, nor /var/lib/svirt" ||
		fail "after purge, left over:${leftover:- (no dpkg -L list)}"
	[ "$(sha "$PKG_HELPER")" = "$sum0" ] && [ -z "$(diversion)" ] &&
		pass "after purge: libvirt's helper, no diversion" || fail "after purge: sha256 $(sha "$PKG_HELPER"), diversion '$(diversion)'"

	# ---- a second install after the purge, and its removal
	out=$(dpkg -i "$deb" 2>&1)
	rc=$?
	k=$(helper_profile_kind)
	[ "$rc" = 0 ] && [ -n "$(diversion)" ] && [ -L "$PKG_DISABLE" ] && [ "$k" = svirt ] &&
		pass "a second install: rc 0, diverted, Debian's profile disabled, svirt's loaded" ||
		fail "second install: rc $rc, diversion '$(diversion)', profile '$k': $(echo "$out" | tail -3 | tr '\n' ' ')"
	out=$(dpkg -P svirt 2>&1)
	rc=$?
	[ "$rc" = 0 ] && [ -z "$(diversion)" ] && [ "$(sha "$PKG_HELPER")" = "$sum0" ] && [ ! -L "$PKG_DISABLE" ] &&
		k=$(loaded_helper_profile_kind) && [ "$k" = debian ] &&
		pass "its purge: rc 0, libvirt's helper back byte for byte, Debian's profile loaded" ||
		fail "second purge: rc $rc, diversion '$(diversion)', sha256 $(sha "$PKG_HELPER"), profile '${k:-}': $(echo "$out" | tail -3 | tr '\n' ' ')"

	# an administrator's own disable link is kept
	ln -s "$PKG_DEB_PROFILE" "$PKG_DISABLE"
	dpkg -i "$deb" >/dev/null 2>&1 && dpkg -P svirt >/dev/null 2>&1
	rc=$?
	[ "$rc" = 0 ] && [ -L "$PKG_DISABLE" ] && [ -z "$(diversion)" ] && ! loaded virt-aa-helper &&
		pass "an administrator's disable link survives install and purge; with Debian's profile disabled, no virt-aa-helper profile stays loaded" ||
		fail "with an administrator's disable link: rc $rc, link $([ -L "$PKG_DISABLE" ] && echo kept || echo removed), diversion '$(diversion)', loaded: $(loaded virt-aa-helper && echo yes || echo no)"
	rm -f "$PKG_DISABLE"

	# put back what the other sections expect
	rm -f "$PKG_CONF"
	touch /var/lib/man-db/auto-update
	while [ "$(diversion)" != "" ]; do dpkg-divert --package svirt --rename --remove "$PKG_HELPER" >/dev/null || break; done
}

# ================================================================ 9 audit ==
# Per-VM profiles left loaded by earlier tests (no process under them) would
# be stale-profile findings and undefined domains for gc: unload them first.
unload_stray_profiles() {
	local p
	for p in $(sed -n 's/^\(libvirt-[0-9a-f-]*\) (.*/\1/p' "$SFS/profiles"); do
		if grep -qs "^$p" /proc/[0-9]*/attr/apparmor/current; then
			info "leaving $p loaded: a process runs under it"
		else
			"$SVIRT" unload "$p" >/dev/null 2>&1 || info "cannot unload stray $p"
		fi
	done
}
# A type='qemu' domain with one raw disk: NAME UUID DISK [shareable]
audit_domain_xml() {
	echo "<domain type='qemu'><name>$1</name><uuid>$2</uuid><memory unit='KiB'>65536</memory>"
	echo "<os><type arch='x86_64'>hvm</type></os><devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
	echo "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$3'/>"
	echo "<target dev='vda' bus='virtio'/>${4:+<shareable/>}</disk></devices></domain>"
}
# Its live definition, as libvirt keeps it in /run/libvirt/qemu: RUNDIR NAME UUID DISK [shareable]
audit_domstatus() {
	local dir=$1
	shift
	{
		echo "<domstatus state='running' reason='booted' pid='1'><monitor path='/run/m.sock' type='unix'/>"
		audit_domain_xml "$@"
		echo "</domstatus>"
	} >"$dir/qemu/$1.xml"
}
# A fake QEMU: dash copied to .../qemu-system-x86_64, blocked reading a FIFO
# held open by this shell (no child process, so one kill stops it), with
# libvirt's -uuid and -name.  PROFILE "" = unconfined.  Sets FAKE_PID.
fake_qemu() { # PROFILE UUID NAME
	local argv=("$FAKE" -c 'read x' -uuid "$2" -name "guest=$3,debug-threads=on")
	if [ -n "$1" ]; then
		"$SVIRT" __exec-label "$1" -- "${argv[@]}" <&"$HOLD" >/dev/null 2>&1 &
	else
		"${argv[@]}" <&"$HOLD" >/dev/null 2>&1 &
	fi
	FAKE_PID=$!
}
label_is() { # PID WANT: waits for the exec to happen
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(cat "/proc/$1/attr/apparmor/current" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
test_audit() {
	local d=$W/audit ua ub uc pa pb pc rc kinds out
	mkdir -p "$d/run/qemu" "$d/etc/qemu" "$d/bin"
	unload_stray_profiles
	FAKE=$d/bin/qemu-system-x86_64
	cp /bin/dash "$FAKE"
	echo "  $FAKE rmix," >"$AADIR/abstractions/svirt-qemu.d/svirt-kernel-tests-audit"
	rm -f "$d/hold" && mkfifo "$d/hold" && exec {HOLD}<>"$d/hold"
	ua=$(new_uuid) ub=$(new_uuid) uc=$(new_uuid)
	mkimg "$d/shared.img" raw
	mkimg "$d/c.img" raw
	ln -s "$d/shared.img" "$d/link.img" # b names the shared disk through a link
	audit_domstatus "$d/run" vm-a "$ua" "$d/shared.img"
	audit_domstatus "$d/run" vm-b "$ub" "$d/link.img"
	audit_domstatus "$d/run" vm-c "$uc" "$d/c.img"
	local u
	audit_domain_xml vm-a "$ua" "$d/shared.img" >"$d/$ua.xml"
	audit_domain_xml vm-b "$ub" "$d/link.img" >"$d/$ub.xml"
	audit_domain_xml vm-c "$uc" "$d/c.img" >"$d/$uc.xml"
	for u in "$ua" "$ub" "$uc"; do
		if "$H" -c -u "libvirt-$u" <"$d/$u.xml" >"$d/helper.out" 2>&1 && loaded "libvirt-$u"; then
			pass "virt-aa-helper -c loaded libvirt-$u"
		else
			fail "virt-aa-helper -c libvirt-$u: $(tr '\n' ' ' <"$d/helper.out")"
		fi
	done
	fake_qemu "libvirt-$ua" "$ua" vm-a && pa=$FAKE_PID
	fake_qemu "libvirt-$ub" "$ub" vm-b && pb=$FAKE_PID
	fake_qemu "" "$uc" vm-c && pc=$FAKE_PID
	if label_is "$pa" "libvirt-$ua (enforce)" && label_is "$pb" "libvirt-$ub (enforce)" &&
		[ "$(readlink "/proc/$pa/exe")" = "$FAKE" ] && [ "$(cat "/proc/$pc/attr/apparmor/current")" = unconfined ]; then
		pass "fake QEMUs: $pa under libvirt-$ua, $pb under libvirt-$ub, $pc unconfined"
	else
		fail "fake QEMUs did not start as wanted: $pa '$(cat "/proc/$pa/attr/apparmor/current" 2>&1)', $pb '$(cat "/proc/$pb/attr/apparmor/current" 2>&1)', $pc '$(cat "/proc/$pc/attr/apparmor/current" 2>&1)'"
	fi

	local dirs=(--libvirt-config "$d/etc" --libvirt-state "$d/run")
	"$SVIRT" audit --json "${dirs[@]}" >"$d/audit1.json" 2>"$d/audit1.err"
	rc=$?
	"$SVIRT" audit "${dirs[@]}" >"$d/audit1.txt" 2>&1
	kinds=$(jq -r '[.findings[] | select(.note | not) | .kind] | join(" ")' "$d/audit1.json" 2>&1)
	if [ "$rc" = 1 ] && [ "$kinds" = "unconfined shared-disk" ]; then
		pass "svirt audit exits 1 with exactly: unconfined, shared-disk"
	else
		fail "svirt audit: rc $rc, findings '$kinds' (want 1, 'unconfined shared-disk'); $(tr '\n' ' ' <"$d/audit1.txt") $(cat "$d/audit1.err")"
	fi
	out=$(jq -r '.findings[] | select(.kind == "unconfined") | "\(.pids) \(.vms[0].uuid) \(.vms[0].name)"' "$d/audit1.json" 2>&1)
	[ "$out" = "[$pc] $uc vm-c" ] && pass "the unconfined finding names pid $pc and vm-c ($uc)" ||
		fail "the unconfined finding: '$out', want '[$pc] $uc vm-c'"
	out=$(jq -r '.findings[] | select(.kind == "shared-disk") | "\(.file) \([.vms[].uuid] | sort | join(","))"' "$d/audit1.json" 2>&1)
	local want_vms
	want_vms=$(printf '%s\n' "$ua" "$ub" | sort | paste -sd,)
	[ "$out" = "$d/shared.img $want_vms" ] && pass "the shared-disk finding names $d/shared.img and vm-a, vm-b" ||
		fail "the shared-disk finding: '$out', want '$d/shared.img $want_vms'"
	grep -q "^FINDING unconfined: QEMU process $pc of VM vm-c ($uc) runs unconfined" "$d/audit1.txt" &&
		grep -q "^  fix: " "$d/audit1.txt" && pass "the text names the VM, the pid and the fix" ||
		fail "text output: $(tr '\n' ' ' <"$d/audit1.txt")"

	# Positive control: the disk shareable in both, the unconfined QEMU gone.
	audit_domstatus "$d/run" vm-a "$ua" "$d/shared.img" shareable
	audit_domstatus "$d/run" vm-b "$ub" "$d/link.img" shareable
	kill "$pc" && wait "$pc" 2>/dev/null
	"$SVIRT" audit "${dirs[@]}" >"$d/audit2.txt" 2>&1
	rc=$?
	[ "$rc" = 0 ] && pass "svirt audit exits 0 once the disk is <shareable/> in both and the unconfined QEMU stopped" ||
		fail "svirt audit after the fix: rc $rc, $(tr '\n' ' ' <"$d/audit2.txt")"

	kill "$pa" "$pb" 2>/dev/null
	wait "$pa" "$pb" 2>/dev/null
	exec {HOLD}>&-
	for u in "$ua" "$ub" "$uc"; do
		"$H" -R -u "libvirt-$u" >/dev/null 2>&1
		rm -f "$PDIR/libvirt-$u" "$PDIR/libvirt-$u".*
	done
	rm -f "$AADIR/abstractions/svirt-qemu.d/svirt-kernel-tests-audit"
}

# ================================================================== 10 gc ==
vm_files() { # UUID: its files in the policy directory
	ls -d "$PDIR/libvirt-$1"* 2>/dev/null
}
test_gc() {
	local g=$W/gc udef urun ugone dead rc f prof out
	mkdir -p "$g/etc/qemu" "$g/run/qemu"
	unload_stray_profiles
	udef=$(new_uuid) urun=$(new_uuid) ugone=$(new_uuid)
	mkimg "$g/disk.img" raw
	audit_domain_xml vm-def "$udef" "$g/disk.img" >"$g/etc/qemu/vm-def.xml" # persistent, shut off
	audit_domstatus "$g/run" vm-run "$urun" "$g/disk.img"                   # running
	audit_domain_xml vm-gone "$ugone" "$g/disk.img" >"$g/gone.xml"          # undefined
	audit_domain_xml vm-run "$urun" "$g/disk.img" >"$g/run.xml"
	for f in "$g/etc/qemu/vm-def.xml" "$g/run.xml" "$g/gone.xml"; do
		prof=libvirt-$(sed -n 's/.*<uuid>\(.*\)<\/uuid>.*/\1/p' "$f")
		"$H" -c -u "$prof" <"$f" >"$g/helper.out" 2>&1 && loaded "$prof" ||
			fail "virt-aa-helper -c $prof: $(tr '\n' ' ' <"$g/helper.out")"
	done
	for u in "$udef" "$ugone"; do
		echo "# operator's rules" >"$PDIR/libvirt-$u.override"
		: >"$PDIR/libvirt-$u.complain"
	done
	sleep 0 &
	dead=$!
	wait "$dead"
	echo partial >"$PDIR/libvirt-$udef.tmp-$dead-0" # a killed helper's temporary
	# Old enough to be collected (gc leaves files younger than a minute).
	touch -d '-2 minutes' "$PDIR"/libvirt-*
	local -a keep gone
	# (no process substitution: the guest has no /dev/fd)
	{ vm_files "$udef" | grep -v '\.tmp-'; vm_files "$urun"; } >"$g/keep.list"
	vm_files "$ugone" >"$g/gone.list"
	mapfile -t keep <"$g/keep.list"
	mapfile -t gone <"$g/gone.list"
	info "defined: ${#keep[@]} files; undefined: ${#gone[@]} files (${gone[*]##*/})"
	[ "${#gone[@]}" -ge 4 ] || fail "the undefined domain has only ${#gone[@]} files"
	sha256sum "${keep[@]}" >"$g/keep.sum"
	local snap
	snap() { (cd "$PDIR" && find . -maxdepth 1 -type f -printf '%P %T@\n' | sort && sha256sum -- * 2>/dev/null); }
	snap >"$g/before"

	local dirs=(--libvirt-config "$g/etc" --libvirt-state "$g/run")
	"$SVIRT" gc "${dirs[@]}" >"$g/dry.txt" 2>&1
	rc=$?
	snap >"$g/after-dry"
	if [ "$rc" = 0 ] && cmp -s "$g/before" "$g/after-dry" && loaded "libvirt-$ugone" &&
		grep -q "^would unload libvirt-$ugone$" "$g/dry.txt" &&
		[ "$(grep -c "^would remove $PDIR/libvirt-$ugone" "$g/dry.txt")" = "${#gone[@]}" ] &&
		[ "$(grep "^would remove" "$g/dry.txt" | grep -e "$udef" -e "$urun")" = "would remove $PDIR/libvirt-$udef.tmp-$dead-0 (a temporary its writer left behind)" ]; then
		pass "svirt gc (dry run) lists the undefined domain's ${#gone[@]} files, its profile and the stale temporary, and changes nothing"
	else
		fail "svirt gc dry run: rc $rc, dir changed: $(cmp -s "$g/before" "$g/after-dry" && echo no || echo yes); $(tr '\n' ' ' <"$g/dry.txt")"
	fi

	"$SVIRT" gc --apply "${dirs[@]}" >"$g/apply.txt" 2>&1
	rc=$?
	[ "$rc" = 0 ] && pass "svirt gc --apply exits 0" || fail "svirt gc --apply: rc $rc, $(tr '\n' ' ' <"$g/apply.txt")"
	out=$(vm_files "$ugone")
	[ -z "$out" ] && pass "the undefined domain's files are gone" || fail "left behind: $out"
	[ ! -e "$PDIR/libvirt-$udef.tmp-$dead-0" ] && pass "the stale temporary is gone" || fail "the stale temporary is still there"
	loaded "libvirt-$ugone" && fail "libvirt-$ugone is still loaded" || pass "libvirt-$ugone was unloaded"
	sha256sum --quiet -c "$g/keep.sum" >"$g/sum.out" 2>&1 &&
		pass "the defined (shut off) and the running domain's ${#keep[@]} files are byte-identical" ||
		fail "the defined domains' files changed: $(tr '\n' ' ' <"$g/sum.out")"
	loaded "libvirt-$udef" && loaded "libvirt-$urun" && pass "libvirt-$udef and libvirt-$urun stay loaded" ||
		fail "a defined domain's profile was unloaded: def $(loaded "libvirt-$udef" && echo loaded), run $(loaded "libvirt-$urun" && echo loaded)"

	for u in "$udef" "$urun"; do
		"$H" -R -u "libvirt-$u" >/dev/null 2>&1
		rm -f "$PDIR/libvirt-$u" "$PDIR/libvirt-$u".*
	done
}

# ================================================================== driver ==
START=$(date +%s)
elapsed() { echo "$(($(date +%s) - START))s"; }

use_svirt_template
if wanted confinement; then
	section confinement "virt-aa-helper -c and svirt exec, svirt's template (test 1)"
	test_confinement confinement
	info "($(elapsed))"
fi
if wanted escaping; then
	section escaping "pattern characters in disk names (test 2)"
	test_escaping
	info "($(elapsed))"
fi
if wanted hotplug; then
	section hotplug "attach-disk / detach-disk on a running process (test 3)"
	test_hotplug
	info "($(elapsed))"
fi
if wanted removal; then
	section removal "virt-aa-helper -D and svirt unload (test 4)"
	test_removal
	info "($(elapsed))"
fi
if wanted overrides; then
	section overrides "svirt allow / complain / enforce last across regeneration (issue 13)"
	test_overrides
	info "($(elapsed))"
fi
if wanted startcost; then
	section startcost "a restart compiles nothing; every change that matters compiles again (issue 14)"
	test_startcost
	info "($(elapsed))"
fi
if wanted qemu; then
	section qemu "a real QEMU under svirt exec, svirt's template (test 5)"
	test_qemu qemu
	info "($(elapsed))"
fi
# svirt's abstraction boots a guest kernel in QEMU with no stray denial, and
# grants nothing that belongs to another VM (apparmor-facts §5).
if wanted abstraction; then
	section abstraction "svirt's abstraction: a guest boots, other VMs' files stay denied (qemu-boots.sh)"
	"$HERE/qemu-boots.sh" || fail "tests/kernel/qemu-boots.sh failed (its FAIL lines above)"
	info "($(elapsed))"
fi
if wanted libvirt; then
	section libvirt "tests 1 and 5 with Debian's libvirt template (test 6)"
	if use_debian_template; then
		pass "installed Debian's TEMPLATE.qemu (abstractions/libvirt-qemu, libvirt $(dpkg-query -W -f='${Version}' libvirt-daemon-system 2>/dev/null))"
		test_confinement libvirt
		test_qemu libvirt-qemu
	else
		fail "Debian's libvirt template is not installed (/etc/apparmor.d/libvirt/TEMPLATE.qemu from libvirt-daemon-system; scripts/install-deps.sh installs it)"
	fi
	use_svirt_template
	info "($(elapsed))"
fi
if wanted untrusted; then
	section untrusted "image-header data files and a share of / (test 7, issue 10)"
	test_untrusted
	info "($(elapsed))"
fi
if wanted explain; then
	section explain "svirt explain reads the kernel log, names the VM and prints the fix"
	test_explain
	info "($(elapsed))"
fi
if wanted audit; then
	section audit "svirt audit: an unconfined QEMU and two VMs writing one disk (test 9)"
	test_audit
	info "($(elapsed))"
fi
if wanted gc; then
	section gc "svirt gc removes only an undefined domain's files (test 10)"
	test_gc
	info "($(elapsed))"
fi
# Issue 7: an unmodified libvirtd confines real QEMU guests with svirt's
# helper swapped in (under Debian's helper profile and under ours), with
# libvirt's own helper as the control and /bin/true as the negative control.
if wanted libvirt-e2e; then
	section libvirt-e2e "unmodified libvirtd with svirt's helper swapped in"
	if use_debian_template; then
		"$HERE/libvirt-e2e.sh" ${SVIRT_E2E_MODES:-} || fail "tests/kernel/libvirt-e2e.sh failed (its FAIL lines above)"
	else
		fail "Debian's libvirt template is not installed (scripts/install-deps.sh installs libvirt-daemon-system)"
	fi
	use_svirt_template
	info "($(elapsed))"
fi

# Issue 16: Debian 13's libvirtd 11.3, in a trixie root (trixie-ns.sh), with
# svirt's helper swapped in (under Debian 13's helper profile and under
# svirt's), libvirt 11.3's own helper as the control and /bin/true as the
# negative control: libvirt-e2e.sh's checks, run against 11.3.
if wanted libvirt11-e2e; then
	section libvirt11-e2e "Debian 13's libvirtd 11.3 in a trixie root with svirt's helper swapped in"
	if [ -n "${SVIRT_TRIXIE_ROOT:-}" ] && [ -x "$SVIRT_TRIXIE_ROOT/usr/sbin/libvirtd" ]; then
		"$HERE/trixie-ns.sh" "$SVIRT_TRIXIE_ROOT" "$HERE/libvirt-e2e.sh" ${SVIRT_E2E11_MODES:-capture ours ours-profile libvirt true passt} ||
			fail "libvirt-e2e.sh in the trixie root failed (its FAIL lines above)"
	else
		fail "no Debian 13 root (SVIRT_TRIXIE_ROOT='${SVIRT_TRIXIE_ROOT:-}'; scripts/kernel-tests.sh makes it with tests/libvirt-corpus/trixie-root.sh)"
	fi
	info "($(elapsed))"
fi

# Issue 15: svirt's template and abstraction (svirt policy install) under a
# real libvirtd: every VM feature with no denial, two VMs kept apart, and
# Debian's policy as the control.
if wanted policy; then
	section policy "svirt's policy: graphics, UEFI, swtpm, vhost-net, hugepages, rng, pty, agent, sound; two VMs apart; Debian's as control"
	if use_debian_template; then
		"$HERE/libvirt-e2e.sh" policy policy-debian || fail "tests/kernel/libvirt-e2e.sh policy policy-debian failed (its FAIL lines above)"
	else
		fail "Debian's libvirt template is not installed (scripts/install-deps.sh installs libvirt-daemon-system)"
	fi
	use_svirt_template
	info "($(elapsed))"
fi

# Last: it installs and removes the package over the helper and its profile.
if wanted package; then
	section package "the Debian package: install, upgrade, remove, purge with dpkg (test 8)"
	test_package
	use_svirt_template
	info "($(elapsed))"
fi

if [ -n "${AAVM_OUT:-}" ] && [ -d "$AAVM_OUT" ]; then
	cp -R "$W/profiles" "$AAVM_OUT/" 2>/dev/null
	dmesg | grep 'apparmor=' >"$AAVM_OUT/apparmor-dmesg.txt" 2>/dev/null
fi

echo
if [ "$FAILS" = 0 ]; then
	echo "kernel suite: all $PASSES checks passed in $(elapsed)"
	exit 0
fi
echo "kernel suite: $FAILS of $((PASSES + FAILS)) checks FAILED in$FAILED_TESTS ($(elapsed))"
exit 1
