//! A read-through cache in front of a [`BookingStore`]: links, hosts, busy ranges and the
//! bookings token pages show, kept in process memory so the pages and the slots API do not ask
//! the database for what has not changed.
//!
//! How it stays correct:
//!
//! - **In this process**, every write that goes through [`CachedStore`] (a commit, a saved
//!   link or host) drops what it touched before it returns, so the next read after a commit
//!   asks the database again: a slot booked here is never offered here afterwards.
//! - **Across instances**, [`CachedStore`] announces each change on a [`ChangeFeed`] (Postgres:
//!   `NOTIFY slotkeeper_busy`), and a listener in every instance calls
//!   [`ReadCache::apply`]; staleness is bounded by the notification's delivery.
//! - **As a backstop**, every entry lives at most [`LINK_TTL`] / [`BUSY_TTL`] (read off the
//!   [`Clock`] port), so a missed notification (a listener reconnecting, a second process on
//!   one SQLite file, a write made without the cache) is stale for a few seconds at most.
//! - **Races**: a read that began before a change and ends after it must not store what it
//!   read. Every change raises a generation (per host for bookings, global for links); a read
//!   stores its answer only when the generation it started under is still current.
//!
//! Commits stay guarded by the store itself (the exclusion constraint, the overlap check): a
//! stale busy range can at worst offer a slot that the commit then refuses, never let a double
//! booking through.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::booking::Booking;
use crate::ids::{BookingId, ChainId, HostId, LinkId};
use crate::link::{BookingLink, Host, Slug};
use crate::ports::{
    BookingStore, Change, Clock, CommitError, DashboardPage, DashboardTab, DeadEntry, Page,
    PendingEntry, SaveLinkError, StoreError,
};
use crate::time::TimeRange;
use crate::token::RescheduleToken;

/// Longest a cached link or host is used without asking the database again.
pub const LINK_TTL: TimeDelta = TimeDelta::seconds(3);
/// Longest cached busy ranges are used when no change notification arrived.
pub const BUSY_TTL: TimeDelta = TimeDelta::seconds(3);
/// Most windows of busy ranges kept at once; past it the busy cache starts over.
const MAX_BUSY_WINDOWS: usize = 4096;
/// Most links kept at once; past it the link cache starts over.
const MAX_LINKS: usize = 4096;
/// Longest a booking shown by token is used when no change notification arrived.
pub const TOKEN_TTL: TimeDelta = TimeDelta::seconds(3);
/// Most bookings kept by token at once; past it the token cache starts over.
const MAX_TOKENS: usize = 4096;

/// What changed, as announced to the other instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheChange {
    /// A host's bookings changed: its busy ranges are stale.
    Bookings(HostId),
    /// A host or one of its links changed.
    Links(HostId),
}

impl CacheChange {
    /// The text sent on the feed: `b:<host uuid>` or `l:<host uuid>`.
    pub fn payload(&self) -> String {
        match self {
            Self::Bookings(host) => format!("b:{}", host.as_uuid()),
            Self::Links(host) => format!("l:{}", host.as_uuid()),
        }
    }

    /// Reads a payload back; `None` for anything else.
    pub fn parse(payload: &str) -> Option<Self> {
        let (kind, id) = payload.split_once(':')?;
        let host = HostId::from_uuid(uuid::Uuid::parse_str(id).ok()?);
        match kind {
            "b" => Some(Self::Bookings(host)),
            "l" => Some(Self::Links(host)),
            _ => None,
        }
    }
}

/// Where a change is announced to the other instances sharing the database.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Announces `change`.
    ///
    /// # Errors
    /// [`StoreError`] when the announcement could not be sent (the caller's change is already
    /// committed; the others then catch up within the cache's time to live).
    async fn announce(&self, change: CacheChange) -> Result<(), StoreError>;

    /// Whether the store's commits announce [`CacheChange::Bookings`] of the hosts they write
    /// themselves, inside the commit (Postgres: a `NOTIFY` in the commit's one statement, sent
    /// when and only when it commits), so that [`CachedStore`] does not announce them again —
    /// one round trip less per write. Defaults to `false`.
    fn commits_announce_bookings(&self) -> bool {
        false
    }
}

