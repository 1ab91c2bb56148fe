//! Compiled templates kept by their content, so that a mailing's emails, which each carry the same content
//! of up to hundreds of KB, are compiled once.
//!
//! The cache is keyed by the content itself and a hit compares it whole, so two contents can never share
//! an entry. Only the hash is sampled: of a long text it takes the length and the first and last 128
//! bytes ([`SampledHasher`]). Hashing 20 KB bodies whole took about 1.5 % of a worker's CPU on the pipeline
//! bench; a comparison on a hit is a `memcmp`, several times cheaper. Contents that differ only in the
//! middle share a hash and are told apart by the comparison.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Mutex, PoisonError};

use crate::model::Content;
use crate::template::CompiledTemplate;

/// Compiled forms kept at most; the cache is emptied when full.
const KEPT: usize = 1_024;

/// Compiled templates by their content.
#[derive(Debug, Default)]
pub(super) struct CompiledCache(Mutex<HashMap<Content, CompiledTemplate, Sampled>>);

impl CompiledCache {
    /// The compiled form of `content`, made by `compile` on a miss (and kept when it succeeds).
    pub(super) fn get_or_compile<E>(
        &self,
        content: &Content,
        compile: impl FnOnce(&Content) -> Result<CompiledTemplate, E>,
    ) -> Result<CompiledTemplate, E> {
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = cache.get(content) {
            return Ok(found.clone());
        }
        let compiled = compile(content)?;
        if cache.len() >= KEPT {
            cache.clear();
        }
        cache.insert(content.clone(), compiled.clone());
        Ok(compiled)
    }
}

/// Builds [`SampledHasher`]s over foldhash's fast hasher (random seed per cache).
#[derive(Debug, Default, Clone)]
pub(super) struct Sampled(foldhash::fast::RandomState);

impl BuildHasher for Sampled {
    type Hasher = SampledHasher;

    fn build_hasher(&self) -> SampledHasher {
        SampledHasher(self.0.build_hasher())
    }
}

/// A hasher that takes, of each byte string longer than `2 × SAMPLE`, its length and its first and last
/// `SAMPLE` bytes; shorter ones whole.
pub(super) struct SampledHasher(foldhash::fast::FoldHasher<'static>);

/// Bytes taken from each end of a long string.
const SAMPLE: usize = 128;

impl Hasher for SampledHasher {
    fn finish(&self) -> u64 {
        self.0.finish()
    }

    fn write(&mut self, bytes: &[u8]) {
        if bytes.len() > 2 * SAMPLE {
            self.0.write_usize(bytes.len());
            self.0.write(&bytes[..SAMPLE]);
            self.0.write(&bytes[bytes.len() - SAMPLE..]);
        } else {
            self.0.write(bytes);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.0.write_u8(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.0.write_usize(i);
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;
    use crate::model::{AccountId, Body, Entity, EntityRecord, EntityRef};
    use crate::template::{CompileOptions, LinkBuilder, RenderContext};

    fn content(body: String) -> Content {
        Content {
            subject: "Hi {{ contact.name }}".into(),
            body: Body::Html(body),
            text: None,
        }
    }

    fn compile(c: &Content) -> Result<CompiledTemplate, crate::template::TemplateError> {
        CompiledTemplate::compile(c, &CompileOptions::permissive())
    }

    #[test]
    fn contents_that_differ_only_in_the_middle_share_a_hash_but_not_an_entry() {
        let a = content(format!("{}<b>one</b>{}", "x".repeat(500), "y".repeat(500)));
        let b = content(format!("{}<b>two</b>{}", "x".repeat(500), "y".repeat(500)));
        let state = Sampled::default();
        assert_eq!(state.hash_one(&a), state.hash_one(&b), "only the ends are hashed");
        let longer = content(format!("{}<b>three</b>{}", "x".repeat(500), "y".repeat(500)));
        assert_ne!(state.hash_one(&a), state.hash_one(&longer), "the length is hashed");

        let cache = CompiledCache::default();
        let mut compiled = 0;
        let mut get = |c: &Content| {
            cache
                .get_or_compile(c, |c| {
                    compiled += 1;
                    compile(c)
                })
                .expect("compiles")
        };
        let first = get(&a);
        let second = get(&b);
        let again = get(&a);
        assert_eq!(compiled, 2, "b is not a's entry; a again is");
        let render = |t: &CompiledTemplate| {
            let lead = Entity::new(EntityRef::lead(1), "Deal");
            let record = EntityRecord {
                entity: lead.clone(),
                lead: Some(lead),
                contacts: vec![Entity::new(EntityRef::contact(2), "Anna")],
                company: None,
                responsible: None,
            };
            let links = LinkBuilder::new("https://t.example.com", AccountId(1), [7; 32]).expect("links");
            t.render(&RenderContext::new(&record, &links, chrono::DateTime::UNIX_EPOCH))
                .expect("render")
                .html
        };
        assert!(render(&first).contains("<b>one</b>") && !render(&first).contains("<b>two</b>"));
        assert!(render(&second).contains("<b>two</b>") && !render(&second).contains("<b>one</b>"));
        assert_eq!(render(&again), render(&first));
    }

    #[test]
    fn an_error_is_not_kept() {
        let cache = CompiledCache::default();
        let bad = content("{% if %}".into());
        let mut calls = 0;
        for _ in 0..2 {
            let got = cache.get_or_compile(&bad, |c| {
                calls += 1;
                compile(c)
            });
            assert!(got.is_err());
        }
        assert_eq!(calls, 2);
    }
}
