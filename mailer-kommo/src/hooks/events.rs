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

#[cfg(test)]
mod tests {
    use mailer_core::model::{PipelineId, StageId};

    use super::*;
    use crate::hooks::{parse_account_webhook, parse_dp_hook};

    #[test]
    fn a_dp_hook_is_a_stage_event_with_the_same_id_on_redelivery() {
        let body = b"account_id=7&event[type]=14&event[data][id]=55&event[data][element_type]=2\
                     &event[data][status_id]=3&event[data][pipeline_id]=9&event[time]=1700000000";
        let hook = parse_dp_hook(None, body).expect("hook");
        let event = hook.pipeline_event(AccountId(1)).expect("stage event");
        assert_eq!(event.lead, EntityRef::lead(55));
        assert_eq!((event.pipeline, event.stage), (PipelineId(9), StageId(3)));
        assert_eq!(event.change, StageChange::Moved);
        let again = parse_dp_hook(None, body).expect("again").pipeline_event(AccountId(1));
        assert_eq!(again.map(|e| e.event_id), Some(event.event_id));
        let customer = b"account_id=7&event[type]=14&event[data][id]=55&event[data][element_type]=12\
                         &event[data][status_id]=3&event[data][pipeline_id]=9";
        assert!(
            parse_dp_hook(None, customer)
                .expect("customer")
                .pipeline_event(AccountId(1))
                .is_none()
        );
        let no_stage = b"account_id=7&event[type]=1&event[data][id]=55";
        assert!(
            parse_dp_hook(None, no_stage)
                .expect("no stage")
                .pipeline_event(AccountId(1))
                .is_none()
        );
    }

    #[test]
    fn webhooks_give_stage_events_for_added_and_moved_leads_only() {
        let body = b"leads[add][0][id]=1&leads[add][0][status_id]=3&leads[add][0][pipeline_id]=9\
                     &leads[add][0][updated_at]=100&leads[status][0][id]=2&leads[status][0][status_id]=4\
                     &leads[status][0][pipeline_id]=9&leads[status][0][updated_at]=101\
                     &leads[responsible][0][id]=5&leads[responsible][0][responsible_user_id]=8\
                     &account[id]=7&account[subdomain]=acme";
        let hook = parse_account_webhook(body).expect("webhook");
        let events = hook.pipeline_events(AccountId(1));
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0].change, StageChange::Created);
        assert_eq!(events[0].lead, EntityRef::lead(1));
        assert_eq!(events[1].change, StageChange::Moved);
        assert_eq!(events[1].stage, StageId(4));
        assert_eq!(events[1].event_id, "wh:7:status:2:9-4:101");
        assert_ne!(events[0].event_id, events[1].event_id);
    }
}
