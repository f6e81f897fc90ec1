#!/bin/sh
# Runs a command in a private mount namespace in which the helper's fixed
# paths are bind mounts of test directories:
#   POLICY_DIR -> /etc/apparmor.d/libvirt
#   ETC_SVIRT  -> /etc/svirt
#   PARSER     -> /sbin/apparmor_parser (and so /usr/sbin/apparmor_parser
#                 where /sbin is a link to /usr/sbin)
# (`-` for any of them keeps the host's), and in which the host locations a
# domain's paths lead to are a fixed file set, the same on a bare machine
# and on a libvirt host with ovmf, swtpm, qemu-efi, GPUs, USB and PCI
# devices (the view tests/compat/expected/ was recorded with, and the compat
# test `hermetic_view` checks):
#   /dev                     only null, zero, full, random, urandom, tty
#                            (the host's nodes), ttyS0 (char 4:64), fd,
#                            stdin, stdout, stderr, and empty pts/ and shm/
#   /sys/bus /sys/class /sys/dev /sys/kernel/iommu_groups
#                            empty: no PCI, USB, SCSI, mdev, TPM or IOMMU
#                            group is found
#   /var/lib                 only the empty directories libvirt/qemu/ (no
#                            nvram/, swtpm/ or images/, no swtpm-localca/)
#                            and svirt-ns-cwd/
#   firmware and emulator data (/usr/share/OVMF, ovmf, AAVMF, edk2,
#   edk2-ovmf, qemu, qemu-efi*, seabios, ipxe, swtpm), /boot, /etc/pki, /library,
#   libvirt's storage pool definitions (/etc/libvirt/storage,
#   /run/libvirt/storage)
#                            empty, where the directory exists
# The working directory is the empty /var/lib/svirt-ns-cwd, the same for
# every run, so relative paths in a domain resolve to nothing and PWD is
# fixed; a relative COMMAND or PARSER is resolved first. Locale and
# libvirt logging variables are reset (LC_ALL=C), so messages are never
# translated. Everything else (/tmp, /usr, /etc, /proc) is the host's:
# tests/compat/setup.sh makes the files under /tmp/svirt-compat that the
# corpus refers to.
# Usage: ns-run.sh POLICY_DIR ETC_SVIRT PARSER COMMAND [ARG...]
# Needs root (unshare --mount). The host's mounts are never changed: the
# namespace's propagation is private, so every mount vanishes with it.
set -eu
if [ $# -lt 4 ]; then
    echo "usage: ns-run.sh POLICY_DIR ETC_SVIRT PARSER COMMAND [ARG...]" >&2
    exit 2
fi
case $4 in
/*) cmd=$4 ;;
*/*) cmd=$PWD/$4 ;;
*) cmd=$4 ;;
esac
abs() {
    case $1 in -|/*) echo "$1" ;; *) echo "$PWD/$1" ;; esac
}
p=$(abs "$1")
e=$(abs "$2")
parser=$(abs "$3")
shift 4
exec env -u LANGUAGE -u LANG -u LIBVIRT_DEBUG -u LIBVIRT_LOG_FILTERS \
    -u LIBVIRT_LOG_OUTPUTS LC_ALL=C \
    unshare --mount --propagation private sh -c '
    set -e
    if [ "$1" != - ]; then
        mount --bind "$1" /etc/apparmor.d/libvirt
    fi
    if [ "$2" != - ]; then
        mount --bind "$2" /etc/svirt
    fi
    if [ "$3" != - ]; then
        mount --bind "$3" /sbin/apparmor_parser
        if [ ! /usr/sbin/apparmor_parser -ef "$3" ] && [ -e /usr/sbin/apparmor_parser ]; then
            mount --bind "$3" /usr/sbin/apparmor_parser
        fi
    fi
    empty() { mount -t tmpfs -o mode=755,size=1m svirt-hermetic "$1"; }

    # /var/lib: exists on every host; the tmpfs holds what the view keeps.
    empty /var/lib
    mkdir -p /var/lib/libvirt/qemu /var/lib/svirt-ns-cwd

    # /dev: the host device nodes the view keeps, bound through a staging
    # directory on the /var/lib tmpfs, which is removed again.
    host_dev=/var/lib/.svirt-host-dev
    mkdir "$host_dev"
    mount --bind /dev "$host_dev"
    empty /dev
    for n in null zero full random urandom tty; do
        : > "/dev/$n"
        mount --bind "$host_dev/$n" "/dev/$n"
    done
    # A serial port exists (it did where tests/compat/expected/ was
    # recorded); never opened. Without CAP_MKNOD, the host'"'"'s if it has one.
    if ! mknod -m 600 /dev/ttyS0 c 4 64 2>/dev/null; then
        : > /dev/ttyS0
        mount --bind "$host_dev/ttyS0" /dev/ttyS0
    fi
    umount "$host_dev"
    rmdir "$host_dev"
    mkdir /dev/pts /dev/shm
    ln -s /proc/self/fd /dev/fd
    ln -s /proc/self/fd/0 /dev/stdin
    ln -s /proc/self/fd/1 /dev/stdout
    ln -s /proc/self/fd/2 /dev/stderr

    for d in /sys/bus /sys/class /sys/dev /sys/kernel/iommu_groups \
        /usr/share/OVMF /usr/share/ovmf /usr/share/AAVMF /usr/share/edk2 \
        /usr/share/edk2-ovmf /usr/share/qemu /usr/share/qemu-efi* /usr/share/seabios \
        /usr/share/ipxe /usr/share/swtpm /boot /etc/pki /library \
        /etc/libvirt/storage /run/libvirt/storage; do
        if [ -d "$d" ]; then
            empty "$d"
        fi
    done

    cd /var/lib/svirt-ns-cwd
    shift 3
    exec "$@"
' ns-run "$p" "$e" "$parser" "$cmd" "$@"
