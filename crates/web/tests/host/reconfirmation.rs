//! Reconfirmation made visible: the booking detail says where a meeting stands (will be asked,
//! asked and awaiting, reconfirmed, cancelled for want of it, not asked because booked inside
//! the window or because the request could not go out in time), the dashboard marks it, and
//! the detail lists the outbox's planned actions with their due time and state.

use booking_core::BookingId;
use booking_core::effects::{Effect, EmailKind, RetryPolicy, WebhookEvent};
use booking_core::ports::{BookingStore, Outbox};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use crate::helpers::*;
use crate::{logged_in, send, service};

/// 2027-03-`d` at `h`:00 UTC (Berlin is an hour ahead).
fn day(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, d, h, 0, 0).unwrap()
}

/// Plays the dispatcher at `now`: every due entry is delivered; the reconfirmation requests
/// of `asked` are recorded as delivered, the others dropped (as when they went out too late).
async fn deliver_due(app: &TestApp, now: DateTime<Utc>, asked: &[BookingId]) {
    let due = app
        .store
        .claim_due(now, TimeDelta::minutes(1), 1000)
        .await
        .unwrap();
    for entry in due {
        if let Effect::Email {
            kind: EmailKind::ReconfirmationRequest,
            booking,
            ..
        } = entry.effect
            && asked.contains(&booking)
        {
            app.store
                .record_reconfirmation_request(booking, now)
                .await
                .unwrap();
        }
        app.store.mark_delivered(&entry.key, now).await.unwrap();
    }
}

/// The text of the element with `id`, up to the end of its section.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let rest = &html[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

#[actix_web::test]
async fn the_detail_and_the_list_show_every_reconfirmation_state() {
    let app = setup().await;
    save_reconfirm_link(&app).await;
    // Booked on Monday for Wednesday 10:00, 11:00 and 12:00 Berlin: asked a day before,
    // cancelled two hours before without an answer.
    let ada = book(&app, "checked", day(3, 9), "Ada Lovelace").await;
    let bea = book(&app, "checked", day(3, 10), "Bea Later").await;
    let cid = book(&app, "checked", day(3, 11), "Cid Dropped").await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let detail = |id: BookingId| format!("/calendar/bookings/{id}");

    let html = body(send!(svc, b, get(&detail(ada.id())))).await;
    let state = section(&html, "reconfirmation");
    assert!(
        state.contains("Will be asked on March 2, 2027 at 10:00."),
        "{state}"
    );
    assert!(
        state.contains("March 3, 2027 at 08:00"),
        "the deadline: {state}"
    );

    // Ada's and Bea's requests go out at 12:00 Berlin; Cid's could not (dropped).
    deliver_due(&app, day(2, 11), &[ada.id(), bea.id()]).await;
    let html = body(send!(svc, b, get(&detail(ada.id())))).await;
    assert!(
        section(&html, "reconfirmation")
            .contains("Asked on March 2, 2027 at 12:00; awaiting reconfirmation."),
        "{html}"
    );
    let list = body(send!(svc, b, get("/calendar"))).await;
    assert_eq!(
        list.matches(">awaiting reconfirmation<").count(),
        2,
        "{list}"
    );

    // Booked inside the window: never asked, counts as confirmed.
    app.clock.set(day(2, 12));
    // A session lasts 12 hours: log in again whenever the clock jumps on.
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let dan = book(&app, "checked", day(3, 12), "Dan Late").await;
    let html = body(send!(svc, b, get(&detail(dan.id())))).await;
    assert!(
        section(&html, "reconfirmation")
            .contains("Not asked: booked inside the reconfirmation window"),
        "{html}"
    );

    app.state
        .scheduler
        .reconfirm(ada.token().expose())
        .await
        .unwrap();
    let html = body(send!(svc, b, get(&detail(ada.id())))).await;
    let state = section(&html, "reconfirmation");
    assert!(
        state.contains("Reconfirmed on March 2, 2027 at 13:00."),
        "{state}"
    );
    assert!(
        state.contains("March 2, 2027 at 12:00"),
        "asked at: {state}"
    );

    // Bea's deadline passes: cancelled. Cid's passes too, but Cid was never asked.
    app.clock.set(day(3, 8));
    assert_eq!(
        app.state.scheduler.expire_unreconfirmed(10).await.unwrap(),
        1
    );
    app.clock.set(day(3, 9));
    assert_eq!(
        app.state.scheduler.expire_unreconfirmed(10).await.unwrap(),
        0
    );
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let html = body(send!(svc, b, get(&detail(bea.id())))).await;
    assert!(
        section(&html, "reconfirmation").contains(
            "Cancelled automatically on March 3, 2027 at 09:00: not reconfirmed by March 3, 2027 at 09:00."
        ),
        "{html}"
    );
    let html = body(send!(svc, b, get(&detail(cid.id())))).await;
    assert!(
        section(&html, "reconfirmation").contains(
            "Not asked: the request could not go out in time, so the meeting will not be cancelled automatically."
        ),
        "{html}"
    );
    // Ada's meeting has started: it is in the past tab now.
    let list = body(send!(svc, b, get("/calendar?tab=past"))).await;
    assert!(list.contains(">reconfirmed<"), "{list}");
    let cancelled = body(send!(svc, b, get("/calendar?tab=cancelled"))).await;
    assert!(cancelled.contains(">not reconfirmed<"), "{cancelled}");
}

