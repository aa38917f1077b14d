//! What the host is shown about a meeting, for pages and the API alike: the chain's history
//! (booked; moved from X to Y by whom and why; cancelled; marked no-show) and the JSON shapes
//! of deals and links.

use booking_core::booking::{Actor, Booking, Origin, Status};
use booking_core::deals::Deal;
use booking_core::link::BookingLink;
use booking_core::{TimeRange, TimeZoneName};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::present::rfc3339;

/// What happened in one step of a meeting's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepKind {
    Booked,
    Rescheduled,
    Cancelled,
    NoShow,
}

impl StepKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Booked => "booked",
            Self::Rescheduled => "rescheduled",
            Self::Cancelled => "cancelled",
            Self::NoShow => "no_show",
        }
    }
}

/// One step of a chain's history.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) kind: StepKind,
    pub(crate) at: DateTime<Utc>,
    pub(crate) by: Actor,
    /// The meeting's time before the step (a move's old time).
    pub(crate) from: Option<TimeRange>,
    /// The meeting's time after it (or the time it concerns).
    pub(crate) slot: TimeRange,
    pub(crate) reason: Option<String>,
}

/// The chain's history, oldest first. `chain` is every row of one meeting, oldest first.
pub(crate) fn history(chain: &[Booking]) -> Vec<Step> {
    let mut steps = Vec::new();
    for row in chain {
        match row.origin() {
            Origin::Booked => steps.push(Step {
                kind: StepKind::Booked,
                at: row.created_at(),
                by: Actor::Attendee,
                from: None,
                slot: row.slot(),
                reason: None,
            }),
            Origin::Rescheduled {
                previous,
                by,
                reason,
            } => steps.push(Step {
                kind: StepKind::Rescheduled,
                at: row.created_at(),
                by: *by,
                from: chain
                    .iter()
                    .find(|b| b.id() == *previous)
                    .map(Booking::slot),
                slot: row.slot(),
                reason: reason.as_ref().map(|r| r.as_str().to_owned()),
            }),
        }
        match row.status() {
            Status::Cancelled(c) => steps.push(Step {
                kind: StepKind::Cancelled,
                at: c.at,
                by: c.by,
                from: None,
                slot: row.slot(),
                reason: c.reason.as_ref().map(|r| r.as_str().to_owned()),
            }),
            Status::NoShow { marked_at } => steps.push(Step {
                kind: StepKind::NoShow,
                at: *marked_at,
                by: Actor::Host,
                from: None,
                slot: row.slot(),
                reason: None,
            }),
            Status::Confirmed | Status::Rescheduled { .. } => {}
        }
    }
    steps.sort_by_key(|s| s.at);
    steps
}

/// "March 1, 2027 at 10:15" in `zone`.
pub(crate) fn moment(instant: DateTime<Utc>, zone: TimeZoneName) -> String {
    instant
        .with_timezone(&zone.tz())
        .format("%B %-d, %Y at %H:%M")
        .to_string()
}

pub(crate) fn step_json(step: &Step) -> Value {
    json!({
        "kind": step.kind.as_str(),
        "at": rfc3339(step.at, None),
        "by": step.by.as_str(),
        "from": step.from.map(|r| json!({"start": rfc3339(r.start(), None), "end": rfc3339(r.end(), None)})),
        "start": rfc3339(step.slot.start(), None),
        "end": rfc3339(step.slot.end(), None),
        "reason": step.reason,
    })
}

pub(crate) fn deal_json(deal: &Deal) -> Value {
    json!({
        "id": deal.id().to_string(),
        "chain_id": deal.chain().to_string(),
        "booking_id": deal.booking().to_string(),
        "link_id": deal.link().to_string(),
        "contact": {"name": deal.contact_name().as_str(), "email": deal.contact_email().as_str()},
        "stage": deal.stage().as_str(),
        "stage_changed_at": rfc3339(deal.stage_changed_at(), None),
        "created_at": rfc3339(deal.created_at(), None),
    })
}

pub(crate) fn link_json(link: &BookingLink, base: &str) -> Value {
    let r = link.to_record();
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let periods = |p: &[(u16, u16)]| -> Vec<String> {
        p.iter()
            .map(|(a, b)| format!("{:02}:{:02}-{:02}:{:02}", a / 60, a % 60, b / 60, b % 60))
            .collect()
    };
    let weekly: serde_json::Map<String, Value> = days
        .iter()
        .zip(&r.weekly)
        .map(|(d, p)| ((*d).to_owned(), json!(periods(p))))
        .collect();
    let overrides: serde_json::Map<String, Value> = r
        .overrides
        .iter()
        .map(|(d, p)| (d.format("%Y-%m-%d").to_string(), json!(periods(p))))
        .collect();
    json!({
        "id": r.id.to_string(),
        "slug": r.slug,
        "url": format!("{base}/book/{}", r.slug),
        "title": r.title,
        "description": r.description,
        "location": r.location,
        "time_zone": r.time_zone,
        "duration_minutes": r.duration_minutes,
        "interval_minutes": r.interval_minutes,
        "buffer_before_minutes": r.buffer_before_minutes,
        "buffer_after_minutes": r.buffer_after_minutes,
        "minimum_notice_minutes": r.minimum_notice_minutes,
        "max_days_ahead": r.max_days_ahead,
        "weekly_hours": weekly,
        "date_overrides": overrides,
        "questions": r.questions,
        "create_deal": r.create_deal,
        "reconfirmation": match (r.reconfirm_ask_minutes, r.reconfirm_cancel_minutes) {
            (Some(ask), Some(cancel)) => json!({"ask_hours_before": ask / 60, "cancel_hours_before": cancel / 60}),
            _ => Value::Null,
        },
    })
}

/// A dashboard tab by its name in a query (`upcoming` when none is given).
pub(crate) fn parse_tab(text: Option<&str>) -> Option<booking_core::ports::DashboardTab> {
    use booking_core::ports::DashboardTab;
    Some(match text.unwrap_or("upcoming") {
        "upcoming" => DashboardTab::Upcoming,
        "past" => DashboardTab::Past,
        "no_shows" | "no-shows" => DashboardTab::NoShows,
        "cancelled" => DashboardTab::Cancelled,
        _ => return None,
    })
}
