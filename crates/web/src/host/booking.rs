//! A meeting's detail page (its current row, the link's description and location,
//! reconfirmation, planned actions, the chain's history, answers, tracking and deal) and its
//! actions: move the meeting, cancel, no-show and its undo, re-sending the attendee's links,
//! and moving the deal.

mod moving;

use actix_web::http::StatusCode;
use actix_web::web;
use booking_core::booking::{Actor, Booking, Status};
use booking_core::calendar::{ConnectionStatus, Provider};
use booking_core::connections::CalendarConnection;
use booking_core::deals::{DealId, DealStage};
use booking_core::desk::Meeting;
use booking_core::effects::{Effect, EmailKind, Recipient, TextKind};
use booking_core::invitee::UtmParam;
use booking_core::ports::{Clock, DeadEntry};
use booking_core::service::{HostActionError, ResendLinksError};
use booking_core::{BookingId, TimeZoneName};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::extract::{HostForm, LoggedIn, Posted};
use super::fresh_links::FreshLinksError;
use super::integrations::{host_connections, provider_name};
use super::page::{PageResult, notice, page, see_other, stage_options};
use super::planned::{planned_lines, reconfirmation_lines};
use super::summary::{self, StepKind, moment};
use crate::AppState;
use crate::errors::Failure;
use crate::forms::{FieldErrors, parse_reason};
use crate::present::{actor_label, slot_label};
use crate::views::host::booking::{
    self, BookingView, DealBox, HistoryLine, MeetingDetails, MoveInput,
};

/// `calendar` is the provider's name ("Google") when the chain was mirrored to a calendar: a
/// change the host made there reads "moved in Google Calendar".
fn step_text(step: &summary::Step, zone: TimeZoneName, calendar: Option<&str>) -> String {
    let who = actor_label(step.by);
    if let (Actor::Calendar, Some(calendar)) = (step.by, calendar) {
        match step.kind {
            StepKind::Rescheduled => {
                return match step.from {
                    Some(from) => format!(
                        "Moved in {calendar} Calendar from {} to {}",
                        slot_label(from, zone),
                        slot_label(step.slot, zone)
                    ),
                    None => format!(
                        "Moved in {calendar} Calendar to {}",
                        slot_label(step.slot, zone)
                    ),
                };
            }
            StepKind::Cancelled => return format!("Deleted in {calendar} Calendar"),
            StepKind::Booked | StepKind::NoShow => {}
        }
    }
    match step.kind {
        StepKind::Booked => format!("Booked for {}", slot_label(step.slot, zone)),
        StepKind::Rescheduled => match step.from {
            Some(from) => format!(
                "Moved by {who} from {} to {}",
                slot_label(from, zone),
                slot_label(step.slot, zone)
            ),
            None => format!("Moved by {who} to {}", slot_label(step.slot, zone)),
        },
        StepKind::Cancelled => format!("Cancelled by {who}"),
        StepKind::NoShow => "Marked as a no-show".to_owned(),
    }
}

/// The provider's name of a `google` / `microsoft` event reference.
fn calendar_of(provider: &str) -> Option<&'static str> {
    provider.parse::<Provider>().ok().map(provider_name)
}

/// The "Calendar" line: where the meeting stands in the host's connected calendar.
fn calendar_line(current: &Booking, connections: &[CalendarConnection]) -> Option<String> {
    let active = connections
        .iter()
        .find(|c| c.status == ConnectionStatus::Active);
    let waiting = connections
        .iter()
        .any(|c| c.status == ConnectionStatus::NeedsReauth);
    let event = current
        .provider_event()
        .and_then(|e| calendar_of(&e.provider));
    match (current.status(), event) {
        (Status::Cancelled(_), Some(name)) if active.is_some() => {
            Some(format!("Deleted from {name} Calendar"))
        }
        (_, Some(name)) if active.is_some() => Some(format!("In {name} Calendar")),
        (_, None) if waiting => Some("Waiting for the calendar to be reconnected".to_owned()),
        (Status::Confirmed, None) => {
            active.map(|c| format!("Being added to {} Calendar", provider_name(c.provider)))
        }
        _ => None,
    }
}