#[derive(Debug, Clone)]
struct Timed<T> {
    value: T,
    at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct BusyKey {
    host: HostId,
    window: TimeRange,
    except: Option<ChainId>,
}

#[derive(Debug, Default)]
struct Entries {
    links_by_slug: HashMap<Slug, Timed<BookingLink>>,
    links_by_id: HashMap<LinkId, Timed<BookingLink>>,
    hosts: HashMap<HostId, Timed<Host>>,
    busy: HashMap<BusyKey, Timed<Vec<TimeRange>>>,
    /// Raised by every change of a host's bookings.
    host_generations: HashMap<HostId, u64>,
    /// Raised by every change of any link or host, and by [`ReadCache::forget_all`].
    epoch: u64,
    /// Bookings shown by token (keyed by the token's lookup hash), each with its host's
    /// bookings generation when it was read.
    tokens: HashMap<[u8; 32], Timed<(Booking, u64)>>,
    /// Raised by every change of any host's bookings and by [`ReadCache::forget_all`].
    booking_changes: u64,
}

/// The cached reads, shared by every [`CachedStore`] of a process and by the listener that
/// applies other instances' changes.
#[derive(Debug, Default)]
pub struct ReadCache {
    entries: Mutex<Entries>,
}

/// The generations an answer cached beside this one was built under (see [`answers`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    epoch: u64,
    host: u64,
}

/// What a read saw before it asked the database.
#[derive(Debug, Clone, Copy)]
struct Generation {
    epoch: u64,
    host: u64,
}

