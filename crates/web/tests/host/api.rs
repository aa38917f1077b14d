//! The host JSON API: an API key is required and a revoked one stops working; bookings by
//! tab with counts, detail with history, cancel, no-show and undo, resending links; links
//! create/read/replace with 422 problems; deals list and stage; another host's ids are 404.

use actix_web::test::{TestRequest, call_service};
use booking_core::deals::{DealId, open_deal_for};
use booking_core::effects::Effect;
use booking_core::link::Slug;
use booking_core::ports::{BookingStore, Clock};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::{csrf, logged_in, send, service};

/// Creates an API key through the settings page and returns it.
macro_rules! api_key {
    ($svc:expr, $email:expr, $password:expr) => {{
        let mut b = logged_in!($svc, $email, $password);
        let csrf = csrf!($svc, b);
        let resp = send!(
            $svc,
            b,
            form(
                "/settings/api-keys",
                &[("csrf", &csrf), ("label", "CRM sync")]
            )
        );
        assert_eq!(resp.status(), 201);
        assert_eq!(header(&resp, "cache-control"), "no-store");
        let html = body(resp).await;
        let start = html.find(r#"<code id="new-key">"#).unwrap() + r#"<code id="new-key">"#.len();
        let key = html[start..start + 35].to_owned();
        assert!(key.starts_with("sk_"), "{key}");
        // Shown once only.
        let again = body(send!($svc, b, get("/settings/api-keys"))).await;
        assert!(!again.contains(&key) && again.contains(&key[..9]));
        (b, key)
    }};
}

fn call(method: &str, uri: &str, key: Option<&str>) -> TestRequest {
    let req = match method {
        "GET" => TestRequest::get(),
        "POST" => TestRequest::post(),
        "PUT" => TestRequest::put(),
        "DELETE" => TestRequest::delete(),
        _ => unreachable!(),
    }
    .uri(uri);
    match key {
        Some(k) => req.insert_header(("authorization", format!("Bearer {k}"))),
        None => req,
    }
}

async fn json_of(resp: actix_web::dev::ServiceResponse) -> Value {
    serde_json::from_str(&body(resp).await).unwrap()
}

#[actix_web::test]
async fn a_key_is_required_and_a_revoked_key_stops_working() {
    let app = setup().await;
    let svc = service!(app.state);
    let resp = call_service(&svc, call("GET", "/api/v1/bookings", None).to_request()).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(header(&resp, "content-type"), "application/problem+json");
    assert!(header(&resp, "www-authenticate").starts_with("Bearer"));
    for bad in ["sk_nope", &format!("sk_{}", "0".repeat(32)), "Basic abc"] {
        let resp = call_service(
            &svc,
            call("GET", "/api/v1/bookings", Some(bad)).to_request(),
        )
        .await;
        assert_eq!(resp.status(), 401, "{bad}");
    }
    let (mut b, key) = api_key!(svc, "hana@example.com", HANA_PASSWORD);
    let resp = call_service(
        &svc,
        call("GET", "/api/v1/bookings", Some(&key)).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let page = body(send!(svc, b, get("/settings/api-keys"))).await;
    let csrf = csrf_of(&page);
    let start = page.find("/settings/api-keys/").unwrap();
    let revoke = &page[start..start + page[start..].find('"').unwrap()];
    let resp = send!(svc, b, form(revoke, &[("csrf", &csrf)]));
    assert_eq!(resp.status(), 303);
    let resp = call_service(
        &svc,
        call("GET", "/api/v1/bookings", Some(&key)).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 401);
    assert!(body(resp).await.contains("revoked"));
}

#[actix_web::test]
async fn bookings_by_tab_detail_cancel_and_no_show() {
    let app = setup().await;
    let first = book(&app, "intro", at(8, 0), "Ada Lovelace").await;
    app.state
        .scheduler
        .reschedule(first.token().expose(), at(9, 0), None)
        .await
        .unwrap();
    let later = book(&app, "intro", at(12, 0), "Bea Later").await;
    let svc = service!(app.state);
    let (_b, key) = api_key!(svc, "hana@example.com", HANA_PASSWORD);
    let k = Some(key.as_str());

    let list = json_of(
        call_service(
            &svc,
            call("GET", "/api/v1/bookings?tab=upcoming", k).to_request(),
        )
        .await,
    )
    .await;
    assert_eq!(
        list["counts"],
        json!({"upcoming": 2, "past": 0, "no_shows": 0, "cancelled": 0})
    );
    assert_eq!(list["bookings"].as_array().unwrap().len(), 2);
    assert!(
        list["bookings"][0].get("reschedule_token").is_none(),
        "no tokens in the host API"
    );
    let bad = call_service(
        &svc,
        call("GET", "/api/v1/bookings?tab=soon", k).to_request(),
    )
    .await;
    assert_eq!(bad.status(), 422);

    let detail = json_of(
        call_service(
            &svc,
            call("GET", &format!("/api/v1/bookings/{}", first.id()), k).to_request(),
        )
        .await,
    )
    .await;
    assert_eq!(detail["history"][0]["kind"], "booked");
    assert_eq!(detail["history"][1]["kind"], "rescheduled");
    assert_eq!(
        detail["history"][1]["from"]["start"],
        "2027-03-01T08:00:00Z"
    );
    assert_eq!(detail["booking"]["start"], "2027-03-01T09:00:00Z");
    assert_eq!(detail["rows"].as_array().unwrap().len(), 2);

    let resp = call_service(
        &svc,
        call(
            "POST",
            &format!("/api/v1/bookings/{}/cancel", later.id()),
            k,
        )
        .set_json(json!({"reason": "Host is ill"}))
        .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let cancelled = json_of(resp).await;
    assert_eq!(cancelled["cancellation"]["by"], "host");
    assert_eq!(cancelled["cancellation"]["reason"], "Host is ill");

    let path = format!("/api/v1/bookings/{}/no-show", first.id());
    let resp = call_service(&svc, call("POST", &path, k).to_request()).await;
    assert_eq!(resp.status(), 409, "not started");
    assert_eq!(
        json_of(resp).await["type"],
        "https://slotkeeper.dev/problems/host-action-refused"
    );
    app.clock.set(at(9, 15));
    let marked = json_of(call_service(&svc, call("POST", &path, k).to_request()).await).await;
    assert_eq!(marked["status"], "no_show");
    let undone = json_of(call_service(&svc, call("DELETE", &path, k).to_request()).await).await;
    assert_eq!(undone["status"], "confirmed");

    app.clock.set(at(7, 30));
    let resp = call_service(
        &svc,
        call(
            "POST",
            &format!("/api/v1/bookings/{}/send-links", first.id()),
            k,
        )
        .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 202);
    assert_eq!(json_of(resp).await["sent_to"], "ada.lovelace@example.org");
}

#[actix_web::test]
async fn fresh_links_by_api_go_out_three_times_an_hour_then_429() {
    let app = setup().await;
    let booked = book(&app, "intro", at(9, 0), "Ada Lovelace").await;
    let svc = service!(app.state);
    let (_b, key) = api_key!(svc, "hana@example.com", HANA_PASSWORD);
    let path = format!("/api/v1/bookings/{}/send-links", booked.id());
    let before = app.store.outbox().len();
    for call_no in 0..10 {
        let resp = call_service(&svc, call("POST", &path, Some(key.as_str())).to_request()).await;
        if call_no < 3 {
            assert_eq!(resp.status(), 202, "call {call_no}");
        } else {
            assert_eq!(resp.status(), 429, "call {call_no}");
            assert_eq!(header(&resp, "content-type"), "application/problem+json");
            assert_eq!(
                json_of(resp).await["type"],
                "https://slotkeeper.dev/problems/too-many-requests"
            );
        }
    }
    assert_eq!(app.store.outbox().len(), before + 3);
}

#[actix_web::test]
async fn links_are_created_read_and_replaced_with_problems_for_bad_input() {
    let app = setup().await;
    let svc = service!(app.state);
    let (_b, key) = api_key!(svc, "hana@example.com", HANA_PASSWORD);
    let k = Some(key.as_str());
    let body_ok = json!({
        "slug": "api-call", "title": "API call", "time_zone": "Europe/Berlin", "duration_minutes": 20,
        "weekly_hours": {"tue": ["08:00-10:00"]}, "date_overrides": {"2027-03-02": []},
        "questions": ["Why?"], "create_deal": true, "location": "Room 4",
        "reconfirmation": {"ask_hours_before": 24, "cancel_hours_before": 2}
    });
    let resp = call_service(
        &svc,
        call("POST", "/api/v1/links", k)
            .set_json(&body_ok)
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let created = json_of(resp).await;
    assert_eq!(created["weekly_hours"]["tue"], json!(["08:00-10:00"]));
    assert_eq!(created["reconfirmation"]["ask_hours_before"], 24);
    assert_eq!(created["reconfirmation"]["ask_minutes_before"], 1440);
    assert_eq!(created["reconfirmation"]["cancel_minutes_before"], 120);
    assert_eq!(created["url"], "http://book.test/book/api-call");
    let id = created["id"].as_str().unwrap().to_owned();
    let read = json_of(
        call_service(
            &svc,
            call("GET", &format!("/api/v1/links/{id}"), k).to_request(),
        )
        .await,
    )
    .await;
    assert_eq!(read, created);
    let list =
        json_of(call_service(&svc, call("GET", "/api/v1/links", k).to_request()).await).await;
    let slugs: Vec<&str> = list["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["api-call", "intro"]);

    let mut replaced = body_ok.clone();
    replaced["title"] = json!("API call, longer");
    replaced["duration_minutes"] = json!(50);
    replaced["reconfirmation"] = json!({"ask_minutes_before": 90, "cancel_minutes_before": 30});
    let resp = call_service(
        &svc,
        call("PUT", &format!("/api/v1/links/{id}"), k)
            .set_json(&replaced)
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let link = app
        .store
        .link_by_slug(&Slug::parse("api-call").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (link.title(), link.rules().duration().num_minutes()),
        ("API call, longer", 50)
    );
    let policy = link.reconfirmation().unwrap();
    assert_eq!(
        (
            policy.ask_before().num_minutes(),
            policy.cancel_before().num_minutes()
        ),
        (90, 30)
    );
    let read = json_of(
        call_service(
            &svc,
            call("GET", &format!("/api/v1/links/{id}"), k).to_request(),
        )
        .await,
    )
    .await;
    assert_eq!(
        read["reconfirmation"],
        json!({"ask_minutes_before": 90, "cancel_minutes_before": 30})
    );
    assert_eq!(read["standard_workflow"], true);
    assert_eq!(
        read["workflow"]["steps"][0],
        json!({"trigger": "before_start", "minutes": 1440, "action": "email_attendee"})
    );

    let steps = json!({"reconfirm_by_text": false, "steps": [
        {"trigger": "after_end", "minutes": 60, "action": "email_attendee",
         "subject": "Thanks, {attendee_name}", "body": "Again? {book_again_url}"},
        {"trigger": "cancelled", "action": "webhook"}]});
    replaced["workflow"] = steps.clone();
    let resp = call_service(
        &svc,
        call("PUT", &format!("/api/v1/links/{id}"), k)
            .set_json(&replaced)
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let answer = json_of(resp).await;
    assert_eq!(answer["standard_workflow"], false);
    let mut expected = steps;
    expected["reconfirm_by_email"] = json!(true);
    assert_eq!(answer["workflow"], expected);
    replaced["workflow"]["steps"][0]["body"] = json!("Again? {calendar_url}");
    let resp = call_service(
        &svc,
        call("PUT", &format!("/api/v1/links/{id}"), k)
            .set_json(&replaced)
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 422);
    let problem = json_of(resp).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("unknown field {calendar_url}"),
        "{problem}"
    );

    let mut bad = body_ok.clone();
    bad["slug"] = json!("Bad Slug");
    bad["weekly_hours"] = json!({"funday": ["09:00-10:00"]});
    let resp = call_service(
        &svc,
        call("POST", "/api/v1/links", k).set_json(&bad).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 422);
    let problem = json_of(resp).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("slug:") && detail.contains("funday"),
        "{detail}"
    );
    let resp = call_service(
        &svc,
        call("POST", "/api/v1/links", k)
            .set_payload("{nope")
            .insert_header(("content-type", "application/json"))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 400);
    let mut taken = body_ok.clone();
    taken["slug"] = json!("otto-call");
    let resp = call_service(
        &svc,
        call("POST", "/api/v1/links", k)
            .set_json(&taken)
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 409);
}

#[actix_web::test]
async fn deals_are_listed_and_moved_through_the_api() {
    let app = setup().await;
    let booked = book(&app, "intro", at(9, 0), "Dora Deal").await;
    for planned in app.store.outbox() {
        if let Effect::CreateDeal { chain, booking } = planned.effect {
            open_deal_for(&app.store, &app.store, chain, booking, app.clock.now())
                .await
                .unwrap();
        }
    }
    let svc = service!(app.state);
    let (_b, key) = api_key!(svc, "hana@example.com", HANA_PASSWORD);
    let k = Some(key.as_str());
    let list =
        json_of(call_service(&svc, call("GET", "/api/v1/deals", k).to_request()).await).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["deals"][0]["stage"], "new");
    assert_eq!(list["deals"][0]["contact"]["name"], "Dora Deal");
    let id = DealId::for_chain(booked.chain());
    let resp = call_service(
        &svc,
        call("POST", &format!("/api/v1/deals/{id}/stage"), k)
            .set_json(json!({"stage": "closed_won"}))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(json_of(resp).await["stage"], "closed_won");
    let resp = call_service(
        &svc,
        call("POST", &format!("/api/v1/deals/{id}/stage"), k)
            .set_json(json!({"stage": "lost"}))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 422);
    let detail = json_of(
        call_service(
            &svc,
            call("GET", &format!("/api/v1/bookings/{}", booked.id()), k).to_request(),
        )
        .await,
    )
    .await;
    assert_eq!(detail["deal"]["stage"], "closed_won");
}

/// The booking JSON carries where the booking stands with reconfirmation: `null` for a link
/// that does not ask; the deadline first, then when the request was delivered and when the
/// attendee answered.
#[actix_web::test]
async fn bookings_carry_their_reconfirmation_state() {
    use chrono::{TimeZone, Utc};
    let app = setup().await;
    save_reconfirm_link(&app).await;
    let day = |d: u32, h: u32| Utc.with_ymd_and_hms(2027, 3, d, h, 0, 0).unwrap();
    let checked = book(&app, "checked", day(3, 9), "Ada Lovelace").await;
    let plain = book(&app, "intro", at(9, 0), "Bea Plain").await;
    let svc = service!(app.state);
    let (_b, key) = api_key!(svc, "hana@example.com", HANA_PASSWORD);
    let k = Some(key.as_str());
    let state = |id: booking_core::BookingId| {
        let svc = &svc;
        async move {
            let uri = format!("/api/v1/bookings/{id}");
            json_of(call_service(svc, call("GET", &uri, k).to_request()).await).await["booking"]
                ["reconfirmation"]
                .clone()
        }
    };
    assert_eq!(state(plain.id()).await, Value::Null);
    assert_eq!(
        state(checked.id()).await,
        json!({"requested_at": null, "deadline": "2027-03-03T07:00:00Z", "reconfirmed_at": null})
    );
    app.store
        .record_reconfirmation_request(checked.id(), day(2, 9))
        .await
        .unwrap();
    app.clock.set(day(2, 10));
    app.state
        .scheduler
        .reconfirm(checked.token().expose())
        .await
        .unwrap();
    assert_eq!(
        state(checked.id()).await,
        json!({
            "requested_at": "2027-03-02T09:00:00Z",
            "deadline": "2027-03-03T07:00:00Z",
            "reconfirmed_at": "2027-03-02T10:00:00Z"
        })
    );
}

#[actix_web::test]
async fn another_hosts_ids_are_not_found_in_the_api() {
    let app = setup().await;
    let theirs = book(&app, "intro", at(9, 0), "Hana's Guest").await;
    for planned in app.store.outbox() {
        if let Effect::CreateDeal { chain, booking } = planned.effect {
            open_deal_for(&app.store, &app.store, chain, booking, app.clock.now())
                .await
                .unwrap();
        }
    }
    let svc = service!(app.state);
    let (_b, otto_key) = api_key!(svc, "otto@example.com", OTTO_PASSWORD);
    let k = Some(otto_key.as_str());
    let id = theirs.id();
    let deal = DealId::for_chain(theirs.chain());
    let hana_link = "00000000-0000-0000-0000-000000000002";
    for (method, uri) in [
        ("GET", format!("/api/v1/bookings/{id}")),
        ("POST", format!("/api/v1/bookings/{id}/cancel")),
        ("POST", format!("/api/v1/bookings/{id}/no-show")),
        ("DELETE", format!("/api/v1/bookings/{id}/no-show")),
        ("POST", format!("/api/v1/bookings/{id}/send-links")),
        ("GET", format!("/api/v1/links/{hana_link}")),
        ("GET", format!("/api/v1/deals/{deal}")),
        ("POST", format!("/api/v1/deals/{deal}/stage")),
    ] {
        let resp = call_service(
            &svc,
            call(method, &uri, k)
                .set_json(json!({"stage": "closed_lost"}))
                .to_request(),
        )
        .await;
        assert_eq!(resp.status(), 404, "{method} {uri}");
    }
    let resp = call_service(
        &svc,
        call("PUT", &format!("/api/v1/links/{hana_link}"), k)
            .set_json(json!({"slug": "intro", "title": "Mine", "time_zone": "UTC", "duration_minutes": 30}))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 404);
    assert_eq!(app.store.booking(id).await.unwrap().unwrap(), theirs);
    let list =
        json_of(call_service(&svc, call("GET", "/api/v1/bookings", k).to_request()).await).await;
    assert_eq!(list["counts"]["upcoming"], 0);
    let deals =
        json_of(call_service(&svc, call("GET", "/api/v1/deals", k).to_request()).await).await;
    assert_eq!(deals["total"], 0);
}

#[actix_web::test]
async fn the_openapi_document_describes_the_host_api() {
    let app = setup().await;
    let svc = service!(app.state);
    let doc = json_of(
        call_service(
            &svc,
            TestRequest::get().uri("/api/v1/openapi.json").to_request(),
        )
        .await,
    )
    .await;
    for path in [
        "/api/v1/bookings",
        "/api/v1/bookings/{id}/cancel",
        "/api/v1/links/{id}",
        "/api/v1/deals/{id}/stage",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    assert!(
        doc["paths"]["/api/v1/links/{slug}/slots"].is_object(),
        "the public API stays"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["apiKey"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["LinkInput"].is_object());
    // The public API still answers next to the host API.
    let resp = call_service(
        &svc,
        TestRequest::get()
            .uri("/api/v1/links/intro/slots")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
}
