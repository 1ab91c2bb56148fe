//! The real `mailer-server demo` on a free port: the first email of the seeded mailing lands in the `.eml`
//! outbox; its open pixel, fetched as a browser would, sets the "Call the client" task in the fake Kommo
//! once however often it is fetched; its one-time trigger link moves the lead once; a tampered link gets a
//! 404 and changes nothing. The CRM changes are counted from the demo's "crm change" lines, which the
//! server writes after the fake Kommo accepted each write over HTTP.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0";

struct Demo {
    child: Child,
    log: PathBuf,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    fn start(dir: &Path, port: u16) -> Self {
        let log = dir.join("demo.log");
        let out = std::fs::File::create(&log).expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_mailer-server"))
            .args(["demo", "--port", &port.to_string(), "--rate-per-second", "0", "--dir"])
            .arg(dir.join("demo"))
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info,sqlx=warn")
            .stdout(Stdio::from(out.try_clone().expect("clone")))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("start mailer-server demo");
        Self { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_for(&self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) {
        let start = Instant::now();
        loop {
            let log = self.log();
            if done(&log) {
                return;
            }
            assert!(start.elapsed() < timeout, "timed out waiting for {what}; log:\n{log}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The "crm change" lines whose action contains `action` (e.g. `SetTask`).
    fn crm_changes(&self, action: &str) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("crm change") && !l.contains("failed") && l.contains(action))
            .count()
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// The first `.eml` in the outbox (not the Sent copies in its subfolder), as written.
fn sent_raw(outbox: &Path) -> String {
    let path = std::fs::read_dir(outbox)
        .expect("outbox")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "eml"))
        .expect("an .eml in the outbox");
    String::from_utf8_lossy(&std::fs::read(path).expect("read .eml")).into_owned()
}

/// The message with each part's body decoded (quoted-printable or base64), so URLs can be found in it.
fn decode_parts(raw: &str) -> String {
    use base64::Engine as _;
    let mut out = String::new();
    for part in raw.split("\r\n--") {
        let (head, body) = part.split_once("\r\n\r\n").unwrap_or((part, ""));
        let head_lower = head.to_ascii_lowercase();
        if head_lower.contains("content-transfer-encoding: quoted-printable") {
            let bytes = quoted_printable::decode(body, quoted_printable::ParseMode::Robust).expect("qp");
            out.push_str(&String::from_utf8_lossy(&bytes));
        } else if head_lower.contains("content-transfer-encoding: base64") {
            let compact: String = body.split("\r\n--").next().unwrap_or("").split_whitespace().collect();
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(compact) {
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        } else {
            out.push_str(body);
        }
        out.push('\n');
    }
    out
}

/// The first URL in `text` that starts with `prefix`, up to the closing quote.
fn url_after(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in the email:\n{text}"));
    text[start..]
        .split(|c: char| matches!(c, '"' | '\'' | '>' | ')' | ']') || c.is_whitespace())
        .next()
        .expect("url")
        .to_owned()
}

/// `GET url` (plain HTTP on loopback) as a browser; answers the status and the body.
fn get(url: &str) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').expect("path"));
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {BROWSER}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read");
    let status = String::from_utf8_lossy(&answer[..answer.len().min(12)])
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| answer[i + 4..].to_vec())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn the_demo_loop_pixel_sets_the_task_once_and_the_trigger_link_moves_the_lead_once() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let demo = Demo::start(dir.path(), port);
    demo.wait_for("the first email", Duration::from_secs(60), |log| {
        log.contains("email sent mailbox=")
    });
    let sent_at = Instant::now();
    let raw = sent_raw(&dir.path().join("demo").join("outbox"));
    assert!(
        raw.lines().any(|l| l == "Subject: Offer for Acme"),
        "the subject is the lead's name, said once: {raw}"
    );
    let email = decode_parts(&raw);
    let base = format!("http://127.0.0.1:{port}");
    let pixel = url_after(&email, &format!("{base}/t/o/"));
    let link = url_after(&email, &format!("{base}/t/l/"));
    // Sending moved the lead to "Offer sent" (the template's on-sent trigger).
    demo.wait_for("the on-sent stage change", Duration::from_secs(10), |log| {
        log.lines()
            .any(|l| l.contains("crm change") && l.contains("ChangeStage"))
    });
    let stage_changes = demo.crm_changes("ChangeStage");
    assert_eq!(demo.crm_changes("SetTask"), 0, "{}", demo.log());
    // A tampered token: the link answers 404 and the pixel its GIF, and neither changes anything.
    let tamper = |url: &str| {
        let mut bytes = url.to_owned().into_bytes();
        let i = bytes.len() - 10;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).expect("ascii")
    };
    // Hits within 5 s of sending count as automated (a scanner) and fire nothing: wait past that.
    std::thread::sleep(Duration::from_secs(6).saturating_sub(sent_at.elapsed()));
    let (status, _) = get(&tamper(&link));
    assert_eq!(status, 404);
    let (status, gif) = get(&tamper(&pixel));
    assert_eq!(status, 200);
    assert!(gif.starts_with(b"GIF89a"));

    for _ in 0..3 {
        let (status, gif) = get(&pixel);
        assert_eq!(status, 200);
        assert!(gif.starts_with(b"GIF89a"));
    }
    demo.wait_for("the task", Duration::from_secs(10), |log| {
        log.lines().any(|l| l.contains("crm change") && l.contains("SetTask"))
    });
    for _ in 0..3 {
        let (status, _) = get(&link);
        assert_eq!(status, 302, "the trigger link redirects to the offer");
    }
    demo.wait_for("the click's stage change", Duration::from_secs(10), |_| {
        demo.crm_changes("ChangeStage") > stage_changes
    });
    // Let anything a repeated hit might have started reach the CRM before counting.
    std::thread::sleep(Duration::from_millis(1500));
    let log = demo.log();
    assert_eq!(
        demo.crm_changes("SetTask"),
        1,
        "the open set the task more than once:\n{log}"
    );
    assert_eq!(
        demo.crm_changes("ChangeStage"),
        stage_changes + 1,
        "the one-time link moved the lead more than once:\n{log}"
    );
    assert!(!log.contains("crm change failed"), "{log}");
}
