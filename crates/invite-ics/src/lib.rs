//! The calendar invite (RFC 5545 object, RFC 5546 method) of a booking: the one that travels
//! with a mail and the one the confirmation page offers for download. Pure: it renders from
//! the rows in a [`NotificationContext`] and reads no clock.
//!
//! One `UID` per chain (`{chain_id}@slotkeeper`) and the row's `SEQUENCE` make calendar
//! clients update the event they already have: a reschedule moves it, a cancel removes it.
//! Times are written in UTC, so no `VTIMEZONE` is needed.

use std::fmt::Write as _;

use booking_core::ports::NotificationContext;
use booking_core::{Actor, Status};
use chrono::{DateTime, Utc};
use ics::parameters::{CN, PartStat, RSVP, Role};
use ics::properties::{
    Attendee, CalScale, Description, DtEnd, DtStart, Location, Method, Organizer, Sequence,
    Status as IcsStatus, Summary, Transp, URL,
};
use ics::{Event, ICalendar, escape_text};

/// RFC 5545: a content line should be at most 75 octets, excluding the line break.
const FOLD_AT: usize = 75;

/// The iTIP method of an invite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteMethod {
    /// Create or update the event.
    Request,
    /// Remove the event.
    Cancel,
}

impl InviteMethod {
    /// The `METHOD` value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Request => "REQUEST",
            Self::Cancel => "CANCEL",
        }
    }
}

/// The `.ics` for the booking's current state: `METHOD:CANCEL` for a cancelled row,
/// `METHOD:REQUEST` otherwise. For the confirmation page's download link and for mails.
pub fn invite_ics(ctx: &NotificationContext<'_>) -> String {
    let method = if matches!(ctx.booking.status(), Status::Cancelled(_)) {
        InviteMethod::Cancel
    } else {
        InviteMethod::Request
    };
    render_invite(ctx, method)
}

/// The `.ics` for the booking with the given method (a mail about a cancellation carries a
/// `CANCEL`, one about a booking or a move a `REQUEST`).
pub fn render_invite(ctx: &NotificationContext<'_>, method: InviteMethod) -> String {
    let booking = ctx.booking;
    let invitee = booking.invitee();
    let cancellation = booking.cancellation();
    // A cancellation raised the row's sequence; a late REQUEST for the same row must not
    // claim that number, or the CANCEL would not supersede it.
    let sequence = match (method, cancellation) {
        (InviteMethod::Request, Some(_)) => booking.ics_sequence().saturating_sub(1),
        _ => booking.ics_sequence(),
    };
    // DTSTAMP is when this version of the event came to be, taken from the rows so that a
    // retried send produces the same invite.
    let stamp = cancellation.map_or(booking.created_at(), |c| c.at);

    let uid = format!("{}@slotkeeper", booking.chain());
    let mut event = Event::new(uid, utc(stamp));
    event.push(Sequence::new(sequence.to_string()));
    event.push(DtStart::new(utc(booking.slot().start())));
    event.push(DtEnd::new(utc(booking.slot().end())));
    let summary = format!(
        "{}: {} and {}",
        ctx.link.title(),
        ctx.host.name().as_str(),
        invitee.name().as_str()
    );
    event.push(Summary::new(escape_text(clean(&summary))));

    let mut organizer = Organizer::new(format!("mailto:{}", ctx.host.email()));
    organizer.add(CN::new(param_value(ctx.host.name().as_str())));
    event.push(organizer);
    let mut attendee = Attendee::new(format!("mailto:{}", invitee.email()));
    attendee.add(CN::new(param_value(invitee.name().as_str())));
    attendee.add(Role::REQ_PARTICIPANT);
    attendee.add(PartStat::ACCEPTED);
    attendee.add(RSVP::False);
    event.push(attendee);

    if let Some(location) = ctx.link.location() {
        event.push(Location::new(escape_text(clean(location))));
    }

    // What the meeting is about comes first, then what this version of it says.
    let mut description = String::new();
    if let Some(about) = ctx.link.description() {
        let _ = writeln!(description, "{about}\n");
    }
    match (method, cancellation) {
        (InviteMethod::Cancel, cancellation) => {
            event.push(IcsStatus::cancelled());
            let by = cancellation.map_or_else(|| "Slotkeeper".to_owned(), |c| canceller(c.by, ctx));
            let _ = writeln!(description, "Cancelled by {by}.");
            if let Some(reason) = cancellation.and_then(|c| c.reason.as_ref()) {
                let _ = writeln!(description, "Reason: {}", reason.as_str());
            }
        }
        (InviteMethod::Request, _) => {
            event.push(IcsStatus::confirmed());
            event.push(Transp::opaque());
            if let Some(url) = ctx.link.location_url() {
                let _ = writeln!(description, "Join: {url}");
            }
            let _ = writeln!(description, "Reschedule: {}", ctx.reschedule_url());
            let _ = writeln!(description, "Cancel: {}", ctx.cancel_url());
            event.push(URL::new(ctx.reschedule_url()));
        }
    }
    for (question, answer) in booking.answers().pairs() {
        let _ = writeln!(description, "{question}: {answer}");
    }
    event.push(Description::new(escape_text(clean(description.trim_end()))));

    let mut calendar = ICalendar::new("2.0", "-//Slotkeeper//Slotkeeper//EN");
    calendar.push(CalScale::new("GREGORIAN"));
    calendar.push(Method::new(method.name()));
    calendar.add_event(event);
    refold(&calendar.to_string())
}