#[actix_web::test]
async fn the_detail_lists_the_planned_actions_with_due_time_and_state() {
    let app = setup().await;
    save_reconfirm_link(&app).await;
    let ada = book(&app, "checked", day(3, 9), "Ada Lovelace").await;
    let plain = book(&app, "intro", at(9, 0), "Bea Plain").await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);

    let html = body(send!(
        svc,
        b,
        get(&format!("/calendar/bookings/{}", ada.id()))
    ))
    .await;
    let planned = section(&html, "planned");
    let request = planned
        .find("Reconfirmation request to the attendee")
        .unwrap_or_else(|| panic!("{planned}"));
    let row_start = planned[..request].rfind("<tr>").unwrap();
    let row = &planned[row_start..row_start + planned[row_start..].find("</tr>").unwrap()];
    assert!(row.contains("March 2, 2027 at 10:00"), "{row}");
    assert!(row.contains("planned"), "{row}");
    assert!(
        planned.contains("Booking confirmation mail to the attendee"),
        "{planned}"
    );
    assert!(planned.contains("due now"), "{planned}");

    // A failed webhook shows its attempts and error; a delivered mail leaves the list.
    let hook = Effect::Webhook {
        event: WebhookEvent::CallBooked,
        booking: ada.id(),
    };
    let retry = RetryPolicy {
        max_attempts: 5,
        base_delay: TimeDelta::minutes(2),
        max_delay: TimeDelta::minutes(2),
    };
    app.store
        .mark_failed(&hook.idempotency_key(), at(7, 0), "503 busy", &retry, 0.0)
        .await
        .unwrap();
    let mail = Effect::Email {
        kind: EmailKind::Booked,
        to: booking_core::effects::Recipient::Attendee,
        booking: ada.id(),
    };
    app.store
        .mark_delivered(&mail.idempotency_key(), at(7, 0))
        .await
        .unwrap();
    let html = body(send!(
        svc,
        b,
        get(&format!("/calendar/bookings/{}", ada.id()))
    ))
    .await;
    let planned = section(&html, "planned");
    assert!(
        planned.contains("The callBooked webhook")
            && planned.contains("attempt 1 failed (503 busy); will retry"),
        "{planned}"
    );
    assert!(
        !planned.contains("Booking confirmation mail to the attendee"),
        "{planned}"
    );

    // A link without reconfirmation: no reconfirmation box, no request planned.
    let html = body(send!(
        svc,
        b,
        get(&format!("/calendar/bookings/{}", plain.id()))
    ))
    .await;
    assert!(!html.contains(r#"id="reconfirmation""#), "{html}");
    assert!(!section(&html, "planned").contains("Reconfirmation request"));
}
