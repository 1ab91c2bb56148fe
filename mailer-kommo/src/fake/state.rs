//! The fake account's data, all in one place, and the rules Kommo applies to writes.

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::TimeZone;
use mailer_core::model::EntityKind;
use serde_json::{Map, Value, json};

use super::Fault;

/// Where `_links` point: a shard host, as real Kommo answers do, so a client that follows them is caught.
pub(crate) const SHARD: &str = "https://shard152.amocrm.ru";

/// A user.
#[derive(Debug, Clone)]
pub(crate) struct UserRec {
    pub(crate) name: String,
    pub(crate) email: String,
}

/// A pipeline with its statuses in order.
#[derive(Debug, Clone)]
pub(crate) struct PipelineRec {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) statuses: Vec<(i64, String)>,
}

/// A custom field definition.
#[derive(Debug, Clone)]
pub(crate) struct FieldRec {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) field_type: String,
    pub(crate) code: Option<String>,
    pub(crate) enums: Vec<(i64, String)>,
}

/// A lead, contact or company.
#[derive(Debug, Clone)]
pub(crate) struct EntityRec {
    pub(crate) name: String,
    pub(crate) price: Option<i64>,
    pub(crate) responsible: Option<i64>,
    pub(crate) stage: Option<(i64, i64)>,
    pub(crate) tags: Vec<String>,
    /// Field id → stored values (`{"value": …, "enum_id": …}`), in the order fields were first set.
    pub(crate) fields: Vec<(i64, Vec<Value>)>,
    /// Leads and companies: linked contacts.
    pub(crate) contacts: Vec<i64>,
    /// Leads and contacts: the linked company.
    pub(crate) company: Option<i64>,
}

impl EntityRec {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            price: None,
            responsible: None,
            stage: None,
            tags: Vec::new(),
            fields: Vec::new(),
            contacts: Vec::new(),
            company: None,
        }
    }
}

/// A note or task as created.
#[derive(Debug, Clone)]
pub(crate) struct Attached {
    pub(crate) entity: (EntityKind, i64),
    pub(crate) body: Value,
}

/// A refresh token's life.
#[derive(Debug, Clone)]
pub(crate) struct Refresh {
    /// The token this one was bought with; revoked when this one is first used.
    pub(crate) predecessor: Option<String>,
    pub(crate) revoked: bool,
    /// How many pairs it bought.
    pub(crate) spent: u32,
}

/// One request as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// `GET`, `POST` …
    pub method: String,
    /// The path.
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The body as text.
    pub body: String,
    /// The status answered.
    pub status: u16,
}

/// Everything the fake holds.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) next_id: i64,
    pub(crate) account_id: i64,
    pub(crate) subdomain: String,
    pub(crate) timezone: chrono_tz::Tz,
    pub(crate) users: BTreeMap<i64, UserRec>,
    pub(crate) pipelines: Vec<PipelineRec>,
    pub(crate) fields: BTreeMap<EntityKind, Vec<FieldRec>>,
    pub(crate) entities: BTreeMap<(EntityKind, i64), EntityRec>,
    pub(crate) notes: Vec<Attached>,
    pub(crate) tasks: Vec<Attached>,
    pub(crate) bot_answers: Vec<(String, Value)>,
    // auth
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) redirect_uri: String,
    pub(crate) clock_offset: i64,
    /// How long an access token lives, in seconds (Kommo: a day).
    pub(crate) access_lifetime: i64,
    pub(crate) access: HashMap<String, i64>,
    pub(crate) refresh: HashMap<String, Refresh>,
    pub(crate) codes: HashMap<String, i64>,
    // behaviour
    pub(crate) faults: VecDeque<Fault>,
    pub(crate) html_errors: bool,
    pub(crate) rate_limit: Option<usize>,
    pub(crate) rate_retry_after: u64,
    pub(crate) arrivals: VecDeque<std::time::Instant>,
    /// The most requests that arrived within one second so far, refused ones included.
    pub(crate) peak_per_second: usize,
    pub(crate) log: Vec<Logged>,
}

