#!/usr/bin/env bash
# The whole test suite: starts the test services the suite needs (PostgreSQL, SMTP, Dovecot) through the
# repository's own scripts when they exist and are not already given, then runs every test of the workspace.
# Tests that need a missing service skip loudly, or fail when MAILER_TEST_REQUIRE_ALL=1 (as in CI).
# usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=()
cleanup() { if [ ${#dirs[@]} -gt 0 ] && [ -x scripts/services-down.sh ]; then scripts/services-down.sh "${dirs[@]}" || true; fi; }
trap cleanup EXIT
if [ -x scripts/test-services.sh ] && [ "${MAILER_TEST_NO_SERVICES:-0}" != 1 ]; then
  exports=$(scripts/test-services.sh)
  eval "$exports"
  [ -n "${MAILER_TEST_SERVICES_DIR:-}" ] && dirs+=("$MAILER_TEST_SERVICES_DIR")
fi
cargo test --workspace --all-features --locked "$@"
