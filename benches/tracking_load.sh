#!/usr/bin/env bash
# Load test of the tracking routes: Debian's `wrk` on loopback against `mailer-server demo` (SQLite, the
# seeded first email's open pixel and trigger link, rate limit off) and, in the same run, a bare axum
# server answering the same GIF and redirect (mailer-http/examples/bare_pixel.rs).
# Last line: ratio=<ours/bare req/s, both routes summed> p99_ms=<our worst p99>. Goal: ratio >= 0.5, p99 < 10 ms.
# Usage: benches/tracking_load.sh [DURATION_SECONDS] (default 10); THREADS and CONNECTIONS override -t2 -c32.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-32}"
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else echo "wrk is missing: apt-get install wrk" >&2; exit 1; fi
fi
cargo build --release -q -p mailer-http --bin mailer-server --example bare_pixel
BIN="${CARGO_TARGET_DIR:-target}/release"
WORK="$(mktemp -d)"
OURS_PORT="${OURS_PORT:-18181}"
BARE_PORT="${BARE_PORT:-18182}"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
"$BIN/mailer-server" demo --port "$OURS_PORT" --dir "$WORK/demo" --rate-per-second 0 >"$WORK/demo.log" 2>&1 &
PIDS+=($!)
"$BIN/examples/bare_pixel" "$BARE_PORT" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "email sent" "$WORK/demo.log" 2>/dev/null && break; sleep 0.2; done
grep -q "email sent" "$WORK/demo.log" || { cat "$WORK/demo.log"; exit 1; }
PIXEL="$(awk '/open pixel/ {print $3}' "$WORK/demo.log")"
LINK="$(awk '/trigger link/ {print $3}' "$WORK/demo.log")"
# The engine takes hits within 5 s of sending as automated; start after that, and fire the once-triggers.
sleep 6
UA="Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
curl -sf -A "$UA" -o /dev/null "$PIXEL"
curl -sf -A "$UA" -o /dev/null "$LINK"
sleep 2

# run NAME URL -> prints "NAME rps p99_ms"
run() {
  local out rps p99
  out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "User-Agent: $UA" "$2")"
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/, "", v); v = v / 1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v = v * 1000}; print v}' <<<"$out")"
  local non2xx
  non2xx="$(awk '/Non-2xx or 3xx/ {print $5}' <<<"$out")"
  echo "$1 rps=$rps p99_ms=$p99 non2xx=${non2xx:-0}" >&2
  echo "$rps $p99"
}
BARE_BASE="http://127.0.0.1:$BARE_PORT"
read -r OURS_O OURS_O_P99 < <(run "ours  /t/o" "$PIXEL")
read -r BARE_O BARE_O_P99 < <(run "bare  /t/o" "$BARE_BASE/t/o/${PIXEL##*/}")
read -r OURS_L OURS_L_P99 < <(run "ours  /t/l" "$LINK")
read -r BARE_L BARE_L_P99 < <(run "bare  /t/l" "$BARE_BASE/t/l/${LINK##*/}")
echo "bare p99_ms: /t/o $BARE_O_P99, /t/l $BARE_L_P99" >&2
awk -v oo="$OURS_O" -v ol="$OURS_L" -v bo="$BARE_O" -v bl="$BARE_L" -v p1="$OURS_O_P99" -v p2="$OURS_L_P99" \
  'BEGIN { p = (p1 > p2) ? p1 : p2; printf "ratio=%.3f p99_ms=%.2f\n", (oo + ol) / (bo + bl), p }'
