//! Replays every kept fuzz input (`fuzz/corpus/<target>/`) and every crash ever found
//! (`fuzz/crashes/<target>/`) through the same functions the cargo-fuzz targets call
//! (`fuzz/src/targets.rs`), so CI checks them without building the fuzzers.

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../fuzz/src/targets.rs"]
mod targets;

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../fuzz/src/config_target.rs"]
mod config_target;

use std::path::Path;

fn inputs(kind: &str, target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(kind)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| {
            let bytes = std::fs::read(e.path()).expect("read input");
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    out.sort();
    out
}

fn replay(target: &str) -> usize {
    let run = |data: &[u8]| match target {
        "config" => {
            config_target::config_loader(data);
            true
        }
        other => targets::run(other, data),
    };
    let corpus = inputs("corpus", target);
    assert!(!corpus.is_empty(), "fuzz/corpus/{target}/ is empty");
    let crashes = inputs("crashes", target);
    for (name, bytes) in corpus.iter().chain(&crashes) {
        let ok = std::panic::catch_unwind(|| run(bytes));
        assert!(matches!(ok, Ok(true)), "{target}/{name} fails");
    }
    corpus.len() + crashes.len()
}

#[test]
fn every_target_has_a_corpus_folder() {
    for target in targets::TARGETS.iter().chain(&["config"]) {
        assert!(!inputs("corpus", target).is_empty(), "no corpus for {target}");
    }
    assert!(!targets::run("no such target", b""));
}

#[test]
fn template_corpus_replays() {
    replay("template");
}

#[test]
fn token_corpus_replays() {
    replay("token");
}

#[test]
fn form_corpus_replays() {
    replay("form");
}

#[test]
fn kommo_hooks_corpus_replays() {
    replay("kommo_hooks");
}

#[test]
fn dsn_corpus_replays() {
    replay("dsn");
}

#[test]
fn config_corpus_replays() {
    replay("config");
}
