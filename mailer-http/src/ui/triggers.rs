//! Triggers: what an email action, a link click or a page visit does in the CRM, listed with a form to add
//! or change one; the form offers every action the core has (a note, a task with its type, due time and
//! assignee, a stage change, a field change, an email, a new lead, tags of the lead, contact or company).

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use mailer_core::model::{
    Action, Assignee, CrmUserId, Deadline, EntityKind, FieldId, PipelineId, StageId, Template, TemplateId, Trigger,
    TriggerId,
};
use maud::{Markup, html};

use super::crud::ListScreen;
use super::error::UiError;
use super::form::{EditQuery, FormData, split_list};
use super::layout::{self, Nav, field, select};
use super::session::Session;
use crate::resource::Triggers;
use crate::server::AppState;

/// What a trigger does, in words.
pub(crate) fn describe(action: &Action, templates: &[Template]) -> String {
    match action {
        Action::SetTask { text, .. } => format!("set a task: {text}"),
        Action::AddNote { text } => format!("add a note: {text}"),
        Action::ChangeStage { pipeline, stage } => format!("move to stage {stage} of pipeline {pipeline}"),
        Action::ChangeField { entity, field, value } => format!("set field {field} of the {entity:?} to {value}"),
        Action::SendEmail { template } => {
            let name = templates
                .iter()
                .find(|t| t.id == *template)
                .map_or_else(|| format!("template {template}"), |t| format!("“{}”", t.name));
            format!("send email {name}")
        }
        Action::CreateLead { name, .. } => format!("create lead {name}"),
        Action::ChangeTags { add, remove, .. } => format!("tags +[{}] −[{}]", add.join(", "), remove.join(", ")),
    }
}

fn kind_of(action: Option<&Action>) -> &'static str {
    match action {
        Some(Action::SetTask { .. }) => "task",
        Some(Action::ChangeStage { .. }) => "stage",
        Some(Action::ChangeField { .. }) => "field",
        Some(Action::SendEmail { .. }) => "email",
        Some(Action::CreateLead { .. }) => "lead",
        Some(Action::ChangeTags { .. }) => "tags",
        Some(Action::AddNote { .. }) | None => "note",
    }
}

fn entity_name(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Lead => "lead",
        EntityKind::Contact => "contact",
        EntityKind::Company => "company",
    }
}

fn entity_options() -> Vec<(String, String)> {
    [
        ("lead", "The lead"),
        ("contact", "The contact"),
        ("company", "The company"),
    ]
    .map(|(v, t)| (v.to_owned(), t.to_owned()))
    .to_vec()
}

fn entity(form: &FormData, name: &'static str) -> Result<EntityKind, UiError> {
    match form.get(name) {
        "lead" | "" => Ok(EntityKind::Lead),
        "contact" => Ok(EntityKind::Contact),
        "company" => Ok(EntityKind::Company),
        _ => Err(UiError::Invalid {
            field: name,
            reason: "must be the lead, the contact or the company".into(),
        }),
    }
}

/// The task part of the form: text, type, when it is due and who gets it.
fn task_fieldset(action: Option<&Action>) -> Markup {
    let (text, task_type, deadline, assignee) = match action {
        Some(Action::SetTask {
            text,
            task_type,
            deadline,
            assignee,
        }) => (text.as_str(), *task_type, Some(*deadline), Some(*assignee)),
        _ => ("", 1, None, None),
    };
    let (due, hours, at) = match deadline {
        Some(Deadline::EndOfDay) => ("end_of_day", 24, String::new()),
        Some(Deadline::At(t)) => ("at", 24, t.format("%Y-%m-%dT%H:%M").to_string()),
        Some(Deadline::After(d)) => ("after", d.as_secs() / 3600, String::new()),
        None => ("after", 24, String::new()),
    };
    let user = match assignee {
        Some(Assignee::User(u)) => u.0.to_string(),
        _ => String::new(),
    };
    let due_options = [
        ("after", "In a number of hours"),
        ("end_of_day", "At the end of the day"),
        ("at", "At a fixed time (UTC)"),
    ]
    .map(|(v, t)| (v.to_owned(), t.to_owned()));
    html! {
        fieldset data-kind="task" {
            legend { "Set a task" }
            (field("Task text", "task_text", "text", text, Some("Variables work: {subject}, {{ lead.name }}"), false))
            (field("Task type id", "task_type", "number", &task_type.to_string(), Some("In Kommo 1 is a call, 2 a \
                meeting"), false))
            (select("Due", "task_due", &due_options, due))
            (field("Due in hours", "task_hours", "number", &hours.to_string(), None, false))
            (field("Due at (UTC)", "task_at", "datetime-local", &at, None, false))
            (field("Assign to CRM user id", "task_user", "number", &user, Some("Empty: the entity's responsible \
                user"), false))
        }
    }
}

