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
    /// The stage events of an account webhook for our `account`: `leads[add]` (created in its stage),
    /// `leads[status]` (moved), `leads[responsible]` (its responsible user changed) and `leads[update]`
    /// carrying tags (its tags changed). Each id is made of what Kommo sent, never the time of arrival, so a
    /// redelivery has the same id:
    /// - add, status, responsible: the Kommo account, the action, the lead, its stage, the new responsible
    ///   user (responsible) and the lead's `updated_at`;
    /// - tags: the Kommo account, the lead and its tag set (sorted, case-folded), so a rule on tag changes
    ///   fires once per lead and tag set, however many other edits come with the same tags.
    ///
    /// Kommo sends no `tags` at all for a lead without tags, so an update without tags is not a tags
    /// event (the removal of a lead's last tag is not seen). Contacts and notes start nothing.
    pub fn pipeline_events(&self, account: AccountId) -> Vec<PipelineEvent> {
        let kommo = self.account.id.unwrap_or_default();
        self.events
            .iter()
            .filter_map(|event| {
                let WebhookEvent::Lead { action, lead } = event else {
                    return None;
                };
                let (pipeline, stage) = lead.stage?;
                let at = || lead.updated_at.map_or_else(|| "-".to_owned(), |t| t.to_string());
                let (change, event_id) = match action {
                    HookAction::Add => (
                        StageChange::Created,
                        format!("wh:{kommo}:add:{}:{}-{}:{}", lead.id, pipeline.0, stage.0, at()),
                    ),
                    HookAction::Status => (
                        StageChange::Moved,
                        format!("wh:{kommo}:status:{}:{}-{}:{}", lead.id, pipeline.0, stage.0, at()),
                    ),
                    HookAction::Responsible => {
                        let to = lead.responsible.map_or_else(|| "-".to_owned(), |u| u.0.to_string());
                        (
                            StageChange::ResponsibleChanged,
                            format!(
                                "wh:{kommo}:responsible:{}:{}-{}:{to}:{}",
                                lead.id,
                                pipeline.0,
                                stage.0,
                                at()
                            ),
                        )
                    }
                    HookAction::Update if !lead.tags.is_empty() => (
                        StageChange::TagsChanged,
                        format!("wh:{kommo}:tags:{}:{}", lead.id, tag_set_digest(&lead.tags)),
                    ),
                    _ => return None,
                };
                Some(PipelineEvent {
                    event_id,
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

/// A short, stable digest of a tag set: the names trimmed, case-folded, sorted and deduplicated, hashed
/// with SHA-256 (the first 16 hex digits), so the event id stays short however many tags a lead has.
fn tag_set_digest(tags: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let mut names: Vec<String> = tags.iter().map(|t| t.trim().to_lowercase()).collect();
    names.sort_unstable();
    names.dedup();
    let digest = Sha256::digest(names.join("\n").as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
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
    fn webhooks_give_stage_events_for_added_and_moved_leads() {
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

    #[test]
    fn responsible_and_tag_changes_are_events_with_ids_stable_on_redelivery() {
        let body = b"leads[responsible][0][id]=5&leads[responsible][0][responsible_user_id]=8\
                     &leads[responsible][0][old_responsible_user_id]=6&leads[responsible][0][status_id]=4\
                     &leads[responsible][0][pipeline_id]=9&leads[responsible][0][updated_at]=200\
                     &leads[update][0][id]=5&leads[update][0][status_id]=4&leads[update][0][pipeline_id]=9\
                     &leads[update][0][updated_at]=201&leads[update][0][tags][0][id]=1\
                     &leads[update][0][tags][0][name]=Hot&leads[update][0][tags][1][id]=2\
                     &leads[update][0][tags][1][name]=vip\
                     &leads[update][1][id]=6&leads[update][1][status_id]=4&leads[update][1][pipeline_id]=9\
                     &account[id]=7";
        let events = parse_account_webhook(body)
            .expect("webhook")
            .pipeline_events(AccountId(1));
        assert_eq!(events.len(), 2, "an update without tags is no event: {events:?}");
        assert_eq!(events[0].change, StageChange::ResponsibleChanged);
        assert_eq!(events[0].event_id, "wh:7:responsible:5:9-4:8:200");
        assert_eq!(
            (events[1].change, events[1].lead),
            (StageChange::TagsChanged, EntityRef::lead(5))
        );
        assert_eq!((events[1].pipeline, events[1].stage), (PipelineId(9), StageId(4)));
        let again = parse_account_webhook(body)
            .expect("again")
            .pipeline_events(AccountId(1));
        assert_eq!(again, events, "a redelivery gives the same ids");
        // the same tag set, in another order and case, with another edit: the same tags event
        let reordered = b"leads[update][0][id]=5&leads[update][0][status_id]=4&leads[update][0][pipeline_id]=9\
                          &leads[update][0][updated_at]=300&leads[update][0][tags][0][name]=VIP\
                          &leads[update][0][tags][1][name]=hot&account[id]=7";
        let same = parse_account_webhook(reordered)
            .expect("reordered")
            .pipeline_events(AccountId(1));
        assert_eq!(same[0].event_id, events[1].event_id);
        let other = b"leads[update][0][id]=5&leads[update][0][status_id]=4&leads[update][0][pipeline_id]=9\
                      &leads[update][0][tags][0][name]=hot&account[id]=7";
        let changed = parse_account_webhook(other)
            .expect("other tags")
            .pipeline_events(AccountId(1));
        assert_ne!(
            changed[0].event_id, events[1].event_id,
            "another tag set is another event"
        );
    }
}
