//! What the host is told about what is still to happen to a meeting: where it stands with
//! reconfirmation (asked when, deadline, reconfirmed, cancelled for want of it) and the
//! actions still planned in the outbox, in words, in the host's zone.

use booking_core::booking::{Booking, Status};
use booking_core::link::BookingLink;
use booking_core::ports::PendingEntry;
use booking_core::reconfirmation::{self, ReconfirmationState};
use booking_core::{BookingId, TimeZoneName};
use chrono::{DateTime, Utc};

use super::summary::moment;
use crate::views::host::booking::{PlannedLine, ReconfirmationLines};

/// The outbox code of the attendee's reconfirmation request.
const REQUEST: &str = "email/ReconfirmationRequest/Attendee";

/// Where `current` stands with reconfirmation, or `None` when it does not concern it.
pub(crate) fn reconfirmation_lines(
    current: &Booking,
    link: Option<&BookingLink>,
    planned: &[PendingEntry],
    zone: TimeZoneName,
) -> Option<ReconfirmationLines> {
    use ReconfirmationState as S;
    let request_due = planned
        .iter()
        .find(|p| p.booking == current.id() && p.code == REQUEST)
        .map(|p| p.due_at);
    let policy = link.and_then(BookingLink::reconfirmation);
    let state = reconfirmation::state(current, policy, request_due)?;
    let at = |t: DateTime<Utc>| moment(t, zone);
    let confirmed = matches!(current.status(), Status::Confirmed);
    let summary = match state {
        S::BookedInsideWindow => "Not asked: booked inside the reconfirmation window, which \
                                  counts as confirming the meeting."
            .to_owned(),
        S::WillBeAsked { at: due, .. } => format!("Will be asked on {}.", at(due)),
        S::Asked { at: asked, .. } if confirmed => {
            format!("Asked on {}; awaiting reconfirmation.", at(asked))
        }
        S::Asked { at: asked, .. } => format!("Asked on {}.", at(asked)),
        S::NotAsked { .. } if confirmed => "Not asked: the request could not go out in time, so \
                                            the meeting will not be cancelled automatically."
            .to_owned(),
        S::NotAsked { .. } => "Not asked.".to_owned(),
        S::Reconfirmed { at: yes, .. } => format!("Reconfirmed on {}.", at(yes)),
        S::AutoCancelled {
            deadline, at: when, ..
        } => format!(
            "Cancelled automatically on {}: not reconfirmed by {}.",
            at(when),
            at(deadline)
        ),
    };
    let mut facts = Vec::new();
    if let Some(asked) = current.reconfirm_requested_at() {
        facts.push(("Asked", at(asked)));
    }
    if let Some(deadline) = current.reconfirm_by() {
        facts.push(("Deadline", at(deadline)));
    }
    if let Some(yes) = current.reconfirmed_at() {
        facts.push(("Reconfirmed", at(yes)));
    }
    Some(ReconfirmationLines { summary, facts })
}

/// The compact mark of a row in the dashboard's list, from the row alone.
pub(crate) fn reconfirmation_badge(b: &Booking) -> Option<&'static str> {
    match reconfirmation::state(b, None, None)? {
        ReconfirmationState::Asked { .. } if matches!(b.status(), Status::Confirmed) => {
            Some("awaiting reconfirmation")
        }
        ReconfirmationState::Reconfirmed { .. } => Some("reconfirmed"),
        ReconfirmationState::AutoCancelled { .. } => Some("not reconfirmed"),
        _ => None,
    }
}

/// The planned actions of a meeting whose current row is `current`, soonest first.
pub(crate) fn planned_lines(
    planned: &[PendingEntry],
    current: BookingId,
    zone: TimeZoneName,
    now: DateTime<Utc>,
) -> Vec<PlannedLine> {
    planned
        .iter()
        .map(|p| {
            let (what, code) = match action_label(&p.code) {
                Some(label) => (label, None),
                None => ("An action of kind".to_owned(), Some(p.code.clone())),
            };
            let what = if p.booking == current {
                what
            } else {
                format!("{what} (for the earlier time)")
            };
            PlannedLine {
                due: moment(p.due_at, zone),
                what,
                code,
                state: entry_state(p, now),
            }
        })
        .collect()
}

fn entry_state(p: &PendingEntry, now: DateTime<Utc>) -> String {
    if p.leased_until.is_some_and(|until| until > now) {
        return "being delivered".to_owned();
    }
    match (&p.last_error, p.attempts) {
        (Some(error), n) if n > 0 => {
            let error: String = error.chars().take(200).collect();
            format!("attempt {n} failed ({error}); will retry")
        }
        _ if p.due_at <= now => "due now".to_owned(),
        _ => "planned".to_owned(),
    }
}

/// A planned action in the host's words, from its outbox code; `None` for kinds not known
/// here (newer kinds are shown by their code).
fn action_label(code: &str) -> Option<String> {
    let parts: Vec<&str> = code.split('/').collect();
    Some(match parts.as_slice() {
        ["email", "ReconfirmationRequest", "Attendee"] => {
            "Reconfirmation request to the attendee".to_owned()
        }
        ["email", "RescheduleLinks", "Attendee", ..] => {
            "Reschedule and cancel links to the attendee".to_owned()
        }
        ["email", kind, to] => {
            let mail = match *kind {
                "Booked" => "Booking confirmation",
                "Rescheduled" => "New time",
                "Cancelled" => "Cancellation",
                "CancelledNotReconfirmed" => "Cancellation for want of reconfirmation",
                _ => return None,
            };
            let whom = match *to {
                "Attendee" => "the attendee",
                "Host" => "you",
                _ => return None,
            };
            format!("{mail} mail to {whom}")
        }
        ["calendar", "Create"] => "Add to your calendar".to_owned(),
        ["calendar", "UpdateInPlace"] => "Move in your calendar".to_owned(),
        ["calendar", "Delete"] => "Remove from your calendar".to_owned(),
        ["webhook", event] => format!("The {event} webhook"),
        ["deal"] => "Open the deal record".to_owned(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_read_as_words_and_unknown_ones_are_kept() {
        assert_eq!(
            action_label("email/ReconfirmationRequest/Attendee").as_deref(),
            Some("Reconfirmation request to the attendee")
        );
        assert_eq!(
            action_label("email/Booked/Host").as_deref(),
            Some("Booking confirmation mail to you")
        );
        assert_eq!(
            action_label("webhook/callBooked").as_deref(),
            Some("The callBooked webhook")
        );
        assert_eq!(action_label("sms/Reminder/Attendee"), None);
        assert_eq!(action_label("email/Reminder/Attendee"), None);
    }
}
