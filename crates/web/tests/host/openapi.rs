//! The OpenAPI document against real answers: every endpoint of the public API, the host API
//! and the webhook subscription API is called (its success and its main error answers), and
//! each answer's status, content type and body are checked against what the served document
//! says for that path, method and status; every JSON body a call sent and the API accepted must
//! match the documented request body. A small JSON Schema validator (the keywords the
//! generated document uses) does the body checks. At the end, every operation of the document
//! must have been seen answering with a 2xx. The calendar providers' push endpoints and the
//! renewal cron run over `ConnectedCalendars` with in-memory providers.

use std::collections::BTreeSet;

use actix_web::dev::ServiceResponse;
use actix_web::test::{TestRequest, call_service};
use booking_core::accounts::{AccountStore, ApiKey, ApiKeyId, ApiKeySecret};
use booking_core::deals::{DealId, open_deal_for};
use booking_core::ports::Clock;
use chrono::DateTime;
use serde_json::{Value, json};
use webhooks_out::TargetPolicy;

use crate::helpers::*;
use crate::integrations::{stored_connection, with_calendars};
use crate::service;
use booking_core::calendar::{ConnectionStatus, Provider};

/// Where `$ref`s point, and what has been checked so far.
pub(crate) struct Document {
    pub(crate) doc: Value,
    pub(crate) seen: BTreeSet<(String, String, u16)>,
}

