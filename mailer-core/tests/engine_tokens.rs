//! Issue 12 item 4 (tokens) and issue 14 (token format): the engine finds the key from the token alone,
//! checks the tag and the kind before it looks anything up, and a route accepts only its own kind.

use mailer_core::engine::{EngineConfig, EngineError};
use mailer_core::model::{AccountId, EntityRef, NewAccount, Secret, SendingLimits, Timezone};
use mailer_core::ports::{Store, StoreError};
use mailer_core::template::{LinkBuilder, TokenError, TokenKind, TokenKindTag, TrackingToken};
use mailer_core::testkit::{HARNESS_KEY, Harness};

fn token(kind: TokenKind, account: AccountId) -> TrackingToken {
    TrackingToken {
        kind,
        account,
        email: None,
        recipient: "secret.person@example.com".into(),
        entity: EntityRef::lead(1),
        preview: false,
        issued_at: chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap_or_default(),
    }
}

async fn harness() -> Harness {
    let mut config = EngineConfig::default();
    config
        .signing_keys
        .insert("k2".into(), Secret::new("a-second-signing-key-0123456789"));
    Harness::with(config, SendingLimits::default()).await
}

#[tokio::test]
async fn a_route_accepts_only_its_own_kind() {
    let h = harness().await;
    let links = h.engine.links(&h.account).expect("links");
    let open = links.sign(&token(TokenKind::Open, h.account.id));
    let url = links.url(&token(TokenKind::Open, h.account.id));
    assert!(!url.contains("secret") && !url.contains("person"), "{url}");
    let ok = h.engine.verify_kind(&open, &[TokenKindTag::Open]).await.expect("open");
    assert_eq!(ok.recipient, "secret.person@example.com");
    for kinds in [
        &[TokenKindTag::Form][..],
        &[TokenKindTag::Unsubscribe],
        &[TokenKindTag::Click, TokenKindTag::Page],
    ] {
        let err = h.engine.verify_kind(&open, kinds).await.expect_err("wrong kind");
        assert!(
            matches!(err, EngineError::Token(TokenError::WrongKind(TokenKindTag::Open))),
            "{err:?}"
        );
    }
    // verify_token keeps accepting every kind.
    assert!(h.engine.verify_token(&open).await.is_ok());
}

#[tokio::test]
async fn the_signature_is_checked_before_the_store_is_asked() {
    let h = harness().await;
    // A token naming an account that does not exist, signed with a key the engine does not have: refused
    // for its signature, not looked up (a lookup first would answer NotFound).
    let stranger = LinkBuilder::new("https://x", AccountId(987_654), b"an-unknown-key-0123456789abcdef").expect("key");
    let forged = stranger.sign(&token(TokenKind::Open, AccountId(987_654)));
    let err = h.engine.verify_token(&forged).await.expect_err("forged");
    assert!(matches!(err, EngineError::Token(TokenError::BadSignature)), "{err:?}");
    // The same with the engine's key: the signature holds, so only now is the account looked up.
    let known = LinkBuilder::new("https://x", AccountId(987_654), HARNESS_KEY).expect("key");
    let unknown_account = known.sign(&token(TokenKind::Open, AccountId(987_654)));
    let err = h
        .engine
        .verify_token(&unknown_account)
        .await
        .expect_err("no such account");
    assert!(
        matches!(err, EngineError::Store(StoreError::NotFound { .. })),
        "{err:?}"
    );
    // A wrong kind is refused before the lookup too.
    let err = h
        .engine
        .verify_kind(&unknown_account, &[TokenKindTag::Form])
        .await
        .expect_err("kind");
    assert!(matches!(err, EngineError::Token(TokenError::WrongKind(_))), "{err:?}");
    // Malformed and old-version tokens.
    for bad in [
        "",
        "not a token",
        "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5",
    ] {
        let err = h.engine.verify_token(bad).await.expect_err(bad);
        assert!(matches!(err, EngineError::Token(_)), "{bad:?}: {err:?}");
    }
}

#[tokio::test]
async fn a_token_signed_with_another_accounts_key_is_refused() {
    let h = harness().await;
    let other = h
        .store
        .create_account(NewAccount {
            name: "other".into(),
            timezone: Timezone::UTC,
            signing_key_ref: "k2".into(),
        })
        .await
        .expect("account");
    // Signed with k1 (the first account's key) but naming the account that signs with k2.
    let links = h.engine.links(&h.account).expect("links");
    let cross = links.sign(&token(TokenKind::Open, other.id));
    let err = h.engine.verify_token(&cross).await.expect_err("cross-account");
    assert!(matches!(err, EngineError::Token(TokenError::OtherAccount)), "{err:?}");
    // Its own key works.
    let own = h
        .engine
        .links(&other)
        .expect("links")
        .sign(&token(TokenKind::Unsubscribe, other.id));
    let ok = h
        .engine
        .verify_kind(&own, &[TokenKindTag::Unsubscribe])
        .await
        .expect("own");
    assert_eq!(ok.account, other.id);
}
