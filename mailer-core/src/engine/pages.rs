//! Public web pages (`{web:N}`, `/p/`) and the web version of a sent email (`{weblink}`, `/w/`), each a
//! complete HTML document the host serves as it is.
//!
//! A page is rendered with live CRM data for the token's entity and kept in a bounded in-memory cache
//! (keyed by account, page and entity) until the page's cache time runs out; then it is rendered again
//! from fresh CRM data. The cache lives in the engine, not the store: a rendered page is cheap to lose
//! (a restart re-renders it once), is read on every view (a store round trip would cost as much as the
//! render saves) and must not grow a table. Each engine (worker process) keeps its own copy, so a page is
//! read from the CRM at most once per cache time per process.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::error::ValidationError;
use crate::model::{AccountId, Address, EntityRef, Timestamp, WebPage, WebPageId};
use crate::ports::{StoreError, StoreExt};
use crate::template::{EmailInfo, Mode, RenderContext, TokenError, TokenKind};

use super::render::{email_context, empty_record};
use super::{Engine, EngineError, HitInfo};

/// At most this many subdomains per account.
pub const MAX_SUBDOMAINS: usize = 3;
/// At most this many rendered pages are cached per engine.
pub const PAGE_CACHE_ENTRIES: usize = 1_024;

type PageKey = (AccountId, WebPageId, EntityRef);

/// Rendered pages by account, page and entity, with when they were rendered.
#[derive(Debug, Default)]
pub(crate) struct PageCache {
    entries: Mutex<HashMap<PageKey, (Timestamp, String)>>,
}

impl PageCache {
    fn get(&self, key: &PageKey, now: Timestamp, ttl: chrono::Duration) -> Option<String> {
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(at, _)| now < *at + ttl)
            .map(|(_, html)| html.clone())
    }

    fn put(&self, key: PageKey, now: Timestamp, html: String) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= PAGE_CACHE_ENTRIES && !entries.contains_key(&key) {
            // Drop the oldest render; pages past their cache time are the oldest ones.
            if let Some(oldest) = entries.iter().min_by_key(|(_, (at, _))| *at).map(|(k, _)| *k) {
                entries.remove(&oldest);
            }
        }
        entries.insert(key, (now, html));
    }
}

