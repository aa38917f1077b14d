//! The detail page's "Move this meeting" form: a week of the link's free times for the host
//! to pick from, the posted fields read into a [`HostMove`], and refusals in the host's words.

use actix_web::http::StatusCode;
use booking_core::booking::{Booking, Status};
use booking_core::invitee::Reason;
use booking_core::service::{HostMove, HostRescheduleError};
use booking_core::{TimeRange, TimeZoneName};
use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::AppState;
use crate::errors::Failure;
use crate::forms::{FieldErrors, parse_instant};
use crate::present::{clock_label, day_label, group_by_day, rfc3339};
use crate::views::host::booking::{MoveDay, MoveForm, MoveInput};

/// How many days the form lists at once.
const WEEK: u64 = 7;

/// Whether the host may still move `current` at `now`.
pub(super) fn movable(current: &Booking, now: DateTime<Utc>) -> bool {
    matches!(current.status(), Status::Confirmed) && now < current.slot().start()
}

/// The first day the form lists: `from` (`YYYY-MM-DD`) when given and not before today in
/// the host's zone, else today.
pub(super) fn first_day(from: Option<&str>, zone: TimeZoneName, now: DateTime<Utc>) -> NaiveDate {
    let today = now.with_timezone(&zone.tz()).date_naive();
    from.and_then(|f| NaiveDate::parse_from_str(f.trim(), "%Y-%m-%d").ok())
        .filter(|d| *d >= today)
        .unwrap_or(today)
}

/// The day a posted move aimed at, so a refused form shows that week again.
pub(super) fn aimed_day(kept: &MoveInput, zone: TimeZoneName) -> Option<String> {
    let start = local_input(&kept.custom_start, zone)
        .ok()
        .flatten()
        .or_else(|| {
            DateTime::parse_from_rfc3339(kept.start.trim())
                .ok()
                .map(|t| t.to_utc())
        })?;
    Some(
        start
            .with_timezone(&zone.tz())
            .date_naive()
            .format("%Y-%m-%d")
            .to_string(),
    )
}

fn local_midnight(date: NaiveDate, zone: TimeZoneName) -> DateTime<Utc> {
    let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    // A zone may skip midnight on a clock change; the day then starts at the first instant after.
    zone.tz()
        .from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            zone.tz()
                .from_local_datetime(&(naive + chrono::TimeDelta::hours(1)))
                .earliest()
        })
        .map_or_else(|| Utc.from_utc_datetime(&naive), |t| t.to_utc())
}

/// The form for `current` with the week from `first` listed, or `None` when the meeting can
/// no longer be moved. A calendar that cannot be read lists no times but keeps the form (the
/// override still works, and the move is checked again when posted).
pub(super) async fn move_form(
    state: &AppState,
    host: booking_core::HostId,
    zone: TimeZoneName,
    current: &Booking,
    first: NaiveDate,
    kept: MoveInput,
) -> Result<Option<MoveForm>, Failure> {
    let now = booking_core::ports::Clock::now(state.scheduler.clock());
    if !movable(current, now) {
        return Ok(None);
    }
    let end = first + Days::new(WEEK);
    let window = TimeRange::new(local_midnight(first, zone), local_midnight(end, zone))
        .map_err(|_| Failure::Internal)?;
    let base = format!("/calendar/bookings/{}", current.id());
    let (slots, next, unlisted) = match state
        .scheduler
        .host_move_slots(host, current.id(), window)
        .await
    {
        Ok(page) => (page.slots, page.next, None),
        Err(HostRescheduleError::Calendar(e)) => {
            tracing::warn!(error = %e, "calendar unavailable");
            let why = "Your calendar could not be read just now, so no free times are listed.";
            (Vec::new(), None, Some(why.to_owned()))
        }
        Err(e) => return Err(e.into()),
    };
    let days = group_by_day(&slots, zone)
        .into_iter()
        .map(|(date, slots)| MoveDay {
            label: day_label(date),
            times: slots
                .iter()
                .filter(|s| s.start() != current.slot().start())
                .map(|s| (rfc3339(s.start(), None), clock_label(s.start(), zone)))
                .collect(),
        })
        .filter(|d| !d.times.is_empty())
        .collect();
    let today = now.with_timezone(&zone.tz()).date_naive();
    let later = next
        .map(|n| n.with_timezone(&zone.tz()).date_naive())
        .filter(|d| *d > first)
        .unwrap_or(end);
    let earlier = (first > today).then(|| (first - Days::new(WEEK)).max(today));
    let week_link = |d: NaiveDate| format!("{base}?from={}#move", d.format("%Y-%m-%d"));
    Ok(Some(MoveForm {
        action: format!("{base}/reschedule"),
        week: format!("From {}", day_label(first)),
        days,
        unlisted,
        earlier: earlier.map(week_link),
        later: Some(week_link(later)),
        kept,
    }))
}

/// A `datetime-local` value (`2027-03-01T18:00`, seconds optional) in `zone`; `Ok(None)` when
/// empty. In a clock change's overlap the earlier instant is meant.
fn local_input(text: &str, zone: TimeZoneName) -> Result<Option<DateTime<Utc>>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| format!("“{text}” is not a date and time like 2027-03-01T18:00."))?;
    zone.tz()
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| Some(t.to_utc()))
        .ok_or_else(|| {
            format!(
                "{text} does not exist in {} (the clocks skip it); pick another time.",
                zone.name()
            )
        })
}

/// The move the posted fields ask for: a typed time (in the host's `zone`) wins over the
/// chosen slot.
///
/// # Errors
/// A message for the host when no time was given or a field cannot be read.
pub(super) fn host_move(kept: &MoveInput, zone: TimeZoneName) -> Result<HostMove, String> {
    let start = match local_input(&kept.custom_start, zone)? {
        Some(start) => start,
        None if kept.start.trim().is_empty() => {
            return Err("Pick a new time from the list, or type one.".to_owned());
        }
        None => {
            let mut errors = FieldErrors::default();
            parse_instant(&kept.start, "start", &mut errors).ok_or_else(|| errors.summary())?
        }
    };
    let note = Reason::parse_optional(Some(&kept.note)).map_err(|e| format!("note: {e}"))?;
    Ok(HostMove {
        start,
        note,
        allow_outside_hours: kept.allow_outside_hours,
    })
}

/// A refused move in the host's words, with its status; `None` for failures that are not
/// the host's to fix (shown as the error page).
pub(super) fn refusal(e: &HostRescheduleError) -> Option<(StatusCode, String)> {
    let (status, text) = match e {
        HostRescheduleError::SlotTaken => (
            StatusCode::CONFLICT,
            "That time is taken: another meeting (with its buffers) or a busy time in your \
             calendar is in the way. Pick another time.",
        ),
        HostRescheduleError::OutsideHours => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "That time is outside the hours of this meeting's link. Tick “Allow a time outside \
             my hours” to move it there anyway.",
        ),
        HostRescheduleError::SameSlot => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "The meeting is already at that time; pick a different one.",
        ),
        HostRescheduleError::InThePast => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "That time has already passed; pick a later one.",
        ),
        HostRescheduleError::OutsideHorizon(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "That time is too far away to book; pick a nearer one.",
        ),
        HostRescheduleError::Refused(r) => {
            return Some((
                StatusCode::CONFLICT,
                format!("The meeting cannot be moved: {r}."),
            ));
        }
        HostRescheduleError::NotFound
        | HostRescheduleError::Calendar(_)
        | HostRescheduleError::Store(_) => return None,
    };
    Some((status, text.to_owned()))
}
