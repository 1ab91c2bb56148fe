//! Template errors: what went wrong, in which part, and where.

use std::fmt;

/// Which part of a template an error is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartName {
    /// The subject line.
    Subject,
    /// The HTML or Markdown body.
    Body,
    /// The template's own text/plain part, or a plain-text template (trigger texts, field values).
    Text,
}

impl fmt::Display for PartName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Subject => "subject",
            Self::Body => "body",
            Self::Text => "text",
        })
    }
}

/// Where in the source an error is: 1-based line and column (in characters) and the offending snippet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
    /// The source text at that place (at most about 40 characters, on one line).
    pub snippet: String,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `{{` or `{%` without its closing `}}` or `%}`.
    Unclosed(&'static str),
    /// Liquid refused the source; the message is Liquid's.
    Syntax(String),
    /// A tag this engine does not allow (`include`, `render`, `cycle`).
    ForbiddenTag(String),
    /// A `for`/`tablerow` range whose bounds are not literal numbers, or that is too long.
    UnboundedRange(String),
    /// `{triggerlink:N}` names a link the account does not have.
    UnknownTriggerLink(i64),
    /// `{web:N}` names a page the account does not have.
    UnknownWebPage(i64),
    /// `{subject}` used inside the subject itself.
    SubjectInSubject,
    /// Strict mode: these variables have no value for this entity.
    UnknownVariables(Vec<String>),
    /// More loop iterations than allowed in one part.
    LoopLimit {
        /// The limit.
        limit: u32,
    },
    /// A value built while rendering (a string or an array) grew over its limit.
    ValueTooLarge {
        /// The limit in bytes or items.
        limit: usize,
    },
    /// The rendered output is over the limit.
    OutputTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A value placed where no escaping makes it safe (a tag or attribute name, an event handler,
    /// `srcdoc`, inside `<script>`), or a block whose branches end in different HTML contexts.
    UnsafeContext(String),
    /// Block tags or brackets nested deeper than the limit.
    TooDeep {
        /// The deepest nesting accepted.
        limit: usize,
    },
    /// A filter this engine does not have.
    UnknownFilter(String),
    /// Liquid failed while rendering (a filter given the wrong type, an index into a string, …).
    Render(String),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unclosed(what) => write!(f, "`{what}` is never closed"),
            Self::Syntax(msg) => write!(f, "syntax error: {msg}"),
            Self::ForbiddenTag(tag) => write!(f, "the `{tag}` tag is not allowed"),
            Self::UnboundedRange(range) => {
                write!(
                    f,
                    "range {range} must have literal number bounds and at most the loop limit of items"
                )
            }
            Self::UnknownTriggerLink(id) => write!(f, "unknown trigger link {{triggerlink:{id}}}"),
            Self::UnknownWebPage(id) => write!(f, "unknown web page {{web:{id}}}"),
            Self::SubjectInSubject => f.write_str("{subject} cannot be used in the subject"),
            Self::UnknownVariables(names) => write!(f, "unknown variables: {}", names.join(", ")),
            Self::LoopLimit { limit } => write!(f, "more than {limit} loop iterations"),
            Self::ValueTooLarge { limit } => write!(f, "a value grew over {limit} bytes or items"),
            Self::OutputTooLarge { limit } => write!(f, "rendered output is over {limit} bytes"),
            Self::UnsafeContext(what) => write!(f, "a value cannot be placed {what}"),
            Self::TooDeep { limit } => write!(f, "nested deeper than {limit} levels"),
            Self::UnknownFilter(name) => write!(f, "unknown filter `{name}`"),
            Self::Render(msg) => write!(f, "render error: {msg}"),
        }
    }
}

/// A template that cannot be compiled or rendered: the part, what went wrong and, when known, where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TemplateError {
    /// The part the error is in.
    pub part: PartName,
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where, for errors tied to a place in the source.
    pub position: Option<Position>,
}

impl TemplateError {
    pub(crate) fn new(part: PartName, kind: ErrorKind) -> Self {
        Self {
            part,
            kind,
            position: None,
        }
    }

    pub(crate) fn at(part: PartName, kind: ErrorKind, source: &str, offset: usize) -> Self {
        Self {
            part,
            kind,
            position: Some(position_of(source, offset)),
        }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.part, self.kind)?;
        if let Some(p) = &self.position {
            write!(f, " at line {}, column {}: {:?}", p.line, p.column, p.snippet)?;
        }
        Ok(())
    }
}

/// The line, column and snippet of byte `offset` in `source` (clamped to the source).
pub(crate) fn position_of(source: &str, offset: usize) -> Position {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = source[line_start..offset].chars().count() + 1;
    let snippet: String = source[offset..].chars().take_while(|c| *c != '\n').take(40).collect();
    Position {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
        snippet,
    }
}