impl Document {
    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference
                    .strip_prefix("#/components/schemas/")
                    .unwrap_or_else(|| panic!("unsupported $ref {reference}"));
                let target = &self.doc["components"]["schemas"][name];
                assert!(target.is_object(), "dangling $ref {reference}");
                self.resolve(target)
            }
            None => schema,
        }
    }

    /// Every way `value` breaks `schema`, each with its JSON path.
    fn violations(&self, schema: &Value, value: &Value, at: &str) -> Vec<String> {
        let schema = self.resolve(schema);
        let mut errors = Vec::new();
        if let Some(types) = schema.get("type") {
            let allowed: Vec<&str> = match types {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                other => panic!("odd type {other}"),
            };
            if !allowed.iter().any(|t| type_matches(t, value)) {
                errors.push(format!("{at}: {value} is not of type {allowed:?}"));
                return errors;
            }
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array)
            && !options.contains(value)
        {
            errors.push(format!("{at}: {value} is not one of {options:?}"));
        }
        if let (Some(format), Some(text)) =
            (schema.get("format").and_then(Value::as_str), value.as_str())
            && !format_matches(format, text)
        {
            errors.push(format!("{at}: {text:?} is not a {format}"));
        }
        if let (Some(min), Some(n)) = (
            schema.get("minimum").and_then(Value::as_f64),
            value.as_f64(),
        ) && n < min
        {
            errors.push(format!("{at}: {n} < minimum {min}"));
        }
        if let (Some(max), Some(n)) = (
            schema.get("maximum").and_then(Value::as_f64),
            value.as_f64(),
        ) && n > max
        {
            errors.push(format!("{at}: {n} > maximum {max}"));
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for s in all {
                errors.extend(self.violations(s, value, at));
            }
        }
        if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
            let passing = one
                .iter()
                .filter(|s| self.violations(s, value, at).is_empty())
                .count();
            if passing != 1 {
                errors.push(format!("{at}: {value} matches {passing} of oneOf, not 1"));
            }
        }
        if let Some(any) = schema.get("anyOf").and_then(Value::as_array)
            && !any.iter().any(|s| self.violations(s, value, at).is_empty())
        {
            errors.push(format!("{at}: {value} matches none of anyOf"));
        }
        if let Value::Object(fields) = value {
            let properties = schema.get("properties").and_then(Value::as_object);
            for name in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !fields.contains_key(name) {
                    errors.push(format!("{at}: required field `{name}` is missing"));
                }
            }
            for (name, field) in fields {
                let here = format!("{at}.{name}");
                match properties.and_then(|p| p.get(name)) {
                    Some(s) => errors.extend(self.violations(s, field, &here)),
                    None => match schema.get("additionalProperties") {
                        Some(Value::Bool(false)) => {
                            errors.push(format!("{here}: not in the schema"));
                        }
                        Some(extra @ Value::Object(_)) => {
                            errors.extend(self.violations(extra, field, &here));
                        }
                        _ => {}
                    },
                }
            }
        }
        if let (Value::Array(items), Some(item)) = (value, schema.get("items")) {
            for (i, v) in items.iter().enumerate() {
                errors.extend(self.violations(item, v, &format!("{at}[{i}]")));
            }
        }
        errors
    }

    /// Checks one real answer against the document's entry for `method` `template`; when the
    /// request was accepted, the JSON body it sent must match the documented request body too.
    pub(crate) async fn check(
        &mut self,
        method: &str,
        template: &str,
        sent: Option<&str>,
        resp: ServiceResponse,
    ) -> Value {
        let status = resp.status().as_u16();
        let content_type = header(&resp, "content-type");
        let text = body(resp).await;
        let operation = &self.doc["paths"][template][method.to_ascii_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {template} is not in the document"
        );
        let documented = &operation["responses"][status.to_string()];
        assert!(
            documented.is_object(),
            "{method} {template} answered {status}, which the document does not list: {text}"
        );
        self.seen
            .insert((template.to_owned(), method.to_ascii_lowercase(), status));
        if let Some(sent) = sent.filter(|_| (200..300).contains(&status)) {
            let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            assert!(
                schema.is_object(),
                "{method} {template} accepted a body the document does not describe"
            );
            let errors = self.violations(schema, &serde_json::from_str(sent).unwrap(), "$");
            assert!(
                errors.is_empty(),
                "{method} {template}: an accepted request does not match the document:\n{}",
                errors.join("\n")
            );
        }
        let Some(content) = documented.get("content").and_then(Value::as_object) else {
            assert!(
                text.is_empty(),
                "{method} {template} {status}: undocumented body {text}"
            );
            return Value::Null;
        };
        let media = content_type.split(';').next().unwrap_or_default().trim();
        let schema = &content.get(media).unwrap_or_else(|| {
            panic!("{method} {template} {status}: content type {media} is not documented")
        })["schema"];
        if media.starts_with("text/") {
            // A text answer (TwiML, a validation token): documented as a string.
            assert_eq!(schema["type"], "string", "{method} {template} {status}");
            return Value::String(text);
        }
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {template} {status}: not JSON ({e}): {text}"));
        let errors = self.violations(schema, &value, "$");
        assert!(
            errors.is_empty(),
            "{method} {template} {status} does not match the document:\n{}\n{value:#}",
            errors.join("\n")
        );
        value
    }

    /// Every operation the document lists that no check saw succeed.
    fn never_succeeded(&self) -> Vec<String> {
        let mut missing = Vec::new();
        for (path, item) in self.doc["paths"].as_object().into_iter().flatten() {
            for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
                let ok = self
                    .seen
                    .iter()
                    .any(|(p, m, s)| p == path && m == method && (200..300).contains(s));
                if !ok {
                    missing.push(format!("{method} {path}"));
                }
            }
        }
        missing
    }
}

