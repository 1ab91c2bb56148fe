//! Hits on tracking URLs: opens (`/t/o`), trigger-link clicks (`/t/l`) and web page views (`/p`), from
//! verified tokens of those kinds only. Automated hits are recorded as such and fire nothing.
//!
//! A hit is taken in two steps so a host can answer before it writes: [`Engine::accept_hit`] checks the
//! token's signature and kind (no store access) and stamps the moment; [`Engine::record_hits`] records a
//! batch of accepted hits — the account's key checked, each hit classified, the events of the whole batch
//! appended in one store call (one transaction), then the once-marks and triggers of the human hits.
//! [`Engine::record_hit_of`] does both for one hit.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::model::{
    AccountId, Email, EmailId, EventKind, NewEvent, Timestamp, TriggerLink, TriggerLinkId, WebPage, WebPageId,
};
use crate::ports::{StoreError, StoreExt};
use crate::template::TokenKindTag;
use crate::template::{TokenError, TokenKind, TrackingToken};
use crate::trigger::{self, AutomatedReason, Fired, Hit, HitKind, Occurrence, Verdict};

use super::super::{Engine, EngineError};
use super::{HONEYPOT_LINK, HitInfo, HitOutcome, PendingHit};

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
    /// verified once. This is [`Engine::accept_hit`] and [`Engine::record_hits`] for one hit.
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
        let hit = self.accept_hit(token, kinds, info.clone())?;
        self.record_one(hit).await
    }

    /// Checks a hit's token — its signature and its kind (one of `kinds` that is an open, click or page
    /// kind) — without any store access, and stamps the hit with the current moment: what a host can check
    /// before it answers, to record the hit later with [`Engine::record_hits`]. Whether the token's account
    /// signs with the key that verified it is checked when the hit is recorded (an other-account token
    /// records nothing there).
    ///
    /// # Errors
    /// [`EngineError::Token`] for a malformed, tampered or other-key token or one of another kind.
    pub fn accept_hit(&self, token: &str, kinds: &[TokenKindTag], info: HitInfo) -> Result<PendingHit, EngineError> {
        let (token, key) = self.verify_signature(token, kinds)?;
        let tag = token.kind.tag();
        if !HIT_KINDS.contains(&tag) {
            return Err(TokenError::WrongKind(tag).into());
        }
        Ok(PendingHit {
            token,
            key: Some(key.clone()),
            info,
            at: self.now(),
        })
    }

    /// Where an accepted click goes — the link's redirect, `None` for the thank-you page — after checking
    /// that the token's account signs with the key that verified it: what the click route answers before
    /// the hit is recorded. Records nothing.
    ///
    /// # Errors
    /// [`EngineError::Token`] for a token of another account's key or of another kind than a click;
    /// [`EngineError::Store`] for an unknown account or link.
    pub async fn click_target(&self, hit: &PendingHit) -> Result<Option<String>, EngineError> {
        let TokenKind::Click(id) = hit.token.kind else {
            return Err(TokenError::WrongKind(hit.token.kind.tag()).into());
        };
        // Read through the hit cache alone (no per-batch memo): this runs for every click, before the answer.
        if let Some(key) = &hit.key
            && !self.account_signs(hit.token.account, key).await?
        {
            return Err(TokenError::OtherAccount.into());
        }
        if id == HONEYPOT_LINK {
            return Ok(None);
        }
        Ok(self.hit_link(hit.token.account, id).await?.redirect.clone())
    }

    /// Records a batch of accepted hits, in order, as recording each alone would: each hit's account must
    /// sign with the key that verified it, previews record nothing, each hit is classified (human or
    /// automated, honeypot hits earlier in the batch count) at the moment it was accepted. The events of the
    /// whole batch are appended in one store call; then each human hit marks its once-key and launches its
    /// triggers — a once-key already handled earlier in the batch launches nothing again (what a second
    /// open, a second click of a one-time link or a second page view would launch). The account, emails,
    /// links and pages are read once per batch. Returns one result per hit, in order.
    pub async fn record_hits(&self, hits: Vec<PendingHit>) -> Vec<Result<HitOutcome, EngineError>> {
        let mut memo = Memo::default();
        let window = chrono::Duration::from_std(self.config.automated.honeypot_window).unwrap_or(chrono::Duration::MAX);
        memo.since = hits
            .iter()
            .map(|h| h.at)
            .min()
            .map(|at| crate::model::saturating_before(at, window));
        let mut results = Vec::with_capacity(hits.len());
        let mut recorded: Vec<(usize, Classified)> = Vec::new();
        let mut events: Vec<NewEvent> = Vec::with_capacity(hits.len());
        for (i, hit) in hits.iter().enumerate() {
            match self.classify_hit(hit, &mut memo).await {
                Ok(Step::Answered(outcome)) => results.push(Ok(outcome)),
                Ok(Step::Record(event, outcome, classified)) => {
                    results.push(Ok(outcome));
                    events.push(event);
                    recorded.push((i, classified));
                }
                Err(e) => results.push(Err(e)),
            }
        }
        if let Err(e) = self.ports.store.append_events(events).await {
            let detail = std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| format!("{e}: {s}"));
            for (i, _) in &recorded {
                let error = StoreError::Backend(format!("the events of {} hits: {detail}", recorded.len()).into());
                results[*i] = Err(error.into());
            }
            return results;
        }
        for (i, classified) in recorded {
            if classified.automated {
                continue;
            }
            if let Err(e) = self.fire_hit(&hits[i].token, &classified, &mut memo).await {
                results[i] = Err(e);
            }
        }
        results
    }

    /// Records a hit of a verified open, click or page token (its account checked) now.
    pub(crate) async fn hit(&self, token: &TrackingToken, info: &HitInfo) -> Result<HitOutcome, EngineError> {
        let hit = PendingHit {
            token: token.clone(),
            key: None,
            info: info.clone(),
            at: self.now(),
        };
        self.record_one(hit).await
    }

    async fn record_one(&self, hit: PendingHit) -> Result<HitOutcome, EngineError> {
        self.record_hits(vec![hit])
            .await
            .pop()
            .unwrap_or(Err(EngineError::Token(TokenError::Malformed)))
    }

    /// The account of `hit` signs with the key that verified it (checked once per account and key per batch).
    async fn check_account(&self, hit: &PendingHit, memo: &mut Memo) -> Result<(), EngineError> {
        let Some(key) = &hit.key else { return Ok(()) };
        let account = hit.token.account;
        let seen = memo.signs.iter().find(|(a, k, _)| *a == account && k == key);
        let ok = match seen {
            Some((_, _, ok)) => *ok,
            None => {
                let ok = self.account_signs(account, key).await?;
                memo.signs.push((account, key.clone(), ok));
                ok
            }
        };
        if ok {
            Ok(())
        } else {
            Err(TokenError::OtherAccount.into())
        }
    }

    /// Whether `account` signs with the key configured as `key` (its key name read through the hit cache).
    async fn account_signs(&self, account: AccountId, key: &str) -> Result<bool, EngineError> {
        let key_ref = self.hit_key_ref(account).await?;
        Ok(self.signs_with_ref(&key_ref, key))
    }

    /// Checks, classifies and builds the event of one hit; previews are answered without recording.
    async fn classify_hit(&self, hit: &PendingHit, memo: &mut Memo) -> Result<Step, EngineError> {
        self.check_account(hit, memo).await?;
        let token = &hit.token;
        let account = token.account;
        let (hit_kind, event_kind) = match token.kind {
            TokenKind::Open => (HitKind::Open, EventKind::Opened),
            TokenKind::Click(id) => (HitKind::Click, EventKind::Clicked { link: id }),
            TokenKind::Page(page) => (HitKind::PageOpen, EventKind::PageOpened { page }),
            TokenKind::Unsubscribe | TokenKind::WebVersion | TokenKind::Form => {
                return Err(EngineError::Token(TokenError::Malformed));
            }
        };
        let link = match token.kind {
            TokenKind::Click(id) if id != HONEYPOT_LINK => Some(memo.link(self, account, id).await?),
            _ => None,
        };
        let redirect = || HitOutcome::Redirect(link.as_ref().and_then(|l| l.redirect.clone()));
        if token.preview {
            return Ok(Step::Answered(match token.kind {
                TokenKind::Click(_) => redirect(),
                _ => HitOutcome::Recorded { automated: false },
            }));
        }
        let email = match token.email {
            Some(id) => Some(memo.email(self, account, id).await?),
            None => None,
        };
        let agent = memo.agent_reason(self, hit.info.user_agent.as_deref(), hit_kind);
        let is_honeypot = hit.info.honeypot || token.kind == TokenKind::Click(HONEYPOT_LINK);
        let mut no_email = Vec::new();
        let honeypot_hits = match &email {
            Some(email) => memo.honeypot_hits(self, account, email.id).await?,
            None => &mut no_email,
        };
        let verdict = trigger::classify_with_agent(
            &self.config.automated,
            &Hit {
                kind: hit_kind,
                at: hit.at,
                sent_at: email.as_ref().and_then(|e| e.sent_at),
                user_agent: hit.info.user_agent.as_deref(),
                honeypot: is_honeypot,
                honeypot_hits: honeypot_hits.as_slice(),
            },
            agent,
        );
        if event_kind == (EventKind::Clicked { link: HONEYPOT_LINK }) {
            // Later hits of this batch see it, as they would see it in the store.
            honeypot_hits.push(hit.at);
        }
        let automated = matches!(verdict, Verdict::Automated(_));
        let event = NewEvent {
            account,
            email: token.email,
            entity: Some(token.entity).filter(|e| e.id.0 != 0),
            at: hit.at,
            kind: event_kind,
            automated,
        };
        let outcome = match token.kind {
            TokenKind::Click(_) => redirect(),
            _ => HitOutcome::Recorded { automated },
        };
        Ok(Step::Record(
            event,
            outcome,
            Classified {
                automated,
                email,
                link,
                at: hit.at,
            },
        ))
    }

    async fn fire_hit(&self, token: &TrackingToken, hit: &Classified, memo: &mut Memo) -> Result<(), EngineError> {
        let account = token.account;
        let entity = token.entity;
        let page = match token.kind {
            TokenKind::Page(id) => Some(memo.page(self, account, id).await?),
            _ => None,
        };
        let occurrence = match (token.kind, &hit.email, &hit.link, &page) {
            (TokenKind::Open, Some(e), _, _) => Occurrence::Opened {
                email: e.id,
                triggers: &e.spec.triggers,
            },
            (TokenKind::Click(_), _, Some(l), _) => Occurrence::LinkClicked { link: l, entity },
            (TokenKind::Page(_), _, _, Some(p)) => Occurrence::PageOpened { page: p, entity },
            _ => return Ok(()),
        };
        let first = match trigger::once_key(&occurrence) {
            Some(key) => {
                if memo.once.contains(&(account, key.clone())) {
                    // Handled earlier in this batch: what a repeat launches (cancelling the not-opened timer
                    // again, nothing for a one-time link or a page) was done by that hit.
                    return Ok(());
                }
                let first = self.ports.store.mark_once(account, &key, hit.at).await?;
                memo.once.insert((account, key));
                first
            }
            None => true,
        };
        let fired = Fired::from_mark_once(&occurrence, first);
        let target = Some(entity).filter(|e| e.id.0 != 0);
        self.launch(account, &occurrence, hit.at, fired, hit.email.as_deref(), target)
            .await
    }
}

