//! The read cache: answers come from memory until a change, a notification or the time to live
//! says otherwise, and a commit made through it is seen by the very next read.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::*;
use crate::Scheduler;
use crate::availability::{AvailabilityRules, DayPeriod, RulesDraft};
use crate::invitee::{Answers, Email, Invitee, PersonName, Tracking};
use crate::link::LinkSettings;
use crate::service::BookingRequest;
use crate::testkit::{CountedReads, FixedBusy, InMemoryStore, ManualClock, SequentialTokens};
use crate::time::TimeZoneName;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("{s}:00Z"))
        .expect("time")
        .with_timezone(&Utc)
}

fn host() -> Host {
    Host::new(
        HostId::from_uuid(Uuid::from_u128(0x4001)),
        PersonName::parse("Hanna Host").expect("name"),
        Email::parse("hanna@example.com").expect("email"),
        TimeZoneName::parse("UTC").expect("zone"),
    )
}

fn link(host: HostId, title: &str) -> BookingLink {
    let rules = RulesDraft::weekdays(
        TimeZoneName::parse("UTC").expect("zone"),
        DayPeriod::parse("09:00-17:00").expect("period"),
        TimeDelta::minutes(30),
    );
    let settings = LinkSettings {
        title: title.to_owned(),
        rules: AvailabilityRules::new(rules).expect("rules"),
        reconfirmation: None,
        create_deal: false,
        questions: Vec::new(),
    };
    BookingLink::new(
        LinkId::from_uuid(Uuid::from_u128(0x1001)),
        host,
        Slug::parse("intro").expect("slug"),
        settings,
    )
    .expect("link")
}

fn request(start: DateTime<Utc>) -> BookingRequest {
    BookingRequest {
        start,
        invitee: Invitee::new(
            PersonName::parse("Ada Attendee").expect("name"),
            Email::parse("ada@example.org").expect("email"),
            None,
            TimeZoneName::parse("UTC").expect("zone"),
        ),
        answers: Answers::default(),
        tracking: Tracking::default(),
    }
}

/// Counts how often each cached read reaches the store.
type Counted = CountedReads<InMemoryStore>;

struct Fixture {
    raw: Counted,
    cached: Arc<CachedStore<Counted, ManualClock>>,
    clock: ManualClock,
    scheduler:
        Scheduler<Arc<CachedStore<Counted, ManualClock>>, ManualClock, SequentialTokens, FixedBusy>,
    /// A second scheduler straight on the store: "another instance" writing past this cache.
    elsewhere: Scheduler<Counted, ManualClock, SequentialTokens, FixedBusy>,
}

async fn fixture() -> Fixture {
    let raw = Counted::default();
    let clock = ManualClock::at(t("2027-03-01T07:00"));
    let tokens = SequentialTokens::new();
    let host = host();
    raw.save_host(&host).await.expect("host");
    raw.save_link(&link(host.id(), "Intro call"))
        .await
        .expect("link");
    let cached = Arc::new(CachedStore::new(
        raw.clone(),
        clock.clone(),
        Arc::new(ReadCache::new()),
        None,
    ));
    Fixture {
        scheduler: Scheduler::new(
            cached.clone(),
            clock.clone(),
            tokens.clone(),
            FixedBusy::default(),
        ),
        elsewhere: Scheduler::new(raw.clone(), clock.clone(), tokens, FixedBusy::default()),
        raw,
        cached,
        clock,
    }
}

fn monday() -> TimeRange {
    TimeRange::new(t("2027-03-01T00:00"), t("2027-03-02T00:00")).expect("range")
}

fn slug() -> Slug {
    Slug::parse("intro").expect("slug")
}

#[tokio::test]
async fn repeated_slot_answers_read_the_store_once() {
    let f = fixture().await;
    let first = f
        .scheduler
        .available_slots(&slug(), monday())
        .await
        .expect("slots");
    let again = f
        .scheduler
        .available_slots(&slug(), monday())
        .await
        .expect("slots");
    assert_eq!(first, again);
    assert_eq!(first.len(), 16);
    assert_eq!(f.raw.busy_reads(), 1);
    assert_eq!(f.raw.link_reads(), 1);
}

#[tokio::test]
async fn a_booking_committed_here_is_gone_from_the_next_answer() {
    let f = fixture().await;
    let before = f
        .scheduler
        .available_slots(&slug(), monday())
        .await
        .expect("slots");
    // Written past the cache: this process cannot know yet (the time to live covers it).
    let elsewhere = f
        .elsewhere
        .book(&slug(), request(before[0].start()))
        .await
        .expect("book");
    let stale = f
        .scheduler
        .available_slots(&slug(), monday())
        .await
        .expect("slots");
    assert!(stale.contains(&elsewhere.slot()), "the cache answered");
    // Written through the cache: the very next answer leaves the slot out.
    let here = f
        .scheduler
        .book(&slug(), request(before[1].start()))
        .await
        .expect("book");
    let after = f
        .scheduler
        .available_slots(&slug(), monday())
        .await
        .expect("slots");
    assert!(!after.contains(&here.slot()));
    assert!(!after.contains(&elsewhere.slot()));
    assert_eq!(after.len(), before.len() - 2);
}

