//! How times and bookings are shown: labels in a reader's zone, and the API's JSON shapes.

use booking_core::booking::{Booking, Status};
use booking_core::invitee::UtmParam;
use booking_core::{TimeRange, TimeZoneName};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;

mod clock;
mod zones;

pub(crate) use clock::HourCycle;
pub(crate) use zones::{ZoneChoice, common_zones, search_zones, zone_named};

/// "Monday, March 1, 2027".
pub(crate) fn day_label(date: NaiveDate) -> String {
    date.format("%A, %B %-d, %Y").to_string()
}

/// "09:30" in `zone`.
pub(crate) fn clock_label(instant: DateTime<Utc>, zone: TimeZoneName) -> String {
    instant
        .with_timezone(&zone.tz())
        .format("%H:%M")
        .to_string()
}

/// "Monday, March 1, 2027, 09:30–10:00 (Europe/Berlin)".
pub(crate) fn slot_label(slot: TimeRange, zone: TimeZoneName) -> String {
    let start = slot.start().with_timezone(&zone.tz());
    format!(
        "{}, {}–{} ({})",
        day_label(start.date_naive()),
        clock_label(slot.start(), zone),
        clock_label(slot.end(), zone),
        zone.name()
    )
}

/// RFC 3339 in `zone`'s offset (UTC gives a `Z`).
pub(crate) fn rfc3339(instant: DateTime<Utc>, zone: Option<TimeZoneName>) -> String {
    match zone {
        Some(zone) => instant
            .with_timezone(&zone.tz())
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        None => instant.to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

/// Slots grouped by local day in `zone`, in order.
pub(crate) fn group_by_day(
    slots: &[TimeRange],
    zone: TimeZoneName,
) -> Vec<(NaiveDate, Vec<TimeRange>)> {
    let mut days: Vec<(NaiveDate, Vec<TimeRange>)> = Vec::new();
    for slot in slots {
        let date = slot.start().with_timezone(&zone.tz()).date_naive();
        match days.last_mut() {
            Some((d, list)) if *d == date => list.push(*slot),
            _ => days.push((date, vec![*slot])),
        }
    }
    days
}

/// Who cancelled, in words.
pub(crate) fn actor_label(actor: booking_core::Actor) -> &'static str {
    match actor {
        booking_core::Actor::Attendee => "the attendee",
        booking_core::Actor::Host => "the host",
        booking_core::Actor::Calendar => "the host, in their calendar",
        booking_core::Actor::System => {
            "Slotkeeper, because the booking was not reconfirmed in time"
        }
    }
}

/// A time range as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SlotBody {
    #[schema(format = DateTime)]
    pub(crate) start: String,
    #[schema(format = DateTime)]
    pub(crate) end: String,
}

impl SlotBody {
    /// `range` in `zone`'s offsets (UTC when `None`).
    pub(crate) fn of(range: TimeRange, zone: Option<TimeZoneName>) -> Self {
        Self {
            start: rfc3339(range.start(), zone),
            end: rfc3339(range.end(), zone),
        }
    }
}

/// A booking's state.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StatusName {
    Confirmed,
    Rescheduled,
    Cancelled,
    NoShow,
}

impl StatusName {
    fn of(status: &Status) -> Self {
        match status {
            Status::Confirmed => Self::Confirmed,
            Status::Rescheduled { .. } => Self::Rescheduled,
            Status::Cancelled(_) => Self::Cancelled,
            Status::NoShow { .. } => Self::NoShow,
        }
    }
}

/// Who booked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InviteeBody {
    name: String,
    #[schema(format = Email)]
    email: String,
    phone: Option<String>,
    /// IANA zone, e.g. Europe/Berlin.
    timezone: String,
}

/// One answer to a link's question.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnswerBody {
    /// One line, no control characters.
    #[schema(max_length = 500, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub(crate) question: String,
    /// Line breaks and tabs are kept; other control characters are refused.
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub(crate) answer: String,
}

/// Who cancelled, when and why.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancellationBody {
    /// attendee, host, calendar or system.
    by: String,
    reason: Option<String>,
    #[schema(format = DateTime)]
    at: String,
}

/// Where a booking stands with reconfirmation. Each time is `null` until it happens.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = BookingReconfirmation)]
pub(crate) struct ReconfirmationBody {
    /// When the "are you still attending?" request was delivered. The booking can be
    /// cancelled for want of an answer only once it has been.
    #[schema(format = DateTime)]
    requested_at: Option<String>,
    /// Until when the attendee may answer; past it, an asked and unanswered booking is
    /// cancelled. `null` when no deadline applies.
    #[schema(format = DateTime)]
    deadline: Option<String>,
    /// When the attendee reconfirmed.
    #[schema(format = DateTime)]
    reconfirmed_at: Option<String>,
}

