//! No dead ends: every refused token page says what happened and offers the next step (book
//! a new time, write to the host); a cancelled or moved booking's confirmation page shows
//! where it stands (200), and the confirmation names the meeting's place and subject.

use actix_web::test::{TestRequest, call_service};
use booking_core::link::Slug;
use booking_core::ports::BookingStore;

use crate::helpers::*;
use crate::service;

const BOOK_AGAIN: &str = "href=\"/book/intro\"";
const HOST_MAILTO: &str = "href=\"mailto:hana@example.com\"";

/// GETs `$uri` from `$svc`: (status, body).
macro_rules! fetch {
    ($svc:expr, $uri:expr) => {{
        let resp = call_service(&$svc, TestRequest::get().uri(&$uri).to_request()).await;
        let status = resp.status().as_u16();
        (status, body(resp).await)
    }};
}

/// Gives the `intro` link a description and a location.
async fn detail_link(app: &TestApp, location: &str) {
    let link = app
        .store
        .link_by_slug(&Slug::parse("intro").unwrap())
        .await
        .unwrap()
        .unwrap()
        .with_details(
            Some("We talk about <your> plans.\nBring questions."),
            Some(location),
        )
        .unwrap();
    app.store.save_link(&link).await.unwrap();
}

#[actix_web::test]
async fn refused_token_pages_offer_booking_again_and_the_host() {
    let app = setup().await;
    let cancelled = book(&app, at(9, 0)).await;
    app.state
        .scheduler
        .cancel(cancelled.token().expose(), None)
        .await
        .unwrap();
    let moved = book(&app, at(10, 0)).await;
    app.state
        .scheduler
        .reschedule(moved.token().expose(), at(12, 0), None)
        .await
        .unwrap();
    let started = book(&app, at(13, 0)).await;
    let svc = service!(app);

    for (token, status, says) in [
        (cancelled.token().expose(), 409, "Booking already cancelled"),
        (moved.token().expose(), 409, "Booking already rescheduled"),
    ] {
        for page in ["reschedule", "cancel", "reconfirm"] {
            if page == "cancel" && status == 409 && says.contains("cancelled") {
                continue; // the cancel page of a cancelled booking is its done state
            }
            let (got, html) = fetch!(svc, &format!("/book/{page}/{token}"));
            assert_eq!(got, status, "{page} {says}");
            assert!(html.contains(says), "{page}: {html}");
            assert!(html.contains(BOOK_AGAIN), "{page} {says}: {html}");
            assert!(html.contains("Book a new time"), "{page}: {html}");
            assert!(html.contains(HOST_MAILTO), "{page} {says}: {html}");
            assert!(html.contains("Hana Host"), "{page}: {html}");
        }
    }

    app.clock.set(at(13, 0));
    for page in ["reschedule", "cancel", "reconfirm", "confirmed"] {
        let (got, html) = fetch!(svc, &format!("/book/{page}/{}", started.token().expose()));
        assert_eq!(got, 410, "{page}");
        assert!(html.contains("already started"), "{page}: {html}");
        assert!(
            html.contains(BOOK_AGAIN) && html.contains(HOST_MAILTO),
            "{page}: {html}"
        );
    }
    // A refused POST says the same.
    let resp = call_service(
        &svc,
        TestRequest::post()
            .uri(&format!("/book/cancel/{}", started.token().expose()))
            .set_form([("reason", "late")])
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 410);
    assert!(body(resp).await.contains(HOST_MAILTO));
}

#[actix_web::test]
async fn unknown_links_and_tokens_point_home_and_reveal_no_host() {
    let app = setup().await;
    let svc = service!(app);
    for uri in [
        "/book/confirmed/0123456789abcdef0123456789abcdef",
        "/book/reschedule/nope",
        "/book/no-such-link",
    ] {
        let (got, html) = fetch!(svc, uri);
        assert_eq!(got, 404, "{uri}");
        assert!(html.contains("href=\"/\""), "{uri}: {html}");
        assert!(!html.contains("mailto:"), "{uri}: {html}");
    }
}

#[actix_web::test]
async fn a_cancelled_bookings_confirmation_shows_the_cancelled_state() {
    let app = setup().await;
    let booking = book(&app, at(9, 0)).await;
    let token = booking.token().expose().to_owned();
    let reason = booking_core::invitee::Reason::parse_optional(Some("Ill <today>")).unwrap();
    app.state.scheduler.cancel(&token, reason).await.unwrap();
    let svc = service!(app);
    let (got, html) = fetch!(svc, &format!("/book/confirmed/{token}"));
    assert_eq!(got, 200, "{html}");
    assert!(html.contains("This booking was cancelled"), "{html}");
    assert!(
        html.contains("cancelled by the attendee on March 1, 2027 at 08:00"),
        "{html}"
    );
    assert!(html.contains("Reason: Ill &lt;today&gt;"), "{html}");
    assert!(
        html.contains(BOOK_AGAIN) && html.contains(HOST_MAILTO),
        "{html}"
    );
    assert!(
        !html.contains("/book/reschedule/") && !html.contains("/book/cancel/"),
        "{html}"
    );
    assert!(!html.contains("invite.ics"), "{html}");
}

