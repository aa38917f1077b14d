//! Loads the rows a message is rendered from: the booking, the row it replaced, its link and
//! its host.

use booking_core::Booking;
use booking_core::booking::Origin;
use booking_core::ids::BookingId;
use booking_core::link::{BookingLink, Host};
use booking_core::ports::{BookingStore, NotificationContext, StoreError};

use crate::Outcome;

/// The rows of one notification.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) booking: Booking,
    pub(crate) previous: Option<Booking>,
    pub(crate) link: BookingLink,
    pub(crate) host: Host,
}

impl Loaded {
    /// What notifications and webhook payloads about these rows are rendered from.
    pub(crate) fn notification<'a>(&'a self, base: &'a str) -> NotificationContext<'a> {
        NotificationContext {
            booking: &self.booking,
            previous: self.previous.as_ref(),
            link: &self.link,
            host: &self.host,
            public_base_url: base,
        }
    }
}

/// The rows about `id`, or the outcome to record when they cannot all be found (rows are
/// never deleted, so a missing one will not come back: retrying cannot help).
pub(crate) async fn load(
    store: &dyn BookingStore,
    id: BookingId,
) -> Result<Result<Loaded, Outcome>, StoreError> {
    let Some(booking) = store.booking(id).await? else {
        return Ok(Err(Outcome::Permanent(format!(
            "booking {id} does not exist"
        ))));
    };
    let previous = match booking.origin() {
        Origin::Rescheduled { previous, .. } => store.booking(*previous).await?,
        Origin::Booked => None,
    };
    let Some(link) = store.link(booking.link()).await? else {
        return Ok(Err(Outcome::Permanent(format!(
            "the link of booking {id} does not exist"
        ))));
    };
    let Some(host) = store.host(booking.host()).await? else {
        return Ok(Err(Outcome::Permanent(format!(
            "the host of booking {id} does not exist"
        ))));
    };
    Ok(Ok(Loaded {
        booking,
        previous,
        link,
        host,
    }))
}
