//! `GET /w/{token}`: the web version of a sent email; `GET /p/{token}`: a public web page for the token's
//! entity on the request's subdomain (410 past its lifetime). Both are documents the engine renders; their
//! CSP allows the configured analytics origins and the page's own inline analytics snippets (by hash).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::hit_info;
use crate::server::{AppState, HttpError, content_security_policy};

pub(crate) async fn web_version(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, HttpError> {
    let html = state.engine.web_version(&token).await?;
    state.metrics.hit("web", None);
    Ok(document(&state, html))
}

pub(crate) async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let subdomain = state.config.subdomain(host);
    let html = state.engine.web_page(&token, subdomain, &hit_info(&headers)).await?;
    state.metrics.hit("page", None);
    Ok(document(&state, html))
}

/// The document with its own CSP, never cached (each view is recorded).
fn document(state: &AppState, html: String) -> Response {
    let csp = content_security_policy(&state.analytics, &inline_script_hashes(&html));
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

/// `'sha256-…'` of every inline `<script>` (one without `src`), as CSP source expressions.
pub(crate) fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else { break };
        let tag = &after[..tag_end];
        let body = &after[tag_end + 1..];
        let Some(close) = body.find("</script>") else { break };
        if !tag.contains("src=") {
            let digest = Sha256::digest(&body.as_bytes()[..close]);
            hashes.push(format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &body[close..];
    }
    hashes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_inline_scripts_only() {
        let html = "<head><script>a()</script><script async src=\"https://x.example/t.js\"></script>\
                    <script type=\"text/javascript\">b()</script></head>";
        let hashes = inline_script_hashes(html);
        assert_eq!(hashes.len(), 2);
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"a()"));
        assert_eq!(hashes[0], format!("'sha256-{expected}'"));
    }
}
