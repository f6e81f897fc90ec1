#!/bin/sh
# Creates the fixed files the compat corpus refers to, under /tmp/svirt-compat.
# Run before recording (record-libvirt.sh does) and before comparing.
set -eu
D=${SVIRT_COMPAT_DIR:-/tmp/svirt-compat}
rm -rf "$D"
mkdir -p "$D/share" "$D/ro-share" "$D/dir-disk" "$D/fw" "$D/nssdb"
for f in 1.img ro.img cdrom.iso kernel initrd dtb slic.bin OVMF_CODE.fd \
    nvram.fd fwcfg.bin xauth nvdimm.img pmem.img 'a*b[1].img' 'sp ace.img' \
    data.raw; do
    : > "$D/$f"
done
ln -s 1.img "$D/link.img"
if command -v qemu-img >/dev/null 2>&1; then
    qemu-img create -q -f raw "$D/base.raw" 1M
    qemu-img create -q -f qcow2 -F raw -b "$D/base.raw" "$D/mid.qcow2"
    qemu-img create -q -f qcow2 -F qcow2 -b mid.qcow2 "$D/top.qcow2"
    qemu-img create -q -f qcow2 -o data_file="$D/data.raw" "$D/withdata.qcow2" 1M
fi
