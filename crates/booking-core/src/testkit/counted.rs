//! A store that passes everything to another and counts the reads that caches and the
//! dispatcher are meant to save: busy ranges, links, and bookings by id.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::booking::Booking;
use crate::ids::{BookingId, ChainId, HostId, LinkId};
use crate::link::{BookingLink, Host, Slug};
use crate::ports::{
    BookingStore, Change, CommitError, DashboardPage, DashboardTab, DeadEntry, Page, PendingEntry,
    SaveLinkError, StoreError,
};
use crate::time::TimeRange;
use crate::token::RescheduleToken;

/// `inner`, counting how often each counted read reaches it. Clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct CountedReads<S> {
    /// The store read through.
    pub inner: S,
    busy_reads: Arc<AtomicUsize>,
    link_reads: Arc<AtomicUsize>,
    booking_reads: Arc<AtomicUsize>,
}

impl<S> CountedReads<S> {
    /// Counts the reads of `inner`, from zero.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            busy_reads: Arc::default(),
            link_reads: Arc::default(),
            booking_reads: Arc::default(),
        }
    }

    /// `blocked_ranges` calls so far.
    pub fn busy_reads(&self) -> usize {
        self.busy_reads.load(Ordering::SeqCst)
    }

    /// `link` and `link_by_slug` calls so far.
    pub fn link_reads(&self) -> usize {
        self.link_reads.load(Ordering::SeqCst)
    }

    /// `booking` (by id) calls so far.
    pub fn booking_reads(&self) -> usize {
        self.booking_reads.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl<S: BookingStore> BookingStore for CountedReads<S> {
    async fn save_host(&self, host: &Host) -> Result<(), StoreError> {
        self.inner.save_host(host).await
    }
    async fn host(&self, id: HostId) -> Result<Option<Host>, StoreError> {
        self.inner.host(id).await
    }
    async fn save_link(&self, link: &BookingLink) -> Result<(), SaveLinkError> {
        self.inner.save_link(link).await
    }
    async fn link_by_slug(&self, slug: &Slug) -> Result<Option<BookingLink>, StoreError> {
        self.link_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.link_by_slug(slug).await
    }
    async fn link(&self, id: LinkId) -> Result<Option<BookingLink>, StoreError> {
        self.link_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.link(id).await
    }
    async fn booking(&self, id: BookingId) -> Result<Option<Booking>, StoreError> {
        self.booking_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.booking(id).await
    }
    async fn booking_by_token(
        &self,
        token: &RescheduleToken,
    ) -> Result<Option<Booking>, StoreError> {
        self.inner.booking_by_token(token).await
    }
    async fn booking_by_token_to_show(
        &self,
        token: &RescheduleToken,
    ) -> Result<Option<Booking>, StoreError> {
        self.inner.booking_by_token_to_show(token).await
    }
    async fn booking_by_provider_event(
        &self,
        provider: &str,
        event_id: &str,
    ) -> Result<Option<Booking>, StoreError> {
        self.inner
            .booking_by_provider_event(provider, event_id)
            .await
    }
    async fn chain(&self, chain: ChainId) -> Result<Vec<Booking>, StoreError> {
        self.inner.chain(chain).await
    }
    async fn blocked_ranges(
        &self,
        host: HostId,
        within: TimeRange,
        except: Option<ChainId>,
    ) -> Result<Vec<TimeRange>, StoreError> {
        self.busy_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.blocked_ranges(host, within, except).await
    }
    async fn dashboard(
        &self,
        host: HostId,
        tab: DashboardTab,
        now: DateTime<Utc>,
        page: Page,
    ) -> Result<DashboardPage, StoreError> {
        self.inner.dashboard(host, tab, now, page).await
    }
    async fn reconfirmation_overdue(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Booking>, StoreError> {
        self.inner.reconfirmation_overdue(now, limit).await
    }
    async fn dead_effects(&self, booking: BookingId) -> Result<Vec<DeadEntry>, StoreError> {
        self.inner.dead_effects(booking).await
    }
    async fn pending_effects(&self, booking: BookingId) -> Result<Vec<PendingEntry>, StoreError> {
        self.inner.pending_effects(booking).await
    }
    async fn record_reconfirmation_request(
        &self,
        booking: BookingId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.record_reconfirmation_request(booking, at).await
    }
    async fn commit(&self, change: Change) -> Result<(), CommitError> {
        self.inner.commit(change).await
    }
}
