//! Deals: opened once per meeting by the `CreateDeal` effect, shown on the booking and in
//! `/deals`, moved between stages (closed-lost too) from both, never touched by a cancel,
//! and another host's deal is not found.

use booking_core::deals::{DealId, DealStage, DealStore, open_deal_for};
use booking_core::effects::Effect;
use booking_core::ports::Clock;

use crate::helpers::*;
use crate::{csrf, logged_in, send, service};

/// Delivers the `CreateDeal` effects queued so far, as the dispatcher does.
async fn deliver_deals(app: &TestApp) {
    for planned in app.store.outbox() {
        if let Effect::CreateDeal { chain, booking } = planned.effect {
            open_deal_for(&app.store, &app.store, chain, booking, app.clock.now())
                .await
                .unwrap();
        }
    }
}

#[actix_web::test]
async fn a_deal_is_moved_from_the_booking_and_the_list_and_survives_a_cancel() {
    let app = setup().await;
    let booked = book(&app, "intro", at(9, 0), "Dora Deal").await;
    book(&app, "otto-call", at(9, 0), "Zed Otto").await; // no deal: Otto's link does not open one
    deliver_deals(&app).await;
    deliver_deals(&app).await; // a retried delivery opens nothing new
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);

    let html = body(send!(svc, b, get("/deals"))).await;
    assert!(
        html.contains("Dora Deal") && html.contains(r#"<span class="count">1</span>"#),
        "{html}"
    );
    let detail = format!("/calendar/bookings/{}", booked.id());
    let html = body(send!(svc, b, get(&detail))).await;
    assert!(
        html.contains(r#"<strong id="deal-stage">New</strong>"#),
        "{html}"
    );

    let resp = send!(
        svc,
        b,
        form(
            &format!("{detail}/deal-stage"),
            &[("csrf", &csrf), ("stage", "proposal")]
        )
    );
    assert_eq!(resp.status(), 303);
    let id = DealId::for_chain(booked.chain());
    assert_eq!(
        app.store.deal(id).await.unwrap().unwrap().stage(),
        DealStage::Proposal
    );

    // Cancelling the meeting leaves the deal alone.
    let resp = send!(
        svc,
        b,
        form(
            &format!("{detail}/cancel"),
            &[("csrf", &csrf), ("reason", "Budget frozen")]
        )
    );
    assert_eq!(resp.status(), 303);
    let deal = app.store.deal(id).await.unwrap().unwrap();
    assert_eq!(deal.stage(), DealStage::Proposal);

    let resp = send!(
        svc,
        b,
        form(
            &format!("/deals/{id}/stage"),
            &[("csrf", &csrf), ("stage", "closed_lost")]
        )
    );
    assert_eq!(resp.status(), 303);
    assert_eq!(header(&resp, "location"), "/deals?done=deal-moved");
    assert_eq!(
        app.store.deal(id).await.unwrap().unwrap().stage(),
        DealStage::ClosedLost
    );
    let html = body(send!(svc, b, get("/deals?done=deal-moved"))).await;
    assert!(
        html.contains(r#"<option value="closed_lost" selected>"#),
        "{html}"
    );
    let resp = send!(
        svc,
        b,
        form(
            &format!("/deals/{id}/stage"),
            &[("csrf", &csrf), ("stage", "won-ish")]
        )
    );
    assert_eq!(resp.status(), 404, "an unknown stage");
}

#[actix_web::test]
async fn another_hosts_deal_cannot_be_moved_or_seen() {
    let app = setup().await;
    let booked = book(&app, "intro", at(9, 0), "Dora Deal").await;
    deliver_deals(&app).await;
    let svc = service!(app.state);
    let mut otto = logged_in!(svc, "otto@example.com", OTTO_PASSWORD);
    let csrf = csrf!(svc, otto);
    let id = DealId::for_chain(booked.chain());
    let resp = send!(
        svc,
        otto,
        form(
            &format!("/deals/{id}/stage"),
            &[("csrf", &csrf), ("stage", "closed_lost")]
        )
    );
    assert_eq!(resp.status(), 404);
    let html = body(send!(svc, otto, get("/deals"))).await;
    assert!(!html.contains("Dora Deal"));
    assert_eq!(
        app.store.deal(id).await.unwrap().unwrap().stage(),
        DealStage::New
    );
}