fn editor(session: &Session, t: Option<&Trigger>, templates: &[Template], error: Option<&str>) -> Markup {
    let action = t.map(|t| &t.action);
    let note = match action {
        Some(Action::AddNote { text }) => text.as_str(),
        _ => "",
    };
    let (pipeline, stage) = match action {
        Some(Action::ChangeStage { pipeline, stage }) => (pipeline.0.to_string(), stage.0.to_string()),
        _ => (String::new(), String::new()),
    };
    let (field_entity, field_id, field_value) = match action {
        Some(Action::ChangeField { entity, field, value }) => {
            (entity_name(*entity), field.0.to_string(), value.as_str())
        }
        _ => ("lead", String::new(), ""),
    };
    let template = match action {
        Some(Action::SendEmail { template }) => template.0.to_string(),
        _ => String::new(),
    };
    let (lead_name, lead_pipeline, lead_stage) = match action {
        Some(Action::CreateLead { name, pipeline, stage }) => {
            (name.as_str(), pipeline.0.to_string(), stage.0.to_string())
        }
        _ => ("", String::new(), String::new()),
    };
    let (tags_entity, add, remove) = match action {
        Some(Action::ChangeTags { entity, add, remove }) => (entity_name(*entity), add.join(", "), remove.join(", ")),
        _ => ("lead", String::new(), String::new()),
    };
    let kinds = [
        ("note", "Add a note"),
        ("task", "Set a task"),
        ("stage", "Change the stage"),
        ("field", "Change a field"),
        ("email", "Send an email"),
        ("lead", "Create a lead"),
        ("tags", "Change tags"),
    ]
    .map(|(v, t)| (v.to_owned(), t.to_owned()));
    let template_options: Vec<(String, String)> =
        templates.iter().map(|t| (t.id.0.to_string(), t.name.clone())).collect();
    html! {
        section aria-labelledby="tf-h" {
            h2 id="tf-h" { @if t.is_some() { "Edit trigger" } @else { "Add a trigger" } }
            (layout::notice(error, None))
            form.grid method="post" action="/ui/triggers" {
                (layout::csrf_field(session))
                input type="hidden" name="id" value=(t.map_or(0, |t| t.id.0));
                (field("Name", "name", "text", t.map_or("", |t| t.name.as_str()), None, true))
                (field("Delay, minutes", "delay_minutes", "number", &t.map_or(0, |t| t.delay.as_secs() /
                    60).to_string(), None, true))
                (select("Action", "kind", &kinds, kind_of(action)))
                fieldset data-kind="note" { legend { "Add a note" } (field("Note text", "note_text", "text", note,
                    Some("Variables work: {subject}, {{ lead.name }}"), false)) }
                (task_fieldset(action))
                fieldset data-kind="stage" { legend { "Change the stage" } (field("Pipeline id", "pipeline",
                    "number", &pipeline, None, false)) (field("Stage id", "stage", "number", &stage, None, false)) }
                fieldset data-kind="field" {
                    legend { "Change a field" }
                    (select("Whose field", "field_entity", &entity_options(), field_entity))
                    (field("Field id", "field_id", "number", &field_id, Some("The CRM's id of the field, as in \
                        lead.cf.657261"), false))
                    (field("New value", "field_value", "text", field_value, Some("Text, a number, a list value's \
                        id, 1/0 for a switch, YYYY-MM-DD, {date} for today, {reset} to clear, {web:N}"), false))
                }
                fieldset data-kind="email" { legend { "Send an email" } (select("Template", "template",
                    &template_options, &template)) }
                fieldset data-kind="lead" {
                    legend { "Create a lead for the contact" }
                    (field("Lead name", "lead_name", "text", lead_name, Some("Variables work: {{ contact.name }}"),
                        false))
                    (field("Pipeline id", "lead_pipeline", "number", &lead_pipeline, None, false))
                    (field("Stage id", "lead_stage", "number", &lead_stage, None, false))
                }
                fieldset data-kind="tags" {
                    legend { "Change tags" }
                    (select("Whose tags", "tags_entity", &entity_options(), tags_entity))
                    (field("Add, comma-separated", "tags_add", "text", &add, None, false))
                    (field("Remove, comma-separated", "tags_remove", "text", &remove, None, false))
                }
                div.actions.wide { button type="submit" { "Save trigger" } }
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
    let triggers = engine.triggers(session.account, session.user_id()).await?;
    let templates = engine.templates_for(session.account, session.user_id()).await?;
    let editing = edit.and_then(|id| triggers.iter().find(|t| t.id.0 == id));
    let body = html! {
        @if triggers.is_empty() { p { "No trigger yet." } }
        table.list {
            caption.sr-only { "Triggers" }
            thead { tr { th scope="col" { "Name" } th scope="col" { "Does" } th scope="col" { "Delay" } th
                scope="col" { span.sr-only { "Actions" } } } }
            tbody {
                @for t in &triggers {
                    tr {
                        td data-label="Name" { (t.name) }
                        td data-label="Does" { (describe(&t.action, &templates)) }
                        td data-label="Delay" { (t.delay.as_secs() / 60) " min" }
                        td { a.button.secondary.small href={ "/ui/triggers?edit=" (t.id.0) "#tf-h" } { "Edit" } " "
                            (layout::action_button(session, &format!("/ui/triggers/{}/delete", t.id.0), "Delete",
                            "danger small")) }
                    }
                }
            }
        }
        (editor(session, editing, &templates, error))
    };
    Ok(layout::page_with(status, session, Nav::Triggers, "Triggers", body))
}

/// `GET /ui/triggers`.
pub(crate) async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<EditQuery>,
) -> Result<Response, UiError> {
    render(&state, &session, q.edit, None, StatusCode::OK).await
}

fn deadline(form: &FormData) -> Result<Deadline, UiError> {
    match form.get("task_due") {
        "end_of_day" => Ok(Deadline::EndOfDay),
        "at" => {
            let at =
                chrono::NaiveDateTime::parse_from_str(form.get("task_at").trim(), "%Y-%m-%dT%H:%M").map_err(|_| {
                    UiError::Invalid {
                        field: "task_at",
                        reason: "must be a date and time (YYYY-MM-DDTHH:MM)".into(),
                    }
                })?;
            Ok(Deadline::At(at.and_utc()))
        }
        _ => Ok(Deadline::After(Duration::from_secs(
            form.parse::<u64>("task_hours", "a whole number of hours")?
                .saturating_mul(3600),
        ))),
    }
}

fn read(session: &Session, form: &FormData) -> Result<Trigger, UiError> {
    let action = match form.get("kind") {
        "task" => Action::SetTask {
            task_type: form.parse_opt("task_type", "a task type id")?.unwrap_or(1),
            deadline: deadline(form)?,
            assignee: form
                .parse_opt::<i64>("task_user", "a CRM user id")?
                .map_or(Assignee::Responsible, |u| Assignee::User(CrmUserId(u))),
            text: form.get("task_text").to_owned(),
        },
        "stage" => Action::ChangeStage {
            pipeline: PipelineId(form.parse("pipeline", "a pipeline id")?),
            stage: StageId(form.parse("stage", "a stage id")?),
        },
        "field" => Action::ChangeField {
            entity: entity(form, "field_entity")?,
            field: FieldId(form.parse("field_id", "a field id")?),
            value: form.get("field_value").to_owned(),
        },
        "email" => Action::SendEmail {
            template: TemplateId(form.parse("template", "a template")?),
        },
        "lead" => Action::CreateLead {
            name: form.get("lead_name").to_owned(),
            pipeline: PipelineId(form.parse("lead_pipeline", "a pipeline id")?),
            stage: StageId(form.parse("lead_stage", "a stage id")?),
        },
        "tags" => Action::ChangeTags {
            entity: entity(form, "tags_entity")?,
            add: split_list(form.get("tags_add")),
            remove: split_list(form.get("tags_remove")),
        },
        "note" => Action::AddNote {
            text: form.get("note_text").to_owned(),
        },
        _ => {
            return Err(UiError::Invalid {
                field: "kind",
                reason: "must be one of the listed actions".into(),
            });
        }
    };
    Ok(Trigger {
        id: TriggerId(form.parse("id", "an id")?),
        account: session.account,
        name: form.get("name").trim().to_owned(),
        action,
        delay: Duration::from_secs(
            form.parse::<u64>("delay_minutes", "a whole number of minutes")?
                .saturating_mul(60),
        ),
    })
}

impl ListScreen for Triggers {
    const LIST: &'static str = "/ui/triggers";

    async fn read(state: &AppState, session: &Session, form: &FormData) -> Result<Trigger, UiError> {
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
