//! Booking commits of one host racing for partly overlapping slots from several pools, as
//! several `slotkeeper` instances would: exactly one winner per group of overlapping slots,
//! "slot taken" for every other, no store error, and all of it quickly.
//!
//! Without the per-host lock, two transactions inserting overlapping rows at the same moment
//! can each wait for the other inside the exclusion constraint's check, and Postgres notices
//! such a deadlock only after `deadlock_timeout`. The test's database sets that to 30 s, so a
//! single deadlock breaks the time bound instead of costing a second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use booking_core::booking::{Booking, NewBooking};
use booking_core::invitee::{Answers, Email, Invitee, PersonName, Tracking};
use booking_core::ports::{BookingStore, Change, CommitError};
use booking_core::testkit::conformance::StoreFactory;
use booking_core::testkit::model;
use booking_core::token::RescheduleToken;
use booking_core::{BookingId, TimeRange, TimeZoneName};
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor, PgPool};
use store_postgres::PostgresStore;
use tokio::sync::Barrier;

use crate::{PgDatabases, SEAL_KEY};

/// Separate pools, like separate instances.
const POOLS: usize = 3;
/// Groups of overlapping slots, two hours apart.
const GROUPS: usize = 12;
/// Clients committing each slot of a group (a group has three slots, 15 minutes apart).
const CLIENTS_PER_SLOT: usize = 3;
/// Races, each on the same slots freed again.
const ROUNDS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_overlapping_bookings_get_one_winner_per_group_quickly() {
    let databases = PgDatabases::new();
    let options = databases.create().await;
    slow_deadlock_detection(&options).await;
    let (host, link, start) = model::fixture();
    let mut stores = Vec::new();
    for _ in 0..POOLS {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .connect_with(options.clone())
            .await
            .expect("connect");
        let store = PostgresStore::from_pool(pool, SEAL_KEY)
            .await
            .expect("store");
        store.save_host(&host).await.expect("host");
        store.save_link(&link).await.expect("link");
        stores.push(Arc::new(store));
    }
    let first = start + TimeDelta::days(1);
    let groups: Vec<_> = (0..GROUPS)
        .map(|g| first + TimeDelta::hours(2) * i32::try_from(g).expect("group"))
        .collect();
    let clients = GROUPS * 3 * CLIENTS_PER_SLOT;
    let mut next_id = 1;
    for round in 0..ROUNDS {
        let began = Instant::now();
        let winners = race(&stores, &groups, &link, &mut next_id).await;
        let took = began.elapsed();
        eprintln!("round {round}: {clients} racing commits answered in {took:?}");
        assert_eq!(winners, vec![1; GROUPS], "one winner per overlapping group");
        assert!(
            took < Duration::from_secs(10),
            "round {round}: {clients} racing commits took {took:?}"
        );
        free_every_slot(stores[0].pool()).await;
    }
    for store in stores {
        store.pool().close().await;
    }
    databases.finish().await;
}

/// Every client commits its booking at once; the winners of each group.
async fn race(
    stores: &[Arc<PostgresStore>],
    groups: &[DateTime<Utc>],
    link: &booking_core::link::BookingLink,
    next_id: &mut u128,
) -> Vec<usize> {
    let ready = Arc::new(Barrier::new(groups.len() * 3 * CLIENTS_PER_SLOT));
    let mut tasks = Vec::new();
    for (g, group_start) in groups.iter().enumerate() {
        for slot in 0..3 {
            for client in 0..CLIENTS_PER_SLOT {
                let store = stores[(g + slot + client) % POOLS].clone();
                let ready = ready.clone();
                let at = *group_start + TimeDelta::minutes(15) * i32::try_from(slot).expect("slot");
                *next_id += 1;
                let change = booking_at(link, at, *next_id);
                tasks.push(tokio::spawn(async move {
                    ready.wait().await;
                    (g, store.commit(change).await)
                }));
            }
        }
    }
    let mut winners = vec![0; groups.len()];
    for task in tasks {
        let (group, outcome) = task.await.expect("commit task");
        match outcome {
            Ok(()) => winners[group] += 1,
            Err(CommitError::SlotTaken) => {}
            Err(other) => panic!("a loser got {other:?} instead of the slot being taken"),
        }
    }
    winners
}

