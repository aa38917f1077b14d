//! The webhook body, field for field as in the webhook contract (`callRescheduled` document).
//!
//! Values Slotkeeper has no concept of get fixed, documented values (docs/WEBHOOKS.md):
//! `event_type.kind` is `"Direct Assignment"`, `owner.type` `"host"`, `event_type.type`
//! `"ONE_ON_ONE"`, `event.type` `"MEETING"`, `setter` an object of empty strings.

use booking_core::booking::{Actor, Origin};
use booking_core::invitee::UtmParam;
use booking_core::{Booking, TimeZoneName};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::{NotificationContext, WebhookEvent};

/// `"Call booked"`, `"Call rescheduled"`, `"Call cancelled"` or `"Workflow step"`.
pub fn hook_type(event: WebhookEvent) -> &'static str {
    match event {
        WebhookEvent::CallBooked => "Call booked",
        WebhookEvent::CallRescheduled => "Call rescheduled",
        WebhookEvent::CallCancelled => "Call cancelled",
        WebhookEvent::WorkflowStep => "Workflow step",
    }
}

/// The JSON body of `event` about `ctx.booking`: an array with one object.
///
/// `event.uuid` is the chain id (stable across reschedules); `invitee.uuid` is the row's id
/// (new with every reschedule). `old_start_time` is the previous row's start for
/// `callRescheduled` and `null` otherwise. Times are RFC 3339 with an offset: `utc_*` in UTC,
/// `start_time`/`end_time`/`created_at`/`canceled_at`/`old_start_time` and the
/// `invitee.reconfirmation` times in the host's zone, `invitee_*` in the invitee's.
pub fn payload(event: WebhookEvent, ctx: &NotificationContext<'_>) -> Value {
    let booking = ctx.booking;
    let invitee = booking.invitee();
    let host_zone = ctx.host.time_zone();
    let invitee_zone = invitee.time_zone();
    let slot = booking.slot();
    let base = ctx.public_base_url.trim_end_matches('/');

    let cancellation = booking.cancellation();
    let canceled = cancellation.is_some();
    let canceler_name = cancellation.map(|c| canceller_name(c.by, ctx));
    let cancel_reason = cancellation
        .and_then(|c| c.reason.as_ref())
        .map(|r| r.as_str().to_owned());
    let canceled_at = cancellation.map(|c| local(c.at, host_zone));
    let (is_reschedule, reschedule_reason) = match booking.origin() {
        Origin::Booked => (false, None),
        Origin::Rescheduled { reason, .. } => {
            (true, reason.as_ref().map(|r| r.as_str().to_owned()))
        }
    };
    let old_start_time = match event {
        WebhookEvent::CallRescheduled => ctx.previous.map(|p| local(p.slot().start(), host_zone)),
        WebhookEvent::CallBooked | WebhookEvent::CallCancelled | WebhookEvent::WorkflowStep => None,
    };

    let name = invitee.name().as_str();
    let (first_name, last_name) = match name.split_once(char::is_whitespace) {
        Some((first, rest)) => (first.to_owned(), rest.trim().to_owned()),
        None => (name.to_owned(), String::new()),
    };
    let host_name = ctx.host.name().as_str();
    let duration_minutes = slot.length().num_minutes();

    let document = json!({
        "event_type": {
            "uuid": ctx.link.id().to_string(),
            "kind": "Direct Assignment",
            "slug": ctx.link.slug().as_str(),
            "name": ctx.link.title(),
            "duration": duration_minutes.to_string(),
            "durationUnit": "MINUTES",
            "owner": { "type": "host" },
            "type": "ONE_ON_ONE",
        },
        "event": {
            "uuid": booking.chain().to_string(),
            "assigned_to": { "1": host_name },
            "extended_assigned_to": {
                "1": { "name": host_name, "email": ctx.host.email().as_str(), "primary": "true" }
            },
            "utc_start_time": slot.start().to_rfc3339_opts(SecondsFormat::Secs, false),
            "utc_end_time": slot.end().to_rfc3339_opts(SecondsFormat::Secs, false),
            "start_time": local(slot.start(), host_zone),
            "start_time_pretty": pretty(slot.start(), host_zone),
            "invitee_start_time": local(slot.start(), invitee_zone),
            "invitee_start_time_pretty": pretty(slot.start(), invitee_zone),
            "end_time": local(slot.end(), host_zone),
            "end_time_pretty": pretty(slot.end(), host_zone),
            "invitee_end_time": local(slot.end(), invitee_zone),
            "invitee_end_time_pretty": pretty(slot.end(), invitee_zone),
            "created_at": local(booking.created_at(), host_zone),
            "type": "MEETING",
            "location": format!("{base}/book/{}", ctx.link.slug()),
            "old_start_time": old_start_time,
            "canceled": canceled,
            "canceler_name": canceler_name,
            "cancel_reason": cancel_reason,
            "canceled_at": canceled_at,
            "setter": { "firstName": "", "lastName": "", "email": "" },
        },
        "invitee": {
            "uuid": booking.id().to_string(),
            "name": name,
            "first_name": first_name,
            "last_name": last_name,
            "email": invitee.email().as_str(),
            "text_reminder_number": invitee.phone().map(|p| p.as_str()),
            "timezone": invitee_zone.name(),
            "created_at": local(booking.created_at(), host_zone),
            "is_reschedule": is_reschedule,
            "reschedule_reason": reschedule_reason,
            "canceled": canceled,
            "canceler_name": canceler_name,
            "cancel_reason": cancel_reason,
            "canceled_at": canceled_at,
            "previewUrl": format!("{base}/calendar/bookings/{}", booking.id()),
            "reconfirmation": reconfirmation(booking, host_zone),
        },
        "questions_and_answers": questions_and_answers(booking),
        "questions_and_responses": questions_and_responses(booking),
        "tracking": tracking(booking),
        "hookType": hook_type(event),
    });
    Value::Array(vec![document])
}

