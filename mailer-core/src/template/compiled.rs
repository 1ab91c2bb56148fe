//! Compiled templates: compile once, render per recipient.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;

use crate::model::{Body, Content, Timestamp, TriggerLinkId, WebPageId};

use super::data::{self, Map, Node};
use super::engine::{self, BUILD_LIMIT_MARK, LOOP_LIMIT_MARK, VALUE_LIMIT_MARK};
use super::source::{self, Flavor, Rewritten, Rules, SysToken};
use super::{ErrorKind, LinkBuilder, Mode, PartName, RenderContext, TemplateError, TokenKind, TrackingToken};
use super::{escape, literal, markdown, runtime, text};
use liquid_core::runtime::Renderable;

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

/// One compiled part.
struct Part {
    name: PartName,
    template: liquid_core::Template,
    paths: Vec<Vec<String>>,
    tokens: BTreeSet<SysToken>,
    /// The tokens with their keys under `__sys`, written once.
    sys_keys: Vec<(SysToken, String)>,
    form_fields: BTreeSet<String>,
    size_hint: usize,
    /// The literal pieces the template writes (see [`literal`]).
    arena: literal::Arena,
    /// The text of the literal pieces of the HTML this part renders, learnt once (see [`text::TextMemo`]).
    text_memo: text::TextMemo,
}

impl std::fmt::Debug for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Part")
            .field("name", &self.name)
            .field("paths", &self.paths)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

fn compile_part(src: &str, name: PartName, flavor: Flavor, opts: &CompileOptions) -> Result<Part, TemplateError> {
    let rules = Rules {
        part: name,
        flavor,
        max_range: opts.limits.max_loop_iterations,
        known_links: (!opts.any_ids).then_some(&opts.trigger_links),
        known_pages: (!opts.any_ids).then_some(&opts.web_pages),
    };
    let mut rewritten = source::rewrite(src, &rules)?;
    let arena = literal::Arena::new(
        std::mem::take(&mut rewritten.literals),
        std::mem::take(&mut rewritten.literal_pieces),
    );
    let mut parser = (*engine::parser(&opts.limits)
        .map_err(|e| TemplateError::new(name, ErrorKind::Syntax(e.to_string())))?)
    .clone();
    parser
        .tags
        .register(literal::LIT_TAG.to_owned(), Box::new(literal::LitTag(arena.clone())));
    let template = liquid_core::parser::parse(&rewritten.liquid, &parser)
        .map(liquid_core::Template::new)
        .map_err(|e| parse_error(&e, &rewritten, src, name))?;
    Ok(Part {
        name,
        size_hint: rewritten.liquid.len() + arena.text().len() + arena.text().len() / 8,
        arena,
        template,
        paths: rewritten.paths,
        sys_keys: sys_keys(&rewritten.tokens),
        tokens: rewritten.tokens,
        form_fields: rewritten.form_fields,
        text_memo: text::TextMemo::default(),
    })
}

/// Maps a Liquid parse error (whose ` --> line:column` refers to the rewritten source) to the source.
fn parse_error(e: &liquid_core::Error, rewritten: &Rewritten, src: &str, name: PartName) -> TemplateError {
    let msg = e.to_string();
    let position = msg.find("-->").and_then(|at| {
        let rest = msg[at + 3..].trim_start();
        let (line, rest) = rest.split_once(':')?;
        let col: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some((line.trim().parse::<usize>().ok()?, col.parse::<usize>().ok()?))
    });
    let short = msg
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-->") && !l.starts_with('|') && !l.starts_with('='))
        .find(|l| !l.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .unwrap_or("liquid syntax error")
        .to_owned();
    let detail = msg
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("= "))
        .map_or(short, |d| d.to_owned());
    match position {
        Some((line, col)) => {
            let liquid = &rewritten.liquid;
            let line_start = liquid
                .split_inclusive('\n')
                .take(line.saturating_sub(1))
                .map(str::len)
                .sum::<usize>();
            let mut out_offset = line_start;
            for (n, (i, _)) in liquid[line_start..].char_indices().enumerate() {
                out_offset = line_start + i;
                if n + 1 >= col {
                    break;
                }
            }
            TemplateError::at(
                name,
                ErrorKind::Syntax(detail),
                src,
                rewritten.source_offset(out_offset),
            )
        }
        None => TemplateError::new(name, ErrorKind::Syntax(detail)),
    }
}

