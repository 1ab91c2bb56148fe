#!/usr/bin/env bash
# Instructions per request of the tracking routes, deterministically: `mailer-server demo` (release build)
# runs under valgrind's callgrind with instrumentation off; after the demo's first email is sent (and the
# once-triggers fired), it is switched on for N requests to the open pixel, dumped, zeroed, and again for N
# requests to the trigger link (one keep-alive connection, so each hit is its own batch: the worst case of
# the hit recorder). Each part counts every thread: HTTP, the hit recorder, SQLite, and the demo's idle
# workers. The dumps stay in OUT for `callgrind_annotate --inclusive=yes OUT/cg.<pid>.1` (pixel) and `.2` (link).
# Last line: `ir_per_request pixel=<n> link=<n>`.
# Usage: benches/tracking_profile.sh [N] (default 2000); OUT (default target/tracking-profile), PORT.
# Needs Debian's valgrind and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-2000}"
OUT="${OUT:-target/tracking-profile}"
PORT="${PORT:-18191}"
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 1; }
cargo build --release -q -p mailer-http --bin mailer-server
BIN="${CARGO_TARGET_DIR:-target}/release/mailer-server"
rm -rf "$OUT"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
VP=""
cleanup() { [ -n "$VP" ] && kill "$VP" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/cg.%p" \
  "$BIN" demo --port "$PORT" --dir "$WORK/demo" --rate-per-second 0 >"$OUT/demo.log" 2>&1 &
VP=$!
for _ in $(seq 1 600); do grep -q "email sent" "$OUT/demo.log" 2>/dev/null && break; sleep 0.5; done
grep -q "email sent" "$OUT/demo.log" || { cat "$OUT/demo.log"; exit 1; }
PIXEL="$(awk '/open pixel/ {print $3}' "$OUT/demo.log")"
LINK="$(awk '/trigger link/ {print $3}' "$OUT/demo.log")"
# fire URL COUNT: COUNT GETs on one keep-alive connection with a browser User-Agent.
fire() {
  python3 - "$1" "$2" <<'EOF'
import http.client, sys, urllib.parse
url, n = urllib.parse.urlparse(sys.argv[1]), int(sys.argv[2])
ua = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
c = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
for _ in range(n):
    c.request("GET", url.path, headers={"User-Agent": ua})
    r = c.getresponse()
    r.read()
    if r.status not in (200, 302):
        sys.exit(f"{url.path}: {r.status}")
EOF
}
# Past the 5 s "too soon" window, with the once-triggers fired, before counting.
sleep 7
fire "$PIXEL" 50
fire "$LINK" 50
sleep 2
callgrind_control -i on "$VP" >/dev/null
fire "$PIXEL" "$N"
sleep 1
callgrind_control -d pixel "$VP" >/dev/null
callgrind_control -z "$VP" >/dev/null
fire "$LINK" "$N"
sleep 1
callgrind_control -d link "$VP" >/dev/null
callgrind_control -i off "$VP" >/dev/null
kill -INT "$VP"
wait "$VP" || true
VP=""
ir() { awk '/^summary:/ {print $2}' "$(ls "$OUT"/cg.*."$1")"; }
echo "ir_per_request pixel=$(( $(ir 1) / N )) link=$(( $(ir 2) / N ))"
