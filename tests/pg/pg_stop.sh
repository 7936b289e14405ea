#!/bin/sh
# Stops the throwaway cluster that pg_start.sh made in DIR and removes DIR.
# usage: pg_stop.sh DIR
set -eu
dir=${1:?usage: pg_stop.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/pg_common.sh"

case "$dir" in
    /|"") echo "pg_stop.sh: refusing to remove '$dir'" >&2; exit 1 ;;
esac
cd / # the server's user may not enter the caller's directory
if [ -f "$dir/data/postmaster.pid" ]; then
    pid=$(head -n 1 "$dir/data/postmaster.pid")
    if pg_find_bin 2>/dev/null; then
        pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    fi
    # still there (no pg_ctl, or it did not stop in time): end the postmaster by its PID
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -QUIT "$pid" 2>/dev/null || true
        sleep 1
        kill -KILL "$pid" 2>/dev/null || true
    fi
fi
# only a directory that pg_start.sh made: it holds data/ or initdb.log, or nothing
if [ -d "$dir" ]; then
    if [ -d "$dir/data" ] || [ -f "$dir/initdb.log" ] || [ -z "$(ls -A "$dir")" ]; then
        rm -rf "$dir"
    else
        echo "pg_stop.sh: $dir does not look like a test cluster; left alone" >&2
        exit 1
    fi
fi
