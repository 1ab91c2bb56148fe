#!/usr/bin/env bash
# SMTP throughput, ours against Postfix's smtp-source, in one run on loopback.
#
# Starts its own Postfix smtp-sink (127.0.0.1:$MAILER_BENCH_SMTP_PORT, default 32625; messages are
# discarded, nothing is written to disk), then sends MESSAGES=10000 messages of about 20 KB from
# SESSIONS=20 senders at once to it:
#   * ours:       the criterion bench benches/smtp_throughput.rs (mailer_smtp::SmtpTransport, 20 mailboxes,
#                 one pooled connection each, MIME building included); its median of 10 runs;
#   * smtp-source: `smtp-source -d -s 20 -m 10000 -l 20480` (20 sessions, each keeps its connection),
#                 run 3 times (once before ours, twice after); the median.
# Prints ours_msgs_per_sec, smtp_source_msgs_per_sec and, as its last line, ratio=<ours/smtp-source>.
#
# usage: benches/smtp_throughput.sh        (installs postfix when smtp-sink/smtp-source are missing)
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${MAILER_BENCH_SMTP_PORT:-32625}
MESSAGES=10000
SESSIONS=20
SIZE=20480

note() { echo "smtp_throughput.sh: $*" >&2; }
die() { note "$*"; exit 1; }

if [ ! -x /usr/sbin/smtp-sink ] || [ ! -x /usr/sbin/smtp-source ]; then
  note "installing postfix for smtp-sink and smtp-source (the postfix daemon is not configured or started)"
  if [ "$(id -u)" = 0 ]; then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix >/dev/null
  else
    die "smtp-sink/smtp-source missing: apt-get install postfix"
  fi
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_open "$PORT" && die "port $PORT is in use: set MAILER_BENCH_SMTP_PORT"

# ---- the sink: no -d, so messages are counted by the protocol and thrown away ------------------------
sink_args=(-h sink.bench.test)
[ "$(id -u)" = 0 ] && sink_args+=(-u nobody) # as root smtp-sink must drop privileges after bind
log=$(mktemp)
/usr/sbin/smtp-sink "${sink_args[@]}" "127.0.0.1:$PORT" 1024 </dev/null >"$log" 2>&1 &
SINK_PID=$!
trap 'kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 50); do port_open "$PORT" && break; sleep 0.1; done
port_open "$PORT" || { cat "$log" >&2; die "smtp-sink did not start"; }

# ---- smtp-source: messages per second of one run ---------------------------------------------------
smtp_source_rate() {
  local start end
  start=$(date +%s.%N)
  /usr/sbin/smtp-source -d -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -M bench.test \
    -f sender@bench.test -t client@example.test "127.0.0.1:$PORT" ||
    die "smtp-source failed"
  end=$(date +%s.%N)
  awk -v n="$MESSAGES" -v s="$start" -v e="$end" 'BEGIN { printf "%.1f\n", n / (e - s) }'
}

rates=()
rates+=("$(smtp_source_rate)")
note "smtp-source run 1: ${rates[0]} msg/s"

# ---- ours: the criterion bench -----------------------------------------------------------------------
MAILER_BENCH_SMTP_SINK="127.0.0.1:$PORT" cargo bench --quiet --features smtp --bench smtp_throughput -- --noplot >&2
estimates="${CARGO_TARGET_DIR:-target}"/criterion/smtp/send_10000x20KB_from_20_mailboxes/new/estimates.json
[ -s "$estimates" ] || die "no criterion estimates at $estimates"
ours=$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); print("%.1f" % (int(sys.argv[2]) / (e["median"]["point_estimate"] / 1e9)))' \
  "$estimates" "$MESSAGES")

rates+=("$(smtp_source_rate)")
rates+=("$(smtp_source_rate)")
note "smtp-source runs: ${rates[*]} msg/s"
theirs=$(printf '%s\n' "${rates[@]}" | sort -g | sed -n 2p)

echo "messages=$MESSAGES size_bytes=$SIZE concurrency=$SESSIONS sink=127.0.0.1:$PORT"
echo "ours_msgs_per_sec=$ours"
echo "smtp_source_msgs_per_sec=$theirs"
awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "ratio=%.2f\n", a / b }'