#[actix_web::test]
async fn a_moved_bookings_old_confirmation_names_the_new_time_without_links() {
    let app = setup().await;
    let booking = book(&app, at(9, 0)).await;
    let old = booking.token().expose().to_owned();
    let moved = app
        .state
        .scheduler
        .reschedule(&old, at(10, 0), None)
        .await
        .unwrap();
    let new_token = moved.token().expose().to_owned();
    let svc = service!(app);
    let (got, html) = fetch!(svc, &format!("/book/confirmed/{old}"));
    assert_eq!(got, 200, "{html}");
    assert!(html.contains("This booking was moved"), "{html}");
    // 10:00 UTC is 11:00 in Berlin, the attendee's zone.
    let now = html.split("It is now on").nth(1).unwrap_or_default();
    assert!(now.contains("11:00"), "{html}");
    assert!(
        !html.contains(&new_token),
        "the new row's token stays in the mail"
    );
    assert!(
        !html.contains("/book/reschedule/") && !html.contains("/book/cancel/"),
        "{html}"
    );
    assert!(!html.contains("invite.ics"), "{html}");

    // Moved again, then cancelled: the old page follows the chain to where it ended.
    let again = app
        .state
        .scheduler
        .reschedule(&new_token, at(12, 0), None)
        .await
        .unwrap();
    let (got, html) = fetch!(svc, &format!("/book/confirmed/{old}"));
    assert_eq!(got, 200);
    assert!(
        html.split("It is now on")
            .nth(1)
            .unwrap_or_default()
            .contains("13:00"),
        "{html}"
    );
    app.state
        .scheduler
        .cancel(again.token().expose(), None)
        .await
        .unwrap();
    let (got, html) = fetch!(svc, &format!("/book/confirmed/{old}"));
    assert_eq!(got, 200);
    assert!(html.contains("This booking was cancelled"), "{html}");
}

#[actix_web::test]
async fn the_confirmation_names_the_place_and_the_subject() {
    let app = setup().await;
    detail_link(&app, "https://meet.example.com/intro?pwd=1").await;
    let booking = book(&app, at(9, 0)).await;
    let svc = service!(app);
    let (got, html) = fetch!(
        svc,
        &format!("/book/confirmed/{}", booking.token().expose())
    );
    assert_eq!(got, 200);
    assert!(html.contains("with Hana Host"), "{html}");
    assert!(
        html.contains("href=\"https://meet.example.com/intro?pwd=1\""),
        "{html}"
    );
    assert!(html.contains(">Join</a>"), "{html}");
    assert!(
        html.contains("We talk about &lt;your&gt; plans.\nBring questions."),
        "{html}"
    );

    detail_link(&app, "Room 4, Main Street 1").await;
    let (_, html) = fetch!(
        svc,
        &format!("/book/confirmed/{}", booking.token().expose())
    );
    assert!(html.contains("Where: Room 4, Main Street 1"), "{html}");
    assert!(!html.contains(">Join</a>"), "{html}");
}

#[actix_web::test]
async fn the_download_carries_location_and_description() {
    let app = setup().await;
    detail_link(&app, "Room 4, Floor 2; Main Street 1").await;
    let booking = book(&app, at(9, 0)).await;
    let svc = service!(app);
    let (got, ics) = fetch!(
        svc,
        &format!("/book/confirmed/{}/invite.ics", booking.token().expose())
    );
    assert_eq!(got, 200);
    assert!(
        ics.replace("\r\n ", "")
            .contains("LOCATION:Room 4\\, Floor 2\\; Main Street 1\r\n"),
        "{ics}"
    );
    let calendar: icalendar::Calendar = ics.parse().unwrap();
    let event = calendar.events().next().unwrap();
    use icalendar::{Component, EventLike};
    assert_eq!(event.get_location(), Some("Room 4, Floor 2; Main Street 1"));
    let description = event.get_description().unwrap();
    assert!(
        description.starts_with("We talk about <your> plans.\nBring questions."),
        "{description}"
    );
    assert!(
        description.contains("Reschedule: http://book.test/book/reschedule/"),
        "{description}"
    );
}
