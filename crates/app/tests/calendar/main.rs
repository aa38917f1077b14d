//! Calendars end to end: the real `slotkeeper serve` binary, the real Google adapter and a
//! local fake Google (`fake-google`) on 127.0.0.1 (here), and Microsoft 365 against
//! `fake-graph` (`microsoft.rs`). A host logs in and connects through the
//! browser-style redirect dance; bookings made through the public API appear in the fake
//! calendar, move in place and disappear; the host's own changes in the calendar come back as
//! cancels and reschedules (by push and by polling); busy times remove slots; a revoked grant
//! parks writes and shows the banner; the renewal endpoint is guarded by its secret.

mod browser;
mod microsoft;
mod site;

use std::time::Duration;

use chrono::{DateTime, Datelike, TimeDelta, Utc, Weekday};
use fake_google::{ACCOUNT_EMAIL, FakeGoogle};
use serde_json::{Value, json};

use site::{Site, eventually};

/// The next weekday at `hour`:00 UTC, at least two days ahead.
pub(crate) fn weekday_at(hour: u32, days_ahead: i64) -> DateTime<Utc> {
    let mut day = Utc::now().date_naive() + TimeDelta::days(days_ahead);
    while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        day += TimeDelta::days(1);
    }
    day.and_hms_opt(hour, 0, 0).expect("valid").and_utc()
}