impl ReadCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // The entries are only ever replaced whole; a panic elsewhere leaves them usable.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies a change made here or announced by another instance.
    pub fn apply(&self, change: CacheChange) {
        let mut e = self.lock();
        match change {
            CacheChange::Bookings(host) => {
                *e.host_generations.entry(host).or_default() += 1;
                e.booking_changes += 1;
                e.busy.retain(|k, _| k.host != host);
                e.tokens.retain(|_, t| t.value.0.host() != host);
            }
            CacheChange::Links(host) => {
                e.epoch += 1;
                e.links_by_slug.retain(|_, l| l.value.host() != host);
                e.links_by_id.retain(|_, l| l.value.host() != host);
                e.hosts.remove(&host);
            }
        }
    }

    /// The links' epoch, to be read before the link an answer is built from (see
    /// [`answers::Answers`]).
    pub fn links_epoch(&self) -> u64 {
        self.lock().epoch
    }

    /// What an answer about `host`'s link built from now on is computed under: `epoch` (read
    /// before the link was) and the host's current bookings generation.
    pub fn stamp(&self, epoch: u64, host: HostId) -> Stamp {
        Stamp {
            epoch,
            host: self
                .lock()
                .host_generations
                .get(&host)
                .copied()
                .unwrap_or(0),
        }
    }

    /// Whether nothing an answer stamped `stamp` for `host` was built from has changed since.
    pub fn is_current(&self, host: HostId, stamp: Stamp) -> bool {
        let e = self.lock();
        e.epoch == stamp.epoch && e.host_generations.get(&host).copied().unwrap_or(0) == stamp.host
    }

    /// Drops everything (a change feed reconnected: what it missed is unknown).
    pub fn forget_all(&self) {
        let mut e = self.lock();
        e.epoch += 1;
        e.booking_changes += 1;
        e.tokens.clear();
        let hosts: Vec<HostId> = e.host_generations.keys().copied().collect();
        for host in hosts {
            *e.host_generations.entry(host).or_default() += 1;
        }
        e.links_by_slug.clear();
        e.links_by_id.clear();
        e.hosts.clear();
        e.busy.clear();
    }

    fn generation(&self, host: Option<HostId>) -> Generation {
        let e = self.lock();
        Generation {
            epoch: e.epoch,
            host: host
                .and_then(|h| e.host_generations.get(&h).copied())
                .unwrap_or(0),
        }
    }

    fn fresh<T: Clone>(entry: Option<&Timed<T>>, now: DateTime<Utc>, ttl: TimeDelta) -> Option<T> {
        entry
            .filter(|t| now >= t.at && now - t.at < ttl)
            .map(|t| t.value.clone())
    }

    fn link_by_slug(&self, slug: &Slug, now: DateTime<Utc>) -> Option<BookingLink> {
        Self::fresh(self.lock().links_by_slug.get(slug), now, LINK_TTL)
    }

    fn link(&self, id: LinkId, now: DateTime<Utc>) -> Option<BookingLink> {
        Self::fresh(self.lock().links_by_id.get(&id), now, LINK_TTL)
    }

    fn host(&self, id: HostId, now: DateTime<Utc>) -> Option<Host> {
        Self::fresh(self.lock().hosts.get(&id), now, LINK_TTL)
    }

    fn keep_link(&self, link: &BookingLink, seen: Generation, at: DateTime<Utc>) {
        let mut e = self.lock();
        if e.epoch != seen.epoch {
            return;
        }
        if e.links_by_id.len() >= MAX_LINKS {
            e.links_by_id.clear();
            e.links_by_slug.clear();
        }
        let timed = Timed {
            value: link.clone(),
            at,
        };
        e.links_by_slug.insert(link.slug().clone(), timed.clone());
        e.links_by_id.insert(link.id(), timed);
    }

    fn keep_host(&self, host: &Host, seen: Generation, at: DateTime<Utc>) {
        let mut e = self.lock();
        if e.epoch != seen.epoch {
            return;
        }
        if e.hosts.len() >= MAX_LINKS {
            e.hosts.clear();
        }
        e.hosts.insert(
            host.id(),
            Timed {
                value: host.clone(),
                at,
            },
        );
    }

    fn busy(&self, key: &BusyKey, now: DateTime<Utc>) -> Option<Vec<TimeRange>> {
        Self::fresh(self.lock().busy.get(key), now, BUSY_TTL)
    }

    fn keep_busy(&self, key: BusyKey, ranges: Vec<TimeRange>, seen: Generation, at: DateTime<Utc>) {
        let mut e = self.lock();
        let current = e.host_generations.get(&key.host).copied().unwrap_or(0);
        if e.epoch != seen.epoch || current != seen.host {
            return;
        }
        if e.busy.len() >= MAX_BUSY_WINDOWS {
            e.busy.clear();
        }
        e.busy.insert(key, Timed { value: ranges, at });
    }
}

impl ReadCache {
    /// The booking of the token hashed `hash`, if kept, fresh and its host's bookings have not
    /// changed since it was read.
    fn shown_booking(&self, hash: &[u8; 32], now: DateTime<Utc>) -> Option<Booking> {
        let e = self.lock();
        let (booking, generation) = Self::fresh(e.tokens.get(hash), now, TOKEN_TTL)?;
        let current = e
            .host_generations
            .get(&booking.host())
            .copied()
            .unwrap_or(0);
        (current == generation).then_some(booking)
    }

    /// How many changes of bookings this cache has seen, read before a token lookup.
    fn booking_changes(&self) -> u64 {
        self.lock().booking_changes
    }

    /// Keeps `booking`, read by the token hashed `hash`, unless any host's bookings changed
    /// since `seen` (the host was not known before the read, so any change counts).
    fn keep_shown_booking(&self, hash: [u8; 32], booking: &Booking, seen: u64, at: DateTime<Utc>) {
        let mut e = self.lock();
        if e.booking_changes != seen {
            return;
        }
        if e.tokens.len() >= MAX_TOKENS {
            e.tokens.clear();
        }
        let generation = e
            .host_generations
            .get(&booking.host())
            .copied()
            .unwrap_or(0);
        e.tokens.insert(
            hash,
            Timed {
                value: (booking.clone(), generation),
                at,
            },
        );
    }

