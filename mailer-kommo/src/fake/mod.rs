//! A fake Kommo account over HTTP, for tests: an axum app over in-memory state that answers as the
//! reference (`shared/design/kommo-api.md`) says Kommo does.
//!
//! - HAL answers with `_links` on a shard host (`next` even on the last page), `_embedded` lists, 204 for
//!   empty lists and missing entities, 422 for `limit` above 250, custom fields 50 to a page.
//! - Writes: arrays for batches, objects for single PATCHes, `request_id` echoed, problem JSON with
//!   `validation-errors` (`NotSupportedChoice`, `InvalidType`, `FieldNotExpected` …); a field's values
//!   are replaced whole, `values: null` clears it; `date` values are stored as the account's local midnight.
//! - Auth: bearer tokens that expire (see [`FakeKommo::advance`], [`FakeKommo::set_access_lifetime`]),
//!   OAuth codes, refresh-token rotation with the old token valid until the new one is used, reused tokens
//!   refused as Kommo does: HTTP 401 with its OAuth problem JSON and `"hint":"Token has been revoked"`;
//!   how often each refresh token was spent is counted ([`FakeKommo::refresh_spends`]).
//! - At most 7 requests per second (429 with `retry_after` beyond), and injected [`Fault`]s: 5xx, 429, HTML
//!   403/429 pages, 402, 401, empty success bodies.
//!
//! One fake is one account; start one per test. The server stops when the handle is dropped.

mod answers;
mod routes;
mod state;
mod world;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use mailer_core::model::{EntityKind, EntityRef, Secret};
use serde_json::Value;

pub use state::Logged;
use state::{EntityRec, FieldRec, PipelineRec, State, UserRec};

use crate::client::{OAuthApp, TokenPair};

/// A failure to answer the next API request with (see [`FakeKommo::fail_next`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// This 5xx status (504 comes as an HTML page, others as problem JSON).
    ServerError(u16),
    /// 429 with JSON `retry_after` (seconds).
    TooManyRequests {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// 429 as an HTML page.
    TooManyRequestsHtml,
    /// 403 as problem JSON.
    Forbidden,
    /// 403 as nginx's HTML page.
    ForbiddenHtml,
    /// 402.
    PaymentRequired,
    /// 401.
    Unauthorized,
    /// Carry the request out, then answer with this status and an empty body.
    EmptySuccess(u16),
}

