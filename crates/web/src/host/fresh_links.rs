//! "Send fresh links": the host mails the attendee their reschedule and cancel links again, a
//! few times an hour per meeting at most, so a repeated click (or a script on the host API)
//! cannot flood the attendee's inbox. The sends are counted in the store's attempt counter
//! (`LoginAttempts`, under `fresh-links:<chain id>`), so every instance sees the same count
//! and concurrent clicks cannot slip past it.

use std::sync::Arc;

use booking_core::accounts::{AttemptLimit, LoginAttempts};
use booking_core::booking::Booking;
use booking_core::ports::{BookingStore, Clock};
use booking_core::service::ResendLinksError;
use booking_core::{BookingId, HostId};
use chrono::TimeDelta;

use crate::DynScheduler;

/// Mails of fresh links a meeting may get in an hour.
pub(crate) const PER_HOUR: u32 = 3;

/// Evaluated at compile time, so an invalid limit does not build.
const LIMIT: AttemptLimit = match AttemptLimit::new(PER_HOUR, TimeDelta::hours(1)) {
    Ok(limit) => limit,
    Err(_) => panic!("the fresh links limit needs a send and a window"),
};

/// Why no fresh links went out.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FreshLinksError {
    /// The meeting already got [`PER_HOUR`] mails of fresh links this hour.
    #[error("fresh links were already sent {PER_HOUR} times in the last hour")]
    TooMany,
    /// The use case refused (unknown booking, dead links) or storage failed.
    #[error(transparent)]
    Resend(#[from] ResendLinksError),
}

impl FreshLinksError {
    /// What to tell the host when the limit is reached.
    pub(crate) fn limit_message() -> String {
        format!(
            "The attendee was already sent fresh links {PER_HOUR} times in the last hour. \
             Try again later."
        )
    }
}

/// Sends fresh links within the limit.
pub(crate) struct FreshLinks {
    sends: Arc<dyn LoginAttempts>,
}

impl std::fmt::Debug for FreshLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FreshLinks").finish_non_exhaustive()
    }
}

impl FreshLinks {
    /// Counting sends in `sends`.
    pub(crate) fn new(sends: Arc<dyn LoginAttempts>) -> Self {
        Self { sends }
    }

    /// Queues one more mail of the links of `host`'s meeting `id` (see
    /// `Scheduler::resend_links`), unless the meeting had [`PER_HOUR`] this hour. The send is
    /// counted before it is queued and given back when nothing was queued.
    ///
    /// # Errors
    /// [`FreshLinksError::TooMany`] over the limit; the use case's errors otherwise (another
    /// host's meeting is [`ResendLinksError::NotFound`] and costs that meeting nothing).
    pub(crate) async fn send(
        &self,
        scheduler: &DynScheduler,
        host: HostId,
        id: BookingId,
    ) -> Result<Booking, FreshLinksError> {
        let booking = scheduler
            .store()
            .booking(id)
            .await
            .map_err(ResendLinksError::from)?
            .filter(|b| b.host() == host)
            .ok_or(ResendLinksError::NotFound)?;
        // Per meeting: every row of a moved meeting shares one count.
        let key = format!("fresh-links:{}", booking.chain());
        let allowed = self
            .sends
            .count_attempt(&key, LIMIT, scheduler.clock().now())
            .await
            .map_err(ResendLinksError::from)?;
        if !allowed {
            return Err(FreshLinksError::TooMany);
        }
        let sent = scheduler.resend_links(host, id).await;
        if sent.is_err()
            && let Err(e) = self.sends.return_attempt(&key).await
        {
            tracing::warn!(error = %e, "giving back an unsent fresh-links count failed");
        }
        Ok(sent?)
    }
}
