//! The booking limit: how many bookings one client address may ask for in an hour, through
//! the JSON API and the booking form alike. Counted in the store (booking-core's
//! `LoginAttempts` port, under `book:<address>` keys beside the login limiter's), so every
//! instance behind a load balancer sees the same counts.

use std::sync::Arc;

use actix_web::HttpRequest;
use booking_core::accounts::{AttemptLimit, LoginAttempts};
use chrono::{DateTime, TimeDelta, Utc};

use crate::errors::Failure;

/// The default of bookings one client address may ask for per [`BOOKING_WINDOW`]: several
/// people behind one office address can book; a script cannot fill a calendar or mail a
/// thousand addresses.
pub const BOOKINGS_PER_CLIENT: u32 = 20;
/// The window the booking limit counts in.
pub const BOOKING_WINDOW: TimeDelta = TimeDelta::hours(1);

/// Counts booking requests per client address in the store.
pub(crate) struct BookingLimit {
    attempts: Arc<dyn LoginAttempts>,
    limit: AttemptLimit,
}

impl std::fmt::Debug for BookingLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BookingLimit").finish_non_exhaustive()
    }
}

impl BookingLimit {
    /// `per_window` bookings per [`BOOKING_WINDOW`]; zero counts as one.
    pub(crate) fn new(attempts: Arc<dyn LoginAttempts>, per_window: u32) -> Self {
        let limit = AttemptLimit::new(per_window.max(1), BOOKING_WINDOW)
            .unwrap_or_else(|_| unreachable!("at least one booking in an hour is a valid limit"));
        Self { attempts, limit }
    }

    /// Counts this request against its client address; refuses it with
    /// [`Failure::TooManyBookings`] beyond the limit. The count is taken before the booking is
    /// tried, atomically, so concurrent requests cannot slip past it.
    pub(crate) async fn admit(&self, req: &HttpRequest, now: DateTime<Utc>) -> Result<(), Failure> {
        let client = req
            .peer_addr()
            .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
        match self
            .attempts
            .count_attempt(&format!("book:{client}"), self.limit, now)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(Failure::TooManyBookings {
                retry_after: BOOKING_WINDOW.num_seconds(),
            }),
            Err(e) => Err(Failure::internal(&e)),
        }
    }
}
