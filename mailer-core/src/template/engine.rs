//! The Liquid parser we compile with: the standard tags and filters minus `include`, `render` and `cycle`,
//! every filter bounded in the size of what it builds, plus our own escaping filters and the loop counter.

use std::fmt;
use std::io::Write;
use std::sync::{Arc, OnceLock};

use liquid_core::error::Result as LiquidResult;
use liquid_core::model::{Value, ValueView};
use liquid_core::parser::{
    FilterArguments, FilterReflection, ParameterReflection, ParseFilter, ParseTag, TagReflection,
};
use liquid_core::runtime::{Renderable, Runtime};
use liquid_core::{Error, Language, TagTokenIter};
use liquid_lib::stdlib;

use super::Limits;
use super::output;
use super::stable;

/// Marker in the message of the error raised when the loop budget is spent.
pub(crate) const LOOP_LIMIT_MARK: &str = "mailer: loop limit";
/// Marker in the message of the error raised when a filter builds a value over the limit.
pub(crate) const VALUE_LIMIT_MARK: &str = "mailer: value limit";
/// The tag the compiler puts first in every loop body.
pub(crate) const TICK_TAG: &str = "__tick";

/// The Liquid language (tags, blocks and filters) for `limits`; the default limits' one is built once.
pub(crate) fn parser(limits: &Limits) -> LiquidResult<Arc<Language>> {
    static DEFAULT: OnceLock<Arc<Language>> = OnceLock::new();
    if *limits == Limits::default() {
        if let Some(p) = DEFAULT.get() {
            return Ok(p.clone());
        }
        let p = build(limits)?;
        return Ok(DEFAULT.get_or_init(|| p).clone());
    }
    build(limits)
}

fn build(limits: &Limits) -> LiquidResult<Arc<Language>> {
    let max = limits.max_value_size;
    let budget = limits.max_output_bytes;
    let b = |f: Box<dyn ParseFilter>| Bounded { inner: f, max, budget };
    let mut lang = Language::empty();
    let tags: Vec<Box<dyn ParseTag>> = vec![
        Box::new(stdlib::AssignTag),
        Box::new(stdlib::BreakTag),
        Box::new(stdlib::ContinueTag),
        Box::new(stdlib::IncrementTag),
        Box::new(stdlib::DecrementTag),
        Box::new(Tick {
            max: limits.max_loop_iterations,
        }),
        Box::new(output::OutTag),
    ];
    for tag in tags {
        lang.tags.register(tag.reflection().tag().to_owned(), tag);
    }
    let blocks: Vec<Box<dyn liquid_core::ParseBlock>> = vec![
        Box::new(stdlib::RawBlock),
        Box::new(stdlib::IfBlock),
        Box::new(stdlib::UnlessBlock),
        Box::new(stdlib::IfChangedBlock),
        Box::new(stdlib::ForBlock),
        Box::new(stdlib::TableRowBlock),
        Box::new(stdlib::CommentBlock),
        Box::new(BoundedCapture { budget }),
        Box::new(stdlib::CaseBlock),
    ];
    for block in blocks {
        lang.blocks.register(block.reflection().start_tag().to_owned(), block);
    }
    let filters: Vec<Box<dyn ParseFilter>> = vec![
        Box::new(stdlib::Append),
        Box::new(stdlib::AtLeast),
        Box::new(stdlib::AtMost),
        Box::new(stdlib::Capitalize),
        Box::new(stdlib::Ceil),
        Box::new(stdlib::Compact),
        Box::new(stdlib::Concat),
        Box::new(stdlib::Date),
        Box::new(stdlib::Default),
        Box::new(stdlib::Downcase),
        Box::new(stdlib::Escape),
        Box::new(stdlib::EscapeOnce),
        Box::new(stdlib::First),
        Box::new(stdlib::Floor),
        Box::new(stdlib::Last),
        Box::new(stdlib::Lstrip),
        Box::new(stdlib::Map),
        Box::new(stdlib::NewlineToBr),
        Box::new(stdlib::Prepend),
        Box::new(stdlib::Remove),
        Box::new(stdlib::RemoveFirst),
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
        Box::new(stdlib::Truncate),
        Box::new(stdlib::TruncateWords),
        Box::new(stdlib::Uniq),
        Box::new(stdlib::Upcase),
        Box::new(stdlib::UrlDecode),
        Box::new(stdlib::UrlEncode),
        Box::new(stdlib::Where),
        Box::new(Math(MathOp::Abs)),
        Box::new(Math(MathOp::Plus)),
        Box::new(Math(MathOp::Minus)),
        Box::new(Math(MathOp::Times)),
        Box::new(Math(MathOp::DividedBy)),
        Box::new(Math(MathOp::Modulo)),
        Box::new(SizedFilter(Sized::Replace, max)),
        Box::new(SizedFilter(Sized::ReplaceFirst, max)),
        Box::new(SizedFilter(Sized::Join, max)),
    ];
    let filters: Vec<Box<dyn ParseFilter>> = filters
        .into_iter()
        .chain([Box::new(Raw) as Box<dyn ParseFilter>])
        .collect();
    for f in filters {
        let f: Box<dyn ParseFilter> = Box::new(b(f));
        lang.filters.register(f.reflection().name().to_owned(), f);
    }
    Ok(Arc::new(lang))
}

