//! Recording what recipients do, from verified tokens only: hits on tracking URLs (opens, trigger-link
//! clicks, web page views) in [`hits`], form submissions in [`forms`]. Each entry point accepts only its
//! own token kinds. Automated hits are recorded as such and fire nothing.

mod forms;
mod hits;

use serde::{Deserialize, Serialize};

use crate::model::TriggerLinkId;
use crate::template::{TokenError, TokenKind, TrackingToken, token_account};

use super::{Engine, EngineError};

/// The link id under which honeypot (hidden) link hits are recorded.
pub const HONEYPOT_LINK: TriggerLinkId = TriggerLinkId(0);

/// What the host learned about a request besides its token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HitInfo {
    /// The User-Agent header.
    pub user_agent: Option<String>,
    /// The request came through a hidden honeypot link.
    pub honeypot: bool,
}

/// What a hit led to, for the host's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HitOutcome {
    /// Recorded (or ignored as a preview); answer with the pixel, the page or "Thank you!".
    Recorded {
        /// It looked automated and fired nothing.
        automated: bool,
    },
    /// A click: redirect here, or show the thank-you page when `None`.
    Redirect(Option<String>),
}

impl Engine {
    /// Verifies a token with its account's key.
    ///
    /// # Errors
    /// [`EngineError::Token`] for a malformed or tampered token; [`EngineError::Store`] for an unknown account.
    pub async fn verify_token(&self, token: &str) -> Result<TrackingToken, EngineError> {
        let account = self.ports.store.get_account(token_account(token)?).await?;
        Ok(self.links(&account)?.verify(token)?)
    }

    /// Verifies a token and checks that it is of a kind this entry point takes; a token of another kind
    /// (a form token on the open route, …) is refused like a malformed one.
    pub(crate) async fn verify_kind(
        &self,
        token: &str,
        accepts: fn(TokenKind) -> bool,
    ) -> Result<TrackingToken, EngineError> {
        let token = self.verify_token(token).await?;
        if accepts(token.kind) {
            Ok(token)
        } else {
            Err(EngineError::Token(TokenError::Malformed))
        }
    }
}
