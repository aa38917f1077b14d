//! Text (SMS) effects: rendered here ([`text_body`]), carried by the
//! [`TextSender`](booking_core::ports::TextSender) port with the entry's key.
//!
//! A text is a courtesy beside the mail, never a reason for an entry to wait or die: without a
//! text channel, without a phone number, for a number that is not international or that
//! opted out, the entry is done (skipped). Only the sender's own failures are retried, like a
//! mail's, and each entry is retried on its own, so a failing SMS provider never holds a mail
//! back.

use booking_core::Booking;
use booking_core::effects::TextKind;
use booking_core::ids::BookingId;
use booking_core::ports::{NotifyError, OutboxEntry, StoreError};
use booking_core::reconfirmation;
use booking_core::workflows::{skip_reason, text_body};
use chrono::{DateTime, Utc};

use crate::context::Rows;
use crate::{Outcome, Parts, TextChannel};

pub(crate) async fn deliver(
    parts: &Parts,
    rows: &Rows<'_>,
    channel: Option<&TextChannel>,
    entry: &OutboxEntry,
    kind: TextKind,
    booking: BookingId,
    now: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    if channel.is_none() {
        return Ok(Outcome::Skipped("no text channel is configured"));
    }
    let loaded = match rows.load(booking).await? {
        Ok(loaded) => loaded,
        Err(outcome) => return Ok(outcome),
    };
    let asks = kind == TextKind::ReconfirmationRequest;
    if asks {
        // The same rule as the mailed request: fair notice before the deadline, or not at all.
        let policy = loaded.link.reconfirmation();
        if let Err(why) = reconfirmation::may_ask(&loaded.booking, policy, now) {
            return Ok(Outcome::Skipped(crate::email::not_asked(why)));
        }
    } else if let Some(why) = skip_reason(kind.into(), &loaded.booking, now) {
        return Ok(Outcome::Skipped(why));
    }
    let body = text_body(kind, &loaded.notification(&parts.public_base_url));
    let outcome = send(channel, &loaded.booking, &body, &entry.key).await?;
    if asks && outcome == Outcome::Delivered {
        // A request that reached the attendee only by text still lets the deadline apply.
        parts
            .bookings
            .record_reconfirmation_request(booking, now)
            .await?;
    }
    Ok(outcome)
}

/// Texts `body` to the attendee of `booking` through `channel`, unless there is no channel,
/// no usable number, or the number opted out (then the entry is done).
pub(crate) async fn send(
    channel: Option<&TextChannel>,
    booking: &Booking,
    body: &str,
    key: &str,
) -> Result<Outcome, StoreError> {
    let Some(channel) = channel else {
        return Ok(Outcome::Skipped("no text channel is configured"));
    };
    let Some(phone) = booking.invitee().phone() else {
        return Ok(Outcome::Skipped("the attendee gave no phone number"));
    };
    let Some(to) = phone.e164() else {
        return Ok(Outcome::Skipped(
            "the attendee's phone number is not in international form",
        ));
    };
    if channel.opt_outs.is_opted_out(to).await? {
        return Ok(Outcome::Skipped("the attendee's number opted out of texts"));
    }
    Ok(match channel.sender.send_text(to, body, key).await {
        Ok(()) => Outcome::Delivered,
        Err(NotifyError::Permanent(e)) => Outcome::Permanent(e),
        Err(NotifyError::Transient(e)) => Outcome::Failed(e),
    })
}
