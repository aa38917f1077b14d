//! CRM deal effects. The deal integration plugs in as a [`DealSink`]; until one is
//! registered, deal entries stay pending: no attempt is counted and nothing dies.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use booking_core::Booking;
use booking_core::ids::{BookingId, ChainId};
use booking_core::ports::{OutboxEntry, StoreError};

use crate::{Outcome, Parts, context};

/// Creating a deal failed.
#[derive(Debug, thiserror::Error)]
pub enum DealSinkError {
    /// Worth another attempt.
    #[error("creating the deal failed: {0}")]
    Transient(String),
    /// Retrying cannot help.
    #[error("creating the deal failed for good: {0}")]
    Permanent(String),
}

/// Where deals are created (a CRM, or Slotkeeper's own deal records).
#[async_trait]
pub trait DealSink: Send + Sync + std::fmt::Debug {
    /// Creates the deal for the meeting `chain`, booked as `booking`. Must be idempotent per
    /// `idempotency_key`: after a crash the same deal may be asked for again.
    ///
    /// # Errors
    /// [`DealSinkError`].
    async fn create_deal(
        &self,
        chain: ChainId,
        booking: &Booking,
        idempotency_key: &str,
    ) -> Result<(), DealSinkError>;
}

#[derive(Debug)]
pub(crate) struct DealHandler {
    sink: Option<Arc<dyn DealSink>>,
    warned: AtomicBool,
}

impl DealHandler {
    pub(crate) fn new(sink: Option<Arc<dyn DealSink>>) -> Self {
        Self {
            sink,
            warned: AtomicBool::new(false),
        }
    }

    pub(crate) async fn deliver(
        &self,
        parts: &Parts,
        entry: &OutboxEntry,
        chain: ChainId,
        booking: BookingId,
    ) -> Result<Outcome, StoreError> {
        let Some(sink) = &self.sink else {
            if !self.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    key = %entry.key,
                    "no deal sink is configured: deal entries stay in the outbox until one is"
                );
            }
            // The lease is kept, not released: released, the oldest-due entries would be
            // claimed again at once and starve everything behind them. It comes back when
            // the lease ends, with no attempt counted.
            return Ok(Outcome::NotYet);
        };
        let loaded = match context::load(parts.bookings.as_ref(), booking).await? {
            Ok(loaded) => loaded,
            Err(outcome) => return Ok(outcome),
        };
        Ok(
            match sink.create_deal(chain, &loaded.booking, &entry.key).await {
                Ok(()) => Outcome::Delivered,
                Err(DealSinkError::Transient(e)) => Outcome::Failed(e),
                Err(DealSinkError::Permanent(e)) => Outcome::Permanent(e),
            },
        )
    }
}
