//! Booking detail and its actions: the chain's history, cancel with a reason, no-show and its
//! undo, re-sending the attendee's links, and another host's bookings behind a 404.

use booking_core::Status;
use booking_core::booking::Actor;
use booking_core::effects::{EmailKind, Recipient};
use booking_core::invitee::Reason;
use booking_core::ports::BookingStore;

use crate::helpers::*;
use crate::{csrf, logged_in, send, service};

#[actix_web::test]
async fn the_detail_shows_the_chain_history_invitee_answers_and_tracking() {
    let app = setup().await;
    let first = book(&app, "intro", at(8, 0), "Ada Lovelace").await;
    app.clock.set(at(7, 10));
    app.state
        .scheduler
        .reschedule(
            first.token().expose(),
            at(10, 0),
            Reason::parse_optional(Some("Train delayed")).unwrap(),
        )
        .await
        .unwrap();
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    // The old row's id (as in an old webhook's previewUrl) shows the meeting as it is now.
    let resp = send!(svc, b, get(&format!("/calendar/bookings/{}", first.id())));
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "cache-control"), "no-store");
    let html = body(resp).await;
    assert!(html.contains("Intro call with Ada Lovelace"), "{html}");
    assert!(
        html.contains("Booked for Monday, March 1, 2027, 09:00–09:30 (Europe/Berlin)"),
        "{html}"
    );
    assert!(
        html.contains(
            "Moved by the attendee from Monday, March 1, 2027, 09:00–09:30 (Europe/Berlin) to Monday, March 1, 2027, 11:00–11:30 (Europe/Berlin)"
        ),
        "{html}"
    );
    assert!(html.contains("Train delayed"));
    assert!(html.contains("ada.lovelace@example.org") && html.contains("America/New_York"));
    assert!(html.contains("What should we talk about?") && html.contains("Pricing &lt;b&gt;"));
    assert!(html.contains("utm_source") && html.contains("newsletter"));
    assert!(html.contains(r#"id="cancel-form""#) && html.contains(r#"id="send-links-form""#));
    assert!(!html.contains(r#"id="no-show-form""#), "not started yet");
}

#[actix_web::test]
async fn cancelling_with_a_reason_queues_the_mails_and_shows_who_and_when() {
    let app = setup().await;
    let booked = book(&app, "intro", at(9, 0), "Ada Lovelace").await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    app.clock.set(at(7, 45));
    let before = app.store.outbox().len();
    let resp = send!(
        svc,
        b,
        form(
            &format!("/calendar/bookings/{}/cancel", booked.id()),
            &[("csrf", &csrf), ("reason", "Double-booked, sorry")]
        )
    );
    assert_eq!(resp.status(), 303);
    assert_eq!(
        header(&resp, "location"),
        format!("/calendar/bookings/{}?done=cancelled", booked.id())
    );
    let row = app.store.booking(booked.id()).await.unwrap().unwrap();
    let c = row.cancellation().expect("cancelled");
    assert_eq!((c.by, c.at), (Actor::Host, at(7, 45)));
    assert_eq!(c.reason.as_ref().unwrap().as_str(), "Double-booked, sorry");
    let codes: Vec<String> = app.store.outbox()[before..]
        .iter()
        .map(|e| e.effect.code())
        .collect();
    assert_eq!(
        codes,
        [
            "email/Cancelled/Attendee",
            "email/Cancelled/Host",
            "calendar/Delete",
            "webhook/callCancelled"
        ]
    );
    let html = body(send!(svc, b, get(&header(&resp, "location")))).await;
    assert!(
        html.contains("Cancelled by the host on March 1, 2027 at 08:45"),
        "{html}"
    );
    assert!(html.contains("Double-booked, sorry") && html.contains("being told by email"));
    assert!(!html.contains(r#"id="cancel-form""#));
    let html = body(send!(svc, b, get("/calendar?tab=cancelled"))).await;
    assert!(html.contains("Cancelled by the host on March 1, 2027 at 08:45"));
}

#[actix_web::test]
async fn no_show_can_be_marked_after_the_start_and_taken_back() {
    let app = setup().await;
    let booked = book(&app, "intro", at(9, 0), "Ada Lovelace").await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    let path = |a: &str| format!("/calendar/bookings/{}/{a}", booked.id());
    // Before the start the state machine refuses, and the page says so.
    let resp = send!(svc, b, form(&path("no-show"), &[("csrf", &csrf)]));
    assert_eq!(resp.status(), 409);
    assert!(body(resp).await.contains("the meeting has not started yet"));
    app.clock.set(at(9, 40));
    let resp = send!(svc, b, form(&path("no-show"), &[("csrf", &csrf)]));
    assert_eq!(resp.status(), 303);
    assert!(matches!(
        app.store
            .booking(booked.id())
            .await
            .unwrap()
            .unwrap()
            .status(),
        Status::NoShow { .. }
    ));
    let html = body(send!(
        svc,
        b,
        get(&format!("/calendar/bookings/{}", booked.id()))
    ))
    .await;
    assert!(html.contains("Marked as a no-show") && html.contains(r#"id="undo-no-show-form""#));
    let html = body(send!(svc, b, get("/calendar?tab=no_shows"))).await;
    assert!(html.contains("Ada Lovelace"));
    let resp = send!(svc, b, form(&path("undo-no-show"), &[("csrf", &csrf)]));
    assert_eq!(resp.status(), 303);
    assert_eq!(
        app.store
            .booking(booked.id())
            .await
            .unwrap()
            .unwrap()
            .status(),
        &Status::Confirmed
    );
    let html = body(send!(svc, b, get("/calendar?tab=past"))).await;
    assert!(html.contains("Ada Lovelace"), "back in Past");
}

#[actix_web::test]
async fn the_attendee_can_be_sent_a_fresh_link_again_and_again() {
    let app = setup().await;
    let first = book(&app, "intro", at(9, 0), "Ada Lovelace").await;
    let moved = app
        .state
        .scheduler
        .reschedule(first.token().expose(), at(11, 0), None)
        .await
        .unwrap();
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    let before = app.store.outbox().len();
    for _ in 0..2 {
        // Asked on the old row: the links of the chain's current row are sent.
        let resp = send!(
            svc,
            b,
            form(
                &format!("/calendar/bookings/{}/send-links", first.id()),
                &[("csrf", &csrf)]
            )
        );
        assert_eq!(resp.status(), 303);
        assert_eq!(
            header(&resp, "location"),
            format!("/calendar/bookings/{}?done=links-sent", moved.id())
        );
    }
    let sent = &app.store.outbox()[before..];
    assert_eq!(sent.len(), 2);
    for e in sent {
        assert_eq!(
            e.effect.as_email(),
            Some((EmailKind::RescheduleLinks, Recipient::Attendee, moved.id()))
        );
    }
    assert_ne!(
        sent[0].effect.idempotency_key(),
        sent[1].effect.idempotency_key(),
        "every send is its own mail"
    );
    // Once the meeting has started the links are dead: nothing is sent.
    app.clock.set(at(11, 5));
    let resp = send!(
        svc,
        b,
        form(
            &format!("/calendar/bookings/{}/send-links", moved.id()),
            &[("csrf", &csrf)]
        )
    );
    assert_eq!(resp.status(), 409);
    assert_eq!(app.store.outbox().len(), before + 2);
}

#[actix_web::test]
async fn fresh_links_go_out_three_times_an_hour_per_meeting_then_429() {
    let app = setup().await;
    let first = book(&app, "intro", at(9, 0), "Ada Lovelace").await;
    let moved = app
        .state
        .scheduler
        .reschedule(first.token().expose(), at(11, 0), None)
        .await
        .unwrap();
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    let mails = || {
        app.store
            .outbox()
            .iter()
            .filter(|e| matches!(e.effect, booking_core::effects::Effect::ResendLinks { .. }))
            .count()
    };
    let send_links = |id: booking_core::BookingId| {
        form(
            &format!("/calendar/bookings/{id}/send-links"),
            &[("csrf", &csrf)],
        )
    };
    for click in 0..30 {
        // Either row of the moved meeting: they share one count.
        let id = if click % 2 == 0 {
            first.id()
        } else {
            moved.id()
        };
        let resp = send!(svc, b, send_links(id));
        if click < 3 {
            assert_eq!(resp.status(), 303, "click {click}");
        } else {
            assert_eq!(resp.status(), 429, "click {click}");
            let page = body(resp).await;
            assert!(
                page.contains("already sent fresh links 3 times in the last hour"),
                "{page}"
            );
        }
    }
    assert_eq!(mails(), 3, "30 clicks, 3 mails");

    // Another meeting has a count of its own.
    let other = book(&app, "intro", at(12, 0), "Bea Bell").await;
    assert_eq!(send!(svc, b, send_links(other.id())).status(), 303);
    // An hour on, the first meeting may be sent fresh links again.
    app.clock.set(at(8, 5));
    assert_eq!(send!(svc, b, send_links(moved.id())).status(), 303);
    assert_eq!(mails(), 5);
}

#[actix_web::test]
async fn another_hosts_booking_is_not_found_for_every_page_and_action() {
    let app = setup().await;
    let theirs = book(&app, "otto-call", at(9, 0), "Zed Otto").await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    let resp = send!(svc, b, get(&format!("/calendar/bookings/{}", theirs.id())));
    assert_eq!(resp.status(), 404);
    let page = body(resp).await;
    assert!(!page.contains("Zed Otto"));
    app.clock.set(at(9, 10));
    for action in [
        "cancel",
        "no-show",
        "undo-no-show",
        "send-links",
        "deal-stage",
    ] {
        let resp = send!(
            svc,
            b,
            form(
                &format!("/calendar/bookings/{}/{action}", theirs.id()),
                &[
                    ("csrf", &csrf),
                    ("reason", "mine now"),
                    ("stage", "closed_lost")
                ]
            )
        );
        assert_eq!(resp.status(), 404, "{action}");
    }
    assert_eq!(
        app.store.booking(theirs.id()).await.unwrap().unwrap(),
        theirs
    );
    for path in [
        "/calendar/bookings/not-a-uuid",
        "/calendar/bookings/00000000-0000-0000-0000-00000000ffff",
    ] {
        assert_eq!(send!(svc, b, get(path)).status(), 404, "{path}");
    }
}

/// Issue 13, #6: a mail that went dead (every attempt failed) is shown on the booking's page,
/// with what it was and the last error, so the host learns the attendee was never told.
#[actix_web::test]
async fn a_mail_that_went_dead_is_shown_on_the_booking() {
    use booking_core::effects::{Effect, RetryPolicy};
    use booking_core::ports::{FailureOutcome, Outbox};
    use chrono::TimeDelta;

    let app = setup().await;
    let booked = book(&app, "intro", at(9, 0), "Ada Lovelace").await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let page = |html: &str| html.contains(r#"id="undelivered""#);
    let resp = send!(svc, b, get(&format!("/calendar/bookings/{}", booked.id())));
    assert!(!page(&body(resp).await), "nothing failed yet");

    let mail = Effect::Email {
        kind: EmailKind::Booked,
        to: Recipient::Attendee,
        booking: booked.id(),
    };
    let once = RetryPolicy {
        max_attempts: 1,
        base_delay: TimeDelta::seconds(10),
        max_delay: TimeDelta::minutes(1),
    };
    let outcome = app
        .store
        .mark_failed(
            &mail.idempotency_key(),
            at(7, 5),
            "550 5.1.1 mailbox unavailable",
            &once,
            0.0,
        )
        .await
        .unwrap();
    assert_eq!(outcome, FailureOutcome::Dead);

    let resp = send!(svc, b, get(&format!("/calendar/bookings/{}", booked.id())));
    let html = body(resp).await;
    assert!(page(&html), "{html}");
    assert!(
        html.contains("The booking confirmation mail to the attendee could not be delivered"),
        "{html}"
    );
    assert!(html.contains("550 5.1.1 mailbox unavailable"), "{html}");
}
