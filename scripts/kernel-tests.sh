#!/bin/sh
# The kernel suite in one command: builds the release binaries if needed and
# the Debian package (scripts/package.sh), sets up the AppArmor guest rig
# (idempotent; installs qemu-system-x86, apparmor, busybox-static, kmod with
# apt the first time), boots ONE throw-away guest
# with a stock Debian kernel and AppArmor enforcing, and runs
# tests/kernel/suite.sh in it.  Exits non-zero if any check failed, if
# AppArmor is not enforcing in the guest, or if the rig broke (125) or timed
# out (124).  Needs root (or sudo) for the first set-up only.
#
# Environment: SVIRT_KERNEL_ONLY="confinement escaping ..." runs a subset;
# SVIRT_KERNEL_BREAK=<name> injects a deliberate breakage (negative
# controls, see tests/kernel/README.md); AAVM_* tune the rig
# (tests/kernel/run-in-aa-vm.sh), e.g. AAVM_OUTDIR=DIR keeps the generated
# profiles and the AppArmor lines of dmesg.
set -eu
cd "$(dirname "$0")/.."
t0=$(date +%s)

# The guest sees this checkout at the same path and runs target/release/*.
unset CARGO_TARGET_DIR
cargo build --release --workspace -q
for b in svirt virt-aa-helper; do
	[ -x "target/release/$b" ] || { echo "kernel-tests: target/release/$b was not built" >&2; exit 1; }
done
# The suite's `package` section installs and removes this .deb in the guest
# (a few seconds: the binaries above are reused).
scripts/package.sh >/dev/null

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
# Set-up as root (apt); the cache goes to root's cache dir unless AAVM_CACHE is
# set, so pass it through when using sudo.
export AAVM_CACHE="${AAVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/svirt-kernel-rig}"
if [ -n "$SUDO" ]; then
	$SUDO env AAVM_CACHE="$AAVM_CACHE" tests/kernel/run-in-aa-vm.sh setup
	$SUDO chown -R "$(id -u):$(id -g)" "$AAVM_CACHE"
else
	tests/kernel/run-in-aa-vm.sh setup
fi
qemu-img --version >/dev/null || { echo "kernel-tests: qemu-img is missing after set-up" >&2; exit 1; }
# Debian 13's libvirt 11.3 for the suite's libvirt11-e2e section: the trixie
# root of the 11.3 corpus (tests/libvirt-corpus/trixie-root.sh; about a
# minute the first time, then reused), which the guest sees at the same
# path. Without it the section fails, saying why.
if [ -z "${SVIRT_TRIXIE_ROOT:-}" ]; then
	SVIRT_TRIXIE_ROOT=$($SUDO tests/libvirt-corpus/trixie-root.sh) || SVIRT_TRIXIE_ROOT=""
fi
export SVIRT_TRIXIE_ROOT
t1=$(date +%s)

# The guest must be able to write what the suite needs; the suite itself
# checks /sys/module/apparmor/parameters/enabled = Y first and fails loudly.
export AAVM_PASSENV="${AAVM_PASSENV:-} SVIRT_KERNEL_ONLY SVIRT_KERNEL_BREAK SVIRT_E2E_MODES SVIRT_E2E_GUEST SVIRT_TRIXIE_ROOT SVIRT_E2E11_MODES"
# A full run takes 20-25 minutes under TCG. Nested KVM guests inside the TCG
# guest occasionally freeze the whole guest (the rig's notes: about one
# nested boot in 50); the rig's timeout then ends the run with 124. That is
# the rig failing, not a check: the run is repeated once, and only a second
# hang fails. Any failed check (exit 1) fails at once.
export AAVM_TIMEOUT="${AAVM_TIMEOUT:-2700}"
attempt=1
while :; do
	set +e
	tests/kernel/run-in-aa-vm.sh tests/kernel/suite.sh
	rc=$?
	set -e
	t2=$(date +%s)
	echo "kernel-tests: set-up $((t1 - t0))s, guest run $((t2 - t1))s, exit $rc (attempt $attempt)"
	if [ "$rc" = 124 ] && [ "$attempt" = 1 ]; then
		echo "kernel-tests: the guest hung (rig timeout after ${AAVM_TIMEOUT}s); running the suite once more" >&2
		attempt=2
		t1=$(date +%s)
		continue
	fi
	exit $rc
done
