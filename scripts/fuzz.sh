#!/usr/bin/env bash
# scripts/fuzz.sh TARGET SECONDS — fuzzes one target of fuzz/ (cargo-fuzz, libFuzzer) for SECONDS, then merges
# what it found into the kept corpus fuzz/corpus/TARGET (only inputs that add coverage). Crashes land in
# fuzz/artifacts/TARGET/; copy each one into fuzz/crashes/TARGET/ once fixed, so the plain test
# `mailer-http/tests/fuzz_corpus.rs` replays it in CI. Targets: template token form kommo_hooks dsn config.
# Runs on the stable toolchain through RUSTC_BOOTSTRAP=1; no sanitizer (every crate forbids unsafe code), with
# debug assertions and overflow checks. One fuzzer process, in this process (no `-jobs`, whose child log
# `fuzz-0.log` in the working folder would be shared by targets run at once); the machine is shared, so run
# at a low priority: `nice -n 15 scripts/fuzz.sh template 600` (several targets may run at once). FUZZ_DEV=1 builds without optimizations.
# The build goes to fuzz/target (FUZZ_TARGET_DIR to move it), never to the workspace's target/ that CI uses.
# The run's log (with libFuzzer's final stats) is kept in fuzz/corpus-work/TARGET.log.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: scripts/fuzz.sh TARGET SECONDS}"
seconds="${2:?usage: scripts/fuzz.sh TARGET SECONDS}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR

cd fuzz
build_dir="${FUZZ_TARGET_DIR:-$PWD/target}"
mkdir -p "corpus/$target" "corpus-work/$target" "artifacts/$target"
# Every target is built with the `config` feature (the config loader's target needs the whole server
# library): the same features for all, so one build serves every target.
features=(--features config)
# FUZZ_DEV=1: an unoptimized build (builds several times faster on a busy machine, runs slower).
[ "${FUZZ_DEV:-0}" = 1 ] && features+=(--dev)
# Built by cargo-fuzz, then run directly: `cargo fuzz run` rebuilds everything with `--cfg fuzzing_repro`
# after a crash just to print the input, which takes half an hour on the shared machine.
cargo fuzz build --sanitizer none --debug-assertions --target-dir "$build_dir" "${features[@]}" "$target"
profile=release
[ "${FUZZ_DEV:-0}" = 1 ] && profile=debug
fuzzer="$build_dir/$(rustc -vV | sed -n 's/^host: //p')/$profile/$target"
fuzz() { "$fuzzer" "$@"; }
log="corpus-work/$target.log"
status=0
fuzz -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="artifacts/$target/" "corpus-work/$target" "corpus/$target" \
    >"$log" 2>&1 || status=$?
grep -E '^(stat::|=+ Job|==[0-9]+== ERROR|SUMMARY|Done )' "$log" || true
crashes=$(find "artifacts/$target" -type f | wc -l)
echo "crashes in fuzz/artifacts/$target: $crashes"
if [ "$status" != 0 ]; then
    echo "the fuzzer failed (exit $status): see fuzz/$log" >&2
    exit "$status"
fi
# Keep the corpus small: a fresh merge of the kept corpus and what this run found, keeping one input per
# covered edge (-use_counters=0: edges, not hit-count buckets).
merged="corpus-work/$target.merged"
rm -rf "$merged" && mkdir -p "$merged"
fuzz -merge=1 -use_counters=0 -max_len=4096 "$merged" "corpus/$target" "corpus-work/$target" 2>&1 | tail -3
rm -rf "corpus/$target" && mv "$merged" "corpus/$target"
echo "kept corpus: $(find "corpus/$target" -type f | wc -l) files, $(du -s --apparent-size --block-size=1 "corpus/$target" | cut -f1) bytes"