    /// Drops the kept rows of `booking` (a write outside a commit touched it).
    fn forget_shown_booking(&self, booking: BookingId) {
        self.lock().tokens.retain(|_, t| t.value.0.id() != booking);
    }
}

/// The window busy ranges are fetched and cached for: `within` widened to whole UTC days, so
/// requests for nearby windows (the slots API asked from "now") share one entry.
fn day_window(within: TimeRange) -> TimeRange {
    let day = TimeDelta::days(1);
    let floor = |t: DateTime<Utc>| {
        let secs = t.timestamp().div_euclid(day.num_seconds()) * day.num_seconds();
        DateTime::from_timestamp(secs, 0).unwrap_or(t)
    };
    let start = floor(within.start());
    let end = floor(within.end() - TimeDelta::nanoseconds(1)) + day;
    TimeRange::new(start, end).unwrap_or(within)
}

/// A [`BookingStore`] that answers link, host and busy-range reads from a [`ReadCache`] and
/// passes everything else to `store`; its writes drop what they touched and are announced on
/// the feed.
pub struct CachedStore<S, C> {
    store: S,
    clock: C,
    cache: Arc<ReadCache>,
    feed: Option<Arc<dyn ChangeFeed>>,
}

impl<S, C> std::fmt::Debug for CachedStore<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedStore").finish_non_exhaustive()
    }
}

impl<S: BookingStore, C: Clock> CachedStore<S, C> {
    /// `store` behind `cache`, entries timed by `clock`, changes announced on `feed` (`None`:
    /// this process is the only one, or the others rely on the time to live).
    pub fn new(
        store: S,
        clock: C,
        cache: Arc<ReadCache>,
        feed: Option<Arc<dyn ChangeFeed>>,
    ) -> Self {
        Self {
            store,
            clock,
            cache,
            feed,
        }
    }

    /// The cache, for a listener applying other instances' changes.
    pub fn cache(&self) -> &Arc<ReadCache> {
        &self.cache
    }

    /// Drops what `change` made stale here, then tells the others. A failed announcement does
    /// not undo a committed change: the others catch up within the time to live.
    async fn changed(&self, change: CacheChange) {
        self.cache.apply(change);
        if let Some(feed) = &self.feed {
            let _ = feed.announce(change).await;
        }
    }
}

#[async_trait]
impl<S: BookingStore, C: Clock> BookingStore for CachedStore<S, C> {
    async fn save_host(&self, host: &Host) -> Result<(), StoreError> {
        let saved = self.store.save_host(host).await;
        self.changed(CacheChange::Links(host.id())).await;
        saved
    }

    async fn host(&self, id: HostId) -> Result<Option<Host>, StoreError> {
        let now = self.clock.now();
        if let Some(host) = self.cache.host(id, now) {
            return Ok(Some(host));
        }
        let seen = self.cache.generation(None);
        let host = self.store.host(id).await?;
        if let Some(h) = &host {
            self.cache.keep_host(h, seen, now);
        }
        Ok(host)
    }

    async fn save_link(&self, link: &BookingLink) -> Result<(), SaveLinkError> {
        let saved = self.store.save_link(link).await;
        self.changed(CacheChange::Links(link.host())).await;
        saved
    }

    async fn link_by_slug(&self, slug: &Slug) -> Result<Option<BookingLink>, StoreError> {
        let now = self.clock.now();
        if let Some(link) = self.cache.link_by_slug(slug, now) {
            return Ok(Some(link));
        }
        let seen = self.cache.generation(None);
        let link = self.store.link_by_slug(slug).await?;
        if let Some(l) = &link {
            self.cache.keep_link(l, seen, now);
        }
        Ok(link)
    }

    async fn link(&self, id: LinkId) -> Result<Option<BookingLink>, StoreError> {
        let now = self.clock.now();
        if let Some(link) = self.cache.link(id, now) {
            return Ok(Some(link));
        }
        let seen = self.cache.generation(None);
        let link = self.store.link(id).await?;
        if let Some(l) = &link {
            self.cache.keep_link(l, seen, now);
        }
        Ok(link)
    }

