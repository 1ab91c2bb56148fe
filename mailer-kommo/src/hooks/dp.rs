//! The digital-pipeline widget hook: Kommo POSTs it to the widget's `dp.webhook_url` when the action on a
//! stage fires. It arrives form-encoded (`event[type]=14&event[data][id]=…`) or, per the docs, as JSON;
//! both are read the same way.

use std::collections::BTreeMap;

use mailer_core::model::{CrmId, PipelineId, StageId};

use super::HookError;
use super::form::{FormValue, parse_form};

/// What fired the action (`event[type]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpEventKind {
    /// 1: a lead was added.
    LeadAdded,
    /// 14: the lead moved into the trigger stage.
    StatusChanged,
    /// 15: the lead moved between stages inside a multi-stage action.
    AppearedInStatus,
    /// 16: an email came in.
    MailIn,
    /// 17: a call came in.
    CallIn,
    /// 18: a site visit.
    SiteVisit,
    /// 19: a chat message.
    Chat,
    /// Any other code.
    Other(i64),
}

impl DpEventKind {
    fn from_code(code: i64) -> Self {
        match code {
            1 => Self::LeadAdded,
            14 => Self::StatusChanged,
            15 => Self::AppearedInStatus,
            16 => Self::MailIn,
            17 => Self::CallIn,
            18 => Self::SiteVisit,
            19 => Self::Chat,
            other => Self::Other(other),
        }
    }

    /// Kommo's code of the event (`event[type]`).
    pub fn code(self) -> i64 {
        match self {
            Self::LeadAdded => 1,
            Self::StatusChanged => 14,
            Self::AppearedInStatus => 15,
            Self::MailIn => 16,
            Self::CallIn => 17,
            Self::SiteVisit => 18,
            Self::Chat => 19,
            Self::Other(code) => code,
        }
    }
}

/// The entity the action runs on (`event[data][element_type]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpEntity {
    /// 2: a lead.
    Lead(CrmId),
    /// 12: a customer (periodic purchases).
    Customer(CrmId),
    /// Another element type.
    Other {
        /// Kommo's element type code.
        element_type: i64,
        /// The id.
        id: CrmId,
    },
}

/// The event of a hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpEvent {
    /// What happened.
    pub kind: DpEventKind,
    /// Kommo's name for it (`lead_status_changed` …), if sent.
    pub type_code: Option<String>,
    /// The entity.
    pub entity: DpEntity,
    /// The stage the entity is in: pipeline and status together.
    pub stage: Option<(PipelineId, StageId)>,
    /// `went_to_trigger` and the like.
    pub direction: Option<String>,
    /// When (Unix seconds).
    pub time: Option<i64>,
}

/// A parsed digital-pipeline widget hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpHook {
    /// Kommo's account id.
    pub account_id: i64,
    /// The account's subdomain.
    pub subdomain: Option<String>,
    /// The event.
    pub event: DpEvent,
    /// The action's settings as the user filled them in (`action[settings][widget][settings][…]`),
    /// e.g. the template to send. Nested settings are flattened to `a.b` keys.
    pub settings: BTreeMap<String, String>,
}

fn int(form: &FormValue, path: &[&str]) -> Result<Option<i64>, HookError> {
    match form.text(path).map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t.parse::<i64>().map(Some).map_err(|_| HookError::Invalid {
            field: path.join("."),
            value: t.to_owned(),
        }),
    }
}

fn required(form: &FormValue, path: &[&str]) -> Result<i64, HookError> {
    int(form, path)?.ok_or_else(|| HookError::Missing { field: path.join(".") })
}

fn flatten(prefix: &str, node: &FormValue, out: &mut BTreeMap<String, String>) {
    match node {
        FormValue::Text(t) => {
            out.insert(prefix.to_owned(), t.clone());
        }
        FormValue::Map(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
    }
}

impl DpHook {
    /// The event's own id, the same for every redelivery of one hook (Kommo redelivers up to 4 times
    /// within an hour): account, event type, entity, stage and the event's time as Kommo sent them. It is
    /// what [`PipelineEvent::event_id`](mailer_core::engine::PipelineEvent::event_id) wants, so that a
    /// redelivered hook queues no second email. Never made from the time of arrival.
    pub fn event_id(&self) -> String {
        let (element, id) = match self.event.entity {
            DpEntity::Lead(id) => (2, id),
            DpEntity::Customer(id) => (12, id),
            DpEntity::Other { element_type, id } => (element_type, id),
        };
        let (pipeline, status) = self.event.stage.map_or((0, 0), |(p, s)| (p.0, s.0));
        format!(
            "dp:{}:{}:{element}-{id}:{pipeline}-{status}:{}",
            self.account_id,
            self.event.kind.code(),
            self.event.time.map_or_else(|| "-".to_owned(), |t| t.to_string()),
        )
    }
}

/// Parses a digital-pipeline widget hook; `content_type` picks JSON (`application/json`) or the form.
/// Without a content type, a body starting with `{` is taken as JSON.
///
/// # Errors
/// A [`HookError`] for a malformed body, a missing `account_id`, `event[type]` or `event[data][id]`, or a
/// number field that is not a number.
pub fn parse_dp_hook(content_type: Option<&str>, body: &[u8]) -> Result<DpHook, HookError> {
    let json = match content_type {
        Some(ct) => ct.trim().to_ascii_lowercase().starts_with("application/json"),
        None => body.trim_ascii_start().first() == Some(&b'{'),
    };
    let form = if json {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| HookError::Json { detail: e.to_string() })?;
        FormValue::from_json(&value)
    } else {
        parse_form(body)?
    };
    let id = CrmId(required(&form, &["event", "data", "id"])?);
    let element_type = int(&form, &["event", "data", "element_type"])?.unwrap_or(2);
    let entity = match element_type {
        2 => DpEntity::Lead(id),
        12 => DpEntity::Customer(id),
        other => DpEntity::Other {
            element_type: other,
            id,
        },
    };
    let stage = int(&form, &["event", "data", "pipeline_id"])?
        .zip(int(&form, &["event", "data", "status_id"])?)
        .map(|(p, s)| (PipelineId(p), StageId(s)));
    let mut settings = BTreeMap::new();
    if let Some(node) = form.get(&["action", "settings", "widget", "settings"]) {
        flatten("", node, &mut settings);
    }
    let text = |path: &[&str]| form.text(path).filter(|t| !t.is_empty()).map(str::to_owned);
    Ok(DpHook {
        account_id: required(&form, &["account_id"])?,
        subdomain: text(&["subdomain"]),
        event: DpEvent {
            kind: DpEventKind::from_code(required(&form, &["event", "type"])?),
            type_code: text(&["event", "type_code"]),
            entity,
            stage,
            direction: text(&["event", "data", "direction_of_movement"]),
            time: int(&form, &["event", "time"])?,
        },
        settings,
    })
}
