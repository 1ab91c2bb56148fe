//! Fault suite, full disk: SQLite on a 1 MiB tmpfs, filled by queueing emails until the disk is full. The
//! failing enqueue is a clear error (it says the disk is full), the database still opens afterwards, every
//! enqueue that answered `Ok` is there (nothing acknowledged is lost), and after space is freed the queue
//! takes emails again. Needs root to mount the tmpfs (CI runs as root); skipped otherwise unless
//! `MAILER_TEST_REQUIRE_ALL=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

use mailer_core::model::{EmailQuery, MailingId};
use mailer_core::ports::Store;
use mailer_core::testkit::StoreFixture;
use mailer_store_sql::{SecretKey, SqlConfig, SqlStore};

/// A tmpfs of `size` mounted on a fresh folder; unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = std::env::temp_dir().join(format!("mailer-full-disk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            Some(Self(dir))
        } else {
            let _ = std::fs::remove_dir(&dir);
            None
        }
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a pool connection still open after a failed assertion must not keep the mount.
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[tokio::test]
async fn a_full_disk_is_a_clear_error_and_loses_nothing_acknowledged() {
    let Some(tmpfs) = Tmpfs::mount("1m") else {
        mailer_core::testkit::skip("cannot mount a tmpfs (not root?)");
        return;
    };
    let db = format!("sqlite://{}?mode=rwc", tmpfs.path().join("mailer.db").display());
    let key = SecretKey::generate();
    let store = SqlStore::connect(&SqlConfig::new(&db, key.clone()))
        .await
        .expect("store");
    let f = StoreFixture::new(&store).await;
    // Room kept aside, given back once the disk is full.
    let filler = tmpfs.path().join("filler");
    std::fs::write(&filler, vec![0u8; 256 * 1024]).expect("filler");
    let mut acknowledged = Vec::new();
    let mut error = None;
    // Batches of 20 emails with 2 KiB bodies: a 1 MiB disk fills within a few hundred.
    for batch in 0..1_000 {
        let specs: Vec<_> = (0..20)
            .map(|i| {
                let seq = batch * 20 + i;
                let mut spec = f.mailing_email(&f.mailbox, MailingId(0), seq);
                spec.mailing = None;
                spec.idempotency_key = None;
                spec.message_id = format!("disk{seq}@faults.test");
                spec.content.subject = format!("{seq} {}", "x".repeat(2_048));
                spec
            })
            .collect();
        let ids: Vec<String> = specs
            .iter()
            .map(|s: &mailer_core::model::EmailSpec| s.message_id.clone())
            .collect();
        match store.enqueue(specs).await {
            Ok(_) => acknowledged.extend(ids),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let error = error.expect("the disk never filled up");
    // The error and its causes, as a log line prints them.
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    let text = text.to_ascii_lowercase();
    assert!(
        text.contains("full") || text.contains("disk") || text.contains("space"),
        "not a clear error: {text}"
    );
    assert!(!acknowledged.is_empty());
    store.close().await;

    // Reopened: every acknowledged email is there.
    let store = SqlStore::connect(&SqlConfig::new(&db, key.clone()))
        .await
        .expect("the database opens on a full disk");
    let limit = u32::try_from(acknowledged.len() + 100).expect("small");
    let listed = store
        .list_emails(&EmailQuery::account(f.account.id, limit))
        .await
        .expect("list on a full disk");
    let mut found: Vec<String> = listed.into_iter().map(|e| e.spec.message_id).collect();
    found.sort();
    let mut expected = acknowledged.clone();
    expected.sort();
    assert_eq!(found, expected, "acknowledged emails lost or unacknowledged ones kept");

    // Space freed: the queue takes emails again.
    std::fs::remove_file(&filler).expect("free the filler");
    let mut spec = f.mailing_email(&f.mailbox, MailingId(0), 1_000_000);
    spec.mailing = None;
    spec.idempotency_key = None;
    spec.message_id = "after@faults.test".into();
    store.enqueue(vec![spec]).await.expect("enqueue once space is back");
    eprintln!(
        "faults: full disk after {} acknowledged emails, error \"{text}\", reopened with all of them",
        acknowledged.len()
    );
    store.close().await;
}
