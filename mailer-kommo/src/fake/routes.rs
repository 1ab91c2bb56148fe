//! The fake's HTTP surface: the gate (log, rate limit, injected faults, bearer check) and the handlers.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State as AxState};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mailer_core::model::EntityKind;
use serde_json::{Value, json};

use super::answers::{empty, gate, hal, invalid, oauth_problem, problem};
use super::state::{Attached, EntityRec, Problems, SHARD, State};

pub(crate) type Shared = Arc<Mutex<State>>;

pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn plural(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Lead => "leads",
        EntityKind::Contact => "contacts",
        EntityKind::Company => "companies",
    }
}

fn kind_of(plural: &str) -> Option<EntityKind> {
    match plural {
        "leads" => Some(EntityKind::Lead),
        "contacts" => Some(EntityKind::Contact),
        "companies" => Some(EntityKind::Company),
        _ => None,
    }
}

pub(crate) fn router(shared: Shared) -> Router {
    Router::new()
        .route("/oauth2/access_token", post(token))
        .route("/api/v4/account", get(account))
        .route("/api/v4/users/{id}", get(user))
        .route("/api/v4/leads/pipelines", get(pipelines))
        .route("/api/v4/tasks", post(add_tasks))
        .route("/api/v4/salesbot/{bot}/continue/{id}", post(bot_continue))
        .route("/api/v4/{entity}/custom_fields", get(custom_fields))
        .route("/api/v4/{entity}", get(list).post(create))
        .route("/api/v4/{entity}/{id}", get(one).patch(patch))
        .route("/api/v4/{entity}/{id}/notes", post(add_notes))
        .fallback(not_found)
        .layer(from_fn_with_state(Arc::clone(&shared), gate))
        .with_state(shared)
}

async fn not_found(request: Request) -> Response {
    let detail = format!(
        "Cannot {} https://fake.kommo.com{}",
        request.method(),
        request.uri().path()
    );
    problem(StatusCode::NOT_FOUND, &detail, None)
}

// ---------- helpers ----------

fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn with_list(q: &[(String, String)]) -> Vec<String> {
    param(q, "with")
        .map(|w| w.split(',').map(|s| s.trim().to_owned()).collect())
        .unwrap_or_default()
}

