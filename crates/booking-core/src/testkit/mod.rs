//! In-memory adapters for tests, also for people embedding the crate: a store, a clock you
//! set by hand, sequential tokens, and fixed external busy times. Enabled by the `testkit`
//! feature.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::booking::{Booking, Status, Write};
use crate::effects::PlannedEffect;
use crate::ids::{BookingId, ChainId, HostId, LinkId};
use crate::link::{BookingLink, Host, Slug};
use crate::ports::{
    BookingStore, BusyCalendar, BusyCalendarError, Change, Clock, CommitError, DashboardPage,
    DashboardTab, Page, SaveLinkError, StoreError, TabCounts, TokenSource,
};
use crate::time::TimeRange;
use crate::token::RescheduleToken;

mod accounts;
pub mod attempts_conformance;
mod calendar;
pub use calendar::InMemoryCalendar;
pub mod conformance;
mod counted;
pub use counted::CountedReads;
mod connections;
pub mod connections_conformance;
mod deals;
pub mod desk_conformance;
pub mod host_conformance;
mod leases;
pub mod leases_conformance;
pub mod model;
mod outbox;
mod sessions;
pub mod sessions_conformance;
mod subscriptions;
pub mod subscriptions_conformance;
mod text_opt_outs;
pub mod text_opt_outs_conformance;

#[derive(Debug, Default)]
struct State {
    hosts: BTreeMap<HostId, Host>,
    links: BTreeMap<LinkId, BookingLink>,
    bookings: BTreeMap<BookingId, Booking>,
    outbox: Vec<outbox::OutboxRow>,
    accounts: accounts::AccountState,
    deals: deals::DealState,
    webhooks: subscriptions::WebhookState,
    connections: connections::ConnectionState,
    leases: BTreeMap<String, (String, DateTime<Utc>)>,
    sessions: BTreeMap<crate::sessions::SessionId, crate::sessions::HostSession>,
    /// Phone number → (opted out, when that was said).
    text_opt_outs: BTreeMap<String, (bool, DateTime<Utc>)>,
    /// Hosts who list their links on the home page.
    listed_hosts: std::collections::BTreeSet<HostId>,
}

/// A [`BookingStore`] in memory, with the same guarantees as the database stores: atomic
/// commits, version checks, and no overlapping confirmed rows per host. Clones share state.
#[derive(Debug, Clone, Default)]
pub struct InMemoryStore {
    state: Arc<Mutex<State>>,
    /// Bookings looked up by token so far (a page's trips to the store are counted).
    token_lookups: Arc<std::sync::atomic::AtomicUsize>,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (commits apply at the end).
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many times a booking was looked up by its token so far.
    pub fn token_lookups(&self) -> usize {
        self.token_lookups
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Every effect committed so far, in commit order.
    pub fn outbox(&self) -> Vec<PlannedEffect> {
        self.lock().outbox.iter().map(|row| row.planned).collect()
    }

    /// Every booking row, in id order.
    pub fn bookings(&self) -> Vec<Booking> {
        self.lock().bookings.values().cloned().collect()
    }
}

fn tab_of(b: &Booking, now: DateTime<Utc>) -> Option<DashboardTab> {
    match b.status() {
        Status::Confirmed if b.slot().start() > now => Some(DashboardTab::Upcoming),
        Status::Confirmed => Some(DashboardTab::Past),
        Status::NoShow { .. } => Some(DashboardTab::NoShows),
        Status::Cancelled(_) => Some(DashboardTab::Cancelled),
        Status::Rescheduled { .. } => None,
    }
}

#[async_trait]
impl BookingStore for InMemoryStore {
    async fn save_host(&self, host: &Host) -> Result<(), StoreError> {
        self.lock().hosts.insert(host.id(), host.clone());
        Ok(())
    }

    async fn host(&self, id: HostId) -> Result<Option<Host>, StoreError> {
        Ok(self.lock().hosts.get(&id).cloned())
    }

    async fn save_link(&self, link: &BookingLink) -> Result<(), SaveLinkError> {
        let mut state = self.lock();
        if !state.hosts.contains_key(&link.host()) {
            return Err(SaveLinkError::UnknownHost);
        }
        if state
            .links
            .values()
            .any(|l| l.slug() == link.slug() && l.id() != link.id())
        {
            return Err(SaveLinkError::SlugTaken);
        }
        state.links.insert(link.id(), link.clone());
        Ok(())
    }

