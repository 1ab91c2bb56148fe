//! Uploading a file: stored and answered as the reference a template carries, refused before storing when
//! over the limit of its kind and use, or when its name or type would make a broken header; a template
//! carrying it sends it.

use mailer_core::engine::{EngineConfig, EngineError, FileUse, SizeLimits, Upload};
use mailer_core::error::ValidationError;
use mailer_core::model::{
    AccountId, AttachmentRef, Body, Content, EmailTriggers, FileKind, RecipientRule, SendingLimits, Template,
    TemplateId, UserId,
};
use mailer_core::ports::StoreExt as _;
use mailer_core::testkit::Harness;

fn upload(account: AccountId, name: &str, content_type: &str, bytes: Vec<u8>, kind: FileKind) -> Upload {
    Upload {
        account,
        name: name.into(),
        content_type: content_type.into(),
        bytes,
        kind,
        used_in: FileUse::Template,
    }
}

/// Uploads an attachment for a template as the harness's admin, into its account.
async fn attach(h: &Harness, name: &str, content_type: &str, bytes: Vec<u8>) -> AttachmentRef {
    h.engine
        .upload_file(
            h.admin.id,
            upload(h.account.id, name, content_type, bytes, FileKind::Attachment),
        )
        .await
        .expect("upload")
}

/// A template of the harness's admin carrying `attachments`.
fn template_with(h: &Harness, name: &str, attachments: Vec<AttachmentRef>) -> Template {
    Template {
        id: TemplateId(0),
        account: h.account.id,
        name: name.into(),
        recipients: RecipientRule::EntityContacts,
        content: Content {
            subject: "Prices".into(),
            body: Body::Html("<p>Attached.</p>".into()),
            text: None,
        },
        attachments,
        triggers: EmailTriggers::default(),
        owner: h.admin.id,
        public: false,
        signature_disabled: true,
    }
}

fn too_large(err: EngineError) -> (u64, u64) {
    match err {
        EngineError::Invalid(ValidationError::AttachmentsTooLarge { limit, actual }) => (limit, actual),
        other => panic!("expected too large, got {other:?}"),
    }
}

fn malformed(err: EngineError) -> &'static str {
    match err {
        EngineError::Invalid(ValidationError::Malformed { field, .. }) => field,
        other => panic!("expected malformed, got {other:?}"),
    }
}

#[tokio::test]
async fn an_upload_is_stored_and_answered_as_a_stored_reference() {
    let h = Harness::new().await;
    let file = attach(&h, "offer.pdf", "application/pdf", b"%PDF-1.4 offer".to_vec()).await;
    let AttachmentRef::Stored {
        file: id,
        name,
        content_type,
        size,
        kind,
    } = file
    else {
        panic!("a stored reference: {file:?}");
    };
    assert_eq!(
        (name.as_str(), content_type.as_str(), size, kind),
        ("offer.pdf", "application/pdf", 14, FileKind::Attachment)
    );
    let stored = mailer_core::ports::Store::get_file(&*h.store, h.account.id, id)
        .await
        .expect("stored");
    assert_eq!(stored.file.bytes, b"%PDF-1.4 offer");
    assert_eq!(stored.file.account, h.account.id);
}

#[tokio::test]
async fn over_the_limit_is_refused_before_anything_is_stored() {
    let limits = SizeLimits {
        image: 10,
        template_attachments: 20,
        manual_attachments: 30,
        ..SizeLimits::default()
    };
    let config = EngineConfig {
        limits,
        ..EngineConfig::default()
    };
    let h = Harness::with(config, SendingLimits::default()).await;
    // Every put_file fails from here: a refusal that is not this injected failure was made before storing.
    h.store.fail_files(100);
    let image = upload(
        h.account.id,
        "logo.png",
        "image/png",
        vec![0; 11],
        FileKind::InlineImage,
    );
    assert_eq!(
        too_large(h.engine.upload_file(h.admin.id, image).await.unwrap_err()),
        (10, 11)
    );
    let file = upload(
        h.account.id,
        "big.bin",
        "application/octet-stream",
        vec![0; 21],
        FileKind::Attachment,
    );
    assert_eq!(
        too_large(h.engine.upload_file(h.admin.id, file.clone()).await.unwrap_err()),
        (20, 21)
    );
    // Written by hand into an email, the same file fits (100 MB together by default, 30 here).
    let for_email = Upload {
        used_in: FileUse::Email,
        ..file
    };
    let err = h.engine.upload_file(h.admin.id, for_email.clone()).await.unwrap_err();
    assert!(matches!(err, EngineError::Store(_)), "it reached the store: {err:?}");
    h.store.fail_files(0);
    h.engine
        .upload_file(h.admin.id, for_email)
        .await
        .expect("fits an email");
    assert_eq!(h.engine.upload_limit(FileKind::InlineImage, FileUse::Email), 10);
    assert_eq!(h.engine.upload_limit(FileKind::Attachment, FileUse::Email), 30);
}

#[tokio::test]
async fn bad_names_types_and_empty_files_are_refused_with_their_field() {
    let h = Harness::new().await;
    let a = h.account.id;
    let cases = [
        (upload(a, "", "text/plain", b"x".to_vec(), FileKind::Attachment), "name"),
        (
            upload(a, "../etc/passwd", "text/plain", b"x".to_vec(), FileKind::Attachment),
            "name",
        ),
        (
            upload(a, "a\r\nBcc: x@y.z", "text/plain", b"x".to_vec(), FileKind::Attachment),
            "name",
        ),
        (
            upload(a, "a.txt", "text", b"x".to_vec(), FileKind::Attachment),
            "content_type",
        ),
        (
            upload(a, "a.pdf", "application/pdf", b"x".to_vec(), FileKind::InlineImage),
            "content_type",
        ),
        (
            upload(a, "a.txt", "text/plain", Vec::new(), FileKind::Attachment),
            "file",
        ),
    ];
    for (bad, field) in cases {
        let shown = format!("{bad:?}");
        assert_eq!(
            malformed(h.engine.upload_file(h.admin.id, bad).await.unwrap_err()),
            field,
            "{shown}"
        );
    }
}

#[tokio::test]
async fn a_user_of_another_account_cannot_upload_into_this_one() {
    let h = Harness::new().await;
    let err = h
        .engine
        .upload_file(
            UserId(9_999),
            upload(h.account.id, "a.txt", "text/plain", b"x".to_vec(), FileKind::Attachment),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Store(_)), "unknown user: {err:?}");
}

#[tokio::test]
async fn a_template_keeps_the_uploaded_file() {
    let h = Harness::new().await;
    let file = attach(&h, "price list.txt", "text/plain", b"apples 3".to_vec()).await;
    let template = template_with(&h, "With a file", vec![file.clone()]);
    let saved = h.engine.save_template(h.admin.id, template).await.expect("save");
    let back: Template = h.store.get(h.account.id, saved.id).await.expect("read back");
    assert_eq!(back.attachments, vec![file]);
}

#[tokio::test]
async fn a_template_cannot_claim_a_smaller_size_than_its_file_has() {
    let h = Harness::new().await;
    let file = attach(&h, "big.bin", "application/octet-stream", vec![7; 64]).await;
    let AttachmentRef::Stored {
        file: id,
        name,
        content_type,
        kind,
        ..
    } = file
    else {
        panic!("stored");
    };
    let lying = AttachmentRef::Stored {
        file: id,
        name,
        content_type,
        size: 1,
        kind,
    };
    let template = template_with(&h, "Liar", vec![lying]);
    let err = h.engine.save_template(h.admin.id, template).await.unwrap_err();
    assert_eq!(malformed(err), "attachments");
}
