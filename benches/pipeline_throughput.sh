#!/usr/bin/env bash
# The whole sending pipeline against Postfix's smtp-source, in one run on loopback.
#
# Starts its own Postfix smtp-sink (127.0.0.1:$MAILER_BENCH_SMTP_PORT, default 32626; messages discarded),
# then, side by side:
#   * ours: a mailing of EMAILS=10000 emails of about 20 KB, queued in a fresh SQLite store by
#     mailer-http/examples/bench_queue.rs (20 mailboxes, one mailing each, sending limits lifted), sent by a
#     release `mailer-server worker` (claim, render with Liquid + text part + pixel + unsubscribe link,
#     SmtpTransport to the sink, complete, events); messages per second from the worker's start until the
#     queue is empty (polled every 0.1 s);
#   * smtp-source: `smtp-source -d -s 20 -m 10000 -l 20480` (20 sessions, each keeps its connection), run
#     3 times (once before ours, twice after); the median.
# Prints the figures and, as its last line, ratio=<ours/smtp-source>. Goal: >= 0.5 (aim 0.85).
#
# usage: benches/pipeline_throughput.sh   (EMAILS, MAILBOXES, BODY_BYTES, WORKERS override the defaults)
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${MAILER_BENCH_SMTP_PORT:-32626}
EMAILS=${EMAILS:-10000}
MAILBOXES=${MAILBOXES:-20}
BODY_BYTES=${BODY_BYTES:-20480}
WORKERS=${WORKERS:-2}

note() { echo "pipeline_throughput.sh: $*" >&2; }
die() { note "$*"; exit 1; }

WORK=$(mktemp -d)
SINK_PID=
trap '[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
# shellcheck source=benches/mailing_worker.sh
. benches/mailing_worker.sh

ensure_postfix
build_binaries
start_sink

rates=()
rates+=("$(smtp_source_rate "$EMAILS" "$MAILBOXES" "$BODY_BYTES")")
note "smtp-source run 1: ${rates[0]} msg/s"
run_mailing "$EMAILS" "$MAILBOXES" "$BODY_BYTES" "$WORKERS"
ours=$(awk -v n="$EMAILS" -v s="$RUN_SECONDS" 'BEGIN { printf "%.1f", n / s }')
note "ours: $EMAILS emails in $RUN_SECONDS s (queued in $RUN_SEED_SECONDS s), peak RSS $RUN_RSS_KB KB"
rates+=("$(smtp_source_rate "$EMAILS" "$MAILBOXES" "$BODY_BYTES")")
rates+=("$(smtp_source_rate "$EMAILS" "$MAILBOXES" "$BODY_BYTES")")
note "smtp-source runs: ${rates[*]} msg/s"
theirs=$(printf '%s\n' "${rates[@]}" | sort -g | sed -n 2p)

echo "emails=$EMAILS body_bytes=$BODY_BYTES mailboxes=$MAILBOXES workers=$WORKERS sink=127.0.0.1:$PORT"
echo "ours_seconds=$RUN_SECONDS ours_peak_rss_kb=$RUN_RSS_KB"
awk -v c="$RUN_CPU_SECONDS" -v s="$RUN_SWITCHES" -v n="$EMAILS" \
  'BEGIN { printf "ours_cpu_us_per_email=%.0f ours_context_switches_per_email=%.1f\n", c * 1e6 / n, s / n }'
echo "ours_msgs_per_sec=$ours"
echo "smtp_source_msgs_per_sec=$theirs"
awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "ratio=%.2f\n", a / b }'