fn calendar_event_id(booking: &Value) -> String {
    let chain = booking["chain_id"]
        .as_str()
        .expect("chain id")
        .replace('-', "");
    format!("slotkeeper{chain}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_calendar_both_ways() {
    let google = FakeGoogle::start().await;
    let hooks = site::Receiver::start().await;
    let site = Site::google(&google, &hooks).await;
    let host = site.login().await;

    // Connect: a wrong state is refused and stores nothing.
    let consent = host
        .get_redirect("/settings/integrations/google/connect")
        .await;
    assert!(
        consent.starts_with(&google.auth_url()),
        "consent page: {consent}"
    );
    let forged = host
        .get("/settings/integrations/google/callback?code=whatever&state=forged")
        .await;
    assert_eq!(forged.0, 400, "a wrong state is refused: {}", forged.1);
    // The real dance: the consent page redirects back with a code and our state.
    let callback = site::follow_consent(&consent).await;
    let done = host.get_path_of(&callback).await;
    assert_eq!(done.0, 303, "callback answers with a redirect: {}", done.1);
    let page = host.get("/settings/integrations").await;
    assert!(
        page.1.contains("Connected") && page.1.contains(ACCOUNT_EMAIL),
        "{}",
        page.1
    );

    // Book → one event at the fake, without Google-sent invitations.
    let first = site.book(weekday_at(10, 2), "Ada").await;
    let event_id = calendar_event_id(&first);
    eventually("the event is created", || async {
        google.event(ACCOUNT_EMAIL, &event_id).is_some()
    })
    .await;
    assert_eq!(google.insert_send_updates(), vec![Some("none".to_owned())]);

    // Reschedule by token → the same event, patched to the new time.
    let token = first["reschedule_token"].as_str().expect("token");
    let moved = site.reschedule(token, weekday_at(11, 2)).await;
    eventually("the event moves in place", || async {
        google.event(ACCOUNT_EMAIL, &event_id).is_some_and(|e| {
            e["start"]["dateTime"]
                .as_str()
                .is_some_and(|s| s.contains("T11:00:00"))
        })
    })
    .await;
    assert_eq!(google.insert_count(), 1, "one event for the whole chain");

    // Cancel → deleted.
    site.cancel(moved["reschedule_token"].as_str().expect("token"))
        .await;
    eventually("the event is deleted", || async {
        google
            .event(ACCOUNT_EMAIL, &event_id)
            .is_none_or(|e| e["status"] == "cancelled")
    })
    .await;

    // The host deletes a meeting in Google Calendar; a push notification arrives.
    let second = site.book(weekday_at(13, 2), "Grace").await;
    let second_event = calendar_event_id(&second);
    eventually("the second event is created", || async {
        google.event(ACCOUNT_EMAIL, &second_event).is_some()
    })
    .await;
    let channel = google
        .channels()
        .last()
        .cloned()
        .expect("a push channel was registered");
    google.host_deletes(ACCOUNT_EMAIL, &second_event);
    let status = google
        .notify(&channel.id, "exists")
        .await
        .expect("notified");
    assert_eq!(status, 200);
    let second_token = second["reschedule_token"]
        .as_str()
        .expect("token")
        .to_owned();
    eventually("the booking is cancelled by the calendar", || async {
        site.booking(&second_token).await["status"] == "cancelled"
    })
    .await;
    eventually(
        "subscribers get the signed callCancelled webhook",
        || async {
            hooks.bodies().iter().any(|b| {
                b.contains("\"hookType\":\"Call cancelled\"")
                    && b.contains("Grace")
                    && b.contains("deleted in Google Calendar")
            })
        },
    )
    .await;
    eventually("the attendee is told", || async {
        site.mail_subjects()
            .iter()
            .any(|s| s.starts_with("Cancelled:") && s.contains("Grace"))
    })
    .await;

    // A forged channel token changes nothing.
    let third = site.book(weekday_at(14, 3), "Linus").await;
    let third_event = calendar_event_id(&third);
    eventually("the third event is created", || async {
        google.event(ACCOUNT_EMAIL, &third_event).is_some()
    })
    .await;
    let forged = site
        .raw_post(
            "/api/calendar-providers/webhook/google",
            &[
                ("X-Goog-Channel-ID", channel.id.as_str()),
                ("X-Goog-Channel-Token", "not-the-secret"),
                ("X-Goog-Resource-State", "exists"),
            ],
        )
        .await;
    assert!(
        (400..500).contains(&forged),
        "forged notification: {forged}"
    );

    // The host drags it in Google Calendar: rescheduled, new token, rescheduled mail.
    let new_start = weekday_at(16, 3);
    google.host_moves(
        ACCOUNT_EMAIL,
        &third_event,
        new_start,
        new_start + TimeDelta::minutes(30),
    );
    google
        .notify(&channel.id, "exists")
        .await
        .expect("notified");
    let third_token = third["reschedule_token"]
        .as_str()
        .expect("token")
        .to_owned();
    eventually("the booking follows the calendar", || async {
        site.booking(&third_token).await["status"] == "rescheduled"
    })
    .await;
    eventually("the attendee gets the rescheduled mail", || async {
        site.mail_subjects()
            .iter()
            .any(|s| s.starts_with("Rescheduled:") && s.contains("Linus"))
    })
    .await;
    let invite = site
        .invite("Rescheduled:", "Linus")
        .expect("the rescheduled mail carries an invite");
    assert!(
        invite.contains(&new_start.format("%Y%m%dT%H%M%SZ").to_string()),
        "the new .ics has the new time: {invite}"
    );
    // Our own update does not come back as another change: still one booking in the chain.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(google.insert_count(), 3);

    // Polling without any push: a deletion is noticed within a timer tick or two.
    let fourth = site.book(weekday_at(9, 4), "Barbara").await;
    let fourth_event = calendar_event_id(&fourth);
    eventually("the fourth event is created", || async {
        google.event(ACCOUNT_EMAIL, &fourth_event).is_some()
    })
    .await;
    google.host_deletes(ACCOUNT_EMAIL, &fourth_event);
    let fourth_token = fourth["reschedule_token"]
        .as_str()
        .expect("token")
        .to_owned();
    eventually("the poller cancels it", || async {
        site.booking(&fourth_token).await["status"] == "cancelled"
    })
    .await;

    // Busy times from the calendar remove the matching slots.
    let busy_day = weekday_at(9, 5);
    let before = site.slots(busy_day).await;
    assert!(before.iter().any(|s| s.contains("T10:00:00")), "{before:?}");
    google.set_busy(
        ACCOUNT_EMAIL,
        vec![(
            busy_day + TimeDelta::hours(1),
            busy_day + TimeDelta::hours(2),
        )],
    );
    eventually("the busy hour disappears from the slots", || async {
        let after = site.slots(busy_day).await;
        !after.iter().any(|s| s.contains("T10:00:00"))
            && after.iter().any(|s| s.contains("T12:00:00"))
    })
    .await;

    // Google unreachable, with nothing read recently for that day: a new booking is refused
    // with 503 and Retry-After, and the bookings already made stay as they are.
    let sixth = site.book(weekday_at(9, 6), "Tony").await;
    let sixth_event = calendar_event_id(&sixth);
    eventually("the sixth event is created", || async {
        google.event(ACCOUNT_EMAIL, &sixth_event).is_some()
    })
    .await;
    let sixth_token = sixth["reschedule_token"]
        .as_str()
        .expect("token")
        .to_owned();
    google.set_unreachable(true);
    let (status, retry_after) = site.try_book(weekday_at(16, 8), "Niklaus").await;
    assert_eq!(status, 503);
    assert_eq!(retry_after.as_deref(), Some("60"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(site.booking(&sixth_token).await["status"], "confirmed");
    google.set_unreachable(false);

    // The sync token expires: a full resync, and nothing is done twice.
    let cancelled_mails = || {
        site.mail_subjects()
            .iter()
            .filter(|s| s.starts_with("Cancelled:"))
            .count()
    };
    let before = cancelled_mails();
    google.expire_sync_tokens();
    google.host_deletes(ACCOUNT_EMAIL, &sixth_event);
    google
        .notify(&channel.id, "exists")
        .await
        .expect("notified");
    eventually("cancelled after a full resync", || async {
        site.booking(&sixth_token).await["status"] == "cancelled"
    })
    .await;
    // The attendee's and the host's mail, and nothing for the meetings cancelled before,
    // though the full listing shows them again.
    eventually("its cancelled mails", || async {
        cancelled_mails() == before + 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(cancelled_mails(), before + 2, "nothing is done twice");

    // Renewal: 401 without the secret, a JSON summary with it.
    assert_eq!(site.cron(None).await.0, 401);
    assert_eq!(site.cron(Some("wrong")).await.0, 401);
    let (status, summary) = site.cron(Some(site::CRON_SECRET)).await;
    assert_eq!(status, 200);
    assert_eq!(
        summary["channels_renewed"],
        json!(0),
        "fresh channels are left alone"
    );

    // The grant is revoked: the connection needs re-authorisation and the banner shows on
    // both pages; bookings keep their state.
    // The attendee's booking page reads the day's busy times first, as a browser would; with
    // the grant gone, those (younger than ten minutes) still guard the booking.
    site.slots(weekday_at(15, 4)).await;
    google.revoke_grant();
    let fifth = site.book(weekday_at(15, 4), "Edsger").await;
    let host = &host;
    eventually("the banner shows", || async move {
        host.get("/calendar")
            .await
            .1
            .contains("calendar-disconnect-banner")
    })
    .await;
    assert!(
        host.get("/settings/integrations")
            .await
            .1
            .contains("calendar-disconnect-banner")
    );
    // Kept for people to look at: the banner as a browser shows it, on both pages.
    if let Some(shots) = browser::screenshots(
        &site.base,
        &host.cookies(),
        &[
            ("calendar-disconnect-banner", "/calendar"),
            ("integrations-disconnect-banner", "/settings/integrations"),
        ],
    )
    .await
    {
        assert_eq!(shots.len(), 2);
        eprintln!("banner screenshots: {shots:?}");
    }
    let fifth_token = fifth["reschedule_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(site.booking(&fifth_token).await["status"], "confirmed");

    // Reconnecting delivers the parked event and the banner goes away.
    let consent = host
        .get_redirect("/settings/integrations/google/connect")
        .await;
    let callback = site::follow_consent(&consent).await;
    assert_eq!(host.get_path_of(&callback).await.0, 303);
    let fifth_event = calendar_event_id(&fifth);
    eventually("the parked event is written after reconnecting", || async {
        google.event(ACCOUNT_EMAIL, &fifth_event).is_some()
    })
    .await;
    assert!(
        !host
            .get("/calendar")
            .await
            .1
            .contains("calendar-disconnect-banner")
    );
    site.stop();
}
