//! Loads the rows a message is rendered from: the booking, the row it replaced, its link and
//! its host — once per booking for a flight of deliveries ([`Rows`]): a booking's mails,
//! webhook and calendar entries usually fly together.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::OnceCell;

use booking_core::Booking;
use booking_core::booking::Origin;
use booking_core::ids::BookingId;
use booking_core::link::{BookingLink, Host};
use booking_core::ports::{BookingStore, NotificationContext, OutboxEntry, StoreError};

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

/// What loading a booking's rows came to: the rows, or the outcome to record.
type Found = Result<Arc<Loaded>, Outcome>;

/// The rows of the bookings one flight delivers about, each read from the store once, by the
/// first delivery that needs it, and shared by the rest (they all start together, so each
/// would have read the same rows). A failed read is not kept: the next delivery tries again.
pub(crate) struct Rows<'a> {
    store: &'a dyn BookingStore,
    shared: HashMap<BookingId, OnceCell<Found>>,
}

impl<'a> Rows<'a> {
    /// Rows for a flight of `entries`, read from `store`.
    pub(crate) fn for_flight(store: &'a dyn BookingStore, entries: &[OutboxEntry]) -> Self {
        let shared = entries
            .iter()
            .map(|entry| (entry.effect.booking(), OnceCell::new()))
            .collect();
        Self { store, shared }
    }

    /// Rows read afresh for every delivery (`run_once` delivers one entry at a time, each
    /// after the previous one's writes).
    pub(crate) fn unshared(store: &'a dyn BookingStore) -> Self {
        Self::for_flight(store, &[])
    }

    /// The rows about `id`, or the outcome to record when they cannot all be found.
    pub(crate) async fn load(&self, id: BookingId) -> Result<Found, StoreError> {
        let read = || async { Ok(load(self.store, id).await?.map(Arc::new)) };
        match self.shared.get(&id) {
            Some(cell) => cell.get_or_try_init(read).await.cloned(),
            None => read().await,
        }
    }
}

/// The rows about `id`, or the outcome to record when they cannot all be found (rows are
/// never deleted, so a missing one will not come back: retrying cannot help).
async fn load(
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
