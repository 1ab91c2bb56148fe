#!/usr/bin/env bash
# CRM requests per email over a 10,000-lead mailing (10 mailboxes × 1,000 leads, sending limits lifted)
# against the fake Kommo, which counts every request and the most that arrived within one second.
# The measurement is the ignored test `crm_calls_over_a_10000_lead_mailing` in mailer-kommo/tests/mailing_reads.rs.
# Last line: calls_per_email=<all API requests / emails> max_rps=<most requests within one second>.
# Goals (issue 19): calls_per_email <= 0.05, max_rps <= 7.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(nice -n 10 cargo test -q -p mailer-kommo --test mailing_reads -- --ignored --nocapture \
    crm_calls_over_a_10000_lead_mailing 2>&1)
echo "$out" | grep -E '^emails=' || true
line=$(echo "$out" | grep -E '^calls_per_email=' | tail -1)
if [ -z "$line" ]; then
    echo "$out" >&2
    echo "crm_calls: no result" >&2
    exit 1
fi
echo "$line"