#[tokio::test]
async fn an_announced_change_drops_the_hosts_busy_ranges() {
    let f = fixture().await;
    let before = f
        .scheduler
        .available_slots(&slug(), monday())
        .await
        .expect("slots");
    let booked = f
        .elsewhere
        .book(&slug(), request(before[3].start()))
        .await
        .expect("book");
    let payload = CacheChange::Bookings(host().id()).payload();
    f.cached
        .cache()
        .apply(CacheChange::parse(&payload).expect("payload"));
    let after = f
        .scheduler
        .available_slots(&slug(), monday())
        .await
        .expect("slots");
    assert!(!after.contains(&booked.slot()));
}

#[tokio::test]
async fn entries_expire_after_their_time_to_live() {
    let f = fixture().await;
    let before = f
        .scheduler
        .available_slots(&slug(), monday())
        .await
        .expect("slots");
    let booked = f
        .elsewhere
        .book(&slug(), request(before[5].start()))
        .await
        .expect("book");
    f.raw
        .save_link(&link(host().id(), "Renamed"))
        .await
        .expect("link");
    f.clock
        .advance(BUSY_TTL.min(LINK_TTL) - TimeDelta::milliseconds(1));
    let cached_link = f
        .cached
        .link_by_slug(&slug())
        .await
        .expect("link")
        .expect("some");
    assert_eq!(cached_link.title(), "Intro call");
    f.clock.advance(BUSY_TTL.max(LINK_TTL));
    let after = f
        .scheduler
        .available_slots(&slug(), monday())
        .await
        .expect("slots");
    assert!(!after.contains(&booked.slot()));
    let fresh = f
        .cached
        .link_by_slug(&slug())
        .await
        .expect("link")
        .expect("some");
    assert_eq!(fresh.title(), "Renamed");
}

#[tokio::test]
async fn a_link_saved_through_the_cache_is_read_back_at_once() {
    let f = fixture().await;
    f.cached.link_by_slug(&slug()).await.expect("link");
    f.cached
        .save_link(&link(host().id(), "Renamed"))
        .await
        .expect("save");
    let by_slug = f
        .cached
        .link_by_slug(&slug())
        .await
        .expect("link")
        .expect("some");
    let by_id = f
        .cached
        .link(by_slug.id())
        .await
        .expect("link")
        .expect("some");
    assert_eq!((by_slug.title(), by_id.title()), ("Renamed", "Renamed"));
}

#[tokio::test]
async fn a_read_that_raced_a_change_is_not_kept() {
    let f = fixture().await;
    let cache = f.cached.cache();
    // A read started, then a commit landed before the read stored its answer.
    let seen = cache.generation(Some(host().id()));
    cache.apply(CacheChange::Bookings(host().id()));
    let key = BusyKey {
        host: host().id(),
        window: monday(),
        except: None,
    };
    cache.keep_busy(key.clone(), Vec::new(), seen, f.clock.now());
    assert!(cache.busy(&key, f.clock.now()).is_none());
    let seen = cache.generation(Some(host().id()));
    cache.keep_busy(key.clone(), Vec::new(), seen, f.clock.now());
    assert_eq!(cache.busy(&key, f.clock.now()), Some(Vec::new()));
}

#[test]
fn windows_widen_to_whole_days() {
    let w = TimeRange::new(t("2027-03-01T07:13"), t("2027-03-08T07:13")).expect("range");
    assert_eq!(
        day_window(w),
        TimeRange::new(t("2027-03-01T00:00"), t("2027-03-09T00:00")).expect("range")
    );
    assert_eq!(day_window(monday()), monday());
}

#[test]
fn payloads_read_back() {
    let host = host().id();
    for change in [CacheChange::Bookings(host), CacheChange::Links(host)] {
        assert_eq!(CacheChange::parse(&change.payload()), Some(change));
    }
    assert_eq!(CacheChange::parse("x:nonsense"), None);
    assert_eq!(CacheChange::parse(""), None);
}

/// Records what is announced on it.
#[derive(Default)]
struct RecordingFeed {
    announced: std::sync::Mutex<Vec<CacheChange>>,
    commits_announce: bool,
}

#[async_trait]
impl ChangeFeed for RecordingFeed {
    async fn announce(&self, change: CacheChange) -> Result<(), StoreError> {
        self.announced.lock().expect("lock").push(change);
        Ok(())
    }

    fn commits_announce_bookings(&self) -> bool {
        self.commits_announce
    }
}

