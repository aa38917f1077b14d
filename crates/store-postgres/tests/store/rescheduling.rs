//! Attendees of one host rescheduling into the same slot at once, through the real use case
//! (`Scheduler::reschedule`, whose commit updates the old row and inserts the new one in one
//! statement): exactly one wins, every other is told the slot is unavailable, and a loser's
//! booking is left exactly as it was — its old row's update went with the refused insert, no
//! outbox entry of its move remains, and no two confirmed rows overlap.

use std::sync::Arc;

use booking_core::Scheduler;
use booking_core::TimeRange;
use booking_core::booking::{Booking, Status};
use booking_core::ports::BookingStore;
use booking_core::service::TokenActionError;
use booking_core::testkit::conformance::StoreFactory;
use booking_core::testkit::{FixedBusy, ManualClock, SequentialTokens, model};
use chrono::TimeDelta;
use store_postgres::PostgresStore;
use tokio::sync::Barrier;

use crate::{PgDatabases, request};

/// Bookings racing to move into one slot.
const MOVERS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn attendees_rescheduling_into_one_slot_get_one_winner_and_untouched_losers() {
    let databases = PgDatabases::new();
    let store = databases.fresh().await;
    let (host, link, start) = model::fixture();
    store.save_host(&host).await.expect("host");
    store.save_link(&link).await.expect("link");
    let scheduler = Arc::new(Scheduler::new(
        store.clone(),
        ManualClock::at(start),
        SequentialTokens::new(),
        FixedBusy::default(),
    ));
    let window = TimeRange::new(start, start + TimeDelta::days(3)).expect("window");
    let mut booked: Vec<Booking> = Vec::new();
    for _ in 0..MOVERS {
        let free = scheduler
            .available_slots(link.slug(), window)
            .await
            .expect("slots");
        let at = free.first().expect("a free slot").start();
        booked.push(
            scheduler
                .book(link.slug(), request(at))
                .await
                .expect("book"),
        );
    }
    let target = scheduler
        .available_slots(link.slug(), window)
        .await
        .expect("slots")
        .last()
        .expect("a slot left")
        .start();
    let outbox_before = outbox_rows(&store).await;

    let ready = Arc::new(Barrier::new(MOVERS));
    let movers: Vec<_> = booked
        .iter()
        .map(|b| {
            let (scheduler, ready) = (scheduler.clone(), ready.clone());
            let token = b.token().expose().to_owned();
            tokio::spawn(async move {
                ready.wait().await;
                scheduler.reschedule(&token, target, None).await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for mover in movers {
        match mover.await.expect("mover task") {
            Ok(moved) => winners.push(moved),
            Err(TokenActionError::SlotUnavailable) => {}
            Err(other) => panic!("a loser got {other:?} instead of the slot being unavailable"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one booking moves into the slot");
    let winner = &winners[0];
    assert_eq!(winner.slot().start(), target);

    for b in &booked {
        let stored = store.booking(b.id()).await.expect("load").expect("row");
        if b.chain() == winner.chain() {
            assert!(matches!(stored.status(), Status::Rescheduled { .. }));
        } else {
            assert_eq!(&stored, b, "a loser's booking is unchanged");
        }
    }
    assert_eq!(
        overlaps(&store).await,
        0,
        "no two confirmed bookings overlap"
    );
    let confirmed: i64 = sqlx::query_scalar(
        "select count(*) from scheduling_calendar_events where status = 'confirmed'",
    )
    .fetch_one(store.pool())
    .await
    .expect("count");
    assert_eq!(confirmed, i64::try_from(MOVERS).expect("count"));
    let added: Vec<uuid::Uuid> =
        sqlx::query_scalar("select distinct booking_id from outbox where not (key = any($1))")
            .bind(&outbox_before)
            .fetch_all(store.pool())
            .await
            .expect("new outbox rows");
    assert_eq!(
        added,
        vec![winner.id().as_uuid()],
        "only the winner's move queued effects"
    );
    store.pool().close().await;
    databases.finish().await;
}

async fn outbox_rows(store: &PostgresStore) -> Vec<String> {
    sqlx::query_scalar("select key from outbox")
        .fetch_all(store.pool())
        .await
        .expect("outbox keys")
}

async fn overlaps(store: &PostgresStore) -> i64 {
    sqlx::query_scalar(
        "select count(*) from scheduling_calendar_events a join scheduling_calendar_events b \
         on a.host_id = b.host_id and a.id < b.id and a.status = 'confirmed' and b.status = 'confirmed' \
         and a.blocked_start < b.blocked_end and b.blocked_start < a.blocked_end",
    )
    .fetch_one(store.pool())
    .await
    .expect("overlaps")
}
