//! The periodic reconfirmation sweep: cancels bookings whose reconfirmation deadline passed.
//! With several instances every one of them sweeps; that is safe, as a booking changes only
//! with a version check and a lost race changes nothing.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use booking_core::Scheduler;
use booking_core::ports::{BookingStore, BusyCalendar, Clock, StoreError, TokenSource};
use tokio::sync::watch;

/// Cancels overdue unreconfirmed bookings (the use case, behind a trait so the dispatcher does
/// not carry the scheduler's type parameters).
#[async_trait]
pub trait ReconfirmationSweep: Send + Sync {
    /// Cancels up to `limit` overdue bookings; returns how many.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn expire_unreconfirmed(&self, limit: u32) -> Result<usize, StoreError>;
}

#[async_trait]
impl<S, C, T, B> ReconfirmationSweep for Scheduler<S, C, T, B>
where
    S: BookingStore,
    C: Clock,
    T: TokenSource,
    B: BusyCalendar,
{
    async fn expire_unreconfirmed(&self, limit: u32) -> Result<usize, StoreError> {
        Scheduler::expire_unreconfirmed(self, limit).await
    }
}

pub(crate) async fn run(
    sweep: Arc<dyn ReconfirmationSweep>,
    every: Duration,
    limit: u32,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        match sweep.expire_unreconfirmed(limit).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(cancelled = n, "cancelled bookings not reconfirmed in time"),
            Err(e) => {
                tracing::error!(error = %crate::error_chain(&e), "the reconfirmation sweep failed")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
    }
}
