//! What Kommo's hooks mean to the engine: a lead created in or moved into a stage becomes a
//! [`PipelineEvent`], with an id that is the same on every redelivery of the hook.

use mailer_core::engine::{PipelineEvent, StageChange};
use mailer_core::model::{AccountId, EntityRef};

use super::{AccountWebhook, DpEntity, DpEventKind, DpHook, HookAction, WebhookEvent};

impl DpHook {
    /// The stage event of a digital-pipeline hook for our `account`: a lead added (created) or moved into
    /// the action's stage. `None` for other entities, other event types, or a hook without the stage.
    pub fn pipeline_event(&self, account: AccountId) -> Option<PipelineEvent> {
        let DpEntity::Lead(id) = self.event.entity else {
            return None;
        };
        let change = match self.event.kind {
            DpEventKind::LeadAdded => StageChange::Created,
            DpEventKind::StatusChanged | DpEventKind::AppearedInStatus => StageChange::Moved,
            _ => return None,
        };
        let (pipeline, stage) = self.event.stage?;
        Some(PipelineEvent {
            event_id: self.event_id(),
            account,
            lead: EntityRef::lead(id.0),
            pipeline,
            stage,
            change,
        })
    }
}

impl AccountWebhook {
    /// The stage events of an account webhook for our `account`: `leads[add]` (created in its stage) and
    /// `leads[status]` (moved). The id is made of the Kommo account, the action, the lead, its stage and
    /// the lead's `updated_at` as Kommo sent them, never the time of arrival. Other sections
    /// (`responsible`, `update` with tags, contacts, notes) start nothing in the engine.
    pub fn pipeline_events(&self, account: AccountId) -> Vec<PipelineEvent> {
        let kommo = self.account.id.unwrap_or_default();
        self.events
            .iter()
            .filter_map(|event| {
                let WebhookEvent::Lead { action, lead } = event else {
                    return None;
                };
                let (change, name) = match action {
                    HookAction::Add => (StageChange::Created, "add"),
                    HookAction::Status => (StageChange::Moved, "status"),
                    _ => return None,
                };
                let (pipeline, stage) = lead.stage?;
                let at = lead.updated_at.map_or_else(|| "-".to_owned(), |t| t.to_string());
                Some(PipelineEvent {
                    event_id: format!("wh:{kommo}:{name}:{}:{}-{}:{at}", lead.id, pipeline.0, stage.0),
                    account,
                    lead: EntityRef::lead(lead.id.0),
                    pipeline,
                    stage,
                    change,
                })
            })
            .collect()
    }
}
