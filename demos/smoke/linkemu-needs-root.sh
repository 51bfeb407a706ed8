#!/usr/bin/env bash
# linkemu run by an unprivileged user must refuse with a clear message and exit status 3 (drop-in's fallback
# relies on that status). Runs a copy of linkemu as nobody through setpriv (a copy, because the build tree may not
# be reachable for nobody). Without setpriv the test fails with a message saying so.
# Usage: linkemu-needs-root.sh LINKEMU
linkemu=$1
command -v setpriv >/dev/null || { echo "setpriv not found (util-linux)"; exit 1; }
dir=$(mktemp -d /tmp/kcpnet-linkemu.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cp "$linkemu" "$dir/linkemu"
chmod 755 "$dir" "$dir/linkemu"
setpriv --reuid=65534 --regid=65534 --clear-groups "$dir/linkemu" --server true
echo "exit status $?"