/// Who cancelled, as told to both sides (in invites and in mails).
pub fn canceller(by: Actor, ctx: &NotificationContext<'_>) -> String {
    match by {
        Actor::Attendee => format!("{} (attendee)", ctx.booking.invitee().name().as_str()),
        Actor::Host => format!("{} (host)", ctx.host.name().as_str()),
        Actor::Calendar => format!("{} (in their calendar)", ctx.host.name().as_str()),
        Actor::System => "Slotkeeper (automatic)".to_owned(),
    }
}

fn utc(instant: DateTime<Utc>) -> String {
    instant.format("%Y%m%dT%H%M%SZ").to_string()
}

/// TEXT values may hold no control characters but tab and line breaks (which
/// [`escape_text`] turns into `\n`).
fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .collect()
}

/// A parameter value (a `CN`): quoted when it holds `,` `;` or `:`; a double quote cannot
/// appear even inside quotes, so it becomes a single one.
fn param_value(text: &str) -> String {
    let text: String = clean(text)
        .chars()
        .map(|c| {
            if matches!(c, '"' | '\n' | '\r') {
                '\''
            } else {
                c
            }
        })
        .collect();
    if text.contains([',', ';', ':']) {
        format!("\"{text}\"")
    } else {
        text
    }
}

/// Unfolds what the `ics` crate wrote and folds it again so that every physical line,
/// continuation space included, is at most 75 octets (the crate lets continuation lines
/// reach 76), never splitting a UTF-8 character.
fn refold(ics: &str) -> String {
    let mut out = String::with_capacity(ics.len() + ics.len() / 20);
    let unfolded = ics.replace("\r\n ", "");
    for line in unfolded.split("\r\n").filter(|l| !l.is_empty()) {
        let mut rest = line;
        let mut limit = FOLD_AT;
        loop {
            if rest.len() <= limit {
                out.push_str(rest);
                out.push_str("\r\n");
                break;
            }
            let mut cut = limit;
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            out.push_str(&rest[..cut]);
            out.push_str("\r\n ");
            rest = &rest[cut..];
            limit = FOLD_AT - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_every_line_within_75_octets_and_whole_characters() {
        let long = format!("DESCRIPTION:{}", "é€x".repeat(200));
        let folded = refold(&format!("BEGIN:VCALENDAR\r\n{long}\r\nEND:VCALENDAR\r\n"));
        for line in folded.split("\r\n") {
            assert!(line.len() <= FOLD_AT, "{} octets: {line}", line.len());
        }
        assert_eq!(
            folded.replace("\r\n ", ""),
            format!("BEGIN:VCALENDAR\r\n{long}\r\nEND:VCALENDAR\r\n")
        );
    }

    #[test]
    fn parameter_values_are_quoted_when_needed() {
        assert_eq!(param_value("Ada Lovelace"), "Ada Lovelace");
        assert_eq!(param_value("Lovelace, Ada"), "\"Lovelace, Ada\"");
        assert_eq!(param_value("Dr. \"Ada\": PhD"), "\"Dr. 'Ada': PhD\"");
    }
}