/// A fake Kommo account listening on `127.0.0.1`.
#[derive(Debug)]
pub struct FakeKommo {
    addr: SocketAddr,
    shared: routes::Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeKommo {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A seeded entity's id.
pub type Id = i64;

impl FakeKommo {
    /// Starts a fake on `127.0.0.1:0` (a free port) in the current tokio runtime.
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Mutex::new(State::new()));
        let app = routes::router(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::warn!(%err, "fake kommo stopped");
            }
        });
        Ok(Self { addr, shared, server })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        routes::lock(&self.shared)
    }

    /// The base URL to give a client, `http://127.0.0.1:{port}`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The integration's keys this fake accepts.
    pub fn app(&self) -> OAuthApp {
        let s = self.state();
        OAuthApp {
            client_id: s.client_id.clone(),
            client_secret: Secret::new(s.client_secret.clone()),
            redirect_uri: s.redirect_uri.clone(),
        }
    }

    // ----- auth -----

    /// A fresh token pair, as if the user had just authorised the integration.
    pub fn issue_tokens(&self) -> TokenPair {
        let mut s = self.state();
        let (access, refresh) = s.issue_pair(None);
        TokenPair {
            access_token: Secret::new(access),
            refresh_token: Secret::new(refresh),
            expires_at: s.now() + s.access_lifetime,
            previous_refresh_token: None,
        }
    }

    /// An authorization code, valid for 20 minutes and once.
    pub fn issue_code(&self) -> String {
        let mut s = self.state();
        let code = s.token("code");
        let exp = s.now() + 20 * 60;
        s.codes.insert(code.clone(), exp);
        code
    }

    /// A long-lived token valid for `seconds`.
    pub fn issue_long_lived(&self, seconds: i64) -> Secret {
        let mut s = self.state();
        let token = s.token("llt");
        let exp = s.now() + seconds;
        s.access.insert(token.clone(), exp);
        Secret::new(token)
    }

    /// Access tokens issued from now on live `seconds` (and say so in `expires_in`); Kommo's are a day.
    pub fn set_access_lifetime(&self, seconds: i64) {
        self.state().access_lifetime = seconds;
    }

    /// How many token pairs each refresh token bought, for the refresh tokens spent at least once, in
    /// the order they were issued. A token Kommo rotates is meant to be spent once.
    pub fn refresh_spends(&self) -> Vec<u32> {
        let s = self.state();
        let mut spent: Vec<(i64, u32)> = s
            .refresh
            .iter()
            .filter(|(_, r)| r.spent > 0)
            .map(|(token, r)| (issue_number(token), r.spent))
            .collect();
        spent.sort_unstable();
        spent.into_iter().map(|(_, n)| n).collect()
    }

    /// Moves the fake's clock forward: tokens expire as if the time had passed.
    pub fn advance(&self, seconds: i64) {
        self.state().clock_offset += seconds;
    }

    /// Revokes every access and refresh token (an admin disabled the integration).
    pub fn revoke_all(&self) {
        let mut s = self.state();
        s.access.clear();
        for r in s.refresh.values_mut() {
            r.revoked = true;
        }
    }

    // ----- behaviour -----

    /// The next API request (after the rate limit) gets `fault`; several calls queue several faults.
    pub fn fail_next(&self, fault: Fault) {
        self.state().faults.push_back(fault);
    }

    /// 401 and rate-limit 429 answers come as HTML pages instead of problem JSON.
    pub fn set_html_errors(&self, on: bool) {
        self.state().html_errors = on;
    }

    /// Changes the server-side rate limit (`None`: unlimited) and the `retry_after` its 429s carry.
    pub fn set_rate_limit(&self, per_second: Option<usize>, retry_after: u64) {
        let mut s = self.state();
        s.rate_limit = per_second;
        s.rate_retry_after = retry_after;
    }

    /// The most requests that arrived within any one second so far (a sliding window; requests refused
    /// with 429 included): what Kommo's limit of 7 per second is checked against.
    pub fn peak_requests_per_second(&self) -> usize {
        self.state().peak_per_second
    }

    /// Every request seen so far, in order.
    pub fn requests(&self) -> Vec<Logged> {
        self.state().log.clone()
    }

    // ----- seeding -----

    /// Sets the account's timezone (IANA name, e.g. `Europe/Moscow`).
    ///
    /// # Panics
    /// On an unknown timezone name (test input).
    pub fn set_timezone(&self, name: &str) {
        #[allow(clippy::expect_used)] // seeding API for tests: a bad name is a bug in the test
        let tz = name.parse().expect("a known IANA timezone");
        self.state().timezone = tz;
    }

    /// Adds a user.
    pub fn add_user(&self, name: &str, email: &str) -> Id {
        let mut s = self.state();
        let id = s.id();
        s.users.insert(
            id,
            UserRec {
                name: name.into(),
                email: email.into(),
            },
        );
        id
    }

    /// Adds a pipeline with statuses of the given names (ids assigned) and returns the pipeline id and the
    /// status ids. Pass [`WON`]/[`LOST`] through [`FakeKommo::add_pipeline_with`] for the closed stages.
    pub fn add_pipeline(&self, name: &str, statuses: &[&str]) -> (Id, Vec<Id>) {
        let mut s = self.state();
        let ids: Vec<Id> = statuses.iter().map(|_| s.id()).collect();
        drop(s);
        let named: Vec<(Id, &str)> = ids.iter().copied().zip(statuses.iter().copied()).collect();
        (self.add_pipeline_with(name, &named), ids)
    }

    /// Adds a pipeline with statuses of given ids (142 and 143 may repeat across pipelines, as in Kommo).
    pub fn add_pipeline_with(&self, name: &str, statuses: &[(Id, &str)]) -> Id {
        let mut s = self.state();
        let id = s.id();
        s.pipelines.push(PipelineRec {
            id,
            name: name.into(),
            statuses: statuses.iter().map(|(i, n)| (*i, (*n).to_owned())).collect(),
        });
        id
    }

    /// Adds a custom field of a Kommo type (`text`, `numeric`, `select`, `multiselect`, `checkbox`, `date`,
    /// `multitext` …) with list options, and returns its id and the options' ids.
    pub fn add_field(
        &self,
        kind: EntityKind,
        name: &str,
        field_type: &str,
        code: Option<&str>,
        enums: &[&str],
    ) -> (Id, Vec<Id>) {
        let mut s = self.state();
        let id = s.id();
        let enums: Vec<(Id, String)> = enums.iter().map(|e| (s.id(), (*e).to_owned())).collect();
        let ids = enums.iter().map(|(i, _)| *i).collect();
        s.fields.entry(kind).or_default().push(FieldRec {
            id,
            name: name.into(),
            field_type: field_type.into(),
            code: code.map(str::to_owned),
            enums,
        });
        (id, ids)
    }

    /// Adds an entity with a name and returns it.
    pub fn add_entity(&self, kind: EntityKind, name: &str) -> EntityRef {
        let mut s = self.state();
        let id = s.id();
        s.entities.insert((kind, id), EntityRec::new(name));
        EntityRef {
            kind,
            id: mailer_core::model::CrmId(id),
        }
    }

    /// Changes a seeded entity directly; `write` takes a PATCH body as Kommo would (name, price,
    /// responsible_user_id, pipeline_id/status_id, custom_fields_values, tags_to_add …).
    ///
    /// # Panics
    /// When the entity is unknown or Kommo would refuse the body (test input).
    pub fn write(&self, entity: EntityRef, body: &Value) {
        let mut s = self.state();
        let key = (entity.kind, entity.id.0);
        #[allow(clippy::expect_used)] // seeding API for tests
        let mut rec = s.entities.get(&key).cloned().expect("a seeded entity");
        let problems = s.write_entity(entity.kind, &mut rec, body, false);
        assert!(problems.is_empty(), "seed write refused: {problems:?}");
        s.entities.insert(key, rec);
    }

    /// Links a contact to a lead or company.
    pub fn link_contact(&self, to: EntityRef, contact: EntityRef) {
        if let Some(rec) = self.state().entities.get_mut(&(to.kind, to.id.0))
            && !rec.contacts.contains(&contact.id.0)
        {
            rec.contacts.push(contact.id.0);
        }
    }

    /// Links a lead or contact to a company.
    pub fn link_company(&self, from: EntityRef, company: EntityRef) {
        if let Some(rec) = self.state().entities.get_mut(&(from.kind, from.id.0)) {
            rec.company = Some(company.id.0);
        }
    }

    // ----- looking -----

    /// The texts of the notes on an entity.
    pub fn notes(&self, entity: EntityRef) -> Vec<String> {
        self.attached(entity, |s| &s.notes, "/params/text")
    }

    /// The texts of the tasks on an entity.
    pub fn tasks(&self, entity: EntityRef) -> Vec<String> {
        self.attached(entity, |s| &s.tasks, "/text")
    }

    /// The full bodies of the tasks on an entity, as the client sent them.
    pub fn task_bodies(&self, entity: EntityRef) -> Vec<Value> {
        let s = self.state();
        s.tasks
            .iter()
            .filter(|a| a.entity == (entity.kind, entity.id.0))
            .map(|a| a.body.clone())
            .collect()
    }

    fn attached(&self, entity: EntityRef, list: fn(&State) -> &Vec<state::Attached>, text: &str) -> Vec<String> {
        let s = self.state();
        list(&s)
            .iter()
            .filter(|a| a.entity == (entity.kind, entity.id.0))
            .filter_map(|a| a.body.pointer(text).and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    /// The raw stored values of a field on an entity (as Kommo would return them).
    pub fn raw_values(&self, entity: EntityRef, field: Id) -> Option<Vec<Value>> {
        let s = self.state();
        s.entities
            .get(&(entity.kind, entity.id.0))?
            .fields
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.clone())
    }

    /// The answers posted to Salesbot continue URLs: (path, body).
    pub fn bot_answers(&self) -> Vec<(String, Value)> {
        self.state().bot_answers.clone()
    }

    /// Counts the seeded entities of a kind (for tests that create some).
    pub fn count(&self, kind: EntityKind) -> usize {
        self.state().entities.keys().filter(|(k, _)| *k == kind).count()
    }

    /// Every tag name per entity, for debugging.
    pub fn tags(&self, entity: EntityRef) -> Vec<String> {
        self.state()
            .entities
            .get(&(entity.kind, entity.id.0))
            .map(|e| e.tags.clone())
            .unwrap_or_default()
    }

    /// A Salesbot `widget_request` body for a lead, signed (HS256) with this fake's integration secret and
    /// valid for 30 minutes from the fake's clock.
    pub fn widget_request(&self, lead: Id, data: &Value) -> Vec<u8> {
        let s = self.state();
        let now = s.now();
        let claims = serde_json::json!({
            "iss": format!("https://{}.kommo.com", s.subdomain), "subdomain": s.subdomain,
            "account_id": s.account_id, "client_uuid": s.client_id, "entity_id": lead, "entity_type": 2,
            "iat": now, "nbf": now, "exp": now + 1_800, "jti": format!("jti-{now}"),
        });
        let token = crate::hooks::sign_hs256(&claims, s.client_secret.as_bytes());
        let return_url = format!("https://{}.kommo.com/api/v4/salesbot/321/continue/{lead}", s.subdomain);
        serde_json::json!({ "token": token, "data": data, "return_url": return_url })
            .to_string()
            .into_bytes()
    }
}

/// Kommo's "Closed - won" status id, the same in every pipeline.
pub const WON: Id = 142;
/// Kommo's "Closed - lost" status id, the same in every pipeline.
pub const LOST: Id = 143;

/// The issue number inside a fake token (`rt-10012-…` → 10012).
fn issue_number(token: &str) -> i64 {
    token.split('-').nth(1).and_then(|n| n.parse().ok()).unwrap_or(i64::MAX)
}
