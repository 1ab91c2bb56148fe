#!/usr/bin/env bash
# The browser of the operator UI's end-to-end test (mailer-http/tests/ui_browser): Debian's `chromium`
# and `chromium-driver` (chromedriver), from apt; no tool downloads a browser of its own. Idempotent:
# installs only when missing. Prints nothing on stdout (it runs inside `eval "$(scripts/test-services.sh)"`).
# usage: scripts/browser-deps.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=services-lib.sh
. "$here/services-lib.sh"

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
command -v apt-get >/dev/null || die "chromium and chromedriver are missing and there is no apt-get to install them"
note "installing chromium and chromium-driver for the UI test"
{
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver
} >&2 || die "apt-get could not install chromium and chromium-driver"
command -v chromedriver >/dev/null || die "chromedriver is still missing after the install"