    async fn link_by_slug(&self, slug: &Slug) -> Result<Option<BookingLink>, StoreError> {
        Ok(self
            .lock()
            .links
            .values()
            .find(|l| l.slug() == slug)
            .cloned())
    }

    async fn link(&self, id: LinkId) -> Result<Option<BookingLink>, StoreError> {
        Ok(self.lock().links.get(&id).cloned())
    }

    async fn booking(&self, id: BookingId) -> Result<Option<Booking>, StoreError> {
        Ok(self.lock().bookings.get(&id).cloned())
    }

    async fn booking_by_token(
        &self,
        token: &RescheduleToken,
    ) -> Result<Option<Booking>, StoreError> {
        self.token_lookups
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let hash = token.lookup_hash();
        Ok(self
            .lock()
            .bookings
            .values()
            .find(|b| b.token().lookup_hash() == hash)
            .cloned())
    }

    async fn booking_by_token_to_show(
        &self,
        token: &RescheduleToken,
    ) -> Result<Option<Booking>, StoreError> {
        self.booking_by_token(token).await
    }

    async fn booking_by_provider_event(
        &self,
        provider: &str,
        event_id: &str,
    ) -> Result<Option<Booking>, StoreError> {
        let state = self.lock();
        let chain = state
            .bookings
            .values()
            .find(|b| {
                b.provider_event()
                    .is_some_and(|p| p.provider == provider && p.event_id == event_id)
            })
            .map(Booking::chain);
        Ok(chain.and_then(|c| {
            state
                .bookings
                .values()
                .filter(|b| b.chain() == c && b.next().is_none())
                .max_by_key(|b| b.created_at())
                .cloned()
        }))
    }

    async fn chain(&self, chain: ChainId) -> Result<Vec<Booking>, StoreError> {
        let mut rows: Vec<Booking> = self
            .lock()
            .bookings
            .values()
            .filter(|b| b.chain() == chain)
            .cloned()
            .collect();
        rows.sort_by_key(|b| (b.created_at(), b.ics_sequence()));
        Ok(rows)
    }

    async fn blocked_ranges(
        &self,
        host: HostId,
        within: TimeRange,
        except: Option<ChainId>,
    ) -> Result<Vec<TimeRange>, StoreError> {
        Ok(self
            .lock()
            .bookings
            .values()
            .filter(|b| b.host() == host && matches!(b.status(), Status::Confirmed))
            .filter(|b| Some(b.chain()) != except && b.blocked().overlaps(&within))
            .map(Booking::blocked)
            .collect())
    }

    async fn dashboard(
        &self,
        host: HostId,
        tab: DashboardTab,
        now: DateTime<Utc>,
        page: Page,
    ) -> Result<DashboardPage, StoreError> {
        let state = self.lock();
        let mine: Vec<&Booking> = state
            .bookings
            .values()
            .filter(|b| b.host() == host)
            .collect();
        let mut counts = TabCounts::default();
        for b in &mine {
            match tab_of(b, now) {
                Some(DashboardTab::Upcoming) => counts.upcoming += 1,
                Some(DashboardTab::Past) => counts.past += 1,
                Some(DashboardTab::NoShows) => counts.no_shows += 1,
                Some(DashboardTab::Cancelled) => counts.cancelled += 1,
                None => {}
            }
        }
        let mut rows: Vec<Booking> = mine
            .into_iter()
            .filter(|b| tab_of(b, now) == Some(tab))
            .cloned()
            .collect();
        match tab {
            DashboardTab::Upcoming => rows.sort_by_key(|b| (b.slot().start(), b.id())),
            DashboardTab::Past | DashboardTab::NoShows => {
                rows.sort_by_key(|b| (std::cmp::Reverse(b.slot().start()), b.id()))
            }
            DashboardTab::Cancelled => {
                rows.sort_by_key(|b| (std::cmp::Reverse(b.cancellation().map(|c| c.at)), b.id()));
            }
        }
        let rows = rows
            .into_iter()
            .skip(page.offset as usize)
            .take(page.limit as usize)
            .collect();
        Ok(DashboardPage { rows, counts })
    }

