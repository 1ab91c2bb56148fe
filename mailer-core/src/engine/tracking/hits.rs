//! Hits on tracking URLs: opens (`/t/o`), trigger-link clicks (`/t/l`) and web page views (`/p`), from
//! verified tokens of those kinds only. Automated hits are recorded as such and fire nothing.

use crate::model::{AccountId, Email, EventKind, EventQuery, NewEvent, Timestamp, TriggerLink, WebPage};
use crate::ports::StoreExt;
use crate::template::TokenKindTag;
use crate::template::{TokenKind, TrackingToken};
use crate::trigger::{self, Fired, Hit, HitKind, Occurrence, Verdict};

use super::super::{Engine, EngineError};
use super::{HONEYPOT_LINK, HitInfo, HitOutcome};

/// The token kinds [`Engine::record_hit`] takes: the kinds of hits: opens, trigger-link clicks and web page views.
const HIT_KINDS: &[TokenKindTag] = &[TokenKindTag::Open, TokenKindTag::Click, TokenKindTag::Page];

impl Engine {
    /// Records a hit on a tracking URL (`/t/o`, `/t/l`, `/p`) and runs what it triggers. A preview token
    /// records nothing; a tampered token does nothing and is an error; so is a token of another kind (form,
    /// unsubscribe, web version: they have their own entry points).
    ///
    /// # Errors
    /// [`EngineError::Token`] for a bad token or one of another kind; [`EngineError::Store`].
    pub async fn record_hit(&self, token: &str, info: &HitInfo) -> Result<HitOutcome, EngineError> {
        self.record_hit_of(token, HIT_KINDS, info).await
    }

    /// As [`Engine::record_hit`], for a route that takes only `kinds` (a subset of open, click and page):
    /// the pixel route passes `[Open]`, so a click token fetched as a pixel records nothing. The token is
    /// verified once.
    ///
    /// # Errors
    /// As [`Engine::record_hit`]; [`EngineError::Token`] also for a kind outside `kinds` or outside the hit
    /// kinds.
    pub async fn record_hit_of(
        &self,
        token: &str,
        kinds: &[TokenKindTag],
        info: &HitInfo,
    ) -> Result<HitOutcome, EngineError> {
        let kinds: Vec<TokenKindTag> = kinds.iter().copied().filter(|k| HIT_KINDS.contains(k)).collect();
        let token = self.verify_kind(token, &kinds).await?;
        self.hit(&token, info).await
    }

    /// Records a hit of a verified open, click or page token.
    pub(crate) async fn hit(&self, token: &TrackingToken, info: &HitInfo) -> Result<HitOutcome, EngineError> {
        let account = token.account;
        let link: Option<TriggerLink> = match token.kind {
            TokenKind::Click(id) if id != HONEYPOT_LINK => Some(self.ports.store.get(account, id).await?),
            _ => None,
        };
        let redirect = || HitOutcome::Redirect(link.as_ref().and_then(|l| l.redirect.clone()));
        if token.preview {
            return Ok(match token.kind {
                TokenKind::Click(_) => redirect(),
                _ => HitOutcome::Recorded { automated: false },
            });
        }
        let email = match token.email {
            Some(id) => Some(self.ports.store.get_email(account, id).await?),
            None => None,
        };
        let now = self.now();
        let (hit_kind, event_kind) = match token.kind {
            TokenKind::Open => (HitKind::Open, EventKind::Opened),
            TokenKind::Click(id) => (HitKind::Click, EventKind::Clicked { link: id }),
            TokenKind::Page(page) => (HitKind::PageOpen, EventKind::PageOpened { page }),
            TokenKind::Unsubscribe | TokenKind::WebVersion | TokenKind::Form => {
                return Err(EngineError::Token(crate::template::TokenError::Malformed));
            }
        };
        let honeypot_hits = self.honeypot_hits(account, email.as_ref()).await?;
        let verdict = trigger::classify(
            &self.config.automated,
            &Hit {
                kind: hit_kind,
                at: now,
                sent_at: email.as_ref().and_then(|e| e.sent_at),
                user_agent: info.user_agent.as_deref(),
                honeypot: info.honeypot || token.kind == TokenKind::Click(HONEYPOT_LINK),
                honeypot_hits: &honeypot_hits,
            },
        );
        let automated = matches!(verdict, Verdict::Automated(_));
        let entity = Some(token.entity).filter(|e| e.id.0 != 0);
        let event = NewEvent {
            account,
            email: token.email,
            entity,
            at: now,
            kind: event_kind,
            automated,
        };
        self.ports.store.append_events(vec![event]).await?;
        if !automated {
            self.fire_hit(token, email.as_ref(), link.as_ref(), now).await?;
        }
        Ok(match token.kind {
            TokenKind::Click(_) => redirect(),
            _ => HitOutcome::Recorded { automated },
        })
    }

    async fn honeypot_hits(&self, account: AccountId, email: Option<&Email>) -> Result<Vec<Timestamp>, EngineError> {
        let Some(email) = email else { return Ok(Vec::new()) };
        let q = EventQuery {
            account,
            email: Some(email.id),
            entity: None,
            // Only honeypot hits within the window can make this hit automated: look at recent events only
            // (bounded work per hit however many events the email has gathered).
            since: Some(crate::model::saturating_before(
                self.now(),
                chrono::Duration::from_std(self.config.automated.honeypot_window).unwrap_or(chrono::Duration::MAX),
            )),
            limit: 1_000,
        };
        Ok(self
            .ports
            .store
            .list_events(&q)
            .await?
            .into_iter()
            .filter(|e| e.event.kind == EventKind::Clicked { link: HONEYPOT_LINK })
            .map(|e| e.event.at)
            .collect())
    }

    async fn fire_hit(
        &self,
        token: &TrackingToken,
        email: Option<&Email>,
        link: Option<&TriggerLink>,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let account = token.account;
        let entity = token.entity;
        let page: Option<WebPage> = match token.kind {
            TokenKind::Page(id) => Some(self.ports.store.get(account, id).await?),
            _ => None,
        };
        let occurrence = match (token.kind, email, link, &page) {
            (TokenKind::Open, Some(e), _, _) => Occurrence::Opened {
                email: e.id,
                triggers: &e.spec.triggers,
            },
            (TokenKind::Click(_), _, Some(l), _) => Occurrence::LinkClicked { link: l, entity },
            (TokenKind::Page(_), _, _, Some(p)) => Occurrence::PageOpened { page: p, entity },
            _ => return Ok(()),
        };
        let first = match trigger::once_key(&occurrence) {
            Some(key) => self.ports.store.mark_once(account, &key, now).await?,
            None => true,
        };
        let fired = Fired::from_mark_once(&occurrence, first);
        let target = Some(entity).filter(|e| e.id.0 != 0);
        self.launch(account, &occurrence, now, fired, email, target).await
    }
}
