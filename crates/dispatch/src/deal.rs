//! CRM deal effects, delivered through the [`DealSink`] port; until one is registered, deal
//! entries stay pending: no attempt is counted and nothing dies. [`DealRecorder`] is the sink
//! that records deals in Slotkeeper's own deal records (`/deals`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use booking_core::Booking;
use booking_core::deals::{Deal, DealStore};
use booking_core::ids::{BookingId, ChainId};
use booking_core::ports::{Clock, DealSink, DealSinkError, OutboxEntry, StoreError};

use crate::Outcome;
use crate::context::Rows;

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
        rows: &Rows<'_>,
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
        let loaded = match rows.load(booking).await? {
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

/// Delivers `CreateDeal` effects into Slotkeeper's own deal records (`/deals`): one deal per
/// meeting, opened in stage "New". Idempotent: a retried delivery finds the deal it opened.
#[derive(Clone)]
pub struct DealRecorder {
    deals: Arc<dyn DealStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DealRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DealRecorder")
    }
}

impl DealRecorder {
    /// A sink recording deals in `deals`, stamped by `clock`, for
    /// [`Dispatcher::with_deal_sink`](crate::Dispatcher::with_deal_sink).
    pub fn new(deals: Arc<dyn DealStore>, clock: Arc<dyn Clock>) -> Self {
        Self { deals, clock }
    }
}

#[async_trait]
impl DealSink for DealRecorder {
    async fn create_deal(
        &self,
        chain: ChainId,
        booking: &Booking,
        _idempotency_key: &str,
    ) -> Result<(), DealSinkError> {
        if booking.chain() != chain {
            return Err(DealSinkError::Permanent(format!(
                "booking {} is not part of chain {chain}",
                booking.id()
            )));
        }
        self.deals
            .open_deal(&Deal::open(booking, self.clock.now()))
            .await
            .map(|_| ())
            .map_err(|e| DealSinkError::Transient(e.to_string()))
    }
}
