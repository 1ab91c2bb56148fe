//! The pre-compiler: reads a part's source once, in one linear pass, before Liquid does, and rewrites it.
//!
//! - The widget's `{tokens}` become outputs of `__sys.<name>`; any other `{…}` (CSS, JSON) stays literal.
//! - Every `{{ … }}` becomes a `{% __out %}` tag (see `output.rs`) carrying the escaping of the place it
//!   stands in, decided here from the HTML around it (see [`Ctx`]); in the subject `__line`, in text parts
//!   `__txt` (which only prints a whole object in a stable order). `raw` as the last filter is the trusted
//!   opt-out and stays Liquid's own output; a trailing `escape` or `escape_once` is replaced by the
//!   context's own escaping (never weaker).
//! - Literal text becomes `{% __lit N %}`, piece `N` of the part's arena (see `literal.rs`), unless a `{%-`
//!   or `-%}` next to it asks Liquid to trim it. Tags named `__…` are the compiler's and are refused.
//! - Places where no escaping makes a value safe are refused with the line and column: a tag or
//!   attribute name, an event handler (`on…=`), `srcdoc`, and the inside of `<script>`.
//! - Every branch of an `if`/`unless`/`case` and every loop body must end in the same HTML context it
//!   started in, so the context decided here is the one the value lands in whichever branch runs.
//! - `lead.cf.657261` becomes `lead.cf["657261"]` (Liquid names cannot start with a digit).
//! - `for`/`tablerow` bodies start with `{% __tick %}`; ranges must have literal bounds within the limit.
//! - `include`, `render` and `cycle` are refused; so are unknown filters, block nesting deeper than
//!   [`MAX_NESTING`] and brackets nested deeper than [`MAX_EXPR_DEPTH`], before Liquid (whose parser
//!   recurses) sees them.
//! - The variable paths read are collected, for strict mode; the `name`s of a form's inputs, for the
//!   form allow-list.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::engine::{FILTER_NAMES, TICK_TAG};
use super::escape::Escape;
use super::literal::LIT_TAG;
use super::output::{self, Printing};
use super::{ErrorKind, PartName, TemplateError};
use crate::model::{TriggerLinkId, WebPageId};

/// The deepest nesting of block tags (`if`, `for`, `capture`, …) accepted.
pub(crate) const MAX_NESTING: usize = 24;
/// The deepest nesting of brackets and parentheses in one expression.
pub(crate) const MAX_EXPR_DEPTH: usize = 8;

/// How values are escaped in a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// HTML body.
    Html,
    /// Subject: one line, no escaping.
    Subject,
    /// Plain text: no escaping.
    Text,
}

/// A widget token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum SysToken {
    Subject,
    SendedAt,
    Id,
    Date,
    Reset,
    TriggerLink(i64),
    Web(i64),
    FormLink,
    WebLink,
    Unsubscribe,
}

impl SysToken {
    /// The key under `__sys`.
    pub(crate) fn key(self) -> String {
        match self {
            Self::Subject => "subject".into(),
            Self::SendedAt => "sended_at".into(),
            Self::Id => "id".into(),
            Self::Date => "date".into(),
            Self::Reset => "reset".into(),
            Self::TriggerLink(n) => format!("triggerlink_{n}"),
            Self::Web(n) => format!("web_{n}"),
            Self::FormLink => "formlink".into(),
            Self::WebLink => "weblink".into(),
            Self::Unsubscribe => "unsubscribe".into(),
        }
    }
}

/// What the pre-compiler made of a source.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rewritten {
    /// Liquid source.
    pub(crate) liquid: String,
    /// Variable paths read, rooted at data (not at locals).
    pub(crate) paths: Vec<Vec<String>>,
    /// Widget tokens used.
    pub(crate) tokens: BTreeSet<SysToken>,
    /// The `name`s of the inputs, selects, text areas and buttons inside `<form>` elements (static names
    /// only).
    pub(crate) form_fields: BTreeSet<String>,
    /// The literal pieces, one after the other (written by `{% __lit N %}`, see `literal.rs`).
    pub(crate) literals: String,
    /// Where piece `N` is in [`Rewritten::literals`].
    pub(crate) literal_pieces: Vec<std::ops::Range<usize>>,
    /// (output offset, source offset, exact) anchors to map Liquid's positions back to the source.
    anchors: Vec<(usize, usize, bool)>,
}

impl Rewritten {
    /// The source offset of an offset in [`Rewritten::liquid`].
    pub(crate) fn source_offset(&self, out: usize) -> usize {
        let i = self.anchors.partition_point(|a| a.0 <= out);
        match i.checked_sub(1).and_then(|i| self.anchors.get(i)) {
            Some(&(o, s, true)) => s + (out - o),
            Some(&(_, s, false)) => s,
            None => 0,
        }
    }
}

/// What the checks need to know.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules<'a> {
    pub(crate) part: PartName,
    pub(crate) flavor: Flavor,
    pub(crate) max_range: u32,
    pub(crate) known_links: Option<&'a BTreeSet<TriggerLinkId>>,
    pub(crate) known_pages: Option<&'a BTreeSet<WebPageId>>,
}

const KEYWORDS: &[&str] = &[
    "and", "or", "contains", "in", "true", "false", "nil", "null", "empty", "blank", "reversed", "limit", "offset",
    "cols", "with", "as", "for",
];