#[derive(Debug)]
struct Inner {
    subject: Part,
    body: Part,
    text: Option<Part>,
    /// The tokens of all parts with their keys under `__sys`, written once.
    sys_keys: Vec<(SysToken, String)>,
    limits: Limits,
}

/// A template compiled once and rendered for many recipients. Cheap to clone (an `Arc`), `Send + Sync`.
///
/// # Example
/// ```
/// use mailer_core::model::{AccountId, Body, Content, Entity, EntityRecord, EntityRef, TriggerLinkId};
/// use mailer_core::template::{CompileOptions, CompiledTemplate, LinkBuilder, RenderContext};
///
/// let content = Content {
///     subject: "Offer for {{ lead.name }}".into(),
///     body: Body::Html(r#"<p>Hello, {{ contact.name }}! <a href="{triggerlink:8}">Read the offer</a></p>"#.into()),
///     text: None,
/// };
/// let compiled = CompiledTemplate::compile(&content, &CompileOptions::new([TriggerLinkId(8)], []))?;
///
/// let lead = Entity::new(EntityRef::lead(1), "Deal <1>");
/// let record = EntityRecord {
///     entity: lead.clone(),
///     lead: Some(lead),
///     contacts: vec![Entity::new(EntityRef::contact(2), "Anna")],
///     company: None,
///     responsible: None,
/// };
/// let links = LinkBuilder::new("https://t.example.com", AccountId(1), [7u8; 32]).expect("key");
/// let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
/// let out = compiled.render(&RenderContext::new(&record, &links, now))?;
/// assert_eq!(out.subject, "Offer for Deal <1>");
/// assert!(out.html.starts_with("<p>Hello, Anna! <a href=\"https://t.example.com/t/l/"));
/// assert!(out.text.starts_with("Hello, Anna! Read the offer (https://t.example.com/t/l/"));
/// # Ok::<(), mailer_core::template::TemplateError>(())
/// ```
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
        let subject = compile_part(&content.subject, PartName::Subject, Flavor::Subject, opts)?;
        let body = match &content.body {
            Body::Html(src) => compile_part(src, PartName::Body, Flavor::Html, opts)?,
            Body::Markdown(src) => {
                // Check the Markdown source itself first (as text: it is not HTML yet), so that syntax
                // errors point into it; the HTML context is checked on the HTML Markdown makes.
                compile_part(src, PartName::Body, Flavor::Text, opts)?;
                compile_part(&markdown::to_html(src), PartName::Body, Flavor::Html, opts)?
            }
        };
        let text = match &content.text {
            Some(src) => Some(compile_part(src, PartName::Text, Flavor::Text, opts)?),
            None => None,
        };
        let mut tokens = subject.tokens.clone();
        tokens.extend(body.tokens.iter().copied());
        if let Some(t) = &text {
            tokens.extend(t.tokens.iter().copied());
        }
        tokens.remove(&SysToken::Subject);
        Ok(Self {
            inner: Arc::new(Inner {
                subject,
                body,
                text,
                sys_keys: sys_keys(&tokens),
                limits: opts.limits,
            }),
        })
    }

    /// The `name`s of the inputs, selects, text areas and buttons inside the body's `<form>` elements:
    /// the fields a submission of this template's form may carry. Names written with a Liquid value in
    /// them are not known here and are not listed.
    pub fn form_fields(&self) -> &BTreeSet<String> {
        &self.inner.body.form_fields
    }

    /// Renders for one recipient.
    ///
    /// # Errors
    /// [`ErrorKind::UnknownVariables`] in strict mode, the limits ([`ErrorKind::LoopLimit`],
    /// [`ErrorKind::ValueTooLarge`], [`ErrorKind::OutputTooLarge`]) and Liquid's render errors.
    pub fn render(&self, ctx: &RenderContext<'_>) -> Result<Rendered, TemplateError> {
        let inner = &*self.inner;
        let mut root = data::root(ctx);
        if let Some(Node::Map(email)) = root.entry_mut("email")
            && email.entry_mut("subject").is_none()
        {
            // Known before the body renders: the subject is rendered first.
            email.set("subject", Node::Nil);
        }
        if ctx.strict {
            let parts = [Some(&inner.subject), Some(&inner.body), inner.text.as_ref()];
            strict_check(&root, parts.into_iter().flatten())?;
        }
        let mut urls = Urls::new(ctx);
        root.0.push((
            Cow::Borrowed("__sys"),
            Node::Map(sys_values(&inner.sys_keys, ctx, &mut urls)),
        ));

        let subject = render_part(&inner.subject, &root, &inner.limits)?;
        let subject = escape::one_line(subject.trim()).trim().to_owned();
        if let Some(Node::Map(email)) = root.entry_mut("email") {
            email.set("subject", Node::string(subject.clone()));
        }
        if let Some(Node::Map(sys)) = root.entry_mut("__sys") {
            sys.set("subject", Node::string(subject.clone()));
        }

        let (mut html, mut pieces) = render_pieces(&inner.body, &root, &inner.limits)?;
        let pixel = urls.url(TokenKind::Open);
        let (at, added) = insert_before_body_end(&mut html, ctx.signature, &pixel);
        shift_pieces(&mut pieces, at, added);
        if html.len() > inner.limits.max_output_bytes {
            return Err(TemplateError::new(
                PartName::Body,
                ErrorKind::OutputTooLarge {
                    limit: inner.limits.max_output_bytes,
                },
            ));
        }
        let text = match &inner.text {
            Some(part) => render_part(part, &root, &inner.limits)?,
            None => text::html_to_text_with(&html, &pieces, Some(&inner.body.text_memo)),
        };
        Ok(Rendered { subject, html, text })
    }
}

