//! The `/calendar` dashboard: tabs and counts, rescheduled meetings counted once, no-shows
//! out of Past, cancellations with reason, who and when, the host's zone, paging.

use booking_core::invitee::Reason;
use chrono::TimeDelta;

use crate::helpers::*;
use crate::{logged_in, send, service};

#[actix_web::test]
async fn tabs_count_each_meeting_once_and_keep_no_shows_out_of_past() {
    let app = setup().await;
    let s = &app.state.scheduler;
    let moved = book(&app, "intro", at(8, 0), "Ann Moved").await; // 09:00 Berlin
    let _upcoming = book(&app, "intro", at(15, 0), "Ben Later").await;
    let gone = book(&app, "intro", at(10, 0), "Cid Cancel").await;
    let past = book(&app, "intro", at(11, 0), "Dee Past").await;
    let absent = book(&app, "intro", at(12, 0), "Eve Absent").await;
    book(&app, "otto-call", at(9, 0), "Zed Otto").await; // another host's
    s.reschedule(
        moved.token().expose(),
        at(14, 0),
        Reason::parse_optional(Some("clash")).unwrap(),
    )
    .await
    .unwrap();
    app.clock.set(at(7, 30));
    s.cancel(
        gone.token().expose(),
        Reason::parse_optional(Some("Feeling ill")).unwrap(),
    )
    .await
    .unwrap();
    app.clock.set(at(13, 0));
    s.mark_no_show(app.hana.id(), absent.id()).await.unwrap();
    let _ = past;

    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let html = body(send!(svc, b, get("/calendar"))).await;
    // Upcoming: the moved meeting (once, at its new time) and Ben; Past: Dee only (Ann's old
    // row is not a meeting, Eve is a no-show).
    assert_eq!(
        [
            count(&html, "upcoming"),
            count(&html, "past"),
            count(&html, "no_shows"),
            count(&html, "cancelled")
        ],
        [2, 1, 1, 1],
        "{html}"
    );
    assert!(html.contains("Ann Moved") && html.contains("Ben Later"));
    assert!(!html.contains("Zed Otto"), "another host's meeting");
    // Times in the host's zone: 14:00 UTC is 15:00 in Berlin.
    assert!(html.contains("15:00–15:30 (Europe/Berlin)"), "{html}");
    assert_eq!(html.matches("Ann Moved").count(), 1);

    let html = body(send!(svc, b, get("/calendar?tab=past"))).await;
    assert!(
        html.contains("Dee Past") && !html.contains("Eve Absent") && !html.contains("Ann Moved")
    );
    let html = body(send!(svc, b, get("/calendar?tab=no_shows"))).await;
    assert!(
        html.contains("Eve Absent") && html.contains("Marked no-show on March 1, 2027 at 14:00"),
        "{html}"
    );
    let html = body(send!(svc, b, get("/calendar?tab=cancelled"))).await;
    assert!(html.contains("Cid Cancel"));
    assert!(
        html.contains("Cancelled by the attendee on March 1, 2027 at 08:30"),
        "who and when, in Berlin time: {html}"
    );
    assert!(html.contains("Feeling ill"));
    assert_eq!(send!(svc, b, get("/calendar?tab=bogus")).status(), 404);
}

#[actix_web::test]
async fn the_dashboard_pages_through_long_tabs() {
    let app = setup().await;
    for day in 0..3u32 {
        for hour in 8..16u32 {
            let start = at(hour, 0) + TimeDelta::days(i64::from(day));
            book(&app, "intro", start, &format!("Guest D{day}H{hour}")).await;
        }
    }
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let first = body(send!(svc, b, get("/calendar"))).await;
    assert_eq!(count(&first, "upcoming"), 24);
    assert_eq!(first.matches("/calendar/bookings/").count(), 20);
    assert!(first.contains("/calendar?tab=upcoming&amp;page=2"));
    assert!(first.contains("Guest D0H8") && !first.contains("Guest D2H15"));
    let second = body(send!(svc, b, get("/calendar?tab=upcoming&page=2"))).await;
    assert_eq!(second.matches("/calendar/bookings/").count(), 4);
    assert!(second.contains("Guest D2H15") && !second.contains("page=3"));
}

#[actix_web::test]
async fn the_banner_slot_is_there_and_empty() {
    let app = setup().await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let html = body(send!(svc, b, get("/calendar"))).await;
    assert!(
        html.contains(r#"<div id="calendar-banner"></div>"#),
        "{html}"
    );
}