/// Rewrites `src`.
pub(crate) fn rewrite(src: &str, rules: &Rules<'_>) -> Result<Rewritten, TemplateError> {
    let first = run_writer(src, rules, &BTreeSet::new())?;
    // A capture variable is printed without escaping again only when nothing else ever sets it; if the
    // first pass trusted one that is also set elsewhere, run again without trusting those.
    if first.trusted_used.iter().any(|n| first.other_defs.contains(n)) {
        return run_writer(src, rules, &first.other_defs).map(|w| w.out);
    }
    Ok(first.out)
}

struct Done {
    out: Rewritten,
    trusted_used: BTreeSet<String>,
    other_defs: BTreeSet<String>,
}

fn run_writer(src: &str, rules: &Rules<'_>, untrusted: &BTreeSet<String>) -> Result<Done, TemplateError> {
    let mut w = Writer {
        src,
        rules,
        out: Rewritten {
            liquid: String::with_capacity(src.len() + src.len() / 8),
            ..Rewritten::default()
        },
        locals: BTreeSet::from(["forloop".to_owned(), "tablerowloop".to_owned()]),
        html: Html::default(),
        blocks: Vec::new(),
        captured: BTreeSet::new(),
        other_defs: BTreeSet::new(),
        untrusted,
        trusted_used: BTreeSet::new(),
        field: None,
        close_cache: None,
    };
    w.run()?;
    let Writer {
        mut out,
        locals,
        trusted_used,
        other_defs,
        ..
    } = w;
    out.paths
        .retain(|p| p.first().is_some_and(|root| !locals.contains(root)));
    out.paths.sort();
    out.paths.dedup();
    Ok(Done {
        out,
        trusted_used,
        other_defs,
    })
}

/// The raw-text elements whose content is another language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RawText {
    Script,
    Style,
}

/// What an attribute's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum AttrKind {
    #[default]
    Plain,
    /// A URL: its scheme is checked.
    Url,
    /// `style`: CSS.
    Style,
    /// `on…`: JavaScript.
    Script,
    /// `srcdoc`: HTML inside an attribute.
    Srcdoc,
}

/// Whether a URL attribute's scheme is settled yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
enum UrlState {
    /// Fixed by literal text (`https://…{{ x }}`, `/path/{{ x }}`): values cannot change it.
    Fixed,
    /// Nothing but whitespace so far: a value here chooses the scheme.
    #[default]
    Open,
    /// A value came first: literal text after it must not make it a scheme.
    AfterValue,
}

/// Where the scanner is in the HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum St {
    #[default]
    Text,
    Lt,
    TagName,
    InTag,
    AttrName,
    AfterAttrName,
    AfterEq,
    Unquoted,
    Quoted(u8),
    Raw(RawText),
}

const NAME_LEN: usize = 16;

/// The HTML context of the scanner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Html {
    st: St,
    tag: [u8; NAME_LEN],
    tag_len: usize,
    end_tag: bool,
    attr: [u8; NAME_LEN],
    attr_len: usize,
    kind: AttrKind,
    url: UrlState,
    prev_amp: bool,
    raw_match: usize,
    in_form: bool,
}

/// The attributes whose value is a URL a browser may follow or load.
const URL_ATTRS: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "background",
    "poster",
    "cite",
    "longdesc",
    "usemap",
    "codebase",
    "data",
    "manifest",
    "icon",
    "profile",
    "ping",
    "lowsrc",
    "dynsrc",
    "archive",
    "classid",
    "xlink:href",
    "xml:base",
    "to",
    "from",
    "values",
    "by",
];

impl Html {
    fn tag(&self) -> &[u8] {
        &self.tag[..self.tag_len]
    }

    fn attr(&self) -> &[u8] {
        &self.attr[..self.attr_len]
    }

    /// The part of the state that must agree at the ends of a block's branches.
    fn coarse(&self) -> (St, AttrKind) {
        let st = match self.st {
            St::AfterEq => St::Unquoted,
            other => other,
        };
        (st, self.kind)
    }

    fn classify(&mut self) {
        let name = self.attr();
        self.kind = if name.starts_with(b"on") {
            AttrKind::Script
        } else if name == b"style" {
            AttrKind::Style
        } else if name == b"srcdoc" {
            AttrKind::Srcdoc
        } else if URL_ATTRS.iter().any(|a| a.as_bytes() == name) || (self.tag() == b"meta" && name == b"content") {
            AttrKind::Url
        } else {
            AttrKind::Plain
        };
    }

    fn push_name(buf: &mut [u8; NAME_LEN], len: &mut usize, b: u8) {
        if *len < NAME_LEN {
            buf[*len] = b.to_ascii_lowercase();
            *len += 1;
        } else {
            // A name longer than any we look for: make it match none (but keep an `on` prefix).
            buf[NAME_LEN - 1] = b'\0';
        }
    }
}

/// How a value is escaped where it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// HTML text.
    Text,
    /// An attribute value (quoted or not).
    Attr { unquoted: bool },
    /// The start of a URL attribute value.
    Url { unquoted: bool },
    /// CSS in a `style` attribute (`Some(unquoted)`) or a `<style>` element (`None`).
    Css(Option<bool>),
    /// The subject.
    Line,
    /// A text part.
    Plain,
}

