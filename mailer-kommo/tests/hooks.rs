//! Incoming payloads: account webhooks, the digital-pipeline widget hook and Salesbot's widget_request,
//! from real-shaped samples, and property tests that feed arbitrary bodies.

use mailer_core::model::{CrmId, CrmUserId, EntityKind, EntityRef, EnumId, FieldId, PipelineId, Secret, StageId};
use mailer_kommo::fake::FakeKommo;
use mailer_kommo::hooks::{
    DpEntity, DpEventKind, FormValue, HookAction, HookError, TokenError, WebhookEvent, parse_account_webhook,
    parse_dp_hook, parse_form, parse_widget_request,
};
use proptest::prelude::*;
use serde_json::json;

fn encode(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish().into_bytes()
}

#[test]
fn a_lead_status_hook_reads_with_stage_fields_tags_and_account() {
    let body = encode(&[
        ("leads[status][0][id]", "15318175"),
        ("leads[status][0][name]", "Deal name"),
        ("leads[status][0][status_id]", "67548619"),
        ("leads[status][0][old_status_id]", "67548607"),
        ("leads[status][0][pipeline_id]", "8572511"),
        ("leads[status][0][old_pipeline_id]", "8572500"),
        ("leads[status][0][price]", "1000"),
        ("leads[status][0][responsible_user_id]", "12345678"),
        ("leads[status][0][last_modified]", "1726572758"),
        ("leads[status][0][date_create]", "1726572752"),
        ("leads[status][0][tags][0][id]", "80147"),
        ("leads[status][0][tags][0][name]", "repeat"),
        ("leads[status][0][custom_fields][0][id]", "1246489"),
        ("leads[status][0][custom_fields][0][name]", "Select"),
        ("leads[status][0][custom_fields][0][values][0][value]", "2"),
        ("leads[status][0][custom_fields][0][values][0][enum]", "908107"),
        ("leads[status][0][custom_fields][1][id]", "1246491"),
        ("leads[status][0][custom_fields][1][name]", "Date"),
        ("leads[status][0][custom_fields][1][values][0]", "1725915600"),
        ("account[subdomain]", "sub"),
        ("account[id]", "12345678"),
        ("account[_links][self]", "https://sub.kommo.com"),
    ]);
    let hook = parse_account_webhook(&body).expect("parse");
    assert_eq!(hook.account.id, Some(12_345_678));
    assert_eq!(hook.account.subdomain.as_deref(), Some("sub"));
    assert_eq!(hook.account.url.as_deref(), Some("https://sub.kommo.com"));
    let [WebhookEvent::Lead { action, lead }] = hook.events.as_slice() else {
        panic!("{:?}", hook.events)
    };
    assert_eq!(*action, HookAction::Status);
    assert_eq!(lead.id, CrmId(15_318_175));
    assert_eq!(lead.stage, Some((PipelineId(8_572_511), StageId(67_548_619))));
    assert_eq!(lead.old_stage, Some((PipelineId(8_572_500), StageId(67_548_607))));
    assert_eq!(lead.price, Some(1000));
    assert_eq!(lead.responsible, Some(CrmUserId(12_345_678)));
    assert_eq!(lead.updated_at, Some(1_726_572_758));
    assert_eq!(lead.tags, ["repeat"]);
    assert_eq!(lead.fields[0].id, FieldId(1_246_489));
    assert_eq!(lead.fields[0].values[0].enum_id, Some(EnumId(908_107)));
    assert_eq!(lead.fields[1].values[0].value, "1725915600", "a bare date value");
}