impl State {
    pub(crate) fn new() -> Self {
        Self {
            next_id: 10_000,
            account_id: 31_000_001,
            subdomain: "fake".into(),
            timezone: chrono_tz::UTC,
            users: BTreeMap::new(),
            pipelines: Vec::new(),
            fields: BTreeMap::new(),
            entities: BTreeMap::new(),
            notes: Vec::new(),
            tasks: Vec::new(),
            bot_answers: Vec::new(),
            client_id: "00000000-0000-4000-8000-000000000001".into(),
            client_secret: "fake-integration-secret".into(),
            redirect_uri: "https://mailer.example/oauth/kommo".into(),
            clock_offset: 0,
            access_lifetime: 86_400,
            access: HashMap::new(),
            refresh: HashMap::new(),
            codes: HashMap::new(),
            faults: VecDeque::new(),
            html_errors: false,
            rate_limit: Some(7),
            rate_retry_after: 1,
            arrivals: VecDeque::new(),
            peak_per_second: 0,
            log: Vec::new(),
        }
    }

    pub(crate) fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// The fake's clock: the system's, moved by `advance`.
    pub(crate) fn now(&self) -> i64 {
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        system.saturating_add(self.clock_offset)
    }

    pub(crate) fn token(&mut self, prefix: &str) -> String {
        let n = self.id();
        format!("{prefix}-{n}-{:x}", n.wrapping_mul(0x0005_DEEC_E66D).rotate_left(17))
    }

    /// Issues a new pair; `bought_with` becomes the new refresh token's predecessor.
    pub(crate) fn issue_pair(&mut self, bought_with: Option<String>) -> (String, String) {
        let access = self.token("at");
        let refresh = self.token("rt");
        let expires = self.now() + self.access_lifetime;
        self.access.insert(access.clone(), expires);
        self.refresh.insert(
            refresh.clone(),
            Refresh {
                predecessor: bought_with,
                revoked: false,
                spent: 0,
            },
        );
        (access, refresh)
    }

    pub(crate) fn field(&self, kind: EntityKind, id: i64) -> Option<&FieldRec> {
        self.fields.get(&kind)?.iter().find(|f| f.id == id)
    }

    /// Leads linked to a contact or company, in id order.
    pub(crate) fn leads_of(&self, kind: EntityKind, id: i64) -> Vec<i64> {
        self.entities
            .iter()
            .filter(|((k, _), e)| {
                *k == EntityKind::Lead
                    && match kind {
                        EntityKind::Contact => e.contacts.contains(&id),
                        EntityKind::Company => e.company == Some(id),
                        EntityKind::Lead => false,
                    }
            })
            .map(|((_, lead), _)| *lead)
            .collect()
    }

    /// An entity as Kommo shows it.
    pub(crate) fn render(&self, kind: EntityKind, id: i64, with: &[&str]) -> Option<Value> {
        let e = self.entities.get(&(kind, id))?;
        let plural = super::routes::plural(kind);
        let link = |p: &str, id: i64| json!({ "self": { "href": format!("{SHARD}/api/v4/{p}/{id}") } });
        let fields: Vec<Value> = e
            .fields
            .iter()
            .filter_map(|(fid, values)| {
                let def = self.field(kind, *fid)?;
                Some(json!({
                    "field_id": fid, "field_name": def.name, "field_code": def.code,
                    "field_type": def.field_type, "values": values,
                }))
            })
            .collect();
        let mut embedded = Map::new();
        embedded.insert(
            "tags".into(),
            e.tags
                .iter()
                .map(|t| json!({ "id": tag_id(t), "name": t, "color": null }))
                .collect(),
        );
        if kind != EntityKind::Company {
            let companies: Vec<Value> = e
                .company
                .iter()
                .map(|c| json!({ "id": c, "_links": link("companies", *c) }))
                .collect();
            embedded.insert("companies".into(), Value::Array(companies));
        }
        if with.contains(&"contacts") && kind != EntityKind::Contact {
            let contacts: Vec<Value> = e
                .contacts
                .iter()
                .enumerate()
                .map(|(i, c)| json!({ "id": c, "is_main": i == 0, "_links": link("contacts", *c) }))
                .collect();
            embedded.insert("contacts".into(), Value::Array(contacts));
        }
        if with.contains(&"leads") && kind != EntityKind::Lead {
            let leads: Vec<Value> = self
                .leads_of(kind, id)
                .into_iter()
                .map(|l| json!({ "id": l, "_links": link("leads", l) }))
                .collect();
            embedded.insert("leads".into(), Value::Array(leads));
        }
        let mut out = json!({
            "id": id, "name": e.name, "responsible_user_id": e.responsible.unwrap_or(0),
            "group_id": 0, "created_by": 0, "updated_by": 0, "created_at": 1_700_000_000,
            "updated_at": self.now(), "closest_task_at": null, "is_deleted": false,
            "custom_fields_values": if fields.is_empty() { Value::Null } else { Value::Array(fields) },
            "account_id": self.account_id, "_links": link(plural, id), "_embedded": embedded,
        });
        if kind == EntityKind::Lead
            && let Some(map) = out.as_object_mut()
        {
            map.insert("price".into(), json!(e.price.unwrap_or(0)));
            map.insert("pipeline_id".into(), json!(e.stage.map(|s| s.0)));
            map.insert("status_id".into(), json!(e.stage.map(|s| s.1)));
            map.insert("loss_reason_id".into(), Value::Null);
        }
        Some(out)
    }