impl Ctx {
    /// The filters that make a value safe here; `once` keeps character references already in the value.
    fn filters(self, once: bool) -> &'static [Escape] {
        use Escape as F;
        match (self, once) {
            (Self::Text | Self::Attr { unquoted: false }, false) => &[F::Html],
            (Self::Text | Self::Attr { unquoted: false }, true) => &[F::HtmlOnce],
            (Self::Attr { unquoted: true }, false) => &[F::Unquoted],
            (Self::Attr { unquoted: true }, true) => &[F::UnquotedOnce],
            (Self::Url { unquoted: false }, false) => &[F::Url],
            (Self::Url { unquoted: false }, true) => &[F::UrlOnce],
            (Self::Url { unquoted: true }, false) => &[F::UrlUnquoted],
            (Self::Url { unquoted: true }, true) => &[F::UrlUnquotedOnce],
            (Self::Css(Some(true)), _) => &[F::Css, F::Unquoted],
            (Self::Css(_), _) => &[F::Css],
            (Self::Line, _) => &[F::Line],
            (Self::Plain, _) => &[F::Plain],
        }
    }
}

/// An open block tag.
#[derive(Debug, Clone)]
struct Block {
    name: String,
    start: Html,
    /// The most careful URL state any branch ended in.
    url: UrlState,
    /// The context outside a `capture`, put back at `endcapture`.
    outer: Option<Html>,
}

struct Writer<'s, 'r> {
    src: &'s str,
    rules: &'r Rules<'r>,
    out: Rewritten,
    locals: BTreeSet<String>,
    html: Html,
    blocks: Vec<Block>,
    /// Variables set by `capture` in this part.
    captured: BTreeSet<String>,
    /// Variables set by anything else (`assign`, `for`, `increment`, …).
    other_defs: BTreeSet<String>,
    /// Names a previous pass found set both ways: never printed unescaped.
    untrusted: &'r BTreeSet<String>,
    /// Capture variables printed without escaping again.
    trusted_used: BTreeSet<String>,
    /// The `name` of a form input being read: its text, or `None` once a value made it dynamic.
    field: Option<Option<Vec<u8>>>,
    /// The last `%}` found while looking for an end tag, so that the search stays linear.
    close_cache: Option<(usize, Option<usize>)>,
}

const BLOCKS: &[&str] = &["if", "unless", "case", "for", "tablerow", "capture", "ifchanged"];

impl Writer<'_, '_> {
    fn err(&self, kind: ErrorKind, at: usize) -> TemplateError {
        TemplateError::at(self.rules.part, kind, self.src, at)
    }

    fn literal(&mut self, from: usize, to: usize) -> Result<(), TemplateError> {
        if from >= to {
            return Ok(());
        }
        let text = &self.src[from..to];
        // Liquid trims the whitespace next to a `{%-` or `-%}`: such a piece stays Liquid's text.
        let trimmed = self.src[..from].ends_with("-}}")
            || self.src[..from].ends_with("-%}")
            || self.src[to..].starts_with("{{-")
            || self.src[to..].starts_with("{%-");
        if trimmed {
            self.out.anchors.push((self.out.liquid.len(), from, true));
            self.out.liquid.push_str(text);
        } else {
            self.out.anchors.push((self.out.liquid.len(), from, false));
            let start = self.out.literals.len();
            self.out.literals.push_str(text);
            self.out.literal_pieces.push(start..self.out.literals.len());
            self.out.liquid.push_str("{% ");
            self.out.liquid.push_str(LIT_TAG);
            // Writing to a `String` cannot fail.
            let _ = write!(self.out.liquid, " {} %}}", self.out.literal_pieces.len() - 1);
        }
        if self.rules.flavor == Flavor::Html {
            for (i, &b) in text.as_bytes().iter().enumerate() {
                self.step(b).map_err(|kind| self.err(kind, from + i))?;
            }
        }
        Ok(())
    }

    /// Starts an attribute value.
    fn begin_value(&mut self) {
        self.html.url = UrlState::Open;
        self.html.prev_amp = false;
        let input = matches!(self.html.tag(), b"input" | b"select" | b"textarea" | b"button");
        self.field = (input && self.html.in_form && self.html.attr() == b"name").then(|| Some(Vec::new()));
    }

    /// One literal byte of an attribute value.
    fn value_byte(&mut self, b: u8) -> Result<(), ErrorKind> {
        if let Some(Some(name)) = &mut self.field
            && name.len() < 256
        {
            name.push(b);
        }
        if self.html.kind == AttrKind::Url {
            let delimiter = matches!(b, b':' | b'/' | b'?') || (b == b'#' && !self.html.prev_amp);
            self.html.url = match (self.html.url, b) {
                (UrlState::AfterValue, b':') => {
                    return Err(ErrorKind::UnsafeContext(
                        "`:` after a value at the start of a URL attribute (the value would choose the scheme)".into(),
                    ));
                }
                (UrlState::Open | UrlState::AfterValue, _) if delimiter => UrlState::Fixed,
                (state, _) => state,
            };
            self.html.prev_amp = b == b'&';
        }
        Ok(())
    }

    /// Ends an attribute value.
    fn end_value(&mut self) {
        if let Some(Some(name)) = self.field.take() {
            let name = String::from_utf8_lossy(&name).into_owned();
            if !name.is_empty() {
                self.out.form_fields.insert(name);
            }
        }
    }

