//! Calendar effects, applied through the [`CalendarSync`] port (the host's connected Google or
//! Microsoft calendar: `booking_core::calendar_sync::ConnectedCalendars`). An effect waiting for
//! the host to reconnect stays pending without counting attempts; a provider's `Retry-After`
//! holds the next attempt back at least that long.

use booking_core::effects::CalendarOp;
use booking_core::ids::BookingId;
use booking_core::ports::{
    CalendarSync, CalendarSyncError, CalendarWrite, OutboxEntry, StoreError,
};

use crate::Outcome;
use crate::context::Rows;

pub(crate) async fn deliver(
    rows: &Rows<'_>,
    calendar: &dyn CalendarSync,
    entry: &OutboxEntry,
    op: CalendarOp,
    booking: BookingId,
) -> Result<Outcome, StoreError> {
    let loaded = match rows.load(booking).await? {
        Ok(loaded) => loaded,
        Err(outcome) => return Ok(outcome),
    };
    Ok(
        match calendar.apply(op, &loaded.booking, &entry.key).await {
            Ok(CalendarWrite::Written) => Outcome::Delivered,
            Ok(CalendarWrite::NothingToDo) => Outcome::Skipped("no calendar event needed"),
            // Parked: the lease runs out and it is looked at again, no attempt counted.
            Ok(CalendarWrite::WaitingForReconnect) => Outcome::NotYet,
            Err(CalendarSyncError::Transient {
                message,
                retry_after: Some(wait),
            }) => Outcome::FailedWait(message, wait),
            Err(CalendarSyncError::Transient { message, .. }) => Outcome::Failed(message),
            Err(CalendarSyncError::Permanent(e)) => Outcome::Permanent(e),
        },
    )
}