/// RFC 3339 in `zone`, seconds precision, numeric offset (`2023-02-15T18:00:00+01:00`).
fn local(instant: DateTime<Utc>, zone: TimeZoneName) -> String {
    instant
        .with_timezone(&zone.tz())
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// `06:00pm - Wednesday, February 15, 2023` in `zone`.
fn pretty(instant: DateTime<Utc>, zone: TimeZoneName) -> String {
    instant
        .with_timezone(&zone.tz())
        .format("%I:%M%P - %A, %B %-d, %Y")
        .to_string()
}

/// `{requested_at, deadline, reconfirmed_at}` (each `null` until it happens or when it does
/// not apply), or `null` when reconfirmation does not concern the booking at all (the link
/// does not ask, or it was booked inside the asking window).
fn reconfirmation(booking: &Booking, zone: TimeZoneName) -> Value {
    let requested_at = booking.reconfirm_requested_at();
    let deadline = booking.reconfirm_by();
    let reconfirmed_at = booking.reconfirmed_at();
    if requested_at.is_none() && deadline.is_none() && reconfirmed_at.is_none() {
        return Value::Null;
    }
    let at = |t: Option<DateTime<Utc>>| t.map(|t| local(t, zone));
    json!({
        "requested_at": at(requested_at),
        "deadline": at(deadline),
        "reconfirmed_at": at(reconfirmed_at),
    })
}

fn canceller_name(by: Actor, ctx: &NotificationContext<'_>) -> String {
    match by {
        Actor::Attendee => ctx.booking.invitee().name().as_str().to_owned(),
        Actor::Host | Actor::Calendar => ctx.host.name().as_str().to_owned(),
        Actor::System => "Slotkeeper".to_owned(),
    }
}

fn questions_and_answers(booking: &Booking) -> Value {
    booking
        .answers()
        .pairs()
        .iter()
        .map(|(question, answer)| json!({ "question": question, "answer": answer }))
        .collect()
}

/// Each question as a key with its answer, plus `question`/`response` holding the last pair
/// (the shape of the contract's single-answer example); `{}` without answers.
fn questions_and_responses(booking: &Booking) -> Value {
    let mut object = Map::new();
    let pairs = booking.answers().pairs();
    if let Some((question, answer)) = pairs.last() {
        object.insert("question".into(), json!(question));
        object.insert("response".into(), json!(answer));
    }
    for (question, answer) in pairs {
        object.insert(question.clone(), json!(answer));
    }
    Value::Object(object)
}

/// The five `utm_*` values ("" when absent), the same as `first_utm_*` (a chain keeps the
/// tracking of its first booking), and `utmKey_i`/`utmValue_i` listing the set ones in the
/// order source, medium, campaign, term, content, padded with "" to five.
fn tracking(booking: &Booking) -> Value {
    let tracking = booking.tracking();
    let mut object = Map::new();
    for param in UtmParam::ALL {
        let value = tracking.get(param).unwrap_or("");
        object.insert(param.key().to_owned(), json!(value));
        object.insert(format!("first_{}", param.key()), json!(value));
    }
    let set: Vec<(&str, &str)> = UtmParam::ALL
        .iter()
        .filter_map(|p| tracking.get(*p).map(|v| (p.key(), v)))
        .collect();
    for i in 0..UtmParam::ALL.len() {
        let (key, value) = set.get(i).copied().unwrap_or(("", ""));
        object.insert(format!("utmKey_{i}"), json!(key));
        object.insert(format!("utmValue_{i}"), json!(value));
    }
    Value::Object(object)
}