    fn end_tag(&mut self) {
        let h = &mut self.html;
        h.st = St::Text;
        match (h.end_tag, h.tag()) {
            (false, b"script") => h.st = St::Raw(RawText::Script),
            (false, b"style") => h.st = St::Raw(RawText::Style),
            (false, b"form") => h.in_form = true,
            (true, b"form") => h.in_form = false,
            _ => {}
        }
        h.raw_match = 0;
    }

    fn new_attr(&mut self, b: u8) {
        self.html.attr_len = 0;
        self.html.kind = AttrKind::Plain;
        Html::push_name(&mut self.html.attr, &mut self.html.attr_len, b);
        self.html.st = St::AttrName;
    }

    fn step(&mut self, b: u8) -> Result<(), ErrorKind> {
        let ws = b.is_ascii_whitespace();
        match self.html.st {
            St::Text if b == b'<' => self.html.st = St::Lt,
            St::Text => {}
            St::Lt if b.is_ascii_alphabetic() || b == b'/' => {
                let h = &mut self.html;
                h.end_tag = b == b'/';
                h.tag_len = 0;
                if b != b'/' {
                    Html::push_name(&mut h.tag, &mut h.tag_len, b);
                }
                h.st = St::TagName;
            }
            St::Lt if b == b'<' => {}
            St::Lt => self.html.st = St::Text,
            St::TagName => match b {
                b'>' => self.end_tag(),
                b'/' => self.html.st = St::InTag,
                _ if ws => self.html.st = St::InTag,
                _ => {
                    let h = &mut self.html;
                    Html::push_name(&mut h.tag, &mut h.tag_len, b);
                }
            },
            St::InTag => match b {
                b'>' => self.end_tag(),
                b'/' => {}
                _ if ws => {}
                _ => self.new_attr(b),
            },
            St::AttrName => match b {
                b'>' => self.end_tag(),
                b'/' => self.html.st = St::InTag,
                b'=' => {
                    self.html.classify();
                    self.html.st = St::AfterEq;
                }
                _ if ws => {
                    self.html.classify();
                    self.html.st = St::AfterAttrName;
                }
                _ => {
                    let h = &mut self.html;
                    Html::push_name(&mut h.attr, &mut h.attr_len, b);
                }
            },
            St::AfterAttrName => match b {
                b'>' => self.end_tag(),
                b'/' => self.html.st = St::InTag,
                b'=' => self.html.st = St::AfterEq,
                _ if ws => {}
                _ => self.new_attr(b),
            },
            St::AfterEq => match b {
                b'"' | b'\'' => {
                    self.begin_value();
                    self.html.st = St::Quoted(b);
                }
                b'>' => self.end_tag(),
                _ if ws => {}
                _ => {
                    self.begin_value();
                    self.html.st = St::Unquoted;
                    self.value_byte(b)?;
                }
            },
            St::Unquoted => match b {
                b'>' => {
                    self.end_value();
                    self.end_tag();
                }
                _ if ws => {
                    self.end_value();
                    self.html.st = St::InTag;
                }
                _ => self.value_byte(b)?,
            },
            St::Quoted(q) if b == q => {
                self.end_value();
                self.html.st = St::InTag;
            }
            St::Quoted(_) => self.value_byte(b)?,
            St::Raw(kind) => {
                let close: &[u8] = match kind {
                    RawText::Script => b"</script",
                    RawText::Style => b"</style",
                };
                let h = &mut self.html;
                if b.to_ascii_lowercase() == close[h.raw_match] {
                    h.raw_match += 1;
                    if h.raw_match == close.len() {
                        h.raw_match = 0;
                        h.end_tag = true;
                        h.tag_len = 0;
                        for &c in &close[2..] {
                            Html::push_name(&mut h.tag, &mut h.tag_len, c);
                        }
                        h.st = St::TagName;
                    }
                } else {
                    h.raw_match = usize::from(b == b'<');
                }
            }
        }
        Ok(())
    }

    /// The context a value printed here lands in; an error where no escaping can make it safe.
    fn context(&self) -> Result<Ctx, ErrorKind> {
        let refuse = |what: &str| Err(ErrorKind::UnsafeContext(what.to_owned()));
        match self.rules.flavor {
            Flavor::Subject => return Ok(Ctx::Line),
            Flavor::Text => return Ok(Ctx::Plain),
            Flavor::Html => {}
        }
        let h = &self.html;
        let unquoted = matches!(h.st, St::AfterEq | St::Unquoted);
        match h.st {
            St::Text => Ok(Ctx::Text),
            St::Lt | St::TagName => refuse("in a tag name"),
            St::InTag | St::AttrName | St::AfterAttrName => refuse("in an attribute name"),
            St::Raw(RawText::Script) => refuse("inside <script> (JavaScript cannot be escaped safely here)"),
            St::Raw(RawText::Style) => Ok(Ctx::Css(None)),
            St::AfterEq | St::Unquoted | St::Quoted(_) => match h.kind {
                AttrKind::Script => refuse("in an event handler attribute (JavaScript)"),
                AttrKind::Srcdoc => refuse("in a srcdoc attribute (HTML inside an attribute)"),
                AttrKind::Style => Ok(Ctx::Css(Some(unquoted))),
                AttrKind::Url if h.url != UrlState::Fixed => Ok(Ctx::Url { unquoted }),
                AttrKind::Url | AttrKind::Plain => Ok(Ctx::Attr { unquoted }),
            },
        }
    }

