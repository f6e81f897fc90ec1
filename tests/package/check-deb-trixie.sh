#!/bin/sh
# check-deb-trixie.sh [DEB] — the package on Debian 13: installs, writes
# `libvirt = 11.3`, diverts libvirt 11.3's helper and gives it back byte for
# byte, and purges clean, with dpkg in a throw-away copy of the trixie root
# (tests/libvirt-corpus/trixie-root.sh; an overlay in a private mount namespace,
# so the cached root is not changed). No AppArmor here: the maintainer
# scripts must tolerate that (a container, a chroot).
# One PASS/FAIL line per check. Exits 77 when there is no trixie root.
set -u
cd "$(dirname "$0")/../.."
deb=${1:-$(scripts/package.sh)}
[ -f "$deb" ] || { echo "check-deb-trixie: $deb not found (scripts/package.sh)" >&2; exit 1; }
root=${SVIRT_TRIXIE_ROOT:-$(tests/libvirt-corpus/trixie-root.sh)} || { echo "check-deb-trixie: no trixie root" >&2; exit 77; }
[ "$(id -u)" = 0 ] || { echo "check-deb-trixie: needs root (unshare, chroot)" >&2; exit 77; }

work=$(mktemp -d /tmp/svirt-deb-trixie.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$deb" "$work/svirt.deb"
cat >"$work/inner.sh" <<'EOF'
#!/bin/sh
# runs in the trixie copy
set -u
p() { echo "PASS: [deb-trixie] $*"; }
f() { echo "FAIL: [deb-trixie] $*"; }
H=/usr/lib/libvirt/virt-aa-helper
CONF=/etc/svirt/virt-aa-helper.conf
before=$(sha256sum <$H)
v=$(dpkg-query -W -f='${Version}' libvirt-daemon)
p "Debian $(cat /etc/debian_version), libvirt-daemon $v"
if dpkg -i /tmp/svirt.deb >/tmp/dpkg.log 2>&1; then p "dpkg -i on Debian 13"; else f "dpkg -i: $(cat /tmp/dpkg.log)"; fi
[ "$(dpkg-query -W -f='${Status}' svirt 2>/dev/null)" = "install ok installed" ] && p "status: install ok installed" || f "svirt is not installed"
[ "$(dpkg-divert --listpackage $H)" = svirt ] && p "libvirt's helper diverted by svirt" || f "no diversion of $H"
[ "$(sha256sum <$H.distrib)" = "$before" ] && p "$H.distrib is libvirt 11.3's helper, byte for byte" || f "$H.distrib differs from libvirt's helper"
cmp -s $H /tmp/ours && p "$H is svirt's helper" || f "$H is not svirt's helper"
grep -qx 'libvirt = 11.3' $CONF && p "$CONF says libvirt = 11.3 (from libvirt-daemon $v)" || f "$CONF: $(cat $CONF 2>&1)"
/usr/bin/svirt --version >/dev/null 2>&1 && p "svirt runs on Debian 13: $(/usr/bin/svirt --version)" || f "svirt does not run"
# compat mode writes 9.0's `#include <…>` but 11.3's `#include if exists <…>`
echo 'mode = compat' >>$CONF
echo '<domain type="kvm"><name>t</name><uuid>3e3fce45-4f53-4fa7-bb32-11f34168b82b</uuid><memory>1</memory><os><type>hvm</type></os></domain>' |
	$H -d -c -u libvirt-3e3fce45-4f53-4fa7-bb32-11f34168b82b >/tmp/dry.txt 2>&1 &&
	grep -q 'include if exists <libvirt/libvirt-3e3fce45-4f53-4fa7-bb32-11f34168b82b.files>' /tmp/dry.txt &&
	p "the installed helper reads libvirt = 11.3: in compat mode its dry run writes 11.3's include line" ||
	f "dry run: $(cat /tmp/dry.txt)"
sed -i '/^mode = compat$/d' $CONF
# AppArmor 4.1's parser compiles svirt's policy: the helper profile, and
# svirt's template with its abstraction (svirt policy install checks that)
pv=$(apparmor_parser --version | head -1)
apparmor_parser -Q -K /etc/apparmor.d/svirt.virt-aa-helper >/tmp/aa.log 2>&1 &&
	p "$pv compiles svirt's helper profile" || f "$pv: svirt.virt-aa-helper: $(cat /tmp/aa.log)"
/usr/bin/svirt policy install >/tmp/aa.log 2>&1 && [ -f /etc/apparmor.d/libvirt/svirt.TEMPLATE.qemu ] &&
	p "$pv compiles svirt's template and abstraction (svirt policy install)" || f "svirt policy install: $(cat /tmp/aa.log)"
/usr/bin/svirt policy restore >/tmp/aa.log 2>&1 && [ ! -e /etc/apparmor.d/libvirt/svirt.TEMPLATE.qemu ] &&
	p "svirt policy restore" || f "svirt policy restore: $(cat /tmp/aa.log)"
dpkg -i /tmp/svirt.deb >/tmp/dpkg.log 2>&1 && [ "$(grep -c '^libvirt' $CONF)" = 1 ] && p "dpkg -i again: idempotent, one libvirt line" || f "reinstall: $(cat /tmp/dpkg.log; cat $CONF)"
if dpkg -r svirt >/tmp/dpkg.log 2>&1; then p "dpkg -r"; else f "dpkg -r: $(cat /tmp/dpkg.log)"; fi
[ -z "$(dpkg-divert --listpackage $H)" ] && [ "$(sha256sum <$H)" = "$before" ] && p "after remove: no diversion, libvirt 11.3's helper back byte for byte" || f "after remove: the helper is not libvirt's"
[ ! -e $CONF ] && p "after remove: the package's $CONF is gone" || f "after remove: $CONF is left: $(cat $CONF)"
if dpkg -P svirt >/tmp/dpkg.log 2>&1; then p "dpkg -P"; else f "dpkg -P: $(cat /tmp/dpkg.log)"; fi
[ ! -e /var/lib/svirt ] && [ ! -e /usr/bin/svirt ] && [ ! -e /etc/apparmor.d/svirt.virt-aa-helper ] && p "after purge: nothing of svirt is left" || f "after purge: files left"
EOF
chmod 755 "$work/inner.sh"
dpkg-deb -x "$deb" "$work/x" && cp "$work/x/usr/lib/libvirt/virt-aa-helper" "$work/ours"
unshare --mount --propagation private sh -c '
	set -e
	w=$1 root=$2
	mkdir -p "$w/u" "$w/w" "$w/m"
	mount -t overlay overlay -o "lowerdir=$root,upperdir=$w/u,workdir=$w/w" "$w/m"
	mount -t proc proc "$w/m/proc"
	cp "$w/svirt.deb" "$w/inner.sh" "$w/ours" "$w/m/tmp/"
	chroot "$w/m" /tmp/inner.sh
' sh "$work" "$root" >"$work/out.txt" 2>&1
cat "$work/out.txt"
grep -q '^PASS:' "$work/out.txt" || { echo "check-deb-trixie: the trixie copy could not be used"; exit 1; }
if grep -q '^FAIL:' "$work/out.txt"; then
	echo "check-deb-trixie: $(grep -c '^FAIL:' "$work/out.txt") check(s) FAILED"
	exit 1
fi
echo "check-deb-trixie: all $(grep -c '^PASS:' "$work/out.txt") checks passed"