    async fn booking(&self, id: BookingId) -> Result<Option<Booking>, StoreError> {
        self.store.booking(id).await
    }

    async fn booking_by_token(
        &self,
        token: &RescheduleToken,
    ) -> Result<Option<Booking>, StoreError> {
        self.store.booking_by_token(token).await
    }

    async fn booking_by_token_to_show(
        &self,
        token: &RescheduleToken,
    ) -> Result<Option<Booking>, StoreError> {
        let now = self.clock.now();
        let hash = token.lookup_hash();
        if let Some(booking) = self.cache.shown_booking(&hash, now) {
            return Ok(Some(booking));
        }
        let seen = self.cache.booking_changes();
        let booking = self.store.booking_by_token(token).await?;
        if let Some(b) = &booking {
            self.cache.keep_shown_booking(hash, b, seen, now);
        }
        Ok(booking)
    }

    async fn booking_by_provider_event(
        &self,
        provider: &str,
        event_id: &str,
    ) -> Result<Option<Booking>, StoreError> {
        self.store
            .booking_by_provider_event(provider, event_id)
            .await
    }

    async fn chain(&self, chain: ChainId) -> Result<Vec<Booking>, StoreError> {
        self.store.chain(chain).await
    }

    async fn blocked_ranges(
        &self,
        host: HostId,
        within: TimeRange,
        except: Option<ChainId>,
    ) -> Result<Vec<TimeRange>, StoreError> {
        let now = self.clock.now();
        let key = BusyKey {
            host,
            window: day_window(within),
            except,
        };
        let ranges = match self.cache.busy(&key, now) {
            Some(ranges) => ranges,
            None => {
                let seen = self.cache.generation(Some(host));
                let ranges = self.store.blocked_ranges(host, key.window, except).await?;
                self.cache.keep_busy(key, ranges.clone(), seen, now);
                ranges
            }
        };
        Ok(ranges.into_iter().filter(|r| r.overlaps(&within)).collect())
    }

    async fn dashboard(
        &self,
        host: HostId,
        tab: DashboardTab,
        now: DateTime<Utc>,
        page: Page,
    ) -> Result<DashboardPage, StoreError> {
        self.store.dashboard(host, tab, now, page).await
    }

    async fn reconfirmation_overdue(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Booking>, StoreError> {
        self.store.reconfirmation_overdue(now, limit).await
    }

    async fn dead_effects(&self, booking: BookingId) -> Result<Vec<DeadEntry>, StoreError> {
        self.store.dead_effects(booking).await
    }

    async fn pending_effects(&self, booking: BookingId) -> Result<Vec<PendingEntry>, StoreError> {
        self.store.pending_effects(booking).await
    }

    async fn record_reconfirmation_request(
        &self,
        booking: BookingId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let recorded = self.store.record_reconfirmation_request(booking, at).await;
        self.cache.forget_shown_booking(booking);
        recorded
    }

    async fn commit(&self, change: Change) -> Result<(), CommitError> {
        let mut hosts: Vec<HostId> = change.writes.iter().map(|w| w.booking().host()).collect();
        hosts.sort_unstable();
        hosts.dedup();
        let committed = self.store.commit(change).await;
        // A refused commit wrote nothing; a failed one may have been written before its answer
        // was lost, so it counts as a change.
        if !matches!(
            committed,
            Err(CommitError::SlotTaken | CommitError::VersionConflict(_))
        ) {
            let announced = self
                .feed
                .as_ref()
                .is_some_and(|feed| feed.commits_announce_bookings());
            for host in hosts {
                if announced {
                    self.cache.apply(CacheChange::Bookings(host));
                } else {
                    self.changed(CacheChange::Bookings(host)).await;
                }
            }
        }
        committed
    }
}

pub mod answers;

#[cfg(test)]
mod tests;