/// `page` and `limit`, or the 422 Kommo gives for a limit above 250.
#[allow(clippy::result_large_err)] // the Err is the handler's answer, returned at once
fn paging(q: &[(String, String)], cap: usize) -> Result<(usize, usize), Response> {
    let limit = param(q, "limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(50);
    if limit > 250 {
        return Err(problem(StatusCode::UNPROCESSABLE_ENTITY, "Limit 250 per page", None));
    }
    let page = param(q, "page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    Ok((page, limit.clamp(1, cap)))
}

/// A HAL page of `items`; `_links.next` is there even on the last page, as in Kommo.
fn page_of(path: &str, key: &str, items: Vec<Value>, page: usize, limit: usize) -> Response {
    let chunk: Vec<Value> = items.into_iter().skip((page - 1) * limit).take(limit).collect();
    if chunk.is_empty() {
        return empty();
    }
    let href = |p: usize| json!({ "href": format!("{SHARD}{path}?limit={limit}&page={p}") });
    let mut links = json!({ "self": href(page), "next": href(page + 1), "first": href(1) });
    if page > 1
        && let Some(map) = links.as_object_mut()
    {
        map.insert("prev".into(), href(page - 1));
    }
    hal(
        StatusCode::OK,
        &json!({ "_page": page, "_links": links, "_embedded": { key: chunk } }),
    )
}

#[allow(clippy::result_large_err)] // the Err is the handler's answer, returned at once
fn json_body(bytes: &Bytes) -> Result<Value, Response> {
    if bytes.trim_ascii().is_empty() {
        return Err(problem(StatusCode::BAD_REQUEST, "Request data can not be empty", None));
    }
    serde_json::from_slice(bytes).map_err(|_| problem(StatusCode::BAD_REQUEST, "Invalid JSON body", None))
}

fn request_id(item: &Value, i: usize) -> String {
    match item.get("request_id") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => i.to_string(),
    }
}

fn created(path: &str, items: Vec<(i64, String, Option<i64>)>, key: &str) -> Response {
    let list: Vec<Value> = items
        .into_iter()
        .map(|(id, rid, entity)| {
            let mut v =
                json!({ "id": id, "request_id": rid, "_links": { "self": { "href": format!("{SHARD}{path}/{id}") } } });
            if let (Some(e), Some(m)) = (entity, v.as_object_mut()) {
                m.insert("entity_id".into(), json!(e));
            }
            v
        })
        .collect();
    hal(
        StatusCode::OK,
        &json!({ "_links": { "self": { "href": format!("{SHARD}{path}") } }, "_embedded": { key: list } }),
    )
}

// ---------- handlers ----------

async fn token(AxState(shared): AxState<Shared>, body: Bytes) -> Response {
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut s = lock(&shared);
    if text("client_id") != s.client_id || text("client_secret") != s.client_secret {
        return oauth_problem("Client authentication failed");
    }
    let bought_with = match text("grant_type").as_str() {
        "authorization_code" => {
            let now = s.now();
            match s.codes.remove(&text("code")) {
                Some(exp) if exp > now => None,
                _ => return oauth_problem("Authorization code has expired or was used"),
            }
        }
        "refresh_token" => {
            let rt = text("refresh_token");
            let predecessor = match s.refresh.get_mut(&rt) {
                Some(r) if !r.revoked => {
                    r.spent += 1;
                    r.predecessor.clone()
                }
                _ => return oauth_problem("Token has been revoked"),
            };
            // the new token is used: its predecessor stops working
            if let Some(old) = predecessor.and_then(|p| s.refresh.get_mut(&p)) {
                old.revoked = true;
            }
            Some(rt)
        }
        _ => return problem(StatusCode::BAD_REQUEST, "Unsupported grant type", None),
    };
    let (access, refresh) = s.issue_pair(bought_with);
    let now = s.now();
    hal(
        StatusCode::OK,
        &json!({ "token_type": "Bearer", "expires_in": s.access_lifetime, "server_time": now,
                 "access_token": access, "refresh_token": refresh }),
    )
}

async fn account(AxState(shared): AxState<Shared>, RawQuery(q): RawQuery) -> Response {
    let q = pairs(q.as_deref());
    let s = lock(&shared);
    let mut body = json!({
        "id": s.account_id, "name": s.subdomain, "subdomain": s.subdomain, "current_user_id": s.users.keys().next(),
        "country": "US", "currency": "USD", "customers_mode": "disabled", "is_unsorted_on": true,
        "_links": { "self": { "href": format!("{SHARD}/api/v4/account") } },
    });
    if with_list(&q).iter().any(|w| w == "datetime_settings")
        && let Some(map) = body.as_object_mut()
    {
        let tz = s.timezone.name();
        map.insert(
            "_embedded".into(),
            json!({ "datetime_settings": { "date_pattern": "Y-m-d", "timezone": tz, "timezone_offset": "" } }),
        );
    }
    hal(StatusCode::OK, &body)
}

async fn user(AxState(shared): AxState<Shared>, Path(id): Path<String>) -> Response {
    let s = lock(&shared);
    match id.parse::<i64>().ok().and_then(|id| s.users.get(&id).map(|u| (id, u))) {
        Some((id, u)) => hal(
            StatusCode::OK,
            &json!({ "id": id, "name": u.name, "email": u.email, "lang": "en",
                     "rights": { "is_admin": true, "is_active": true },
                     "_links": { "self": { "href": format!("{SHARD}/api/v4/users/{id}") } } }),
        ),
        None => empty(),
    }
}

async fn pipelines(AxState(shared): AxState<Shared>) -> Response {
    let s = lock(&shared);
    if s.pipelines.is_empty() {
        return empty();
    }
    let list: Vec<Value> = s
        .pipelines
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let statuses: Vec<Value> = p
                .statuses
                .iter()
                .enumerate()
                .map(|(j, (id, name))| {
                    let sort = match id {
                        142 => 10_000,
                        143 => 11_000,
                        _ => (j + 1) * 10,
                    };
                    json!({ "id": id, "name": name, "sort": sort, "pipeline_id": p.id, "is_editable": true,
                            "color": "#99ccff", "type": 0, "account_id": s.account_id })
                })
                .collect();
            json!({ "id": p.id, "name": p.name, "sort": i + 1, "is_main": i == 0, "is_archive": false,
                    "account_id": s.account_id, "_embedded": { "statuses": statuses } })
        })
        .collect();
    let total = list.len();
    hal(
        StatusCode::OK,
        &json!({ "_total_items": total, "_links": { "self": { "href": format!("{SHARD}/api/v4/leads/pipelines") } },
                 "_embedded": { "pipelines": list } }),
    )
}

