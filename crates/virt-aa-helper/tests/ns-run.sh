#!/bin/sh
# Runs a command in a private mount namespace in which the helper's fixed
# paths are bind mounts of test directories:
#   POLICY_DIR -> /etc/apparmor.d/libvirt
#   ETC_SVIRT  -> /etc/svirt
#   PARSER     -> /sbin/apparmor_parser (and so /usr/sbin/apparmor_parser
#                 where /sbin is a link to /usr/sbin)
# Usage: ns-run.sh POLICY_DIR ETC_SVIRT PARSER COMMAND [ARG...]
# Needs root (unshare --mount). The host's mounts are never changed: the
# namespace's propagation is private, so the bind mounts vanish with it.
set -eu
if [ $# -lt 4 ]; then
    echo "usage: ns-run.sh POLICY_DIR ETC_SVIRT PARSER COMMAND [ARG...]" >&2
    exit 2
fi
exec unshare --mount --propagation private sh -c '
    set -e
    mount --bind "$1" /etc/apparmor.d/libvirt
    mount --bind "$2" /etc/svirt
    mount --bind "$3" /sbin/apparmor_parser
    if [ ! /usr/sbin/apparmor_parser -ef "$3" ] && [ -e /usr/sbin/apparmor_parser ]; then
        mount --bind "$3" /usr/sbin/apparmor_parser
    fi
    shift 3
    exec "$@"
' ns-run "$@"
