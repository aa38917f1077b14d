//! Email effects: render the template for the recipient and send it with the entry's key as
//! the `Message-ID` seed.

use booking_core::Status;
use booking_core::effects::{EmailKind, Recipient};
use booking_core::ids::BookingId;
use booking_core::ports::{OutboxEntry, StoreError};
use chrono::{DateTime, Utc};

use crate::{Outcome, Parts, context, error_chain};

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
    let ctx = loaded.mail(&parts.public_base_url);
    Ok(
        match parts.mailer.notify(kind, to, &ctx, &entry.key).await {
            Ok(()) => Outcome::Delivered,
            Err(e) if e.is_permanent() => Outcome::Permanent(error_chain(&e)),
            Err(e) => Outcome::Failed(error_chain(&e)),
        },
    )
}
