//! The template editor: subject, HTML or Markdown body, where to send, files uploaded with the form
//! (attachments or inline images, listed with a remove box) and link attachments,
//! triggers per action, owner/public, signature off, and a live preview for a chosen entity (the script
//! posts the form to `/ui/templates/preview`). A save the engine refuses shows its reason in words: the
//! loop's cycle, or the line and column of a syntax error.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use mailer_core::engine::{FileUse, MailboxView, Upload};
use mailer_core::model::{
    Address, AttachmentRef, Body, Content, EmailQuery, EmailTriggers, EntityKind, EntityRef, FileKind, NotOpened,
    RecipientRule, Template, TemplateId, Trigger, TriggerId, UserId,
};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::UiError;
use super::form::FormData;
use super::layout::{self, Nav, field, select};
use super::session::Session;
use crate::server::AppState;

const HOUR: u64 = 3600;

/// What the editor offers to choose from.
struct Choices {
    triggers: Vec<Trigger>,
    mailboxes: Vec<MailboxView>,
    owners: Vec<(String, String)>,
    entity: EntityRef,
}

async fn choices(state: &AppState, session: &Session) -> Result<Choices, UiError> {
    let engine = state.engine();
    let triggers = engine.triggers(session.account, session.user_id()).await?;
    let mailboxes = engine.mailboxes_for(session.account, session.user_id()).await?;
    let owners = if session.is_admin() {
        engine
            .users(session.account, session.user_id())
            .await?
            .into_iter()
            .map(|u| (u.id.0.to_string(), u.name))
            .collect()
    } else {
        vec![(session.user.id.0.to_string(), session.user.name.clone())]
    };
    // Preview with the entity of the latest email, the likeliest to exist in the CRM.
    let latest = engine.history(&EmailQuery::account(session.account, 1)).await?;
    let entity = latest
        .first()
        .and_then(|h| h.email.spec.entity)
        .unwrap_or_else(|| EntityRef::lead(1));
    Ok(Choices {
        triggers,
        mailboxes,
        owners,
        entity,
    })
}

fn blank(session: &Session) -> Template {
    Template {
        id: TemplateId(0),
        account: session.account,
        name: String::new(),
        recipients: RecipientRule::EntityContacts,
        content: Content {
            subject: String::new(),
            body: Body::Html(String::new()),
            text: None,
        },
        attachments: Vec::new(),
        triggers: EmailTriggers::default(),
        owner: session.user.id,
        public: false,
        signature_disabled: false,
    }
}

fn trigger_set(legend: &str, name: &str, triggers: &[Trigger], chosen: &[TriggerId]) -> Markup {
    html! {
        fieldset.triggers {
            legend { (legend) }
            @if triggers.is_empty() { p { "No trigger yet: " a href="/ui/triggers" { "add one" } "." } }
            @for t in triggers {
                @let id = format!("{name}-{}", t.id.0);
                label for=(id) {
                    input id=(id) type="checkbox" name=(name) value=(t.id.0) checked[chosen.contains(&t.id)];
                    " " (t.name)
                }
            }
        }
    }
}

/// A size in words: bytes, KB or MB.
fn size_words(bytes: u64) -> String {
    const KB: u64 = 1024;
    match bytes {
        b if b < KB => format!("{b} B"),
        b if b < KB * KB => format!("{:.1} KB", b as f64 / KB as f64),
        b => format!("{:.1} MB", b as f64 / (KB * KB) as f64),
    }
}

