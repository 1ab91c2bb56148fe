//! `{% __out %}`: the tag the compiler writes for every escaped output, instead of Liquid's `{{ … }}`.
//!
//! `{{ lead.name | upcase }}` in HTML text becomes `{% __out __esc 0 lead.name | upcase %}`: the escapings
//! the place needs (decided by `source.rs`), a number of flags, then the author's expression. The tag
//! evaluates the expression, escapes the text and writes it straight into the output: a value that needs
//! no escaping is written from the CRM data without a copy, where a Liquid filter would have built a new
//! string for every output. The author's own filters run as Liquid filters (bounded, see `engine.rs`).

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write;

use liquid_core::error::Result as LiquidResult;
use liquid_core::model::ScalarCow;
use liquid_core::parser::{FilterChain, ParseTag, TagReflection, TryMatchToken};
use liquid_core::runtime::{Renderable, Runtime, RuntimeBuilder, Variable};
use liquid_core::{Error, Language, TagTokenIter, ValueView};

use super::escape::Escape;
use super::stable;

/// The tag's name.
pub(crate) const OUT_TAG: &str = "__out";

/// Flag: an empty result is written as `""` (it starts an unquoted attribute value, which would otherwise
/// take the next attribute as its value: `title= id=b`).
const QUOTE_EMPTY: i64 = 1;
/// The flags above this bit count the `newline_to_br` applied after the escaping (it makes HTML).
const BR_SHIFT: u32 = 1;

/// How an output is printed: the escapings, in order, and what follows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Printing<'e> {
    /// The escapings, applied in order.
    pub(crate) escapes: &'e [Escape],
    /// How many `newline_to_br` run after the escaping.
    pub(crate) newline_to_br: u8,
    /// Write an empty result as `""`.
    pub(crate) quote_empty: bool,
}

/// Appends the tag for `expression` (Liquid, with the author's filters) to `liquid`; `trim_left` and
/// `trim_right` are the output's `{{-` and `-}}`.
pub(crate) fn write_tag(liquid: &mut String, expression: &str, printing: Printing<'_>, trims: (bool, bool)) {
    liquid.push_str(if trims.0 { "{%- " } else { "{% " });
    liquid.push_str(OUT_TAG);
    for e in printing.escapes {
        liquid.push(' ');
        liquid.push_str(e.name());
    }
    let flags = (i64::from(printing.newline_to_br) << BR_SHIFT) | if printing.quote_empty { QUOTE_EMPTY } else { 0 };
    // Writing to a `String` cannot fail.
    let _ = write!(liquid, " {flags} ");
    liquid.push_str(expression.trim());
    liquid.push_str(if trims.1 { " -%}" } else { " %}" });
}

/// The parser of `{% __out %}`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutTag;

impl TagReflection for OutTag {
    fn tag(&self) -> &str {
        OUT_TAG
    }
    fn description(&self) -> &str {
        "Prints a value escaped for where it stands (added by the compiler)."
    }
}

impl ParseTag for OutTag {
    fn parse(&self, mut arguments: TagTokenIter<'_>, options: &Language) -> LiquidResult<Box<dyn Renderable>> {
        let mut escapes = Vec::new();
        let flags = loop {
            let token = arguments.expect_next("escaping expected")?;
            match token.expect_literal() {
                TryMatchToken::Matches(value) => {
                    break value
                        .as_scalar()
                        .and_then(|s| s.to_integer())
                        .ok_or_else(|| Error::with_msg("flags expected"))?;
                }
                TryMatchToken::Fails(token) => {
                    let name = token.expect_identifier().into_result()?;
                    let escape = Escape::ALL
                        .iter()
                        .find(|e| e.name() == name)
                        .ok_or_else(|| Error::with_msg("unknown escaping"))?;
                    escapes.push(*escape);
                }
            }
        };
        let value = match arguments.expect_next("Value expected")?.expect_variable() {
            TryMatchToken::Matches(variable) => {
                // A path of names and literal indexes (`lead.cf["657200"]`) is the same on every render:
                // built once here. Evaluated without any variable, only such a path evaluates at all.
                let nothing = RuntimeBuilder::new().build();
                match variable.try_evaluate(&nothing) {
                    Some(path) => Value::Path(path.iter().map(|s| s.clone().into_owned()).collect()),
                    None => Value::Variable(variable),
                }
            }
            TryMatchToken::Fails(token) => Value::Chain(token.expect_filter_chain(options).into_result()?),
        };
        arguments.expect_nothing()?;
        Ok(Box::new(Out {
            escapes: escapes.into_boxed_slice(),
            newline_to_br: u8::try_from(flags >> BR_SHIFT).unwrap_or(u8::MAX),
            quote_empty: flags & QUOTE_EMPTY != 0,
            value,
        }))
    }

    fn reflection(&self) -> &dyn TagReflection {
        self
    }
}

/// What an output prints.
#[derive(Debug)]
enum Value {
    /// A variable whose path is known when compiling.
    Path(Box<[ScalarCow<'static>]>),
    /// A variable with a variable index (`lead.cf[name]`).
    Variable(Variable),
    /// A literal, or anything with filters.
    Chain(FilterChain),
}

/// One compiled output.
#[derive(Debug)]
struct Out {
    escapes: Box<[Escape]>,
    newline_to_br: u8,
    quote_empty: bool,
    value: Value,
}

impl Renderable for Out {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> LiquidResult<()> {
        let value = match &self.value {
            Value::Path(path) => runtime.get(path)?,
            Value::Variable(variable) => runtime.get(&variable.evaluate(runtime)?)?,
            Value::Chain(chain) => chain.evaluate(runtime)?,
        };
        let object = stable::object_text(value.as_view());
        let scalar;
        let mut text: Cow<'_, str> = match &object {
            Some(o) => Cow::Borrowed(o),
            None => {
                scalar = value.to_kstr();
                Cow::Borrowed(scalar.as_str())
            }
        };
        if let [escape] = *self.escapes
            && self.newline_to_br == 0
            && !self.quote_empty
        {
            // The common case, one escaping: into this thread's scratch buffer, not a new string.
            return SCRATCH.with(|cell| match cell.try_borrow_mut() {
                Ok(mut buf) => {
                    buf.clear();
                    let escaped = escape.escape_into(&text, &mut buf);
                    let written = write(writer, if escaped { &buf } else { &text });
                    if buf.capacity() > SCRATCH_KEEP {
                        *buf = String::new();
                    }
                    written
                }
                Err(_) => write(writer, &escape.apply(text)),
            });
        }
        for escape in &self.escapes {
            text = escape.apply(text);
        }
        for _ in 0..self.newline_to_br {
            if text.contains('\n') {
                text = Cow::Owned(text.replace('\n', "<br />\n"));
            }
        }
        if self.quote_empty && text.is_empty() {
            text = Cow::Borrowed("\"\"");
        }
        write(writer, &text)
    }
}

/// Writes `text`, keeping the writer's own message (a capture's writer says which limit was hit).
fn write(writer: &mut dyn Write, text: &str) -> LiquidResult<()> {
    writer
        .write_all(text.as_bytes())
        .map_err(|e| Error::with_msg(e.to_string()))
}

/// The largest scratch buffer kept between outputs (a longer escaped value frees it after use).
const SCRATCH_KEEP: usize = 64 * 1024;

thread_local! {
    /// Where an output is escaped before it is written.
    static SCRATCH: RefCell<String> = const { RefCell::new(String::new()) };
}
