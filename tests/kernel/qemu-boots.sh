#!/bin/bash
# qemu-boots.sh — proves that policy/TEMPLATE.qemu + policy/abstractions/svirt-qemu
# let a real qemu-system-x86_64 start a guest under a per-VM profile, and that
# the profile keeps that QEMU away from every file it was not given.
#
# Runs as root INSIDE the AppArmor guest of the kernel rig:
#     tests/kernel/run-in-aa-vm.sh tests/kernel/qemu-boots.sh
#
# What it does:
#   1. builds libvirt-<uuid> from policy/TEMPLATE.qemu by hand (the placeholder
#      name is replaced, the .files include goes before the last column-0 "}")
#      plus a hand-written libvirt-<uuid>.files for one qcow2 disk (rwk), the
#      guest kernel (r), a serial log (w) and a QMP pipe (rw);
#   2. loads it with apparmor_parser -r -I policy -I <tmp apparmor.d>;
#   3. starts QEMU confined (aa-exec -p libvirt-<uuid>), checks its label, that
#      it holds its disk open, that the nested guest kernel prints, asks QMP for
#      the block devices, and quits it over QMP;
#   4. starts it again with -S as the unprivileged QEMU user (libvirt-qemu,
#      else nobody) and stops it with SIGTERM from the unconfined shell (the
#      way a manager stops a VM);
#   5. starts it with ANOTHER disk: it must fail with "Permission denied" and
#      dmesg must show apparmor="DENIED" for profile="libvirt-<uuid>";
#   6. as the QEMU user, which owns them, tries from the same profile to read
#      and append to files of another VM (NVRAM, disk, TPM state, log, pid, ...):
#      all must be refused by AppArmor (apparmor-facts §5: nothing per-VM may
#      come from the shared abstraction);
#   7. fails if any other DENIED line for the profile shows up.
#
# Environment:
#   SVIRT_QEMU_COMPLAIN=1   load the profile in complain mode and print every
#                           access the abstraction does not cover (ALLOWED
#                           lines): a learning aid when QEMU or Debian changes.
#   SVIRT_QEMU_WAIT         seconds to wait for guest kernel output (default 60)
#   SVIRT_QEMU_ACCEL        tcg (default) | kvm: nested KVM in the guest (faster
#                           nested boot, exercises /dev/kvm; the rig notes that a
#                           nested KVM boot can occasionally freeze the guest)
#   SVIRT_QEMU_EXTRA        extra arguments for the first QEMU run (word-split)
#   SVIRT_QEMU_USER         unprivileged user for steps 4 and 6 (default
#                           libvirt-qemu, or nobody if that does not exist)
# If AAVM_OUT is set (the rig sets it), the profile, .files, QEMU logs and the
# apparmor part of dmesg are copied there.
set -u

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
POLICY=$REPO/policy
COMPLAIN=${SVIRT_QEMU_COMPLAIN:-0}
WAIT=${SVIRT_QEMU_WAIT:-60}