    /// True when a value printed here is the whole start of an unquoted attribute value (`title={{ x }}`).
    fn starts_unquoted_value(&self) -> bool {
        // Inside a loop the same output also runs after its own first value: no quotes there.
        self.rules.flavor == Flavor::Html
            && self.html.st == St::AfterEq
            && !self
                .blocks
                .iter()
                .any(|b| matches!(b.name.as_str(), "for" | "tablerow"))
    }

    /// Bookkeeping after a value was printed.
    fn after_value(&mut self) {
        if self.rules.flavor != Flavor::Html {
            return;
        }
        if self.html.st == St::AfterEq {
            self.begin_value();
            self.html.st = St::Unquoted;
        }
        if matches!(self.html.st, St::Unquoted | St::Quoted(_)) {
            if self.html.url == UrlState::Open {
                self.html.url = UrlState::AfterValue;
            }
            self.html.prev_amp = false;
            if self.field.is_some() {
                self.field = Some(None);
            }
        }
    }

    fn run(&mut self) -> Result<(), TemplateError> {
        let src = self.src;
        let bytes = src.as_bytes();
        let mut lit = 0;
        let mut i = 0;
        while let Some(rel) = src[i..].find('{') {
            let j = i + rel;
            match bytes.get(j + 1) {
                Some(b'{') => {
                    self.literal(lit, j)?;
                    let end = find_close(src, j + 2, "}}").ok_or_else(|| self.err(ErrorKind::Unclosed("{{"), j))?;
                    self.output(j, &src[j + 2..end])?;
                    i = end + 2;
                    lit = i;
                }
                Some(b'%') => {
                    self.literal(lit, j)?;
                    let end = find_close(src, j + 2, "%}").ok_or_else(|| self.err(ErrorKind::Unclosed("{%"), j))?;
                    i = self.tag(j, end)?;
                    lit = i;
                }
                _ => match parse_token(&src[j..]) {
                    Some((token, len)) => {
                        self.literal(lit, j)?;
                        self.token(token, j)?;
                        i = j + len;
                        lit = i;
                    }
                    None => i = j + 1,
                },
            }
        }
        self.literal(lit, src.len())?;
        Ok(())
    }

    fn token(&mut self, token: SysToken, at: usize) -> Result<(), TemplateError> {
        match token {
            SysToken::Subject if self.rules.flavor == Flavor::Subject => {
                return Err(self.err(ErrorKind::SubjectInSubject, at));
            }
            SysToken::TriggerLink(n) if self.rules.known_links.is_some_and(|k| !k.contains(&TriggerLinkId(n))) => {
                return Err(self.err(ErrorKind::UnknownTriggerLink(n), at));
            }
            SysToken::Web(n) if self.rules.known_pages.is_some_and(|k| !k.contains(&WebPageId(n))) => {
                return Err(self.err(ErrorKind::UnknownWebPage(n), at));
            }
            _ => {}
        }
        let ctx = self.context().map_err(|kind| self.err(kind, at))?;
        self.out.tokens.insert(token);
        self.out.anchors.push((self.out.liquid.len(), at, false));
        let printing = Printing {
            escapes: ctx.filters(false),
            newline_to_br: 0,
            quote_empty: self.starts_unquoted_value(),
        };
        let expression = format!("__sys.{}", token.key());
        output::write_tag(&mut self.out.liquid, &expression, printing, (false, false));
        self.after_value();
        Ok(())
    }

