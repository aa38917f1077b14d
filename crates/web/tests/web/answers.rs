//! The kept answers of the slots API and the picker pages: the same bytes as built anew, and
//! retired at once by a booking made here or a change another instance announces; and the
//! reschedule page's one lookup of its token.

use std::sync::Arc;

use actix_web::test;
use booking_core::invitee::{Answers, Email, Invitee, PersonName, Tracking};
use booking_core::link::Slug;
use booking_core::ports::{BookingStore, Clock};
use booking_core::read_cache::{CacheChange, CachedStore, ReadCache};
use booking_core::service::BookingRequest;
use booking_core::testkit::{FixedBusy, SequentialTokens};
use booking_core::{HostId, Scheduler, TimeZoneName};

use crate::helpers::{TestApp, at, body, book, rfc, setup};

/// The app as the binary wires it: the scheduler reads through a read cache, and the pages'
/// answers are kept beside it.
async fn setup_cached() -> (TestApp, Arc<ReadCache>) {
    let app = setup().await;
    let reads = Arc::new(ReadCache::new());
    let cached = CachedStore::new(
        Arc::new(app.store.clone()) as Arc<dyn BookingStore>,
        Arc::new(app.clock.clone()) as Arc<dyn Clock>,
        reads.clone(),
        None,
    );
    let scheduler = Scheduler::new(
        Arc::new(cached) as Arc<dyn BookingStore>,
        Arc::new(app.clock.clone()) as _,
        Arc::new(SequentialTokens::new()) as _,
        Arc::new(FixedBusy::default()) as _,
    );
    let state =
        ::web::AppState::new(scheduler, "http://book.test").with_answer_cache(reads.clone());
    (TestApp { state, ..app }, reads)
}

/// Another instance on the same database: its own scheduler, not behind this one's cache.
fn other_instance(app: &TestApp) -> ::web::DynScheduler {
    Scheduler::new(
        Arc::new(app.store.clone()) as Arc<dyn BookingStore>,
        Arc::new(app.clock.clone()) as _,
        Arc::new(SequentialTokens::new()) as _,
        Arc::new(FixedBusy::default()) as _,
    )
}

fn request_at(start: chrono::DateTime<chrono::Utc>) -> BookingRequest {
    BookingRequest {
        start,
        invitee: Invitee::new(
            PersonName::parse("Bo").unwrap(),
            Email::parse("bo@example.org").unwrap(),
            None,
            TimeZoneName::parse("Europe/Berlin").unwrap(),
        ),
        answers: Answers::default(),
        tracking: Tracking::default(),
    }
}

async fn get(app: &TestApp, path: &str) -> String {
    let service = crate::service!(app);
    let resp = test::call_service(&service, test::TestRequest::get().uri(path).to_request()).await;
    assert_eq!(resp.status(), 200, "{path}");
    body(resp).await
}

const SLOTS: &str = "/api/v1/links/intro/slots";
const PAGE: &str = "/book/intro";

/// Whether `body` (of the slots API or the booking page) offers `start`.
fn offers(body: &str, start: chrono::DateTime<chrono::Utc>) -> bool {
    let start = rfc(start);
    body.contains(&format!("\"start\":\"{start}\"")) || body.contains(&format!("value=\"{start}\""))
}

#[actix_web::test]
async fn kept_answers_are_the_bytes_built_without_the_cache() {
    let (cached, _) = setup_cached().await;
    let plain = setup().await;
    let token = book(&cached, at(9, 0)).await.token().expose().to_owned();
    assert_eq!(book(&plain, at(9, 0)).await.token().expose(), token);
    for path in [
        SLOTS.to_owned(),
        format!("{SLOTS}?tz=America/New_York&to=2027-03-20T00:00:00Z"),
        PAGE.to_owned(),
        format!("{PAGE}?tz=America/New_York&clock=12&date=2027-03-02"),
        format!("/book/reschedule/{token}"),
        format!("/book/reschedule/{token}?show=2027-04"),
    ] {
        let built = get(&cached, &path).await;
        let kept = get(&cached, &path).await;
        let uncached = get(&plain, &path).await;
        assert_eq!(built, kept, "{path}");
        assert_eq!(kept, uncached, "{path}");
    }
}

#[actix_web::test]
async fn a_booking_made_here_retires_the_kept_answers_at_once() {
    let (app, _) = setup_cached().await;
    for path in [SLOTS, PAGE] {
        assert!(offers(&get(&app, path).await, at(9, 0)), "{path}");
    }
    book(&app, at(9, 0)).await;
    for path in [SLOTS, PAGE] {
        let after = get(&app, path).await;
        assert!(
            !offers(&after, at(9, 0)),
            "{path} still offers the booked time"
        );
        assert!(offers(&after, at(9, 30)), "{path}");
    }
}

#[actix_web::test]
async fn a_change_announced_by_another_instance_retires_them_at_once() {
    let (app, reads) = setup_cached().await;
    let before = get(&app, SLOTS).await;
    assert!(offers(&before, at(9, 0)));
    assert!(offers(&get(&app, PAGE).await, at(9, 0)));
    other_instance(&app)
        .book(&Slug::parse("intro").unwrap(), request_at(at(9, 0)))
        .await
        .unwrap();
    // Unannounced, the kept answer stands for the rest of its second (and the read cache's
    // time to live): this is the cache at work.
    assert_eq!(get(&app, SLOTS).await, before);
    // What the Postgres listener does with the other instance's `NOTIFY`.
    reads.apply(CacheChange::Bookings(HostId::from_uuid(
        uuid::Uuid::from_u128(1),
    )));
    for path in [SLOTS, PAGE] {
        assert!(!offers(&get(&app, path).await, at(9, 0)), "{path}");
    }
}

#[actix_web::test]
async fn the_reschedule_page_looks_its_token_up_once() {
    // Without the cache every page looks the token up once; with it, the booking shown is
    // kept until its host's bookings change, so the next page (another month) needs none.
    for ((app, _), lookups) in [
        ((setup().await, Arc::new(ReadCache::new())), [1, 1]),
        (setup_cached().await, [1, 0]),
    ] {
        let token = book(&app, at(9, 0)).await.token().expose().to_owned();
        for (path, expected) in [
            format!("/book/reschedule/{token}"),
            format!("/book/reschedule/{token}?show=2027-05&tz=Asia/Tokyo"),
        ]
        .into_iter()
        .zip(lookups)
        {
            let before = app.store.token_lookups();
            get(&app, &path).await;
            assert_eq!(app.store.token_lookups() - before, expected, "{path}");
        }
    }
}
