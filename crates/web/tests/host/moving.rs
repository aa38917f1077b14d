//! The host moves a meeting from its detail page: the link's free times listed, a slot or (with
//! the override) a typed time posted, the refusals (taken 409, outside hours 422, CSRF 403,
//! another host's 404) with the form kept, the history line, and the attendee's real mail with
//! the new time, fresh links and an invite whose sequence rose. Also the link's description
//! and location on the detail.

use booking_core::booking::{Actor, Origin};
use booking_core::effects::{EmailKind, Recipient};
use booking_core::link::{BookingLink, Slug};
use booking_core::ports::{BookingStore, NotificationContext};
use booking_core::{Booking, BookingId};
use mail_parser::{MessageParser, MimeHeaders};

use crate::helpers::*;
use crate::{csrf, logged_in, send, service};

/// POSTs the move form of `booking` with `fields` (and the CSRF token first).
macro_rules! move_to {
    ($svc:expr, $browser:expr, $booking:expr, $csrf:expr, $fields:expr) => {{
        let mut pairs: Vec<(&str, &str)> = vec![("csrf", $csrf)];
        pairs.extend_from_slice($fields);
        send!(
            $svc,
            $browser,
            form(
                &format!("/calendar/bookings/{}/reschedule", $booking.id()),
                &pairs
            )
        )
    }};
}

async fn row(app: &TestApp, id: BookingId) -> Booking {
    app.store.booking(id).await.unwrap().unwrap()
}

fn new_id_of(location: &str) -> BookingId {
    let id = location
        .strip_prefix("/calendar/bookings/")
        .and_then(|rest| rest.strip_suffix("?done=moved"))
        .unwrap_or_else(|| panic!("unexpected redirect {location}"));
    BookingId::parse(id).unwrap()
}

