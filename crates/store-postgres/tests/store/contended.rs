//! Many clients booking one host's slots at once through the real use case
//! (`Scheduler::book`: availability read, then the commit with its per-host lock, the
//! exclusion constraint and one multi-row outbox insert), on an instance other than the one
//! listening for outbox commits: every client gets a booking or "slot unavailable", never a
//! store error; no two confirmed rows overlap; every booking has all of its outbox rows; and the
//! listening instance is woken by the other's commits (`LISTEN/NOTIFY`).

use std::sync::Arc;
use std::time::Duration;

use booking_core::Scheduler;
use booking_core::TimeRange;
use booking_core::ports::{BookingStore, OutboxWake};
use booking_core::service::BookError;
use booking_core::testkit::conformance::StoreFactory;
use booking_core::testkit::{FixedBusy, ManualClock, SequentialTokens, model};
use chrono::TimeDelta;
use sqlx::postgres::PgPoolOptions;
use store_postgres::PostgresStore;
use tokio::sync::Barrier;

use crate::{PgDatabases, SEAL_KEY, request};

/// Clients booking at once.
const CLIENTS: usize = 48;
/// The slots they aim at: the link's first ones, 15 minutes apart, each blocking 40 minutes,
/// so neighbours overlap and three clients aim at each slot.
const SLOTS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_clients_booking_one_host_get_consistent_answers_and_wake_the_other_instance() {
    let databases = PgDatabases::new();
    let options = databases.create().await;
    let mut instances = Vec::new();
    for _ in 0..2 {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(options.clone())
            .await
            .expect("connect");
        instances.push(
            PostgresStore::from_pool(pool, SEAL_KEY)
                .await
                .expect("store"),
        );
    }
    let (listening, booking) = (&instances[0], instances[1].clone());
    let wake = listening.outbox_wake().await.expect("listen");
    let (host, link, start) = model::fixture();
    booking.save_host(&host).await.expect("host");
    booking.save_link(&link).await.expect("link");
    let scheduler = Arc::new(Scheduler::new(
        booking.clone(),
        ManualClock::at(start),
        SequentialTokens::new(),
        FixedBusy::default(),
    ));
    let window = TimeRange::new(start, start + TimeDelta::days(3)).expect("window");
    let slots = scheduler
        .available_slots(link.slug(), window)
        .await
        .expect("slots");
    assert!(slots.len() >= SLOTS, "the fixture offers enough slots");
    let seen = wake.seen();
    let ready = Arc::new(Barrier::new(CLIENTS));
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let (scheduler, ready, slug) = (scheduler.clone(), ready.clone(), link.slug().clone());
        let at = slots[client % SLOTS].start();
        clients.push(tokio::spawn(async move {
            ready.wait().await;
            scheduler.book(&slug, request(at)).await
        }));
    }
    let mut booked = 0;
    for client in clients {
        match client.await.expect("client task") {
            Ok(_) => booked += 1,
            Err(BookError::SlotUnavailable) => {}
            Err(other) => panic!("a client got {other:?} instead of a booking or a taken slot"),
        }
    }
    assert!(booked > 0, "someone got a slot");
    let pool = booking.pool();
    let overlaps: i64 = sqlx::query_scalar(
        "select count(*) from scheduling_calendar_events a join scheduling_calendar_events b \
         on a.host_id = b.host_id and a.id < b.id and a.status = 'confirmed' and b.status = 'confirmed' \
         and a.blocked_start < b.blocked_end and b.blocked_start < a.blocked_end",
    )
    .fetch_one(pool)
    .await
    .expect("overlaps");
    assert_eq!(overlaps, 0, "no two confirmed bookings overlap");
    let confirmed: i64 = sqlx::query_scalar(
        "select count(*) from scheduling_calendar_events where status = 'confirmed'",
    )
    .fetch_one(pool)
    .await
    .expect("rows");
    assert_eq!(
        confirmed, booked,
        "every acknowledged booking is stored, no other"
    );
    // Every booking wrote the same, complete set of outbox rows in its one statement.
    let per_booking: Vec<i64> =
        sqlx::query_scalar("select count(*) from outbox group by booking_id order by 1")
            .fetch_all(pool)
            .await
            .expect("outbox rows");
    assert_eq!(per_booking.len(), usize::try_from(booked).expect("count"));
    assert!(per_booking[0] >= 2, "a booking queues mails to both sides");
    assert!(
        per_booking.iter().all(|n| *n == per_booking[0]),
        "{per_booking:?}"
    );
    tokio::time::timeout(Duration::from_secs(10), wake.wait_after(seen))
        .await
        .expect("the other instance's commits woke the listening one");
    for store in &instances {
        store.pool().close().await;
    }
    databases.finish().await;
}
