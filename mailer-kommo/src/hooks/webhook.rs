//! Account webhooks (and the digital pipeline's plain "send webhook" action, which uses the same form):
//! `leads[add|update|delete|restore|status|responsible|note][i][…]`, `contacts[…][i][…]`, `account[…]`.

use mailer_core::model::{CrmId, CrmUserId, EntityKind, EntityRef, EnumId, FieldId, PipelineId, StageId};

use super::HookError;
use super::form::{FormValue, parse_form};

/// What happened to the entity.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HookAction {
    /// Created.
    Add,
    /// Changed.
    Update,
    /// Deleted.
    Delete,
    /// Restored from deletion.
    Restore,
    /// Moved to another stage (leads).
    Status,
    /// Given to another responsible user.
    Responsible,
    /// Any other action name.
    Other(String),
}

impl HookAction {
    fn parse(name: &str) -> Self {
        match name {
            "add" => Self::Add,
            "update" => Self::Update,
            "delete" => Self::Delete,
            "restore" => Self::Restore,
            "status" => Self::Status,
            "responsible" => Self::Responsible,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// One value of a custom field in a webhook (the legacy `values[j][value|enum]` shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookFieldValue {
    /// The value as sent (a date is a bare Unix timestamp).
    pub value: String,
    /// The list option, for list fields (a numeric `enum`).
    pub enum_id: Option<EnumId>,
    /// The option code, for phones and emails (a non-numeric `enum`, e.g. `WORK`).
    pub enum_code: Option<String>,
}

/// A custom field in a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookField {
    /// The field.
    pub id: FieldId,
    /// Its name.
    pub name: Option<String>,
    /// Its code (`PHONE`, `EMAIL` …).
    pub code: Option<String>,
    /// Its values.
    pub values: Vec<HookFieldValue>,
}

/// A lead in a webhook. Fields Kommo left out are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadHook {
    /// The lead.
    pub id: CrmId,
    /// Its name.
    pub name: Option<String>,
    /// Its stage: pipeline and status together (status ids 142/143 exist in every pipeline).
    pub stage: Option<(PipelineId, StageId)>,
    /// The stage before a move.
    pub old_stage: Option<(PipelineId, StageId)>,
    /// Budget.
    pub price: Option<i64>,
    /// Responsible user.
    pub responsible: Option<CrmUserId>,
    /// The responsible user before a change.
    pub old_responsible: Option<CrmUserId>,
    /// Tags by name.
    pub tags: Vec<String>,
    /// Custom fields.
    pub fields: Vec<HookField>,
    /// When it changed (Unix seconds).
    pub updated_at: Option<i64>,
}

/// A contact or company in a webhook (Kommo sends both under `contacts[…]`, told apart by `type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactHook {
    /// The contact or company.
    pub entity: EntityRef,
    /// Its name.
    pub name: Option<String>,
    /// Responsible user.
    pub responsible: Option<CrmUserId>,
    /// The responsible user before a change.
    pub old_responsible: Option<CrmUserId>,
    /// The linked company (contacts).
    pub company: Option<CrmId>,
    /// Linked leads.
    pub leads: Vec<CrmId>,
    /// Tags by name.
    pub tags: Vec<String>,
    /// Custom fields (phones and emails included, by code).
    pub fields: Vec<HookField>,
    /// When it changed (Unix seconds).
    pub updated_at: Option<i64>,
}

/// A note added to an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteHook {
    /// The note.
    pub id: CrmId,
    /// The entity it is on.
    pub entity: EntityRef,
    /// Its text.
    pub text: Option<String>,
    /// Kommo's legacy numeric note type (4 = text).
    pub note_type: Option<i64>,
}

/// One event of a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookEvent {
    /// Something happened to a lead.
    Lead {
        /// What.
        action: HookAction,
        /// The lead.
        lead: LeadHook,
    },
    /// Something happened to a contact or company.
    Contact {
        /// What.
        action: HookAction,
        /// The contact or company.
        contact: ContactHook,
    },
    /// A note was added.
    Note(NoteHook),
    /// An entity this crate does not model (tasks, unsorted, chats …), by section and action.
    Other {
        /// The top-level key, e.g. `task`.
        entity: String,
        /// The action key, e.g. `add`.
        action: String,
    },
}

