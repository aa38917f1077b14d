//! A `BookingStore` that passes everything to the real one and counts the bookings read by
//! id, to show how often the dispatcher goes to the store for a booking's rows.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use booking_core::TimeRange;
use booking_core::booking::Booking;
use booking_core::ids::{BookingId, ChainId, HostId, LinkId};
use booking_core::link::{BookingLink, Host, Slug};
use booking_core::ports::{
    BookingStore, Change, CommitError, DashboardPage, DashboardTab, DeadEntry, Page, PendingEntry,
    SaveLinkError, StoreError,
};
use booking_core::token::RescheduleToken;
use chrono::{DateTime, Utc};

/// The store, counting `booking(id)` calls.
pub struct CountsBookingReads {
    pub store: Arc<dyn BookingStore>,
    pub reads: AtomicUsize,
}

impl CountsBookingReads {
    pub fn new(store: Arc<dyn BookingStore>) -> Self {
        Self {
            store,
            reads: AtomicUsize::new(0),
        }
    }

    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl BookingStore for CountsBookingReads {
    async fn save_host(&self, host: &Host) -> Result<(), StoreError> {
        self.store.save_host(host).await
    }
    async fn host(&self, id: HostId) -> Result<Option<Host>, StoreError> {
        self.store.host(id).await
    }
    async fn save_link(&self, link: &BookingLink) -> Result<(), SaveLinkError> {
        self.store.save_link(link).await
    }
    async fn link_by_slug(&self, slug: &Slug) -> Result<Option<BookingLink>, StoreError> {
        self.store.link_by_slug(slug).await
    }
    async fn link(&self, id: LinkId) -> Result<Option<BookingLink>, StoreError> {
        self.store.link(id).await
    }
    async fn booking(&self, id: BookingId) -> Result<Option<Booking>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
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
        self.store.booking_by_token_to_show(token).await
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
        self.store.blocked_ranges(host, within, except).await
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
        self.store.record_reconfirmation_request(booking, at).await
    }
    async fn commit(&self, change: Change) -> Result<(), CommitError> {
        self.store.commit(change).await
    }
}
