//! The server's own HTML pages (thank-you, unsubscribe, errors): plain server-rendered documents in which
//! every dynamic value goes through [`escape`].

use std::fmt::Write as _;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
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

/// A complete document: `title` (text, escaped here) and `body` (HTML the caller built from escaped parts).
pub(crate) fn document(title: &str, body: &str) -> String {
    let mut html = String::with_capacity(512 + body.len());
    let title = escape(title);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}}\
         button{{font-size:1rem;padding:.5rem 1.2rem}}</style></head>\
         <body><main><h1>{title}</h1>{body}</main></body></html>\n"
    );
    html
}

/// "Thank you!": after a click on a link without a redirect, or a form.
pub(crate) fn thank_you() -> String {
    document("Thank you!", "<p>Your answer has been received.</p>")
}

/// The unsubscribe confirmation: a button that POSTs to the same URL (a GET changes nothing).
pub(crate) fn unsubscribe_confirm(action: &str) -> String {
    let body = format!(
        "<p>Do you want to stop receiving these emails?</p>\
         <form method=\"post\" action=\"{}\"><button type=\"submit\">Unsubscribe</button></form>",
        escape(action)
    );
    document("Unsubscribe", &body)
}

/// After an unsubscribe.
pub(crate) fn unsubscribed() -> String {
    document(
        "You are unsubscribed",
        "<p>You will not receive these emails any more.</p>",
    )
}

/// An error page: the status's title and a short explanation.
pub(crate) fn error(title: &str, detail: &str) -> String {
    document(title, &format!("<p>{}</p>", escape(detail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_markup_character() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let page = error("<script>", "\"><img src=x onerror=alert(1)>");
        assert!(!page.contains("<script>") && !page.contains("<img"));
    }
}
