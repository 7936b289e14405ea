#!/bin/sh
# Installs the Debian packages the build and the tests need, when any is missing.
set -eu
pkgs="cmake make gcc pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev libpq-dev
libcurl4-openssl-dev libssl-dev libcmocka-dev clang libclang-rt-14-dev python3 sqlite3"
if [ "${1:-}" = "--test" ]; then
    pkgs="$pkgs chromium fonts-wqy-zenhei postgresql"
fi
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "waybilld: missing Debian packages:$missing" >&2
    echo "waybilld: run as root, or: sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends $missing; }