/// Books the first Monday slot through a cache announcing on `feed`; returns what was
/// announced and whether the booked slot was still offered right after.
async fn book_announcing_on(feed: Arc<RecordingFeed>) -> (Vec<CacheChange>, bool) {
    let f = fixture().await;
    let cached = Arc::new(CachedStore::new(
        f.raw.clone(),
        f.clock.clone(),
        Arc::new(ReadCache::new()),
        Some(feed.clone() as Arc<dyn ChangeFeed>),
    ));
    let scheduler = Scheduler::new(
        cached,
        f.clock.clone(),
        SequentialTokens::new(),
        FixedBusy::default(),
    );
    let before = scheduler
        .available_slots(&slug(), monday())
        .await
        .expect("slots");
    let booked = scheduler
        .book(&slug(), request(before[0].start()))
        .await
        .expect("book");
    let after = scheduler
        .available_slots(&slug(), monday())
        .await
        .expect("slots");
    let announced = feed.announced.lock().expect("lock").clone();
    (announced, after.contains(&booked.slot()))
}

#[tokio::test]
async fn a_commit_is_announced_unless_the_store_announces_its_own_commits() {
    let (announced, still_offered) = book_announcing_on(Arc::new(RecordingFeed::default())).await;
    assert_eq!(announced, vec![CacheChange::Bookings(host().id())]);
    assert!(!still_offered);

    let (announced, still_offered) = book_announcing_on(Arc::new(RecordingFeed {
        commits_announce: true,
        ..RecordingFeed::default()
    }))
    .await;
    assert_eq!(announced, Vec::new(), "the store's commit announced it");
    assert!(
        !still_offered,
        "this process's cache is dropped all the same"
    );
}

/// Books the first Monday slot through `scheduler` and returns the booking's token text.
async fn booked_token<S: BookingStore, C: Clock>(
    scheduler: &Scheduler<S, C, SequentialTokens, FixedBusy>,
) -> (Booking, String) {
    let slots = scheduler
        .available_slots(&slug(), monday())
        .await
        .expect("slots");
    let booking = scheduler
        .book(&slug(), request(slots[0].start()))
        .await
        .expect("book");
    let token = booking.token().expose().to_owned();
    (booking, token)
}

#[tokio::test]
async fn a_shown_booking_is_read_once_and_dropped_by_a_commit_here() {
    let f = fixture().await;
    let (_, token) = booked_token(&f.scheduler).await;
    let lookups = || f.raw.inner.token_lookups();
    let start = lookups();
    let first = f.scheduler.booking_to_show(&token).await.expect("shown");
    let again = f.scheduler.booking_to_show(&token).await.expect("shown");
    assert_eq!(first, again);
    assert_eq!(
        lookups(),
        start + 1,
        "the second page was answered from memory"
    );
    // What writes looks the token up afresh every time.
    f.scheduler.booking_by_token(&token).await.expect("row");
    assert_eq!(lookups(), start + 2);
    f.scheduler.cancel(&token, None).await.expect("cancel");
    let shown = f.scheduler.booking_to_show(&token).await.expect("shown");
    assert!(
        shown.cancellation().is_some(),
        "the commit dropped the kept row"
    );
}

#[tokio::test]
async fn a_shown_booking_follows_announced_changes_and_its_time_to_live() {
    let f = fixture().await;
    let (_, token) = booked_token(&f.elsewhere).await;
    let shown = f.scheduler.booking_to_show(&token).await.expect("shown");
    assert!(shown.cancellation().is_none());
    // Cancelled by another instance: this one shows the kept row until it is told.
    f.elsewhere.cancel(&token, None).await.expect("cancel");
    let stale = f.scheduler.booking_to_show(&token).await.expect("shown");
    assert!(stale.cancellation().is_none(), "the cache answered");
    f.cached.cache().apply(CacheChange::Bookings(host().id()));
    let told = f.scheduler.booking_to_show(&token).await.expect("shown");
    assert!(told.cancellation().is_some());
    // With no notification, the time to live ends it.
    let (_, other) = booked_token(&f.elsewhere).await;
    f.scheduler.booking_to_show(&other).await.expect("shown");
    f.elsewhere.cancel(&other, None).await.expect("cancel");
    f.clock.advance(TOKEN_TTL);
    let expired = f.scheduler.booking_to_show(&other).await.expect("shown");
    assert!(expired.cancellation().is_some());
}

#[tokio::test]
async fn a_token_read_that_raced_any_change_of_bookings_is_not_kept() {
    let f = fixture().await;
    let (booking, token) = booked_token(&f.scheduler).await;
    let hash = RescheduleToken::parse(&token).expect("token").lookup_hash();
    let cache = f.cached.cache();
    // The host is unknown before the read, so a change of any host's bookings counts.
    let seen = cache.booking_changes();
    cache.apply(CacheChange::Bookings(HostId::from_uuid(Uuid::from_u128(
        0x4002,
    ))));
    cache.keep_shown_booking(hash, &booking, seen, f.clock.now());
    assert!(cache.shown_booking(&hash, f.clock.now()).is_none());
    let seen = cache.booking_changes();
    cache.keep_shown_booking(hash, &booking, seen, f.clock.now());
    assert_eq!(
        cache.shown_booking(&hash, f.clock.now()),
        Some(booking.clone())
    );
    // A reconfirmation request written outside a commit drops the row too.
    f.cached
        .record_reconfirmation_request(booking.id(), f.clock.now())
        .await
        .expect("recorded");
    assert!(cache.shown_booking(&hash, f.clock.now()).is_none());
}
