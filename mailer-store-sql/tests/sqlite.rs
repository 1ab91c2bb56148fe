//! The store conformance suite and SQL-only checks on SQLite, in memory and in a file.
#![cfg(feature = "sqlite")]

mod common;

mod memory {
    async fn setup() -> Option<Box<mailer_core::ports::DynStore>> {
        Some(Box::new(super::common::connect("sqlite::memory:").await))
    }

    mailer_core::store_conformance_tests!(setup);
}

mod file {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh database file per case: `claim_due` is not scoped to an account, so cases sharing one
    /// queue would take each other's emails.
    fn url() -> String {
        static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"));
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        super::common::sqlite_file_url(dir.path(), &format!("conformance-{n}.db"))
    }

    async fn setup() -> Option<Box<mailer_core::ports::DynStore>> {
        Some(Box::new(super::common::connect(&url()).await))
    }

    mailer_core::store_conformance_tests!(setup);
}
