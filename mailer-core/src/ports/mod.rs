//! The ports: the traits the core uses to reach storage, mail servers, the CRM, the clock and the web.
//!
//! All are `#[async_trait]`, `Send + Sync` and object safe, so hosts hold them as `Arc<dyn …>`.
//! Each has a conformance suite in [`testkit`](crate::testkit) (feature `testkit`) that every
//! implementation must pass.

mod clock;
mod crm;
mod fetcher;
mod inbox;
mod store;
mod transport;

pub use clock::{Clock, DynClock, SystemClock};
pub use crm::{Crm, CrmCaps, CrmError, DynCrm, MAX_BATCH_READ};
pub use fetcher::{DynFetcher, FetchError, Fetched, Fetcher};
pub use inbox::{DynInbox, Inbox, InboxBatch, InboxMessage, Wake};
pub use store::{DynStore, Store, StoreError, StoreExt};
pub use transport::{
    CheckStatus, Delivery, DynTransport, MailboxCheck, OutgoingAttachment, OutgoingMessage, SendError, SendErrorKind,
    Transport, TransportCaps,
};

#[cfg(any(test, feature = "testkit"))]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub use {clock::MockClock, crm::MockCrm, fetcher::MockFetcher, store::MockStore, transport::MockTransport};
