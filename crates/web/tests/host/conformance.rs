//! What schemathesis found where the APIs and their OpenAPI document disagreed (issue 13,
//! finding 17), each pinned by a test: a method a resource does not serve answers 405 with
//! `Allow`; a body over the limit answers 413 as a problem document; out-of-range paging is
//! refused, not clamped; every 400 is documented; `null` is accepted exactly where the document
//! allows it; a provider push without its headers is malformed; and the link limits the API
//! enforces are the ones the document states.

use std::collections::BTreeSet;

use actix_web::test::{TestRequest, call_service};
use serde_json::{Value, json};
use webhooks_out::TargetPolicy;

use crate::helpers::*;
use crate::integrations::with_calendars;
use crate::openapi::{Document, key_for, link_input, request};
use crate::service;

/// The served document, ready to check answers against.
macro_rules! document {
    ($svc:expr) => {{
        let served = call_service(
            &$svc,
            TestRequest::get().uri("/api/v1/openapi.json").to_request(),
        )
        .await;
        Document {
            doc: serde_json::from_str(&body(served).await).unwrap(),
            seen: BTreeSet::new(),
        }
    }};
}

/// Every path of the document with a concrete URI (path parameters filled in).
fn concrete(path: &str) -> String {
    path.replace("{slug}", "intro")
        .replace("{token}", &"0".repeat(32))
        .replace("{id}", "00000000-0000-0000-0000-000000000001")
}

#[actix_web::test]
async fn a_method_a_resource_does_not_serve_answers_405_with_allow_as_a_problem() {
    let app = setup_webhooks(TargetPolicy::allow_private()).await;
    let world = with_calendars(&app, true, Some("cron-secret"));
    let svc = service!(world.state);
    let doc = document!(svc);
    let key = key_for(&app, app.hana.id(), 1).await;
    let mut checked = 0;
    for (path, item) in doc.doc["paths"].as_object().unwrap() {
        let mut documented: Vec<String> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|m| m.to_ascii_uppercase())
            .collect();
        documented.sort();
        for method in ["TRACE", "PUT", "PATCH", "DELETE", "GET", "POST"] {
            if documented.iter().any(|m| m == method) {
                continue;
            }
            let req = request(method, &concrete(path), Some(&key), None).to_request();
            let resp = call_service(&svc, req).await;
            assert_eq!(resp.status(), 405, "{method} {path}");
            let mut allowed: Vec<String> = header(&resp, "allow")
                .split(',')
                .map(|m| m.trim().to_owned())
                .collect();
            allowed.sort();
            assert_eq!(allowed, documented, "Allow of {method} {path}");
            assert_eq!(header(&resp, "content-type"), "application/problem+json");
            let problem: Value = serde_json::from_str(&body(resp).await).unwrap();
            assert_eq!(problem["status"], 405);
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} methods were checked");
}

#[actix_web::test]
async fn a_body_over_the_limit_answers_413_as_a_documented_problem() {
    let app = setup_webhooks(TargetPolicy::allow_private()).await;
    let world = with_calendars(&app, true, Some("cron-secret"));
    let svc = service!(world.state);
    let mut doc = document!(svc);
    let key = key_for(&app, app.hana.id(), 1).await;
    let huge = json!({"reason": "x".repeat(300 * 1024)}).to_string();
    let token = "0".repeat(32);
    let id = "00000000-0000-0000-0000-000000000001";
    for (method, template, uri) in [
        (
            "POST",
            "/api/v1/links/{slug}/bookings",
            "/api/v1/links/intro/bookings".to_owned(),
        ),
        (
            "POST",
            "/api/v1/bookings/by-token/{token}/cancel",
            format!("/api/v1/bookings/by-token/{token}/cancel"),
        ),
        ("POST", "/api/v1/links", "/api/v1/links".to_owned()),
        ("PUT", "/api/v1/links/{id}", format!("/api/v1/links/{id}")),
        ("POST", "/api/v1/webhooks", "/api/v1/webhooks".to_owned()),
        (
            "POST",
            "/api/calendar-providers/webhook/microsoft",
            "/api/calendar-providers/webhook/microsoft".to_owned(),
        ),
    ] {
        let req = request(method, &uri, Some(&key), Some(&huge)).to_request();
        let resp = call_service(&svc, req).await;
        assert_eq!(resp.status(), 413, "{method} {uri}");
        let problem = doc.check(method, template, None, resp).await;
        assert_eq!(problem["status"], 413);
    }
}

