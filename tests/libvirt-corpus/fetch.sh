#!/bin/sh
# Fetches and unpacks Debian's libvirt source package (with Debian's patches
# applied: plain `dpkg-source -x`), whose tests/ hold libvirt's own test
# domains, and prints the source directory on stdout. Idempotent: a complete
# unpacked tree of the wanted version is reused.
#
#   SVIRT_LIBVIRT_SUITE    bookworm (default: Debian 12, libvirt 9.0) or trixie
#                          (Debian 13, libvirt 11.3)
#   SVIRT_LIBVIRT_SRC      where the tree goes (default ~/.cache/svirt-libvirt-src;
#                          for trixie SVIRT_LIBVIRT_11_SRC, default
#                          ~/.cache/svirt-libvirt-11.3-src)
#   SVIRT_LIBVIRT_VERSION  the source version (bookworm's default: that of the
#                          installed libvirt-daemon, else 9.0.0-4+deb12u2;
#                          trixie's: the newest the suite has, and a tree
#                          fetched from trixie before is reused as it is)
#   SVIRT_DEBIAN_MIRROR    default http://deb.debian.org
#
# Nothing is written outside that directory except dpkg-dev (dpkg-source),
# installed with apt-get when missing (as root, or through sudo). The host's
# apt sources are not touched: the deb-src index lives in a temporary
# directory. Exits 77 when the package cannot be fetched or unpacked.
set -eu

suite=${SVIRT_LIBVIRT_SUITE:-bookworm}
version=${SVIRT_LIBVIRT_VERSION:-}
mirror=${SVIRT_DEBIAN_MIRROR:-http://deb.debian.org}

fail() {
	echo "fetch.sh: $*" >&2
	exit 77
}

case $suite in
bookworm)
	dest=${SVIRT_LIBVIRT_SRC:-${HOME:?}/.cache/svirt-libvirt-src}
	if [ -z "$version" ]; then
		version=$(dpkg-query -W -f='${source:Version}' libvirt-daemon 2>/dev/null || true)
		case $version in
		9.0.*) ;;
		*) version=9.0.0-4+deb12u2 ;;
		esac
	fi
	;;
trixie)
	dest=${SVIRT_LIBVIRT_11_SRC:-${HOME:?}/.cache/svirt-libvirt-11.3-src}
	;;
*) fail "SVIRT_LIBVIRT_SUITE must be bookworm or trixie, not $suite" ;;
esac
stamp="$dest/.svirt-libvirt-version"

if [ -d "$dest/tests" ] && [ ! -e "$stamp" ]; then
	# Unpacked by hand: use it as it is.
	echo "fetch.sh: using $dest as it is (not fetched by this script)" >&2
	echo "$dest"
	exit 0
fi
if [ -d "$dest/tests" ] && [ -n "$version" ] && [ "$(cat "$stamp")" = "$version" ]; then
	echo "$dest"
	exit 0
fi
if [ -d "$dest/tests" ] && [ -z "$version" ] && [ -e "$dest/.svirt-libvirt-suite" ] &&
	[ "$(cat "$dest/.svirt-libvirt-suite")" = "$suite" ]; then
	echo "$dest"
	exit 0
fi
# Only ever replace a tree this script made.
if [ -e "$dest" ] && [ ! -e "$stamp" ] && [ -n "$(ls -A "$dest" 2>/dev/null)" ]; then
	fail "$dest exists and is not a libvirt source tree; not touching it"
fi

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
if ! command -v dpkg-source >/dev/null 2>&1; then
	echo "fetch.sh: installing dpkg-dev (for dpkg-source)" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt_install() {
		$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends dpkg-dev >&2
	}
	apt_install || {
		$SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 && apt_install
	} || fail "cannot install dpkg-dev"
fi

parent=$(dirname "$dest")
mkdir -p "$parent" || fail "cannot create $parent"
work=$(mktemp -d "$parent/.svirt-libvirt-fetch.XXXXXX") || fail "cannot create a work directory in $parent"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/dl"
cat >"$work/src.sources" <<SOURCES
Types: deb-src
URIs: $mirror/debian
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: $mirror/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
# An apt of its own: only these sources, its own lists and cache.
apt() {
	apt-get -q \
		-o Dir::Etc::SourceList="$work/src.sources" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$work/lists" \
		-o Dir::Cache="$work/cache" \
		-o APT::Sandbox::User=root \
		"$@"
}
echo "fetch.sh: fetching libvirt ${version:-(newest)} source ($suite) from $mirror" >&2
apt update >&2 || fail "apt-get update of the deb-src index failed (no network?)"
pkg="libvirt${version:+=$version}"
if (cd "$work/dl" && apt source --download-only "$pkg") >&2; then
	dsc=$(ls "$work/dl"/libvirt_*.dsc 2>/dev/null | head -n 1)
	[ -n "$dsc" ] || fail "no .dsc downloaded"
	if [ -z "$version" ]; then
		version=$(sed -n 's/^Version: //p' "$dsc" | head -n 1)
	fi
	dpkg-source -x "$dsc" "$work/src" >&2 || fail "dpkg-source -x failed"
else
	# Some mirrors serve a source package's tarballs but not its .dsc:
	# fetch the tarballs apt names (each checked against the signed
	# Sources index by apt-helper) and unpack them as dpkg-source does for
	# a "3.0 (quilt)" package: the upstream tarball, debian/ over it, then
	# debian/patches/series in order.
	echo "fetch.sh: no .dsc; unpacking the tarballs by hand" >&2
	(cd "$work/dl" && apt source --print-uris "$pkg") >"$work/uris" ||
		fail "apt-get source --print-uris $pkg failed"
	grep "^'" "$work/uris" |
		while read -r uri file _size hash; do
			uri=${uri#\'}
			uri=${uri%\'}
			case $file in *.dsc | *.asc) continue ;; esac
			/usr/lib/apt/apt-helper download-file "$uri" "$work/dl/$file" "$hash" >&2 ||
				exit 1
		done || fail "downloading the source tarballs failed"
	orig=$(ls "$work/dl"/libvirt_*.orig.tar.* 2>/dev/null | grep -v '\.asc$' | head -n 1)
	deb=$(ls "$work/dl"/libvirt_*.debian.tar.* 2>/dev/null | head -n 1)
	[ -n "$orig" ] && [ -n "$deb" ] || fail "no upstream or debian tarball downloaded"
	if [ -z "$version" ]; then
		version=${deb##*/libvirt_}
		version=${version%.debian.tar.*}
	fi
	mkdir "$work/src"
	tar -xf "$orig" -C "$work/src" --strip-components=1 || fail "cannot unpack $orig"
	rm -rf "$work/src/debian"
	tar -xf "$deb" -C "$work/src" || fail "cannot unpack $deb"
	if [ -f "$work/src/debian/patches/series" ]; then
		sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$work/src/debian/patches/series" |
			while read -r patch _opts; do
				patch -d "$work/src" -p1 -s -N <"$work/src/debian/patches/$patch" ||
					exit 1
			done || fail "applying debian/patches failed"
	fi
fi
echo "$version" >"$work/src/.svirt-libvirt-version"
echo "$suite" >"$work/src/.svirt-libvirt-suite"
rm -rf "$dest"
mv "$work/src" "$dest" || fail "cannot move the tree to $dest"
echo "$dest"
