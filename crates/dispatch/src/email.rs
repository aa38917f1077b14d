//! Email effects: the [`Notifier`](booking_core::ports::Notifier) port renders the
//! notification for the recipient and delivers it with the entry's key (the mail adapter
//! derives the `Message-ID` from it).

use booking_core::Status;
use booking_core::effects::{EmailKind, Recipient};
use booking_core::ids::BookingId;
use booking_core::ports::{NotifyError, OutboxEntry, StoreError};
use chrono::{DateTime, Utc};

use crate::{Outcome, Parts, context};

pub(crate) async fn deliver(
    parts: &Parts,
    entry: &OutboxEntry,
    kind: EmailKind,
    to: Recipient,
    booking: BookingId,
    now: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    let loaded = match context::load(parts.bookings.as_ref(), booking).await? {
        Ok(loaded) => loaded,
        Err(outcome) => return Ok(outcome),
    };
    if kind == EmailKind::ReconfirmationRequest {
        // Planned at booking time, due a day or so before the meeting: by then it may have
        // been moved, cancelled, reconfirmed, or be under way.
        let b = &loaded.booking;
        if !matches!(b.status(), Status::Confirmed) {
            return Ok(Outcome::Skipped("the booking is no longer confirmed"));
        }
        if b.reconfirmed_at().is_some() {
            return Ok(Outcome::Skipped("the booking is already reconfirmed"));
        }
        if b.slot().start() <= now {
            return Ok(Outcome::Skipped("the meeting has started"));
        }
    }
    let ctx = loaded.notification(&parts.public_base_url);
    Ok(
        match parts.notifier.notify(kind, to, &ctx, &entry.key).await {
            Ok(()) => Outcome::Delivered,
            Err(NotifyError::Permanent(e)) => Outcome::Permanent(e),
            Err(NotifyError::Transient(e)) => Outcome::Failed(e),
        },
    )
}
