//! Compiled templates: compile once, render per recipient.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::model::{Content, TriggerLinkId, WebPageId};

use super::{ErrorKind, PartName, RenderContext, TemplateError};

/// The largest rendered body, in bytes (8 MB).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// What `{reset}` renders to in plain-text templates: the token itself, so that a caller writing a field can
/// see that the field is to be cleared (`rendered.trim() == RESET`).
pub const RESET: &str = "{reset}";

/// Bounds on one render, so that no template can hang a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest output of one part, in bytes (default [`MAX_BODY_BYTES`]).
    pub max_output_bytes: usize,
    /// Most loop iterations in one part, all loops together (default 10,000).
    pub max_loop_iterations: u32,
    /// Largest string (bytes) or array (items) a filter may build (default 1 MB).
    pub max_value_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_output_bytes: MAX_BODY_BYTES,
            max_loop_iterations: 10_000,
            max_value_size: 1024 * 1024,
        }
    }
}

/// What the account has, so that unknown `{triggerlink:N}` and `{web:N}` are refused when a template is
/// saved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompileOptions {
    /// The account's trigger link ids.
    pub trigger_links: BTreeSet<TriggerLinkId>,
    /// The account's web page ids.
    pub web_pages: BTreeSet<WebPageId>,
    /// Accept any `{triggerlink:N}` and `{web:N}` (for texts checked elsewhere).
    pub any_ids: bool,
    /// Render limits.
    pub limits: Limits,
}

impl CompileOptions {
    /// Options knowing these trigger links and web pages.
    pub fn new(
        trigger_links: impl IntoIterator<Item = TriggerLinkId>,
        web_pages: impl IntoIterator<Item = WebPageId>,
    ) -> Self {
        Self {
            trigger_links: trigger_links.into_iter().collect(),
            web_pages: web_pages.into_iter().collect(),
            any_ids: false,
            limits: Limits::default(),
        }
    }

    /// Options that accept any link or page id.
    pub fn permissive() -> Self {
        Self {
            any_ids: true,
            ..Self::default()
        }
    }
}

/// A rendered email: the final subject, HTML body and text part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject, on one line.
    pub subject: String,
    /// HTML body with signature and open pixel.
    pub html: String,
    /// text/plain alternative.
    pub text: String,
}

#[derive(Debug)]
struct Inner {
    content: Content,
}

/// A template compiled once and rendered for many recipients. Cheap to clone (an `Arc`), `Send + Sync`.
#[derive(Debug, Clone)]
pub struct CompiledTemplate {
    inner: Arc<Inner>,
}

impl CompiledTemplate {
    /// Compiles subject, body (HTML, or Markdown through pulldown-cmark) and the optional text part.
    ///
    /// # Errors
    /// A [`TemplateError`] with the part, line, column and snippet for syntax errors, forbidden tags,
    /// unbounded ranges and unknown `{triggerlink:N}` / `{web:N}`.
    pub fn compile(content: &Content, opts: &CompileOptions) -> Result<Self, TemplateError> {
        let _ = opts;
        Ok(Self {
            inner: Arc::new(Inner {
                content: content.clone(),
            }),
        })
    }

    /// Renders for one recipient.
    ///
    /// # Errors
    /// [`ErrorKind::UnknownVariables`] in strict mode, the limits ([`ErrorKind::LoopLimit`],
    /// [`ErrorKind::ValueTooLarge`], [`ErrorKind::OutputTooLarge`]) and Liquid's render errors.
    pub fn render(&self, ctx: &RenderContext<'_>) -> Result<Rendered, TemplateError> {
        let _ = (ctx, &self.inner.content);
        Err(TemplateError::new(
            PartName::Body,
            ErrorKind::Render("not implemented yet".into()),
        ))
    }
}

/// A plain-text template (trigger task and note texts, field values): no HTML escaping, no pixel, no
/// signature. `{reset}` renders as itself ([`RESET`]).
#[derive(Debug, Clone)]
pub struct TextTemplate {
    source: Arc<str>,
}

impl TextTemplate {
    /// Compiles a plain-text template.
    ///
    /// # Errors
    /// As [`CompiledTemplate::compile`], with [`PartName::Text`].
    pub fn compile(source: &str, opts: &CompileOptions) -> Result<Self, TemplateError> {
        let _ = opts;
        Ok(Self { source: source.into() })
    }

    /// Renders the text.
    ///
    /// # Errors
    /// As [`CompiledTemplate::render`].
    pub fn render(&self, ctx: &RenderContext<'_>) -> Result<String, TemplateError> {
        let _ = (ctx, &self.source);
        Err(TemplateError::new(
            PartName::Text,
            ErrorKind::Render("not implemented yet".into()),
        ))
    }
}

/// Compiles and renders a plain-text template in one go, accepting any `{triggerlink:N}` and `{web:N}`.
///
/// # Errors
/// As [`TextTemplate::compile`] and [`TextTemplate::render`].
pub fn render_text(source: &str, ctx: &RenderContext<'_>) -> Result<String, TemplateError> {
    TextTemplate::compile(source, &CompileOptions::permissive())?.render(ctx)
}
