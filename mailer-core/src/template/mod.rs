//! Templates: Liquid for CRM data plus the widget's `{tokens}`, compiled once and rendered per recipient,
//! HTML-safe.
//!
//! - [`CompiledTemplate::compile`] turns a [`Content`](crate::model::Content) (subject, HTML or Markdown
//!   body, optional text part) into a reusable, `Send + Sync` compiled form; unknown `{triggerlink:N}` and
//!   `{web:N}` are refused here, with the line, column and snippet.
//! - [`CompiledTemplate::render`] takes a [`RenderContext`] and returns the [`Rendered`] subject, HTML and
//!   text.
//! - [`TextTemplate`] and [`render_text`] render trigger texts and field values as plain text.
//! - [`LinkBuilder`] signs and verifies the tracking URLs; see [`links`](self::LinkBuilder) for the routes.

mod compiled;
mod context;
mod data;
mod engine;
mod error;
mod escape;
mod links;
mod markdown;
mod source;
mod text;

pub use compiled::{
    CompileOptions, CompiledTemplate, Limits, MAX_BODY_BYTES, RESET, Rendered, TextTemplate, render_text,
};
pub use context::{EmailInfo, Mode, RenderContext, Sender};
pub use error::{ErrorKind, PartName, Position, TemplateError};
pub use links::{LinkBuilder, MIN_KEY_LEN, TokenError, TokenKind, TrackingToken, token_account};
