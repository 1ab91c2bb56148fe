//! The Liquid parser we compile with: the standard tags and filters minus `include`, `render` and `cycle`,
//! every filter bounded in the size of what it builds, plus our own escaping filters and the loop counter.

use std::fmt;
use std::io::Write;
use std::sync::OnceLock;

use liquid_core::error::Result as LiquidResult;
use liquid_core::model::{Value, ValueView};
use liquid_core::parser::{
    FilterArguments, FilterReflection, ParameterReflection, ParseFilter, ParseTag, TagReflection,
};
use liquid_core::runtime::{Renderable, Runtime};
use liquid_core::{Error, Language, TagTokenIter};
use liquid_lib::stdlib;

use super::Limits;
use super::escape;

/// Marker in the message of the error raised when the loop budget is spent.
pub(crate) const LOOP_LIMIT_MARK: &str = "mailer: loop limit";
/// Marker in the message of the error raised when a filter builds a value over the limit.
pub(crate) const VALUE_LIMIT_MARK: &str = "mailer: value limit";
/// The tag the compiler puts first in every loop body.
pub(crate) const TICK_TAG: &str = "__tick";

/// The parser for `limits`; the default limits' parser is built once.
pub(crate) fn parser(limits: &Limits) -> LiquidResult<liquid::Parser> {
    static DEFAULT: OnceLock<liquid::Parser> = OnceLock::new();
    if *limits == Limits::default() {
        if let Some(p) = DEFAULT.get() {
            return Ok(p.clone());
        }
        let p = build(limits)?;
        return Ok(DEFAULT.get_or_init(|| p).clone());
    }
    build(limits)
}

fn build(limits: &Limits) -> LiquidResult<liquid::Parser> {
    let max = limits.max_value_size;
    let b = |f: Box<dyn ParseFilter>| Bounded { inner: f, max };
    let mut builder = liquid::ParserBuilder::new()
        .tag(stdlib::AssignTag)
        .tag(stdlib::BreakTag)
        .tag(stdlib::ContinueTag)
        .tag(stdlib::IncrementTag)
        .tag(stdlib::DecrementTag)
        .tag(Tick {
            max: limits.max_loop_iterations,
        })
        .block(stdlib::RawBlock)
        .block(stdlib::IfBlock)
        .block(stdlib::UnlessBlock)
        .block(stdlib::IfChangedBlock)
        .block(stdlib::ForBlock)
        .block(stdlib::TableRowBlock)
        .block(stdlib::CommentBlock)
        .block(stdlib::CaptureBlock)
        .block(stdlib::CaseBlock);
    let filters: Vec<Box<dyn ParseFilter>> = vec![
        Box::new(stdlib::Abs),
        Box::new(stdlib::Append),
        Box::new(stdlib::AtLeast),
        Box::new(stdlib::AtMost),
        Box::new(stdlib::Capitalize),
        Box::new(stdlib::Ceil),
        Box::new(stdlib::Compact),
        Box::new(stdlib::Concat),
        Box::new(stdlib::Date),
        Box::new(stdlib::Default),
        Box::new(stdlib::DividedBy),
        Box::new(stdlib::Downcase),
        Box::new(stdlib::Escape),
        Box::new(stdlib::EscapeOnce),
        Box::new(stdlib::First),
        Box::new(stdlib::Floor),
        Box::new(stdlib::Join),
        Box::new(stdlib::Last),
        Box::new(stdlib::Lstrip),
        Box::new(stdlib::Map),
        Box::new(stdlib::Minus),
        Box::new(stdlib::Modulo),
        Box::new(stdlib::NewlineToBr),
        Box::new(stdlib::Plus),
        Box::new(stdlib::Prepend),
        Box::new(stdlib::Remove),
        Box::new(stdlib::RemoveFirst),
        Box::new(stdlib::Replace),
        Box::new(stdlib::ReplaceFirst),
        Box::new(stdlib::Reverse),
        Box::new(stdlib::Round),
        Box::new(stdlib::Rstrip),
        Box::new(stdlib::Size),
        Box::new(stdlib::Slice),
        Box::new(stdlib::Sort),
        Box::new(stdlib::SortNatural),
        Box::new(stdlib::Split),
        Box::new(stdlib::Strip),
        Box::new(stdlib::StripHtml),
        Box::new(stdlib::StripNewlines),
        Box::new(stdlib::Times),
        Box::new(stdlib::Truncate),
        Box::new(stdlib::TruncateWords),
        Box::new(stdlib::Uniq),
        Box::new(stdlib::Upcase),
        Box::new(stdlib::UrlDecode),
        Box::new(stdlib::UrlEncode),
        Box::new(stdlib::Where),
        Box::new(Own(OwnFilter::Html)),
        Box::new(Own(OwnFilter::Unquoted)),
        Box::new(Own(OwnFilter::Line)),
        Box::new(Own(OwnFilter::Raw)),
    ];
    for f in filters {
        builder = builder.filter(b(f));
    }
    builder.build()
}

