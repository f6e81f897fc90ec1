#!/bin/sh
# The main job on the shipped examples: print the profile each domain gets
# and compile it with the real apparmor_parser (no kernel load).
set -eu
cd "$(dirname "$0")/.."
command -v apparmor_parser >/dev/null 2>&1 || [ -x /sbin/apparmor_parser ] || scripts/install-deps.sh
unset CARGO_TARGET_DIR
cargo build -q --release -p svirt-cli
for xml in examples/*.xml; do
	echo "### svirt profile --check $xml"
	target/release/svirt profile --check "$xml"
	echo
done