fn strict_check<'p>(root: &Map<'_>, parts: impl Iterator<Item = &'p Part>) -> Result<(), TemplateError> {
    let mut missing: Vec<String> = Vec::new();
    let mut first_part = None;
    for part in parts {
        for path in &part.paths {
            if !data::resolves(root, path) {
                first_part.get_or_insert(part.name);
                let name = display_path(path);
                if !missing.contains(&name) {
                    missing.push(name);
                }
            }
        }
    }
    match first_part {
        Some(part) => Err(TemplateError::new(part, ErrorKind::UnknownVariables(missing))),
        None => Ok(()),
    }
}

fn display_path(path: &[String]) -> String {
    let mut out = String::new();
    for (i, seg) in path.iter().enumerate() {
        let plain = seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if plain {
            if i > 0 {
                out.push('.');
            }
            out.push_str(seg);
        } else {
            out.push_str("[\"");
            out.push_str(seg);
            out.push_str("\"]");
        }
    }
    out
}

/// Output that refuses to grow past its limit, and notes where the template's literal pieces went (they
/// are written from the part's arena, so their address says which they are).
struct BoundedBuf<'a> {
    buf: String,
    limit: usize,
    overflow: bool,
    arena: &'a literal::Arena,
    pieces: Vec<text::Piece>,
}

impl Write for BoundedBuf<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > self.limit {
            self.overflow = true;
            return Err(std::io::Error::other("output limit"));
        }
        let start = self.buf.len();
        match self.arena.offset_of(data) {
            // A literal piece: text already (it is a slice of the arena's `str`).
            Some(at) => {
                let piece = self.arena.text().get(at..at + data.len());
                self.buf.push_str(piece.ok_or_else(|| std::io::Error::other(NOT_UTF8))?);
                self.pieces.push(text::Piece {
                    html: start..self.buf.len(),
                    arena: at,
                });
            }
            // Liquid and our tags write whole `str`s.
            None => self
                .buf
                .push_str(std::str::from_utf8(data).map_err(|_| std::io::Error::other(NOT_UTF8))?),
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn render_part(part: &Part, root: &Map<'_>, limits: &Limits) -> Result<String, TemplateError> {
    render_pieces(part, root, limits).map(|(out, _)| out)
}

/// Renders a part; answers the output and where its long writes went.
fn render_pieces(part: &Part, root: &Map<'_>, limits: &Limits) -> Result<(String, Vec<text::Piece>), TemplateError> {
    let mut out = BoundedBuf {
        buf: String::with_capacity(part.size_hint.min(limits.max_output_bytes)),
        limit: limits.max_output_bytes,
        overflow: false,
        arena: &part.arena,
        pieces: Vec::new(),
    };
    if let Err(e) = part.template.render_to(&mut out, &runtime::Frame::new(root)) {
        let msg = e.to_string();
        let kind = if out.overflow || msg.contains(BUILD_LIMIT_MARK) {
            ErrorKind::OutputTooLarge {
                limit: limits.max_output_bytes,
            }
        } else if msg.contains(LOOP_LIMIT_MARK) {
            ErrorKind::LoopLimit {
                limit: limits.max_loop_iterations,
            }
        } else if msg.contains(VALUE_LIMIT_MARK) {
            ErrorKind::ValueTooLarge {
                limit: limits.max_value_size,
            }
        } else {
            ErrorKind::Render(msg.lines().next().unwrap_or("").trim().to_owned())
        };
        return Err(TemplateError::new(part.name, kind));
    }
    Ok((out.buf, out.pieces))
}

/// The error of a write that is not text (Liquid writes whole `str`s: never seen).
const NOT_UTF8: &str = "output is not UTF-8";

/// `sended_at` and `email.sent_at`: `YYYY-MM-DD HH:MM` in the account's timezone.
pub(crate) fn format_time(ctx: &RenderContext<'_>, at: Timestamp) -> String {
    at.with_timezone(&ctx.timezone.0).format("%Y-%m-%d %H:%M").to_string()
}

/// The signed URLs of one render: the token is made once and only its kind changes.
struct Urls<'c> {
    links: &'c LinkBuilder,
    token: TrackingToken,
}