/// Any filter, checked after it runs: a string over `max` bytes or an array over `max` items is an error.
#[derive(Clone)]
struct Bounded {
    inner: Box<dyn ParseFilter>,
    max: usize,
}

impl ParseFilter for Bounded {
    fn parse(&self, arguments: FilterArguments<'_>) -> LiquidResult<Box<dyn liquid_core::parser::Filter>> {
        Ok(Box::new(BoundedFilter {
            inner: self.inner.parse(arguments)?,
            max: self.max,
        }))
    }

    fn reflection(&self) -> &dyn FilterReflection {
        self.inner.reflection()
    }
}

#[derive(Debug)]
struct BoundedFilter {
    inner: Box<dyn liquid_core::parser::Filter>,
    max: usize,
}

impl fmt::Display for BoundedFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl liquid_core::parser::Filter for BoundedFilter {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> LiquidResult<Value> {
        let out = self.inner.evaluate(input, runtime)?;
        let size = match &out {
            Value::Scalar(s) => s.to_kstr().len(),
            Value::Array(a) => a.len(),
            Value::Object(o) => o.len(),
            _ => 0,
        };
        if size > self.max {
            return Err(Error::with_msg(VALUE_LIMIT_MARK));
        }
        Ok(out)
    }
}

/// Our filters: the escaping the compiler appends to every output, and `raw`, the explicit opt-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OwnFilter {
    /// `__esc`: HTML text and quoted attribute values.
    Html,
    /// `__esc_unq`: unquoted attribute values (also encodes whitespace, `=` and backquote).
    Unquoted,
    /// `__line`: subject values lose CR and LF.
    Line,
    /// `raw`: a trusted value, output as is.
    Raw,
}

impl OwnFilter {
    fn name(self) -> &'static str {
        match self {
            Self::Html => "__esc",
            Self::Unquoted => "__esc_unq",
            Self::Line => "__line",
            Self::Raw => "raw",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Own(OwnFilter);

impl FilterReflection for Own {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn description(&self) -> &str {
        match self.0 {
            OwnFilter::Raw => "Outputs a trusted value without HTML escaping.",
            _ => "Added by the compiler to every output.",
        }
    }
    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for Own {
    fn parse(&self, mut arguments: FilterArguments<'_>) -> LiquidResult<Box<dyn liquid_core::parser::Filter>> {
        if arguments.positional.next().is_some() || arguments.keyword.next().is_some() {
            return Err(Error::with_msg(format!("`{}` takes no arguments", self.0.name())));
        }
        Ok(Box::new(*self))
    }
    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

impl fmt::Display for Own {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

impl liquid_core::parser::Filter for Own {
    fn evaluate(&self, input: &dyn ValueView, _runtime: &dyn Runtime) -> LiquidResult<Value> {
        let s = input.to_kstr();
        let out = match self.0 {
            OwnFilter::Html => escape::html(&s),
            OwnFilter::Unquoted => escape::unquoted_attr(&s),
            OwnFilter::Line => escape::one_line(&s),
            OwnFilter::Raw => return Ok(input.to_value()),
        };
        Ok(Value::scalar(out))
    }
}

/// `{% __tick %}`: counts one loop iteration against the part's budget.
#[derive(Debug, Clone, Copy)]
struct Tick {
    max: u32,
}

#[derive(Debug, Default)]
struct TickCount(u32);

impl TagReflection for Tick {
    fn tag(&self) -> &str {
        TICK_TAG
    }
    fn description(&self) -> &str {
        "Counts a loop iteration (added by the compiler)."
    }
}

impl ParseTag for Tick {
    fn parse(&self, mut arguments: TagTokenIter<'_>, _options: &Language) -> LiquidResult<Box<dyn Renderable>> {
        arguments.expect_nothing()?;
        Ok(Box::new(*self))
    }
    fn reflection(&self) -> &dyn TagReflection {
        self
    }
}

impl Renderable for Tick {
    fn render_to(&self, _writer: &mut dyn Write, runtime: &dyn Runtime) -> LiquidResult<()> {
        let mut count = runtime.registers().get_mut::<TickCount>();
        count.0 += 1;
        if count.0 > self.max {
            return Err(Error::with_msg(LOOP_LIMIT_MARK));
        }
        Ok(())
    }
}
