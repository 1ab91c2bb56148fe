//! Recording what recipients do, from verified tokens only: hits on tracking URLs (opens, trigger-link
//! clicks, web page views) in [`hits`], form submissions in [`forms`]. Each entry point accepts only its
//! own token kinds. Automated hits are recorded as such and fire nothing.

mod forms;
mod hit_cache;
mod hits;

pub(crate) use forms::Submission;
pub use forms::{FORM_ATTEMPTS, FORM_RETRY, MAX_FORM_ANSWERS, MAX_FORM_TOTAL, MAX_FORM_VALUE};
pub(crate) use hit_cache::HitCache;
pub use hit_cache::{HIT_CACHE_ENTRIES, HIT_CACHE_TTL};

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{Timestamp, TriggerLinkId};
use crate::template::TrackingToken;

/// The link id under which honeypot (hidden) link hits are recorded.
pub const HONEYPOT_LINK: TriggerLinkId = TriggerLinkId(0);

/// What the host learned about a request besides its token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct HitInfo {
    /// The User-Agent header.
    pub user_agent: Option<String>,
    /// The request came through a hidden honeypot link.
    pub honeypot: bool,
}

/// What a hit led to, for the host's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum HitOutcome {
    /// Recorded (or ignored as a preview); answer with the pixel, the page or "Thank you!".
    Recorded {
        /// It looked automated and fired nothing.
        automated: bool,
    },
    /// A click: redirect here, or show the thank-you page when `None`.
    Redirect(Option<String>),
}

/// A hit whose token's signature and kind are checked, stamped with the moment it came: what
/// [`Engine::accept_hit`](crate::engine::Engine::accept_hit) gives, for
/// [`Engine::record_hits`](crate::engine::Engine::record_hits) to record, now or in a later batch.
#[derive(Debug, Clone)]
pub struct PendingHit {
    pub(crate) token: TrackingToken,
    /// The name of the configured key that verified the token, for the account check when it is recorded;
    /// `None` when the account was checked already.
    pub(crate) key: Option<Arc<str>>,
    pub(crate) info: HitInfo,
    pub(crate) at: Timestamp,
}

impl PendingHit {
    /// The verified token.
    pub fn token(&self) -> &TrackingToken {
        &self.token
    }

    /// When the hit came.
    pub fn at(&self) -> Timestamp {
        self.at
    }
}
