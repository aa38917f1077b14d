//! Calendar effects. Syncing with Google and Microsoft comes with the calendar work; it plugs
//! in here as a [`CalendarSync`]. Until then no host has a calendar connected.

use async_trait::async_trait;
use booking_core::Booking;
use booking_core::effects::CalendarOp;
use booking_core::ids::BookingId;
use booking_core::ports::{OutboxEntry, StoreError};

use crate::{Outcome, Parts, context};

/// A calendar operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CalendarSyncError {
    /// Worth another attempt (network trouble, a 5xx, throttling).
    #[error("calendar sync failed: {0}")]
    Transient(String),
    /// Retrying cannot help (access revoked, the event is gone for good).
    #[error("calendar sync failed for good: {0}")]
    Permanent(String),
}

/// Applies calendar effects to the host's connected calendar.
#[async_trait]
pub trait CalendarSync: Send + Sync + std::fmt::Debug {
    /// Creates, moves or deletes the chain's event for `booking`. Returns `false` when the
    /// host has no calendar connected (nothing to do). `idempotency_key` identifies the effect
    /// across retries.
    ///
    /// # Errors
    /// [`CalendarSyncError`].
    async fn apply(
        &self,
        op: CalendarOp,
        booking: &Booking,
        idempotency_key: &str,
    ) -> Result<bool, CalendarSyncError>;
}

/// The calendar side for hosts with no calendar connected: every operation is a no-op.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCalendarConnected;

#[async_trait]
impl CalendarSync for NoCalendarConnected {
    async fn apply(
        &self,
        _op: CalendarOp,
        _booking: &Booking,
        _idempotency_key: &str,
    ) -> Result<bool, CalendarSyncError> {
        Ok(false)
    }
}

pub(crate) async fn deliver(
    parts: &Parts,
    calendar: &dyn CalendarSync,
    entry: &OutboxEntry,
    op: CalendarOp,
    booking: BookingId,
) -> Result<Outcome, StoreError> {
    let loaded = match context::load(parts.bookings.as_ref(), booking).await? {
        Ok(loaded) => loaded,
        Err(outcome) => return Ok(outcome),
    };
    Ok(
        match calendar.apply(op, &loaded.booking, &entry.key).await {
            Ok(true) => Outcome::Delivered,
            Ok(false) => Outcome::Skipped("no calendar connected"),
            Err(CalendarSyncError::Transient(e)) => Outcome::Failed(e),
            Err(CalendarSyncError::Permanent(e)) => Outcome::Permanent(e),
        },
    )
}
