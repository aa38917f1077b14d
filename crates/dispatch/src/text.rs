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
use booking_core::workflows::{skip_reason, text_body};
use chrono::{DateTime, Utc};

use crate::{Outcome, Parts, TextChannel, context};

pub(crate) async fn deliver(
    parts: &Parts,
    channel: Option<&TextChannel>,
    entry: &OutboxEntry,
    kind: TextKind,
    booking: BookingId,
    now: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    if channel.is_none() {
        return Ok(Outcome::Skipped("no text channel is configured"));
    }
    let loaded = match context::load(parts.bookings.as_ref(), booking).await? {
        Ok(loaded) => loaded,
        Err(outcome) => return Ok(outcome),
    };
    if let Some(why) = skip_reason(kind.into(), &loaded.booking, now) {
        return Ok(Outcome::Skipped(why));
    }
    let body = text_body(kind, &loaded.notification(&parts.public_base_url));
    send(channel, &loaded.booking, &body, &entry.key).await
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
    let Some(to) = e164(phone.as_str()) else {
        return Ok(Outcome::Skipped(
            "the attendee's phone number is not in international form",
        ));
    };
    if channel.opt_outs.is_opted_out(&to).await? {
        return Ok(Outcome::Skipped("the attendee's number opted out of texts"));
    }
    Ok(match channel.sender.send_text(&to, body, key).await {
        Ok(()) => Outcome::Delivered,
        Err(NotifyError::Permanent(e)) => Outcome::Permanent(e),
        Err(NotifyError::Transient(e)) => Outcome::Failed(e),
    })
}

/// `+44 20 7946-0018` → `+442079460018`: a number typed with its country code, without the
/// separators people type. `None` for a number without `+` (no country to send to) or with
/// a digit count E.164 does not allow.
fn e164(typed: &str) -> Option<String> {
    let rest = typed.trim().strip_prefix('+')?;
    let digits: String = rest.chars().filter(|c| !" -().".contains(*c)).collect();
    let ok = (8..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    ok.then(|| format!("+{digits}"))
}

#[cfg(test)]
mod tests {
    use super::e164;

    #[test]
    fn numbers_with_a_country_code_become_e164() {
        assert_eq!(e164("+44 20 7946-0018").as_deref(), Some("+442079460018"));
        assert_eq!(e164("+1 (555) 123.4567").as_deref(), Some("+15551234567"));
        assert_eq!(e164("+15551234567").as_deref(), Some("+15551234567"));
        for bad in [
            "020 7946 0018",
            "+0 20 7946 0018",
            "+123",
            "+1234567890123456",
        ] {
            assert_eq!(e164(bad), None, "{bad}");
        }
    }
}
