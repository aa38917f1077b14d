//! booking-core's read cache across two instances on one database: a booking committed
//! through one instance's cache is seen by that instance at once and by the other once the
//! `NOTIFY` on `slotkeeper_busy` arrives — the commit's own, sent by its statement even
//! when it went past every cache. The clock never moves, so only a notification (not the time
//! to live) can refresh the other instance's answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use booking_core::booking::{Booking, NewBooking};
use booking_core::invitee::{Answers, Email, Invitee, PersonName, Tracking};
use booking_core::ports::{BookingStore, Change};
use booking_core::read_cache::{CacheChange, CachedStore, ChangeFeed, ReadCache};
use booking_core::testkit::conformance::StoreFactory;
use booking_core::testkit::{ManualClock, model};
use booking_core::token::RescheduleToken;
use booking_core::{BookingId, TimeRange, TimeZoneName};
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use store_postgres::PostgresStore;

use crate::{PgDatabases, SEAL_KEY};

type Cached = CachedStore<PostgresStore, ManualClock>;

/// An instance: its own pool, cache and listener.
async fn instance(options: &PgConnectOptions, clock: &ManualClock) -> (PostgresStore, Cached) {
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options.clone())
        .await
        .expect("connect");
    let store = PostgresStore::from_pool(pool, SEAL_KEY)
        .await
        .expect("store");
    let cache = Arc::new(ReadCache::new());
    let listening = store.clone();
    let applied = cache.clone();
    tokio::spawn(async move { listening.follow_changes(&applied).await });
    let cached = CachedStore::new(
        store.clone(),
        clock.clone(),
        cache,
        Some(Arc::new(store.clone()) as Arc<dyn ChangeFeed>),
    );
    (store, cached)
}

fn booking(link: &booking_core::link::BookingLink, start: DateTime<Utc>, n: u128) -> Change {
    let slot = TimeRange::new(start, start + TimeDelta::minutes(30)).expect("slot");
    let transition = Booking::confirmed(NewBooking {
        id: BookingId::from_uuid(uuid::Uuid::from_u128((0xca << 120) | n)),
        host: link.host(),
        link: link.id(),
        slot,
        blocked: slot,
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

/// Reads `cached`'s busy ranges until `slot` is among them, for at most ten seconds; `poke`
/// runs before each try.
async fn until_seen<F, Fut>(
    cached: &Cached,
    window: TimeRange,
    slot: TimeRange,
    mut poke: F,
) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        poke().await;
        let host = model::fixture().0.id();
        let busy = cached
            .blocked_ranges(host, window, None)
            .await
            .expect("busy");
        if busy.contains(&slot) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_reaches_the_other_instances_cache_by_notify() {
    let databases = PgDatabases::new();
    let options = databases.create().await;
    let (host, link, start) = model::fixture();
    let clock = ManualClock::at(start - TimeDelta::days(2));
    let (a, cached_a) = instance(&options, &clock).await;
    let (_b, cached_b) = instance(&options, &clock).await;
    a.save_host(&host).await.expect("host");
    a.save_link(&link).await.expect("link");
    let window = TimeRange::new(start, start + TimeDelta::days(1)).expect("window");
    let empty = cached_b
        .blocked_ranges(host.id(), window, None)
        .await
        .expect("busy");
    assert_eq!(empty, Vec::new());

    // Written past every cache: B keeps its answer until told (or until its listener starts,
    // which drops everything). Announcing until B sees it waits for the listener too.
    let first = booking(&link, start, 1);
    let first_slot = first.writes[0].booking().blocked();
    a.commit(first).await.expect("commit");
    let announce = || async {
        a.announce(CacheChange::Bookings(host.id()))
            .await
            .expect("notify");
    };
    assert!(until_seen(&cached_b, window, first_slot, announce).await);

    // Committed through A's cache: A sees it at once, B after A's own notification.
    let before_a = cached_a
        .blocked_ranges(host.id(), window, None)
        .await
        .expect("busy");
    assert_eq!(before_a, vec![first_slot]);
    let second = booking(&link, start + TimeDelta::hours(2), 2);
    let second_slot = second.writes[0].booking().blocked();
    cached_a.commit(second).await.expect("commit");
    let after_a = cached_a
        .blocked_ranges(host.id(), window, None)
        .await
        .expect("busy");
    assert_eq!(after_a, vec![first_slot, second_slot]);
    assert!(until_seen(&cached_b, window, second_slot, || async {}).await);

    // Written past every cache again, now that B listens: the commit's own statement
    // notifies, with no announcement from anyone.
    let third = booking(&link, start + TimeDelta::hours(4), 3);
    let third_slot = third.writes[0].booking().blocked();
    a.commit(third).await.expect("commit");
    assert!(until_seen(&cached_b, window, third_slot, || async {}).await);
    databases.finish().await;
}