/// What a dead outbox entry was meant to do, in the host's words.
fn effect_label(effect: &Effect) -> String {
    if let Some((kind, to, _)) = effect.as_email() {
        let mail = match kind {
            EmailKind::Booked => "booking confirmation",
            EmailKind::Rescheduled => "new time",
            EmailKind::Cancelled | EmailKind::CancelledNotReconfirmed => "cancellation",
            EmailKind::ReconfirmationRequest => "reconfirmation request",
            EmailKind::RescheduleLinks => "reschedule and cancel links",
            EmailKind::Reminder => "reminder",
        };
        let whom = match to {
            Recipient::Attendee => "the attendee",
            Recipient::Host => "you",
        };
        return format!("The {mail} mail to {whom}");
    }
    match effect {
        Effect::Calendar { .. } => "The calendar update".to_owned(),
        Effect::Webhook { event, .. } => format!("The {} webhook", event.name()),
        Effect::Text { kind, .. } => match kind {
            TextKind::Reminder => "The reminder text to the attendee".to_owned(),
            TextKind::ReconfirmationRequest => {
                "The reconfirmation request text to the attendee".to_owned()
            }
        },
        Effect::Step { step, .. } => format!("Step {step} of the link's workflow"),
        _ => "The deal record".to_owned(),
    }
}

/// One line of the "Not delivered" box: what, when it was given up, and the last error.
fn undelivered_line(dead: &DeadEntry, zone: TimeZoneName) -> String {
    let error: String = dead.last_error.chars().take(300).collect();
    format!(
        "{} could not be delivered (given up {}): {error}",
        effect_label(&dead.entry.effect),
        moment(dead.died_at, zone)
    )
}

/// The link's description and location; a web address as location is also a "Join" link.
fn meeting_details(link: Option<&booking_core::link::BookingLink>) -> MeetingDetails {
    let Some(link) = link else {
        return MeetingDetails::default();
    };
    let location = link.location().map(str::to_owned);
    let join = location
        .as_deref()
        .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
        .filter(|l| url::Url::parse(l).is_ok())
        .map(str::to_owned);
    MeetingDetails {
        description: link.description().map(str::to_owned),
        location,
        join,
    }
}

/// The detail page's view of `meeting`.
fn booking_view(
    me: &LoggedIn,
    meeting: &Meeting,
    connections: &[CalendarConnection],
    now: DateTime<Utc>,
    done: Option<&str>,
) -> BookingView {
    let Meeting {
        current,
        chain,
        link,
        deal,
        undelivered,
        planned,
        ..
    } = meeting;
    let zone = me.host.time_zone();
    let base = format!("/calendar/bookings/{}", current.id());
    let status = match current.status() {
        Status::Confirmed if now >= current.slot().end() => "Confirmed (took place)".to_owned(),
        Status::Confirmed if now >= current.slot().start() => "Confirmed (in progress)".to_owned(),
        Status::Confirmed => "Confirmed".to_owned(),
        Status::Rescheduled { .. } => "Rescheduled".to_owned(),
        Status::Cancelled(c) => format!(
            "Cancelled by {} on {}",
            actor_label(c.by),
            moment(c.at, zone)
        ),
        Status::NoShow { .. } => "No-show".to_owned(),
    };
    let confirmed = matches!(current.status(), Status::Confirmed);
    // Which calendar the chain was mirrored to, for changes made there.
    let mirrored_in = chain
        .iter()
        .rev()
        .find_map(|b| b.provider_event())
        .and_then(|e| calendar_of(&e.provider));
    let invitee = current.invitee();
    let mut facts = vec![
        ("Name", invitee.name().as_str().to_owned()),
        ("Email", invitee.email().as_str().to_owned()),
    ];
    if let Some(phone) = invitee.phone() {
        facts.push(("Phone", phone.as_str().to_owned()));
    }
    facts.push(("Time zone", invitee.time_zone().name().to_owned()));
    facts.push((
        "Their time",
        slot_label(current.slot(), invitee.time_zone()),
    ));
    BookingView {
        viewer: me.viewer(),
        title: link.as_ref().map_or_else(
            || "Meeting".to_owned(),
            |l| format!("{} with {}", l.title(), invitee.name().as_str()),
        ),
        when: slot_label(current.slot(), zone),
        status,
        zone: zone.name().to_owned(),
        invitee: facts,
        answers: current.answers().pairs().to_vec(),
        tracking: UtmParam::ALL
            .iter()
            .filter_map(|p| {
                current
                    .tracking()
                    .get(*p)
                    .map(|v| (p.key().to_owned(), v.to_owned()))
            })
            .collect(),
        calendar: calendar_line(current, connections),
        reconfirmation: reconfirmation_lines(current, link.as_ref(), planned, zone),
        planned: planned_lines(planned, current.id(), zone, now),
        undelivered: undelivered
            .iter()
            .map(|d| undelivered_line(d, zone))
            .collect(),
        history: summary::history(chain)
            .iter()
            .map(|s| HistoryLine {
                at: moment(s.at, zone),
                text: step_text(s, zone, mirrored_in),
                reason: s.reason.clone(),
            })
            .collect(),
        deal: deal.as_ref().map(|d| DealBox {
            stage: d.stage().as_str().to_owned(),
            stage_label: d.stage().label().to_owned(),
            action: format!("{base}/deal-stage"),
            stages: stage_options(),
        }),
        cancel_action: (confirmed && now < current.slot().end()).then(|| format!("{base}/cancel")),
        no_show_action: (confirmed && now >= current.slot().start())
            .then(|| format!("{base}/no-show")),
        undo_no_show_action: matches!(current.status(), Status::NoShow { .. })
            .then(|| format!("{base}/undo-no-show")),
        send_links_action: current
            .token_is_live(now)
            .then(|| format!("{base}/send-links")),
        move_form: None,
        details: meeting_details(link.as_ref()),
        notice: notice(done).or_else(|| {
            (done == Some("moved")).then(|| {
                "The meeting is moved; the attendee is being sent the new time, a new invite \
                 and fresh links by email."
                    .to_owned()
            })
        }),
        error: None,
    }
}

