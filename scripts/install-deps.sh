#!/bin/sh
# Installs what svirt's tests need on a Debian machine. Idempotent: packages
# already present are left alone, and no service is started.
#   apparmor          apparmor_parser, to compile generated policy (-Q)
#   qemu-utils        qemu-img, to make real disk images
#   libvirt-daemon*   libvirt's own virt-aa-helper and policy, the reference
#   socat             the kernel suite's policy section connects to VNC,
#                     SPICE and unix sockets with it
#   ovmf qemu-efi-aarch64 swtpm swtpm-tools
#                     what a libvirt host usually has (UEFI firmware under
#                     /usr/share, swtpm state under /var/lib): the tests must
#                     pass the same with them (the compat tests' namespace
#                     hides them, crates/virt-aa-helper/tests/ns-run.sh)
set -eu

need=""
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in apparmor qemu-utils libvirt-daemon libvirt-daemon-system socat \
	ovmf qemu-efi-aarch64 swtpm swtpm-tools; do
	have "$p" || need="$need $p"
done
[ -z "$need" ] && exit 0

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
# Keep package scripts from starting libvirtd or anything else, with a
# policy-rc.d that is removed again (also on failure or interruption) if
# this script made it.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
# --no-remove: never let apt drop a newer qemu-utils already on the machine.
$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends --no-remove $need
