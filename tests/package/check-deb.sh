#!/bin/sh
# Checks the Debian package on the host, without installing it (the real
# install and removal, with the diversion and the AppArmor profiles, is the
# `package` section of tests/kernel/suite.sh):
#
#   tests/package/check-deb.sh [DEB]    # default: build it with scripts/package.sh
#
# The control fields; every file at its path with its mode, as a regular
# file; which files are conffiles (svirt's helper profile must not be one);
# the packaged binaries and policy byte for byte; the man pages and
# completions non-empty and naming every subcommand; the maintainer scripts
# and the apt hook parse. One PASS:/FAIL: line per check; exits 1 if any
# failed.
set -eu
cd "$(dirname "$0")/../.."

if [ $# -ge 1 ]; then
	deb=$1
else
	deb=$(scripts/package.sh)
fi
[ -f "$deb" ] || { echo "check-deb: no package at '$deb'" >&2; exit 1; }
bin=${CARGO_TARGET_DIR:-target}/release

fails=0 passes=0
pass() { echo "PASS: [package] $*"; passes=$((passes + 1)); }
fail() { echo "FAIL: [package] $*"; fails=$((fails + 1)); }
check() { # DESC COMMAND...
	d=$1
	shift
	if "$@"; then pass "$d"; else fail "$d"; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
dpkg-deb -x "$deb" "$root"
dpkg-deb -e "$deb" "$tmp/DEBIAN"
dpkg-deb --contents "$deb" >"$tmp/contents"

# ------------------------------------------------------------------ control --
field() { dpkg-deb --field "$deb" "$1"; }
version=$(sed -n '/^\[workspace\.package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml)
arch=$(dpkg --print-architecture)
[ "$(field Package)" = svirt ] && pass "Package: svirt" || fail "Package: '$(field Package)'"
[ "$(field Version)" = "$version" ] && pass "Version: $version (the workspace's)" ||
	fail "Version: '$(field Version)', Cargo.toml says '$version'"
[ "$(field Architecture)" = "$arch" ] && pass "Architecture: $arch" || fail "Architecture: '$(field Architecture)'"
[ "${deb##*/}" = "svirt_${version}_$arch.deb" ] && pass "file name ${deb##*/}" || fail "file name ${deb##*/}"
field Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qx apparmor &&
	pass "Depends: $(field Depends)" || fail "Depends lacks apparmor: '$(field Depends)'"
field Recommends | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qx libvirt-daemon &&
	pass "Recommends: libvirt-daemon" || fail "Recommends: '$(field Recommends)'"
[ "$(field Section)" = admin ] && [ "$(field Priority)" = optional ] &&
	pass "Section: admin, Priority: optional" || fail "Section '$(field Section)', Priority '$(field Priority)'"
field Maintainer | grep -q '^[^<]* <[^>]*@[^>]*>$' && pass "Maintainer: $(field Maintainer)" ||
	fail "Maintainer: '$(field Maintainer)'"
field Description | grep -qi apparmor && [ "$(field Description | wc -l)" -gt 3 ] &&
	pass "Description: $(field Description | head -1)" || fail "Description: '$(field Description)'"
size=$(field Installed-Size)
bytes=$(find "$root" -type f -printf '%s\n' | awk '{ n += $1 } END { print n + 0 }')
if [ "$size" -ge $((bytes / 1024)) ] 2>/dev/null && [ "$size" -le $((bytes / 1024 + 200)) ]; then
	pass "Installed-Size: $size KiB for $bytes bytes of files"
else
	fail "Installed-Size: '$size' KiB, but the files hold $bytes bytes"
fi

# -------------------------------------------------------------------- files --
# MODE PATH: every one a regular file with exactly this mode, owned by root.
while read -r mode path; do
	line=$(awk -v p="./$path" '$6 == p' "$tmp/contents")
	if [ -z "$line" ]; then
		fail "missing /$path"
		continue
	fi
	set -- $line
	if [ "$1" = "$mode" ] && [ "$2" = root/root ]; then
		pass "/$path $1 $2"
	else
		fail "/$path is '$1 $2', want '$mode root/root' (a regular file)"
	fi
done <<'EOF'
-rwxr-xr-x usr/bin/svirt
-rwxr-xr-x usr/lib/libvirt/virt-aa-helper
-rwxr-xr-x usr/lib/svirt/reload-helper-profile
-rwxr-xr-x usr/lib/svirt/set-libvirt-version
-rw-r--r-- etc/apparmor.d/abstractions/svirt-qemu
-rw-r--r-- etc/apparmor.d/svirt.virt-aa-helper
-rw-r--r-- etc/apt/apt.conf.d/99svirt-virt-aa-helper
-rw-r--r-- usr/share/svirt/policy/TEMPLATE.qemu
-rw-r--r-- usr/share/man/man1/svirt.1.gz
-rw-r--r-- usr/share/man/man8/virt-aa-helper.8.gz
-rw-r--r-- usr/share/bash-completion/completions/svirt
-rw-r--r-- usr/share/zsh/vendor-completions/_svirt
-rw-r--r-- usr/share/fish/vendor_completions.d/svirt.fish
-rw-r--r-- usr/share/doc/svirt/copyright
EOF
bad=$(awk '$1 !~ /^[d-]/ || $2 != "root/root"' "$tmp/contents")
[ -z "$bad" ] && pass "only directories and regular files, all root/root" || fail "unexpected entries: $bad"
# Nothing outside the places a package may write.
bad=$(awk '{ print $6 }' "$tmp/contents" | grep -v -e '^\./$' -e '^\./etc/' -e '^\./usr/' || true)
[ -z "$bad" ] && pass "everything is under /etc and /usr" || fail "files outside /etc and /usr: $bad"

same() { # PACKAGED SOURCE
	cmp -s "$root/$1" "$2" && pass "/$1 is $2, byte for byte" || fail "/$1 differs from $2"
}
same usr/bin/svirt "$bin/svirt"
same usr/lib/libvirt/virt-aa-helper "$bin/virt-aa-helper"
same etc/apparmor.d/abstractions/svirt-qemu policy/abstractions/svirt-qemu
same usr/share/svirt/policy/TEMPLATE.qemu policy/TEMPLATE.qemu
same etc/apparmor.d/svirt.virt-aa-helper policy/usr.lib.libvirt.virt-aa-helper
grep -q '^profile virt-aa-helper /usr/lib/libvirt/virt-aa-helper ' "$root/etc/apparmor.d/svirt.virt-aa-helper" &&
	pass "svirt.virt-aa-helper is the profile 'virt-aa-helper' for /usr/lib/libvirt/virt-aa-helper" ||
	fail "svirt.virt-aa-helper does not define profile virt-aa-helper for the helper's path"

# ---------------------------------------------------------------- conffiles --
want_conffiles='/etc/apparmor.d/abstractions/svirt-qemu
/etc/apt/apt.conf.d/99svirt-virt-aa-helper'
got=$(sort "$tmp/DEBIAN/conffiles" 2>/dev/null || true)
[ "$got" = "$want_conffiles" ] && pass "conffiles: $(echo "$got" | tr '\n' ' ')" ||
	fail "conffiles are '$(echo "$got" | tr '\n' ' ')', want '$(echo "$want_conffiles" | tr '\n' ' ')'"
grep -qx /etc/apparmor.d/svirt.virt-aa-helper "$tmp/DEBIAN/conffiles" 2>/dev/null &&
	fail "svirt's helper profile is a conffile: it would stay after dpkg -r and be loaded at boot" ||
	pass "svirt's helper profile is not a conffile (dpkg -r deletes it)"

# ---------------------------------------------------------------- man pages --
# The visible subcommands, from the packaged binary's own help.
subs=$("$root/usr/bin/svirt" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' | grep -vx help)
[ "$(echo "$subs" | wc -l)" -ge 9 ] && echo "$subs" | grep -qx completions &&
	pass "svirt's subcommands: $(echo $subs)" || fail "svirt --help lists too few subcommands: $(echo $subs)"
man_text() { # PAGE.gz: the page as text
	zcat "$1" | MANWIDTH=200 man -l - 2>/dev/null
}
top=$(man_text "$root/usr/share/man/man1/svirt.1.gz")
for s in $subs; do
	p=$root/usr/share/man/man1/svirt-$s.1.gz
	if [ -s "$p" ] && man_text "$p" | grep -q "svirt-$s"; then
		pass "svirt-$s.1.gz renders and names svirt-$s"
	else
		fail "svirt-$s.1.gz is missing, empty or does not render"
	fi
	echo "$top" | grep -qw -- "$s" && pass "svirt(1) mentions $s" || fail "svirt(1) does not mention $s"
done
ls "$root/usr/share/man/man1" | grep -q '__' && fail "a hidden subcommand got a man page" ||
	pass "no man page for hidden subcommands"
helper=$(man_text "$root/usr/share/man/man8/virt-aa-helper.8.gz")
missing=""
for o in --add --create --delete --replace --remove --dryrun --uuid --help --add-file --append-file \
	-a -c -D -r -R -d -u -h -f -F; do
	echo "$helper" | grep -q -- "$o\\b" || missing="$missing $o"
done
[ -z "$missing" ] && pass "virt-aa-helper(8) documents every option of the usage text" ||
	fail "virt-aa-helper(8) lacks:$missing"
# Every option of the packaged helper's own usage is in the page.
usage_opts=$("$root/usr/lib/libvirt/virt-aa-helper" -h | grep -o -- '--[a-z-]*' | sort -u)
missing=""
for o in $usage_opts; do echo "$helper" | grep -q -- "$o\\b" || missing="$missing $o"; done
[ -n "$usage_opts" ] && [ -z "$missing" ] &&
	pass "virt-aa-helper(8) covers the packaged helper's -h: $(echo $usage_opts)" ||
	fail "virt-aa-helper(8) lacks options of virt-aa-helper -h:$missing"

# -------------------------------------------------------------- completions --
for c in usr/share/bash-completion/completions/svirt usr/share/zsh/vendor-completions/_svirt \
	usr/share/fish/vendor_completions.d/svirt.fish; do
	missing=""
	for s in $subs; do grep -qw -- "$s" "$root/$c" || missing="$missing $s"; done
	[ -s "$root/$c" ] && [ -z "$missing" ] && pass "/$c names every subcommand" ||
		fail "/$c is empty or lacks:$missing"
done
check "the bash completion parses (bash -n)" bash -n "$root/usr/share/bash-completion/completions/svirt"
if command -v zsh >/dev/null; then
	check "the zsh completion parses (zsh -n)" zsh -n "$root/usr/share/zsh/vendor-completions/_svirt"
fi
if command -v fish >/dev/null; then
	check "the fish completion parses (fish -n)" fish -n "$root/usr/share/fish/vendor_completions.d/svirt.fish"
fi
grep -q '^#compdef svirt' "$root/usr/share/zsh/vendor-completions/_svirt" &&
	pass "the zsh completion starts with #compdef svirt" || fail "the zsh completion lacks #compdef svirt"

# -------------------------------------------------------- maintainer scripts --
for s in preinst postinst prerm postrm; do
	f=$tmp/DEBIAN/$s
	if [ ! -f "$f" ]; then
		fail "no $s"
		continue
	fi
	[ "$(stat -c %a "$f")" = 755 ] && pass "$s is mode 755" || fail "$s is mode $(stat -c %a "$f")"
	[ "$(head -1 "$f")" = '#!/bin/sh' ] && pass "$s is #!/bin/sh" || fail "$s starts with '$(head -1 "$f")'"
	grep -qx 'set -e' "$f" && pass "$s has set -e" || fail "$s lacks set -e"
	check "$s parses (sh -n)" sh -n "$f"
	if command -v dash >/dev/null; then check "$s parses (dash -n)" dash -n "$f"; fi
	if command -v checkbashisms >/dev/null; then check "$s: checkbashisms" checkbashisms "$f"; fi
done
check "reload-helper-profile parses (sh -n)" sh -n "$root/usr/lib/svirt/reload-helper-profile"
grep -q 'dpkg-divert --package svirt --rename' "$tmp/DEBIAN/preinst" &&
	grep -q -- '--divert /usr/lib/libvirt/virt-aa-helper.distrib' "$tmp/DEBIAN/preinst" &&
	pass "preinst diverts libvirt's helper to virt-aa-helper.distrib" || fail "preinst does not divert the helper"
grep -q 'dpkg-divert --package svirt --rename --remove /usr/lib/libvirt/virt-aa-helper' "$tmp/DEBIAN/postrm" &&
	pass "postrm removes the diversion" || fail "postrm does not remove the diversion"
# The apt hook is valid apt configuration and runs the reload script.
hook=$(apt-config -c "$root/etc/apt/apt.conf.d/99svirt-virt-aa-helper" dump DPkg::Post-Invoke 2>&1)
echo "$hook" | grep -q 'reload-helper-profile' && pass "apt-config reads the hook: $(echo "$hook" | tail -1)" ||
	fail "apt-config does not read a DPkg::Post-Invoke hook from the apt hook file: $hook"
# set-libvirt-version: the key follows libvirt-daemon's version (a fake
# dpkg-query first in PATH), keeps the administrator's own value and lines,
# and --remove takes out only its own.
slv=$root/usr/lib/svirt/set-libvirt-version
check "set-libvirt-version parses (sh -n)" sh -n "$slv"
mkdir -p "$tmp/fakebin" "$tmp/etc"
run_slv() { # $1 = libvirt-daemon version ("" = not installed), then arguments
	v=$1
	shift
	printf '#!/bin/sh\n[ -n "%s" ] || exit 1\nprintf %%s "%s"\n' "$v" "$v" >"$tmp/fakebin/dpkg-query"
	chmod 755 "$tmp/fakebin/dpkg-query"
	env SVIRT_CONF="$tmp/etc/virt-aa-helper.conf" PATH="$tmp/fakebin:/usr/bin:/bin" sh "$slv" "$@"
}
conf=$tmp/etc/virt-aa-helper.conf
key() { grep '^libvirt = ' "$conf" 2>/dev/null | sed 's/^libvirt = //'; }
rm -f "$conf"
run_slv "" && [ ! -e "$conf" ] && pass "set-libvirt-version: no libvirt-daemon, no file" ||
	fail "set-libvirt-version wrote $conf without libvirt-daemon"
run_slv "9.0.0-4+deb12u2" && [ ! -e "$conf" ] && pass "set-libvirt-version: libvirt-daemon 9.0.0-4+deb12u2 writes nothing (9.0 is the default)" ||
	fail "set-libvirt-version with 9.0.0-4+deb12u2 wrote $conf"
printf 'mode = compat\nescape_paths = true\n' >"$conf"
run_slv "11.3.0-3+deb13u3" && [ "$(key)" = 11.3 ] && grep -qx 'escape_paths = true' "$conf" &&
	[ "$(grep -c '^libvirt' "$conf")" = 1 ] &&
	pass "set-libvirt-version: an upgrade to 11.3.0-3+deb13u3 gives libvirt = 11.3, other lines kept" ||
	fail "set-libvirt-version upgrade: $(tr '\n' '|' <"$conf")"
run_slv "9.0.0-4+deb12u2" && [ -z "$(key)" ] && grep -qx 'mode = compat' "$conf" &&
	pass "set-libvirt-version: a downgrade to 9.0 takes out its key, other lines kept" || fail "downgrade: $(tr '\n' '|' <"$conf")"
run_slv "11.3.0-3+deb13u3" && run_slv "11.3.0-3+deb13u3" --remove && [ -z "$(key)" ] && grep -qx 'mode = compat' "$conf" &&
	pass "set-libvirt-version --remove takes out only its own key" || fail "--remove: $(tr '\n' '|' <"$conf")"
printf 'libvirt = 9.0\n' >"$conf"
run_slv "11.3.0-3+deb13u3" && [ "$(key)" = 9.0 ] && pass "set-libvirt-version keeps an administrator's own libvirt = 9.0" ||
	fail "set-libvirt-version changed the administrator's key: $(tr '\n' '|' <"$conf")"
run_slv "11.3.0-3+deb13u3" --remove && [ "$(key)" = 9.0 ] && pass "--remove leaves the administrator's key" ||
	fail "--remove removed the administrator's key"
# Without AppArmor (as on this host, or in a container) the reload script
# does nothing and succeeds.
if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" != Y ]; then
	check "reload-helper-profile succeeds without AppArmor" sh "$root/usr/lib/svirt/reload-helper-profile"
fi

echo
if [ "$fails" = 0 ]; then
	echo "check-deb: all $passes checks passed ($deb)"
	exit 0
fi
echo "check-deb: $fails of $((passes + fails)) checks FAILED ($deb)"
exit 1