/// The account a webhook came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HookAccount {
    /// Kommo's account id.
    pub id: Option<i64>,
    /// The subdomain.
    pub subdomain: Option<String>,
    /// The account URL (`account[_links][self]`).
    pub url: Option<String>,
}

/// A parsed account webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountWebhook {
    /// Where it came from.
    pub account: HookAccount,
    /// What happened, in the order of the body's sections.
    pub events: Vec<WebhookEvent>,
}

/// Reads one item of a section, with the item's key prefix for error messages.
struct Item<'a> {
    node: &'a FormValue,
    prefix: String,
}

impl Item<'_> {
    fn text(&self, key: &str) -> Option<&str> {
        self.node.text(&[key]).map(str::trim).filter(|t| !t.is_empty())
    }

    fn int(&self, key: &str) -> Result<Option<i64>, HookError> {
        self.text(key)
            .map(|t| {
                t.parse::<i64>().map_err(|_| HookError::Invalid {
                    field: format!("{}[{key}]", self.prefix),
                    value: t.to_owned(),
                })
            })
            .transpose()
    }

    fn id(&self, key: &str) -> Result<i64, HookError> {
        self.int(key)?.ok_or_else(|| HookError::Missing {
            field: format!("{}[{key}]", self.prefix),
        })
    }

    fn stage(&self, pipeline: &str, status: &str) -> Result<Option<(PipelineId, StageId)>, HookError> {
        Ok(self
            .int(pipeline)?
            .zip(self.int(status)?)
            .map(|(p, s)| (PipelineId(p), StageId(s))))
    }

    fn tags(&self) -> Vec<String> {
        let Some(tags) = self.node.get(&["tags"]) else {
            return Vec::new();
        };
        tags.entries()
            .iter()
            .filter_map(|(_, t)| t.text(&["name"]).map(str::to_owned))
            .collect()
    }

    fn fields(&self) -> Result<Vec<HookField>, HookError> {
        let Some(fields) = self.node.get(&["custom_fields"]) else {
            return Ok(Vec::new());
        };
        fields
            .entries()
            .iter()
            .map(|(i, f)| {
                let item = Item {
                    node: f,
                    prefix: format!("{}[custom_fields][{i}]", self.prefix),
                };
                let values = match f.get(&["values"]) {
                    Some(FormValue::Text(t)) => vec![HookFieldValue {
                        value: t.clone(),
                        enum_id: None,
                        enum_code: None,
                    }],
                    Some(values) => values
                        .entries()
                        .iter()
                        .map(|(_, v)| match v {
                            // date fields: a bare `values[0]=ts`
                            FormValue::Text(t) => HookFieldValue {
                                value: t.clone(),
                                enum_id: None,
                                enum_code: None,
                            },
                            FormValue::Map(_) => {
                                let raw = v.text(&["enum"]).map(str::trim).filter(|e| !e.is_empty());
                                let enum_id = raw.and_then(|e| e.parse().ok()).map(EnumId);
                                HookFieldValue {
                                    value: v.text(&["value"]).unwrap_or_default().to_owned(),
                                    enum_id,
                                    enum_code: raw.filter(|_| enum_id.is_none()).map(str::to_owned),
                                }
                            }
                        })
                        .collect(),
                    None => Vec::new(),
                };
                Ok(HookField {
                    id: FieldId(item.id("id")?),
                    name: item.text("name").map(str::to_owned),
                    code: item.text("code").map(str::to_owned),
                    values,
                })
            })
            .collect()
    }
}

fn lead(item: &Item<'_>) -> Result<LeadHook, HookError> {
    Ok(LeadHook {
        id: CrmId(item.id("id")?),
        name: item.text("name").map(str::to_owned),
        stage: item.stage("pipeline_id", "status_id")?,
        old_stage: match item.int("old_status_id")? {
            Some(old) => {
                let pipeline = item.int("old_pipeline_id")?.or(item.int("pipeline_id")?);
                pipeline.map(|p| (PipelineId(p), StageId(old)))
            }
            None => None,
        },
        price: item.int("price")?,
        responsible: item.int("responsible_user_id")?.map(CrmUserId),
        old_responsible: item.int("old_responsible_user_id")?.map(CrmUserId),
        tags: item.tags(),
        fields: item.fields()?,
        updated_at: item.int("updated_at")?.or(item.int("last_modified")?),
    })
}