    /// Checks bracket depth and filter names of the expression `body` that starts at source offset `at`.
    fn check_expr(&self, body: &str, at: usize, filters: bool) -> Result<(), TemplateError> {
        let mut depth = 0usize;
        let mut quote: Option<u8> = None;
        for (i, &b) in body.as_bytes().iter().enumerate() {
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None => match b {
                    b'"' | b'\'' => quote = Some(b),
                    b'[' | b'(' => {
                        depth += 1;
                        if depth > MAX_EXPR_DEPTH {
                            return Err(self.err(ErrorKind::TooDeep { limit: MAX_EXPR_DEPTH }, at + i));
                        }
                    }
                    b']' | b')' => depth = depth.saturating_sub(1),
                    b'0'..=b'9' if starts_number(body.as_bytes(), i) => {
                        // Liquid panics on an integer literal that does not fit in 64 bits.
                        let digits = &body.as_bytes()[i..];
                        let len = digits.iter().take_while(|d| d.is_ascii_digit()).count();
                        let float =
                            digits.get(len) == Some(&b'.') && digits.get(len + 1).is_some_and(u8::is_ascii_digit);
                        let negative = i > 0 && body.as_bytes()[i - 1] == b'-';
                        let text = &body[i..i + len];
                        let fits = if negative {
                            format!("-{text}").parse::<i64>().is_ok()
                        } else {
                            text.parse::<i64>().is_ok()
                        };
                        if !float && !fits {
                            let kind = ErrorKind::Syntax(format!("the number {text} is out of range"));
                            return Err(self.err(kind, at + i));
                        }
                    }
                    _ => {}
                },
            }
        }
        if filters {
            let mut offset = 0;
            for (n, seg) in top_level_split(body, b'|').into_iter().enumerate() {
                if n > 0 {
                    let name = first_word(seg);
                    // An empty name is a syntax error Liquid reports.
                    if !name.is_empty() && !FILTER_NAMES.contains(&name) {
                        let lead = seg.len() - seg.trim_start().len();
                        let name = name.chars().take(40).collect();
                        return Err(self.err(ErrorKind::UnknownFilter(name), at + offset + lead));
                    }
                }
                offset += seg.len() + 1;
            }
        }
        Ok(())
    }

    fn output(&mut self, at: usize, inner: &str) -> Result<(), TemplateError> {
        let (lead, body, trail) = split_dashes(inner);
        let body_at = at + 2 + usize::from(lead);
        self.check_expr(body, body_at, true)?;
        let expr = rewrite_expr(body, &mut self.out.paths);
        let mut filters = top_level_split(&expr, b'|');
        let last = filters.last().map(|f| first_word(f)).unwrap_or_default();
        let raw = filters.len() > 1 && last == "raw";
        // A capture variable printed alone was escaped where its body was written.
        let single = filters.len() == 1 && is_ident(filters[0].trim());
        let trusted = single
            && self.rules.flavor == Flavor::Html
            && self.captured.contains(filters[0].trim())
            && !self.untrusted.contains(filters[0].trim());
        let ctx = if raw {
            None
        } else {
            Some(self.context().map_err(|kind| self.err(kind, at))?)
        };
        // `newline_to_br` makes HTML: in text it goes after the escaping.
        let mut newline_to_br = 0u8;
        if ctx == Some(Ctx::Text) {
            while filters.len() > 1 && filters[filters.len() - 1].trim() == "newline_to_br" {
                filters.pop();
                newline_to_br = newline_to_br.saturating_add(1);
            }
        }
        // A trailing `escape` / `escape_once` is the context's own escaping (never weaker).
        let mut once = false;
        if ctx.is_some() {
            while filters.len() > 1 {
                match first_word(filters[filters.len() - 1]) {
                    "escape" => {}
                    "escape_once" => once = true,
                    _ => break,
                }
                filters.pop();
            }
        }
        if trusted && ctx.is_some() {
            self.trusted_used.insert(filters[0].trim().to_owned());
        }
        let starts_unquoted = self.starts_unquoted_value();
        self.out.anchors.push((self.out.liquid.len(), at, false));
        let l = &mut self.out.liquid;
        match ctx {
            // `raw`: Liquid's own output.
            None => {
                l.push_str(if lead { "{{- " } else { "{{ " });
                l.push_str(filters.join("|").trim());
                l.push_str(if trail { " -}}" } else { " }}" });
            }
            Some(ctx) => {
                let printing = Printing {
                    escapes: if ctx == Ctx::Text && trusted {
                        &[]
                    } else {
                        ctx.filters(once || trusted)
                    },
                    newline_to_br,
                    quote_empty: starts_unquoted,
                };
                output::write_tag(l, &filters.join("|"), printing, (lead, trail));
            }
        }
        self.after_value();
        Ok(())
    }

    /// Opens, continues or closes a block for the nesting limit and the HTML context of its branches.
    fn block(&mut self, name: &str, rest: &str, at: usize) -> Result<(), TemplateError> {
        let html = self.rules.flavor == Flavor::Html;
        if BLOCKS.contains(&name) {
            if self.blocks.len() >= MAX_NESTING {
                return Err(self.err(ErrorKind::TooDeep { limit: MAX_NESTING }, at));
            }
            let mut block = Block {
                name: name.to_owned(),
                start: self.html,
                url: self.html.url,
                outer: None,
            };
            if name == "capture" && html {
                let var = first_word(rest.trim_start());
                if !var.is_empty() {
                    self.captured.insert(var.to_owned());
                }
                block.outer = Some(self.html);
                self.html = Html {
                    in_form: self.html.in_form,
                    ..Html::default()
                };
                block.start = self.html;
            }
            self.blocks.push(block);
            return Ok(());
        }
        let is_branch = matches!(name, "else" | "elsif" | "when");
        let is_end = name.strip_prefix("end").is_some_and(|b| BLOCKS.contains(&b));
        if !is_branch && !is_end {
            return Ok(());
        }
        let Some(top) = self.blocks.last_mut() else {
            return Ok(());
        };
        if html && top.start.coarse() != self.html.coarse() {
            let what = format!(
                "a branch or loop body of `{}` must end in the HTML context it started in (the same tag, attribute or text)",
                top.name
            );
            return Err(TemplateError::at(
                self.rules.part,
                ErrorKind::UnsafeContext(what),
                self.src,
                at,
            ));
        }
        top.url = top.url.max(self.html.url);
        if is_branch {
            let url = top.url;
            self.html = Html { url, ..top.start };
            return Ok(());
        }
        let Some(block) = self.blocks.pop() else {
            return Ok(());
        };
        match block.outer {
            Some(outer) => self.html = outer,
            None => self.html.url = block.url.max(block.start.url),
        }
        Ok(())
    }

    /// Handles the tag `{% … %}` at `at` whose `%}` is at `end`; returns where scanning resumes.
    fn tag(&mut self, at: usize, end: usize) -> Result<usize, TemplateError> {
        let src = self.src;
        let (lead_dash, body, _) = split_dashes(&src[at + 2..end]);
        let body_at = at + 2 + usize::from(lead_dash);
        let trimmed = body.trim_start();
        let name = first_word(trimmed);
        let rest = &trimmed[name.len()..];
        let after = end + 2;
        match name {
            "raw" | "comment" => {
                let closer = if name == "raw" { "endraw" } else { "endcomment" };
                let (inner_end, stop) = self
                    .find_end_tag(after, closer)
                    .ok_or_else(|| self.err(ErrorKind::Unclosed("{%"), at))?;
                self.out.anchors.push((self.out.liquid.len(), at, true));
                self.out.liquid.push_str(&src[at..stop]);
                if name == "raw" && self.rules.flavor == Flavor::Html {
                    for (i, &b) in src.as_bytes()[after..inner_end].iter().enumerate() {
                        self.step(b).map_err(|kind| self.err(kind, after + i))?;
                    }
                }
                return Ok(stop);
            }
            "include" | "render" | "cycle" => return Err(self.err(ErrorKind::ForbiddenTag(name.to_owned()), at)),
            // The compiler's own tags (`__tick`, `__out`) are not the author's to write.
            _ if name.starts_with("__") => return Err(self.err(ErrorKind::ForbiddenTag(name.to_owned()), at)),
            _ => {}
        }
        self.check_expr(body, body_at, name == "assign")?;
        self.block(name, rest, at)?;
        let rewritten_rest = match name {
            "for" | "tablerow" => {
                let var = first_word(rest.trim_start());
                if !var.is_empty() {
                    self.locals.insert(var.to_owned());
                    self.other_defs.insert(var.to_owned());
                }
                let coll = rest.trim_start()[var.len()..].trim_start();
                let coll = coll.strip_prefix("in").unwrap_or(coll).trim_start();
                if coll.starts_with('(') {
                    self.check_range(coll, at)?;
                }
                format!(" {var} in {}", rewrite_expr(coll, &mut self.out.paths))
            }
            "assign" | "capture" | "increment" | "decrement" => {
                let var = first_word(rest.trim_start());
                if !var.is_empty() {
                    self.locals.insert(var.to_owned());
                    if name != "capture" {
                        self.other_defs.insert(var.to_owned());
                    }
                }
                let tail = &rest.trim_start()[var.len()..];
                format!(" {var}{}", rewrite_expr(tail, &mut self.out.paths))
            }
            _ => rewrite_expr(rest, &mut self.out.paths),
        };
        let (lead, _, trail) = split_dashes(&src[at + 2..end]);
        self.out.anchors.push((self.out.liquid.len(), at, false));
        let l = &mut self.out.liquid;
        l.push_str(if lead { "{%- " } else { "{% " });
        l.push_str(name);
        l.push_str(&rewritten_rest);
        l.push_str(if trail { " -%}" } else { " %}" });
        if matches!(name, "for" | "tablerow") {
            l.push_str("{% ");
            l.push_str(TICK_TAG);
            l.push_str(" %}");
        }
        Ok(after)
    }

    fn check_range(&self, coll: &str, at: usize) -> Result<(), TemplateError> {
        let close = coll.find(')').unwrap_or(coll.len());
        let range = &coll[..close.saturating_add(1).min(coll.len())];
        let inner = range.trim_start_matches('(').trim_end_matches(')');
        let bounds = inner.split_once("..").and_then(|(a, b)| {
            let a: i64 = a.trim().parse().ok()?;
            let b: i64 = b.trim().parse().ok()?;
            Some((a, b))
        });
        match bounds {
            Some((a, b)) if b.saturating_sub(a) < i64::from(self.rules.max_range) => Ok(()),
            _ => Err(self.err(ErrorKind::UnboundedRange(range.to_owned()), at)),
        }
    }

    /// Finds the `{% <closer> %}` tag after `from`; returns where it starts and the offset just past it.
    /// Linear: a `%}` found once is reused for every `{%` before it.
    fn find_end_tag(&mut self, from: usize, closer: &str) -> Option<(usize, usize)> {
        let src = self.src;
        let mut i = from;
        while let Some(rel) = src[i..].find("{%") {
            let j = i + rel;
            let end = match self.close_cache {
                Some((searched_from, found)) if searched_from <= j + 2 && found.is_none_or(|f| f >= j + 2) => found,
                _ => {
                    let found = src[j + 2..].find("%}").map(|e| e + j + 2);
                    self.close_cache = Some((j + 2, found));
                    found
                }
            }?;
            let (_, body, _) = split_dashes(&src[j + 2..end]);
            if body.trim() == closer {
                return Some((j, end + 2));
            }
            i = j + 2;
        }
        None
    }
}

