//! The fetcher takes no proxy from the environment (issue 12): a proxy would resolve the link's host itself
//! and bypass the address pinning. The parent test runs this same binary again with the proxy variables set
//! (the environment cannot be changed safely in a running test process) and watches its "proxy".

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::get;
use mailer_core::ports::Fetcher;
use mailer_http::HttpFetcher;

const CHILD: &str = "MAILER_FETCHER_PROXY_CHILD";

#[test]
fn proxy_variables_are_ignored() {
    // A "proxy" that counts the connections it gets and answers none of them.
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let proxy_url = format!("http://{}", proxy.local_addr().expect("proxy addr"));
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    std::thread::spawn(move || {
        for stream in proxy.incoming() {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    let mut child = Command::new(std::env::current_exe().expect("this test binary"));
    child
        .args(["--exact", "fetch_with_proxy_variables_set", "--ignored", "--nocapture"])
        .env(CHILD, "1")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        child.env(name, &proxy_url);
    }
    let out = child.output().expect("run the child");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the fetch failed with a proxy in the environment:\n{log}"
    );
    assert!(log.contains("1 passed"), "the child ran no test:\n{log}");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        0,
        "the proxy from the environment was used"
    );
}

/// Run by [`proxy_variables_are_ignored`] in a child process whose environment names a proxy.
#[tokio::test]
#[ignore = "run by proxy_variables_are_ignored in a child process"]
async fn fetch_with_proxy_variables_set() {
    assert_eq!(std::env::var(CHILD).as_deref(), Ok("1"), "run by the parent test only");
    let app = Router::new().route("/offer.pdf", get(|| async { b"%PDF-1.7 offer".to_vec() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    let fetcher = HttpFetcher::new().expect("fetcher").allow_only_for_tests(addr);
    let file = fetcher
        .fetch(&format!("http://{addr}/offer.pdf"), 1 << 20)
        .await
        .expect("fetched directly, not through the proxy");
    assert_eq!(file.bytes, b"%PDF-1.7 offer".to_vec());
}
