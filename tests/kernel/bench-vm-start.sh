#!/bin/bash
# Inside the rig's AppArmor guest (run by scripts/bench-vm-start.sh): what a
# VM start costs in helper calls, svirt's helper against libvirt's, side by
# side and interleaved in one boot. Both run unconfined from the shell, with
# Debian's TEMPLATE.qemu and abstraction when installed (as on a libvirt
# host), so both compile the same base policy.
#
#   restart  libvirt 9.0's sequence for a restart of an unchanged two-disk
#            VM, the domain id moving forward each cycle:
#              -D -u NAME                  (destroy)
#              -r -u NAME                  (start)
#              -r -u NAME -F '<run dir>/{,**}'
#              -r -u NAME -F '<channel dir>/{,**}'
#              -r -u NAME -F <run dir>/master-key.aes
#   cold     a first start of 20 new VMs: -c, then the same three -F calls
#   compile  apparmor_parser -Q -K -S of one profile: svirt's abstraction
#            against Debian's
# Prints medians (ms) and ratios. Knobs: BENCH_CYCLES (default 10),
# BENCH_COLD (default 20), BENCH_COMPILES (default 10).
set -u
HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OURS=$REPO/target/release/virt-aa-helper
THEIRS=/usr/lib/libvirt/virt-aa-helper
PDIR=/etc/apparmor.d/libvirt
CYCLES=${BENCH_CYCLES:-10}
COLD=${BENCH_COLD:-20}
COMPILES=${BENCH_COMPILES:-10}
W=/tmp/bench-vm-start
[ "${AAVM_GUEST:-0}" = 1 ] || { echo "bench-vm-start: not inside the kernel rig's guest" >&2; exit 1; }
[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] || { echo "bench-vm-start: AppArmor is not enabled" >&2; exit 1; }
for h in "$OURS" "$THEIRS"; do [ -x "$h" ] || { echo "bench-vm-start: missing $h" >&2; exit 1; }; done
rm -rf "$W" && mkdir -p "$W/img" || exit 1
[ -f "$PDIR/TEMPLATE.qemu" ] || { echo "bench-vm-start: no $PDIR/TEMPLATE.qemu (libvirt-daemon-system)" >&2; exit 1; }
rm -f /etc/svirt/virt-aa-helper.conf
qemu-img create -q -f qcow2 "$W/img/base.qcow2" 64M &&
	qemu-img create -q -f qcow2 -b "$W/img/base.qcow2" -F qcow2 "$W/img/a.qcow2" &&
	qemu-img create -q -f qcow2 "$W/img/b.qcow2" 64M || exit 1