/// Every filter name templates may use (the compiler's own `__…` filters are not listed: a template cannot
/// name them).
pub(crate) const FILTER_NAMES: &[&str] = &[
    "abs",
    "append",
    "at_least",
    "at_most",
    "capitalize",
    "ceil",
    "compact",
    "concat",
    "date",
    "default",
    "divided_by",
    "downcase",
    "escape",
    "escape_once",
    "first",
    "floor",
    "join",
    "last",
    "lstrip",
    "map",
    "minus",
    "modulo",
    "newline_to_br",
    "plus",
    "prepend",
    "remove",
    "remove_first",
    "replace",
    "replace_first",
    "reverse",
    "round",
    "rstrip",
    "size",
    "slice",
    "sort",
    "sort_natural",
    "split",
    "strip",
    "strip_html",
    "strip_newlines",
    "times",
    "truncate",
    "truncatewords",
    "uniq",
    "upcase",
    "url_decode",
    "url_encode",
    "where",
    "raw",
];

/// Marker in the message of the error raised when the values built in one part (filter results and
/// captures together) pass the output limit.
pub(crate) const BUILD_LIMIT_MARK: &str = "mailer: build limit";

/// Bytes built so far in one render of a part: every filter result and every capture counts.
#[derive(Debug, Default)]
pub(crate) struct Built(pub(crate) usize);

fn spend(runtime: &dyn Runtime, budget: usize, bytes: usize) -> LiquidResult<()> {
    let mut built = runtime.registers().get_mut::<Built>();
    built.0 = built.0.saturating_add(bytes);
    if built.0 > budget {
        return Err(Error::with_msg(BUILD_LIMIT_MARK));
    }
    Ok(())
}

/// Any filter, checked after it runs: a string over `max` bytes or an array over `max` items is an error,
/// and the result counts against the part's build budget. A panic inside a filter (a bug in a library
/// filter on an extreme argument) becomes an error instead of taking the worker down.
#[derive(Clone)]
struct Bounded {
    inner: Box<dyn ParseFilter>,
    max: usize,
    budget: usize,
}

