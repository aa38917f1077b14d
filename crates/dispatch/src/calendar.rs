//! Calendar effects, applied through the [`CalendarSync`] port. Syncing with Google and
//! Microsoft plugs in there; until then no host has a calendar connected
//! ([`booking_core::ports::NoCalendarConnected`]).

use booking_core::effects::CalendarOp;
use booking_core::ids::BookingId;
use booking_core::ports::{CalendarSync, CalendarSyncError, OutboxEntry, StoreError};

use crate::{Outcome, Parts, context};

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