    async fn reconfirmation_overdue(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Booking>, StoreError> {
        Ok(self
            .lock()
            .bookings
            .values()
            .filter(|b| {
                b.token_is_live(now)
                    && b.reconfirmed_at().is_none()
                    && b.reconfirm_by().is_some_and(|d| {
                        d <= now && b.reconfirm_requested_at().is_some_and(|asked| asked < d)
                    })
            })
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn dead_effects(
        &self,
        booking: BookingId,
    ) -> Result<Vec<crate::ports::DeadEntry>, StoreError> {
        Ok(self.dead_of(booking))
    }

    async fn pending_effects(
        &self,
        booking: BookingId,
    ) -> Result<Vec<crate::ports::PendingEntry>, StoreError> {
        Ok(self.pending_of(booking))
    }

    async fn record_reconfirmation_request(
        &self,
        booking: BookingId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let asked = state
            .bookings
            .get(&booking)
            .and_then(|b| b.with_reconfirmation_requested(at));
        if let Some(row) = asked {
            state.bookings.insert(booking, row);
        }
        Ok(())
    }

    async fn commit(&self, change: Change) -> Result<(), CommitError> {
        let mut state = self.lock();
        let mut next = state.bookings.clone();
        for write in &change.writes {
            match write {
                Write::Insert(b) => {
                    if next.insert(b.id(), b.clone()).is_some() {
                        return Err(
                            StoreError::msg(format!("booking {} already exists", b.id())).into(),
                        );
                    }
                }
                Write::Update {
                    booking,
                    expected_version,
                } => match next.get(&booking.id()) {
                    Some(stored) if stored.version() == *expected_version => {
                        next.insert(booking.id(), booking.clone());
                    }
                    _ => return Err(CommitError::VersionConflict(booking.id())),
                },
            }
        }
        for write in &change.writes {
            let b = write.booking();
            if matches!(b.status(), Status::Confirmed) {
                let clash = next.values().any(|o| {
                    o.id() != b.id()
                        && o.host() == b.host()
                        && matches!(o.status(), Status::Confirmed)
                        && o.blocked().overlaps(&b.blocked())
                });
                if clash {
                    return Err(CommitError::SlotTaken);
                }
            }
        }
        let mut keys: HashSet<String> = state
            .outbox
            .iter()
            .map(|r| r.planned.effect.idempotency_key())
            .collect();
        for e in &change.effects {
            if !keys.insert(e.effect.idempotency_key()) {
                return Err(StoreError::msg(format!("effect {} queued twice", e.effect)).into());
            }
        }
        state.bookings = next;
        state
            .outbox
            .extend(change.effects.into_iter().map(outbox::OutboxRow::new));
        Ok(())
    }
}

/// A clock that reads what it was last set to. Clones share the time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    /// A clock reading `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(now)))
    }

    /// Sets the time.
    pub fn set(&self, now: DateTime<Utc>) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = now;
    }

    /// Moves the time forward (or back, for a negative delta).
    pub fn advance(&self, by: TimeDelta) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Tokens and ids from a counter: predictable, never repeating. Clones share the counter.
#[derive(Debug, Clone, Default)]
pub struct SequentialTokens(Arc<AtomicU64>);

impl SequentialTokens {
    /// Starts at 1.
    pub fn new() -> Self {
        Self::default()
    }

    fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
}

impl TokenSource for SequentialTokens {
    fn new_token(&self) -> RescheduleToken {
        RescheduleToken::from_bytes(u128::from(self.next()).to_be_bytes())
    }

    fn new_booking_id(&self) -> BookingId {
        BookingId::from_uuid(Uuid::from_u128((0xb0 << 120) | u128::from(self.next())))
    }
}

/// External calendars with fixed busy times (none by default).
#[derive(Debug, Clone, Default)]
pub struct FixedBusy(pub Vec<TimeRange>);

#[async_trait]
impl BusyCalendar for FixedBusy {
    async fn busy(
        &self,
        _host: HostId,
        within: TimeRange,
    ) -> Result<Vec<TimeRange>, BusyCalendarError> {
        Ok(self
            .0
            .iter()
            .filter(|b| b.overlaps(&within))
            .copied()
            .collect())
    }
}
