//! Email effects: the [`Notifier`](booking_core::ports::Notifier) port renders the
//! notification for the recipient and delivers it with the entry's key (the mail adapter
//! derives the `Message-ID` from it).

use booking_core::effects::{EmailKind, Recipient};
use booking_core::ids::BookingId;
use booking_core::ports::{NotifyError, OutboxEntry, StoreError};
use booking_core::reconfirmation::{self, NotAsked};
use booking_core::workflows::{TimedMessage, skip_reason};
use chrono::{DateTime, Utc};

use crate::context::Rows;
use crate::{Outcome, Parts};

pub(crate) async fn deliver(
    parts: &Parts,
    rows: &Rows<'_>,
    entry: &OutboxEntry,
    kind: EmailKind,
    to: Recipient,
    booking: BookingId,
    now: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    let loaded = match rows.load(booking).await? {
        Ok(loaded) => loaded,
        Err(outcome) => return Ok(outcome),
    };
    let asks = kind == EmailKind::ReconfirmationRequest && to == Recipient::Attendee;
    if asks {
        // Planned at booking time, due a day or so before the meeting: by then it may have
        // been moved, cancelled, reconfirmed, be under way, or (after downtime) be too close
        // to its deadline to be fair.
        let policy = loaded.link.reconfirmation();
        if let Err(why) = reconfirmation::may_ask(&loaded.booking, policy, now) {
            return Ok(Outcome::Skipped(not_asked(why)));
        }
    } else if let Some(why) =
        TimedMessage::of_email(kind).and_then(|message| skip_reason(message, &loaded.booking, now))
    {
        // A reminder is due a while before the meeting: by then it may have been moved,
        // cancelled, or be under way.
        return Ok(Outcome::Skipped(why));
    }
    let ctx = loaded.notification(&parts.public_base_url);
    Ok(
        match parts.notifier.notify(kind, to, &ctx, &entry.key).await {
            Ok(()) if asks => {
                // Only a delivered request lets the deadline cancel the booking. Should this
                // write fail, the entry is retried: the mail goes again under the same
                // Message-ID, and is recorded then (or dropped as too late, never enforced).
                parts
                    .bookings
                    .record_reconfirmation_request(booking, now)
                    .await?;
                Outcome::Delivered
            }
            Ok(()) => Outcome::Delivered,
            Err(NotifyError::Permanent(e)) => Outcome::Permanent(e),
            Err(NotifyError::Transient(e)) => Outcome::Failed(e),
        },
    )
}

/// Why a reconfirmation request (by mail or text) is dropped, in words for the log.
pub(crate) fn not_asked(why: NotAsked) -> &'static str {
    match why {
        NotAsked::NotConfirmed => "the booking is no longer confirmed",
        NotAsked::AlreadyReconfirmed => "the booking is already reconfirmed",
        NotAsked::Started => "the meeting has started",
        NotAsked::NoLongerAsked => "the link no longer asks for reconfirmation",
        NotAsked::TooLate => "too late to leave the attendee a fair time before the deadline",
    }
}