    /// The account-local midnight of the day a timestamp falls on (how Kommo stores `date` fields).
    fn local_midnight(&self, ts: i64) -> Option<i64> {
        let day = chrono::DateTime::from_timestamp(ts, 0)?
            .with_timezone(&self.timezone)
            .date_naive();
        let t = self
            .timezone
            .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
            .earliest()?;
        Some(t.timestamp())
    }
}

/// A stable id for a tag name.
pub(crate) fn tag_id(name: &str) -> i64 {
    name.bytes()
        .fold(1_000_i64, |h, b| h.wrapping_mul(31).wrapping_add(i64::from(b)))
        .rem_euclid(1_000_000_000)
}

/// Problems found in one write item: (code, path, detail).
pub(crate) type Problems = Vec<(String, String, String)>;

fn problem(problems: &mut Problems, code: &str, path: String, detail: &str) {
    problems.push((code.to_owned(), path, detail.to_owned()));
}

impl State {
    /// Checks one `custom_fields_values` item and returns the field id and the values to store
    /// (`None` clears the field).
    fn field_write(
        &self,
        kind: EntityKind,
        i: usize,
        item: &Value,
        problems: &mut Problems,
    ) -> Option<(i64, Option<Vec<Value>>)> {
        let at = |rest: &str| format!("custom_fields_values.{i}{rest}");
        let def = item
            .get("field_id")
            .and_then(Value::as_i64)
            .and_then(|id| self.field(kind, id))
            .or_else(|| {
                let code = item.get("field_code").and_then(Value::as_str)?;
                self.fields.get(&kind)?.iter().find(|f| f.code.as_deref() == Some(code))
            });
        let Some(def) = def else {
            problem(
                problems,
                "NotSupportedChoice",
                at(".field_id"),
                "The value you selected is not a valid choice.",
            );
            return None;
        };
        let values = match item.get("values") {
            None | Some(Value::Null) => return Some((def.id, None)),
            Some(Value::Array(values)) => values,
            Some(_) => {
                problem(
                    problems,
                    "InvalidType",
                    at(".values"),
                    "This value should be of type array.",
                );
                return None;
            }
        };
        let allowed: &[&str] = match def.field_type.as_str() {
            "multitext" => &["value", "enum_id", "enum_code"],
            "select" | "radiobutton" | "multiselect" => &["value", "enum_id"],
            _ => &["value"],
        };
        let mut stored = Vec::new();
        for (j, v) in values.iter().enumerate() {
            let vat = |rest: &str| at(&format!(".values.{j}{rest}"));
            let Some(obj) = v.as_object() else {
                problem(problems, "InvalidType", vat(""), "This value should be of type object.");
                continue;
            };
            if let Some(key) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
                problem(
                    problems,
                    "FieldNotExpected",
                    vat(&format!(".{key}")),
                    "This field was not expected.",
                );
                continue;
            }
            let value = obj.get("value");
            let ok = match def.field_type.as_str() {
                "text" | "textarea" | "url" | "streetaddress" => match value {
                    Some(Value::String(s)) => Some(json!({ "value": s })),
                    _ => None,
                },
                "numeric" | "price" | "monetary" => match value {
                    Some(Value::Number(n)) => Some(json!({ "value": n.to_string() })),
                    Some(Value::String(s)) if s.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
                        Some(json!({ "value": s.trim() }))
                    }
                    _ => None,
                },
                "checkbox" => value.and_then(Value::as_bool).map(|b| json!({ "value": b })),
                "select" | "radiobutton" | "multiselect" => {
                    let by_id = obj
                        .get("enum_id")
                        .and_then(Value::as_i64)
                        .and_then(|id| def.enums.iter().find(|(e, _)| *e == id));
                    let by_text = value
                        .and_then(Value::as_str)
                        .and_then(|t| def.enums.iter().find(|(_, e)| e == t));
                    match by_id.or(by_text) {
                        Some((id, text)) => Some(json!({ "value": text, "enum_id": id })),
                        None => {
                            problem(
                                problems,
                                "NotSupportedChoice",
                                vat(".enum_id"),
                                "The value you selected is not a valid choice.",
                            );
                            continue;
                        }
                    }
                }
                "date" | "date_time" | "birthday" => {
                    let ts = match value {
                        Some(Value::Number(n)) => n.as_i64(),
                        Some(Value::String(s)) => s
                            .parse::<i64>()
                            .ok()
                            .or_else(|| chrono::DateTime::parse_from_rfc3339(s).ok().map(|d| d.timestamp())),
                        _ => None,
                    };
                    let ts = if def.field_type == "date_time" {
                        ts
                    } else {
                        ts.and_then(|t| self.local_midnight(t))
                    };
                    ts.map(|t| json!({ "value": t }))
                }
                "multitext" => match value {
                    Some(Value::String(s)) => {
                        let code = obj.get("enum_code").and_then(Value::as_str).unwrap_or("WORK");
                        Some(json!({ "value": s, "enum_code": code }))
                    }
                    _ => None,
                },
                _ => value.map(|v| json!({ "value": v })),
            };
            match ok {
                Some(v) => stored.push(v),
                None => problem(
                    problems,
                    "InvalidType",
                    vat(".value"),
                    "This value is not valid for the field type.",
                ),
            }
        }
        let single = matches!(
            def.field_type.as_str(),
            "select" | "radiobutton" | "checkbox" | "text" | "numeric" | "date"
        );
        if single && stored.len() > 1 {
            problem(problems, "InvalidType", at(".values"), "This field takes one value.");
        }
        Some((def.id, if stored.is_empty() { None } else { Some(stored) }))
    }

    fn check_stage(&self, pipeline: Option<i64>, status: Option<i64>, problems: &mut Problems) -> Option<(i64, i64)> {
        let pipeline = match pipeline {
            Some(p) => match self.pipelines.iter().find(|x| x.id == p) {
                Some(x) => x,
                None => {
                    problem(
                        problems,
                        "NotSupportedChoice",
                        "pipeline_id".into(),
                        "The value you selected is not a valid choice.",
                    );
                    return None;
                }
            },
            None => self.pipelines.first()?,
        };
        let status = match status {
            Some(s) if pipeline.statuses.iter().any(|(id, _)| *id == s) => s,
            Some(_) => {
                problem(
                    problems,
                    "NotSupportedChoice",
                    "status_id".into(),
                    "The value you selected is not a valid choice.",
                );
                return None;
            }
            None => pipeline.statuses.first()?.0,
        };
        Some((pipeline.id, status))
    }

    /// Applies a PATCH (or the fields of a POST) to `rec`; nothing changes when there are problems.
    pub(crate) fn write_entity(&self, kind: EntityKind, rec: &mut EntityRec, body: &Value, creating: bool) -> Problems {
        let mut problems = Problems::new();
        let Some(obj) = body.as_object() else {
            problem(
                &mut problems,
                "InvalidType",
                String::new(),
                "This value should be of type object.",
            );
            return problems;
        };
        let mut next = rec.clone();
        for (key, value) in obj {
            match key.as_str() {
                "id" | "request_id" | "updated_at" | "created_at" => {}
                "name" => match value.as_str() {
                    Some(n) => next.name = n.to_owned(),
                    None => problem(
                        &mut problems,
                        "InvalidType",
                        "name".into(),
                        "This value should be of type string.",
                    ),
                },
                "price" if kind == EntityKind::Lead => match value.as_i64() {
                    Some(p) => next.price = Some(p),
                    None => problem(
                        &mut problems,
                        "InvalidType",
                        "price".into(),
                        "This value should be of type int.",
                    ),
                },
                "responsible_user_id" => match value.as_i64() {
                    Some(u) if self.users.contains_key(&u) => next.responsible = Some(u),
                    _ => problem(
                        &mut problems,
                        "NotSupportedChoice",
                        "responsible_user_id".into(),
                        "Unknown user.",
                    ),
                },
                "status_id" | "pipeline_id" if kind == EntityKind::Lead => {}
                "custom_fields_values" => match value.as_array() {
                    Some(items) => {
                        for (i, item) in items.iter().enumerate() {
                            if let Some((field, values)) = self.field_write(kind, i, item, &mut problems) {
                                let pos = next.fields.iter().position(|(f, _)| *f == field);
                                match (pos, values) {
                                    (Some(p), Some(v)) => next.fields[p].1 = v,
                                    (None, Some(v)) => next.fields.push((field, v)),
                                    (Some(p), None) => {
                                        next.fields.remove(p);
                                    }
                                    (None, None) => {}
                                }
                            }
                        }
                    }
                    None => problem(
                        &mut problems,
                        "InvalidType",
                        "custom_fields_values".into(),
                        "This value should be of type array.",
                    ),
                },
                "tags_to_add" | "tags_to_delete" => {
                    for tag in value.as_array().into_iter().flatten() {
                        let name = tag.get("name").and_then(Value::as_str).map(str::to_owned).or_else(|| {
                            let id = tag.get("id").and_then(Value::as_i64)?;
                            next.tags.iter().find(|t| tag_id(t) == id).cloned()
                        });
                        match (key.as_str(), name) {
                            ("tags_to_add", Some(n)) if !next.tags.contains(&n) => next.tags.push(n),
                            ("tags_to_delete", Some(n)) => next.tags.retain(|t| *t != n),
                            _ => {}
                        }
                    }
                }
                "_embedded" => {
                    if let Some(tags) = value.get("tags") {
                        next.tags = tags
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
                            .collect();
                    }
                    if creating {
                        for c in value.get("contacts").and_then(Value::as_array).into_iter().flatten() {
                            match c.get("id").and_then(Value::as_i64) {
                                Some(id) if self.entities.contains_key(&(EntityKind::Contact, id)) => {
                                    next.contacts.push(id)
                                }
                                _ => problem(
                                    &mut problems,
                                    "NotSupportedChoice",
                                    "_embedded.contacts".into(),
                                    "Unknown contact.",
                                ),
                            }
                        }
                        if let Some(c) = value.pointer("/companies/0/id").and_then(Value::as_i64) {
                            next.company = Some(c);
                        }
                    }
                }
                other => problem(
                    &mut problems,
                    "FieldNotExpected",
                    other.to_owned(),
                    "This field was not expected.",
                ),
            }
        }
        if kind == EntityKind::Lead && (creating || obj.contains_key("status_id") || obj.contains_key("pipeline_id")) {
            let pipeline = obj
                .get("pipeline_id")
                .and_then(Value::as_i64)
                .or(if obj.contains_key("status_id") {
                    rec.stage.map(|s| s.0)
                } else {
                    None
                });
            let status = obj.get("status_id").and_then(Value::as_i64);
            if let Some(stage) = self.check_stage(pipeline, status, &mut problems) {
                next.stage = Some(stage);
            }
        }
        if problems.is_empty() {
            *rec = next;
        }
        problems
    }
}