/// The detail page's query: the notice after an action, the first day the move form lists.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DetailQuery {
    done: Option<String>,
    from: Option<String>,
}

pub(crate) async fn booking_page(
    me: LoggedIn,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<DetailQuery>,
) -> PageResult {
    let id = BookingId::parse(&id).map_err(|_| Failure::NotFound)?;
    let meeting = me.desk(&state).meeting(me.id(), id).await?;
    let connections = host_connections(&state, me.id()).await?;
    let now = state.scheduler.clock().now();
    let mut vm = booking_view(&me, &meeting, &connections, now, query.done.as_deref());
    let zone = me.host.time_zone();
    let first = moving::first_day(query.from.as_deref(), zone, now);
    vm.move_form = moving::move_form(
        &state,
        me.id(),
        zone,
        &meeting.current,
        first,
        MoveInput::default(),
    )
    .await?;
    Ok(page(StatusCode::OK, booking::booking(&vm)))
}

/// The fields of the detail page's forms (every action posts its CSRF token; cancel may
/// carry a reason, the deal box a stage, the move form a start or a typed time, the override
/// and a note).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf: String,
    reason: Option<String>,
    stage: Option<String>,
    start: Option<String>,
    custom_start: Option<String>,
    allow_outside_hours: Option<String>,
    note: Option<String>,
}

impl ActionForm {
    /// The move form's fields, to act on or to show again.
    fn move_input(&self) -> MoveInput {
        MoveInput {
            start: self.start.clone().unwrap_or_default(),
            custom_start: self.custom_start.clone().unwrap_or_default(),
            note: self.note.clone().unwrap_or_default(),
            allow_outside_hours: self.allow_outside_hours.is_some(),
        }
    }
}

