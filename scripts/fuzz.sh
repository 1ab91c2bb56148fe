#!/usr/bin/env bash
# scripts/fuzz.sh TARGET SECONDS — fuzzes one target of fuzz/ (cargo-fuzz, libFuzzer) for SECONDS, then merges
# what it found into the kept corpus fuzz/corpus/TARGET (only inputs that add coverage). Crashes land in
# fuzz/artifacts/TARGET/; copy each one into fuzz/crashes/TARGET/ once fixed, so the plain test
# `mailer-http/tests/fuzz_corpus.rs` replays it in CI. Targets: template token form kommo_hooks config.
# Runs on the stable toolchain through RUSTC_BOOTSTRAP=1; no sanitizer (every crate forbids unsafe code), with
# debug assertions and overflow checks. Long runs: `nice -n 15 scripts/fuzz.sh template 600`; FUZZ_DEV=1 builds
# without optimizations.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: scripts/fuzz.sh TARGET SECONDS}"
seconds="${2:?usage: scripts/fuzz.sh TARGET SECONDS}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1

cd fuzz
mkdir -p "corpus/$target" "corpus-work/$target" "artifacts/$target"
features=()
[ "$target" = config ] && features=(--features config)  # the loader needs the whole server library
# FUZZ_DEV=1: an unoptimized build (builds several times faster on a busy machine, runs slower).
[ "${FUZZ_DEV:-0}" = 1 ] && features+=(--dev)
fuzz() {
    cargo fuzz run --sanitizer none --debug-assertions "${features[@]}" "$target" "$@"
}
fuzz "corpus-work/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="artifacts/$target/"
# Keep the corpus small: a fresh merge of the kept corpus and what this run found, by coverage.
merged="corpus-work/$target.merged"
rm -rf "$merged" && mkdir -p "$merged"
fuzz "$merged" "corpus/$target" "corpus-work/$target" -- -merge=1 -max_len=4096 2>&1 | tail -3
rm -rf "corpus/$target" && mv "$merged" "corpus/$target"
echo "kept corpus: $(ls "corpus/$target" | wc -l) files, $(du -sh "corpus/$target" | cut -f1)"