/// A new confirmed 30-minute booking of `link` at `start` (10 minutes' buffer after), as the
/// change a booking commits.
fn booking_at(link: &booking_core::link::BookingLink, start: DateTime<Utc>, n: u128) -> Change {
    let slot = TimeRange::new(start, start + TimeDelta::minutes(30)).expect("slot");
    let blocked = TimeRange::new(start, slot.end() + TimeDelta::minutes(10)).expect("blocked");
    let transition = Booking::confirmed(NewBooking {
        id: BookingId::from_uuid(uuid::Uuid::from_u128((0xb0 << 120) | n)),
        host: link.host(),
        link: link.id(),
        slot,
        blocked,
        token: RescheduleToken::from_bytes(n.to_be_bytes()),
        invitee: Invitee::new(
            PersonName::parse("Ann Example").expect("name"),
            Email::parse("ann@example.org").expect("email"),
            None,
            TimeZoneName::parse("Europe/Paris").expect("zone"),
        ),
        answers: Answers::default(),
        tracking: Tracking::default(),
        reconfirm_by: None,
        created_at: start - TimeDelta::days(1),
    });
    Change {
        writes: transition.writes,
        effects: transition.effects,
    }
}

/// Migrates the fresh database and lets its deadlocks wait 30 s before Postgres breaks them.
async fn slow_deadlock_detection(options: &PgConnectOptions) {
    let database = options.get_database().expect("database name");
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await
        .expect("connect");
    PostgresStore::from_pool(pool.clone(), SEAL_KEY)
        .await
        .expect("migrate");
    pool.execute(AssertSqlSafe(format!(
        "alter database {database} set deadlock_timeout = '30s'"
    )))
    .await
    .expect("deadlock_timeout");
    pool.close().await;
}

/// Removes the race's bookings and their outbox entries, so the next round races again.
async fn free_every_slot(pool: &PgPool) {
    pool.execute("delete from outbox; delete from scheduling_calendar_events")
        .await
        .expect("free the slots");
}

/// The deadlock made certain rather than left to timing. Another transaction holds an
/// uncommitted confirmed row overlapping two bookings; both bookings' commits reach the
/// exclusion check and wait for it. When it rolls back, without the per-host lock both have
/// already inserted their rows, so each finds the other's and waits for it: a deadlock, which
/// this database breaks only after 30 s. With the lock, the second commit waits for the first
/// before inserting anything, then finds the slot taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_waiting_on_an_overlapping_insert_does_not_deadlock_its_rival() {
    let databases = PgDatabases::new();
    let options = databases.create().await;
    slow_deadlock_detection(&options).await;
    let (host, link, start) = model::fixture();
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options.clone())
        .await
        .expect("connect");
    let store = Arc::new(
        PostgresStore::from_pool(pool.clone(), SEAL_KEY)
            .await
            .expect("store"),
    );
    store.save_host(&host).await.expect("host");
    store.save_link(&link).await.expect("link");
    let day = start + TimeDelta::days(1);
    // A row to copy for the blocking transaction, well away from the contested slots.
    store
        .commit(booking_at(&link, day + TimeDelta::hours(6), 1))
        .await
        .expect("template booking");

    let mut blocker = pool.begin().await.expect("begin the blocker");
    for sql in [
        "create temp table blocker_row on commit drop as \
         select * from scheduling_calendar_events limit 1",
        "update blocker_row set id = gen_random_uuid(), chain_id = gen_random_uuid(), \
         token_hash = sha256(token_hash), start_at = $1, end_at = $2, \
         blocked_start = $1, blocked_end = $2",
        "insert into scheduling_calendar_events select * from blocker_row",
    ] {
        let query = sqlx::query(sql);
        let query = if sql.contains("$1") {
            query.bind(day).bind(day + TimeDelta::hours(1))
        } else {
            query
        };
        query
            .execute(&mut *blocker)
            .await
            .expect("the blocker's overlapping row");
    }

    let mut racers = Vec::new();
    for (n, minutes) in [(2, 0), (3, 15)] {
        let store = store.clone();
        let change = booking_at(&link, day + TimeDelta::minutes(minutes), n);
        racers.push(tokio::spawn(async move {
            let began = Instant::now();
            (store.commit(change).await, began.elapsed())
        }));
        // Both are under way, waiting on the blocker, before it gives up.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    blocker.rollback().await.expect("roll the blocker back");

    let mut won = 0;
    for racer in racers {
        let (outcome, took) = racer.await.expect("racer");
        assert!(
            took < Duration::from_secs(10),
            "a racing commit took {took:?}: the two deadlocked"
        );
        match outcome {
            Ok(()) => won += 1,
            Err(CommitError::SlotTaken) => {}
            Err(other) => panic!("the loser got {other:?} instead of the slot being taken"),
        }
    }
    assert_eq!(won, 1, "exactly one of the overlapping bookings wins");
    store.pool().close().await;
    databases.finish().await;
}