/// One hit after classification.
enum Step {
    /// Nothing to record (a preview): this is the answer.
    Answered(HitOutcome),
    /// Record this event, answer this outcome, then fire what the classified hit launches.
    Record(NewEvent, HitOutcome, Classified),
}

/// A hit to record: what firing it needs.
struct Classified {
    automated: bool,
    email: Option<Arc<Email>>,
    link: Option<Arc<TriggerLink>>,
    at: Timestamp,
}

/// What one batch read from the store, so each record is read once per batch.
#[derive(Default)]
struct Memo {
    /// Whether an account signs with a key (by the key's configured name): a batch holds few accounts, and a
    /// scan compares without allocating a key per hit.
    signs: Vec<(AccountId, Arc<str>, bool)>,
    emails: HashMap<(AccountId, EmailId), Arc<Email>>,
    links: HashMap<(AccountId, TriggerLinkId), Arc<TriggerLink>>,
    pages: HashMap<(AccountId, WebPageId), Arc<WebPage>>,
    /// Honeypot hits per email since [`Memo::since`], with those of the batch added as they are classified.
    honeypot: HashMap<(AccountId, EmailId), Vec<Timestamp>>,
    /// The earliest moment a hit of the batch can be near a honeypot hit.
    since: Option<Timestamp>,
    /// Once-keys marked in this batch.
    once: HashSet<(AccountId, String)>,
    /// The user-agent rules' answer per agent, for opens (`[0]`) and other hits (`[1]`): a batch's hits
    /// mostly come from a few agents, and matching one against the known agents is the costliest check.
    agents: [HashMap<Box<str>, Option<AutomatedReason>>; 2],
}