/// Every `$ref` in `value`.
fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (k, v) in fields {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

fn type_matches(kind: &str, value: &Value) -> bool {
    match kind {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        // JSON Schema: a number with a zero fraction (`30.0`) is an integer too.
        "integer" => value.as_f64().is_some_and(|n| n.fract() == 0.0),
        "number" => value.is_number(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        other => panic!("unknown type {other}"),
    }
}

fn format_matches(format: &str, text: &str) -> bool {
    match format {
        "date-time" => DateTime::parse_from_rfc3339(text).is_ok(),
        "uuid" => uuid::Uuid::parse_str(text).is_ok() && text.len() == 36,
        "email" => text.contains('@'),
        _ => true,
    }
}

pub(crate) fn request(
    method: &str,
    uri: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> TestRequest {
    let req = match method {
        "GET" => TestRequest::get(),
        "POST" => TestRequest::post(),
        "PUT" => TestRequest::put(),
        "PATCH" => TestRequest::patch(),
        "DELETE" => TestRequest::delete(),
        other => TestRequest::default().method(other.parse().unwrap()),
    }
    .uri(uri);
    let req = match key {
        Some(k) => req.insert_header(("authorization", format!("Bearer {k}"))),
        None => req,
    };
    match body {
        Some(b) => req
            .insert_header(("content-type", "application/json"))
            .set_payload(b.to_owned()),
        None => req,
    }
}

/// A live API key for `host`, stored directly.
pub(crate) async fn key_for(app: &TestApp, host: booking_core::HostId, n: u8) -> String {
    let secret = ApiKeySecret::from_bytes([n; 16]);
    let key = ApiKey::new(
        ApiKeyId::from_uuid(uuid::Uuid::from_u128(0xa91_0000 + u128::from(n))),
        host,
        "openapi",
        &secret,
        app.clock.now(),
    )
    .unwrap();
    app.store.add_api_key(&key).await.unwrap();
    secret.expose().to_owned()
}

pub(crate) fn link_input(slug: &str) -> String {
    json!({
        "slug": slug, "title": "Demo", "time_zone": "Europe/Berlin", "duration_minutes": 30,
        "weekly_hours": {"mon": ["09:00-12:00"]}, "date_overrides": {"2027-03-03": []},
        "questions": ["Why?"], "create_deal": true,
        "reconfirmation": {"ask_hours_before": 24, "cancel_hours_before": 2}
    })
    .to_string()
}

#[actix_web::test]
async fn every_endpoint_answers_as_the_openapi_document_says() {
    let app = setup_webhooks(TargetPolicy::allow_private()).await;
    let mut world = with_calendars(&app, true, Some("cron-secret"));
    world.state = world.state.clone().with_texts(web::TextSide {
        replies: Some(std::sync::Arc::new(sms_out::TwilioSignature::new(
            &sms_out::AuthToken::new(fake_twilio::AUTH_TOKEN),
        ))),
        opt_outs: std::sync::Arc::new(app.store.clone()),
    });
    let svc = service!(world.state);
    let served = call_service(
        &svc,
        TestRequest::get().uri("/api/v1/openapi.json").to_request(),
    )
    .await;
    assert_eq!(served.status(), 200);
    let mut doc = Document {
        doc: serde_json::from_str(&body(served).await).unwrap(),
        seen: BTreeSet::new(),
    };
    assert_eq!(doc.doc["openapi"], "3.1.0");
    let mut ids = BTreeSet::new();
    for (path, item) in doc.doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
            for name in path.split('{').skip(1).filter_map(|p| p.split_once('}')) {
                let declared = operation["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == name.0 && p["in"] == "path"));
                assert!(
                    declared,
                    "{method} {path}: path parameter {} is not declared",
                    name.0
                );
            }
        }
    }
    let mut refs = Vec::new();
    collect_refs(&doc.doc, &mut refs);
    for reference in refs {
        let name = reference.trim_start_matches("#/components/schemas/");
        assert!(
            doc.doc["components"]["schemas"][name].is_object(),
            "dangling $ref {reference}"
        );
    }
    let hana = key_for(&app, app.hana.id(), 1).await;
    let otto = key_for(&app, app.otto.id(), 2).await;
    let (h, o) = (Some(hana.as_str()), Some(otto.as_str()));
    macro_rules! call {
        ($method:expr, $template:expr, $uri:expr, $key:expr, $body:expr) => {{
            let resp = call_service(&svc, request($method, &$uri, $key, $body).to_request()).await;
            doc.check($method, $template, $body, resp).await
        }};
    }

    // The public API.
    let slots = "/api/v1/links/{slug}/slots";
    let found = call!(
        "GET",
        slots,
        "/api/v1/links/intro/slots?tz=Asia/Kolkata",
        None,
        None
    );
    assert!(!found["slots"].as_array().unwrap().is_empty());
    call!("GET", slots, "/api/v1/links/nope/slots", None, None);
    call!(
        "GET",
        slots,
        "/api/v1/links/intro/slots?tz=Mars/Base",
        None,
        None
    );
    call!(
        "GET",
        slots,
        "/api/v1/links/intro/slots?from=yesterday",
        None,
        None
    );

    let create = "/api/v1/links/{slug}/bookings";
    let booking = |start: &str| {
        json!({"start": start, "invitee": {"name": "Ann Attendee", "email": "ann@example.org",
               "timezone": "Europe/Paris", "phone": "+49 30 1234567"},
               "answers": [{"question": "What should we talk about?", "answer": "Pricing"}],
               "tracking": {"utm_source": "newsletter"}})
        .to_string()
    };
    let first = call!(
        "POST",
        create,
        "/api/v1/links/intro/bookings",
        None,
        Some(&booking("2027-03-01T09:00:00Z"))
    );
    let token = first["reschedule_token"].as_str().unwrap().to_owned();
    call!(
        "POST",
        create,
        "/api/v1/links/intro/bookings",
        None,
        Some(&booking("2027-03-01T09:00:00Z"))
    );
    call!(
        "POST",
        create,
        "/api/v1/links/nope/bookings",
        None,
        Some(&booking("2027-03-01T09:00:00Z"))
    );
    call!(
        "POST",
        create,
        "/api/v1/links/intro/bookings",
        None,
        Some("{\"start\": 1}")
    );
    call!(
        "POST",
        create,
        "/api/v1/links/intro/bookings",
        None,
        Some(&booking("2027-03-01T09:00:00Z").replace("ann@example.org", "not-an-email"))
    );

    let by_token = "/api/v1/bookings/by-token/{token}";
    call!(
        "GET",
        by_token,
        format!("/api/v1/bookings/by-token/{token}"),
        None,
        None
    );
    call!(
        "GET",
        by_token,
        format!("/api/v1/bookings/by-token/{}", "0".repeat(32)),
        None,
        None
    );

    let reschedule = "/api/v1/bookings/by-token/{token}/reschedule";
    let at_ten = json!({"start": "2027-03-01T10:00:00Z", "reason": "clash"}).to_string();
    call!(
        "POST",
        reschedule,
        format!("/api/v1/bookings/by-token/{token}/reschedule"),
        None,
        Some(&json!({"start": "2027-03-01T09:00:00Z"}).to_string())
    );
    let moved = call!(
        "POST",
        reschedule,
        format!("/api/v1/bookings/by-token/{token}/reschedule"),
        None,
        Some(&at_ten)
    );
    call!(
        "POST",
        reschedule,
        format!("/api/v1/bookings/by-token/{token}/reschedule"),
        None,
        Some(&at_ten)
    );
    call!(
        "POST",
        reschedule,
        format!("/api/v1/bookings/by-token/{token}/reschedule"),
        None,
        Some("[]")
    );
    let moved_token = moved["reschedule_token"].as_str().unwrap().to_owned();

    let reconfirm = "/api/v1/bookings/by-token/{token}/reconfirm";
    call!(
        "POST",
        reconfirm,
        format!("/api/v1/bookings/by-token/{moved_token}/reconfirm"),
        None,
        None
    );
    call!(
        "POST",
        reconfirm,
        format!("/api/v1/bookings/by-token/{token}/reconfirm"),
        None,
        None
    );

    let second = call!(
        "POST",
        create,
        "/api/v1/links/intro/bookings",
        None,
        Some(&booking("2027-03-01T12:00:00Z"))
    );
    let second_token = second["reschedule_token"].as_str().unwrap().to_owned();
    let cancel = "/api/v1/bookings/by-token/{token}/cancel";
    call!(
        "POST",
        cancel,
        format!("/api/v1/bookings/by-token/{second_token}/cancel"),
        None,
        Some("{\"why\": 1}")
    );
    call!(
        "POST",
        cancel,
        format!("/api/v1/bookings/by-token/{second_token}/cancel"),
        None,
        Some(&json!({"reason": "x".repeat(10_001)}).to_string())
    );
    let cancelled = call!(
        "POST",
        cancel,
        format!("/api/v1/bookings/by-token/{second_token}/cancel"),
        None,
        Some("{\"reason\": \"ill\"}")
    );
    assert_eq!(cancelled["status"], "cancelled");
    call!(
        "POST",
        cancel,
        format!("/api/v1/bookings/by-token/{token}/cancel"),
        None,
        None
    );

    // The host API: bookings.
    let list = "/api/v1/bookings";
    let page = call!(
        "GET",
        list,
        "/api/v1/bookings?tab=upcoming&limit=5",
        h,
        None
    );
    assert_eq!(page["bookings"].as_array().unwrap().len(), 1);
    call!("GET", list, "/api/v1/bookings?tab=cancelled", h, None);
    call!("GET", list, "/api/v1/bookings?tab=someday", h, None);
    call!("GET", list, "/api/v1/bookings", None, None);

    let first_id = first["id"].as_str().unwrap().to_owned();
    let moved_id = moved["id"].as_str().unwrap().to_owned();
    let chain = booking_core::ChainId::parse(first["chain_id"].as_str().unwrap()).unwrap();
    let booking_id = booking_core::BookingId::parse(&first_id).unwrap();
    let deal = open_deal_for(&app.store, &app.store, chain, booking_id, app.clock.now())
        .await
        .unwrap();
    let one = "/api/v1/bookings/{id}";
    let meeting = call!("GET", one, format!("/api/v1/bookings/{first_id}"), h, None);
    assert_eq!(meeting["history"].as_array().unwrap().len(), 2);
    assert!(meeting["deal"].is_object());
    call!("GET", one, format!("/api/v1/bookings/{first_id}"), o, None);

    let send = "/api/v1/bookings/{id}/send-links";
    call!(
        "POST",
        send,
        format!("/api/v1/bookings/{moved_id}/send-links"),
        h,
        None
    );
    call!(
        "POST",
        send,
        format!("/api/v1/bookings/{moved_id}/send-links"),
        o,
        None
    );
    let cancelled_id = cancelled["id"].as_str().unwrap();
    call!(
        "POST",
        send,
        format!("/api/v1/bookings/{cancelled_id}/send-links"),
        h,
        None
    );

    let no_show = "/api/v1/bookings/{id}/no-show";
    call!(
        "POST",
        no_show,
        format!("/api/v1/bookings/{moved_id}/no-show"),
        h,
        None
    );
    app.clock.set(at(10, 10));
    call!(
        "POST",
        no_show,
        format!("/api/v1/bookings/{moved_id}/no-show"),
        o,
        None
    );
    let marked = call!(
        "POST",
        no_show,
        format!("/api/v1/bookings/{moved_id}/no-show"),
        h,
        None
    );
    assert_eq!(marked["status"], "no_show");
    call!(
        "DELETE",
        no_show,
        format!("/api/v1/bookings/{moved_id}/no-show"),
        h,
        None
    );
    call!(
        "DELETE",
        no_show,
        format!("/api/v1/bookings/{cancelled_id}/no-show"),
        h,
        None
    );

    let host_cancel = "/api/v1/bookings/{id}/cancel";
    call!(
        "POST",
        host_cancel,
        format!("/api/v1/bookings/{moved_id}/cancel"),
        o,
        None
    );
    call!(
        "POST",
        host_cancel,
        format!("/api/v1/bookings/{moved_id}/cancel"),
        h,
        Some("{")
    );
    call!(
        "POST",
        host_cancel,
        format!("/api/v1/bookings/{moved_id}/cancel"),
        h,
        Some(&json!({"reason": "x".repeat(10_001)}).to_string())
    );
    call!(
        "POST",
        host_cancel,
        format!("/api/v1/bookings/{moved_id}/cancel"),
        h,
        Some("{\"reason\": \"host ill\"}")
    );

    // Links.
    let links = "/api/v1/links";
    let all = call!("GET", links, links, h, None);
    assert_eq!(all["links"].as_array().unwrap().len(), 1);
    call!("GET", links, links, Some("sk_wrong"), None);
    let made = call!("POST", links, links, h, Some(&link_input("demo")));
    call!("POST", links, links, h, Some(&link_input("otto-call")));
    call!("POST", links, links, h, Some(&link_input("Bad Slug")));
    call!("POST", links, links, h, Some("{\"slug\": \"x\"}"));
    let link_id = made["id"].as_str().unwrap().to_owned();
    let link = "/api/v1/links/{id}";
    call!("GET", link, format!("/api/v1/links/{link_id}"), h, None);
    call!("GET", link, format!("/api/v1/links/{link_id}"), o, None);
    call!(
        "PUT",
        link,
        format!("/api/v1/links/{link_id}"),
        h,
        Some(&link_input("demo-two"))
    );
    call!(
        "PUT",
        link,
        format!("/api/v1/links/{link_id}"),
        o,
        Some(&link_input("demo-two"))
    );

    // Deals.
    let deals = "/api/v1/deals";
    let listed = call!("GET", deals, "/api/v1/deals?offset=0&limit=10", h, None);
    assert_eq!(listed["total"], 1);
    call!("GET", deals, "/api/v1/deals?limit=-1", h, None);
    let one_deal = "/api/v1/deals/{id}";
    let deal_id = deal.id().to_string();
    call!("GET", one_deal, format!("/api/v1/deals/{deal_id}"), h, None);
    call!(
        "GET",
        one_deal,
        format!("/api/v1/deals/{}", DealId::for_chain(chain)),
        o,
        None
    );
    let stage = "/api/v1/deals/{id}/stage";
    call!(
        "POST",
        stage,
        format!("/api/v1/deals/{deal_id}/stage"),
        h,
        Some("{\"stage\": \"closed_won\"}")
    );
    call!(
        "POST",
        stage,
        format!("/api/v1/deals/{deal_id}/stage"),
        h,
        Some("{\"stage\": \"won\"}")
    );
    call!(
        "POST",
        stage,
        format!("/api/v1/deals/{deal_id}/stage"),
        h,
        Some("{}")
    );
    call!(
        "POST",
        stage,
        format!("/api/v1/deals/{deal_id}/stage"),
        o,
        Some("{\"stage\": \"new\"}")
    );

    // Webhook subscriptions.
    let hooks = "/api/v1/webhooks";
    let made = call!(
        "POST",
        hooks,
        hooks,
        h,
        Some(&json!({"url": "http://127.0.0.1:9/hook", "events": ["callBooked"]}).to_string())
    );
    assert!(made["secret"].as_str().unwrap().starts_with("whsec_"));
    call!(
        "POST",
        hooks,
        hooks,
        h,
        Some(&json!({"url": "ftp://example.com"}).to_string())
    );
    call!(
        "POST",
        hooks,
        hooks,
        h,
        Some(&json!({"url": "http://127.0.0.1:9/", "events": ["callEaten"]}).to_string())
    );
    call!("POST", hooks, hooks, h, Some("{\"events\": []}"));
    call!("POST", hooks, hooks, None, Some("{}"));
    let listed = call!("GET", hooks, hooks, h, None);
    assert_eq!(listed["webhooks"].as_array().unwrap().len(), 1);
    let hook_id = made["id"].as_str().unwrap().to_owned();
    let hook = "/api/v1/webhooks/{id}";
    call!("GET", hook, format!("/api/v1/webhooks/{hook_id}"), h, None);
    call!("GET", hook, format!("/api/v1/webhooks/{hook_id}"), o, None);
    call!(
        "PATCH",
        hook,
        format!("/api/v1/webhooks/{hook_id}"),
        h,
        Some("{\"active\": false}")
    );
    call!(
        "PATCH",
        hook,
        format!("/api/v1/webhooks/{hook_id}"),
        h,
        Some("{\"active\": \"no\"}")
    );
    let active = "/api/v1/webhooks/{id}/active";
    call!(
        "POST",
        active,
        format!("/api/v1/webhooks/{hook_id}/active"),
        h,
        Some("{\"active\": true}")
    );
    call!(
        "POST",
        active,
        format!("/api/v1/webhooks/{hook_id}/active"),
        o,
        Some("{\"active\": true}")
    );
    let test = "/api/v1/webhooks/{id}/test";
    let report = call!(
        "POST",
        test,
        format!("/api/v1/webhooks/{hook_id}/test"),
        h,
        None
    );
    assert_eq!(report["delivered"], false);
    call!(
        "POST",
        test,
        format!("/api/v1/webhooks/{hook_id}/test"),
        o,
        None
    );
    let log = "/api/v1/webhooks/{id}/deliveries";
    let attempts = call!(
        "GET",
        log,
        format!("/api/v1/webhooks/{hook_id}/deliveries?limit=10"),
        h,
        None
    );
    assert_eq!(attempts["deliveries"].as_array().unwrap().len(), 1);
    call!(
        "GET",
        log,
        format!("/api/v1/webhooks/{hook_id}/deliveries?limit=many"),
        h,
        None
    );
    call!(
        "DELETE",
        hook,
        format!("/api/v1/webhooks/{hook_id}"),
        o,
        None
    );
    call!(
        "DELETE",
        hook,
        format!("/api/v1/webhooks/{hook_id}"),
        h,
        None
    );
    call!("GET", hook, format!("/api/v1/webhooks/{hook_id}"), h, None);

    // The calendar providers' push endpoints and the renewal cron.
    stored_connection(
        &app,
        1,
        Provider::Google,
        ConnectionStatus::Active,
        "c1",
        "s1",
    )
    .await;
    stored_connection(
        &app,
        2,
        Provider::Microsoft,
        ConnectionStatus::Active,
        "m1",
        "ms",
    )
    .await;
    let google = "/api/calendar-providers/webhook/google";
    for (channel, token, status) in [
        ("c1", "s1", 200),
        ("c1", "forged", 403),
        ("nope", "s1", 404),
    ] {
        let req = TestRequest::post()
            .uri(google)
            .insert_header(("X-Goog-Channel-ID", channel))
            .insert_header(("X-Goog-Channel-Token", token))
            .insert_header(("X-Goog-Resource-State", "exists"));
        let resp = call_service(&svc, req.to_request()).await;
        assert_eq!(resp.status(), status);
        doc.check("POST", google, None, resp).await;
    }
    let graph = "/api/calendar-providers/webhook/microsoft";
    let note = |sub: &str, client: &str| {
        json!({"value": [{"subscriptionId": sub, "clientState": client, "changeType": "updated",
            "resource": "me/events/1"}]})
        .to_string()
    };
    call!("POST", graph, graph, None, Some(&note("m1", "ms")));
    call!("POST", graph, graph, None, Some(&note("m1", "forged")));
    call!("POST", graph, graph, None, Some(&note("nope", "ms")));
    call!("POST", graph, graph, None, Some("{broken"));
    let renew = "/api/cron/calendar-subscriptions-renew";
    let report = call!("POST", renew, renew, Some("cron-secret"), None);
    assert!(report["failed"].is_array());
    call!("POST", renew, renew, Some("wrong"), None);
    call!("POST", renew, renew, None, None);
    let sms = "/sms/inbound";
    for (token, status) in [(fake_twilio::AUTH_TOKEN, 200), ("forged", 403)] {
        let form = vec![
            ("From".to_owned(), "+447911123456".to_owned()),
            ("Body".to_owned(), "STOP".to_owned()),
        ];
        let signature = fake_twilio::signature(token, &format!("http://book.test{sms}"), &form);
        let req = TestRequest::post()
            .uri(sms)
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .insert_header(("X-Twilio-Signature", signature))
            .set_payload("From=%2B447911123456&Body=STOP");
        let resp = call_service(&svc, req.to_request()).await;
        assert_eq!(resp.status(), status);
        doc.check("POST", sms, None, resp).await;
    }

    // A link that asks for reconfirmation: its bookings carry the state, strings and all.
    save_reconfirm_link(&app).await;
    let checked = call!(
        "POST",
        create,
        "/api/v1/links/checked/bookings",
        None,
        Some(&booking("2027-03-03T09:00:00Z"))
    );
    assert_eq!(
        checked["reconfirmation"]["deadline"],
        "2027-03-03T07:00:00Z"
    );
    let checked_id = checked["id"].as_str().unwrap().to_owned();
    booking_core::ports::BookingStore::record_reconfirmation_request(
        &app.store,
        booking_core::BookingId::parse(&checked_id).unwrap(),
        app.clock.now(),
    )
    .await
    .unwrap();
    let asked = call!(
        "GET",
        "/api/v1/bookings/{id}",
        format!("/api/v1/bookings/{checked_id}"),
        h,
        None
    );
    assert!(asked["booking"]["reconfirmation"]["requested_at"].is_string());

    // The host moves a meeting.
    let thursday = call!(
        "POST",
        create,
        "/api/v1/links/intro/bookings",
        None,
        Some(&booking("2027-03-04T09:00:00Z"))
    );
    call!(
        "POST",
        create,
        "/api/v1/links/intro/bookings",
        None,
        Some(&booking("2027-03-04T10:00:00Z"))
    );
    let thursday_id = thursday["id"].as_str().unwrap().to_owned();
    let host_move = "/api/v1/bookings/{id}/reschedule";
    let evening =
        json!({"start": "2027-03-04T18:00:00Z", "note": "Evening", "allow_outside_hours": true});
    let evening = evening.to_string();
    let uri = format!("/api/v1/bookings/{thursday_id}/reschedule");
    call!("POST", host_move, uri, o, Some(&evening));
    call!("POST", host_move, uri, h, Some("{"));
    call!(
        "POST",
        host_move,
        uri,
        h,
        Some("{\"start\": \"2027-03-04T18:00:00Z\"}")
    );
    call!(
        "POST",
        host_move,
        uri,
        h,
        Some("{\"start\": \"2027-03-04T10:00:00Z\"}")
    );
    let moved_by_host = call!("POST", host_move, uri, h, Some(&evening));
    assert_eq!(moved_by_host["start"], "2027-03-04T18:00:00Z");
    call!("POST", host_move, uri, h, Some(&evening));

    let missing = doc.never_succeeded();
    assert!(missing.is_empty(), "never seen succeeding: {missing:?}");
    for (status, what) in [
        (401, "no key"),
        (404, "another host's row"),
        (422, "invalid input"),
        (409, "refused"),
    ] {
        assert!(
            doc.seen.iter().any(|(_, _, s)| *s == status),
            "no {status} ({what}) was checked"
        );
    }
}

/// The validator itself refuses what it should (so the test above can fail).
#[test]
fn the_validator_refuses_drift() {
    let doc = Document {
        doc: json!({"components": {"schemas": {
            "Thing": {"type": "object", "required": ["id", "at"], "additionalProperties": false,
                      "properties": {"id": {"type": "string", "format": "uuid"},
                                     "at": {"type": "string", "format": "date-time"},
                                     "n": {"type": ["integer", "null"], "minimum": 0},
                                     "kind": {"oneOf": [{"$ref": "#/components/schemas/Kind"}, {"type": "null"}]}}},
            "Kind": {"type": "string", "enum": ["a", "b"]}}}}),
        seen: BTreeSet::new(),
    };
    let thing = json!({"$ref": "#/components/schemas/Thing"});
    let good = json!({"id": "00000000-0000-0000-0000-000000000001", "at": "2027-03-01T09:00:00Z", "n": null, "kind": "a"});
    assert_eq!(doc.violations(&thing, &good, "$"), Vec::<String>::new());
    for bad in [
        json!({"id": "00000000-0000-0000-0000-000000000001"}),
        json!({"id": "x", "at": "2027-03-01T09:00:00Z"}),
        json!({"id": "00000000-0000-0000-0000-000000000001", "at": "monday"}),
        json!({"id": "00000000-0000-0000-0000-000000000001", "at": "2027-03-01T09:00:00Z", "extra": 1}),
        json!({"id": "00000000-0000-0000-0000-000000000001", "at": "2027-03-01T09:00:00Z", "n": -1}),
        json!({"id": "00000000-0000-0000-0000-000000000001", "at": "2027-03-01T09:00:00Z", "n": "1"}),
        json!({"id": "00000000-0000-0000-0000-000000000001", "at": "2027-03-01T09:00:00Z", "kind": "c"}),
    ] {
        assert!(!doc.violations(&thing, &bad, "$").is_empty(), "{bad}");
    }
}
