//! Templates: Liquid for CRM data plus the widget's `{tokens}`, compiled once and rendered per recipient,
//! HTML-safe.
//!
//! - [`CompiledTemplate::compile`] turns a [`Content`](crate::model::Content) (subject, HTML or Markdown
//!   body, optional text part) into a reusable, `Send + Sync` compiled form; unknown `{triggerlink:N}` and
//!   `{web:N}` are refused here, with the line, column and snippet.
//! - [`CompiledTemplate::render`] takes a [`RenderContext`] and returns the [`Rendered`] subject, HTML and
//!   text.
//! - [`TextTemplate`] and [`render_text`] render trigger texts and field values as plain text.
//! - [`LinkBuilder`] signs the tracking URLs and [`LinkBuilder::verify`] checks them; the URL paths are
//!   listed on [`TokenKind::route`].
//!
//! # Syntax
//! - Liquid: `{{ lead.name }}`, `{{ lead.cf.657261 }}`, `{{ lead.fields["Budget"] | default: "n/a" }}`,
//!   `{% if %}`, `{% for %}`, `{% case %}`, `{% assign %}`, `{% capture %}` and the standard filters.
//!   `include`, `render` and `cycle` are refused. Unknown variables render empty, or are listed as an
//!   error in strict mode ([`RenderContext::with_strict`]).
//! - Widget tokens, recognised for these names only: `{subject}`, `{sended_at}`, `{id}`, `{date}`,
//!   `{reset}`, `{triggerlink:N}`, `{web:N}`, `{formlink}`, `{weblink}`, `{unsubscribe}`. Any other `{…}`
//!   (CSS, JSON) stays as written.
//!
//! # Safety
//! - In HTML bodies every output is HTML-escaped for where it stands: text and quoted attribute values
//!   escape `& < > " '`; unquoted attribute values also escape whitespace, `=` and `` ` ``. A trusted
//!   value opts out explicitly with the `raw` filter: `{{ lead.fields["Html block"] | raw }}`. Outputs
//!   ending in `escape`/`escape_once` are not escaped twice; `newline_to_br` still makes `<br />`.
//! - Subject values lose CR, LF and other control characters; text parts are not escaped.
//! - Rendering is bounded by [`Limits`]: loop iterations per part, the size of values filters build, and
//!   the output size ([`MAX_BODY_BYTES`], 8 MB, by default); ranges need literal bounds.
//!
//! # What rendering adds
//! The signature (when the context has one) and the open pixel, before `</body>` or at the end; signed
//! URLs for the link tokens (preview mode marks them); the text part derived from the HTML, links as
//! "text (url)", unless the template has its own.

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
pub mod tokens;

pub use compiled::{
    CompileOptions, CompiledTemplate, Limits, MAX_BODY_BYTES, RESET, Rendered, TextTemplate, render_text,
};
pub use context::{EmailInfo, Mode, RenderContext, Sender};
pub use error::{ErrorKind, PartName, Position, TemplateError};
pub use links::{LinkBuilder, MIN_KEY_LEN, TokenError, TokenKind, TrackingToken, token_account};
