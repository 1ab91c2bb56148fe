//! A minimal W3C WebDriver client over reqwest: the few commands the UI tests need (sessions, navigation,
//! elements, keys, scripts, screenshots), driving Debian's `chromedriver`.

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// The key of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub(crate) type Result<T> = std::result::Result<T, String>;

/// A browser session.
pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
}

/// An element of the page.
#[derive(Debug, Clone)]
pub(crate) struct Element(String);

impl Browser {
    /// Starts a headless Chromium session through the chromedriver at `driver`.
    pub(crate) async fn start(driver: &str, chromium: &str, profile: &std::path::Path) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?;
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,1000",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args}
        }}});
        let answer = call(&http, reqwest::Method::POST, &format!("{driver}/session"), Some(caps)).await?;
        let id = answer["sessionId"]
            .as_str()
            .ok_or(format!("no session id in {answer}"))?;
        Ok(Self {
            http,
            base: format!("{driver}/session/{id}"),
        })
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value> {
        call(&self.http, method, &format!("{}{path}", self.base), body).await
    }

    /// Opens `url`.
    pub(crate) async fn goto(&self, url: &str) -> Result<()> {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await
            .map(drop)
    }

    /// The current URL.
    pub(crate) async fn url(&self) -> Result<String> {
        let v = self.cmd(reqwest::Method::GET, "/url", None).await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Sets the window size (a phone is 390 wide).
    pub(crate) async fn resize(&self, width: u32, height: u32) -> Result<()> {
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await
        .map(drop)
    }

    /// The first element matching a CSS selector.
    pub(crate) async fn find(&self, css: &str) -> Result<Element> {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await
            .map_err(|e| format!("{css}: {e}"))?;
        v[ELEMENT]
            .as_str()
            .map(|id| Element(id.to_owned()))
            .ok_or(format!("{css}: no element in {v}"))
    }

    /// Every element matching a CSS selector.
    pub(crate) async fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str())
                    .map(|id| Element(id.to_owned()))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Clicks an element.
    pub(crate) async fn click(&self, el: &Element) -> Result<()> {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/click", el.0),
            Some(json!({})),
        )
        .await
        .map(drop)
    }

    /// Empties a field, then types `text` into it as keystrokes.
    pub(crate) async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let el = self.find(css).await?;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/clear", el.0),
            Some(json!({})),
        )
        .await?;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/value", el.0),
            Some(json!({ "text": text })),
        )
        .await
        .map(drop)
    }

    /// Chooses the local file at `path` in the file input matching `css` (keys sent to a file input are its
    /// path; the input is not cleared first, which file inputs refuse).
    pub(crate) async fn choose_file(&self, css: &str, path: &std::path::Path) -> Result<()> {
        let el = self.find(css).await?;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/value", el.0),
            Some(json!({ "text": path.display().to_string() })),
        )
        .await
        .map(drop)
    }

    /// The visible text of the first element matching `css`.
    pub(crate) async fn text(&self, css: &str) -> Result<String> {
        let el = self.find(css).await?;
        let v = self
            .cmd(reqwest::Method::GET, &format!("/element/{}/text", el.0), None)
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Runs a script in the page and returns its result.
    pub(crate) async fn script(&self, script: &str, args: Value) -> Result<Value> {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Chooses the option with the visible `text` in the select matching `css`.
    pub(crate) async fn choose(&self, css: &str, text: &str) -> Result<()> {
        let chosen = self
            .script(
                "const s = document.querySelector(arguments[0]);
                 for (const o of s.options) { if (o.text === arguments[1]) { s.value = o.value;
                   s.dispatchEvent(new Event('change', {bubbles: true})); return true; } }
                 return false;",
                json!([css, text]),
            )
            .await?;
        if chosen == Value::Bool(true) {
            Ok(())
        } else {
            Err(format!("{css} has no option {text:?}"))
        }
    }

    /// A PNG of the viewport.
    pub(crate) async fn screenshot(&self) -> Result<Vec<u8>> {
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await?;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .map_err(|e| e.to_string())
    }

    /// Waits until `check` gives `Some`, for at most `timeout`; the error says what was awaited and the last
    /// state seen.
    pub(crate) async fn wait_for<T, F, Fut>(&self, what: &str, timeout: Duration, mut check: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = (Option<T>, String)>,
    {
        let start = Instant::now();
        loop {
            let (found, seen) = check().await;
            if let Some(v) = found {
                return Ok(v);
            }
            if start.elapsed() > timeout {
                return Err(format!("waited {timeout:?} for {what}; last seen: {seen}"));
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Ends the session (the browser closes).
    pub(crate) async fn quit(&self) {
        let _ = self.cmd(reqwest::Method::DELETE, "", None).await;
    }
}

async fn call(http: &reqwest::Client, method: reqwest::Method, url: &str, body: Option<Value>) -> Result<Value> {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let v: Value = response.json().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(v["value"].clone())
    } else {
        Err(format!("WebDriver {status}: {}", v["value"]))
    }
}
