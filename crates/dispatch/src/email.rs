//! Email effects: the [`Notifier`](booking_core::ports::Notifier) port renders the
//! notification for the recipient and delivers it with the entry's key (the mail adapter
//! derives the `Message-ID` from it).

use booking_core::effects::{EmailKind, Recipient};
use booking_core::ids::BookingId;
use booking_core::ports::{NotifyError, OutboxEntry, StoreError};
use booking_core::workflows::{TimedMessage, skip_reason};
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
    // A reminder or reconfirmation request is planned at booking time and due a while before
    // the meeting: by then it may have been moved, cancelled, reconfirmed, or be under way.
    if let Some(why) =
        TimedMessage::of_email(kind).and_then(|message| skip_reason(message, &loaded.booking, now))
    {
        return Ok(Outcome::Skipped(why));
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
