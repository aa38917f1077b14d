//! The host side on a real SQLite file: log in, see the counts, cancel with a reason, mark a
//! no-show, move a deal, use an API key and reach the limit of fresh links — through the same
//! pages and API as in memory.

use std::sync::Arc;

use actix_web::test::{TestRequest, call_service};
use booking_core::deals::{DealId, DealStage, DealStore, open_deal_for};
use booking_core::effects::Effect;
use booking_core::ports::{BookingStore, Clock, Outbox, TokenSource};
use booking_core::testkit::{FixedBusy, ManualClock, SequentialTokens};
use booking_core::{Scheduler, Status};
use chrono::TimeDelta;
use store_sqlite::SqliteStore;
use web::host::HostSide;

use crate::helpers::*;
use crate::{csrf, logged_in, send, service};

#[actix_web::test]
async fn the_host_flow_on_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("host.db").display());
    let store = SqliteStore::connect(&url, [42; 32]).await.unwrap();
    let (hana, _otto) = populate(&store, true).await;
    let clock = ManualClock::at(at(7, 0));
    let tokens = SequentialTokens::new();
    let scheduler = Scheduler::new(
        Arc::new(store.clone()) as Arc<dyn BookingStore>,
        Arc::new(clock.clone()) as Arc<dyn Clock>,
        Arc::new(tokens.clone()) as Arc<dyn TokenSource>,
        Arc::new(FixedBusy::default()) as _,
    );
    let side = HostSide::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(tokens),
        [7; 32],
        Arc::new(store.clone()),
        Arc::new(store.clone()),
    )
    .with_passwords(cheap_passwords());
    let state = web::AppState::new(scheduler, "http://book.test").with_host_side(side);
    let app_like = |start, name: &'static str| {
        let state = state.clone();
        async move {
            use booking_core::invitee::{Answers, Email, Invitee, PersonName, Tracking};
            let request = booking_core::service::BookingRequest {
                start,
                invitee: Invitee::new(
                    PersonName::parse(name).unwrap(),
                    Email::parse("guest@example.org").unwrap(),
                    None,
                    booking_core::TimeZoneName::parse("UTC").unwrap(),
                ),
                answers: Answers::default(),
                tracking: Tracking::default(),
            };
            state
                .scheduler
                .book(&booking_core::link::Slug::parse("intro").unwrap(), request)
                .await
                .unwrap()
        }
    };
    let past = app_like(at(8, 0), "Pia Past").await;
    let soon = app_like(at(12, 0), "Sam Soon").await;
    let moved = app_like(at(13, 0), "Max Moved").await;
    state
        .scheduler
        .reschedule(moved.token().expose(), at(14, 0), None)
        .await
        .unwrap();
    // The dispatcher's deal delivery, twice (a retry).
    for entry in store
        .claim_due(at(7, 0), TimeDelta::minutes(1), 100)
        .await
        .unwrap()
    {
        if let Effect::CreateDeal { chain, booking } = entry.effect {
            for _ in 0..2 {
                open_deal_for(&store, &store, chain, booking, at(7, 0))
                    .await
                    .unwrap();
            }
        }
    }
    clock.set(at(8, 40));

    let svc = service!(state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let html = body(send!(svc, b, get("/calendar"))).await;
    assert_eq!(count(&html, "upcoming"), 2, "the moved meeting counts once");
    assert_eq!(count(&html, "past"), 1);
    let csrf = csrf!(svc, b);
    let resp = send!(
        svc,
        b,
        form(
            &format!("/calendar/bookings/{}/cancel", soon.id()),
            &[("csrf", &csrf), ("reason", "Conflict")]
        )
    );
    assert_eq!(resp.status(), 303);
    let resp = send!(
        svc,
        b,
        form(
            &format!("/calendar/bookings/{}/no-show", past.id()),
            &[("csrf", &csrf)]
        )
    );
    assert_eq!(resp.status(), 303);
    assert!(matches!(
        store.booking(past.id()).await.unwrap().unwrap().status(),
        Status::NoShow { .. }
    ));
    let html = body(send!(svc, b, get("/calendar?tab=cancelled"))).await;
    assert!(
        html.contains("Sam Soon")
            && html.contains("Conflict")
            && html.contains("Cancelled by the host")
    );
    for (tab, n) in [
        ("upcoming", 1),
        ("past", 0),
        ("no_shows", 1),
        ("cancelled", 1),
    ] {
        assert_eq!(count(&html, tab), n, "{tab}");
    }

    let deal = DealId::for_chain(soon.chain());
    assert_eq!(
        store
            .deals(
                hana.id(),
                booking_core::ports::Page {
                    offset: 0,
                    limit: 10
                }
            )
            .await
            .unwrap()
            .total,
        3
    );
    let resp = send!(
        svc,
        b,
        form(
            &format!("/deals/{deal}/stage"),
            &[("csrf", &csrf), ("stage", "closed_lost")]
        )
    );
    assert_eq!(resp.status(), 303);
    assert_eq!(
        store.deal(deal).await.unwrap().unwrap().stage(),
        DealStage::ClosedLost
    );

    let resp = send!(
        svc,
        b,
        form(
            "/settings/api-keys",
            &[("csrf", &csrf), ("label", "Sheets")]
        )
    );
    let html = body(resp).await;
    let start = html.find(r#"<code id="new-key">"#).unwrap() + r#"<code id="new-key">"#.len();
    let key = &html[start..start + 35];
    let resp = call_service(
        &svc,
        TestRequest::get()
            .uri("/api/v1/bookings?tab=no_shows")
            .insert_header(("authorization", format!("Bearer {key}")))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let list: serde_json::Value = serde_json::from_str(&body(resp).await).unwrap();
    assert_eq!(list["bookings"][0]["invitee"]["name"], "Pia Past");

    // Fresh links, counted in the file: three sends an hour for the moved meeting, then 429.
    for click in 0..5 {
        let resp = send!(
            svc,
            b,
            form(
                &format!("/calendar/bookings/{}/send-links", moved.id()),
                &[("csrf", &csrf)]
            )
        );
        let expected = if click < 3 { 303 } else { 429 };
        assert_eq!(resp.status(), expected, "click {click}");
    }
}