impl ParseFilter for Bounded {
    fn parse(&self, arguments: FilterArguments<'_>) -> LiquidResult<Box<dyn liquid_core::parser::Filter>> {
        Ok(Box::new(BoundedFilter {
            inner: self.inner.parse(arguments)?,
            max: self.max,
            budget: self.budget,
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
    budget: usize,
}

impl fmt::Display for BoundedFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl liquid_core::parser::Filter for BoundedFilter {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> LiquidResult<Value> {
        // An object reaches a string filter's `to_kstr` in the same order on every render.
        let stable = stable::Stable(input);
        let input: &dyn ValueView = if stable::holds_object(input) { &stable } else { input };
        let run = std::panic::AssertUnwindSafe(|| self.inner.evaluate(input, runtime));
        let out = std::panic::catch_unwind(run)
            .map_err(|_| Error::with_msg(format!("filter `{}` failed on its input", self.inner)))??;
        let (size, bytes) = match &out {
            Value::Scalar(s) => {
                let n = s.to_kstr().len();
                (n, n)
            }
            Value::Array(a) => (a.len(), a.len().saturating_mul(16)),
            Value::Object(o) => (o.len(), o.len().saturating_mul(16)),
            _ => (0, 0),
        };
        if size > self.max {
            return Err(Error::with_msg(VALUE_LIMIT_MARK));
        }
        spend(runtime, self.budget, bytes)?;
        Ok(out)
    }
}

/// `{% capture %}` that renders into a buffer bounded by the part's build budget and counts what it
/// captured against it.
#[derive(Debug, Clone, Copy)]
struct BoundedCapture {
    budget: usize,
}

impl liquid_core::BlockReflection for BoundedCapture {
    fn start_tag(&self) -> &str {
        "capture"
    }
    fn end_tag(&self) -> &str {
        "endcapture"
    }
    fn description(&self) -> &str {
        "Captures the output of its body into a variable, within the part's budget."
    }
}

impl liquid_core::ParseBlock for BoundedCapture {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        mut tokens: liquid_core::TagBlock<'_, '_>,
        options: &Language,
    ) -> LiquidResult<Box<dyn Renderable>> {
        let id: liquid_core::model::KString = arguments
            .expect_next("Identifier expected")?
            .expect_identifier()
            .into_result()?
            .to_owned()
            .into();
        arguments.expect_nothing()?;
        let template = liquid_core::Template::new(tokens.parse_all(options)?);
        tokens.assert_empty();
        Ok(Box::new(CaptureRender {
            id,
            template,
            budget: self.budget,
        }))
    }
    fn reflection(&self) -> &dyn liquid_core::BlockReflection {
        self
    }
}

#[derive(Debug)]
struct CaptureRender {
    id: liquid_core::model::KString,
    template: liquid_core::Template,
    budget: usize,
}

/// A writer that refuses to grow past `limit`.
struct LimitedWriter {
    buf: Vec<u8>,
    limit: usize,
}

impl Write for LimitedWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len().saturating_add(data.len()) > self.limit {
            return Err(std::io::Error::other(BUILD_LIMIT_MARK));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Renderable for CaptureRender {
    fn render_to(&self, _writer: &mut dyn Write, runtime: &dyn Runtime) -> LiquidResult<()> {
        let left = self.budget.saturating_sub(runtime.registers().get_mut::<Built>().0);
        let mut out = LimitedWriter {
            buf: Vec::new(),
            limit: left,
        };
        if let Err(e) = self.template.render_to(&mut out, runtime) {
            return Err(
                if out.buf.len() >= left.saturating_sub(64 * 1024) || e.to_string().contains(BUILD_LIMIT_MARK) {
                    Error::with_msg(BUILD_LIMIT_MARK)
                } else {
                    e
                },
            );
        }
        spend(runtime, self.budget, out.buf.len())?;
        let text = String::from_utf8(out.buf).map_err(|_| Error::with_msg("capture is not UTF-8"))?;
        runtime.set_global(self.id.clone(), Value::scalar(text));
        Ok(())
    }
}

/// The arithmetic filters, checked: an overflow (`i64::MIN | divided_by: -1`, `| abs` of `i64::MIN`,
/// `| times` past `i64::MAX`) or a division by zero is an error, never a panic or a wrapped number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MathOp {
    Abs,
    Plus,
    Minus,
    Times,
    DividedBy,
    Modulo,
}

impl MathOp {
    fn name(self) -> &'static str {
        match self {
            Self::Abs => "abs",
            Self::Plus => "plus",
            Self::Minus => "minus",
            Self::Times => "times",
            Self::DividedBy => "divided_by",
            Self::Modulo => "modulo",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Math(MathOp);

static ONE_OPERAND: [ParameterReflection; 1] = [ParameterReflection {
    name: "operand",
    description: "The other number.",
    is_optional: false,
}];

impl FilterReflection for Math {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn description(&self) -> &str {
        "Arithmetic on integers (checked) or floats."
    }
    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        if self.0 == MathOp::Abs { &[] } else { &ONE_OPERAND }
    }
    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for Math {
    fn parse(&self, mut arguments: FilterArguments<'_>) -> LiquidResult<Box<dyn liquid_core::parser::Filter>> {
        let operand = arguments.positional.next();
        let extra = arguments.positional.next().is_some() || arguments.keyword.next().is_some();
        if extra || (operand.is_none() != (self.0 == MathOp::Abs)) {
            return Err(Error::with_msg(format!(
                "`{}` takes {} argument",
                self.0.name(),
                if self.0 == MathOp::Abs { "no" } else { "one" }
            )));
        }
        Ok(Box::new(MathFilter { op: self.0, operand }))
    }
    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

#[derive(Debug)]
struct MathFilter {
    op: MathOp,
    operand: Option<liquid_core::runtime::Expression>,
}

impl fmt::Display for MathFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.op.name())
    }
}

impl liquid_core::parser::Filter for MathFilter {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> LiquidResult<Value> {
        let name = self.op.name();
        let nan = || Error::with_msg(format!("`{name}`: number expected"));
        let input = input.as_scalar().ok_or_else(nan)?;
        let overflow = || Error::with_msg(format!("`{name}`: the result is out of range"));
        if self.op == MathOp::Abs {
            if let Some(i) = input.to_integer() {
                return i.checked_abs().map(Value::scalar).ok_or_else(overflow);
            }
            return input.to_float().map(|f| Value::scalar(f.abs())).ok_or_else(nan);
        }
        let operand = match &self.operand {
            Some(expr) => expr.evaluate(runtime)?,
            None => return Err(nan()),
        };
        let operand = operand.as_scalar().ok_or_else(nan)?;
        if let (Some(a), Some(b)) = (input.to_integer(), operand.to_integer()) {
            if b == 0 && matches!(self.op, MathOp::DividedBy | MathOp::Modulo) {
                return Err(Error::with_msg(format!("`{name}`: division by zero")));
            }
            let r = match self.op {
                MathOp::Plus => a.checked_add(b),
                MathOp::Minus => a.checked_sub(b),
                MathOp::Times => a.checked_mul(b),
                MathOp::DividedBy => a.checked_div(b),
                MathOp::Modulo => a.checked_rem(b),
                MathOp::Abs => None,
            };
            return r.map(Value::scalar).ok_or_else(overflow);
        }
        let (a, b) = (input.to_float().ok_or_else(nan)?, operand.to_float().ok_or_else(nan)?);
        if b == 0.0 && matches!(self.op, MathOp::DividedBy | MathOp::Modulo) {
            return Err(Error::with_msg(format!("`{name}`: division by zero")));
        }
        let r = match self.op {
            MathOp::Plus => a + b,
            MathOp::Minus => a - b,
            MathOp::Times => a * b,
            MathOp::DividedBy => a / b,
            MathOp::Modulo => a % b,
            MathOp::Abs => a.abs(),
        };
        if r.is_finite() {
            Ok(Value::scalar(r))
        } else {
            Err(overflow())
        }
    }
}

/// Filters whose result can be far larger than their input and arguments together (`replace`,
/// `replace_first`, `join`): the result's size is computed before it is built and refused over the value
/// limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sized {
    Replace,
    ReplaceFirst,
    Join,
}

impl Sized {
    fn name(self) -> &'static str {
        match self {
            Self::Replace => "replace",
            Self::ReplaceFirst => "replace_first",
            Self::Join => "join",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct SizedFilter(Sized, usize);

static TWO_STRINGS: [ParameterReflection; 2] = [
    ParameterReflection {
        name: "search",
        description: "The text to replace.",
        is_optional: false,
    },
    ParameterReflection {
        name: "replace",
        description: "The text to put instead.",
        is_optional: true,
    },
];

static SEPARATOR: [ParameterReflection; 1] = [ParameterReflection {
    name: "separator",
    description: "Put between items (a space by default).",
    is_optional: true,
}];

impl FilterReflection for SizedFilter {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn description(&self) -> &str {
        "A string filter whose result size is checked before it is built."
    }
    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        if self.0 == Sized::Join {
            &SEPARATOR
        } else {
            &TWO_STRINGS
        }
    }
    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for SizedFilter {
    fn parse(&self, mut arguments: FilterArguments<'_>) -> LiquidResult<Box<dyn liquid_core::parser::Filter>> {
        let first = arguments.positional.next();
        let second = arguments.positional.next();
        let extra = arguments.positional.next().is_some() || arguments.keyword.next().is_some();
        let ok = match self.0 {
            Sized::Join => second.is_none() && !extra,
            _ => first.is_some() && !extra,
        };
        if !ok {
            return Err(Error::with_msg(format!(
                "`{}`: wrong number of arguments",
                self.0.name()
            )));
        }
        Ok(Box::new(SizedRun {
            max: self.1,
            kind: self.0,
            first,
            second,
        }))
    }
    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

#[derive(Debug)]
struct SizedRun {
    max: usize,
    kind: Sized,
    first: Option<liquid_core::runtime::Expression>,
    second: Option<liquid_core::runtime::Expression>,
}

impl fmt::Display for SizedRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())
    }
}

impl liquid_core::parser::Filter for SizedRun {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> LiquidResult<Value> {
        let arg = |e: &Option<liquid_core::runtime::Expression>| -> LiquidResult<Option<String>> {
            match e {
                Some(e) => Ok(Some(e.evaluate(runtime)?.to_kstr().as_str().to_owned())),
                None => Ok(None),
            }
        };
        let max = self.max;
        let too_big = || Error::with_msg(VALUE_LIMIT_MARK);
        match self.kind {
            Sized::Join => {
                let sep = arg(&self.first)?.unwrap_or_else(|| " ".to_owned());
                let items = input
                    .as_array()
                    .ok_or_else(|| Error::with_msg("`join`: array expected"))?;
                let parts: Vec<_> = items.values().map(|v| stable::text(v).into_owned()).collect();
                let size = parts
                    .iter()
                    .map(|p| p.len())
                    .fold(0usize, usize::saturating_add)
                    .saturating_add(sep.len().saturating_mul(parts.len().saturating_sub(1)));
                if size > max {
                    return Err(too_big());
                }
                let strs: Vec<&str> = parts.iter().map(|p| p.as_str()).collect();
                Ok(Value::scalar(strs.join(&sep)))
            }
            Sized::Replace | Sized::ReplaceFirst => {
                let search = arg(&self.first)?.unwrap_or_default();
                let with = arg(&self.second)?.unwrap_or_default();
                let text = input.to_kstr();
                let count = if self.kind == Sized::ReplaceFirst {
                    usize::from(text.contains(search.as_str()))
                } else if search.is_empty() {
                    text.chars().count().saturating_add(1)
                } else {
                    text.matches(search.as_str()).count()
                };
                let size = text.len().saturating_add(count.saturating_mul(with.len()));
                if size > max {
                    return Err(too_big());
                }
                Ok(Value::scalar(if self.kind == Sized::ReplaceFirst {
                    text.replacen(search.as_str(), &with, 1)
                } else {
                    text.replace(search.as_str(), &with)
                }))
            }
        }
    }
}

/// `raw`: the author's explicit opt-out, a trusted value output as it is (an object's keys in sorted order).
/// Every other output is escaped by the compiler's `{% __out %}` tag (see `output.rs`).
#[derive(Debug, Clone, Copy)]
struct Raw;

impl FilterReflection for Raw {
    fn name(&self) -> &str {
        "raw"
    }
    fn description(&self) -> &str {
        "Outputs a trusted value without HTML escaping."
    }
    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for Raw {
    fn parse(&self, mut arguments: FilterArguments<'_>) -> LiquidResult<Box<dyn liquid_core::parser::Filter>> {
        if arguments.positional.next().is_some() || arguments.keyword.next().is_some() {
            return Err(Error::with_msg("`raw` takes no arguments"));
        }
        Ok(Box::new(*self))
    }
    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

impl fmt::Display for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("raw")
    }
}

impl liquid_core::parser::Filter for Raw {
    fn evaluate(&self, input: &dyn ValueView, _runtime: &dyn Runtime) -> LiquidResult<Value> {
        // Objects are printed in a stable order; any other value is handed back as it is.
        Ok(stable::object_text(input).map_or_else(|| input.to_value(), Value::scalar))
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