#[actix_web::test]
async fn paging_out_of_range_is_refused_not_clamped_and_malformed_queries_are_documented() {
    let app = setup_webhooks(TargetPolicy::allow_private()).await;
    let svc = service!(app.state);
    let mut doc = document!(svc);
    let key = key_for(&app, app.hana.id(), 1).await;
    let hook = call_service(
        &svc,
        request(
            "POST",
            "/api/v1/webhooks",
            Some(&key),
            Some(&json!({"url": "http://127.0.0.1:9/hook"}).to_string()),
        )
        .to_request(),
    )
    .await;
    let hook: Value = serde_json::from_str(&body(hook).await).unwrap();
    let deliveries = format!(
        "/api/v1/webhooks/{}/deliveries",
        hook["id"].as_str().unwrap()
    );
    let cases = [
        ("/api/v1/bookings", "/api/v1/bookings?limit=101", 422),
        ("/api/v1/bookings", "/api/v1/bookings?limit=0", 422),
        (
            "/api/v1/bookings",
            "/api/v1/bookings?offset=2147483648",
            422,
        ),
        (
            "/api/v1/bookings",
            "/api/v1/bookings?tab=past&tab=past",
            400,
        ),
        ("/api/v1/deals", "/api/v1/deals?limit=1000", 422),
        ("/api/v1/deals", "/api/v1/deals?offset=2147483648", 422),
        (
            "/api/v1/deals",
            "/api/v1/deals?offset=2147483647&limit=100",
            200,
        ),
        ("/api/v1/deals", "/api/v1/deals?limit=1&limit=2", 400),
        (
            "/api/v1/webhooks/{id}/deliveries",
            &format!("{deliveries}?limit=101"),
            422,
        ),
        (
            "/api/v1/webhooks/{id}/deliveries",
            &format!("{deliveries}?limit=100"),
            200,
        ),
        (
            "/api/v1/webhooks/{id}/deliveries",
            &format!("{deliveries}?limit=1&limit=2"),
            400,
        ),
    ];
    for (template, uri, status) in cases {
        let resp = call_service(&svc, request("GET", uri, Some(&key), None).to_request()).await;
        assert_eq!(resp.status(), status, "GET {uri}");
        doc.check("GET", template, None, resp).await;
    }
    let page = &doc.doc["paths"]["/api/v1/deals"]["get"]["parameters"];
    let offset = page
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "offset")
        .unwrap();
    assert_eq!(offset["schema"]["maximum"], 2_147_483_647);
}

#[actix_web::test]
async fn null_is_accepted_where_the_document_allows_it() {
    let app = setup_webhooks(TargetPolicy::allow_private()).await;
    let svc = service!(app.state);
    let mut doc = document!(svc);
    let key = key_for(&app, app.hana.id(), 1).await;
    let booked = book(&app, "intro", at(10, 0) + chrono::TimeDelta::days(3), "Ann").await;
    let token = booked.token().expose().to_owned();
    // `check` validates every accepted body against the documented request body.
    let cases = [
        (
            "POST",
            "/api/v1/bookings/by-token/{token}/reschedule",
            format!("/api/v1/bookings/by-token/{token}/reschedule"),
            json!({"start": (at(11, 0) + chrono::TimeDelta::days(3)).to_rfc3339(), "reason": null}),
        ),
        (
            "POST",
            "/api/v1/webhooks",
            "/api/v1/webhooks".to_owned(),
            json!({"url": "http://127.0.0.1:9/hook", "events": null, "active": null}),
        ),
    ];
    let mut moved = Value::Null;
    for (method, template, uri, sent) in cases {
        let sent = sent.to_string();
        let resp = call_service(
            &svc,
            request(method, &uri, Some(&key), Some(&sent)).to_request(),
        )
        .await;
        assert!(
            resp.status().is_success(),
            "{method} {uri}: {}",
            resp.status()
        );
        moved = doc.check(method, template, Some(&sent), resp).await;
    }
    assert_eq!(moved["active"], true);
    let booked = book(&app, "intro", at(12, 0) + chrono::TimeDelta::days(3), "Bo").await;
    let cancel = "/api/v1/bookings/by-token/{token}/cancel";
    let uri = format!(
        "/api/v1/bookings/by-token/{}/cancel",
        booked.token().expose()
    );
    for sent in ["null", "{\"reason\": null}"] {
        let resp = call_service(&svc, request("POST", &uri, None, Some(sent)).to_request()).await;
        assert_eq!(resp.status(), 200, "cancel with {sent}");
        let done = doc.check("POST", cancel, Some(sent), resp).await;
        assert_eq!(done["status"], "cancelled");
    }
    // serde would read the struct from an array; the document says object or null.
    let other = book(&app, "intro", at(13, 0) + chrono::TimeDelta::days(3), "Cy").await;
    let uri = format!(
        "/api/v1/bookings/by-token/{}/cancel",
        other.token().expose()
    );
    for sent in ["[null]", "[\"a reason\"]"] {
        let resp = call_service(&svc, request("POST", &uri, None, Some(sent)).to_request()).await;
        assert_eq!(resp.status(), 400, "cancel with {sent}");
        doc.check("POST", cancel, Some(sent), resp).await;
    }
}

