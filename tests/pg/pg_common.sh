# Shared by pg_start.sh and pg_stop.sh (sourced): where the PostgreSQL server programs are, and
# running them as a user that is not root.

# Sets PG_BIN to the newest /usr/lib/postgresql/N/bin with initdb (15 first: the tested one), or
# the directory of pg_ctl on PATH.
pg_find_bin()
{
    PG_BIN=""
    for d in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            PG_BIN=$d
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        PG_BIN=$(dirname "$(command -v pg_ctl)")
        return 0
    fi
    echo "PostgreSQL server programs (initdb, pg_ctl) not found: apt-get install postgresql" >&2
    return 1
}

PG_RUN_AS=${PG_RUN_AS:-postgres}

# Runs a command as PG_RUN_AS when we are root (PostgreSQL refuses to run as root), else as is.
pg_as_owner()
{
    if [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u "$PG_RUN_AS" -- "$@"
        else
            setpriv --reuid="$PG_RUN_AS" --regid="$PG_RUN_AS" --init-groups -- "$@"
        fi
    else
        "$@"
    fi
}