FAILS=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
info() { echo "  .. $*"; }
die() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (inside the rig's guest)"
[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] ||
	die "AppArmor is not enabled here; run me through tests/kernel/run-in-aa-vm.sh"
[ "${AAVM_GUEST:-0}" = 1 ] ||
	echo "warning: not inside the rig's guest (AAVM_GUEST unset); profiles will be loaded into THIS kernel" >&2
for t in apparmor_parser aa-exec qemu-system-x86_64 qemu-img; do
	command -v "$t" >/dev/null || die "missing tool: $t"
done
[ -f "$POLICY/TEMPLATE.qemu" ] && [ -f "$POLICY/abstractions/svirt-qemu" ] ||
	die "policy files not found under $POLICY"

# Without auditd, AppArmor messages reach dmesg through printk, which is
# rate-limited; a burst of denials would be partly dropped.
sysctl -qw kernel.printk_ratelimit=0 2>/dev/null || true

T=$(mktemp -d /tmp/svirt-qemu.XXXXXX)
chmod 755 "$T"
UUID=$(cat /proc/sys/kernel/random/uuid)
PROF=libvirt-$UUID
DISK=$T/disk.qcow2
OTHER=$T/other.qcow2
QPID=""
cleanup() {
	[ -n "$QPID" ] && kill -KILL "$QPID" 2>/dev/null
	if [ -n "${AAVM_OUT:-}" ] && [ -d "$AAVM_OUT" ]; then
		cp "$T"/apparmor.d/libvirt/* "$T"/*.log "$T"/*.err "$AAVM_OUT"/ 2>/dev/null
		dmesg | grep 'apparmor=' >"$AAVM_OUT/apparmor-dmesg.txt" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT

# Guest kernel for the nested QEMU: the rig's own kernel (PVH ELF if present).
KERNEL=""
if [ -n "${AAVM_KERNEL_DIR:-}" ]; then
	if [ -f "$AAVM_KERNEL_DIR/vmlinux-pvh" ]; then
		KERNEL=$AAVM_KERNEL_DIR/vmlinux-pvh
	else
		KERNEL=$(ls "$AAVM_KERNEL_DIR"/boot/vmlinuz-* 2>/dev/null | head -1)
	fi
fi
[ -n "$KERNEL" ] || info "no guest kernel found (AAVM_KERNEL_DIR unset): QEMU starts without -kernel"

qemu-img create -q -f qcow2 "$DISK" 64M || die "qemu-img create $DISK"
qemu-img create -q -f qcow2 "$OTHER" 64M || die "qemu-img create $OTHER"
mkfifo "$T/qmp.in" "$T/qmp.out" || die mkfifo

# ---------------------------------------------------------------- profile --
PDIR=$T/apparmor.d
mkdir -p "$PDIR/libvirt"
grep -q '^profile LIBVIRT_TEMPLATE ' "$POLICY/TEMPLATE.qemu" || die "template lacks 'profile LIBVIRT_TEMPLATE'"
# rename the profile; put the include before the LAST column-0 closing brace
sed "s/^profile LIBVIRT_TEMPLATE /profile $PROF /" "$POLICY/TEMPLATE.qemu" |
	awk -v inc="  #include <libvirt/$PROF.files>" '
		{ line[NR] = $0 } $0 == "}" { last = NR }
		END {
			if (!last) exit 1
			for (i = 1; i <= NR; i++) { if (i == last) { print inc; print "" } print line[i] }
		}' >"$PDIR/libvirt/$PROF" || die "template has no column-0 closing brace"
if [ "$COMPLAIN" = 1 ]; then
	sed -i "s/^profile $PROF flags=(\(.*\))/profile $PROF flags=(\1,complain)/" "$PDIR/libvirt/$PROF"
	grep -q complain "$PDIR/libvirt/$PROF" || die "could not switch the profile to complain mode"
fi
{
	echo "# hand-written for tests/kernel/qemu-boots.sh"
	echo "  \"$DISK\" rwk,"
	[ -n "$KERNEL" ] && echo "  \"$KERNEL\" r,"
	echo "  \"$T/serial.log\" w,"
	echo "  \"$T/qmp.in\" rw,"
	echo "  \"$T/qmp.out\" rw,"
} >"$PDIR/libvirt/$PROF.files"

apparmor_parser -r -K -I "$POLICY" -I "$PDIR" "$PDIR/libvirt/$PROF" >"$T/parser.err" 2>&1 ||
	{ cat "$T/parser.err"; die "apparmor_parser -r failed"; }
grep -q "^$PROF (" /sys/kernel/security/apparmor/profiles ||
	die "$PROF not listed in /sys/kernel/security/apparmor/profiles"
pass "loaded $PROF ($(grep "^$PROF (" /sys/kernel/security/apparmor/profiles | sed 's/.*(//; s/)//'))"

# The unprivileged user QEMU runs as in production (Debian: libvirt-qemu).
QUSER=${SVIRT_QEMU_USER:-libvirt-qemu}
id "$QUSER" >/dev/null 2>&1 || QUSER=nobody
QGROUP=$(id -gn "$QUSER")

MARK=$(dmesg | wc -l)

# ------------------------------------------------------------------- qemu --
ACCEL=${SVIRT_QEMU_ACCEL:-tcg}
if [ "$ACCEL" = kvm ]; then
	# the rig's emulated CPU exposes svm/vmx: nested KVM inside the guest
	modprobe kvm_amd 2>/dev/null || modprobe kvm_intel 2>/dev/null
	[ -c /dev/kvm ] || die "SVIRT_QEMU_ACCEL=kvm but no /dev/kvm in the guest"
	# no udev in the guest: give /dev/kvm the usual root:kvm 0660
	chgrp kvm /dev/kvm 2>/dev/null && chmod 660 /dev/kvm
fi
# A q35 machine like libvirt would start it: firmware, option ROMs (vga,
# virtio-net), a virtio disk, user networking, serial to a file, QMP on a pipe.
QEMU_COMMON=(qemu-system-x86_64
	-name guest=svirt-test,debug-threads=on
	-uuid "$UUID"
	-nodefaults -no-user-config
	-machine q35 -accel "$ACCEL" -m 128 -smp 1
	-display none -vga std
	-netdev user,id=net0 -device virtio-net-pci,netdev=net0
	-serial "file:$T/serial.log"
	-no-reboot)
KARGS=()
[ -n "$KERNEL" ] && KARGS=(-kernel "$KERNEL" -append "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1")

qmp_read() { # $1 = timeout; prints the next reply line containing return/error
	local line
	while read -r -t "$1" -u "$QO" line; do
		case "$line" in
		*'"return"'* | *'"error"'*) echo "$line"; return 0 ;;
		esac
	done
	return 1
}
qmp() { # $1 = JSON command
	echo "$1" >&"$QI"
	qmp_read 30
}

# 1) start, run the guest, query, quit over QMP
aa-exec -p "$PROF" -- "${QEMU_COMMON[@]}" "${KARGS[@]}" \
	-drive "file=$DISK,if=virtio,format=qcow2" \
	-chardev "pipe,id=qmp,path=$T/qmp" -mon chardev=qmp,mode=control \
	${SVIRT_QEMU_EXTRA:-} \
	</dev/null >"$T/qemu-run.log" 2>"$T/qemu-run.err" &
QPID=$!
exec {QI}<>"$T/qmp.in" {QO}<>"$T/qmp.out"
if read -r -t 60 -u "$QO" greet && [[ $greet == *'"QMP"'* ]]; then
	pass "confined QEMU started (pid $QPID) and greeted on QMP"
else
	fail "no QMP greeting from QEMU"
	cat "$T/qemu-run.err"
fi
label=$(cat "/proc/$QPID/attr/apparmor/current" 2>/dev/null || cat "/proc/$QPID/attr/current" 2>/dev/null)
want="$PROF (enforce)"
[ "$COMPLAIN" = 1 ] && want="$PROF (complain)"
[ "$label" = "$want" ] && pass "QEMU runs as '$label'" || fail "QEMU label is '$label', want '$want'"
if ls -l "/proc/$QPID/fd" 2>/dev/null | grep -q -- "-> $DISK\$"; then
	pass "QEMU holds its disk open ($DISK)"
else
	fail "QEMU does not hold $DISK open"
fi
r=$(qmp '{"execute":"qmp_capabilities"}') || fail "qmp_capabilities: no reply"
r=$(qmp '{"execute":"query-block"}')
[[ $r == *"$DISK"* ]] && pass "query-block lists the disk" || fail "query-block: $r"
if [ -n "$KERNEL" ]; then
	for ((i = 0; i < WAIT; i++)); do
		grep -q 'Linux version' "$T/serial.log" 2>/dev/null && break
		kill -0 "$QPID" 2>/dev/null || break
		sleep 1
	done
	if grep -q 'Linux version' "$T/serial.log" 2>/dev/null; then
		pass "nested guest kernel runs (after ${i}s): $(grep -m1 -o 'Linux version [^ ]*' "$T/serial.log")"
	else
		fail "no guest kernel output in ${WAIT}s"
	fi
fi
r=$(qmp '{"execute":"query-status"}')
[[ $r == *'"running"'* ]] && pass "guest status running" || fail "query-status: $r"
qmp '{"execute":"quit"}' >/dev/null
for ((i = 0; i < 30; i++)); do kill -0 "$QPID" 2>/dev/null || break; sleep 1; done
wait "$QPID"
rc=$?
QPID=""
exec {QI}>&- {QO}<&-
[ "$rc" = 0 ] && pass "QEMU quit over QMP (rc 0)" || fail "QEMU exit code $rc after quit"
if [ -s "$T/qemu-run.err" ]; then
	fail "QEMU wrote to stderr:"
	sed 's/^/    /' "$T/qemu-run.err"
fi

# 2) as the unprivileged QEMU user: start paused, then a manager stops the VM
# with SIGTERM
chown "$QUSER:$QGROUP" "$DISK" "$T/serial.log"
setpriv --reuid="$QUSER" --regid="$QGROUP" --clear-groups -- \
	aa-exec -p "$PROF" -- "${QEMU_COMMON[@]}" -S \
	-drive "file=$DISK,if=virtio,format=qcow2" \
	</dev/null >"$T/qemu-term.log" 2>"$T/qemu-term.err" &
QPID=$!
# wait until the machine is built: the vCPU thread exists and has renamed
# itself (debug-threads=on, via /proc/<pid>/task/<tid>/comm), then 1 s more
for ((i = 0; i < 60; i++)); do
	cat "/proc/$QPID/task/"*/comm 2>/dev/null | grep -q '^CPU 0/' && break
	kill -0 "$QPID" 2>/dev/null || break
	sleep 1
done
sleep 1
if cat "/proc/$QPID/task/"*/comm 2>/dev/null | grep -q '^CPU 0/'; then
	pass "as $QUSER: vCPU thread named '$(cat "/proc/$QPID/task/"*/comm | grep -m1 '^CPU 0/')'"
else
	fail "as $QUSER: no vCPU thread named 'CPU 0/...' after ${i}s"
fi
kill -TERM "$QPID"
wait "$QPID"
rc=$?
QPID=""
if grep -q 'terminating on signal 15' "$T/qemu-term.err"; then
	pass "as $QUSER: QEMU started paused, SIGTERM from the unconfined manager stopped it (rc $rc)"
else
	fail "SIGTERM did not stop QEMU cleanly (rc $rc): $(cat "$T/qemu-term.err")"
fi

# back to root, so that root's QEMU below needs no DAC override for its log
chown root:root "$DISK" "$T/serial.log"

# 3) the same VM given another VM's disk must be refused
aa-exec -p "$PROF" -- "${QEMU_COMMON[@]}" -S \
	-drive "file=$OTHER,if=virtio,format=qcow2" \
	</dev/null >"$T/qemu-other.log" 2>"$T/qemu-other.err" &
QPID=$!
for ((i = 0; i < 60; i++)); do kill -0 "$QPID" 2>/dev/null || break; sleep 1; done
if kill -0 "$QPID" 2>/dev/null; then
	kill -KILL "$QPID"
	wait "$QPID"
	QPID=""
	if [ "$COMPLAIN" = 1 ]; then
		info "complain mode: QEMU runs with the other disk, as expected"
	else
		fail "QEMU kept running with a disk that is not in its profile"
	fi
else
	wait "$QPID"
	rc=$?
	QPID=""
	if [ "$rc" != 0 ] && grep -q 'Permission denied' "$T/qemu-other.err"; then
		pass "other disk refused: $(grep -m1 'Permission denied' "$T/qemu-other.err")"
	else
		fail "other disk: rc $rc, stderr: $(cat "$T/qemu-other.err")"
	fi
fi
sleep 1
if dmesg | tail -n +"$((MARK + 1))" | grep 'apparmor="DENIED"' | grep "profile=\"$PROF\"" |
	grep -q "name=\"$OTHER\""; then
	pass "dmesg: apparmor=\"DENIED\" profile=\"$PROF\" name=\"$OTHER\""
elif [ "$COMPLAIN" = 1 ]; then
	info "complain mode: no DENIED line expected for the other disk"
else
	fail "no DENIED line in dmesg for $OTHER"
fi

# 4) files of ANOTHER VM (apparmor-facts §5) stay out of reach.  The probe
# runs as the QEMU user and the files belong to that user, as in production:
# DAC allows everything, so only the profile can keep VMs apart.
FOREIGN=(
	/var/lib/libvirt/qemu/nvram/vmB_VARS.fd
	/var/lib/libvirt/qemu/nvram/vmB_VARS.ms.fd
	/var/lib/libvirt/images/vmB.qcow2
	/var/lib/libvirt/qemu/domain-2-vmB/master-key.aes
	/var/lib/libvirt/swtpm/vmB/tpm2/tpm2-00.permall
	/var/log/libvirt/qemu/vmB.log
	/run/libvirt/qemu/vmB.pid
	/tmp/vmB-serial.log
	/var/tmp/vmB.img
	/dev/shm/vmB-ram
)
for f in "${FOREIGN[@]}"; do
	mkdir -p "$(dirname "$f")" && echo secret >"$f" && chown "$QUSER:$QGROUP" "$f" && chmod 600 "$f"
done
chown "$QUSER:$QGROUP" /var/lib/libvirt/qemu/nvram /var/lib/libvirt/qemu/domain-2-vmB 2>/dev/null
as_quser() { setpriv --reuid="$QUSER" --regid="$QGROUP" --clear-groups -- "$@"; }
leaked=0 dacblocked=0
for f in "${FOREIGN[@]}"; do
	if ! as_quser dd if="$f" of=/dev/null status=none 2>/dev/null ||
		! echo x | as_quser dd of="$f" oflag=append conv=notrunc status=none 2>/dev/null; then
		fail "unconfined $QUSER cannot use $f: DAC blocks it, the probe proves nothing"
		dacblocked=1
	fi
	if as_quser aa-exec -p "$PROF" -- dd if="$f" of=/dev/null status=none 2>/dev/null; then
		[ "$COMPLAIN" = 1 ] || { fail "$PROF can READ another VM's $f"; leaked=1; }
	fi
	if echo x | as_quser aa-exec -p "$PROF" -- dd of="$f" oflag=append conv=notrunc status=none 2>/dev/null; then
		[ "$COMPLAIN" = 1 ] || { fail "$PROF can WRITE another VM's $f"; leaked=1; }
	fi
done
if [ "$COMPLAIN" != 1 ] && [ "$leaked" = 0 ] && [ "$dacblocked" = 0 ]; then
	sleep 1
	missing=""
	dmesg | tail -n +"$((MARK + 1))" | grep 'apparmor="DENIED"' | grep "profile=\"$PROF\"" >"$T/denied.log"
	for f in "${FOREIGN[@]}"; do
		grep -qF "name=\"$f\"" "$T/denied.log" || missing+=" $f"
	done
	if [ -z "$missing" ]; then
		pass "as $QUSER: ${#FOREIGN[@]} files of another VM refused by AppArmor (DENIED in dmesg)"
	else
		fail "refused, but without an AppArmor DENIED line:$missing"
	fi
fi

# 5) no other denials
sleep 1
dmesg | tail -n +"$((MARK + 1))" | grep 'apparmor=' | grep "profile=\"$PROF\"" >"$T/aa.log"
EXPECTED_RE="name=\"($OTHER"
for f in "${FOREIGN[@]}"; do EXPECTED_RE+="|$f"; done
EXPECTED_RE+=")\""
if [ "$COMPLAIN" = 1 ]; then
	echo "--- accesses outside the profile (complain mode), de-duplicated:"
	grep 'apparmor="ALLOWED"' "$T/aa.log" | grep -Ev "$EXPECTED_RE" |
		sed -E 's/.*operation="([^"]*)".*profile="[^"]*"(.*)/\1\2/; s/ pid=[0-9]+//; s/ fsuid=[0-9]+ ouid=[0-9]+//' |
		sort | uniq -c
else
	unexpected=$(grep 'apparmor="DENIED"' "$T/aa.log" | grep -Ev "$EXPECTED_RE")
	if [ -z "$unexpected" ]; then
		pass "no unexpected DENIED lines for $PROF ($(grep -c 'apparmor="DENIED"' "$T/aa.log") expected ones)"
	else
		fail "unexpected DENIED lines:"
		echo "$unexpected" | sed 's/^/    /'
	fi
fi

apparmor_parser -R -K -I "$POLICY" -I "$PDIR" "$PDIR/libvirt/$PROF" >/dev/null 2>&1 ||
	echo -n "$PROF" >/sys/kernel/security/apparmor/.remove

echo
if [ "$FAILS" = 0 ]; then
	echo "qemu-boots: all checks passed"
	exit 0
fi
echo "qemu-boots: $FAILS check(s) failed"
exit 1