impl<'c> Urls<'c> {
    fn new(ctx: &RenderContext<'c>) -> Self {
        Self {
            links: ctx.links,
            token: TrackingToken {
                kind: TokenKind::Open,
                account: ctx.links.account(),
                email: ctx.email.id,
                recipient: ctx.recipient.map(|r| r.email.clone()).unwrap_or_default(),
                entity: ctx.record.entity.entity,
                preview: ctx.mode == Mode::Preview,
                issued_at: chrono::DateTime::from_timestamp(ctx.now.timestamp(), 0).unwrap_or(ctx.now),
            },
        }
    }

    fn url(&mut self, kind: TokenKind) -> String {
        self.token.kind = kind;
        self.links.url(&self.token)
    }
}

/// The tokens with their keys under `__sys`.
fn sys_keys(tokens: &BTreeSet<SysToken>) -> Vec<(SysToken, String)> {
    tokens.iter().map(|&t| (t, t.key())).collect()
}

fn sys_values<'s>(keys: &'s [(SysToken, String)], ctx: &RenderContext<'s>, urls: &mut Urls<'_>) -> Map<'s> {
    let mut sys = Map(Vec::with_capacity(keys.len() + 1));
    for (token, key) in keys {
        let token = *token;
        let value = match token {
            SysToken::Subject => ctx.email.subject.map_or(Node::Nil, Node::str),
            SysToken::SendedAt => Node::string(format_time(ctx, ctx.email.sent_at.unwrap_or(ctx.now))),
            SysToken::Id => ctx.email.id.map_or(Node::Nil, |id| Node::string(id.0.to_string())),
            SysToken::Date => Node::string(ctx.now.with_timezone(&ctx.timezone.0).format("%Y-%m-%d").to_string()),
            SysToken::Reset => Node::str(RESET),
            SysToken::TriggerLink(n) => Node::string(urls.url(TokenKind::Click(TriggerLinkId(n)))),
            SysToken::Web(n) => Node::string(urls.url(TokenKind::Page(WebPageId(n)))),
            SysToken::FormLink => Node::string(urls.url(TokenKind::Form)),
            SysToken::WebLink => Node::string(urls.url(TokenKind::WebVersion)),
            SysToken::Unsubscribe => Node::string(urls.url(TokenKind::Unsubscribe)),
        };
        sys.0.push((Cow::Borrowed(key.as_str()), value));
    }
    if !keys.iter().any(|(t, _)| *t == SysToken::Subject) {
        sys.0
            .push((Cow::Borrowed("subject"), ctx.email.subject.map_or(Node::Nil, Node::str)));
    }
    sys
}

/// Moves the pieces after `at` by the `added` bytes inserted there; a piece `at` falls inside is cut in two
/// (each half is still a slice of the arena).
fn shift_pieces(pieces: &mut Vec<text::Piece>, at: usize, added: usize) {
    let Some(first) = pieces.iter().position(|p| p.html.end > at) else {
        return;
    };
    let cut = &mut pieces[first];
    let tail = (cut.html.start < at).then(|| {
        let head = at - cut.html.start;
        let tail = text::Piece {
            html: at..cut.html.end,
            arena: cut.arena + head,
        };
        cut.html.end = at;
        tail
    });
    let from = match tail {
        Some(tail) => {
            pieces.insert(first + 1, tail);
            first + 1
        }
        None => first,
    };
    for piece in &mut pieces[from..] {
        piece.html = piece.html.start + added..piece.html.end + added;
    }
}

