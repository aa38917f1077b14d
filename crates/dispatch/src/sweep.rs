//! The periodic reconfirmation sweep: cancels bookings whose reconfirmation deadline passed
//! after their request was delivered (never one that was not asked).
//! With several instances every one of them sweeps; that is safe, as a booking changes only
//! with a version check and a lost race changes nothing.

use std::sync::Arc;
use std::time::Duration;

use booking_core::ports::ReconfirmationSweep;
use tokio::sync::watch;

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
