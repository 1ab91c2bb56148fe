#!/usr/bin/env bash
# Start every service the integration tests use (PostgreSQL + smtp-sink + Dovecot IMAP/submission)
# in one temp dir and print their export lines; also installs the Python packages of the DKIM test
# (scripts/py-deps.sh: dkimpy, PyNaCl) and the UI test's browser (scripts/browser-deps.sh: chromium,
# chromium-driver) when they are missing.
#
# usage: eval "$(scripts/test-services.sh)"
#        MAILER_TEST_REQUIRE_ALL=1 cargo test --workspace --all-features
#        scripts/services-down.sh "$MAILER_TEST_SERVICES_DIR"     # or just scripts/services-down.sh
#
# The temp dir (mktemp -d, chmod 755 so the postgres/nobody users can enter it) holds pg/ and mail/; its
# path is printed as MAILER_TEST_SERVICES_DIR and also written to $MAILER_TEST_SERVICES_STATE
# (default /tmp/mailer-test-services.dir). Running it again while that dir still exists reuses it
# (the up scripts then only print the exports). Ports: see pg-up.sh and mail-up.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=services-lib.sh
. "$here/services-lib.sh"

state=${MAILER_TEST_SERVICES_STATE:-/tmp/mailer-test-services.dir}
dir=${MAILER_TEST_SERVICES_DIR:-}
if [ -z "$dir" ] && [ -s "$state" ]; then
  dir=$(head -n 1 "$state")
fi
if [ -n "$dir" ] && [ -d "$dir" ]; then
  note "reusing $dir"
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/mailer-test.XXXXXX")
fi
chmod 755 "$dir"
printf '%s\n' "$dir" >"$state"

emit MAILER_TEST_SERVICES_DIR "$dir"
"$here/pg-up.sh" "$dir/pg"
"$here/mail-up.sh" "$dir/mail"
"$here/py-deps.sh"
"$here/browser-deps.sh"