async fn custom_fields(
    AxState(shared): AxState<Shared>,
    Path(entity): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let Some(kind) = kind_of(&entity) else {
        return problem(StatusCode::NOT_FOUND, "Unknown entity", None);
    };
    let q = pairs(q.as_deref());
    // Kommo serves at most 50 fields per page, whatever the limit.
    let (page, limit) = match paging(&q, 50) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let s = lock(&shared);
    let items: Vec<Value> = s
        .fields
        .get(&kind)
        .into_iter()
        .flatten()
        .map(|f| {
            let enums: Option<Vec<Value>> = (!f.enums.is_empty()).then(|| {
                f.enums
                    .iter()
                    .enumerate()
                    .map(|(i, (id, v))| json!({ "id": id, "value": v, "sort": (i + 1) * 10 }))
                    .collect()
            });
            json!({ "id": f.id, "name": f.name, "type": f.field_type, "code": f.code, "sort": 500,
                    "enums": enums, "entity_type": entity, "account_id": s.account_id,
                    "is_api_only": false, "is_deletable": true, "is_predefined": f.code.is_some() })
        })
        .collect();
    page_of(
        &format!("/api/v4/{entity}/custom_fields"),
        "custom_fields",
        items,
        page,
        limit,
    )
}

async fn list(AxState(shared): AxState<Shared>, Path(entity): Path<String>, RawQuery(q): RawQuery) -> Response {
    let Some(kind) = kind_of(&entity) else {
        return problem(StatusCode::NOT_FOUND, "Unknown entity", None);
    };
    let q = pairs(q.as_deref());
    let (page, limit) = match paging(&q, 250) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let ids: Vec<i64> = q
        .iter()
        .filter(|(k, _)| k == "filter[id][]" || k.starts_with("filter[id]["))
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let with = with_list(&q);
    let with: Vec<&str> = with.iter().map(String::as_str).collect();
    let s = lock(&shared);
    let items: Vec<Value> = s
        .entities
        .keys()
        .filter(|(k, id)| *k == kind && (ids.is_empty() || ids.contains(id)))
        .filter_map(|(k, id)| s.render(*k, *id, &with))
        .collect();
    page_of(&format!("/api/v4/{entity}"), &entity, items, page, limit)
}