/// True for a Metrica counter number: 1 to 20 digits, nothing else.
pub fn valid_metric_counter(id: &str) -> bool {
    (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

/// True for a Google Tag Manager container id: `GTM-` and 1 to 20 capital letters or digits.
pub fn valid_gtm_id(id: &str) -> bool {
    id.strip_prefix("GTM-").is_some_and(|rest| {
        (1..=20).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    })
}

fn valid_subdomain(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn valid_slug(s: &str) -> bool {
    (1..=100).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a page before it is saved, against the account's other pages (`others`; the page itself may be
/// among them): slug, subdomain (lowercase letters, digits and `-`; at most [`MAX_SUBDOMAINS`] different
/// ones per account), the Metrica counter number (digits) and the GTM id (`GTM-` + capitals and digits).
///
/// # Errors
/// [`ValidationError::OutOfRange`] naming the field.
pub fn check_page(page: &WebPage, others: &[WebPage]) -> Result<(), ValidationError> {
    let bad = |what: &'static str, detail: String| Err(ValidationError::OutOfRange { what, detail });
    if !valid_slug(&page.slug) {
        return bad("page slug", format!("{:?}: letters, digits, - and _ only", page.slug));
    }
    if let Some(sub) = &page.subdomain {
        if !valid_subdomain(sub) {
            return bad("page subdomain", format!("{sub:?}: lowercase letters, digits and - only"));
        }
        let mut used: Vec<&str> = others
            .iter()
            .filter(|p| p.id != page.id)
            .filter_map(|p| p.subdomain.as_deref())
            .collect();
        used.push(sub);
        used.sort_unstable();
        used.dedup();
        if used.len() > MAX_SUBDOMAINS {
            return bad(
                "page subdomain",
                format!("an account has at most {MAX_SUBDOMAINS} subdomains: {}", used.join(", ")),
            );
        }
    }
    check_analytics(page)
}

fn check_analytics(page: &WebPage) -> Result<(), ValidationError> {
    if let Some(id) = &page.metric_counter
        && !valid_metric_counter(id)
    {
        return Err(ValidationError::OutOfRange {
            what: "metric counter",
            detail: format!("{id:?} is not a counter number (digits only)"),
        });
    }
    if let Some(id) = &page.gtm_id
        && !valid_gtm_id(id)
    {
        return Err(ValidationError::OutOfRange {
            what: "Google Tag Manager id",
            detail: format!("{id:?} is not GTM- followed by capital letters and digits"),
        });
    }
    Ok(())
}

/// The Metrica counter snippet for a checked counter number.
fn metric_snippet(id: &str) -> String {
    format!(
        r#"<script type="text/javascript">(function(m,e,t,r,i,k,a){{m[i]=m[i]||function(){{(m[i].a=m[i].a||[]).push(arguments)}};m[i].l=1*new Date();for(var j=0;j<document.scripts.length;j++){{if(document.scripts[j].src===r){{return;}}}}k=e.createElement(t),a=e.getElementsByTagName(t)[0],k.async=1,k.src=r,a.parentNode.insertBefore(k,a)}})(window,document,"script","https://mc.yandex.ru/metrika/tag.js","ym");ym({id},"init",{{clickmap:true,trackLinks:true,accurateTrackBounce:true}});</script><noscript><div><img src="https://mc.yandex.ru/watch/{id}" style="position:absolute;left:-9999px" alt=""></div></noscript>"#
    )
}

/// The Google Tag Manager snippets (head, body) for a checked container id.
fn gtm_snippets(id: &str) -> (String, String) {
    let head = format!(
        r#"<script>(function(w,d,s,l,i){{w[l]=w[l]||[];w[l].push({{'gtm.start':new Date().getTime(),event:'gtm.js'}});var f=d.getElementsByTagName(s)[0],j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src='https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);}})(window,document,'script','dataLayer','{id}');</script>"#
    );
    let body = format!(
        r#"<noscript><iframe src="https://www.googletagmanager.com/ns.html?id={id}" height="0" width="0" style="display:none;visibility:hidden"></iframe></noscript>"#
    );
    (head, body)
}

fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    (0..=h.len().checked_sub(n.len())?).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// A complete HTML document: a rendered body that already is one gets `head` before `</head>` and `body`
/// right after `<body …>`; anything else is wrapped with a doctype, charset, viewport and `title`.
pub(crate) fn document(title: &str, html: &str, head: &str, body: &str) -> String {
    if let Some(start) = find_ci(html, "<html") {
        let mut out = html.to_owned();
        if let Some(open) = find_ci(&out, "<body") {
            let end = out[open..].find('>').map_or(out.len(), |i| open + i + 1);
            out.insert_str(end, body);
        } else {
            out.push_str(body);
        }
        match find_ci(&out, "</head") {
            Some(at) => out.insert_str(at, head),
            None => {
                let end = out[start..].find('>').map_or(out.len(), |i| start + i + 1);
                out.insert_str(end, &format!("<head>{head}</head>"));
            }
        }
        if find_ci(&out, "<!doctype").is_none() {
            out.insert_str(0, "<!DOCTYPE html>\n");
        }
        return out;
    }
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{}</title>{head}</head><body>{body}{html}</body></html>\n",
        escape_text(title)
    )
}

/// Removes the open pixel rendering adds (`<img src="<base>/t/o/…">`): a page view is not an email open.
fn strip_pixel(html: &mut String, base_url: &str) {
    let marker = format!("<img src=\"{base_url}/t/o/");
    if let Some(at) = html.rfind(&marker)
        && let Some(len) = html[at..].find('>')
    {
        html.replace_range(at..at + len + 1, "");
    }
}

/// True when a page made at `issued_at` is past its lifetime at `now`; a lifetime of 0 days never ends.
fn expired(page: &WebPage, issued_at: Timestamp, now: Timestamp) -> bool {
    page.lifetime_days > 0 && now >= issued_at + chrono::Duration::days(i64::from(page.lifetime_days))
}

/// `None` on the request matches pages without a subdomain; otherwise the names match, ignoring case.
fn same_subdomain(page: Option<&str>, request: Option<&str>) -> bool {
    match (page, request) {
        (None, None) => true,
        (Some(p), Some(r)) => p.eq_ignore_ascii_case(r),
        _ => false,
    }
}

impl Engine {
    /// The complete HTML document of a public web page for the token's entity, on `subdomain` (`None` for
    /// the main domain): rendered with live CRM data, or served from the cache within the page's cache
    /// time. Records the page view and runs the page's on-open triggers, as [`Engine::record_hit`] does.
    ///
    /// # Errors
    /// [`EngineError::Token`] for a bad token or one that is not a page token; [`EngineError::Store`]
    /// (`NotFound`) for an unknown page or one on another subdomain; [`EngineError::Gone`] past the page's
    /// lifetime; [`EngineError::Invalid`] for a stored analytics id that is not valid; [`EngineError::Crm`],
    /// [`EngineError::Template`].
    pub async fn web_page(&self, token: &str, subdomain: Option<&str>, info: &HitInfo) -> Result<String, EngineError> {
        let token = self.verify_kind(token, |k| matches!(k, TokenKind::Page(_))).await?;
        let TokenKind::Page(page_id) = token.kind else {
            return Err(EngineError::Token(TokenError::Malformed));
        };
        let account = token.account;
        let page: WebPage = self.ports.store.get(account, page_id).await?;
        if !same_subdomain(page.subdomain.as_deref(), subdomain) {
            return Err(StoreError::not_found("web page", page_id).into());
        }
        let now = self.now();
        if expired(&page, token.issued_at, now) {
            return Err(EngineError::Gone(format!(
                "web page {} was available for {} days from {}",
                page.id, page.lifetime_days, token.issued_at
            )));
        }
        check_analytics(&page)?;
        let key = (account, page.id, token.entity);
        let ttl = chrono::Duration::from_std(page.cache).unwrap_or_default();
        let cached = (!token.preview && !ttl.is_zero())
            .then(|| self.pages.get(&key, now, ttl))
            .flatten();
        let html = match cached {
            Some(html) => html,
            None => {
                let html = self.render_page(&page, &token, now).await?;
                if !token.preview && !ttl.is_zero() {
                    self.pages.put(key, now, html.clone());
                }
                html
            }
        };
        self.hit(&token, info).await?;
        Ok(html)
    }

    async fn render_page(
        &self,
        page: &WebPage,
        token: &crate::template::TrackingToken,
        now: Timestamp,
    ) -> Result<String, EngineError> {
        let account = self.ports.store.get_account(token.account).await?;
        let links = self.links(&account)?;
        let record = if token.entity.id.0 == 0 {
            empty_record("")
        } else {
            self.ports.crm.entity(token.account, token.entity).await?
        };
        let recipient = Address::new(&token.recipient).ok();
        let mut ctx = RenderContext::new(&record, &links, now)
            .with_timezone(account.timezone)
            .with_mode(if token.preview { Mode::Preview } else { Mode::Live })
            .with_email(EmailInfo {
                id: token.email,
                subject: Some(page.header.as_str()),
                sent_at: None,
            });
        if let Some(r) = &recipient {
            ctx = ctx.with_recipient(r);
        }
        let rendered = self.compile(&page.content)?.render(&ctx)?;
        let mut body = rendered.html;
        strip_pixel(&mut body, links.base_url());
        let mut head = String::new();
        let mut top = String::new();
        if let Some(id) = &page.metric_counter {
            head.push_str(&metric_snippet(id));
        }
        if let Some(id) = &page.gtm_id {
            let (h, b) = gtm_snippets(id);
            head.push_str(&h);
            top.push_str(&b);
        }
        Ok(document(&page.header, &body, &head, &top))
    }

    /// The complete HTML document of a sent email's web version: its stored content rendered with live
    /// CRM data for the token's recipient, trigger links and the form link live.
    ///
    /// # Errors
    /// [`EngineError::Token`] for a bad token or one that is not a web-version token;
    /// [`EngineError::Store`] (`NotFound`) for an unknown email; [`EngineError::Crm`],
    /// [`EngineError::Template`].
    pub async fn web_version(&self, token: &str) -> Result<String, EngineError> {
        let token = self.verify_kind(token, |k| k == TokenKind::WebVersion).await?;
        let id = token
            .email
            .ok_or_else(|| StoreError::not_found("email", "(none in token)"))?;
        let email = self.ports.store.get_email(token.account, id).await?;
        let parts = self.parts(&email).await?;
        let links = self.links(&parts.account)?;
        let recipient = Address::new(&token.recipient).ok();
        let mode = if token.preview { Mode::Preview } else { Mode::Live };
        let ctx = email_context(&email, &parts, &links, self.now(), mode, recipient.as_ref());
        let rendered = self.compile(&email.spec.content)?.render(&ctx)?;
        Ok(document(&rendered.subject, &rendered.html, "", ""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analytics_ids_are_checked() {
        assert!(valid_metric_counter("12345678"));
        for bad in ["", "12a", "1 2", "1\"", "123456789012345678901", "-1"] {
            assert!(!valid_metric_counter(bad), "{bad}");
        }
        assert!(valid_gtm_id("GTM-AB12CD"));
        for bad in ["GTM-", "gtm-AB12", "GTM-ab12", "GTM-AB'12", "AB12", "GTM-AB12</script>"] {
            assert!(!valid_gtm_id(bad), "{bad}");
        }
    }

    #[test]
    fn documents_are_complete() {
        let doc = document("A <b>", "<p>x</p>", "<script>h</script>", "<i>top</i>");
        assert!(doc.starts_with("<!DOCTYPE html>"));
        assert!(doc.contains("<title>A &lt;b&gt;</title><script>h</script></head><body><i>top</i><p>x</p>"));
        let full = document("t", "<html><head><title>x</title></head><body class=\"a\"><p>y</p></body></html>", "H", "B");
        assert!(full.contains("<title>x</title>H</head><body class=\"a\">B<p>y</p>"), "{full}");
        assert!(full.starts_with("<!DOCTYPE html>"));
    }

    #[test]
    fn subdomains_match_and_are_limited() {
        assert!(same_subdomain(None, None));
        assert!(same_subdomain(Some("promo"), Some("PROMO")));
        assert!(!same_subdomain(Some("promo"), None));
        assert!(!same_subdomain(None, Some("promo")));
        let mut page = crate::testkit::fixture::sample_page(AccountId(1));
        let mut others = Vec::new();
        for (i, sub) in ["a", "b", "c"].into_iter().enumerate() {
            let mut p = page.clone();
            p.id = WebPageId(i as i64 + 10);
            p.subdomain = Some(sub.into());
            others.push(p);
        }
        page.subdomain = Some("a".into());
        assert!(check_page(&page, &others).is_ok(), "a used subdomain is fine");
        page.subdomain = Some("d".into());
        assert!(check_page(&page, &others).is_err(), "a fourth subdomain was accepted");
        page.subdomain = Some("Bad_Name".into());
        assert!(check_page(&page, &[]).is_err());
        page.subdomain = None;
        page.gtm_id = Some("GTM-X'".into());
        assert!(check_page(&page, &[]).is_err());
    }
}
