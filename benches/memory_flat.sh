#!/usr/bin/env bash
# Is the worker's memory flat in the size of a mailing? Peak RSS (`/usr/bin/time -v`, "Maximum resident set
# size") of a release `mailer-server worker` process sending a mailing of SMALL=10000 emails, then one of
# LARGE=1000000, each queued in a fresh SQLite store (mailer-http/examples/bench_queue.rs: 20 mailboxes,
# sending limits lifted, bodies of about BODY_BYTES=2048) and sent to a Postfix smtp-sink of its own on
# 127.0.0.1:$MAILER_BENCH_SMTP_PORT (default 32627). The worker runs niced and is stopped (SIGTERM) when its
# queue is empty; a run longer than RUN_LIMIT_SECONDS (default 3600) fails.
# Prints each run's figures and, as its last line, rss_ratio=<LARGE/SMALL>. Goal: <= 1.2.
#
# usage: benches/memory_flat.sh   (SMALL, LARGE, MAILBOXES, BODY_BYTES, WORKERS override the defaults;
#        the 1,000,000-email store takes about 3 GB of disk while it runs)
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${MAILER_BENCH_SMTP_PORT:-32627}
SMALL=${SMALL:-10000}
LARGE=${LARGE:-1000000}
MAILBOXES=${MAILBOXES:-20}
BODY_BYTES=${BODY_BYTES:-2048}
WORKERS=${WORKERS:-2}

note() { echo "memory_flat.sh: $*" >&2; }
die() { note "$*"; exit 1; }

WORK=$(mktemp -d)
SINK_PID=
trap '[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
# shellcheck source=benches/mailing_worker.sh
. benches/mailing_worker.sh

ensure_postfix
build_binaries
start_sink

SERVER_NICE=10
run_mailing "$SMALL" "$MAILBOXES" "$BODY_BYTES" "$WORKERS"
small_rss=$RUN_RSS_KB
echo "emails=$SMALL seconds=$RUN_SECONDS queued_in=$RUN_SEED_SECONDS peak_rss_kb=$small_rss"
run_mailing "$LARGE" "$MAILBOXES" "$BODY_BYTES" "$WORKERS"
large_rss=$RUN_RSS_KB
echo "emails=$LARGE seconds=$RUN_SECONDS queued_in=$RUN_SEED_SECONDS peak_rss_kb=$large_rss"
awk -v a="$large_rss" -v b="$small_rss" 'BEGIN { printf "rss_ratio=%.2f\n", a / b }'
