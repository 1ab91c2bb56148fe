#!/usr/bin/env bash
# Start a throw-away PostgreSQL for the integration tests on 127.0.0.1.
#
# usage: eval "$(scripts/pg-up.sh DIR [PORT])"        # PORT default: $MAILER_TEST_PG_PORT or 31432
#   stdout: export MAILER_TEST_PG_URL=postgres://postgres@127.0.0.1:PORT/mailer_test
#   stop:   scripts/services-down.sh DIR
#
# * If MAILER_TEST_PG_URL is already set (to anything but the URL this script would print), nothing is
#   started and the value is echoed back.
# * Installs the Debian `postgresql` package if no /usr/lib/postgresql/*/bin/initdb exists.
# * initdb runs in DIR/data as the `postgres` user (initdb refuses root): DIR and all its parents must
#   be traversable by that user (chmod 755 dirs made by `mktemp -d`). Trust auth, fsync off, unix
#   socket in DIR/sock, log in DIR/pg.log, postmaster pid in DIR/pg.pid.
# * Idempotent: when the server in DIR is already running, it only prints the export line; an existing
#   DIR/data is reused (no second initdb).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=services-lib.sh
. "$here/services-lib.sh"

if [ $# -lt 1 ] || [ $# -gt 2 ]; then die "usage: $0 DIR [PORT]"; fi

DIR=$(realpath -m "$1")
PORT=${2:-${MAILER_TEST_PG_PORT:-31432}}
[[ $PORT =~ ^[0-9]+$ ]] || die "bad port: $PORT"
DB=mailer_test
URL="postgres://postgres@127.0.0.1:$PORT/$DB"

# an external database was configured; (a value equal to our own URL is left over from an earlier
# `eval` of this script, so then we go on and make sure our server runs)
if [ -n "${MAILER_TEST_PG_URL:-}" ] && [ "$MAILER_TEST_PG_URL" != "$URL" ]; then
  note "MAILER_TEST_PG_URL is already set; not starting PostgreSQL"
  emit MAILER_TEST_PG_URL "$MAILER_TEST_PG_URL"
  exit 0
fi

find_pgbin() {
  local d
  d=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && dirname "$d"
}
PGBIN=$(find_pgbin || true)
if [ -z "$PGBIN" ]; then
  ensure_pkgs /usr/lib/postgresql postgresql
  PGBIN=$(find_pgbin || true)
  [ -n "$PGBIN" ] || die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb found"
fi

if is_root; then
  RUN_AS=postgres
  id "$RUN_AS" >/dev/null 2>&1 || die "system user $RUN_AS does not exist (is the postgresql package installed?)"
else
  RUN_AS=$(id -un)
fi

psql_q() {
  "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -tA "$@"
}

ensure_db() {
  if [ "$(psql_q -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
    psql_q -c "CREATE DATABASE $DB" >/dev/null || die "could not create database $DB"
  fi
}

# already running in DIR?
if pid_alive "$DIR/pg.pid" && "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  note "PostgreSQL already running in $DIR (pid $(head -n 1 "$DIR/pg.pid"))"
  ensure_db
  emit MAILER_TEST_PG_URL "$URL"
  exit 0
fi

port_free_or_die "$PORT" "PostgreSQL, PORT argument or MAILER_TEST_PG_PORT"

mkdir -p "$DIR"
check_traversable "$RUN_AS" "$DIR"
mkdir -p "$DIR/sock"
if is_root; then
  chown "$RUN_AS:" "$DIR" "$DIR/sock"
  if [ -d "$DIR/data" ]; then chown -R "$RUN_AS:" "$DIR/data"; fi
fi
# a stale postmaster.pid from a killed server would block the start
if [ -f "$DIR/data/postmaster.pid" ] && ! pid_alive "$DIR/data/postmaster.pid"; then
  rm -f "$DIR/data/postmaster.pid"
fi

if [ ! -f "$DIR/data/PG_VERSION" ]; then
  note "initdb in $DIR/data ($PGBIN)"
  as_user "$RUN_AS" "$PGBIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync \
    >"$DIR/initdb.log" 2>&1 || {
    tail -n 20 "$DIR/initdb.log" >&2
    die "initdb failed (log: $DIR/initdb.log)"
  }
fi

opts="-c listen_addresses=127.0.0.1 -p $PORT -k $DIR/sock -c fsync=off -c synchronous_commit=off"
opts+=" -c full_page_writes=off -c max_connections=200"
if ! as_user "$RUN_AS" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/pg.log" -w -t 10 -o "$opts" start >/dev/null 2>"$DIR/pg_ctl.err"; then
  cat "$DIR/pg_ctl.err" >&2
  tail -n 20 "$DIR/pg.log" >&2 2>/dev/null || true
  die "PostgreSQL did not start on 127.0.0.1:$PORT within 10 s (log: $DIR/pg.log)"
fi
head -n 1 "$DIR/data/postmaster.pid" >"$DIR/pg.pid"
pid_alive "$DIR/pg.pid" || die "PostgreSQL exited right after start (log: $DIR/pg.log)"
ensure_db
note "PostgreSQL up on 127.0.0.1:$PORT (pid $(cat "$DIR/pg.pid"), data $DIR/data)"
emit MAILER_TEST_PG_URL "$URL"
