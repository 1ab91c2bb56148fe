//! Pipeline rules: when a lead is created in or moved to a stage, send a template from a mailbox (with an
//! optional delay and tag filter); listed with a form to add or change one.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use mailer_core::engine::MailboxView;
use mailer_core::model::{
    LeadFilter, MailboxId, PipelineId, PipelineRule, PipelineRuleId, StageEvent, StageId, Template, TemplateId,
};
use maud::{Markup, html};

use super::crud::ListScreen;
use super::error::UiError;
use super::form::{EditQuery, FormData, split_list};
use super::layout::{self, Nav, field, select};
use super::session::Session;
use crate::resource::PipelineRules;
use crate::server::AppState;

fn event_name(e: StageEvent) -> &'static str {
    match e {
        StageEvent::Created => "created",
        StageEvent::MovedIn => "moved",
        StageEvent::CreatedOrMovedIn => "created_or_moved",
        StageEvent::ResponsibleChanged => "responsible",
        StageEvent::TagsChanged => "tags",
    }
}

fn event_words(e: StageEvent) -> &'static str {
    match e {
        StageEvent::Created => "created in",
        StageEvent::MovedIn => "moved to",
        StageEvent::CreatedOrMovedIn => "created in or moved to",
        StageEvent::ResponsibleChanged => "given to another responsible user in",
        StageEvent::TagsChanged => "tagged differently in",
    }
}

fn editor(
    session: &Session,
    r: Option<&PipelineRule>,
    templates: &[Template],
    mailboxes: &[MailboxView],
    error: Option<&str>,
) -> Markup {
    let events = [
        StageEvent::CreatedOrMovedIn,
        StageEvent::Created,
        StageEvent::MovedIn,
        StageEvent::ResponsibleChanged,
        StageEvent::TagsChanged,
    ]
    .map(|e| (event_name(e).to_owned(), format!("Lead {}", event_words(e))));
    let template_options: Vec<(String, String)> =
        templates.iter().map(|t| (t.id.0.to_string(), t.name.clone())).collect();
    let mailbox_options: Vec<(String, String)> = mailboxes
        .iter()
        .map(|m| (m.id.0.to_string(), m.from.email.clone()))
        .collect();
    html! {
        section aria-labelledby="rf-h" {
            h2 id="rf-h" { @if r.is_some() { "Edit pipeline rule" } @else { "Add a pipeline rule" } }
            (layout::notice(error, None))
            form.grid method="post" action="/ui/rules" {
                (layout::csrf_field(session))
                input type="hidden" name="id" value=(r.map_or(0, |r| r.id.0));
                (select("When", "on", &events, r.map_or("created_or_moved", |r| event_name(r.on))))
                (field("Pipeline id", "pipeline", "number", &r.map_or(String::new(), |r| r.pipeline.0.to_string()),
                    None, true))
                (field("Stage id", "stage", "number", &r.map_or(String::new(), |r| r.stage.0.to_string()), None, true))
                (select("Send template", "template", &template_options, &r.map_or(String::new(), |r|
                    r.template.0.to_string())))
                (select("From mailbox", "mailbox", &mailbox_options, &r.map_or(String::new(), |r|
                    r.mailbox.0.to_string())))
                (field("After minutes", "delay_minutes", "number", &r.map_or(0, |r| r.delay.as_secs() /
                    60).to_string(), None, true))
                (field("Only leads with all tags", "tags_all", "text", &r.map_or(String::new(), |r|
                    r.filter.tags_all.join(", ")), Some("Comma-separated; empty: any"), false))
                (field("Only leads with none of the tags", "tags_none", "text", &r.map_or(String::new(), |r|
                    r.filter.tags_none.join(", ")), None, false))
                div.actions.wide { button type="submit" { "Save rule" } }
            }
        }
    }
}

async fn render(
    state: &AppState,
    session: &Session,
    edit: Option<i64>,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let engine = state.engine();
    let rules = engine.pipeline_rules(session.account, session.user_id()).await?;
    let templates = engine.templates_for(session.account, session.user_id()).await?;
    let mailboxes = engine.mailboxes_for(session.account, session.user_id()).await?;
    let editing = edit.and_then(|id| rules.iter().find(|r| r.id.0 == id));
    let template_name = |id: TemplateId| {
        templates
            .iter()
            .find(|t| t.id == id)
            .map_or_else(|| format!("template {id}"), |t| t.name.clone())
    };
    let body = html! {
        @if rules.is_empty() { p { "No pipeline rule yet." } }
        ul.records {
            @for r in &rules {
                li.record {
                    p {
                        "When a lead is " (event_words(r.on)) " stage " (r.stage.0) " of pipeline " (r.pipeline.0)
                        ", send “" (template_name(r.template)) "”"
                        @if !r.delay.is_zero() { " after " (r.delay.as_secs() / 60) " min" }
                        "."
                    }
                    div.actions {
                        a.button.secondary.small href={ "/ui/rules?edit=" (r.id.0) "#rf-h" } { "Edit" }
                        (layout::action_button(session, &format!("/ui/rules/{}/delete", r.id.0), "Delete",
                            "danger small"))
                    }
                }
            }
        }
        (editor(session, editing, &templates, &mailboxes, error))
    };
    Ok(layout::page_with(status, session, Nav::Rules, "Pipeline rules", body))
}

/// `GET /ui/rules`.
pub(crate) async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<EditQuery>,
) -> Result<Response, UiError> {
    render(&state, &session, q.edit, None, StatusCode::OK).await
}

fn read(session: &Session, form: &FormData) -> Result<PipelineRule, UiError> {
    Ok(PipelineRule {
        id: PipelineRuleId(form.parse("id", "an id")?),
        account: session.account,
        pipeline: PipelineId(form.parse("pipeline", "a pipeline id")?),
        stage: StageId(form.parse("stage", "a stage id")?),
        on: match form.get("on") {
            "created" => StageEvent::Created,
            "moved" => StageEvent::MovedIn,
            "responsible" => StageEvent::ResponsibleChanged,
            "tags" => StageEvent::TagsChanged,
            _ => StageEvent::CreatedOrMovedIn,
        },
        filter: LeadFilter {
            tags_all: split_list(form.get("tags_all")),
            tags_none: split_list(form.get("tags_none")),
        },
        template: TemplateId(form.parse("template", "a template")?),
        mailbox: MailboxId(form.parse("mailbox", "a mailbox")?),
        delay: Duration::from_secs(
            form.parse::<u64>("delay_minutes", "a whole number of minutes")?
                .saturating_mul(60),
        ),
    })
}

impl ListScreen for PipelineRules {
    const LIST: &'static str = "/ui/rules";

    async fn read(state: &AppState, session: &Session, form: &FormData) -> Result<PipelineRule, UiError> {
        let _ = state;
        read(session, form)
    }

    async fn render(
        state: &AppState,
        session: &Session,
        edit: Option<i64>,
        error: Option<&str>,
        status: StatusCode,
    ) -> Result<Response, UiError> {
        render(state, session, edit, error, status).await
    }
}
