//! `{% __lit N %}`: the tag the compiler writes for the literal HTML of a body, instead of leaving it to
//! Liquid as text.
//!
//! The literal pieces of a part are kept in one string, the part's *arena*; tag `N` writes piece `N` of
//! it. Every write of a literal therefore points into the arena, so the output knows, from the address
//! alone, which bytes of the template it just received (see `compiled.rs`), and the text part reuses what
//! it derived from those bytes on an earlier render (see `text.rs`) without comparing them again.

use std::io::Write;
use std::ops::Range;
use std::sync::Arc;

use liquid_core::error::Result as LiquidResult;
use liquid_core::parser::{ParseTag, TagReflection};
use liquid_core::runtime::{Renderable, Runtime};
use liquid_core::{Error, Language, TagTokenIter, ValueView};

/// The tag's name.
pub(crate) const LIT_TAG: &str = "__lit";

/// The literal pieces of one part: their text, one after the other, and where each one is.
#[derive(Debug, Clone, Default)]
pub(crate) struct Arena {
    text: Arc<str>,
    pieces: Arc<[Range<usize>]>,
}

impl Arena {
    /// An arena over `text` cut into `pieces`.
    pub(crate) fn new(text: String, pieces: Vec<Range<usize>>) -> Self {
        Self {
            text: text.into(),
            pieces: pieces.into(),
        }
    }

    /// The whole text.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Where `bytes` start in the arena, when they are a slice of it.
    pub(crate) fn offset_of(&self, bytes: &[u8]) -> Option<usize> {
        let start = self.text.as_ptr() as usize;
        let at = (bytes.as_ptr() as usize).checked_sub(start)?;
        (!bytes.is_empty() && at + bytes.len() <= self.text.len()).then_some(at)
    }
}

/// The parser of `{% __lit N %}` for one part's arena.
#[derive(Debug, Clone)]
pub(crate) struct LitTag(pub(crate) Arena);

impl TagReflection for LitTag {
    fn tag(&self) -> &str {
        LIT_TAG
    }
    fn description(&self) -> &str {
        "Writes a literal piece of the template (added by the compiler)."
    }
}

impl ParseTag for LitTag {
    fn parse(&self, mut arguments: TagTokenIter<'_>, _options: &Language) -> LiquidResult<Box<dyn Renderable>> {
        let n = arguments
            .expect_next("piece expected")?
            .expect_literal()
            .into_result()?
            .as_scalar()
            .and_then(|s| s.to_integer())
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| Error::with_msg("piece number expected"))?;
        arguments.expect_nothing()?;
        let range = self
            .0
            .pieces
            .get(n)
            .cloned()
            .ok_or_else(|| Error::with_msg("unknown piece"))?;
        Ok(Box::new(Lit {
            text: self.0.text.clone(),
            range,
        }))
    }

    fn reflection(&self) -> &dyn TagReflection {
        self
    }
}

/// One literal piece.
#[derive(Debug)]
struct Lit {
    text: Arc<str>,
    range: Range<usize>,
}

impl Renderable for Lit {
    fn render_to(&self, writer: &mut dyn Write, _runtime: &dyn Runtime) -> LiquidResult<()> {
        let bytes = self.text.as_bytes().get(self.range.clone()).unwrap_or_default();
        // The writer's own message is kept (a capture's writer says which limit was hit).
        writer.write_all(bytes).map_err(|e| Error::with_msg(e.to_string()))
    }
}
