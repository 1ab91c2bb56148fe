#!/usr/bin/env bash
# SMTP PIPELINING over a link with a round-trip time: the same mailing sent by a release `mailer-server worker`
# to Postfix's smtp-sink through a proxy that delays each direction by DELAY_MS (benches/support/delay_proxy.py,
# loopback only), once with the sink offering PIPELINING (MAIL, RCPT and DATA go in one write: two round trips
# per message) and once with `smtp-sink -p` (no PIPELINING: four round trips per message).
#
# usage: benches/smtp_rtt.sh   (EMAILS=2000, MAILBOXES=1, BODY_BYTES=20480, WORKERS=2, DELAY_MS=5 override)
# Prints the figures and, as its last line, `rtt_ms=<n> pipelined=<msg/s> unpipelined=<msg/s> ratio=<p/u>`.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${MAILER_BENCH_SMTP_PORT:-32627}   # the proxy: the address the mailing's mailboxes use
SINK_PORT=${MAILER_BENCH_SINK_PORT:-32628}
EMAILS=${EMAILS:-2000}
MAILBOXES=${MAILBOXES:-1}
BODY_BYTES=${BODY_BYTES:-20480}
WORKERS=${WORKERS:-2}
DELAY_MS=${DELAY_MS:-5}
export RUN_LIMIT_SECONDS=${RUN_LIMIT_SECONDS:-300}

note() { echo "smtp_rtt.sh: $*" >&2; }
die() { note "$*"; exit 1; }

WORK=$(mktemp -d)
SINK_PID=
PROXY_PID=
stop() {
  [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
  [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
  wait 2>/dev/null || true
  PROXY_PID= SINK_PID=
}
trap 'stop; rm -rf "$WORK"' EXIT
# shellcheck source=benches/mailing_worker.sh
. benches/mailing_worker.sh

# smtp-sink on SINK_PORT (with the extra arguments given) behind the delaying proxy on PORT.
start_far_sink() {
  port_open "$PORT" && die "port $PORT is in use: set MAILER_BENCH_SMTP_PORT"
  port_open "$SINK_PORT" && die "port $SINK_PORT is in use: set MAILER_BENCH_SINK_PORT"
  local args=(-h sink.bench.test "$@")
  [ "$(id -u)" = 0 ] && args+=(-u nobody)
  /usr/sbin/smtp-sink "${args[@]}" "127.0.0.1:$SINK_PORT" 1024 </dev/null >"$WORK/sink.log" 2>&1 &
  SINK_PID=$!
  python3 benches/support/delay_proxy.py "$PORT" "$SINK_PORT" "$DELAY_MS" >"$WORK/proxy.log" 2>&1 &
  PROXY_PID=$!
  for _ in $(seq 50); do port_open "$PORT" && port_open "$SINK_PORT" && return; sleep 0.1; done
  cat "$WORK/sink.log" "$WORK/proxy.log" >&2
  die "smtp-sink or the proxy did not start"
}

ensure_postfix
build_binaries

# Sends the mailing once through a far sink started with the given arguments; sets RATE (msg/s).
rate() {
  start_far_sink "$@"
  run_mailing "$EMAILS" "$MAILBOXES" "$BODY_BYTES" "$WORKERS"
  stop
  RATE=$(awk -v n="$EMAILS" -v s="$RUN_SECONDS" 'BEGIN { printf "%.1f", n / s }')
}

rate
pipelined=$RATE
note "offering PIPELINING: $EMAILS emails at $pipelined msg/s"
rate -p
unpipelined=$RATE
note "without PIPELINING (smtp-sink -p): $EMAILS emails at $unpipelined msg/s"
echo "emails=$EMAILS body_bytes=$BODY_BYTES mailboxes=$MAILBOXES workers=$WORKERS one_way_delay_ms=$DELAY_MS"
awk -v d="$DELAY_MS" -v p="$pipelined" -v u="$unpipelined" \
  'BEGIN { printf "rtt_ms=%d pipelined=%.1f unpipelined=%.1f ratio=%.2f\n", 2 * d, p, u, p / u }'
