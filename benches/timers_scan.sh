#!/usr/bin/env bash
# Timers at scale (issue 19, item 6): the time to claim 1,000 due timers (the engine's batches of 100)
# among 1,000,000 pending ones against among 10,000, on SQLite and on PostgreSQL, in one run.
#
# Runs the `timers_scan` group of the criterion bench benches/store.rs (release build): each store gets its
# pending timers bulk-inserted with one `INSERT … SELECT` over a generated series; each iteration makes
# 1,000 timers due, claims them all (timed) and deletes them. PostgreSQL is the test service's
# (`MAILER_TEST_PG_URL`, started by scripts/test-services.sh when unset).
# Prints the medians and, as its last line, ratio=<1M/10k, the worse of the two stores> sqlite=<…> postgres=<…>.
#
# usage: benches/timers_scan.sh        (CARGO_TARGET_DIR is honoured; criterion's output goes there)
set -euo pipefail
cd "$(dirname "$0")/.."

note() { echo "timers_scan.sh: $*" >&2; }
die() { note "$*"; exit 1; }

if [ -z "${MAILER_TEST_PG_URL:-}" ]; then
  eval "$(scripts/test-services.sh)"
fi

cargo bench --quiet --features sql,postgres --bench store -- --noplot timers_scan >&2

dir="${CARGO_TARGET_DIR:-target}/criterion/timers_scan"
median_ms() {
  local f="$dir/$1/new/estimates.json"
  [ -s "$f" ] || die "no criterion estimates at $f"
  python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["median"]["point_estimate"] / 1e6))' "$f"
}

sqlite_10k=$(median_ms sqlite_10k)
sqlite_1m=$(median_ms sqlite_1m)
postgres_10k=$(median_ms postgres_10k)
postgres_1m=$(median_ms postgres_1m)
echo "claim_1000_ms sqlite_10k=$sqlite_10k sqlite_1m=$sqlite_1m postgres_10k=$postgres_10k postgres_1m=$postgres_1m"
awk -v a="$sqlite_1m" -v b="$sqlite_10k" -v c="$postgres_1m" -v d="$postgres_10k" 'BEGIN {
  s = a / b; p = c / d; w = (s > p) ? s : p
  printf "ratio=%.2f sqlite=%.2f postgres=%.2f\n", w, s, p
}'