#[actix_web::test]
async fn provider_pushes_without_their_headers_or_with_a_broken_body_are_malformed() {
    let app = setup_webhooks(TargetPolicy::allow_private()).await;
    let world = with_calendars(&app, true, Some("cron-secret"));
    let svc = service!(world.state);
    let mut doc = document!(svc);
    let google = "/api/calendar-providers/webhook/google";
    let headers = [
        ("X-Goog-Channel-ID", "c1"),
        ("X-Goog-Channel-Token", "s1"),
        ("X-Goog-Resource-State", "exists"),
    ];
    for missing in 0..headers.len() {
        let mut req = TestRequest::post().uri(google);
        for (i, h) in headers.iter().enumerate() {
            if i != missing {
                req = req.insert_header(*h);
            }
        }
        let resp = call_service(&svc, req.to_request()).await;
        assert_eq!(resp.status(), 400, "without {}", headers[missing].0);
        doc.check("POST", google, None, resp).await;
    }
    let graph = "/api/calendar-providers/webhook/microsoft";
    let handshake = format!("{graph}?validationToken=hello");
    let broken = "{\"value\": [{\"subscriptionId\": {}}]}";
    let resp = call_service(
        &svc,
        request("POST", &handshake, None, Some(broken)).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 400);
    doc.check("POST", graph, None, resp).await;
    let resp = call_service(&svc, TestRequest::post().uri(&handshake).to_request()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body(resp).await, "hello");
    let resp = call_service(&svc, TestRequest::post().uri(graph).to_request()).await;
    assert_eq!(resp.status(), 202, "no body and no token is an empty batch");
}

/// Every integer setting of a link: the document's bounds are the ones the API enforces, and a
/// whole number written as `30.0` is one (JSON Schema's `integer`).
#[actix_web::test]
async fn the_link_limits_the_api_enforces_are_the_documented_ones() {
    let app = setup_webhooks(TargetPolicy::allow_private()).await;
    let svc = service!(app.state);
    let mut doc = document!(svc);
    let key = key_for(&app, app.hana.id(), 1).await;
    let schema = doc.doc["components"]["schemas"]["LinkInput"]["properties"].clone();
    let base: Value = serde_json::from_str(&link_input("limits")).unwrap();
    let mut n = 0;
    for (field, prop) in schema.as_object().unwrap() {
        let (Some(min), Some(max)) = (prop["minimum"].as_i64(), prop["maximum"].as_i64()) else {
            continue;
        };
        for (value, accepted) in [(min, true), (max, true), (min - 1, false), (max + 1, false)] {
            n += 1;
            let mut input = base.clone();
            input["slug"] = json!(format!("limits-{n}"));
            input[field] = json!(value);
            let sent = input.to_string();
            let resp = call_service(
                &svc,
                request("POST", "/api/v1/links", Some(&key), Some(&sent)).to_request(),
            )
            .await;
            let status = resp.status().as_u16();
            let text = body(resp).await;
            let expected = if accepted { 201 } else { 422 };
            assert_eq!(status, expected, "{field} = {value}: {text}");
        }
    }
    assert!(n >= 24, "only {n} bounds are documented");
    let reconfirm = &doc.doc["components"]["schemas"]["Reconfirmation"]["properties"];
    assert_eq!(reconfirm["ask_hours_before"]["maximum"], 8784);
    assert_eq!(reconfirm["ask_minutes_before"]["maximum"], 527040);
    let mut input = base.clone();
    input["slug"] = json!("whole");
    input["duration_minutes"] = json!(30.0);
    input["reconfirmation"] = json!({"ask_hours_before": 24.0, "cancel_hours_before": 2});
    let sent = input.to_string();
    let resp = call_service(
        &svc,
        request("POST", "/api/v1/links", Some(&key), Some(&sent)).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 201);
    doc.check("POST", "/api/v1/links", Some(&sent), resp).await;
    let zones = doc.doc["components"]["schemas"]["ZoneName"]["enum"]
        .as_array()
        .unwrap();
    assert!(zones.contains(&json!("Europe/Berlin")) && zones.len() > 400);
    assert_eq!(schema["time_zone"]["$ref"], "#/components/schemas/ZoneName");
}