#[test]
fn contacts_companies_notes_and_other_sections_in_one_body() {
    let body = encode(&[
        ("contacts[update][0][id]", "501"),
        ("contacts[update][0][type]", "company"),
        ("contacts[update][0][name]", "Acme"),
        ("contacts[update][1][id]", "502"),
        ("contacts[update][1][type]", "contact"),
        ("contacts[update][1][linked_company_id]", "501"),
        ("contacts[update][1][linked_leads_id][77][ID]", "77"),
        ("contacts[update][1][custom_fields][0][id]", "9"),
        ("contacts[update][1][custom_fields][0][code]", "EMAIL"),
        ("contacts[update][1][custom_fields][0][values][0][value]", "a@b.c"),
        ("contacts[update][1][custom_fields][0][values][0][enum]", "WORK"),
        ("leads[delete][0][id]", "77"),
        ("leads[delete][0][status_id]", "143"),
        ("leads[delete][0][pipeline_id]", "5"),
        ("leads[note][0][note][id]", "900"),
        ("leads[note][0][note][element_id]", "77"),
        ("leads[note][0][note][text]", "hello"),
        ("leads[note][0][note][note_type]", "4"),
        ("leads[note][0][note][date_create]", "2024-09-17 16:38:11"),
        ("task[add][0][id]", "1"),
        ("account[id]", "1"),
    ]);
    let hook = parse_account_webhook(&body).expect("parse");
    let kinds: Vec<String> = hook
        .events
        .iter()
        .map(|e| match e {
            WebhookEvent::Contact { contact, .. } => format!("{:?} {}", contact.entity.kind, contact.entity.id),
            WebhookEvent::Lead { action, lead } => format!("lead {action:?} {}", lead.id),
            WebhookEvent::Note(n) => format!("note {} on {:?}", n.id, n.entity),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "Company 501",
            "Contact 502",
            "lead Delete 77",
            &format!("note 900 on {:?}", EntityRef::lead(77)),
            "Other { entity: \"task\", action: \"add\" }",
        ]
    );
    let WebhookEvent::Contact { contact, .. } = &hook.events[1] else {
        panic!()
    };
    assert_eq!(contact.company, Some(CrmId(501)));
    assert_eq!(contact.leads, [CrmId(77)]);
    assert_eq!(contact.fields[0].code.as_deref(), Some("EMAIL"));
    assert_eq!(
        contact.fields[0].values[0].enum_code.as_deref(),
        Some("WORK"),
        "an email's enum is a code"
    );
    assert_eq!(contact.fields[0].values[0].enum_id, None);
    assert_eq!(contact.entity.kind, EntityKind::Contact);
}

#[test]
fn bad_webhooks_are_typed_errors() {
    assert!(matches!(parse_account_webhook(b""), Err(HookError::Missing { .. })));
    assert!(matches!(
        parse_account_webhook(b"leads[add][0][name]=x"),
        Err(HookError::Missing { ref field }) if field == "leads[add][0][id]"
    ));
    assert!(matches!(
        parse_account_webhook(b"leads[add][0][id]=seven"),
        Err(HookError::Invalid { ref value, .. }) if value == "seven"
    ));
    assert!(matches!(
        parse_account_webhook(b"leads=1"),
        Err(HookError::Invalid { .. })
    ));
}

#[test]
fn the_dp_hook_reads_the_same_from_a_form_and_from_json() {
    let form = encode(&[
        ("event[type]", "14"),
        ("event[type_code]", "lead_status_changed"),
        ("event[data][id]", "123123"),
        ("event[data][element_type]", "2"),
        ("event[data][status_id]", "654321"),
        ("event[data][pipeline_id]", "123456"),
        ("event[data][direction_of_movement]", "went_to_trigger"),
        ("event[time]", "1491300016"),
        ("action[settings][widget][settings][template]", "17"),
        ("action[settings][widget][settings][delay][minutes]", "5"),
        ("subdomain", "my_company"),
        ("account_id", "12345678"),
    ]);
    let json = json!({
        "event": { "type": 14, "type_code": "lead_status_changed",
                   "data": { "id": 123_123, "element_type": 2, "status_id": 654_321, "pipeline_id": 123_456,
                             "direction_of_movement": "went_to_trigger" },
                   "time": 1_491_300_016 },
        "action": { "settings": { "widget": { "settings": { "template": "17", "delay": { "minutes": 5 } } } } },
        "subdomain": "my_company", "account_id": 12_345_678,
    })
    .to_string();
    let from_form = parse_dp_hook(Some("application/x-www-form-urlencoded"), &form).expect("form");
    let from_json = parse_dp_hook(Some("application/json; charset=utf-8"), json.as_bytes()).expect("json");
    assert_eq!(from_form, from_json);
    assert_eq!(parse_dp_hook(None, json.as_bytes()).expect("sniffed json"), from_form);
    assert_eq!(from_form.account_id, 12_345_678);
    assert_eq!(from_form.event.kind, DpEventKind::StatusChanged);
    assert_eq!(from_form.event.entity, DpEntity::Lead(CrmId(123_123)));
    assert_eq!(from_form.event.stage, Some((PipelineId(123_456), StageId(654_321))));
    assert_eq!(from_form.settings["template"], "17");
    assert_eq!(from_form.settings["delay.minutes"], "5");
    // A redelivered hook has the same event id, however it was encoded; another event time does not.
    assert_eq!(from_form.event_id(), "dp:12345678:14:2-123123:123456-654321:1491300016");
    assert_eq!(from_json.event_id(), from_form.event_id());
    let mut later = from_form.clone();
    later.event.time = Some(1_491_300_999);
    assert_ne!(later.event_id(), from_form.event_id());

    assert!(matches!(
        parse_dp_hook(None, b"event[type]=14&account_id=1"),
        Err(HookError::Missing { ref field }) if field == "event.data.id"
    ));
    assert!(matches!(
        parse_dp_hook(Some("application/json"), b"{"),
        Err(HookError::Json { .. })
    ));
}

