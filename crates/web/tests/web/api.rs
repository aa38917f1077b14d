//! Every API flow and error, as problem+json.

use actix_web::test::{TestRequest, call_service};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::service;

async fn json_of(resp: actix_web::dev::ServiceResponse) -> Value {
    serde_json::from_str(&body(resp).await).unwrap()
}

fn post(uri: &str, body: Value) -> TestRequest {
    TestRequest::post().uri(uri).set_json(body)
}

fn booking_body(start: &str) -> Value {
    json!({"start": start, "invitee": {"name": "Ada", "email": "ada@example.org", "timezone": "America/New_York"},
           "answers": [{"question": "What should we talk about?", "answer": "Pricing"}], "tracking": {"utm_campaign": "spring"}})
}

async fn assert_problem(resp: actix_web::dev::ServiceResponse, status: u16, code: &str) -> Value {
    assert_eq!(resp.status(), status);
    assert_eq!(header(&resp, "content-type"), "application/problem+json");
    let p = json_of(resp).await;
    assert_eq!(p["status"], status);
    assert!(p["type"].as_str().unwrap().ends_with(code), "{p}");
    assert!(p["title"].is_string() && p["detail"].is_string());
    p
}

#[actix_web::test]
async fn slots_in_utc_or_in_a_zone() {
    let app = setup().await;
    let svc = service!(app);
    let uri = format!(
        "/api/v1/links/intro/slots?from={}&to={}",
        rfc(at(0, 0)),
        rfc(at(23, 0))
    );
    let resp = call_service(
        &svc,
        TestRequest::get()
            .uri(&uri.replace('+', "%2B"))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let slots = json_of(resp).await["slots"].as_array().unwrap().clone();
    assert_eq!(slots.len(), 16);
    assert_eq!(
        slots[0],
        json!({"start": "2027-03-01T08:00:00Z", "end": "2027-03-01T08:30:00Z"})
    );
    let resp = call_service(
        &svc,
        TestRequest::get()
            .uri(&format!("{uri}&tz=Asia/Kolkata"))
            .to_request(),
    )
    .await;
    assert_eq!(
        json_of(resp).await["slots"][0]["start"],
        "2027-03-01T13:30:00+05:30"
    );
}

#[actix_web::test]
async fn slot_query_errors() {
    let app = setup().await;
    let svc = service!(app);
    let resp = call_service(
        &svc,
        TestRequest::get()
            .uri("/api/v1/links/nope/slots")
            .to_request(),
    )
    .await;
    assert_problem(resp, 404, "not-found").await;
    let resp = call_service(
        &svc,
        TestRequest::get()
            .uri("/api/v1/links/intro/slots?from=yesterday")
            .to_request(),
    )
    .await;
    assert_problem(resp, 422, "invalid-input").await;
    let resp = call_service(
        &svc,
        TestRequest::get()
            .uri("/api/v1/links/intro/slots?tz=Mars/Base")
            .to_request(),
    )
    .await;
    assert_problem(resp, 422, "invalid-input").await;
    let uri = format!(
        "/api/v1/links/intro/slots?from={}&to={}",
        rfc(at(10, 0)),
        rfc(at(9, 0))
    );
    assert_problem(
        call_service(&svc, TestRequest::get().uri(&uri).to_request()).await,
        422,
        "invalid-input",
    )
    .await;
    let uri = format!(
        "/api/v1/links/intro/slots?from={}&to=2027-06-01T00:00:00Z",
        rfc(at(10, 0))
    );
    assert_problem(
        call_service(&svc, TestRequest::get().uri(&uri).to_request()).await,
        422,
        "invalid-input",
    )
    .await;
    let resp = call_service(
        &svc,
        TestRequest::get().uri("/api/v1/nothing-here").to_request(),
    )
    .await;
    assert_problem(resp, 404, "not-found").await;
}

#[actix_web::test]
async fn book_reschedule_cancel_through_the_api() {
    let app = setup().await;
    let svc = service!(app);
    let resp = call_service(
        &svc,
        post("/api/v1/links/intro/bookings", booking_body(&rfc(at(9, 0)))).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(header(&resp, "cache-control"), "no-store");
    let booked = json_of(resp).await;
    let token = booked["reschedule_token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 32);
    assert_eq!(
        booked["reschedule_url"],
        format!("http://book.test/book/reschedule/{token}")
    );
    assert_eq!(
        booked["cancel_url"],
        format!("http://book.test/book/cancel/{token}")
    );
    assert_eq!(booked["status"], "confirmed");
    assert_eq!(booked["tracking"]["utm_campaign"], "spring");
    assert_eq!(booked["answers"][0]["answer"], "Pricing");

    let got = json_of(
        call_service(
            &svc,
            TestRequest::get()
                .uri(&format!("/api/v1/bookings/by-token/{token}"))
                .to_request(),
        )
        .await,
    )
    .await;
    assert_eq!(got["id"], booked["id"]);

    let resp = call_service(
        &svc,
        post(
            &format!("/api/v1/bookings/by-token/{token}/reconfirm"),
            json!({}),
        )
        .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(json_of(resp).await["reconfirmed_at"].is_string());

    let uri = format!("/api/v1/bookings/by-token/{token}/reschedule");
    let resp = call_service(
        &svc,
        post(&uri, json!({"start": rfc(at(10, 0)), "reason": "clash"})).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let moved = json_of(resp).await;
    assert_eq!(moved["chain_id"], booked["chain_id"]);
    assert_eq!(moved["previous_id"], booked["id"]);
    let new_token = moved["reschedule_token"].as_str().unwrap().to_owned();
    assert_ne!(new_token, token);

    let resp = call_service(
        &svc,
        post(&uri, json!({"start": rfc(at(11, 0))})).to_request(),
    )
    .await;
    let p = assert_problem(resp, 409, "already-rescheduled").await;
    assert_eq!(p["title"], "Booking already rescheduled");
    let old = json_of(
        call_service(
            &svc,
            TestRequest::get()
                .uri(&format!("/api/v1/bookings/by-token/{token}"))
                .to_request(),
        )
        .await,
    )
    .await;
    assert_eq!(old["status"], "rescheduled");
    assert!(
        old.get("reschedule_token").is_none(),
        "a dead token is not handed back as a credential"
    );

    let cancel = format!("/api/v1/bookings/by-token/{new_token}/cancel");
    let first =
        json_of(call_service(&svc, post(&cancel, json!({"reason": "sick"})).to_request()).await)
            .await;
    assert_eq!(first["status"], "cancelled");
    assert_eq!(first["cancellation"]["by"], "attendee");
    assert_eq!(first["cancellation"]["reason"], "sick");
    let resp = call_service(&svc, post(&cancel, json!({"reason": "sick"})).to_request()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(json_of(resp).await, first, "cancel is idempotent");
    let resp = call_service(&svc, TestRequest::post().uri(&cancel).to_request()).await;
    assert_eq!(resp.status(), 200, "an empty body is fine");
}

#[actix_web::test]
async fn booking_errors() {
    let app = setup().await;
    let svc = service!(app);
    let resp = call_service(
        &svc,
        post("/api/v1/links/nope/bookings", booking_body(&rfc(at(9, 0)))).to_request(),
    )
    .await;
    assert_problem(resp, 404, "not-found").await;
    let resp = call_service(
        &svc,
        post("/api/v1/links/intro/bookings", booking_body(&rfc(at(6, 0)))).to_request(),
    )
    .await;
    assert_problem(resp, 409, "slot-unavailable").await;
    let mut bad = booking_body(&rfc(at(9, 0)));
    bad["invitee"]["email"] = json!("nope");
    bad["invitee"]["timezone"] = json!("Nowhere/City");
    let p = assert_problem(
        call_service(&svc, post("/api/v1/links/intro/bookings", bad).to_request()).await,
        422,
        "invalid-input",
    )
    .await;
    assert!(
        p["detail"].as_str().unwrap().contains("email")
            && p["detail"].as_str().unwrap().contains("timezone")
    );
    let resp = call_service(
        &svc,
        TestRequest::post()
            .uri("/api/v1/links/intro/bookings")
            .insert_header(("content-type", "application/json"))
            .set_payload("{not json")
            .to_request(),
    )
    .await;
    assert_problem(resp, 400, "malformed-request").await;
    let resp = call_service(
        &svc,
        post(
            "/api/v1/links/intro/bookings",
            json!({"start": rfc(at(9, 0))}),
        )
        .to_request(),
    )
    .await;
    assert_problem(resp, 400, "malformed-request").await;
    let resp = call_service(
        &svc,
        post("/api/v1/links/intro/bookings", booking_body("tomorrow")).to_request(),
    )
    .await;
    assert_problem(resp, 422, "invalid-input").await;
    assert!(app.store.bookings().is_empty());
    assert!(
        call_service(
            &svc,
            post("/api/v1/links/intro/bookings", booking_body(&rfc(at(9, 0)))).to_request()
        )
        .await
        .status()
            == 201
    );
    let resp = call_service(
        &svc,
        post("/api/v1/links/intro/bookings", booking_body(&rfc(at(9, 0)))).to_request(),
    )
    .await;
    assert_problem(resp, 409, "slot-unavailable").await;
}

#[actix_web::test]
async fn token_errors() {
    let app = setup().await;
    let booking = book(&app, at(9, 0)).await;
    let svc = service!(app);
    let resp = call_service(
        &svc,
        TestRequest::get()
            .uri("/api/v1/bookings/by-token/nope")
            .to_request(),
    )
    .await;
    assert_problem(resp, 404, "not-found").await;
    let token = booking.token().expose();
    let uri = format!("/api/v1/bookings/by-token/{token}/reschedule");
    assert_problem(
        call_service(
            &svc,
            post(&uri, json!({"start": rfc(at(9, 0))})).to_request(),
        )
        .await,
        422,
        "same-slot",
    )
    .await;
    assert_problem(
        call_service(
            &svc,
            post(&uri, json!({"start": rfc(at(20, 0))})).to_request(),
        )
        .await,
        409,
        "slot-not-offered",
    )
    .await;
    assert_problem(
        call_service(
            &svc,
            post(&uri, json!({"start": rfc(at(10, 0)), "extra": 1})).to_request(),
        )
        .await,
        400,
        "malformed-request",
    )
    .await;
    let cancel = format!("/api/v1/bookings/by-token/{token}/cancel");
    let resp = call_service(
        &svc,
        TestRequest::post()
            .uri(&cancel)
            .insert_header(("content-type", "application/json"))
            .set_payload("[")
            .to_request(),
    )
    .await;
    assert_problem(resp, 400, "malformed-request").await;
    app.clock.set(at(9, 0));
    assert_problem(
        call_service(&svc, post(&cancel, json!({})).to_request()).await,
        410,
        "meeting-started",
    )
    .await;
    let reconfirm = format!("/api/v1/bookings/by-token/{token}/reconfirm");
    assert_problem(
        call_service(&svc, post(&reconfirm, json!({})).to_request()).await,
        410,
        "meeting-started",
    )
    .await;
}

#[actix_web::test]
async fn the_openapi_document_lists_every_route() {
    let app = setup().await;
    let svc = service!(app);
    let doc = json_of(
        call_service(
            &svc,
            TestRequest::get().uri("/api/v1/openapi.json").to_request(),
        )
        .await,
    )
    .await;
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v1/links/{slug}/slots",
        "/api/v1/links/{slug}/bookings",
        "/api/v1/bookings/by-token/{token}",
        "/api/v1/bookings/by-token/{token}/reschedule",
        "/api/v1/bookings/by-token/{token}/cancel",
        "/api/v1/bookings/by-token/{token}/reconfirm",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
}