/// The reconfirmation state of `b`, or `None` when reconfirmation does not concern it.
pub(crate) fn reconfirmation_json(b: &Booking) -> Option<ReconfirmationBody> {
    let at = |t: Option<DateTime<Utc>>| t.map(|t| rfc3339(t, None));
    let body = ReconfirmationBody {
        requested_at: at(b.reconfirm_requested_at()),
        deadline: at(b.reconfirm_by()),
        reconfirmed_at: at(b.reconfirmed_at()),
    };
    (body.requested_at.is_some() || body.deadline.is_some() || body.reconfirmed_at.is_some())
        .then_some(body)
}

/// A booking as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Booking)]
pub(crate) struct BookingBody {
    #[schema(format = "uuid")]
    id: String,
    /// The first booking's id, stable across reschedules.
    #[schema(format = "uuid")]
    chain_id: String,
    status: StatusName,
    #[schema(format = DateTime)]
    start: String,
    #[schema(format = DateTime)]
    end: String,
    invitee: InviteeBody,
    answers: Vec<AnswerBody>,
    /// utm_source, utm_medium, utm_campaign, utm_term, utm_content.
    tracking: BTreeMap<String, String>,
    #[schema(format = "uuid")]
    previous_id: Option<String>,
    #[schema(format = "uuid")]
    next_id: Option<String>,
    cancellation: Option<CancellationBody>,
    #[schema(format = DateTime)]
    reconfirmed_at: Option<String>,
    /// Request, deadline and answer; `null` when the link does not ask for reconfirmation or
    /// the booking was made inside the asking window (booking counted as confirmation).
    reconfirmation: Option<ReconfirmationBody>,
    #[schema(format = DateTime)]
    created_at: String,
    /// Only while the token is live (treat it like a password).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{32}$")]
    reschedule_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reschedule_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancel_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reconfirm_url: Option<String>,
}

/// A booking as the API returns it. Token and links are included only while the token is
/// live: whoever holds a dead token learns the state, not a new credential.
pub(crate) fn booking_json(state: &AppState, b: &Booking, live: bool) -> BookingBody {
    let token = b.token().expose();
    let live = live && matches!(b.status(), Status::Confirmed);
    let link = |kind: &str| live.then(|| state.url(&format!("/book/{kind}/{token}")));
    BookingBody {
        id: b.id().to_string(),
        chain_id: b.chain().to_string(),
        status: StatusName::of(b.status()),
        start: rfc3339(b.slot().start(), None),
        end: rfc3339(b.slot().end(), None),
        invitee: InviteeBody {
            name: b.invitee().name().as_str().to_owned(),
            email: b.invitee().email().as_str().to_owned(),
            phone: b.invitee().phone().map(|p| p.as_str().to_owned()),
            timezone: b.invitee().time_zone().name().to_owned(),
        },
        answers: b
            .answers()
            .pairs()
            .iter()
            .map(|(q, a)| AnswerBody {
                question: q.clone(),
                answer: a.clone(),
            })
            .collect(),
        tracking: UtmParam::ALL
            .iter()
            .filter_map(|p| {
                b.tracking()
                    .get(*p)
                    .map(|v| (p.key().to_owned(), v.to_owned()))
            })
            .collect(),
        previous_id: b.previous().map(|id| id.to_string()),
        next_id: b.next().map(|id| id.to_string()),
        cancellation: b.cancellation().map(|c| CancellationBody {
            by: c.by.as_str().to_owned(),
            reason: c.reason.as_ref().map(|r| r.as_str().to_owned()),
            at: rfc3339(c.at, None),
        }),
        reconfirmed_at: b.reconfirmed_at().map(|t| rfc3339(t, None)),
        reconfirmation: reconfirmation_json(b),
        created_at: rfc3339(b.created_at(), None),
        reschedule_token: live.then(|| token.to_owned()),
        reschedule_url: link("reschedule"),
        cancel_url: link("cancel"),
        reconfirm_url: link("reconfirm"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn labels_are_in_the_readers_zone() {
        let berlin = TimeZoneName::parse("Europe/Berlin").unwrap();
        let slot = TimeRange::new(
            Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2027, 3, 1, 8, 30, 0).unwrap(),
        )
        .unwrap();
        assert_eq!(
            slot_label(slot, berlin),
            "Monday, March 1, 2027, 09:00–09:30 (Europe/Berlin)"
        );
        let kolkata = TimeZoneName::parse("Asia/Kolkata").unwrap();
        assert_eq!(
            rfc3339(slot.start(), Some(kolkata)),
            "2027-03-01T13:30:00+05:30"
        );
        assert_eq!(rfc3339(slot.start(), None), "2027-03-01T08:00:00Z");
    }
}
