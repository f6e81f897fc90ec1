#!/bin/sh
# Fetches and unpacks Debian's libvirt source package (with Debian's patches
# applied: plain `dpkg-source -x`), whose tests/ hold libvirt's own test
# domains, and prints the source directory on stdout. Idempotent: a complete
# unpacked tree of the wanted version is reused.
#
#   SVIRT_LIBVIRT_SRC      where the tree goes (default ~/.cache/svirt-libvirt-src)
#   SVIRT_LIBVIRT_VERSION  the source version (default: that of the installed
#                          libvirt-daemon, else 9.0.0-4+deb12u2)
#   SVIRT_DEBIAN_MIRROR    default http://deb.debian.org
#
# Nothing is written outside that directory except dpkg-dev (dpkg-source),
# installed with apt-get when missing (as root, or through sudo). The host's
# apt sources are not touched: the deb-src index lives in a temporary
# directory. Exits 77 when the package cannot be fetched or unpacked.
set -eu

dest=${SVIRT_LIBVIRT_SRC:-${HOME:?}/.cache/svirt-libvirt-src}
version=${SVIRT_LIBVIRT_VERSION:-}
if [ -z "$version" ]; then
	version=$(dpkg-query -W -f='${source:Version}' libvirt-daemon 2>/dev/null || true)
	version=${version:-9.0.0-4+deb12u2}
fi
mirror=${SVIRT_DEBIAN_MIRROR:-http://deb.debian.org}
stamp="$dest/.svirt-libvirt-version"

fail() {
	echo "fetch.sh: $*" >&2
	exit 77
}

if [ -d "$dest/tests" ] && [ ! -e "$stamp" ]; then
	# Unpacked by hand: use it as it is.
	echo "fetch.sh: using $dest as it is (not fetched by this script)" >&2
	echo "$dest"
	exit 0
fi
if [ -d "$dest/tests" ] && [ "$(cat "$stamp")" = "$version" ]; then
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
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: $mirror/debian-security
Suites: bookworm-security
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
echo "fetch.sh: fetching libvirt $version source from $mirror" >&2
apt update >&2 || fail "apt-get update of the deb-src index failed (no network?)"
(cd "$work/dl" && apt source --download-only "libvirt=$version") >&2 ||
	fail "apt-get source libvirt=$version failed"
dsc=$(ls "$work/dl"/libvirt_*.dsc 2>/dev/null | head -n 1)
[ -n "$dsc" ] || fail "no .dsc downloaded"
dpkg-source -x "$dsc" "$work/src" >&2 || fail "dpkg-source -x failed"
echo "$version" >"$work/src/.svirt-libvirt-version"
rm -rf "$dest"
mv "$work/src" "$dest" || fail "cannot move the tree to $dest"
echo "$dest"
