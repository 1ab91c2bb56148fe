#!/usr/bin/env bash
# Checks the admin API against its own OpenAPI document with schemathesis (pip install schemathesis):
# serves the API over the in-memory harness (example `api_fuzz_server`, which prints an admin's token),
# runs schemathesis against /api/v1/openapi.json, stops the server.
# Usage: scripts/schemathesis.sh [extra schemathesis args]   (PORT, MAX_EXAMPLES)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-18089}"
OUT="$(mktemp)"
# The same features as the test build (`--workspace --all-features`), so CI reuses its artifacts.
cargo build -q --workspace --all-features --example api_fuzz_server
target/debug/examples/api_fuzz_server "$PORT" >"$OUT" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -f "$OUT"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
TOKEN="$(head -1 "$OUT")"
case "$TOKEN" in mk_*) ;; *) echo "no token: $TOKEN" >&2; exit 1 ;; esac
# Called through python3, so a fresh `pip install` needs no PATH or pyenv rehash.
# schemathesis keeps a cache in the current directory: run it outside the repository.
cd "$(mktemp -d)"
python3 -c "import sys; from schemathesis.cli import schemathesis; sys.argv[0] = 'schemathesis'; sys.exit(schemathesis())" run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
  -H "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "${MAX_EXAMPLES:-25}" "$@"
