#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for the test suite (Debian's postgresql package).
#
#   scripts/pg_test_server.sh start DIR   initdb a cluster in DIR, start it on a free port, create
#                                         the role and database `watcher`; prints the URL to use as
#                                         WATCHER_TEST_POSTGRES_URL (the role may create databases:
#                                         the tests make a fresh one per test)
#   scripts/pg_test_server.sh stop DIR    stop that server and delete DIR
#
# As root, the server runs as the `postgres` user (PostgreSQL refuses to run as root).
# TCP logins need the password (scram-sha-256), as on a real server; the socket in DIR is trusted.
# Durability is switched off (fsync, synchronous_commit): the data is thrown away anyway.
# Fails loudly, with the server's log, when the server cannot start.
set -euo pipefail

die() { echo "pg_test_server: $*" >&2; exit 1; }

bindir() {
    local pg_config
    pg_config=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$pg_config" ] && [ -x "$pg_config/initdb" ] \
        || die "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin; install them: apt-get install -y postgresql"
    echo "$pg_config"
}

as_owner() {  # run a command as the cluster's owner
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    local dir=$1 bin port password
    bin=$(bindir)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    chmod 700 "$dir"
    as_owner "$bin/initdb" --pgdata="$dir/data" --username=postgres --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; die "initdb failed in $dir/data (log above)"; }
    port=$(free_port)
    as_owner "$bin/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait --timeout=60 \
        -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null \
        || { cat "$dir/server.log" >&2 2>/dev/null; die "the server did not start on 127.0.0.1:$port (log above)"; }
    echo "$port" >"$dir/port"
    password=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
    as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
        -c "CREATE ROLE watcher LOGIN CREATEDB PASSWORD '$password'" \
        -c "CREATE DATABASE watcher OWNER watcher" >/dev/null \
        || die "could not create the role and database watcher on 127.0.0.1:$port"
    echo "postgresql+psycopg://watcher:$password@127.0.0.1:$port/watcher"
}

stop() {
    local dir=$1
    [ -d "$dir/data" ] && as_owner "$(bindir)/pg_ctl" --pgdata="$dir/data" --mode=immediate \
        stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}

case "${1:-}" in
    start) [ -n "${2:-}" ] || die "usage: $0 start DIR"; start "$2" ;;
    stop) [ -n "${2:-}" ] || die "usage: $0 stop DIR"; stop "$2" ;;
    *) die "usage: $0 start DIR | stop DIR" ;;
esac
