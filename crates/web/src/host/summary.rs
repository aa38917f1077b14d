//! What the host is shown about a meeting, for pages and the API alike: the chain's history
//! (booked; moved from X to Y by whom and why; cancelled; marked no-show) and the JSON shapes
//! of deals and links.

use booking_core::booking::{Actor, Booking, Origin, Status};
use booking_core::deals::Deal;
use booking_core::link::BookingLink;
use booking_core::{TimeRange, TimeZoneName};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use booking_core::deals::DealStage;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::linkform::ReconfirmBody;
use super::workflowform::WorkflowInput;

use crate::present::{SlotBody, rfc3339};

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

/// One step of a meeting's history, as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = HistoryStep)]
pub(crate) struct StepBody {
    /// booked, rescheduled, cancelled or no_show.
    kind: String,
    #[schema(format = DateTime)]
    at: String,
    /// attendee, host, calendar or system.
    by: String,
    /// The meeting's time before a move.
    from: Option<SlotBody>,
    #[schema(format = DateTime)]
    start: String,
    #[schema(format = DateTime)]
    end: String,
    reason: Option<String>,
}

pub(crate) fn step_json(step: &Step) -> StepBody {
    StepBody {
        kind: step.kind.as_str().to_owned(),
        at: rfc3339(step.at, None),
        by: step.by.as_str().to_owned(),
        from: step.from.map(|r| SlotBody::of(r, None)),
        start: rfc3339(step.slot.start(), None),
        end: rfc3339(step.slot.end(), None),
        reason: step.reason.clone(),
    }
}

/// Who a deal is with.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContactBody {
    name: String,
    #[schema(format = Email)]
    email: String,
}

/// A deal as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Deal)]
pub(crate) struct DealBody {
    #[schema(format = "uuid")]
    id: String,
    #[schema(format = "uuid")]
    chain_id: String,
    #[schema(format = "uuid")]
    booking_id: String,
    #[schema(format = "uuid")]
    link_id: String,
    contact: ContactBody,
    stage: StageName,
    #[schema(format = DateTime)]
    stage_changed_at: String,
    #[schema(format = DateTime)]
    created_at: String,
}

/// A deal's stage.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StageName {
    New,
    Qualified,
    Proposal,
    Negotiation,
    ClosedWon,
    ClosedLost,
}

impl StageName {
    fn of(stage: DealStage) -> Self {
        match stage {
            DealStage::New => Self::New,
            DealStage::Qualified => Self::Qualified,
            DealStage::Proposal => Self::Proposal,
            DealStage::Negotiation => Self::Negotiation,
            DealStage::ClosedWon => Self::ClosedWon,
            DealStage::ClosedLost => Self::ClosedLost,
        }
    }
}

pub(crate) fn deal_json(deal: &Deal) -> DealBody {
    DealBody {
        id: deal.id().to_string(),
        chain_id: deal.chain().to_string(),
        booking_id: deal.booking().to_string(),
        link_id: deal.link().to_string(),
        contact: ContactBody {
            name: deal.contact_name().as_str().to_owned(),
            email: deal.contact_email().as_str().to_owned(),
        },
        stage: StageName::of(deal.stage()),
        stage_changed_at: rfc3339(deal.stage_changed_at(), None),
        created_at: rfc3339(deal.created_at(), None),
    }
}

/// A booking link as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Link)]
pub(crate) struct LinkBody {
    #[schema(format = "uuid")]
    id: String,
    slug: String,
    /// The public booking page.
    url: String,
    title: String,
    description: Option<String>,
    location: Option<String>,
    time_zone: String,
    duration_minutes: i64,
    interval_minutes: i64,
    buffer_before_minutes: i64,
    buffer_after_minutes: i64,
    minimum_notice_minutes: i64,
    max_days_ahead: Option<i64>,
    /// mon … sun: periods like 09:00-17:00 (a closed day has none).
    weekly_hours: BTreeMap<String, Vec<String>>,
    /// YYYY-MM-DD: periods; an empty list closes the day.
    date_overrides: BTreeMap<String, Vec<String>>,
    questions: Vec<String>,
    create_deal: bool,
    reconfirmation: Option<ReconfirmBody>,
    /// The workflow the link runs (its own, or the standard one).
    workflow: WorkflowInput,
    /// Whether that is the standard workflow (the link has none of its own).
    standard_workflow: bool,
}

pub(crate) fn link_json(link: &BookingLink, base: &str) -> LinkBody {
    let r = link.to_record();
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let periods = |p: &[(u16, u16)]| -> Vec<String> {
        p.iter()
            .map(|(a, b)| format!("{:02}:{:02}-{:02}:{:02}", a / 60, a % 60, b / 60, b % 60))
            .collect()
    };
    LinkBody {
        id: r.id.to_string(),
        url: format!("{base}/book/{}", r.slug),
        slug: r.slug,
        title: r.title,
        description: r.description,
        location: r.location,
        time_zone: r.time_zone,
        duration_minutes: r.duration_minutes,
        interval_minutes: r.interval_minutes,
        buffer_before_minutes: r.buffer_before_minutes,
        buffer_after_minutes: r.buffer_after_minutes,
        minimum_notice_minutes: r.minimum_notice_minutes,
        max_days_ahead: r.max_days_ahead,
        weekly_hours: days
            .iter()
            .zip(&r.weekly)
            .map(|(d, p)| ((*d).to_owned(), periods(p)))
            .collect(),
        date_overrides: r
            .overrides
            .iter()
            .map(|(d, p)| (d.format("%Y-%m-%d").to_string(), periods(p)))
            .collect(),
        questions: r.questions,
        create_deal: r.create_deal,
        reconfirmation: match (r.reconfirm_ask_minutes, r.reconfirm_cancel_minutes) {
            (Some(ask), Some(cancel)) => Some(ReconfirmBody::of(ask, cancel)),
            _ => None,
        },
        workflow: WorkflowInput::of(&link.effective_workflow()),
        standard_workflow: link.workflow().is_none(),
    }
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