impl Memo {
    fn agent_reason(&mut self, engine: &Engine, agent: Option<&str>, kind: HitKind) -> Option<AutomatedReason> {
        let seen = &mut self.agents[usize::from(kind != HitKind::Open)];
        let key = agent.unwrap_or_default();
        if let Some(reason) = seen.get(key) {
            return reason.clone();
        }
        let reason = trigger::agent_reason(&engine.config.automated, agent, kind);
        seen.insert(key.into(), reason.clone());
        reason
    }

    async fn email(&mut self, engine: &Engine, account: AccountId, id: EmailId) -> Result<Arc<Email>, EngineError> {
        if let Some(found) = self.emails.get(&(account, id)) {
            return Ok(found.clone());
        }
        let found = Arc::new(engine.ports.store.get_email(account, id).await?);
        self.emails.insert((account, id), found.clone());
        Ok(found)
    }

    async fn link(
        &mut self,
        engine: &Engine,
        account: AccountId,
        id: TriggerLinkId,
    ) -> Result<Arc<TriggerLink>, EngineError> {
        if let Some(found) = self.links.get(&(account, id)) {
            return Ok(found.clone());
        }
        let found = engine.hit_link(account, id).await?;
        self.links.insert((account, id), found.clone());
        Ok(found)
    }

    async fn page(&mut self, engine: &Engine, account: AccountId, id: WebPageId) -> Result<Arc<WebPage>, EngineError> {
        if let Some(found) = self.pages.get(&(account, id)) {
            return Ok(found.clone());
        }
        let found: Arc<WebPage> = Arc::new(engine.ports.store.get(account, id).await?);
        self.pages.insert((account, id), found.clone());
        Ok(found)
    }

    /// The email's honeypot hits: recent ones from the store (its clicks of the honeypot link since the batch's
    /// look-back, read from the store's index of clicks: bounded work however many events the email has
    /// gathered), then those of this batch.
    async fn honeypot_hits(
        &mut self,
        engine: &Engine,
        account: AccountId,
        email: EmailId,
    ) -> Result<&mut Vec<Timestamp>, EngineError> {
        if !self.honeypot.contains_key(&(account, email)) {
            let hits = match self.since {
                Some(since) => {
                    engine
                        .ports
                        .store
                        .clicks_since(account, email, HONEYPOT_LINK, since)
                        .await?
                }
                None => Vec::new(),
            };
            self.honeypot.insert((account, email), hits);
        }
        Ok(self.honeypot.entry((account, email)).or_default())
    }
}
