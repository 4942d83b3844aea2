#!/bin/sh
# Entrypoint of the postgres stand-in: initialise $PGDATA on first start the way the
# official image does (superuser, password, database), then run the server in the foreground.
set -eu

POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

fail() { echo "postgres stand-in: $*" >&2; exit 1; }

if [ -w /var/run/postgresql ]; then socket_dir=/var/run/postgresql; else socket_dir=/tmp; fi

initialise() {
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
        fail "POSTGRES_PASSWORD is empty; set it (or POSTGRES_HOST_AUTH_METHOD=trust)"
    fi
    mkdir -p "$PGDATA" 2>/dev/null || fail "cannot create PGDATA=$PGDATA; mount a writable volume"
    [ -w "$PGDATA" ] || fail "PGDATA=$PGDATA is not writable by uid $(id -u); fix its owner"
    chmod 0700 "$PGDATA"
    pwfile="$(mktemp /tmp/pwfile.XXXXXX)"
    printf '%s\n' "${POSTGRES_PASSWORD:-}" > "$pwfile"
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words, as in the official image
    initdb --username "$POSTGRES_USER" --pwfile "$pwfile" --auth-local trust \
        --auth-host "$auth" ${POSTGRES_INITDB_ARGS:-} > /dev/null
    rm -f "$pwfile"
    printf 'host all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"
    if [ "$POSTGRES_DB" != postgres ]; then
        quoted="$(printf '%s' "$POSTGRES_DB" | sed 's/"/""/g')"
        echo "CREATE DATABASE \"$quoted\"" | postgres --single -D "$PGDATA" postgres > /dev/null
    fi
    echo "postgres stand-in: initialised $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
}

if [ "${1:-}" = postgres ]; then
    [ -s "$PGDATA/PG_VERSION" ] || initialise
    shift
    exec postgres -D "$PGDATA" -c listen_addresses='*' -c port=5432 \
        -c unix_socket_directories="$socket_dir" "$@"
fi
exec "$@"
