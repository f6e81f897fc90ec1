#!/bin/sh
# Regenerates the image seed corpora for the header fuzz targets:
#   fuzz/seeds/qcow2_header/  fuzz/seeds/qed_header/  fuzz/seeds/vmdk_header/
# from images made with qemu-img, each cut down to what its parser reads
# (crates/svirt/src/image/*.rs; see cut_seed below). Text VMDK descriptors
# are kept whole.
#
# Usage: fuzz/seeds/make-image-seeds.sh
# Needs qemu-img and python3. The three directories are owned by this
# script: they are emptied and rewritten. Output is deterministic for a
# given qemu-img version (VMDK CIDs, which qemu-img picks at random, are
# replaced by fixed values); other qemu-img versions may lay headers out
# slightly differently, which is fine for seeds.
set -eu

command -v qemu-img >/dev/null || { echo "qemu-img not found" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 1; }

seeds="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/svirt-image-seeds.XXXXXX")"
trap 'rm -rf "$work"' EXIT INT TERM

for t in qcow2_header qed_header vmdk_header; do
    rm -rf "${seeds:?}/$t"
    mkdir -p "$seeds/$t"
done

# cut_seed KIND SRC DST: writes the part of SRC the parser reads to DST,
# rounded up to a multiple of 512 bytes (never past the header region):
#   qcow2:      the header, its extensions up to and including the end
#               marker, and the backing file name (all in the first cluster);
#   qed:        the header and the backing file name;
#   vmdk:       a sparse file's header and its embedded descriptor up to the
#               text's terminating NUL; a text descriptor whole. VMDK CIDs
#               are made fixed.
#   qcow2-nofmt: as qcow2, but the backing format extension is removed and
#               the backing name moved up behind the remaining extensions
#               (qemu-img >= 6.1 refuses to write such images; older ones
#               and other tools do).
cut_seed() {
    python3 - "$@" <<'EOF'
import re, struct, sys

kind, src, dst = sys.argv[1:4]
LIMIT = 64 * 1024
data = open(src, "rb").read(4 << 20)

def cut_at(end, region):
    """The first `end` bytes rounded up to 512, within the header region."""
    want = max(-(-end // 512) * 512, 512)
    return data[:min(want, region, LIMIT, len(data))]

def qcow2_end():
    version = struct.unpack(">I", data[4:8])[0]
    pos = 72 if version == 2 else struct.unpack(">I", data[100:104])[0]
    while True:
        etype, elen = struct.unpack(">II", data[pos:pos + 8])
        pos += 8
        if etype == 0:
            break
        pos += -(-elen // 8) * 8
    boff, bsize = struct.unpack(">QI", data[8:20])
    return max(pos, boff + bsize if boff else 0)

def fixed_cids(buf):
    # qemu-img picks CIDs at random (and prints them without leading
    # zeros); keep ffffffff ("no parent").
    def sub(m):
        if m.group(2) == b"ffffffff":
            return m.group(0)
        value = b"5eed0001" if m.group(1) == b"CID" else b"5eed0002"
        return m.group(1) + b"=" + value
    return re.sub(rb"(?m)^(CID|parentCID)=([0-9a-f]{1,8})$", sub, buf)

if kind in ("qcow2", "qcow2-nofmt"):
    bits = struct.unpack(">I", data[20:24])[0]
    out = cut_at(qcow2_end(), 1 << bits)
    if kind == "qcow2-nofmt":
        version = struct.unpack(">I", data[4:8])[0]
        hlen = 72 if version == 2 else struct.unpack(">I", data[100:104])[0]
        boff, bsize = struct.unpack(">QI", data[8:20])
        name = data[boff:boff + bsize]
        exts, pos = b"", hlen
        while True:
            etype, elen = struct.unpack(">II", data[pos:pos + 8])
            if etype == 0:
                break
            padded = -(-elen // 8) * 8
            if etype != 0xE2792ACA:
                exts += data[pos:pos + 8 + padded]
            pos += 8 + padded
        head = bytearray(data[:hlen])
        body = exts + b"\0" * 8
        head[8:16] = struct.pack(">Q", hlen + len(body))
        out = bytes(head) + body + name
        out += b"\0" * (-len(out) % 512)
elif kind == "qed":
    cluster, _table, clusters = struct.unpack("<III", data[4:16])
    features = struct.unpack("<Q", data[16:24])[0]
    boff, bsize = struct.unpack("<II", data[56:64])
    out = cut_at(max(64, boff + bsize if features & 1 else 0), cluster * clusters)
elif kind == "vmdk":
    if data[:4] == b"KDMV":
        off, sectors = struct.unpack("<QQ", data[28:44])
        if off and sectors:
            start = off * 512
            text = data[start:start + sectors * 512].split(b"\0", 1)[0]
            text = fixed_cids(text)
            head = cut_at(start + len(text) + 1, start + sectors * 512)
            out = head[:start] + text
            out += b"\0" * max(len(head) - len(out), 1)
        else:
            out = cut_at(512, 512)
    else:
        out = fixed_cids(data)
else:
    sys.exit(f"unknown kind {kind}")
open(dst, "wb").write(out)
EOF
}

q() { qemu-img create -q "$@"; }

cd "$work"

# ---- qcow2 ----------------------------------------------------------------
out="$seeds/qcow2_header"
q -f qcow2 -o compat=0.10 v2-plain.qcow2 1M
q -f qcow2 -o compat=0.10 -u -b base.raw -F raw v2-backing-fmt-raw.qcow2 1M
q -f qcow2 -o compat=0.10 -u -b base.qcow2 -F qcow2 v2-backing-fmt-qcow2.qcow2 1M
q -f qcow2 -o compat=1.1 v3-plain.qcow2 1M
q -f qcow2 -u -b base.qcow2 -F qcow2 v3-backing-relative-fmt-qcow2.qcow2 1M
q -f qcow2 -u -b /var/lib/libvirt/images/debian-12-base.qcow2 -F qcow2 \
    v3-backing-absolute.qcow2 1M
q -f qcow2 -u -b '../base dir/ünïcode [1]*.raw' -F raw v3-backing-odd-name.qcow2 1M
q -f qcow2 -u -b base.vmdk -F vmdk v3-backing-fmt-vmdk.qcow2 1M
q -f qcow2 -u -b 'json:{"file":{"driver":"file","filename":"/srv/base.raw"}}' -F raw \
    v3-backing-json.qcow2 1M
q -f qcow2 -o data_file=data.raw v3-data-file.qcow2 1M
q -f qcow2 -o data_file=/var/lib/libvirt/images/vm-data.raw,data_file_raw=on \
    v3-data-file-raw.qcow2 1M
q -f qcow2 -o data_file=data.raw -u -b base.qcow2 -F qcow2 v3-data-file-and-backing.qcow2 1M
q -f qcow2 -o compression_type=zstd v3-zstd.qcow2 1M
q -f qcow2 -o extended_l2=on,cluster_size=16k v3-extended-l2.qcow2 1M
q -f qcow2 -o cluster_size=512 v3-cluster-512.qcow2 1M
q -f qcow2 -o cluster_size=2M v3-cluster-2M.qcow2 1M
q -f qcow2 -o lazy_refcounts=on,refcount_bits=64 v3-lazy-refcounts.qcow2 1M
# Compressed clusters: the header is that of a plain image, the data
# clusters (dropped by the cut) are compressed.
head -c 65536 /dev/zero | tr '\0' 'x' > data.bin
qemu-img convert -q -c -f raw -O qcow2 data.bin v3-converted-compressed.qcow2
for f in *.qcow2; do
    cut_seed qcow2 "$f" "$out/$f"
done
cut_seed qcow2-nofmt v2-backing-fmt-raw.qcow2 "$out/v2-backing-nofmt-patched.qcow2"
cut_seed qcow2-nofmt v3-backing-relative-fmt-qcow2.qcow2 "$out/v3-backing-nofmt-patched.qcow2"

# ---- QED -------------------------------------------------------------------
out="$seeds/qed_header"
q -f qed plain.qed 1M
q -f qed -u -b base.raw -F raw backing-raw.qed 1M
q -f qed -u -b base.qcow2 -F qcow2 backing-probed.qed 1M
q -f qed -u -b /var/lib/libvirt/images/debian-12-base.qcow2 -F qcow2 backing-absolute.qed 1M
q -f qed -u -b '../base dir/ünïcode [1]*.img' -F raw backing-odd-name.qed 1M
q -f qed -o cluster_size=4096,table_size=16 small-clusters.qed 1M
q -f qed -o cluster_size=4096 -u -b base.qed -F qed small-clusters-backing.qed 1M
for f in *.qed; do
    cut_seed qed "$f" "$out/$f"
done

# ---- VMDK ------------------------------------------------------------------
out="$seeds/vmdk_header"
q -f vmdk -o subformat=monolithicSparse monolithicSparse.vmdk 1M
q -f vmdk -o subformat=monolithicSparse,zeroed_grain=on monolithicSparse-zeroed-grain.vmdk 1M
q -f vmdk -o subformat=monolithicSparse,adapter_type=lsilogic,hwversion=6 \
    monolithicSparse-lsilogic.vmdk 1M
q -f vmdk -o subformat=streamOptimized streamOptimized.vmdk 1M
q -f vmdk -o subformat=monolithicFlat monolithicFlat.vmdk 1M
q -f vmdk -o subformat=monolithicFlat 'flat with space.vmdk' 1M
# Two extents each: the extents are sparse files (twoGbMaxExtentFlat
# allocates nothing either).
q -f vmdk -o subformat=twoGbMaxExtentSparse twoGbMaxExtentSparse.vmdk 3G
q -f vmdk -o subformat=twoGbMaxExtentFlat twoGbMaxExtentFlat.vmdk 3G
q -f vmdk -b monolithicSparse.vmdk -F vmdk child-relative.vmdk
# qemu-img reads the parent's CID, so the parent must exist: name it by its
# absolute scratch path, rewritten to a fixed one below.
cp monolithicSparse.vmdk debian-12-base.vmdk
q -f vmdk -b "$work/debian-12-base.vmdk" -F vmdk child-absolute.vmdk
for f in monolithicSparse.vmdk monolithicSparse-zeroed-grain.vmdk \
    monolithicSparse-lsilogic.vmdk streamOptimized.vmdk monolithicFlat.vmdk \
    'flat with space.vmdk' twoGbMaxExtentSparse.vmdk \
    twoGbMaxExtentSparse-s001.vmdk twoGbMaxExtentFlat.vmdk \
    child-relative.vmdk child-absolute.vmdk; do
    cut_seed vmdk "$f" "$out/$(echo "$f" | tr ' ' '-')"
done
# The parent hint names the scratch directory: make it a fixed path. The
# descriptor is the last thing in the cut file and NUL-terminated, so the
# shorter text is padded with NULs to the same length.
python3 - "$out/child-absolute.vmdk" "$work/" <<'EOF'
import sys
path, scratch = sys.argv[1], sys.argv[2].encode()
data = open(path, "rb").read()
fixed = b"/var/lib/libvirt/images/"
assert len(fixed) < len(scratch) and scratch in data
out = data.replace(scratch, fixed)
open(path, "wb").write(out + b"\0" * (len(data) - len(out)))
EOF

# A hand-written descriptor: read-only and read-write extents of several
# kinds, a ZERO extent (names no file), a parent hint, odd file names.
cat > "$out/hand-written-descriptor.vmdk" <<'EOF'
# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=5eed0001
parentCID=5eed0002
createType="vmfsSparse"
parentFileNameHint="../base images/base.vmdk"

# Extent description
RDONLY 2097152 SPARSE "ro-part-s001.vmdk"
RW 2097152 FLAT "rw part-f002.vmdk" 0
RW 1048576 FLAT "/srv/vm/disks/abs-f003.vmdk" 2048
RDONLY 1024 VMFS "vmfs-extent.vmdk"
NOACCESS 512 FLAT "noaccess.vmdk" 0
RW 4096 ZERO
RW 8 SPARSE "ünïcode*[x].vmdk"

# The Disk Data Base
#DDB

ddb.virtualHWVersion = "4"
ddb.adapterType = "ide"
EOF
