#!/usr/bin/env bash
# scripts/faults.sh [--long] — the fault suite: kill -9 during a mailing (SQLite; PostgreSQL with two
# processes), SMTP faults and IMAP down, Kommo 429/401/5xx/slow answers, SQLite on a full tmpfs, and the
# hostile-input tests. CI runs the short form as part of scripts/test.sh (300 emails and 3 kills, …); --long
# sets MAILER_FAULTS_LONG=1: 10,000 emails and 20 kills per database, 400 SMTP-fault emails, 300 Kommo ones.
# Each test prints a "faults:" line with its figures (see RELIABILITY.md). MAILER_FAULTS_SEED=N repeats the
# kill moments of a run. Starts the test services like scripts/test.sh when they are not given.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--long" ]; then
  export MAILER_FAULTS_LONG=1
  shift
fi
if [ -z "${MAILER_TEST_PG_URL:-}" ] && [ -x scripts/test-services.sh ]; then
  eval "$(scripts/test-services.sh)"
fi
export MAILER_TEST_REQUIRE_ALL="${MAILER_TEST_REQUIRE_ALL:-1}"
cargo test --locked --all-features -p mailer-http \
  --test faults_kill --test faults_smtp --test faults_kommo --test hostile_input --test fuzz_corpus "$@" \
  -- --nocapture --test-threads=1 2>&1 | grep -E "^(faults|hostile|test |test result)|panicked|FAILED"
cargo test --locked --all-features -p mailer-store-sql --test full_disk "$@" -- --nocapture 2>&1 \
  | grep -E "^(faults|test |test result)|panicked|FAILED"
