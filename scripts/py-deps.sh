#!/usr/bin/env bash
# Python packages the integration tests use: dkimpy (an independent DKIM verifier, mailer-smtp/tests/dkim.rs)
# and PyNaCl (dkimpy's Ed25519). Idempotent: installs only what is missing. Prints nothing on stdout (it
# runs inside `eval "$(scripts/test-services.sh)"`).
# usage: scripts/py-deps.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=services-lib.sh
. "$here/services-lib.sh"

command -v python3 >/dev/null || die "python3 is missing (the DKIM test runs dkimpy)"
if python3 -c 'import dkim, nacl' 2>/dev/null; then
  exit 0
fi
note "installing dkimpy and PyNaCl for the DKIM test"
python3 -m pip install --quiet --disable-pip-version-check 'dkimpy>=1.1' 'pynacl>=1.5' >&2 ||
  die "pip could not install dkimpy and pynacl"
python3 -c 'import dkim, nacl' || die "dkimpy or PyNaCl still cannot be imported"