now_ms() { echo $(($(date +%s%N) / 1000000)); }
domain() { # NAME UUID ID
	cat <<XML
<domain type='kvm' id='$3'>
  <name>$1</name>
  <uuid>$2</uuid>
  <memory unit='MiB'>256</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
      <source file='$W/img/a.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
      <source file='$W/img/b.qcow2'/><target dev='vdb' bus='virtio'/></disk>
    <serial type='pty'><target port='0'/></serial>
  </devices>
</domain>
XML
}
# One helper call; fails the benchmark if the helper fails.
call() { # HELPER XML ARGS...
	local h=$1 xml=$2
	shift 2
	if [ -n "$xml" ]; then "$h" "$@" <"$xml" >/dev/null 2>"$W/err"; else "$h" "$@" </dev/null >/dev/null 2>"$W/err"; fi ||
		{ echo "bench-vm-start: $h $* failed: $(cat "$W/err")" >&2; exit 1; }
}
start_calls() { # HELPER NAME PROFILE XML ID MODE(-c|-r)
	local h=$1 name=$2 prof=$3 xml=$4 id=$5 mode=$6 dir=/var/lib/libvirt/qemu/domain-$5-$2
	call "$h" "$xml" "$mode" -u "$prof"
	call "$h" "$xml" -r -u "$prof" -F "$dir/{,**}"
	call "$h" "$xml" -r -u "$prof" -F "/var/lib/libvirt/qemu/channel/target/domain-$id-$name/{,**}"
	call "$h" "$xml" -r -u "$prof" -F "$dir/master-key.aes"
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print 0; else if (NR % 2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "inf"}'; }

# ------------------------------------------------------------- restart --
declare -A UUID PROF
for who in ours theirs; do
	UUID[$who]=$(cat /proc/sys/kernel/random/uuid)
	PROF[$who]=libvirt-${UUID[$who]}
	rm -f "$PDIR/${PROF[$who]}"*
done
helper_of() { [ "$1" = ours ] && echo "$OURS" || echo "$THEIRS"; }
# A first start for each, not timed.
for who in ours theirs; do
	domain bench-$who "${UUID[$who]}" 1 >"$W/$who.xml"
	start_calls "$(helper_of $who)" "bench-$who" "${PROF[$who]}" "$W/$who.xml" 1 -c
done
: >"$W/restart-ours" && : >"$W/restart-theirs"
for ((i = 2; i < CYCLES + 2; i++)); do
	for who in ours theirs; do
		h=$(helper_of $who)
		domain bench-$who "${UUID[$who]}" "$i" >"$W/$who.xml"
		t0=$(now_ms)
		call "$h" "" -D -u "${PROF[$who]}"
		start_calls "$h" "bench-$who" "${PROF[$who]}" "$W/$who.xml" "$i" -r
		echo $(($(now_ms) - t0)) >>"$W/restart-$who"
	done
done
for who in ours theirs; do
	grep -q "^${PROF[$who]} (enforce)" /sys/kernel/security/apparmor/profiles ||
		{ echo "bench-vm-start: ${PROF[$who]} is not loaded after the restarts" >&2; exit 1; }
	call "$(helper_of $who)" "" -D -u "${PROF[$who]}"
	rm -f "$PDIR/${PROF[$who]}"*
done
r_ours=$(median <"$W/restart-ours")
r_theirs=$(median <"$W/restart-theirs")

# ---------------------------------------------------------------- cold --
cold() { # WHO: prints the total ms for COLD new VMs
	local who=$1 h t0 total=0 j uuid prof
	h=$(helper_of "$who")
	for ((j = 0; j < COLD; j++)); do
		uuid=$(cat /proc/sys/kernel/random/uuid)
		prof=libvirt-$uuid
		domain "cold-$who-$j" "$uuid" 1 >"$W/cold.xml"
		t0=$(now_ms)
		start_calls "$h" "cold-$who-$j" "$prof" "$W/cold.xml" 1 -c
		total=$((total + $(now_ms) - t0))
		echo "$prof" >>"$W/cold-profiles"
	done
	echo "$total"
}
: >"$W/cold-profiles"
c_ours=$(cold ours)
c_theirs=$(cold theirs)
while read -r prof; do
	"$OURS" -D -u "$prof" </dev/null >/dev/null 2>&1
	rm -f "$PDIR/$prof"*
done <"$W/cold-profiles"

# ------------------------------------------------------------- compile --
mkdir -p "$W/svirt/libvirt" "$W/svirt/abstractions"
cp "$REPO/policy/TEMPLATE.qemu" "$W/svirt/libvirt/TEMPLATE.qemu"
cp "$REPO/policy/abstractions/svirt-qemu" "$W/svirt/abstractions/svirt-qemu"
uuid=$(cat /proc/sys/kernel/random/uuid)
domain compile "$uuid" 1 >"$W/compile.xml"
"$REPO/target/release/svirt" profile --template "$PDIR/TEMPLATE.qemu" "$W/compile.xml" 2>/dev/null |
	awk -v d="$W/debian" 'BEGIN {system("mkdir -p " d "/libvirt")} /^# \/etc\/apparmor.d\/libvirt\/[^ ]*\.files$/ {f = d "/libvirt/p.files"; next} /^# \/etc\/apparmor.d\/libvirt\// {f = d "/libvirt/p"; next} {print > f}'
"$REPO/target/release/svirt" profile --template "$REPO/policy/TEMPLATE.qemu" "$W/compile.xml" 2>/dev/null |
	awk -v d="$W/svirt" '/^# \/etc\/apparmor.d\/libvirt\/[^ ]*\.files$/ {f = d "/libvirt/p.files"; next} /^# \/etc\/apparmor.d\/libvirt\// {f = d "/libvirt/p"; next} {print > f}'
sed -i "s|<libvirt/libvirt-$uuid.files>|<libvirt/p.files>|" "$W/debian/libvirt/p" "$W/svirt/libvirt/p"
compile_ms() { # BASE
	local k t0
	for ((k = 0; k < COMPILES; k++)); do
		t0=$(now_ms)
		apparmor_parser -Q -K -S --base "$1" -I /etc/apparmor.d "$1/libvirt/p" >/dev/null ||
			{ echo "bench-vm-start: $1/libvirt/p does not compile" >&2; exit 1; }
		echo $(($(now_ms) - t0))
	done | median
}
k_svirt=$(compile_ms "$W/svirt")
k_debian=$(compile_ms "$W/debian")

echo "bench-vm-start: apparmor_parser $(apparmor_parser --version | head -1 | awk '{print $NF}'), kernel $(uname -r), $(nproc) CPU(s), accel ${AAVM_ACCEL_USED:-?}"
printf '%-44s %10s %10s %8s\n' "" "svirt" "libvirt" "ratio"
printf '%-44s %10s %10s %8s\n' "restart, 5 helper calls (median ms of $CYCLES)" "$r_ours" "$r_theirs" "$(ratio "$r_theirs" "$r_ours")x"
printf '%-44s %10s %10s %8s\n' "cold start of $COLD new VMs, 4 calls each (ms)" "$c_ours" "$c_theirs" "$(ratio "$c_theirs" "$c_ours")x"
printf '%-44s %10s %10s %8s\n' "compile one profile (median ms of $COMPILES)" "$k_svirt" "$k_debian" "$(ratio "$k_debian" "$k_svirt")x"
echo "(compile: svirt's template and abstraction against Debian's, same per-VM rules)"
