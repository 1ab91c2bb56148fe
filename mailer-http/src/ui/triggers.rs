//! Triggers: what an email action, a link click or a page visit does in the CRM (a note, a task, a stage
//! change, an email, tags), listed with a form to add or change one.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use mailer_core::model::{
    Action, Assignee, Deadline, EntityKind, PipelineId, StageId, Template, TemplateId, Trigger, TriggerId,
};
use maud::{Markup, html};

use super::error::UiError;
use super::form::{EditQuery, FormData, split_list};
use super::layout::{self, Nav, field, select};
use super::outcome::after_save;
use super::session::Session;
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
        Some(Action::SendEmail { .. }) => "email",
        Some(Action::ChangeTags { .. }) => "tags",
        _ => "note",
    }
}

fn editor(session: &Session, t: Option<&Trigger>, templates: &[Template], error: Option<&str>) -> Markup {
    let action = t.map(|t| &t.action);
    let (note, task, task_hours) = match action {
        Some(Action::AddNote { text }) => (text.as_str(), "", 24),
        Some(Action::SetTask { text, deadline, .. }) => {
            let hours = match deadline {
                Deadline::After(d) => d.as_secs() / 3600,
                _ => 24,
            };
            ("", text.as_str(), hours)
        }
        _ => ("", "", 24),
    };
    let (pipeline, stage) = match action {
        Some(Action::ChangeStage { pipeline, stage }) => (pipeline.0.to_string(), stage.0.to_string()),
        _ => (String::new(), String::new()),
    };
    let template = match action {
        Some(Action::SendEmail { template }) => template.0.to_string(),
        _ => String::new(),
    };
    let (add, remove) = match action {
        Some(Action::ChangeTags { add, remove, .. }) => (add.join(", "), remove.join(", ")),
        _ => (String::new(), String::new()),
    };
    let kinds = [
        ("note", "Add a note"),
        ("task", "Set a task"),
        ("stage", "Change the stage"),
        ("email", "Send an email"),
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
                fieldset data-kind="task" { legend { "Set a task" } (field("Task text", "task_text", "text", task,
                    None, false)) (field("Due in hours", "task_hours", "number", &task_hours.to_string(), None,
                    false)) }
                fieldset data-kind="stage" { legend { "Change the stage" } (field("Pipeline id", "pipeline",
                    "number", &pipeline, None, false)) (field("Stage id", "stage", "number", &stage, None, false)) }
                fieldset data-kind="email" { legend { "Send an email" } (select("Template", "template",
                    &template_options, &template)) }
                fieldset data-kind="tags" { legend { "Change the lead's tags" } (field("Add, comma-separated",
                    "tags_add", "text", &add, None, false)) (field("Remove, comma-separated", "tags_remove", "text",
                    &remove, None, false)) }
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

fn read(session: &Session, form: &FormData) -> Result<Trigger, UiError> {
    let action = match form.get("kind") {
        "task" => Action::SetTask {
            task_type: 1,
            deadline: Deadline::After(Duration::from_secs(
                form.parse::<u64>("task_hours", "a whole number of hours")?
                    .saturating_mul(3600),
            )),
            assignee: Assignee::Responsible,
            text: form.get("task_text").to_owned(),
        },
        "stage" => Action::ChangeStage {
            pipeline: PipelineId(form.parse("pipeline", "a pipeline id")?),
            stage: StageId(form.parse("stage", "a stage id")?),
        },
        "email" => Action::SendEmail {
            template: TemplateId(form.parse("template", "a template")?),
        },
        "tags" => Action::ChangeTags {
            entity: EntityKind::Lead,
            add: split_list(form.get("tags_add")),
            remove: split_list(form.get("tags_remove")),
        },
        _ => Action::AddNote {
            text: form.get("note_text").to_owned(),
        },
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

/// `POST /ui/triggers`: the engine checks rights, references and loops.
pub(crate) async fn save(State(state): State<AppState>, session: Session, form: FormData) -> Result<Response, UiError> {
    session.check_form(&form)?;
    let edit = form.parse_opt::<i64>("id", "an id")?.filter(|id| *id != 0);
    let saved = async {
        Ok::<_, UiError>(
            state
                .engine()
                .save_trigger(session.user_id(), read(&session, &form)?)
                .await?,
        )
    }
    .await;
    after_save(saved, "/ui/triggers", |e| async move {
        render(&state, &session, edit, Some(&e.to_string()), e.status()).await
    })
    .await
}

/// `POST /ui/triggers/{id}/delete`: refused while a template, link, page or rule uses it.
pub(crate) async fn delete(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    form: FormData,
) -> Result<Response, UiError> {
    session.check_form(&form)?;
    state
        .engine()
        .delete_trigger(session.account, session.user_id(), TriggerId(id))
        .await?;
    Ok(Redirect::to("/ui/triggers").into_response())
}