async fn one(
    AxState(shared): AxState<Shared>,
    Path((entity, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let (Some(kind), Ok(id)) = (kind_of(&entity), id.parse::<i64>()) else {
        return problem(StatusCode::NOT_FOUND, "Unknown entity", None);
    };
    let q = pairs(q.as_deref());
    let with = with_list(&q);
    let with: Vec<&str> = with.iter().map(String::as_str).collect();
    match lock(&shared).render(kind, id, &with) {
        Some(body) => hal(StatusCode::OK, &body),
        None => empty(),
    }
}

async fn create(AxState(shared): AxState<Shared>, Path(entity): Path<String>, body: Bytes) -> Response {
    let Some(kind) = kind_of(&entity) else {
        return problem(StatusCode::NOT_FOUND, "Unknown entity", None);
    };
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(items) = body.as_array() else {
        return invalid(vec![(
            "0".into(),
            vec![(
                "InvalidType".into(),
                String::new(),
                "This value should be of type array.".into(),
            )],
        )]);
    };
    let mut s = lock(&shared);
    let mut made = Vec::new();
    let mut problems = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let mut rec = EntityRec::new("");
        let p = s.write_entity(kind, &mut rec, item, true);
        problems.push((request_id(item, i), p));
        made.push((rec, request_id(item, i)));
    }
    if problems.iter().any(|(_, p)| !p.is_empty()) {
        return invalid(problems);
    }
    let mut out = Vec::new();
    for (rec, rid) in made {
        let id = s.id();
        s.entities.insert((kind, id), rec);
        out.push((id, rid, None));
    }
    created(&format!("/api/v4/{entity}"), out, &entity)
}

async fn patch(AxState(shared): AxState<Shared>, Path((entity, id)): Path<(String, String)>, body: Bytes) -> Response {
    let (Some(kind), Ok(id)) = (kind_of(&entity), id.parse::<i64>()) else {
        return problem(StatusCode::NOT_FOUND, "Unknown entity", None);
    };
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut s = lock(&shared);
    let Some(mut rec) = s.entities.get(&(kind, id)).cloned() else {
        return problem(StatusCode::NOT_FOUND, &format!("Entity {id} not found"), None);
    };
    let problems = s.write_entity(kind, &mut rec, &body, false);
    if !problems.is_empty() {
        return invalid(vec![(request_id(&body, 0), problems)]);
    }
    s.entities.insert((kind, id), rec);
    let now = s.now();
    hal(
        StatusCode::OK,
        &json!({ "id": id, "updated_at": now, "_links": { "self": { "href": format!("{SHARD}/api/v4/{entity}/{id}") } } }),
    )
}

async fn add_notes(
    AxState(shared): AxState<Shared>,
    Path((entity, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (Some(kind), Ok(id)) = (kind_of(&entity), id.parse::<i64>()) else {
        return problem(StatusCode::NOT_FOUND, "Unknown entity", None);
    };
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let items = body.as_array().cloned().unwrap_or_default();
    let mut s = lock(&shared);
    let mut problems = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let mut p = Problems::new();
        if !s.entities.contains_key(&(kind, id)) {
            p.push((
                "NotSupportedChoice".into(),
                "entity_id".into(),
                "Unknown entity.".into(),
            ));
        }
        let note_type = item.get("note_type").and_then(Value::as_str).unwrap_or_default();
        let writable = [
            "common",
            "call_in",
            "call_out",
            "service_message",
            "extended_service_message",
            "geolocation",
            "sms_in",
            "sms_out",
            "attachment",
        ];
        if !writable.contains(&note_type) {
            p.push((
                "NotSupportedChoice".into(),
                "note_type".into(),
                "The value you selected is not a valid choice.".into(),
            ));
        }
        if item.pointer("/params/text").and_then(Value::as_str).is_none() && note_type != "attachment" {
            p.push((
                "FieldMissing".into(),
                "params.text".into(),
                "This field is missing.".into(),
            ));
        }
        problems.push((request_id(item, i), p));
    }
    if items.is_empty() || problems.iter().any(|(_, p)| !p.is_empty()) {
        return invalid(problems);
    }
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let note = s.id();
        out.push((note, request_id(&item, i), Some(id)));
        s.notes.push(Attached {
            entity: (kind, id),
            body: item,
        });
    }
    created(&format!("/api/v4/{entity}/{id}/notes"), out, "notes")
}

async fn add_tasks(AxState(shared): AxState<Shared>, body: Bytes) -> Response {
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let items = body.as_array().cloned().unwrap_or_default();
    let mut s = lock(&shared);
    let mut problems = Vec::new();
    let mut targets = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let mut p = Problems::new();
        if item.get("text").and_then(Value::as_str).is_none() {
            p.push(("FieldMissing".into(), "text".into(), "This field is missing.".into()));
        }
        if item.get("complete_till").and_then(Value::as_i64).is_none() {
            p.push((
                "FieldMissing".into(),
                "complete_till".into(),
                "This field is missing.".into(),
            ));
        }
        let kind = item.get("entity_type").and_then(Value::as_str).and_then(kind_of);
        let eid = item.get("entity_id").and_then(Value::as_i64);
        match kind.zip(eid) {
            Some(key) if s.entities.contains_key(&key) => targets.push(key),
            _ => p.push((
                "NotSupportedChoice".into(),
                "entity_id".into(),
                "Unknown entity.".into(),
            )),
        }
        if let Some(u) = item.get("responsible_user_id")
            && !u.as_i64().is_some_and(|u| s.users.contains_key(&u))
        {
            p.push((
                "NotSupportedChoice".into(),
                "responsible_user_id".into(),
                "Unknown user.".into(),
            ));
        }
        problems.push((request_id(item, i), p));
    }
    if items.is_empty() || problems.iter().any(|(_, p)| !p.is_empty()) {
        return invalid(problems);
    }
    let mut out = Vec::new();
    for (i, (item, target)) in items.into_iter().zip(targets).enumerate() {
        let task = s.id();
        out.push((task, request_id(&item, i), None));
        s.tasks.push(Attached {
            entity: target,
            body: item,
        });
    }
    created("/api/v4/tasks", out, "tasks")
}

async fn bot_continue(AxState(shared): AxState<Shared>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let bytes = axum::body::to_bytes(request.into_body(), 1024 * 1024)
        .await
        .unwrap_or_default();
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(body) => {
            lock(&shared).bot_answers.push((path, body));
            StatusCode::ACCEPTED.into_response()
        }
        Err(_) => problem(StatusCode::BAD_REQUEST, "Invalid JSON body", None),
    }
}
