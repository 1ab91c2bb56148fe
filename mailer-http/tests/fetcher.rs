//! The link-attachment fetcher against a real HTTP server on loopback (allowed for the test only), and
//! the private-address refusals.

use std::net::IpAddr;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use mailer_core::ports::{FetchError, Fetcher};
use mailer_http::{HttpFetcher, is_public};

async fn server() -> String {
    let app = Router::new()
        .route(
            "/offer.pdf",
            get(|| async { ([(header::CONTENT_TYPE, "application/pdf")], b"%PDF-1.7 offer".to_vec()) }),
        )
        .route(
            "/doc",
            get(|| async {
                (
                    [(header::CONTENT_DISPOSITION, "attachment; filename=\"Offer 42.pdf\"")],
                    vec![7u8; 10],
                )
            }),
        )
        .route("/big", get(|| async { vec![0u8; 200_000].into_response() }))
        .route("/moved", get(|| async { Redirect::temporary("/offer.pdf") }))
        .route("/missing", get(|| async { (axum::http::StatusCode::NOT_FOUND, "no") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}")
}

#[tokio::test]
async fn downloads_names_and_limits() {
    let base = server().await;
    let fetcher = HttpFetcher::new().expect("fetcher").allow_private_for_tests();
    let file = fetcher.fetch(&format!("{base}/offer.pdf"), 1_000).await.expect("fetch");
    assert_eq!(
        (file.name.as_str(), file.content_type.as_str(), file.bytes.as_slice()),
        ("offer.pdf", "application/pdf", b"%PDF-1.7 offer".as_slice())
    );
    let named = fetcher.fetch(&format!("{base}/doc"), 1_000).await.expect("named");
    assert_eq!(named.name, "Offer 42.pdf");
    let moved = fetcher.fetch(&format!("{base}/moved"), 1_000).await.expect("redirect");
    assert_eq!(moved.bytes, b"%PDF-1.7 offer");
    let big = fetcher
        .fetch(&format!("{base}/big"), 100_000)
        .await
        .expect_err("over the limit");
    assert!(matches!(big, FetchError::TooLarge { limit: 100_000, .. }), "{big:?}");
    let missing = fetcher.fetch(&format!("{base}/missing"), 1_000).await.expect_err("404");
    assert!(matches!(missing, FetchError::Status { status: 404, .. }), "{missing:?}");
}

#[tokio::test]
async fn refuses_private_networks_and_other_schemes() {
    let base = server().await;
    let fetcher = HttpFetcher::new().expect("fetcher");
    for url in [
        format!("{base}/offer.pdf"),
        "http://localhost/x".into(),
        "http://[::1]/x".into(),
        "http://10.0.0.1/x".into(),
        "http://169.254.169.254/latest/meta-data".into(),
    ] {
        let err = fetcher.fetch(&url, 1_000).await.expect_err(&url);
        assert!(matches!(err, FetchError::PrivateAddress(_)), "{url}: {err:?}");
    }
    for url in ["file:///etc/passwd", "ftp://example.com/x", "not a url"] {
        let err = fetcher.fetch(url, 1_000).await.expect_err(url);
        assert!(matches!(err, FetchError::InvalidUrl(_)), "{url}: {err:?}");
    }
}

#[test]
fn classifies_addresses() {
    let public = ["93.184.216.34", "8.8.8.8", "2606:4700::1111"];
    let private = [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "2001:db8::1",
        "198.18.0.1",
    ];
    for ip in public {
        assert!(is_public(ip.parse::<IpAddr>().expect("ip")), "{ip} refused");
    }
    for ip in private {
        assert!(!is_public(ip.parse::<IpAddr>().expect("ip")), "{ip} allowed");
    }
}

/// IPv6 forms that embed or reach an IPv4 address are classed by that address; the rest of the
/// special-purpose ranges are refused.
#[test]
fn classifies_ipv6_forms_by_the_ipv4_they_reach() {
    let cases: &[(&str, &str, bool)] = &[
        // (form, address, public)
        ("ipv4-mapped", "::ffff:8.8.8.8", true),
        ("ipv4-mapped", "::ffff:10.0.0.1", false),
        ("ipv4-mapped", "::ffff:169.254.169.254", false),
        ("ipv4-translated", "::ffff:0:8.8.8.8", true),
        ("ipv4-translated", "::ffff:0:127.0.0.1", false),
        ("ipv4-compatible", "::8.8.8.8", true),
        ("ipv4-compatible", "::127.0.0.1", false),
        ("ipv4-compatible", "::192.168.0.1", false),
        ("ipv4-compatible", "::169.254.169.254", false),
        ("nat64", "64:ff9b::8.8.8.8", true),
        ("nat64", "64:ff9b::7f00:1", false),
        ("nat64", "64:ff9b::a9fe:a9fe", false),
        ("nat64", "64:ff9b::192.168.1.1", false),
        ("nat64 local-use", "64:ff9b:1::8.8.8.8", false),
        ("6to4", "2002:0808:0808::1", true),
        ("6to4", "2002:7f00:0001::1", false),
        ("6to4", "2002:0a00:0001::1", false),
        ("6to4", "2002:a9fe:a9fe::", false),
        ("teredo", "2001:0:4136:e378:8000:63bf:3fff:fdd2", false),
        ("teredo", "2001::1", false),
        ("site-local", "fec0::1", false),
        ("site-local", "feff::1", false),
        ("discard-only", "100::1", false),
        ("orchid", "2001:10::1", false),
        ("orchidv2", "2001:20::1", false),
        ("benchmarking", "2001:2::1", false),
        ("documentation", "2001:db8::1", false),
        ("not global unicast", "4000::1", false),
        ("global unicast", "2606:4700::1111", true),
        ("global unicast", "2a00:1450:4001:81c::200e", true),
    ];
    for (form, ip, public) in cases {
        let parsed = ip.parse::<IpAddr>().expect("ip");
        assert_eq!(is_public(parsed), *public, "{form} {ip}");
    }
}

#[tokio::test]
async fn refuses_ipv6_literals_that_reach_private_ipv4() {
    let fetcher = HttpFetcher::new().expect("fetcher");
    for url in [
        "http://[::ffff:127.0.0.1]/x",
        "http://[::127.0.0.1]/x",
        "http://[64:ff9b::7f00:1]/x",
        "http://[2002:7f00:1::1]/x",
        "http://[fec0::1]/x",
    ] {
        let err = fetcher.fetch(url, 1_000).await.expect_err(url);
        assert!(matches!(err, FetchError::PrivateAddress(_)), "{url}: {err:?}");
    }
}