fn contact(item: &Item<'_>) -> Result<ContactHook, HookError> {
    let kind = match item.text("type") {
        Some("company") => EntityKind::Company,
        _ => EntityKind::Contact,
    };
    let leads = match item.node.get(&["linked_leads_id"]) {
        Some(FormValue::Map(map)) => map
            .keys()
            .map(|k| {
                k.parse::<i64>().map(CrmId).map_err(|_| HookError::Invalid {
                    field: format!("{}[linked_leads_id]", item.prefix),
                    value: k.clone(),
                })
            })
            .collect::<Result<_, _>>()?,
        _ => Vec::new(),
    };
    Ok(ContactHook {
        entity: EntityRef {
            kind,
            id: CrmId(item.id("id")?),
        },
        name: item.text("name").map(str::to_owned),
        responsible: item.int("responsible_user_id")?.map(CrmUserId),
        old_responsible: item.int("old_responsible_user_id")?.map(CrmUserId),
        company: item.int("linked_company_id")?.filter(|id| *id > 0).map(CrmId),
        leads,
        tags: item.tags(),
        fields: item.fields()?,
        updated_at: item.int("updated_at")?.or(item.int("last_modified")?),
    })
}

fn note(section: &str, item: &Item<'_>) -> Result<NoteHook, HookError> {
    let inner = Item {
        node: item.node.get(&["note"]).unwrap_or(item.node),
        prefix: format!("{}[note]", item.prefix),
    };
    let kind = match (section, item.text("type")) {
        ("leads", _) => EntityKind::Lead,
        (_, Some("company")) => EntityKind::Company,
        _ => EntityKind::Contact,
    };
    Ok(NoteHook {
        id: CrmId(inner.id("id")?),
        entity: EntityRef {
            kind,
            id: CrmId(inner.id("element_id")?),
        },
        text: inner.text("text").map(str::to_owned),
        note_type: inner.int("note_type")?,
    })
}

/// Parses an account webhook body.
///
/// # Errors
/// A [`HookError`] for a malformed form, a section that is not a list of items, an item without an `id`,
/// or a number field that is not a number. Sections this crate does not model become
/// [`WebhookEvent::Other`].
pub fn parse_account_webhook(body: &[u8]) -> Result<AccountWebhook, HookError> {
    let form = parse_form(body)?;
    let mut events = Vec::new();
    for (section, actions) in form.entries() {
        if section == "account" {
            continue;
        }
        let FormValue::Map(_) = actions else {
            return Err(HookError::Invalid {
                field: section.to_owned(),
                value: actions.text(&[]).unwrap_or_default().to_owned(),
            });
        };
        for (action, items) in actions.entries() {
            if !matches!(section, "leads" | "contacts") {
                events.push(WebhookEvent::Other {
                    entity: section.to_owned(),
                    action: action.to_owned(),
                });
                continue;
            }
            for (i, node) in items.entries() {
                let item = Item {
                    node,
                    prefix: format!("{section}[{action}][{i}]"),
                };
                events.push(match (section, action) {
                    (_, "note") => WebhookEvent::Note(note(section, &item)?),
                    ("leads", _) => WebhookEvent::Lead {
                        action: HookAction::parse(action),
                        lead: lead(&item)?,
                    },
                    _ => WebhookEvent::Contact {
                        action: HookAction::parse(action),
                        contact: contact(&item)?,
                    },
                });
            }
        }
    }
    let account = match form.get(&["account"]) {
        Some(node) => {
            let item = Item {
                node,
                prefix: "account".into(),
            };
            HookAccount {
                id: item.int("id")?,
                subdomain: item.text("subdomain").map(str::to_owned),
                url: node.text(&["_links", "self"]).map(str::to_owned),
            }
        }
        None => HookAccount::default(),
    };
    if events.is_empty() && account.id.is_none() {
        return Err(HookError::Missing {
            field: "account[id]".into(),
        });
    }
    Ok(AccountWebhook { account, events })
}
