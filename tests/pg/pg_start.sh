#!/bin/sh
# Starts a throwaway PostgreSQL cluster for the tests in DIR, listening only on the unix socket
# DIR/.s.PGSQL.5432 (no TCP), with superuser "waybilld" and trust authentication.
#
# usage: pg_start.sh DIR        (DIR is made; a stale cluster left there by a run that was
#                                interrupted is stopped and removed first)
# Prints the base URL, e.g. postgresql://waybilld@%2Ftmp%2Fwaybilld-pg-1234:5432
# As root, the server runs as the "postgres" user (initdb refuses root). Durability settings are
# off (fsync, synchronous_commit): the cluster lives for one test run only.
set -eu
dir=${1:?usage: pg_start.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/pg_common.sh"

pg_find_bin || exit 1
"$here/pg_stop.sh" "$dir" >/dev/null 2>&1 || true

mkdir -p "$dir"
chmod 700 "$dir"
if [ "$(id -u)" -eq 0 ]; then
    chown "$PG_RUN_AS" "$dir"
fi
cd "$dir" # the server's user may not enter the caller's directory
pg_as_owner "$PG_BIN/initdb" -D "$dir/data" -U waybilld -A trust -E UTF8 --locale=C --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
opts="-c listen_addresses='' -c unix_socket_directories='$dir' -c port=5432"
opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
opts="$opts -c max_connections=400 -c shared_buffers=64MB -c max_locks_per_transaction=256"
if ! pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$opts" start \
    >/dev/null; then
    cat "$dir/server.log" >&2 2>/dev/null
    exit 1
fi
printf 'postgresql://waybilld@%s:5432\n' "$(printf '%s' "$dir" | sed 's,/,%2F,g')"
