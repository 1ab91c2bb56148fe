#!/usr/bin/env bash
# Stop what scripts/pg-up.sh, scripts/mail-up.sh or scripts/test-services.sh started.
#
# usage: scripts/services-down.sh DIR...
#        scripts/services-down.sh            # uses $MAILER_TEST_SERVICES_DIR (set by test-services.sh)
# DIR is a pg-up/mail-up directory or a test-services.sh directory (its pg/ and mail/ subdirs are stopped
# too). Sends each pid in DIR/*.pid a signal (PostgreSQL: SIGINT = fast shutdown; others SIGTERM) and
# waits until it has exited (SIGKILL after 15 s). Data, maildirs and sink dumps are left in place;
# remove DIR yourself. Exits non-zero if a process is still alive afterwards.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=services-lib.sh
. "$here/services-lib.sh"

if [ $# = 0 ]; then
  [ -n "${MAILER_TEST_SERVICES_DIR:-}" ] || die "usage: $0 DIR...   (or set MAILER_TEST_SERVICES_DIR)"
  set -- "$MAILER_TEST_SERVICES_DIR"
fi

stop_dir() {
  local d=$1 f
  [ -d "$d" ] || {
    note "$d: no such directory, skipped"
    return 0
  }
  stop_pidfile "$d/dovecot.pid" TERM
  stop_pidfile "$d/smtp-sink.pid" TERM
  stop_pidfile "$d/pg.pid" INT
  for f in "$d"/*.pid; do
    [ -e "$f" ] && stop_pidfile "$f" TERM
  done
  return 0
}

failed=0
for arg in "$@"; do
  d=$(realpath -m "$arg")
  for sub in "$d/mail" "$d/pg" "$d"; do
    [ -d "$sub" ] && stop_dir "$sub"
  done
  for f in "$d"/*.pid "$d"/mail/*.pid "$d"/pg/*.pid; do
    if [ -e "$f" ] && pid_alive "$f"; then
      note "still running: $f (pid $(head -n 1 "$f"))"
      failed=1
    fi
  done
done
exit "$failed"
