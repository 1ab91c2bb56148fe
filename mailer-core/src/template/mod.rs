//! Templates: Liquid for CRM data plus the widget's `{tokens}`, compiled once and rendered per recipient,
//! HTML-safe.
//!
//! - [`CompiledTemplate::compile`] turns a [`Content`](crate::model::Content) (subject, HTML or Markdown
//!   body, optional text part) into a reusable, `Send + Sync` compiled form; unknown `{triggerlink:N}` and
//!   `{web:N}` are refused here, with the line, column and snippet.
//! - [`CompiledTemplate::render`] takes a [`RenderContext`] and returns the [`Rendered`] subject, HTML and
//!   text.
//! - [`TextTemplate`] and [`render_text`] render trigger texts and field values as plain text.
//! - [`LinkBuilder`] makes the tracking URLs (signed and encrypted: the recipient's address is not
//!   readable from them) and [`LinkBuilder::verify_kind`] checks them for the kinds a route accepts; the
//!   URL paths are listed on [`TokenKind::route`]; the token format is described on [`TokenKey`].
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
//! Every value is made safe for the place it lands in, decided when the template is compiled from the
//! HTML around it (one linear pass before Liquid sees the source):
//! - HTML text and quoted attribute values escape `& < > " '`; unquoted attribute values also encode
//!   whitespace, `=` and `` ` ``, and an empty value starting one becomes `""`, so a value can never end
//!   its attribute and start another.
//! - URL attributes (`href`, `src`, `action`, `formaction`, `background`, `poster`, `cite`, `xlink:href`,
//!   … and Markdown link and image targets, which become `href`/`src`): a value that can choose the scheme
//!   (nothing but whitespace before it in the attribute) passes only as a relative URL or `http`, `https`,
//!   `mailto`, `tel`, checked after decoding character references and dropping whitespace and control
//!   characters as a browser does; anything else (`javascript:`, `vbscript:`, `data:`, in any case or
//!   spelling) becomes `about:invalid#mailer`. Literal text that fixes the scheme first
//!   (`https://…?q={{ x }}`, `/path/{{ x }}`) leaves the value only escaped; a literal `:` right after a
//!   value is refused.
//! - CSS (`style="…"` and `<style>`): a value is kept only when it is made of letters, digits, spaces and
//!   `# . , % - + _ /` (colours, lengths, font names) and is emptied otherwise. Escaping CSS character by
//!   character would keep values like `#ff0000` from working; an allow-list keeps them working and leaves
//!   no way out of the declaration (no quotes, `;`, `:`, parentheses, comments or `<`).
//! - Refused when compiling, with the line and column: a value in a tag or attribute name, in an event
//!   handler (`on…=`), in `srcdoc`, or inside `<script>`. JavaScript has strings, template literals, regular
//!   expressions and comments, each needing its own escaping; getting one wrong is stored XSS on the
//!   operator's own domain (web versions and pages are served from it), and mail clients drop scripts
//!   anyway, so there is nothing worth the risk.
//! - Every branch of an `if`/`unless`/`case` and every loop or capture body must end in the HTML context
//!   it started in (so the decision holds whichever branch runs).
//! - `| escape` and `| escape_once` at the end are replaced by the context's own escaping, never weaker;
//!   `escape_once` (and a `capture` printed alone) keeps character references already there, so nothing
//!   is escaped twice. `newline_to_br` in text still makes `<br />`, after the escaping.
//! - `raw` is the author's explicit opt-out and outputs the value as it is, anywhere:
//!   `{{ lead.fields["Html block"] | raw }}`.
//! - Subject values lose CR, LF and other control characters; text parts are not escaped.
//!
//! # Bounds
//! A template is a user's input: block tags nest at most 24 deep and brackets 8 deep (checked before
//! Liquid's recursive parser sees them), integer literals must fit in 64 bits, unknown filters are named
//! with their line and column. Rendering is bounded by [`Limits`]: loop iterations per part, the size of
//! each value a filter builds (checked before `replace` and `join` build theirs), every filter result and
//! capture together within the output limit ([`MAX_BODY_BYTES`], 8 MB, by default), and the output
//! itself; ranges need literal bounds. Arithmetic filters are checked: an overflow or a division by zero
//! is an error, never a panic.
//!
//! # Forms
//! [`CompiledTemplate::form_fields`] lists the `name`s of the inputs inside the body's `<form>`s: the
//! fields a submission may carry.
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
mod fields;
mod links;
mod literal;
mod markdown;
mod output;
mod runtime;
mod source;
mod stable;
mod text;
#[cfg(test)]
mod text_of_render_props;
pub mod tokens;

pub use compiled::{
    CompileOptions, CompiledTemplate, Limits, MAX_BODY_BYTES, RESET, Rendered, TextTemplate, render_text,
};
pub use context::{EmailInfo, Mode, RenderContext, Sender};
pub use error::{ErrorKind, PartName, Position, TemplateError};
pub use links::{
    KeyId, LinkBuilder, MIN_KEY_LEN, TokenError, TokenKey, TokenKind, TokenKindTag, TrackingToken, token_key_id,
};
