//! Every state of the public pages.

use actix_web::test::{TestRequest, call_service};
use booking_core::Status;
use booking_core::ports::BookingStore;

use crate::helpers::*;
use crate::service;

fn form(pairs: &[(&str, &str)]) -> TestRequest {
    let body = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    TestRequest::post()
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload(body)
}

fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[actix_web::test]
async fn the_slot_picker_shows_the_days_times_in_the_chosen_zone() {
    let app = setup().await;
    let svc = service!(app);
    let resp = call_service(&svc, TestRequest::get().uri("/book/intro").to_request()).await;
    assert_eq!(resp.status(), 200);
    assert!(header(&resp, "content-security-policy").contains("default-src 'none'"));
    let page = body(resp).await;
    assert!(page.contains("Monday, March 1"), "{page}");
    assert!(page.contains(">09:00<") && !page.contains(">08:30<"));
    // 08:00 Berlin now: the first slot today is 09:00 Berlin.
    assert!(page.contains(r#"name="start" value="2027-03-01T08:00:00Z""#));

    let resp = call_service(
        &svc,
        TestRequest::get()
            .uri("/book/intro?tz=Asia/Kolkata")
            .to_request(),
    )
    .await;
    let page = body(resp).await;
    assert!(page.contains(">13:30<"), "09:00 Berlin is 13:30 in Kolkata");
    assert!(page.contains(r#"<input id="tz" name="tz" list="zones" value="Asia/Kolkata""#));
}

#[actix_web::test]
async fn unknown_links_get_a_404_page() {
    let app = setup().await;
    let svc = service!(app);
    for uri in ["/book/nope", "/book/Not_A_Slug"] {
        let resp = call_service(&svc, TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(resp.status(), 404, "{uri}");
        assert!(body(resp).await.contains("Not found"));
    }
}

#[actix_web::test]
async fn booking_through_the_form_confirms_with_links_and_keeps_utm() {
    let app = setup().await;
    let svc = service!(app);
    let uri = format!(
        "/book/intro?tz=Europe/Berlin&utm_source=newsletter&start={}",
        rfc(at(9, 0))
    );
    let page = body(call_service(&svc, TestRequest::get().uri(&uri).to_request()).await).await;
    assert!(
        page.contains("Monday, March 1, 2027, 10:00–10:30 (Europe/Berlin)"),
        "{page}"
    );
    assert!(page.contains(r#"name="utm_source" value="newsletter""#));
    assert!(app.store.bookings().is_empty(), "GET never changes state");

    let start = rfc(at(9, 0));
    let req = form(&[
        ("start", &start),
        ("tz", "Europe/Berlin"),
        ("name", "Ada Lovelace"),
        ("email", "ada@example.org"),
        ("q0", "Pricing"),
        ("utm_source", "newsletter"),
    ]);
    let resp = call_service(&svc, req.uri("/book/intro").to_request()).await;
    assert_eq!(resp.status(), 303);
    let location = header(&resp, "location");
    assert!(location.starts_with("/book/confirmed/"), "{location}");
    let booking = &app.store.bookings()[0];
    assert_eq!(
        booking
            .tracking()
            .get(booking_core::invitee::UtmParam::Source),
        Some("newsletter")
    );
    assert_eq!(
        booking.answers().pairs(),
        &[(
            "What should we talk about?".to_owned(),
            "Pricing".to_owned()
        )]
    );

    let resp = call_service(&svc, TestRequest::get().uri(&location).to_request()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "referrer-policy"), "no-referrer");
    assert_eq!(header(&resp, "cache-control"), "no-store");
    let page = body(resp).await;
    let token = booking.token().expose();
    assert!(
        page.contains(&format!("/book/reschedule/{token}"))
            && page.contains(&format!("/book/cancel/{token}"))
    );
    assert!(page.contains("10:00–10:30 (Europe/Berlin)"));
}

#[actix_web::test]
async fn invalid_form_input_shows_the_form_again_with_messages() {
    let app = setup().await;
    let svc = service!(app);
    let start = rfc(at(9, 0));
    let req = form(&[
        ("start", &start),
        ("name", ""),
        ("email", "not-an-email"),
        ("phone", "call me"),
    ]);
    let resp = call_service(&svc, req.uri("/book/intro").to_request()).await;
    assert_eq!(resp.status(), 422);
    let page = body(resp).await;
    assert!(page.contains("name must be"), "{page}");
    assert!(page.contains("is not a valid email address"));
    assert!(page.contains("phone number may contain only"));
    assert!(
        page.contains(r#"value="not-an-email""#),
        "typed values are kept"
    );
    assert!(app.store.bookings().is_empty());
}

#[actix_web::test]
async fn a_slot_taken_meanwhile_offers_fresh_slots() {
    let app = setup().await;
    book(&app, at(9, 0)).await;
    let svc = service!(app);
    let start = rfc(at(9, 0));
    let req = form(&[
        ("start", &start),
        ("name", "Bo"),
        ("email", "bo@example.org"),
    ]);
    let resp = call_service(&svc, req.uri("/book/intro").to_request()).await;
    assert_eq!(resp.status(), 409);
    let page = body(resp).await;
    assert!(page.contains("that time was just taken"));
    assert!(
        page.contains(&format!(r#"value="{}""#, rfc(at(9, 30)))),
        "fresh slots are offered"
    );
    assert!(!page.contains(&format!(r#"value="{}""#, rfc(at(9, 0)))));
}

#[actix_web::test]
async fn rescheduling_moves_the_booking_and_kills_the_old_link() {
    let app = setup().await;
    let booking = book(&app, at(9, 0)).await;
    let svc = service!(app);
    let uri = format!("/book/reschedule/{}", booking.token().expose());
    let resp = call_service(&svc, TestRequest::get().uri(&uri).to_request()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "referrer-policy"), "no-referrer");
    assert_eq!(header(&resp, "cache-control"), "no-store");
    let page = body(resp).await;
    assert!(
        page.contains("<del>Monday, March 1, 2027, 10:00–10:30 (Europe/Berlin)</del>"),
        "{page}"
    );
    assert!(page.contains(&format!(r#"value="{}""#, rfc(at(10, 0)))));

    let new_start = rfc(at(10, 0));
    let resp = call_service(
        &svc,
        form(&[("start", &new_start), ("reason", "clash")])
            .uri(&uri)
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 303);
    let rows = app.store.bookings();
    let new = rows
        .iter()
        .find(|b| matches!(b.status(), Status::Confirmed))
        .unwrap();
    assert_eq!(
        header(&resp, "location"),
        format!("/book/confirmed/{}", new.token().expose())
    );
    assert_eq!(new.slot().start(), at(10, 0));

    let resp = call_service(&svc, TestRequest::get().uri(&uri).to_request()).await;
    assert_eq!(resp.status(), 409);
    let page = body(resp).await;
    assert!(
        page.contains("Booking already rescheduled")
            && page.contains("sent to the attendee by email")
    );
    let resp = call_service(
        &svc,
        form(&[("start", &rfc(at(11, 0)))]).uri(&uri).to_request(),
    )
    .await;
    assert_eq!(
        resp.status(),
        409,
        "a second reschedule of the old token is refused"
    );
}

#[actix_web::test]
async fn reschedule_form_errors_and_taken_slots() {
    let app = setup().await;
    let booking = book(&app, at(9, 0)).await;
    book(&app, at(12, 0)).await;
    let svc = service!(app);
    let uri = format!("/book/reschedule/{}", booking.token().expose());
    let resp = call_service(&svc, form(&[("reason", "x")]).uri(&uri).to_request()).await;
    assert_eq!(resp.status(), 422);
    assert!(body(resp).await.contains("Pick a new time."));
    let resp = call_service(
        &svc,
        form(&[("start", &rfc(at(12, 0)))]).uri(&uri).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 409);
    assert!(body(resp).await.contains("that time was just taken"));
    let resp = call_service(
        &svc,
        form(&[("start", &rfc(at(9, 0)))]).uri(&uri).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 422, "same slot");
    let long = "x".repeat(10_001);
    let resp = call_service(
        &svc,
        form(&[("start", &rfc(at(10, 0))), ("reason", &long)])
            .uri(&uri)
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 422);
    assert_eq!(app.store.bookings().len(), 2, "nothing was written");
}

#[actix_web::test]
async fn cancelling_shows_the_cancelled_state_and_is_idempotent() {
    let app = setup().await;
    let booking = book(&app, at(9, 0)).await;
    let svc = service!(app);
    let uri = format!("/book/cancel/{}", booking.token().expose());
    let resp = call_service(&svc, TestRequest::get().uri(&uri).to_request()).await;
    assert_eq!(resp.status(), 200);
    assert!(body(resp).await.contains("Cancel the booking"));
    assert!(
        matches!(app.store.bookings()[0].status(), Status::Confirmed),
        "GET never changes state"
    );

    let resp = call_service(
        &svc,
        form(&[("reason", "<b>sick</b>")]).uri(&uri).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(header(&resp, "location"), uri);
    let page = body(call_service(&svc, TestRequest::get().uri(&uri).to_request()).await).await;
    assert!(page.contains("This booking is cancelled"));
    assert!(
        page.contains("&lt;b&gt;sick&lt;/b&gt;"),
        "the reason is shown, escaped"
    );
    assert!(page.contains("Cancelled by the attendee"));

    let resp = call_service(&svc, form(&[]).uri(&uri).to_request()).await;
    assert_eq!(resp.status(), 303, "cancelling again is a no-op");
    assert_eq!(
        app.store.outbox().len(),
        8,
        "4 effects for the booking, 4 for the one cancel"
    );
}

#[actix_web::test]
async fn unknown_and_malformed_tokens_look_the_same() {
    let app = setup().await;
    let svc = service!(app);
    for token in [
        "0123456789abcdef0123456789abcdef",
        "nope",
        "0123456789ABCDEF0123456789ABCDEF",
    ] {
        for page in ["reschedule", "cancel", "reconfirm", "confirmed"] {
            let resp = call_service(
                &svc,
                TestRequest::get()
                    .uri(&format!("/book/{page}/{token}"))
                    .to_request(),
            )
            .await;
            assert_eq!(resp.status(), 404, "{page} {token}");
            assert_eq!(header(&resp, "referrer-policy"), "no-referrer");
        }
    }
}

#[actix_web::test]
async fn token_pages_are_gone_once_the_meeting_started() {
    let app = setup().await;
    let booking = book(&app, at(9, 0)).await;
    app.clock.set(at(9, 0));
    let svc = service!(app);
    for page in ["reschedule", "cancel", "reconfirm"] {
        let uri = format!("/book/{page}/{}", booking.token().expose());
        let resp = call_service(&svc, TestRequest::get().uri(&uri).to_request()).await;
        assert_eq!(resp.status(), 410, "{page}");
        assert!(body(resp).await.contains("already started"));
        let resp = call_service(
            &svc,
            form(&[("start", &rfc(at(12, 0)))]).uri(&uri).to_request(),
        )
        .await;
        assert_eq!(resp.status(), 410, "POST {page}");
    }
}

#[actix_web::test]
async fn reconfirming_records_the_click_once() {
    let app = setup().await;
    let booking = book(&app, at(9, 0)).await;
    let svc = service!(app);
    let uri = format!("/book/reconfirm/{}", booking.token().expose());
    let page = body(call_service(&svc, TestRequest::get().uri(&uri).to_request()).await).await;
    assert!(page.contains("Yes, I will attend"));
    assert!(app.store.bookings()[0].reconfirmed_at().is_none());
    let resp = call_service(&svc, form(&[]).uri(&uri).to_request()).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(app.store.bookings()[0].reconfirmed_at(), Some(now()));
    let page = body(call_service(&svc, TestRequest::get().uri(&uri).to_request()).await).await;
    assert!(page.contains("your booking is reconfirmed"));
}

#[actix_web::test]
async fn a_cancelled_booking_cannot_be_rescheduled() {
    let app = setup().await;
    let booking = book(&app, at(9, 0)).await;
    app.state
        .scheduler
        .cancel(booking.token().expose(), None)
        .await
        .unwrap();
    let svc = service!(app);
    let uri = format!("/book/reschedule/{}", booking.token().expose());
    let resp = call_service(&svc, TestRequest::get().uri(&uri).to_request()).await;
    assert_eq!(resp.status(), 409);
    assert!(body(resp).await.contains("Booking already cancelled"));
    let stored = app.store.booking(booking.id()).await.unwrap().unwrap();
    assert!(matches!(stored.status(), Status::Cancelled(_)));
}

#[actix_web::test]
async fn assets_and_health() {
    let app = setup().await;
    let svc = service!(app);
    for (uri, kind) in [
        ("/static/app.css", "text/css"),
        ("/static/tz.js", "text/javascript"),
        ("/healthz", "text/plain"),
    ] {
        let resp = call_service(&svc, TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(resp.status(), 200);
        assert!(header(&resp, "content-type").starts_with(kind));
    }
}

/// Every page a reschedule token opens.
const TOKEN_PAGES: [&str; 5] = [
    "/book/confirmed/{}",
    "/book/confirmed/{}/invite.ics",
    "/book/reschedule/{}",
    "/book/cancel/{}",
    "/book/reconfirm/{}",
];

#[actix_web::test]
async fn a_moved_bookings_old_token_opens_nothing_but_already_rescheduled() {
    let app = setup().await;
    let booking = book(&app, at(9, 0)).await;
    let old = booking.token().expose().to_owned();
    app.state
        .scheduler
        .reschedule(&old, at(10, 0), None)
        .await
        .unwrap();
    let svc = service!(app);
    // The confirmation page itself says where the booking moved (200, without links):
    // `no_dead_ends` checks it.
    for page in TOKEN_PAGES.iter().filter(|p| **p != "/book/confirmed/{}") {
        let uri = page.replace("{}", &old);
        let resp = call_service(&svc, TestRequest::get().uri(&uri).to_request()).await;
        assert_eq!(resp.status(), 409, "{uri}");
        assert!(
            header(&resp, "content-type").starts_with("text/html"),
            "{uri}"
        );
        assert_eq!(header(&resp, "cache-control"), "no-store", "{uri}");
        let text = body(resp).await;
        assert!(
            text.contains("Booking already rescheduled"),
            "{uri}: {text}"
        );
        assert!(
            !text.contains("ada@example.org") && !text.contains("VCALENDAR"),
            "{uri}: {text}"
        );
    }
}

#[actix_web::test]
async fn a_cancelled_bookings_token_gets_the_cancelled_page_not_the_invite() {
    let app = setup().await;
    let booking = book(&app, at(9, 0)).await;
    let token = booking.token().expose().to_owned();
    app.state.scheduler.cancel(&token, None).await.unwrap();
    let svc = service!(app);
    let uri = format!("/book/confirmed/{token}/invite.ics");
    let resp = call_service(&svc, TestRequest::get().uri(&uri).to_request()).await;
    assert_eq!(resp.status(), 409);
    assert!(header(&resp, "content-type").starts_with("text/html"));
    let text = body(resp).await;
    assert!(text.contains("Booking already cancelled"), "{text}");
    assert!(!text.contains("ada@example.org") && !text.contains("VCALENDAR"));
}

#[actix_web::test]
async fn the_confirmation_offers_an_ics_that_parses() {
    let app = setup().await;
    let booking = book(&app, at(9, 0)).await;
    let svc = service!(app);
    let uri = format!("/book/confirmed/{}/invite.ics", booking.token().expose());
    let resp = call_service(&svc, TestRequest::get().uri(&uri).to_request()).await;
    assert_eq!(resp.status(), 200);
    assert!(header(&resp, "content-type").starts_with("text/calendar"));
    assert_eq!(header(&resp, "cache-control"), "no-store");
    let text = body(resp).await;
    let calendar: icalendar::Calendar = text.parse().expect("a valid iCalendar document");
    assert_eq!(calendar.property_value("METHOD"), Some("REQUEST"));
    assert!(text.contains("DTSTART:20270301T090000Z"), "{text}");
    assert!(text.contains(&format!("UID:{}@slotkeeper", booking.chain())));
    let resp = call_service(
        &svc,
        TestRequest::get()
            .uri("/book/confirmed/0123456789abcdef0123456789abcdef/invite.ics")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 404);
}