#[tokio::test]
async fn a_widget_request_is_accepted_only_with_the_integration_secret_and_in_time() {
    let kommo = FakeKommo::start().await.expect("fake");
    let body = kommo.widget_request(77, &json!({ "contact": "Anna", "from": "widget" }));
    let secret = kommo.app().client_secret;
    let now = chrono::Utc::now().timestamp();
    let request = parse_widget_request(&body, &secret, now).expect("valid");
    assert_eq!(request.claims.entity_id, Some(77));
    assert_eq!(request.claims.entity_type, Some(2));
    assert_eq!(request.data["contact"], "Anna");
    assert!(request.return_url.ends_with("/api/v4/salesbot/321/continue/77"));

    let wrong = parse_widget_request(&body, &Secret::new("not the secret"), now);
    assert_eq!(wrong, Err(HookError::Token(TokenError::Signature)));
    let late = parse_widget_request(&body, &secret, now + 3_600);
    assert_eq!(late, Err(HookError::Token(TokenError::Expired)));
    assert!(matches!(
        parse_widget_request(b"{}", &secret, now),
        Err(HookError::Missing { .. })
    ));
    assert!(matches!(
        parse_widget_request(b"not json", &secret, now),
        Err(HookError::Json { .. })
    ));
}

// ---------- properties ----------

fn segment() -> impl Strategy<Value = String> {
    "[a-z0-9_]{1,6}"
}

proptest! {
    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_form(&body);
        let _ = parse_account_webhook(&body);
        let _ = parse_dp_hook(None, &body);
        let _ = parse_dp_hook(Some("application/json"), &body);
        let _ = parse_widget_request(&body, &Secret::new("s"), 0);
    }

    #[test]
    fn parsers_never_panic_on_bracket_soup(
        pairs in proptest::collection::vec(("[a-z\\[\\]0-9]{0,24}", "[ -~]{0,12}"), 0..24)
    ) {
        let body = encode(&pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>());
        let _ = parse_form(&body);
        let _ = parse_account_webhook(&body);
        let _ = parse_dp_hook(None, &body);
    }

    #[test]
    fn every_bracket_key_reads_back_its_value(
        fields in proptest::collection::vec((proptest::collection::vec(segment(), 0..5), "\\PC{0,16}"), 1..16)
    ) {
        // a distinct head per field, so no two keys conflict
        let keyed: Vec<(Vec<String>, String)> = fields
            .into_iter()
            .enumerate()
            .map(|(i, (rest, v))| {
                let mut path = vec![format!("k{i}")];
                path.extend(rest);
                (path, v)
            })
            .collect();
        let pairs: Vec<(String, &str)> = keyed
            .iter()
            .map(|(path, v)| {
                let key = path[1..].iter().fold(path[0].clone(), |k, s| format!("{k}[{s}]"));
                (key, v.as_str())
            })
            .collect();
        let body = encode(&pairs.iter().map(|(k, v)| (k.as_str(), *v)).collect::<Vec<_>>());
        let form = parse_form(&body).expect("well-formed keys parse");
        for (path, value) in &keyed {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            prop_assert_eq!(form.text(&path), Some(value.as_str()));
        }
    }

    #[test]
    fn lead_hooks_keep_ids_and_stages(id in 1..i64::MAX, pipeline in 1..i64::MAX, status in 1..i64::MAX) {
        let (id_s, p_s, s_s) = (id.to_string(), pipeline.to_string(), status.to_string());
        let body = encode(&[
            ("leads[add][0][id]", id_s.as_str()),
            ("leads[add][0][pipeline_id]", p_s.as_str()),
            ("leads[add][0][status_id]", s_s.as_str()),
        ]);
        let hook = parse_account_webhook(&body).expect("parse");
        let WebhookEvent::Lead { lead, .. } = &hook.events[0] else { panic!("{:?}", hook.events) };
        prop_assert_eq!(lead.id, CrmId(id));
        prop_assert_eq!(lead.stage, Some((PipelineId(pipeline), StageId(status))));
    }

    #[test]
    fn json_trees_and_forms_agree(value in "[a-z ]{0,10}", n in 0u32..1000) {
        let form = parse_form(&encode(&[("a[b][0]", value.as_str()), ("a[n]", n.to_string().as_str())])).expect("form");
        let json = FormValue::from_json(&json!({ "a": { "b": [value], "n": n } }));
        prop_assert_eq!(form, json);
    }
}