/// Puts the signature and the open pixel (an image of `pixel_url`) before `</body>` when there is one, else
/// at the end; answers where and how many bytes went in.
fn insert_before_body_end(html: &mut String, signature: Option<&str>, pixel_url: &str) -> (usize, usize) {
    const PIXEL: [&str; 2] = [
        "<img src=\"",
        "\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0;width:1px;height:1px\">",
    ];
    let at = rfind_ascii_ci(html, "</body").unwrap_or(html.len());
    let mut tail = String::with_capacity(pixel_url.len() + signature.map_or(0, str::len) + 128);
    if let Some(sig) = signature.filter(|s| !s.trim().is_empty()) {
        tail.push_str("<div class=\"signature\">");
        tail.push_str(sig);
        tail.push_str("</div>");
    }
    // The open pixel: a 1×1 image whose URL is the signed open token.
    tail.push_str(PIXEL[0]);
    tail.push_str(pixel_url);
    tail.push_str(PIXEL[1]);
    html.insert_str(at, &tail);
    (at, tail.len())
}

fn rfind_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    (0..=h.len().checked_sub(n.len())?)
        .rev()
        .find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// A plain-text template (trigger task and note texts, field values): no HTML escaping, no pixel, no
/// signature. `{reset}` renders as itself ([`RESET`]); `{subject}` is the email's subject from the context.
#[derive(Debug, Clone)]
pub struct TextTemplate {
    part: Arc<Part>,
    limits: Limits,
}

impl TextTemplate {
    /// Compiles a plain-text template.
    ///
    /// # Errors
    /// As [`CompiledTemplate::compile`], with [`PartName::Text`].
    pub fn compile(source: &str, opts: &CompileOptions) -> Result<Self, TemplateError> {
        Ok(Self {
            part: Arc::new(compile_part(source, PartName::Text, Flavor::Text, opts)?),
            limits: opts.limits,
        })
    }

    /// Renders the text.
    ///
    /// # Errors
    /// As [`CompiledTemplate::render`].
    pub fn render(&self, ctx: &RenderContext<'_>) -> Result<String, TemplateError> {
        let mut root = data::root(ctx);
        if ctx.strict {
            strict_check(&root, std::iter::once(&*self.part))?;
        }
        root.0.push((
            Cow::Borrowed("__sys"),
            Node::Map(sys_values(&self.part.sys_keys, ctx, &mut Urls::new(ctx))),
        ));
        render_part(&self.part, &root, &self.limits)
    }
}

/// Compiles and renders a plain-text template in one go, accepting any `{triggerlink:N}` and `{web:N}`.
///
/// # Errors
/// As [`TextTemplate::compile`] and [`TextTemplate::render`].
pub fn render_text(source: &str, ctx: &RenderContext<'_>) -> Result<String, TemplateError> {
    TextTemplate::compile(source, &CompileOptions::permissive())?.render(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserting_the_signature_keeps_every_piece_a_slice_of_the_arena() {
        // The arena holds "<p>Hi</p></body></html>" and "<i>x</i>"; the HTML wrote them around a value.
        let arena = "<p>Hi</p></body></html><i>x</i>";
        let mut html = String::from("VALUE<p>Hi</p></body></html><i>x</i>");
        let mut pieces = vec![
            text::Piece { html: 5..28, arena: 0 },
            text::Piece {
                html: 28..36,
                arena: 23,
            },
        ];
        let (at, added) = insert_before_body_end(&mut html, Some("<p>Sig</p>"), "https://t.test/o");
        shift_pieces(&mut pieces, at, added);
        assert_eq!(pieces.len(), 3, "the piece holding `</body>` is cut in two: {pieces:?}");
        for p in &pieces {
            assert_eq!(&html[p.html.clone()], &arena[p.arena..p.arena + p.html.len()], "{p:?}");
        }
        assert!(html.contains("<p>Hi</p><div class=\"signature\"><p>Sig</p></div><img src=\"https://t.test/o\" "));
    }
}