#[actix_web::test]
async fn the_detail_lists_the_links_free_times_without_the_meetings_own() {
    let app = setup().await;
    let booked = book(&app, "intro", at(8, 0), "Ada Lovelace").await;
    book(&app, "intro", at(12, 0), "Bob Busy").await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let html = body(send!(
        svc,
        b,
        get(&format!("/calendar/bookings/{}", booked.id()))
    ))
    .await;
    assert!(html.contains("Move this meeting") && html.contains(r#"id="move-form""#));
    assert!(html.contains(&format!(
        r#"action="/calendar/bookings/{}/reschedule""#,
        booked.id()
    )));
    // 11:00 Berlin is free; 09:00 is the meeting itself and 13:00 is Bob's.
    assert!(html.contains(r#"value="2027-03-01T10:00:00Z""#), "{html}");
    assert!(!html.contains(r#"value="2027-03-01T08:00:00Z""#));
    assert!(!html.contains(r#"value="2027-03-01T12:00:00Z""#));
    assert!(html.contains(r#"<optgroup label="Monday, March 1, 2027">"#));
    // A week: Friday is listed, next Monday is behind "Later".
    assert!(html.contains(r#"value="2027-03-05T08:00:00Z""#));
    assert!(!html.contains(r#"value="2027-03-08T08:00:00Z""#));
    assert!(
        html.contains(r#"id="allow-outside-hours""#) && html.contains(r#"type="datetime-local""#)
    );
    assert!(
        !html.contains(r#"id="move-earlier""#),
        "nothing before today"
    );
    let later = format!("/calendar/bookings/{}?from=2027-03-08#move", booked.id());
    assert!(html.contains(&later), "{html}");
    let html = body(send!(svc, b, get(later.split('#').next().unwrap()))).await;
    assert!(html.contains(r#"value="2027-03-08T08:00:00Z""#));
    assert!(html.contains(r#"id="move-earlier""#));
    // Once the meeting has started, there is nothing to move.
    app.clock.set(at(8, 5));
    let html = body(send!(
        svc,
        b,
        get(&format!("/calendar/bookings/{}", booked.id()))
    ))
    .await;
    assert!(!html.contains(r#"id="move-form""#));
}

#[actix_web::test]
async fn picking_a_slot_moves_the_meeting_as_the_host_with_the_note() {
    let app = setup().await;
    let booked = book(&app, "intro", at(8, 0), "Ada Lovelace").await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    let before = app.store.outbox().len();
    let resp = move_to!(
        svc,
        b,
        booked,
        &csrf,
        &[
            ("start", "2027-03-01T10:00:00Z"),
            ("custom_start", ""),
            ("note", "Sorry, a clash\nat nine")
        ]
    );
    assert_eq!(resp.status(), 303);
    let location = header(&resp, "location");
    let moved = row(&app, new_id_of(&location)).await;
    assert_eq!(moved.slot().start(), at(10, 0));
    assert!(matches!(
        moved.origin(),
        Origin::Rescheduled { by: Actor::Host, reason: Some(r), .. } if r.as_str() == "Sorry, a clash\nat nine"
    ));
    let codes: Vec<String> = app.store.outbox()[before..]
        .iter()
        .map(|e| e.effect.code())
        .collect();
    assert_eq!(
        &codes[..4],
        [
            "email/Rescheduled/Attendee",
            "email/Rescheduled/Host",
            "calendar/UpdateInPlace",
            "webhook/callRescheduled"
        ]
    );
    let html = body(send!(svc, b, get(&location))).await;
    assert!(
        html.contains(
            "Moved by the host from Monday, March 1, 2027, 09:00–09:30 (Europe/Berlin) to Monday, March 1, 2027, 11:00–11:30 (Europe/Berlin)"
        ),
        "{html}"
    );
    assert!(html.contains("Sorry, a clash"));
    assert!(html.contains("the attendee is being sent the new time"));
    // The old row's id, as in an old mail, opens the meeting as it is now.
    let html = body(send!(
        svc,
        b,
        get(&format!("/calendar/bookings/{}", booked.id()))
    ))
    .await;
    assert!(
        html.contains(r#"<p class="when">Monday, March 1, 2027, 11:00–11:30 (Europe/Berlin)</p>"#),
        "{html}"
    );
}

#[actix_web::test]
async fn a_taken_time_answers_409_with_the_form_as_posted() {
    let app = setup().await;
    let booked = book(&app, "intro", at(8, 0), "Ada Lovelace").await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    // Offered when the page was shown, taken before the host posts.
    book(&app, "intro", at(10, 0), "Bob Busy").await;
    let resp = move_to!(
        svc,
        b,
        booked,
        &csrf,
        &[("start", "2027-03-01T10:00:00Z"), ("note", "Kept note")]
    );
    assert_eq!(resp.status(), 409);
    let html = body(resp).await;
    assert!(html.contains("That time is taken"), "{html}");
    assert!(html.contains(">Kept note</textarea>"), "{html}");
    assert!(html.contains(r#"id="move-form""#));
    assert_eq!(row(&app, booked.id()).await.slot().start(), at(8, 0));
}

#[actix_web::test]
async fn a_time_outside_the_hours_needs_the_override_and_then_moves() {
    let app = setup().await;
    let booked = book(&app, "intro", at(8, 0), "Ada Lovelace").await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    // 18:00 in Berlin, typed; the list's choice is ignored for it.
    let fields = [
        ("start", "2027-03-01T10:00:00Z"),
        ("custom_start", "2027-03-01T18:00"),
        ("note", "Evening"),
    ];
    let resp = move_to!(svc, b, booked, &csrf, &fields);
    assert_eq!(resp.status(), 422);
    let html = body(resp).await;
    assert!(html.contains("outside the hours of this meeting"), "{html}");
    assert!(
        html.contains(r#"value="2027-03-01T18:00""#),
        "the typed time is kept"
    );
    assert_eq!(row(&app, booked.id()).await.slot().start(), at(8, 0));
    let mut with_override = fields.to_vec();
    with_override.push(("allow_outside_hours", "on"));
    let resp = move_to!(svc, b, booked, &csrf, &with_override);
    assert_eq!(resp.status(), 303);
    let moved = row(&app, new_id_of(&header(&resp, "location"))).await;
    assert_eq!(moved.slot().start(), at(17, 0));
    // The same time again, and nonsense, are refused with 422.
    let again = [
        ("custom_start", "2027-03-01T18:00"),
        ("allow_outside_hours", "on"),
    ];
    let resp = move_to!(svc, b, moved, &csrf, &again);
    assert_eq!(resp.status(), 422);
    assert!(body(resp).await.contains("already at that time"));
    let resp = move_to!(svc, b, moved, &csrf, &[("custom_start", "tomorrow")]);
    assert_eq!(resp.status(), 422);
    let resp = move_to!(svc, b, moved, &csrf, &[("note", "no time")]);
    assert_eq!(resp.status(), 422);
}

#[actix_web::test]
async fn without_the_csrf_token_or_for_another_host_nothing_moves() {
    let app = setup().await;
    let booked = book(&app, "intro", at(8, 0), "Ada Lovelace").await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let resp = move_to!(
        svc,
        b,
        booked,
        "forged",
        &[("start", "2027-03-01T10:00:00Z")]
    );
    assert_eq!(resp.status(), 403);
    let mut otto = logged_in!(svc, "otto@example.com", OTTO_PASSWORD);
    let otto_csrf = csrf!(svc, otto);
    let resp = move_to!(
        svc,
        otto,
        booked,
        &otto_csrf,
        &[("start", "2027-03-01T10:00:00Z")]
    );
    assert_eq!(resp.status(), 404);
    let resp = send!(
        svc,
        otto,
        get(&format!("/calendar/bookings/{}", booked.id()))
    );
    assert_eq!(resp.status(), 404);
    assert_eq!(row(&app, booked.id()).await.slot().start(), at(8, 0));
}

#[actix_web::test]
async fn a_cancelled_meeting_cannot_be_moved() {
    let app = setup().await;
    let booked = book(&app, "intro", at(8, 0), "Ada Lovelace").await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    app.state
        .scheduler
        .host_cancel(app.hana.id(), booked.id(), None)
        .await
        .unwrap();
    let resp = move_to!(svc, b, booked, &csrf, &[("start", "2027-03-01T10:00:00Z")]);
    assert_eq!(resp.status(), 409);
    let html = body(resp).await;
    assert!(
        html.contains("cannot be moved: the booking is cancelled"),
        "{html}"
    );
    assert!(!html.contains(r#"id="move-form""#));
}

#[actix_web::test]
async fn the_attendee_gets_the_new_time_fresh_links_and_a_newer_invite() {
    let app = setup().await;
    let booked = book(&app, "intro", at(8, 0), "Ada Lovelace").await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    let resp = move_to!(
        svc,
        b,
        booked,
        &csrf,
        &[
            ("start", "2027-03-01T10:00:00Z"),
            ("note", "Sorry, a clash")
        ]
    );
    assert_eq!(resp.status(), 303);
    let moved = row(&app, new_id_of(&header(&resp, "location"))).await;
    let old = row(&app, booked.id()).await;
    let link: BookingLink = app
        .store
        .link_by_slug(&Slug::parse("intro").unwrap())
        .await
        .unwrap()
        .unwrap();
    let ctx = NotificationContext {
        booking: &moved,
        previous: Some(&old),
        link: &link,
        host: &app.hana,
        public_base_url: "http://book.test",
    };
    let sender = "Slotkeeper <noreply@book.test>".parse().unwrap();
    let message = mailer_smtp::compose(
        EmailKind::Rescheduled,
        Recipient::Attendee,
        &ctx,
        &sender,
        "test-key",
    )
    .unwrap();
    let data = message.formatted();
    let mail = MessageParser::default().parse(&data).unwrap();
    let text = mail.body_text(0).unwrap().into_owned();
    assert!(
        text.contains("Hana Host moved your meeting to a new time."),
        "{text}"
    );
    assert!(text.contains("Sorry, a clash"), "{text}");
    // 10:00 UTC is 05:00 in New York, the attendee's zone; it was at 03:00.
    assert!(text.contains("05:00–05:30 (America/New_York"), "{text}");
    assert!(text.contains("03:00–03:30 (America/New_York"), "{text}");
    let fresh = moved.token().expose();
    assert!(
        text.contains(&format!("http://book.test/book/reschedule/{fresh}")),
        "{text}"
    );
    assert!(text.contains(&format!("http://book.test/book/cancel/{fresh}")));
    assert!(
        !text.contains(booked.token().expose()),
        "the old links are dead"
    );
    let ics = mail
        .parts
        .iter()
        .find(|p| p.attachment_name() == Some("invite.ics"))
        .map(|p| String::from_utf8(p.contents().to_vec()).unwrap())
        .expect("an invite");
    let calendar: icalendar::Calendar = ics.parse().expect("a valid iCalendar document");
    assert_eq!(calendar.property_value("METHOD"), Some("REQUEST"));
    assert!(ics.contains("SEQUENCE:1"), "{ics}");
    assert!(ics.contains("DTSTART:20270301T100000Z"), "{ics}");
    assert!(ics.contains(&format!("UID:{}@slotkeeper", booked.chain())));
    // The callRescheduled webhook carries the note as the reason and the old start.
    let hook = webhooks_out::payload(webhooks_out::WebhookEvent::CallRescheduled, &ctx);
    let hook = &hook[0];
    assert_eq!(hook["hookType"], "Call rescheduled");
    assert_eq!(hook["invitee"]["is_reschedule"], true);
    assert_eq!(hook["invitee"]["reschedule_reason"], "Sorry, a clash");
    assert_eq!(hook["event"]["old_start_time"], "2027-03-01T09:00:00+01:00");
    assert_eq!(hook["event"]["utc_start_time"], "2027-03-01T10:00:00+00:00");
}

#[actix_web::test]
async fn the_detail_shows_the_links_description_and_a_join_link() {
    let app = setup().await;
    let intro = app
        .store
        .link_by_slug(&Slug::parse("intro").unwrap())
        .await
        .unwrap()
        .unwrap()
        .with_details(
            Some("We look at your plans.\nBring numbers."),
            Some("https://meet.example.com/hana"),
        )
        .unwrap();
    app.store.save_link(&intro).await.unwrap();
    let booked = book(&app, "intro", at(8, 0), "Ada Lovelace").await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let html = body(send!(
        svc,
        b,
        get(&format!("/calendar/bookings/{}", booked.id()))
    ))
    .await;
    assert!(
        html.contains("We look at your plans.\nBring numbers."),
        "{html}"
    );
    assert!(
        html.contains(r#"<a class="join" href="https://meet.example.com/hana""#),
        "{html}"
    );
    let room = intro
        .with_details(None, Some("Room 4, second floor"))
        .unwrap();
    app.store.save_link(&room).await.unwrap();
    let html = body(send!(
        svc,
        b,
        get(&format!("/calendar/bookings/{}", booked.id()))
    ))
    .await;
    assert!(html.contains("Where: Room 4, second floor"), "{html}");
    assert!(!html.contains(r#"class="join""#));
}

#[actix_web::test]
async fn the_api_moves_a_meeting_and_answers_refusals_as_problems() {
    use crate::openapi::{key_for, request};
    use actix_web::test::call_service;
    let app = setup().await;
    let booked = book(&app, "intro", at(8, 0), "Ada Lovelace").await;
    book(&app, "intro", at(9, 0), "Bob Busy").await;
    let hana = key_for(&app, app.hana.id(), 1).await;
    let otto = key_for(&app, app.otto.id(), 2).await;
    let svc = service!(app.state);
    let uri = format!("/api/v1/bookings/{}/reschedule", booked.id());
    let post = |key: &str, body: &str| request("POST", &uri, Some(key), Some(body)).to_request();
    let problem = |resp: &actix_web::dev::ServiceResponse| {
        assert_eq!(header(resp, "content-type"), "application/problem+json");
        resp.status().as_u16()
    };
    let cases = [
        (&otto, r#"{"start": "2027-03-01T10:00:00Z"}"#, 404),
        (&hana, r#"{"start": "2027-03-01T09:00:00Z"}"#, 409),
        (&hana, r#"{"start": "2027-03-01T18:00:00Z"}"#, 422),
        (&hana, r#"{"start": "2027-03-01T08:00:00Z"}"#, 422),
        (
            &hana,
            r#"{"start": "2027-03-01T05:00:00Z", "allow_outside_hours": true}"#,
            422,
        ),
        (&hana, r#"{"start": "monday"}"#, 422),
        (&hana, r#"{"when": "2027-03-01T10:00:00Z"}"#, 400),
    ];
    for (key, sent, status) in cases {
        let resp = call_service(&svc, post(key, sent)).await;
        assert_eq!(problem(&resp), status, "{sent}");
    }
    assert_eq!(row(&app, booked.id()).await.slot().start(), at(8, 0));
    let evening =
        r#"{"start": "2027-03-01T18:00:00Z", "note": "Evening", "allow_outside_hours": true}"#;
    let resp = call_service(&svc, post(&hana, evening)).await;
    assert_eq!(resp.status(), 200);
    let moved: serde_json::Value = serde_json::from_str(&body(resp).await).unwrap();
    assert_eq!(moved["start"], "2027-03-01T18:00:00Z");
    assert_eq!(moved["status"], "confirmed");
    let meeting = request(
        "GET",
        &format!("/api/v1/bookings/{}", booked.id()),
        Some(&hana),
        None,
    );
    let meeting: serde_json::Value =
        serde_json::from_str(&body(call_service(&svc, meeting.to_request()).await).await).unwrap();
    let last = meeting["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "rescheduled");
    assert_eq!(last["by"], "host");
    assert_eq!(last["reason"], "Evening");
}