impl HostForm for ActionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// What an action on the detail page came to.
enum Outcome {
    /// Done: show this row with this `done` notice.
    Done(BookingId, &'static str),
    /// Refused: show the page again with this message (409 for the state, 429 for a limit,
    /// 422 for a move the host can correct).
    Refused(StatusCode, String),
}

/// Runs one of the detail page's actions.
async fn act(
    state: &AppState,
    me: &LoggedIn,
    booking: &Booking,
    action: &str,
    form: &ActionForm,
) -> Result<Outcome, Failure> {
    use Outcome::{Done, Refused};
    let host = me.id();
    let scheduler = &state.scheduler;
    let refused = |e: HostActionError| match e {
        HostActionError::Refused(r) => Ok(Refused(
            StatusCode::CONFLICT,
            format!("That is not possible now: {r}."),
        )),
        other => Err(Failure::from(other)),
    };
    Ok(match action {
        "reschedule" => {
            let request = match moving::host_move(&form.move_input(), me.host.time_zone()) {
                Ok(request) => request,
                Err(message) => return Ok(Refused(StatusCode::UNPROCESSABLE_ENTITY, message)),
            };
            match scheduler.host_reschedule(host, booking.id(), request).await {
                Ok(b) => Done(b.id(), "moved"),
                Err(e) => match moving::refusal(&e) {
                    Some((status, message)) => Refused(status, message),
                    None => return Err(Failure::from(e)),
                },
            }
        }
        "cancel" => {
            let mut errors = FieldErrors::default();
            let reason = parse_reason(form.reason.as_deref(), &mut errors);
            if !errors.is_empty() {
                return Ok(Refused(StatusCode::CONFLICT, errors.summary()));
            }
            match scheduler.host_cancel(host, booking.id(), reason).await {
                Ok(b) => Done(b.id(), "cancelled"),
                Err(e) => return refused(e),
            }
        }
        "no-show" => match scheduler.mark_no_show(host, booking.id()).await {
            Ok(b) => Done(b.id(), "no-show"),
            Err(e) => return refused(e),
        },
        "undo-no-show" => match scheduler.undo_no_show(host, booking.id()).await {
            Ok(b) => Done(b.id(), "undone"),
            Err(e) => return refused(e),
        },
        "send-links" => {
            let side = state.host.as_ref().ok_or(Failure::NotFound)?;
            match side.fresh_links.send(scheduler, host, booking.id()).await {
                Ok(b) => Done(b.id(), "links-sent"),
                Err(FreshLinksError::TooMany) => Refused(
                    StatusCode::TOO_MANY_REQUESTS,
                    FreshLinksError::limit_message(),
                ),
                Err(FreshLinksError::Resend(e)) => match e {
                    ResendLinksError::NotFound => return Err(Failure::NotFound),
                    ResendLinksError::Refused(r) => Refused(
                        StatusCode::CONFLICT,
                        format!("The attendee's links no longer work: {r}."),
                    ),
                    ResendLinksError::Store(e) => return Err(Failure::internal(&e)),
                },
            }
        }
        "deal-stage" => {
            let stage = form
                .stage
                .as_deref()
                .and_then(DealStage::parse)
                .ok_or(Failure::NotFound)?;
            me.desk(state)
                .move_deal(
                    host,
                    DealId::for_chain(booking.chain()),
                    stage,
                    scheduler.clock().now(),
                )
                .await?;
            Done(booking.id(), "deal-moved")
        }
        _ => return Err(Failure::NotFound),
    })
}

pub(crate) async fn booking_action(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    posted: Posted<ActionForm>,
) -> PageResult {
    let Posted { me, form } = posted;
    let (id, action) = path.into_inner();
    let id = BookingId::parse(&id).map_err(|_| Failure::NotFound)?;
    let desk = me.desk(&state);
    let booking = desk.booking(me.id(), id).await?;
    let (status, message) = match act(&state, &me, &booking, &action, &form).await? {
        Outcome::Done(id, done) => {
            return Ok(see_other(&format!("/calendar/bookings/{id}?done={done}")));
        }
        Outcome::Refused(status, message) => (status, message),
    };
    let meeting = desk.meeting(me.id(), booking.id()).await?;
    let connections = host_connections(&state, me.id()).await?;
    let now = state.scheduler.clock().now();
    let mut vm = booking_view(&me, &meeting, &connections, now, None);
    vm.error = Some(message);
    // A refused move shows its form again as posted, on the week it aimed at.
    let zone = me.host.time_zone();
    let kept = if action == "reschedule" {
        form.move_input()
    } else {
        MoveInput::default()
    };
    let first = moving::first_day(moving::aimed_day(&kept, zone).as_deref(), zone, now);
    vm.move_form = moving::move_form(&state, me.id(), zone, &meeting.current, first, kept).await?;
    Ok(page(status, booking::booking(&vm)))
}
