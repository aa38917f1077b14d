//! What the public booking input accepts (issue 13, findings 6, 7, 8, 9 and 13), through the
//! JSON API and the booking pages: refused input answers 422 (or 429) and changes nothing.

use std::sync::Arc;

use actix_web::test::{TestRequest, call_service};
use booking_core::availability::{AvailabilityRules, DayHours, DayPeriod, RulesDraft, WeeklyHours};
use booking_core::link::{BookingLink, LinkSettings, Slug};
use booking_core::ports::BookingStore;
use booking_core::{HostId, LinkId, Status, TimeZoneName};
use chrono::{DateTime, TimeDelta, Utc, Weekday};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::service;

async fn json_of(resp: actix_web::dev::ServiceResponse) -> Value {
    serde_json::from_str(&body(resp).await).unwrap()
}

fn post(uri: &str, body: Value) -> TestRequest {
    TestRequest::post().uri(uri).set_json(body)
}

fn form(uri: &str, pairs: &[(&str, &str)]) -> TestRequest {
    let body = pairs
        .iter()
        .map(|(k, v)| {
            let v: String = v
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&");
    TestRequest::post()
        .uri(uri)
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload(body)
}

fn booking(start: DateTime<Utc>, email: &str, answers: Value) -> Value {
    json!({"start": rfc(start), "invitee": {"name": "Ada", "email": email, "timezone": "UTC"},
           "answers": answers})
}

fn talk(answer: &str) -> Value {
    json!([{"question": "What should we talk about?", "answer": answer}])
}

async fn problem(resp: actix_web::dev::ServiceResponse, status: u16, code: &str) -> String {
    assert_eq!(resp.status(), status);
    assert_eq!(header(&resp, "content-type"), "application/problem+json");
    let p = json_of(resp).await;
    assert!(p["type"].as_str().unwrap().ends_with(code), "{p}");
    p["detail"].as_str().unwrap().to_owned()
}

/// Every day round the clock in UTC, `minutes` long slots every `minutes`.
async fn save_link(app: &TestApp, slug: &str, minutes: i64, notice: TimeDelta, questions: &[&str]) {
    let all = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    let day = DayHours::new(vec![DayPeriod::parse("00:00-24:00").unwrap()]).unwrap();
    let mut draft = RulesDraft::weekdays(
        TimeZoneName::parse("UTC").unwrap(),
        DayPeriod::parse("00:00-24:00").unwrap(),
        TimeDelta::minutes(minutes),
    );
    draft.weekly = WeeklyHours::on(&all, &day);
    draft.minimum_notice = notice;
    let n = slug.len() as u128 + 100;
    let link = BookingLink::new(
        LinkId::from_uuid(uuid::Uuid::from_u128(n)),
        HostId::from_uuid(uuid::Uuid::from_u128(1)),
        Slug::parse(slug).unwrap(),
        LinkSettings {
            title: "Round the clock".into(),
            rules: AvailabilityRules::new(draft).unwrap(),
            reconfirmation: None,
            create_deal: false,
            questions: questions.iter().map(|q| (*q).to_owned()).collect(),
        },
    )
    .unwrap();
    app.store.save_link(&link).await.unwrap();
}

/// #6: addresses lettre cannot send to are refused at booking, and the slot stays free.
#[actix_web::test]
async fn addresses_the_mailer_cannot_send_to_are_refused_and_take_no_slot() {
    let app = setup().await;
    let svc = service!(app);
    let uri = "/api/v1/links/intro/bookings";
    for bad in [
        "a@b@example.com",
        "a:b@example.com",
        "a(c)@example.com",
        "a\\b@example.com",
        "a.@example.com",
        "a\u{202e}b@example.com",
        "=?utf-8?b?YQ==?=@example.com",
    ] {
        let resp = call_service(
            &svc,
            post(uri, booking(at(9, 0), bad, talk("x"))).to_request(),
        )
        .await;
        let detail = problem(resp, 422, "invalid-input").await;
        assert!(detail.starts_with("email:"), "{bad:?}: {detail}");
    }
    assert!(app.store.bookings().is_empty());
    let resp = call_service(
        &svc,
        post(uri, booking(at(9, 0), "o'brien+x@example.com", talk("x"))).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 201, "the slot is still free");
}

/// #7: only the link's own questions are answered; required ones must be; answers are capped.
#[actix_web::test]
async fn answers_must_be_to_the_links_own_questions() {
    let app = setup().await;
    save_link(
        &app,
        "vetted",
        30,
        TimeDelta::zero(),
        &["Topic", "Company *"],
    )
    .await;
    let svc = service!(app);
    let uri = "/api/v1/links/vetted/bookings";
    let start = at(9, 0);
    let cases = [
        (
            json!([{"question": "Paid in full?", "answer": "YES - approved by finance"},
                   {"question": "Company", "answer": "Acme"}]),
            "\"Paid in full?\" is not one of this link's questions",
        ),
        (
            json!([{"question": "Topic", "answer": "Pricing"}]),
            "\"Company\" needs an answer",
        ),
        (
            json!([{"question": "Company", "answer": "x".repeat(2_001)}]),
            "answer must be at most 2000 characters",
        ),
    ];
    for (answers, said) in cases {
        let resp = call_service(
            &svc,
            post(uri, booking(start, "ada@example.org", answers)).to_request(),
        )
        .await;
        let detail = problem(resp, 422, "invalid-input").await;
        assert!(detail.contains(said), "{detail}");
    }
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"question": format!("Q{i}"), "answer": "a"}))
        .collect();
    let resp = call_service(
        &svc,
        post(uri, booking(start, "ada@example.org", Value::Array(many))).to_request(),
    )
    .await;
    problem(resp, 422, "invalid-input").await;
    assert!(app.store.bookings().is_empty());

    // The booking form marks the required question and refuses it unanswered.
    let page = body(
        call_service(
            &svc,
            TestRequest::get()
                .uri(&format!("/book/vetted?start={}", rfc(start)))
                .to_request(),
        )
        .await,
    )
    .await;
    assert!(
        page.contains(r#"name="q1" maxlength="2000" required"#),
        "{page}"
    );
    let resp = call_service(
        &svc,
        form(
            "/book/vetted",
            &[
                ("start", &rfc(start)),
                ("name", "Ada"),
                ("email", "ada@example.org"),
                ("q0", "Pricing"),
            ],
        )
        .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 422);
    assert!(
        body(resp)
            .await
            .contains("&quot;Company&quot; needs an answer")
    );
    assert!(app.store.bookings().is_empty());

    let resp = call_service(
        &svc,
        post(
            uri,
            booking(
                start,
                "ada@example.org",
                json!([{"question": "Company", "answer": "Acme"}]),
            ),
        )
        .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(
        app.store.bookings()[0].answers().pairs(),
        [("Company".to_owned(), "Acme".to_owned())]
    );
}

/// #7: one client address may ask for a limited number of bookings an hour, counted in the
/// store; beyond it, a clear 429 with `Retry-After`, on the API and the booking form alike.
#[actix_web::test]
async fn booking_creation_is_limited_per_client_address() {
    let mut app = setup().await;
    app.state = app
        .state
        .clone()
        .with_booking_limit(Arc::new(app.store.clone()), ::web::BOOKINGS_PER_CLIENT);
    let svc = service!(app);
    let uri = "/api/v1/links/intro/bookings";
    let from = |ip: &str, req: TestRequest| req.peer_addr(format!("{ip}:40000").parse().unwrap());
    let mut statuses = Vec::new();
    for _ in 0..::web::BOOKINGS_PER_CLIENT {
        let req = from(
            "203.0.113.7",
            post(uri, booking(at(9, 0), "ada@example.org", talk("x"))),
        );
        statuses.push(call_service(&svc, req.to_request()).await.status().as_u16());
    }
    assert_eq!(statuses[0], 201);
    assert!(statuses[1..].iter().all(|s| *s == 409), "{statuses:?}");

    let req = from(
        "203.0.113.7",
        post(uri, booking(at(10, 0), "ada@example.org", talk("x"))),
    );
    let resp = call_service(&svc, req.to_request()).await;
    assert_eq!(header(&resp, "retry-after"), "3600");
    problem(resp, 429, "too-many-bookings").await;
    let req = from(
        "203.0.113.7",
        form(
            "/book/intro",
            &[
                ("start", &rfc(at(10, 0))),
                ("name", "Ada"),
                ("email", "ada@example.org"),
            ],
        ),
    );
    let resp = call_service(&svc, req.to_request()).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(header(&resp, "retry-after"), "3600");
    assert_eq!(
        app.store.bookings().len(),
        1,
        "nothing booked beyond the limit"
    );

    let req = from(
        "198.51.100.9",
        post(uri, booking(at(10, 0), "bo@example.org", talk("x"))),
    );
    assert_eq!(
        call_service(&svc, req.to_request()).await.status(),
        201,
        "another address"
    );
    app.clock.set(now() + TimeDelta::hours(1));
    let req = from(
        "203.0.113.7",
        post(uri, booking(at(11, 0), "ada@example.org", talk("x"))),
    );
    assert_eq!(
        call_service(&svc, req.to_request()).await.status(),
        201,
        "a new hour"
    );
}

/// One page of slots as JSON (a 200 expected).
macro_rules! slot_page {
    ($svc:expr, $uri:expr) => {{
        let resp = call_service(&$svc, TestRequest::get().uri(&$uri).to_request()).await;
        assert_eq!(resp.status(), 200);
        json_of(resp).await
    }};
}

/// #8: a one-minute link over two months answers in pages of at most 500 slots with a cursor,
/// and a window is cut to the link's density (two weeks of one-minute steps per page).
#[actix_web::test]
async fn dense_links_answer_in_pages_with_a_cursor() {
    let app = setup().await;
    save_link(&app, "dense", 1, TimeDelta::zero(), &[]).await;
    save_link(&app, "dense-later", 1, TimeDelta::days(20), &[]).await;
    let svc = service!(app);
    let to = rfc(now() + TimeDelta::days(62));
    let first = slot_page!(svc, &format!("/api/v1/links/dense/slots?to={to}"));
    let slots = first["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 500);
    assert_eq!(slots[0]["start"], rfc(now()));
    assert_eq!(slots[499]["start"], rfc(now() + TimeDelta::minutes(499)));
    let next = first["next"].as_str().unwrap();
    assert_eq!(next, rfc(now() + TimeDelta::minutes(500)));
    let second = slot_page!(
        svc,
        &format!("/api/v1/links/dense/slots?from={next}&to={to}")
    );
    assert_eq!(
        second["slots"][0]["start"], next,
        "the next page starts at the cursor"
    );

    // All candidates of the first two weeks are inside the notice: an empty page, and a
    // cursor two weeks on, from where the next page finds the slots at 20 days.
    let page = slot_page!(svc, &format!("/api/v1/links/dense-later/slots?to={to}"));
    assert!(page["slots"].as_array().unwrap().is_empty());
    let next = page["next"].as_str().unwrap().to_owned();
    assert_eq!(next, rfc(now() + TimeDelta::days(14)));
    let page = slot_page!(
        svc,
        &format!("/api/v1/links/dense-later/slots?from={next}&to={to}")
    );
    assert_eq!(page["slots"][0]["start"], rfc(now() + TimeDelta::days(20)));

    // A short window of a sparse link is one page, with no cursor.
    let page = slot_page!(svc, "/api/v1/links/intro/slots");
    assert!(page.get("next").is_none(), "{page}");

    // The booking page shows one page of the chosen day and goes on from the cursor.
    let resp = call_service(&svc, TestRequest::get().uri("/book/dense").to_request()).await;
    assert_eq!(resp.status(), 200);
    let html = body(resp).await;
    assert_eq!(html.matches(r#"name="start""#).count(), 500);
    let later = rfc(now() + TimeDelta::minutes(500));
    assert!(
        html.contains(&format!(r#"name="after" value="{later}""#)),
        "{html}"
    );
    let resp = call_service(
        &svc,
        TestRequest::get()
            .uri(&format!(
                "/book/dense?tz=UTC&date=2027-03-01&after={}",
                later.replace(':', "%3A")
            ))
            .to_request(),
    )
    .await;
    let html = body(resp).await;
    assert!(html.contains(r#"value="2027-03-01T15:20:00Z""#), "{html}");
    assert!(
        !html.contains(r#"value="2027-03-01T15:19:00Z""#),
        "the page goes on from the cursor"
    );
}

/// #9: control characters (NUL above all, which Postgres cannot store) are refused with 422 in
/// every free text, before any store sees them; line breaks and tabs are kept.
#[actix_web::test]
async fn control_characters_in_free_texts_are_refused() {
    let app = setup().await;
    let svc = service!(app);
    let uri = "/api/v1/links/intro/bookings";
    let mut named = booking(at(9, 0), "ada@example.org", talk("x"));
    named["invitee"]["name"] = json!("Ada\u{0}");
    problem(
        call_service(&svc, post(uri, named).to_request()).await,
        422,
        "invalid-input",
    )
    .await;
    let resp = call_service(
        &svc,
        post(uri, booking(at(9, 0), "ada@example.org", talk("a\u{0}b"))).to_request(),
    )
    .await;
    let detail = problem(resp, 422, "invalid-input").await;
    assert!(
        detail.contains("answer must not contain control characters"),
        "{detail}"
    );
    assert!(app.store.bookings().is_empty());

    let booked = book(&app, at(9, 0)).await;
    let token = booked.token().expose().to_owned();
    for (path, body) in [
        ("cancel", json!({"reason": "sick\u{0}"})),
        (
            "reschedule",
            json!({"start": rfc(at(10, 0)), "reason": "x\u{7}"}),
        ),
    ] {
        let resp = call_service(
            &svc,
            post(&format!("/api/v1/bookings/by-token/{token}/{path}"), body).to_request(),
        )
        .await;
        let detail = problem(resp, 422, "invalid-input").await;
        assert!(
            detail.contains("reason must not contain control characters"),
            "{detail}"
        );
    }
    let resp = call_service(
        &svc,
        form(&format!("/book/cancel/{token}"), &[("reason", "sick\u{0}")]).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 422);
    let row = app.store.booking(booked.id()).await.unwrap().unwrap();
    assert_eq!(row.status(), &Status::Confirmed, "nothing changed");

    let resp = call_service(
        &svc,
        post(
            &format!("/api/v1/bookings/by-token/{token}/cancel"),
            json!({"reason": "sick\r\n\tsorry"}),
        )
        .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        json_of(resp).await["cancellation"]["reason"],
        "sick\n\tsorry"
    );
}

/// #13: nothing at or after the year 9000 is offered or booked; such times answer 422 where
/// they used to be offered and then fail to save (SQLite's CHECK) with a 500.
#[actix_web::test]
async fn times_beyond_the_horizon_are_refused() {
    let app = setup().await;
    save_link(&app, "always", 30, TimeDelta::zero(), &[]).await;
    let svc = service!(app);
    let uri = "/api/v1/links/always/slots?from=9999-12-31T00:00:00Z&to=9999-12-31T23:59:00Z";
    let resp = call_service(&svc, TestRequest::get().uri(uri).to_request()).await;
    let detail = problem(resp, 422, "invalid-input").await;
    assert!(detail.contains("outside the bookable years"), "{detail}");
    let late = json!({"start": "9999-12-31T23:30:00Z",
        "invitee": {"name": "Ada", "email": "ada@example.org", "timezone": "UTC"}});
    let resp = call_service(
        &svc,
        post("/api/v1/links/always/bookings", late).to_request(),
    )
    .await;
    problem(resp, 422, "invalid-input").await;
    assert!(app.store.bookings().is_empty());

    let booked = book(&app, at(9, 0)).await;
    let resp = call_service(
        &svc,
        post(
            &format!(
                "/api/v1/bookings/by-token/{}/reschedule",
                booked.token().expose()
            ),
            json!({"start": "9999-12-31T23:30:00Z"}),
        )
        .to_request(),
    )
    .await;
    problem(resp, 422, "invalid-input").await;
}
