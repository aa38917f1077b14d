//! The database runs out of space in the middle of a booking load, and recovers by itself once
//! there is room again: no connection stays stuck in a transaction SQLite already rolled back,
//! every booking made after succeeds, the outbox drains and nothing is delivered twice.
//!
//! The full disk is real to SQLite: its `max_page_count` is set on every connection of the
//! pool (through the connect options, so replacement connections get it too), and a ballast
//! table fills the file up to it. Bookings then fail with `SQLITE_FULL`, some inside a
//! transaction SQLite rolls back whole; deleting the ballast frees pages again, the way
//! deleting a file frees a disk. It needs no privileges, unlike mounting a small filesystem.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use booking_core::invitee::{Answers, Email, Invitee, PersonName, Tracking};
use booking_core::ports::{BookingStore, Outbox};
use booking_core::service::{BookError, BookingRequest};
use booking_core::testkit::{FixedBusy, ManualClock, SequentialTokens, model};
use booking_core::{Scheduler, TimeRange, TimeZoneName};
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::sqlite::SqliteConnectOptions;
use store_sqlite::SqliteStore;

use crate::SEAL_KEY;

/// Bookings tried at once while the disk is full, and again after.
const AT_ONCE: usize = 20;
/// Pages free for the store after the ballast is gone (4 KiB each).
const HEADROOM_PAGES: i64 = 512;

type Bookings = Scheduler<SqliteStore, ManualClock, SequentialTokens, FixedBusy>;

/// The bug was intermittent (it depends on which pooled connection meets the full disk), so
/// the whole story runs several times, each on a fresh file.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_heals_by_itself_once_there_is_room() {
    for round in 0..3 {
        fill_the_disk_then_make_room(round).await;
    }
}

async fn fill_the_disk_then_make_room(round: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("sk.db").display());
    let (host, link, start) = model::fixture();
    let pages = {
        let store = SqliteStore::connect(&url, SEAL_KEY).await.expect("open");
        store.save_host(&host).await.expect("host");
        store.save_link(&link).await.expect("link");
        let pages: i64 = sqlx::query_scalar("pragma page_count")
            .fetch_one(store.pool())
            .await
            .expect("page count");
        store.pool().close().await;
        pages
    };
    let options = SqliteConnectOptions::from_str(&url)
        .expect("url")
        .pragma("max_page_count", (pages + HEADROOM_PAGES).to_string());
    let store = SqliteStore::connect_with(options, SEAL_KEY)
        .await
        .expect("reopen with the page limit");
    let bookings = Arc::new(Scheduler::new(
        store.clone(),
        ManualClock::at(start),
        SequentialTokens::new(),
        FixedBusy::default(),
    ));
    let starts = apart_slots(&bookings, &link, start).await;
    assert!(starts.len() >= 2 * AT_ONCE, "{} slots", starts.len());

    fill_with_ballast(&store).await;
    let during = book_all(&bookings, &link, &starts[..AT_ONCE]).await;
    let mut refused = 0;
    for outcome in &during {
        match outcome {
            Ok(()) => {}
            Err(BookError::Store(e)) if e.is_unavailable() => refused += 1,
            Err(other) => panic!("round {round}: not an unavailable store: {other:?}"),
        }
    }
    assert!(refused > 0, "round {round}: the full disk refused nothing");
    eprintln!("round {round}: the full disk refused {refused} of {AT_ONCE} bookings");

    sqlx::query("delete from ballast")
        .execute(store.pool())
        .await
        .expect("make room");
    let after = book_all(&bookings, &link, &starts[AT_ONCE..2 * AT_ONCE]).await;
    let failed: Vec<_> = after.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "round {round}: {} of {AT_ONCE} bookings failed after room was made: {failed:?}",
        failed.len()
    );

    let delivered = drain(&store, start + TimeDelta::days(30)).await;
    let twice: Vec<_> = delivered.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "round {round}: delivered twice: {twice:?}"
    );
    let (total, pending): (i64, i64) = sqlx::query_as(
        "select count(*), count(case when delivered_at is null then 1 end) from outbox",
    )
    .fetch_one(store.pool())
    .await
    .expect("outbox counts");
    assert_eq!(pending, 0, "round {round}: entries stuck in the outbox");
    assert_eq!(usize::try_from(total).expect("count"), delivered.len());
    eprintln!("round {round}: {total} outbox entries delivered once each");
    store.pool().close().await;
}

/// Offered starts far enough apart that no two bookings overlap (30 minutes plus a
/// 10-minute buffer, on a 15-minute grid).
async fn apart_slots(
    bookings: &Bookings,
    link: &booking_core::link::BookingLink,
    from: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let window = TimeRange::new(from, from + TimeDelta::days(4)).expect("window");
    let slots = bookings
        .available_slots(link.slug(), window)
        .await
        .expect("slots");
    let mut starts: Vec<DateTime<Utc>> = Vec::new();
    for slot in slots {
        if starts
            .last()
            .is_none_or(|last| slot.start() >= *last + TimeDelta::minutes(45))
        {
            starts.push(slot.start());
        }
    }
    starts
}

/// Fills the file up to its page limit with a table of the test's own.
async fn fill_with_ballast(store: &SqliteStore) {
    sqlx::query("create table ballast (b blob not null)")
        .execute(store.pool())
        .await
        .expect("ballast table");
    for _ in 0..=HEADROOM_PAGES {
        let filled = sqlx::query("insert into ballast (b) values (randomblob(3500))")
            .execute(store.pool())
            .await;
        if let Err(e) = filled {
            let code = e.as_database_error().and_then(|d| d.code());
            assert_eq!(code.as_deref(), Some("13"), "filling: {e}");
            return;
        }
    }
    panic!("the page limit never filled up");
}

async fn book_all(
    bookings: &Arc<Bookings>,
    link: &booking_core::link::BookingLink,
    starts: &[DateTime<Utc>],
) -> Vec<Result<(), BookError>> {
    let tasks: Vec<_> = starts
        .iter()
        .map(|&start| {
            let bookings = bookings.clone();
            let slug = link.slug().clone();
            tokio::spawn(async move { bookings.book(&slug, request(start)).await.map(|_| ()) })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("booking task"));
    }
    outcomes
}

/// Delivers every entry due at `until` the way a worker does: claim with a one-minute lease,
/// deliver (count it), mark delivered. The clock moves on two minutes per round, so an entry
/// whose outcome could not be recorded comes back and is counted again.
async fn drain(store: &SqliteStore, until: DateTime<Utc>) -> HashMap<String, u32> {
    let mut delivered: HashMap<String, u32> = HashMap::new();
    let mut now = until;
    for _ in 0..50 {
        let batch = store
            .claim_due(now, TimeDelta::minutes(1), 10)
            .await
            .expect("claiming outbox entries");
        if batch.is_empty() {
            return delivered;
        }
        for entry in batch {
            *delivered.entry(entry.key.clone()).or_default() += 1;
            store
                .mark_delivered(&entry.key, now)
                .await
                .expect("marking delivered");
        }
        now += TimeDelta::minutes(2);
    }
    panic!("the outbox never drained");
}

fn request(start: DateTime<Utc>) -> BookingRequest {
    BookingRequest {
        start,
        invitee: Invitee::new(
            PersonName::parse("Ann Example").expect("name"),
            Email::parse("ann@example.org").expect("email"),
            None,
            TimeZoneName::parse("Europe/Paris").expect("zone"),
        ),
        answers: Answers::default(),
        tracking: Tracking::default(),
    }
}