/// The stored files (each row carries its reference, so a save the engine refuses keeps new uploads), a
/// file input for more (as attachments or inline images), and the link attachments.
fn attachments_fieldset(attachments: &[AttachmentRef], links: &[&str]) -> Markup {
    let kinds: Vec<(String, String)> = [
        ("attachment", "Attachments"),
        ("inline_image", "Inline images (5 MB each)"),
    ]
    .iter()
    .map(|(v, t)| ((*v).to_owned(), (*t).to_owned()))
    .collect();
    html! {
        fieldset.wide.attachments {
            legend { "Attachments" }
            @let stored: Vec<&AttachmentRef> = attachments.iter()
                .filter(|a| matches!(a, AttachmentRef::Stored { .. })).collect();
            @if stored.is_empty() { p.none { "No file attached yet." } } @else {
                table.list #files {
                    caption.sr-only { "Files attached to every email of this template" }
                    thead { tr { th scope="col" { "File" } th scope="col" { "As" } th scope="col" { "Size" }
                        th scope="col" { "Remove" } } }
                    tbody {
                        @for a in stored {
                            @if let AttachmentRef::Stored { file, name, size, kind, .. } = a {
                                @let id = format!("remove-{}", file.0);
                                tr {
                                    td data-label="File" {
                                        input type="hidden" name="stored"
                                            value=(serde_json::to_string(a).unwrap_or_default());
                                        (name)
                                    }
                                    td data-label="As" {
                                        @if *kind == FileKind::InlineImage {
                                            @let mask = format!("<img src=\"cid:f{}@mailer\" alt=\"\">", file.0);
                                            "inline image " code { (mask) } " "
                                            button.secondary.small type="button" data-copy=(mask) { "Copy" }
                                        } @else { "attachment" }
                                    }
                                    td data-label="Size" { (size_words(*size)) }
                                    td data-label="Remove" {
                                        label for=(id) { input id=(id) type="checkbox" name="remove_file"
                                            value=(file.0); span.sr-only { "Remove " (name) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            div.field {
                label for="f-new_files" { "Attach files" }
                input id="f-new_files" type="file" name="new_files" multiple aria-describedby="f-nf-hint";
                small id="f-nf-hint" { "Stored when you save; a template's files together: 50 MB at most. An \
                    inline image is shown in the body with the <img> code listed here after saving." }
            }
            (select("Attach them as", "new_kind", &kinds, "attachment"))
            div.field.wide {
                label for="f-link_attachments" { "Link attachments, one URL per line" }
                textarea id="f-link_attachments" name="link_attachments" rows="2"
                    aria-describedby="f-la-hint" { (links.join("\n")) }
                small id="f-la-hint" {
                    "Downloaded at send time; a CRM field may hold the URL: {{ lead.fields[\"Offer PDF\"] }}"
                    }
            }
        }
    }
}

fn entity_kind_name(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Lead => "lead",
        EntityKind::Contact => "contact",
        EntityKind::Company => "company",
    }
}

fn editor(session: &Session, t: &Template, c: &Choices, error: Option<&str>, done: Option<&str>) -> Markup {
    let (format, source) = match &t.content.body {
        Body::Html(s) => ("html", s.as_str()),
        Body::Markdown(s) => ("markdown", s.as_str()),
    };
    let fixed = match &t.recipients {
        RecipientRule::Fixed { address } => address.to_string(),
        RecipientRule::EntityContacts => String::new(),
    };
    let links: Vec<&str> = t
        .attachments
        .iter()
        .filter_map(|a| match a {
            AttachmentRef::Link { url, .. } => Some(url.as_str()),
            AttachmentRef::Stored { .. } => None,
        })
        .collect();
    let not_opened_hours = t.triggers.not_opened.as_ref().map_or(24, |n| n.after.as_secs() / HOUR);
    let not_opened: &[TriggerId] = t.triggers.not_opened.as_ref().map_or(&[], |n| &n.triggers);
    let mailbox_options: Vec<(String, String)> = c
        .mailboxes
        .iter()
        .map(|m| (m.id.0.to_string(), m.from.email.clone()))
        .collect();
    let kinds: Vec<(String, String)> = ["lead", "contact", "company"]
        .iter()
        .map(|k| ((*k).to_owned(), (*k).to_owned()))
        .collect();
    html! {
        div.editor {
            form #template-editor.grid method="post" action="/ui/templates/save" enctype="multipart/form-data"
                data-preview="/ui/templates/preview" {
                (layout::notice(error, done))
                (layout::csrf_field(session))
                input type="hidden" name="id" value=(t.id.0);
                (field("Name", "name", "text", &t.name, None, true))
                (field("Subject", "subject", "text", &t.content.subject,
                    Some("Variables work here too, e.g. {{ lead.name }}"), true))
                (select("Body format", "format", &[("html".into(), "HTML".into()), ("markdown".into(),
                    "Markdown".into())], format))
                div.field.wide {
                    label for="f-body" { "Body" }
                    textarea id="f-body" name="body" rows="14" spellcheck="false" aria-describedby="f-body-hint" {
                        (source) }
                    small id="f-body-hint" {
                        "CRM variables: {{ lead.name }}, {{ contact.name }}, {{ lead.fields[\"Budget\"] }}; "
                        "{triggerlink:N}, {web:N}, {unsubscribe}."
                    }
                }
                div.field.wide {
                    label for="f-text" { "Plain-text part (optional)" }
                    textarea id="f-text" name="text" rows="3" { (t.content.text.as_deref().unwrap_or("")) }
                }
                fieldset.wide {
                    legend { "Where to send" }
                    label for="to-contacts" { input id="to-contacts" type="radio" name="to" value="contacts"
                        checked[fixed.is_empty()]; " Every contact of the entity with an email address" }
                    label for="to-fixed" { input id="to-fixed" type="radio" name="to" value="fixed"
                        checked[!fixed.is_empty()]; " This address instead:" }
                    input type="text" name="to_address" value=(fixed) aria-label="Fixed address";
                }
                (attachments_fieldset(&t.attachments, &links))
                div.wide.trigger-grid {
                    (trigger_set("After sending", "on_sent", &c.triggers, &t.triggers.on_sent))
                    (trigger_set("On opening", "on_opened", &c.triggers, &t.triggers.on_opened))
                    fieldset.triggers {
                        legend { "If not opened" }
                        div.field {
                            label for="f-not_opened_hours" { "within hours" }
                            input id="f-not_opened_hours" type="number" min="1" name="not_opened_hours"
                                value=(not_opened_hours);
                        }
                        @for tr in &c.triggers {
                            @let id = format!("not_opened-{}", tr.id.0);
                            label for=(id) { input id=(id) type="checkbox" name="not_opened" value=(tr.id.0)
                                checked[not_opened.contains(&tr.id)]; " " (tr.name) }
                        }
                    }
                    (trigger_set("Failed to send", "on_failed", &c.triggers, &t.triggers.on_failed))
                    (trigger_set("On a reply from the client", "on_replied", &c.triggers, &t.triggers.on_replied))
                }
                (select("Owner", "owner", &c.owners, &t.owner.0.to_string()))
                div.field.checks {
                    label for="f-public" { input id="f-public" type="checkbox" name="public" checked[t.public];
                        " Public (every user may use it)" }
                    label for="f-signature_off" { input id="f-signature_off" type="checkbox" name="signature_off"
                        checked[t.signature_disabled]; " Leave the signature out" }
                }
                fieldset.wide.preview-for {
                    legend { "Preview for" }
                    (select("Entity", "preview_kind", &kinds, entity_kind_name(c.entity.kind)))
                    (field("CRM id", "preview_id", "number", &c.entity.id.0.to_string(), None, false))
                    (select("From mailbox", "preview_mailbox", &mailbox_options, ""))
                }
                div.actions.wide { button type="submit" { "Save template" } }
            }
            section.preview aria-labelledby="pv-h" aria-live="polite" {
                h2 id="pv-h" { "Preview" }
                p.pv-error role="alert" hidden {}
                dl {
                    dt { "To" } dd #pv-to { "—" }
                    dt { "Subject" } dd #pv-subject { "—" }
                }
                iframe #pv-html title="The email as it will be sent" sandbox="" {}
                details { summary { "Plain-text part" } pre #pv-text {} }
                noscript { p { "The live preview needs JavaScript; everything else works without it." } }
            }
        }
    }
}

/// What the editor was opened with.
#[derive(Debug, Deserialize)]
pub(crate) struct EditorQuery {
    saved: Option<String>,
}

async fn render(
    state: &AppState,
    session: &Session,
    t: &Template,
    error: Option<&str>,
    done: Option<&str>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let c = choices(state, session).await?;
    let title = if t.id.0 == 0 {
        "New template".to_owned()
    } else {
        format!("Template: {}", t.name)
    };
    Ok(layout::page_with(
        status,
        session,
        Nav::Templates,
        &title,
        editor(session, t, &c, error, done),
    ))
}

/// `GET /ui/templates/new`.
pub(crate) async fn new(State(state): State<AppState>, session: Session) -> Result<Response, UiError> {
    render(&state, &session, &blank(&session), None, None, StatusCode::OK).await
}

/// `GET /ui/templates/{id}`.
pub(crate) async fn edit(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    Query(q): Query<EditorQuery>,
) -> Result<Response, UiError> {
    let t = find(&state, &session, id).await?;
    let done = q.saved.map(|_| "Saved.");
    render(&state, &session, &t, None, done, StatusCode::OK).await
}

async fn find(state: &AppState, session: &Session, id: i64) -> Result<Template, UiError> {
    state
        .engine()
        .templates_for(session.account, session.user_id())
        .await?
        .into_iter()
        .find(|t| t.id.0 == id)
        .ok_or_else(|| {
            UiError::Engine(mailer_core::engine::EngineError::Forbidden(format!(
                "template {id} is not one you may use"
            )))
        })
}

fn ids(form: &FormData, name: &'static str) -> Result<Vec<TriggerId>, UiError> {
    Ok(form.ids(name)?.into_iter().map(TriggerId).collect())
}

/// The content part of the form (what the preview needs).
pub(crate) fn content(form: &FormData) -> Content {
    let source = form.get("body").to_owned();
    Content {
        subject: form.get("subject").to_owned(),
        body: if form.get("format") == "markdown" {
            Body::Markdown(source)
        } else {
            Body::Html(source)
        },
        text: form.opt("text").map(str::to_owned),
    }
}

/// The recipients part of the form.
pub(crate) fn recipients(form: &FormData) -> Result<RecipientRule, UiError> {
    if form.get("to") == "fixed" {
        let address = Address::parse(form.get("to_address")).map_err(|e| UiError::Invalid {
            field: "to_address",
            reason: e.to_string(),
        })?;
        Ok(RecipientRule::Fixed { address })
    } else {
        Ok(RecipientRule::EntityContacts)
    }
}

/// The stored files the form keeps: the references its rows carry, less those ticked for removal (the
/// engine checks that each is the account's and of the size it claims).
fn kept_files(form: &FormData) -> Result<Vec<AttachmentRef>, UiError> {
    let remove = form.ids("remove_file")?;
    let mut kept = Vec::new();
    for value in form.all("stored") {
        let attachment: AttachmentRef = serde_json::from_str(value).map_err(|_| UiError::Invalid {
            field: "stored",
            reason: "is not a stored file of this form; reload the page".into(),
        })?;
        match &attachment {
            AttachmentRef::Stored { file, .. } if !remove.contains(&file.0) => kept.push(attachment),
            _ => {}
        }
    }
    Ok(kept)
}

/// The template of the form, with the stored files it keeps (new uploads are added by [`save`]).
fn read(session: &Session, form: &FormData) -> Result<Template, UiError> {
    let mut attachments = kept_files(form)?;
    attachments.extend(
        form.get("link_attachments")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|url| AttachmentRef::Link {
                url: url.to_owned(),
                name: None,
            }),
    );
    let not_opened = ids(form, "not_opened")?;
    let hours: u64 = form.parse("not_opened_hours", "a whole number of hours")?;
    Ok(Template {
        id: TemplateId(form.parse("id", "an id")?),
        account: session.account,
        name: form.get("name").trim().to_owned(),
        recipients: recipients(form)?,
        content: content(form),
        attachments,
        triggers: EmailTriggers {
            on_sent: ids(form, "on_sent")?,
            on_opened: ids(form, "on_opened")?,
            not_opened: (!not_opened.is_empty()).then(|| NotOpened {
                after: Duration::from_secs(hours.saturating_mul(HOUR)),
                triggers: not_opened,
            }),
            on_failed: ids(form, "on_failed")?,
            on_replied: ids(form, "on_replied")?,
        },
        owner: form
            .parse_opt::<i64>("owner", "a user")?
            .map_or(session.user.id, UserId),
        public: form.checked("public"),
        signature_disabled: form.checked("signature_off"),
    })
}

/// Stores the files chosen in the form, as attachments or inline images of a template, and adds them to
/// `template` (before its link attachments). The engine refuses one over its limit before storing it.
async fn upload_new(
    state: &AppState,
    session: &Session,
    form: &mut FormData,
    template: &mut Template,
) -> Result<(), UiError> {
    let kind = if form.get("new_kind") == "inline_image" {
        FileKind::InlineImage
    } else {
        FileKind::Attachment
    };
    let at = template
        .attachments
        .iter()
        .take_while(|a| matches!(a, AttachmentRef::Stored { .. }))
        .count();
    for (i, part) in form.take_files().into_iter().enumerate() {
        let upload = Upload {
            account: session.account,
            name: part.name,
            content_type: part.content_type,
            bytes: part.bytes,
            kind,
            used_in: FileUse::Template,
        };
        let stored = state.engine().upload_file(session.user_id(), upload).await?;
        template.attachments.insert(at + i, stored);
    }
    Ok(())
}

/// `POST /ui/templates/save` (multipart, with the files to attach): the engine stores each new file
/// within its limit, then checks the template's rights, syntax, references and loops; a refusal shows the
/// form again, as typed and with the files stored so far, with the reason.
pub(crate) async fn save(
    State(state): State<AppState>,
    session: Session,
    mut form: FormData,
) -> Result<Response, UiError> {
    session.check_form(&form)?;
    let id: i64 = form.parse("id", "an id")?;
    let old = if id == 0 {
        None
    } else {
        Some(find(&state, &session, id).await?)
    };
    let mut template = match read(&session, &form) {
        Ok(t) => t,
        Err(e) => {
            let shown = old.unwrap_or_else(|| blank(&session));
            return render(&state, &session, &shown, Some(&e.to_string()), None, e.status()).await;
        }
    };
    if let Err(e) = upload_new(&state, &session, &mut form, &mut template).await {
        return render(&state, &session, &template, Some(&e.to_string()), None, e.status()).await;
    }
    match state.engine().save_template(session.user_id(), template.clone()).await {
        Ok(saved) => Ok(Redirect::to(&format!("/ui/templates/{}?saved=1", saved.id.0)).into_response()),
        Err(e) => {
            let e = UiError::from(e);
            render(&state, &session, &template, Some(&e.to_string()), None, e.status()).await
        }
    }
}
