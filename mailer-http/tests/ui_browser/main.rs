//! The operator UI end to end in a real browser: headless Debian Chromium driven through chromedriver
//! (W3C WebDriver) against the real `mailer-server demo` (fake Kommo, seeded data, `.eml` outbox).
//!
//! One scenario, in the order an operator works: sign in; add a mailbox with its limits and see its mark;
//! write a template with a CRM variable and see the live preview change (and a syntax error point at its
//! line and column), attach a file and save; a save refused for a loop shows the cycle; add a trigger that
//! changes a field; start a mailing to 3 leads with that template and watch the bar reach 100 %, each sent
//! email carrying the file; open an email's timeline; sign out.
//!
//! Needs `chromium` and `chromium-driver` (Debian packages; CI installs them). Without them the test is
//! skipped loudly, or fails under `MAILER_TEST_REQUIRE_ALL=1`. With `MAILER_UI_SCREENSHOTS=<dir>` it
//! writes the README's screenshots there (`docs/screenshots`).

mod webdriver;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::json;
use webdriver::Browser;

const WAIT: Duration = Duration::from_secs(20);

/// The content of the file attached in the template editor.
const UPLOADED: &[u8] = b"Price list: apples 3, pears 4 (attached through the UI)\n";

/// How many `.eml` files in `outbox` attach a file called `name` holding [`UPLOADED`] (in any transfer
/// encoding lettre picks: plain, quoted-printable or base64).
fn sent_with_attachment(outbox: &Path, name: &str) -> webdriver::Result<usize> {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(UPLOADED);
    let plain = String::from_utf8_lossy(UPLOADED);
    let mut count = 0;
    for entry in std::fs::read_dir(outbox).map_err(|e| format!("{}: {e}", outbox.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let raw = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let unfolded = raw.replace("\r\n", "").replace('\n', "");
        let named = raw.contains(&format!("filename=\"{name}\"")) || raw.contains(&format!("filename={name}"));
        let content = unfolded.contains(&encoded) || raw.contains(plain.trim_end());
        if named && content {
            count += 1;
        }
    }
    Ok(count)
}

/// A child process ended when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn which(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// What the demo printed: its base URL, the UI token, the seeded lead and the two more leads.
struct Demo {
    _process: Process,
    base: String,
    /// Where the demo's transport writes each sent message as an `.eml` file.
    outbox: PathBuf,
    token: String,
    leads: Vec<i64>,
}

fn start_demo(dir: &Path) -> Demo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailer-server"))
        .args(["demo", "--port", "0", "--rate-per-second", "0", "--dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mailer-server demo");
    let stdout = child.stdout.take().expect("demo stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let process = Process(child);
    let (mut base, mut token, mut leads) = (None, None, Vec::new());
    while base.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the demo prints its operator UI line");
        if let Some(rest) = line.split("the lead is ").nth(1) {
            leads.push(rest.trim_end_matches(')').parse::<i64>().expect("lead id"));
        }
        if let Some(rest) = line.trim().strip_prefix("more leads") {
            let ids = rest.trim().split(" (").next().unwrap_or_default();
            leads.extend(ids.split(", ").map(|id| id.parse::<i64>().expect("lead id")));
        }
        if let Some(rest) = line.trim().strip_prefix("operator UI") {
            let rest = rest.trim();
            let (url, tail) = rest.split_once(' ').expect("url and token");
            base = Some(url.trim_end_matches("/ui").to_owned());
            token = Some(
                tail.trim_start_matches("(sign in with ")
                    .trim_end_matches(')')
                    .to_owned(),
            );
        }
    }
    // Keep draining so the demo never blocks on a full pipe.
    std::thread::spawn(move || while rx.recv().is_ok() {});
    Demo {
        _process: process,
        base: base.unwrap_or_default(),
        outbox: dir.join("outbox"),
        token: token.unwrap_or_default(),
        leads,
    }
}

async fn start_driver(chromedriver: &Path) -> (Process, String) {
    let port = free_port();
    let driver = Process(
        Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = http.get(format!("{url}/status")).send().await
            && r.status().is_success()
        {
            return (driver, url);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on {url}");
}

fn save_screenshot(png: &[u8], name: &str) {
    if let Some(dir) = std::env::var_os("MAILER_UI_SCREENSHOTS") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(name), png).expect("write screenshot");
    }
}

/// Waits until the text of `css` contains `part` (a page loading after a click), and returns it.
async fn wait_text(b: &Browser, css: &str, part: &str) -> webdriver::Result<String> {
    let check = || async {
        let t = text_or_empty(b, css).await;
        (t.contains(part).then(|| t.clone()), t)
    };
    b.wait_for(&format!("{css} to contain {part:?}"), WAIT, check).await
}

/// Text of `css`, or `""` when it is not there (yet).
async fn text_or_empty(b: &Browser, css: &str) -> String {
    b.text(css).await.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_works_through_the_ui_in_chromium() {
    let (Some(chromium), Some(chromedriver)) = (which(&["chromium", "chromium-browser"]), which(&["chromedriver"]))
    else {
        mailer_core::testkit::skip(
            "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)",
        );
        return;
    };
    // reqwest is built without a default TLS provider (the crate picks ring); plain HTTP still needs one set.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("a temp dir");
    let demo = start_demo(&dir.path().join("demo"));
    assert_eq!(demo.leads.len(), 3, "the demo has three leads: {:?}", demo.leads);
    let (_driver, driver_url) = start_driver(&chromedriver).await;
    let b = Browser::start(
        &driver_url,
        chromium.to_str().expect("a UTF-8 path"),
        &dir.path().join("profile"),
    )
    .await
    .expect("a browser session");
    let result = scenario(&b, &demo).await;
    b.quit().await;
    if let Err(e) = result {
        panic!("{e}");
    }
}

async fn scenario(b: &Browser, demo: &Demo) -> webdriver::Result<()> {
    let ui = |path: &str| format!("{}{path}", demo.base);

    // Signed out, the UI sends to the sign-in form; a wrong token is refused, the demo's is taken.
    b.goto(&ui("/ui")).await?;
    assert!(
        b.url().await?.ends_with("/ui/login"),
        "not sent to sign in: {}",
        b.url().await?
    );
    b.type_into("#token", "mk_1_1_wrong").await?;
    b.click(&b.find("button[type=submit]").await?).await?;
    wait_text(b, ".error", "not known").await?;
    b.type_into("#token", &demo.token).await?;
    b.click(&b.find("button[type=submit]").await?).await?;
    wait_text(b, "main h1", "Dashboard").await?;
    let cookie_visible = b.script("return document.cookie", json!([])).await?;
    assert_eq!(cookie_visible, json!(""), "the token cookie must be HttpOnly");

    // Add a mailbox: the demo's transport has no IMAP, so the check is gray with its reason in words.
    b.goto(&ui("/ui/mailboxes")).await?;
    b.type_into("#f-from_name", "Sales desk").await?;
    b.type_into("#f-from_email", "sales@example.com").await?;
    b.type_into("#f-smtp_host", "127.0.0.1").await?;
    b.type_into("#f-smtp_port", "2525").await?;
    b.choose("#f-smtp_security", "None (local servers only)").await?;
    b.type_into("#f-login", "sales@example.com").await?;
    b.type_into("#f-password", "secret").await?;
    b.choose("#f-cap_window", "the calendar day").await?;
    b.type_into("#f-per_minute_cap", "30").await?;
    b.type_into("#f-timezone", "Europe/Berlin").await?;
    if std::env::var_os("MAILER_UI_SCREENSHOTS").is_some() {
        b.script(
            "document.getElementById('f-cap_window').scrollIntoView({block: 'center'})",
            json!([]),
        )
        .await?;
        save_screenshot(&b.screenshot().await?, "mailbox-limits.png");
    }
    b.click(
        &b.find("#mbf-h + form button[type=submit], form.grid button[type=submit]")
            .await?,
    )
    .await?;
    let read_card = || async {
        let card = b
            .script(
                "const li = [...document.querySelectorAll('li.record')].find(l => l.textContent.includes('sales@example.com'));
                 return li ? [li.querySelector('.mark').textContent, li.querySelector('.advice').textContent,
                              (li.querySelector('.reason') || {textContent: ''}).textContent] : null;",
                json!([]),
            )
            .await
            .unwrap_or_default();
        ((!card.is_null()).then(|| card.clone()), card.to_string())
    };
    let card = b.wait_for("the new mailbox in the list", WAIT, read_card).await?;
    assert_eq!(card[0], json!("✓ gray"), "the new mailbox's mark: {card}");
    assert!(
        card[1].as_str().unwrap_or_default().contains("Only SMTP works"),
        "advice: {card}"
    );
    assert!(card[2].as_str().unwrap_or_default().contains("IMAP"), "reason: {card}");
    save_screenshot(&b.screenshot().await?, "mailboxes.png");
    let edit = b
        .script(
            "const li = [...document.querySelectorAll('li.record')].find(l => l.textContent.includes('sales@example.com'));
             return li.querySelector('a[href*=edit]').href;",
            json!([]),
        )
        .await?;
    b.goto(edit.as_str().unwrap_or_default()).await?;
    let limits = b
        .script(
            "return ['f-cap_window', 'f-per_minute_cap', 'f-timezone'].map(id => document.getElementById(id).value)",
            json!([]),
        )
        .await?;
    assert_eq!(
        limits,
        json!(["calendar_day", "30", "Europe/Berlin"]),
        "the mailbox's limits as saved"
    );

    // A template with a CRM variable: the live preview shows the lead's name, and changes as one types.
    b.goto(&ui("/ui/templates/new")).await?;
    b.type_into("#f-name", "Welcome").await?;
    b.type_into("#f-subject", "Hello {{ lead.name }}").await?;
    b.type_into("#f-body", "<p>Dear client, about {{ lead.name }}: see you soon.</p>")
        .await?;
    b.type_into("#f-preview_id", &demo.leads[0].to_string()).await?;
    let subject = || async {
        let s = text_or_empty(b, "#pv-subject").await;
        (s.contains("Hello Offer for Acme").then_some(()), s)
    };
    b.wait_for("the preview subject with the lead's name", WAIT, subject)
        .await?;
    b.type_into("#f-subject", "Hi {{ lead.name }}, your budget").await?;
    let changed = || async {
        let s = text_or_empty(b, "#pv-subject").await;
        (s.contains("Hi Offer for Acme, your budget").then_some(()), s)
    };
    b.wait_for("the preview to follow the new subject", WAIT, changed)
        .await?;
    let html = b
        .script("return document.getElementById('pv-html').srcdoc", json!([]))
        .await?;
    assert!(
        html.as_str().unwrap_or_default().contains("about Offer for Acme"),
        "preview body: {html}"
    );
    // A syntax error points at its line and column, live.
    b.type_into("#f-body", "<p>one</p>\n<p>{{ lead.name | upcase2 }}</p>")
        .await?;
    let error = || async {
        let e = b.script("return document.querySelector('.pv-error').hidden ? '' : document.querySelector('.pv-error').textContent", json!([])).await.unwrap_or_default();
        let e = e.as_str().unwrap_or_default().to_owned();
        ((e.contains("line 2") && e.contains("column")).then(|| e.clone()), e)
    };
    let shown = b.wait_for("the syntax error with line and column", WAIT, error).await?;
    assert!(shown.contains("upcase2"), "the error names the filter: {shown}");
    b.type_into("#f-body", "<p>Dear client, about {{ lead.name }}: see you soon.</p>")
        .await?;
    b.wait_for("the preview back after the fix", WAIT, changed).await?;
    if std::env::var_os("MAILER_UI_SCREENSHOTS").is_some() {
        tokio::time::sleep(Duration::from_millis(400)).await; // let the frame paint
        save_screenshot(&b.screenshot().await?, "template-editor.png");
    }
    // A file attached in the editor: stored on save and listed with its size and a remove box.
    let price_list = demo.outbox.with_file_name("price-list.txt");
    std::fs::write(&price_list, UPLOADED).map_err(|e| e.to_string())?;
    b.choose_file("#f-new_files", &price_list).await?;
    b.click(&b.find("#template-editor .actions button[type=submit]").await?)
        .await?;
    wait_text(b, ".done", "Saved").await?;
    let listed = b.text("#files tbody").await?;
    assert!(
        listed.contains("price-list.txt")
            && listed.contains("attachment")
            && listed.contains(&format!("{} B", UPLOADED.len())),
        "the attached file in the editor: {listed}"
    );
    if std::env::var_os("MAILER_UI_SCREENSHOTS").is_some() {
        let preview = || async {
            let state = b
                .script(
                    "return document.getElementById('template-editor').dataset.previewState || ''",
                    json!([]),
                )
                .await
                .unwrap_or_default();
            ((state == json!("shown")).then_some(()), state.to_string())
        };
        let _ = b.wait_for("the preview after the save", WAIT, preview).await;
        b.script(
            "document.getElementById('files').scrollIntoView({block: 'center'})",
            json!([]),
        )
        .await?;
        save_screenshot(&b.screenshot().await?, "template-files.png");
    }

    // A loop: "Offer reminder", not opened, runs "Resend email", which sends "Offer reminder" again.
    b.goto(&ui("/ui/templates")).await?;
    let reminder = b
        .script(
            "return [...document.querySelectorAll('td a')].find(a => a.textContent === 'Offer reminder').href",
            json!([]),
        )
        .await?;
    b.goto(reminder.as_str().unwrap_or_default()).await?;
    b.script(
        "const box = [...document.querySelectorAll('input[name=not_opened]')]
             .find(i => i.parentElement.textContent.trim() === 'Resend email'); box.checked = true;",
        json!([]),
    )
    .await?;
    b.click(&b.find("#template-editor .actions button[type=submit]").await?)
        .await?;
    let refusal = wait_text(b, ".error", "loop").await?;
    assert!(
        refusal.contains("Offer reminder --not opened 24h--> Resend email --send email--> Offer reminder"),
        "the loop's cycle in words: {refusal}"
    );
    save_screenshot(&b.screenshot().await?, "loop-refused.png");

    // The other settings screens render from the demo's data, masks ready to copy.
    for (path, title, expect) in [
        ("/ui/triggers", "Triggers", "Resend email"),
        ("/ui/links", "Trigger links", "{triggerlink:"),
        ("/ui/pages", "Web pages", "{web:"),
        ("/ui/rules", "Pipeline rules", "When a lead is created in or moved to"),
        ("/ui/queue", "Queue", "waiting"),
    ] {
        b.goto(&ui(path)).await?;
        assert_eq!(b.text("main h1").await?, title);
        let main = b.text("main").await?;
        assert!(
            main.contains(expect) || path == "/ui/queue",
            "{path} lacks {expect:?}: {main}"
        );
        save_screenshot(&b.screenshot().await?, &format!("{}.png", &path[4..]));
    }
    // A trigger that changes a field: the form shows that action's fields only, and the list says it.
    b.goto(&ui("/ui/triggers")).await?;
    b.type_into("#f-name", "Mark offer date").await?;
    b.choose("#f-kind", "Change a field").await?;
    let shown = b
        .script(
            "return [...document.querySelectorAll('fieldset[data-kind]')].filter(f => !f.hidden).map(f => f.dataset.kind)",
            json!([]),
        )
        .await?;
    assert_eq!(shown, json!(["field"]), "only the chosen action's fields");
    b.choose("#f-field_entity", "The contact").await?;
    b.type_into("#f-field_id", "657261").await?;
    b.type_into("#f-field_value", "{date}").await?;
    if std::env::var_os("MAILER_UI_SCREENSHOTS").is_some() {
        b.script("document.getElementById('tf-h').scrollIntoView()", json!([]))
            .await?;
        save_screenshot(&b.screenshot().await?, "trigger-form.png");
    }
    b.click(&b.find("form[action='/ui/triggers'] button[type=submit]").await?)
        .await?;
    let listed = wait_text(b, "table.list tbody", "Mark offer date").await?;
    assert!(
        listed.contains("set field 657261 of the Contact to {date}"),
        "the new trigger: {listed}"
    );

    b.goto(&ui("/ui/links")).await?;
    b.click(&b.find("button[data-copy]").await?).await?;
    let copied = || async {
        let t = text_or_empty(b, "button[data-copy]").await;
        ((t == "Copied").then_some(()), t)
    };
    b.wait_for("the copy button to confirm", WAIT, copied).await?;

    // A mailing to 3 leads: the bar reaches 100 % live, with every email sent.
    b.goto(&ui("/ui/mailings")).await?;
    b.type_into("#f-name", "Welcome to three").await?;
    b.choose("#f-template", "Welcome").await?;
    b.choose("#f-mailbox", "maria@example.com").await?;
    let ids = demo
        .leads
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    b.type_into("#f-ids", &ids).await?;
    b.click(&b.find("form[action='/ui/mailings'] button[type=submit]").await?)
        .await?;
    let on_mailing = || async {
        let url = b.url().await.unwrap_or_default();
        (url.contains("/ui/mailings/").then_some(()), url)
    };
    b.wait_for("the mailing's page", WAIT, on_mailing).await?;
    // Caught half-way when the pace allows, for the README (the demo mailbox sends every 0.5 s).
    let midway = || async {
        let pct = text_or_empty(b, "#pct").await;
        ((pct != "0 %" && pct != "100 %").then_some(()), pct)
    };
    let _ = b.wait_for("the bar half-way", Duration::from_secs(5), midway).await;
    save_screenshot(&b.screenshot().await?, "mailing-running.png");
    let full = || async {
        let pct = text_or_empty(b, "#pct").await;
        let state = text_or_empty(b, "#state").await;
        (
            (pct == "100 %" && state == "finished").then_some(()),
            format!("{pct} {state}"),
        )
    };
    b.wait_for("the bar at 100 %", Duration::from_secs(60), full).await?;
    assert_eq!(b.text("#sent").await?, "3", "all three sent");
    let bar = b
        .script(
            "const p = document.getElementById('bar'); return [p.value, p.max]",
            json!([]),
        )
        .await?;
    let (value, max) = (bar[0].as_f64(), bar[1].as_f64());
    assert!(
        value == Some(3.0) && max == Some(3.0),
        "the progress element is full: {bar}"
    );
    save_screenshot(&b.screenshot().await?, "mailing-finished.png");
    // Each email of the mailing carries the file attached in the editor.
    let carrying = sent_with_attachment(&demo.outbox, "price-list.txt")?;
    assert_eq!(carrying, 3, "emails in the outbox carrying the uploaded file");

    // The history of the mailing, and one email's timeline: queued, then sent.
    let mailing = b.url().await?.rsplit('/').next().unwrap_or_default().to_owned();
    b.goto(&ui(&format!("/ui/history?mailing={mailing}"))).await?;
    let rows = b.find_all("#history tbody tr").await?;
    assert_eq!(rows.len(), 3, "three emails in the mailing's history");
    b.click(&b.find("#history tbody tr td a").await?).await?;
    let timeline = wait_text(b, "ol.timeline", "sent").await?;
    assert!(
        timeline.contains("queued") && timeline.contains("sent"),
        "the timeline: {timeline}"
    );
    assert_eq!(b.text("dl.facts .status").await?, "sent");
    save_screenshot(&b.screenshot().await?, "timeline.png");

    // The dashboard counts the sends; on a phone it folds to one column.
    b.goto(&ui("/ui")).await?;
    // The demo's own mailing sent 1 email from Maria's mailbox, ours 3 more; the new mailbox sent none.
    let sent = b
        .script(
            "return Object.fromEntries([...document.querySelectorAll('article.card')]
                 .map(c => [c.querySelector('h3').textContent.split(' ')[0], c.querySelector('.sent').textContent]))",
            json!([]),
        )
        .await?;
    assert_eq!(
        sent,
        json!({"maria@example.com": "4", "sales@example.com": "0"}),
        "sends in the cap window per mailbox"
    );
    save_screenshot(&b.screenshot().await?, "dashboard.png");
    b.resize(390, 844).await?;
    let overflow = b
        .script(
            "return document.documentElement.scrollWidth <= window.innerWidth",
            json!([]),
        )
        .await?;
    assert_eq!(overflow, json!(true), "the dashboard scrolls sideways on a phone");
    save_screenshot(&b.screenshot().await?, "dashboard-phone.png");
    b.resize(1280, 1000).await?;

    // Sign out: the cookie is gone and the UI asks to sign in again.
    b.click(&b.find(".signout button").await?).await?;
    // The form's POST and its redirect finish after the click returns (slowly on a loaded machine).
    let on_login = || async {
        let url = b.url().await.unwrap_or_default();
        (url.ends_with("/ui/login").then_some(()), url)
    };
    b.wait_for("the sign-in page after signing out", WAIT, on_login).await?;
    b.goto(&ui("/ui/templates")).await?;
    assert!(
        b.url().await?.ends_with("/ui/login"),
        "still signed in after signing out"
    );
    Ok(())
}