/// True when the digit at `i` starts a number literal: not part of a name (`a1`) or of a path segment
/// (`lead.cf.657261`, `a.0`) or the decimals of a float, but the end of a range (`1..99`) is one.
fn starts_number(b: &[u8], i: usize) -> bool {
    match i.checked_sub(1).map(|p| b[p]) {
        None => true,
        Some(p) if p.is_ascii_alphanumeric() || p == b'_' => false,
        Some(b'.') => i >= 2 && b[i - 2] == b'.',
        Some(_) => true,
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Finds `close` from `from`, skipping quoted strings; returns its offset.
fn find_close(src: &str, from: usize, close: &str) -> Option<usize> {
    let bytes = src.as_bytes();
    let mut i = from;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if bytes[i..].starts_with(close.as_bytes()) => return Some(i),
            None => {}
        }
        i += 1;
    }
    None
}

/// Splits whitespace-control dashes off an output's or tag's inside.
fn split_dashes(inner: &str) -> (bool, &str, bool) {
    let lead = inner.starts_with('-');
    let body = if lead { &inner[1..] } else { inner };
    let trail = body.ends_with('-') && !body.is_empty();
    let body = if trail { &body[..body.len() - 1] } else { body };
    (lead, body, trail)
}

fn first_word(s: &str) -> &str {
    let s = s.trim_start();
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Splits `s` at `sep` outside quoted strings.
fn top_level_split(s: &str, sep: u8) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote: Option<u8> = None;
    let mut start = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == sep => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            None => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// Parses a widget token at the start of `s` (which starts with `{`); returns it and its length.
pub(crate) fn parse_token(s: &str) -> Option<(SysToken, usize)> {
    let close = s.as_bytes().iter().skip(1).take(32).position(|&b| b == b'}')? + 1;
    let inner = &s[1..close];
    let num = |prefix: &str| -> Option<i64> {
        let digits = inner.strip_prefix(prefix)?;
        if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let token = match inner {
        "subject" => SysToken::Subject,
        "sended_at" => SysToken::SendedAt,
        "id" => SysToken::Id,
        "date" => SysToken::Date,
        "reset" => SysToken::Reset,
        "formlink" => SysToken::FormLink,
        "weblink" => SysToken::WebLink,
        "unsubscribe" => SysToken::Unsubscribe,
        _ => {
            if let Some(n) = num("triggerlink:") {
                SysToken::TriggerLink(n)
            } else if let Some(n) = num("web:") {
                SysToken::Web(n)
            } else {
                return None;
            }
        }
    };
    Some((token, close + 1))
}

/// Rewrites a Liquid expression: `a.123` becomes `a["123"]`; the variable paths it reads are pushed to
/// `paths`.
fn rewrite_expr(expr: &str, paths: &mut Vec<Vec<String>>) -> String {
    let bytes = expr.as_bytes();
    let mut out = String::with_capacity(expr.len() + 8);
    let mut i = 0;
    let mut prev_sig: u8 = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' || b == b'\'' {
            let end = expr[i + 1..].find(b as char).map_or(expr.len(), |e| i + 1 + e + 1);
            out.push_str(&expr[i..end]);
            i = end;
            prev_sig = b'"';
            continue;
        }
        if b.is_ascii_digit() || ((b == b'-' || b == b'+') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
            }
            out.push_str(&expr[start..i]);
            prev_sig = b'0';
            continue;
        }
        if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            i = ident_end(bytes, i);
            let word = &expr[start..i];
            let next = expr[i..].trim_start().as_bytes().first().copied();
            let is_path = prev_sig != b'|' && next != Some(b':') && !KEYWORDS.contains(&word);
            if !is_path {
                out.push_str(word);
                prev_sig = b'a';
                continue;
            }
            let mut path = vec![word.to_owned()];
            let mut static_path = true;
            out.push_str(word);
            loop {
                if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1] != b'.' {
                    let seg_start = i + 1;
                    if bytes[seg_start].is_ascii_digit() {
                        let mut e = seg_start;
                        while e < bytes.len() && bytes[e].is_ascii_digit() {
                            e += 1;
                        }
                        let seg = &expr[seg_start..e];
                        out.push_str("[\"");
                        out.push_str(seg);
                        out.push_str("\"]");
                        if static_path {
                            path.push(seg.to_owned());
                        }
                        i = e;
                    } else if bytes[seg_start].is_ascii_alphabetic() || bytes[seg_start] == b'_' {
                        let e = ident_end(bytes, seg_start);
                        let seg = &expr[seg_start..e];
                        out.push('.');
                        out.push_str(seg);
                        if static_path {
                            path.push(seg.to_owned());
                        }
                        i = e;
                    } else {
                        break;
                    }
                } else if i < bytes.len() && bytes[i] == b'[' {
                    let Some(close) = find_close(expr, i + 1, "]") else {
                        break;
                    };
                    let inner = expr[i + 1..close].trim();
                    let quoted = inner.len() >= 2
                        && (inner.starts_with('"') && inner.ends_with('"')
                            || inner.starts_with('\'') && inner.ends_with('\''));
                    if quoted {
                        if static_path {
                            path.push(inner[1..inner.len() - 1].to_owned());
                        }
                        out.push('[');
                        out.push_str(inner);
                        out.push(']');
                    } else if !inner.is_empty() && inner.bytes().all(|c| c.is_ascii_digit() || c == b'-') {
                        if static_path {
                            path.push(inner.to_owned());
                        }
                        out.push('[');
                        out.push_str(inner);
                        out.push(']');
                    } else {
                        static_path = false;
                        out.push('[');
                        out.push_str(&rewrite_expr(inner, paths));
                        out.push(']');
                    }
                    i = close + 1;
                } else {
                    break;
                }
            }
            paths.push(path);
            prev_sig = b'a';
            continue;
        }
        if !b.is_ascii_whitespace() {
            prev_sig = b;
        }
        let ch_len = expr[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&expr[i..i + ch_len]);
        i += ch_len;
    }
    out
}

fn ident_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'-') {
        i += 1;
    }
    i
}
