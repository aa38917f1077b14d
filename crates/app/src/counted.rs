//! Counts committed booking changes by kind (`slotkeeper_booking_changes_total`): a
//! `BookingStore` that passes everything to the real one and, after a commit succeeds, counts
//! what it did (booking-core's `Change::kind`). Every scheduler of the binary — web, the
//! reconfirmation sweep, calendar-side changes, the CLI — commits through it.

use std::sync::Arc;

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

/// Committed booking changes, by kind (`booked`, `rescheduled`, `cancelled`, `no_show`,
/// `updated`).
pub const BOOKING_CHANGES: &str = "slotkeeper_booking_changes_total";

/// The store, counting its commits.
pub struct CountedChanges(pub Arc<dyn BookingStore>);

#[async_trait]
impl BookingStore for CountedChanges {
    async fn save_host(&self, host: &Host) -> Result<(), StoreError> {
        self.0.save_host(host).await
    }
    async fn host(&self, id: HostId) -> Result<Option<Host>, StoreError> {
        self.0.host(id).await
    }
    async fn save_link(&self, link: &BookingLink) -> Result<(), SaveLinkError> {
        self.0.save_link(link).await
    }
    async fn link_by_slug(&self, slug: &Slug) -> Result<Option<BookingLink>, StoreError> {
        self.0.link_by_slug(slug).await
    }
    async fn link(&self, id: LinkId) -> Result<Option<BookingLink>, StoreError> {
        self.0.link(id).await
    }
    async fn booking(&self, id: BookingId) -> Result<Option<Booking>, StoreError> {
        self.0.booking(id).await
    }
    async fn booking_by_token(
        &self,
        token: &RescheduleToken,
    ) -> Result<Option<Booking>, StoreError> {
        self.0.booking_by_token(token).await
    }
    async fn booking_by_token_to_show(
        &self,
        token: &RescheduleToken,
    ) -> Result<Option<Booking>, StoreError> {
        self.0.booking_by_token_to_show(token).await
    }
    async fn booking_by_provider_event(
        &self,
        provider: &str,
        event_id: &str,
    ) -> Result<Option<Booking>, StoreError> {
        self.0.booking_by_provider_event(provider, event_id).await
    }
    async fn chain(&self, chain: ChainId) -> Result<Vec<Booking>, StoreError> {
        self.0.chain(chain).await
    }
    async fn blocked_ranges(
        &self,
        host: HostId,
        within: TimeRange,
        except: Option<ChainId>,
    ) -> Result<Vec<TimeRange>, StoreError> {
        self.0.blocked_ranges(host, within, except).await
    }
    async fn dashboard(
        &self,
        host: HostId,
        tab: DashboardTab,
        now: DateTime<Utc>,
        page: Page,
    ) -> Result<DashboardPage, StoreError> {
        self.0.dashboard(host, tab, now, page).await
    }
    async fn reconfirmation_overdue(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Booking>, StoreError> {
        self.0.reconfirmation_overdue(now, limit).await
    }
    async fn dead_effects(&self, booking: BookingId) -> Result<Vec<DeadEntry>, StoreError> {
        self.0.dead_effects(booking).await
    }
    async fn pending_effects(&self, booking: BookingId) -> Result<Vec<PendingEntry>, StoreError> {
        self.0.pending_effects(booking).await
    }
    async fn record_reconfirmation_request(
        &self,
        booking: BookingId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.0.record_reconfirmation_request(booking, at).await
    }
    async fn commit(&self, change: Change) -> Result<(), CommitError> {
        let kind = change.kind();
        self.0.commit(change).await?;
        if let Some(kind) = kind {
            metrics::counter!(BOOKING_CHANGES, "kind" => kind.name()).increment(1);
        }
        Ok(())
    }
}
