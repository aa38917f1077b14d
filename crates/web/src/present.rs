//! How times and bookings are shown: labels in a reader's zone, and the API's JSON shapes.

use booking_core::booking::{Booking, Status};
use booking_core::invitee::UtmParam;
use booking_core::{TimeRange, TimeZoneName};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::AppState;

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

/// A booking as the API returns it. Token and links are included only while the token is
/// live: whoever holds a dead token learns the state, not a new credential.
pub(crate) fn booking_json(state: &AppState, b: &Booking, live: bool) -> Value {
    let token = b.token().expose();
    let cancellation = b.cancellation().map(|c| {
        json!({
            "by": c.by.as_str(),
            "reason": c.reason.as_ref().map(|r| r.as_str()),
            "at": rfc3339(c.at, None),
        })
    });
    let answers: Vec<Value> = b
        .answers()
        .pairs()
        .iter()
        .map(|(q, a)| json!({"question": q, "answer": a}))
        .collect();
    let tracking: serde_json::Map<String, Value> = UtmParam::ALL
        .iter()
        .filter_map(|p| {
            b.tracking()
                .get(*p)
                .map(|v| (p.key().to_owned(), Value::from(v)))
        })
        .collect();
    let mut body = json!({
        "id": b.id().to_string(),
        "chain_id": b.chain().to_string(),
        "status": b.status().name(),
        "start": rfc3339(b.slot().start(), None),
        "end": rfc3339(b.slot().end(), None),
        "invitee": {
            "name": b.invitee().name().as_str(),
            "email": b.invitee().email().as_str(),
            "phone": b.invitee().phone().map(|p| p.as_str()),
            "timezone": b.invitee().time_zone().name(),
        },
        "answers": answers,
        "tracking": tracking,
        "previous_id": b.previous().map(|id| id.to_string()),
        "next_id": b.next().map(|id| id.to_string()),
        "cancellation": cancellation,
        "reconfirmed_at": b.reconfirmed_at().map(|t| rfc3339(t, None)),
        "created_at": rfc3339(b.created_at(), None),
    });
    if live && matches!(b.status(), Status::Confirmed) {
        body["reschedule_token"] = json!(token);
        body["reschedule_url"] = json!(state.url(&format!("/book/reschedule/{token}")));
        body["cancel_url"] = json!(state.url(&format!("/book/cancel/{token}")));
        body["reconfirm_url"] = json!(state.url(&format!("/book/reconfirm/{token}")));
    }
    body
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
