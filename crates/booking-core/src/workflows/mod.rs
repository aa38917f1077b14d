//! Workflows: the messages a booking link sends at moments relative to its meetings, beyond
//! the notifications of each change (booked, rescheduled, cancelled — [`crate::booking`]).
//!
//! Every link runs the default workflow:
//!
//! - a **reminder** [`REMINDER_BEFORE`] the meeting, by email to the attendee and by text
//!   (SMS) when they gave a phone number;
//! - when the link asks for reconfirmation, the **reconfirmation request** at the link's
//!   "ask" moment, by email and by text likewise; when it falls on the reminder's moment it
//!   *is* the reminder (one message, not two);
//! - the auto-cancel at the link's deadline, enforced on the row (`reconfirm_by`, see
//!   [`crate::service::Scheduler::expire_unreconfirmed`]).
//!
//! A host may give a link a workflow of its own ([`Workflow`]): a small trigger × action
//! matrix of [`Step`]s (mail the attendee or the host, text the attendee, post a webhook;
//! when booked, rescheduled, cancelled, N minutes before the start or after the end, marked
//! a no-show, or cancelled for want of reconfirmation), worded by the host's [`Template`]s,
//! and the channels of the reconfirmation request. Steps become [`Effect::Step`] entries
//! ([`plan`]), read back from the link when due.
//!
//! Timed messages are outbox entries with a not-before time, planned in the same commit as the
//! row they are about ([`timed_effects`]): a reschedule plans the new row's own and leaves the
//! old row's to be skipped at delivery ([`skip_reason`]: it is no longer confirmed), a cancel
//! likewise. A moment that had already passed when the booking was made is not planned at
//! all: booking that close counts as confirming. A moment that passes while no worker runs is
//! delivered late, unless the meeting has started by then.

mod steps;
mod template;
mod texts;

use chrono::{DateTime, TimeDelta, Utc};

use crate::booking::{Booking, Status};
use crate::effects::{Effect, EmailKind, PlannedEffect, Recipient, TextKind};
use crate::invitee::Invitee;
use crate::link::{BookingLink, ReconfirmationPolicy};
use crate::time::TimeRange;

pub use steps::{
    Action, InvalidWorkflow, MAX_STEP_MINUTES, MAX_STEPS, PRESETS, Step, StepText, Trigger,
    Workflow, preset,
};
pub use template::{FIELDS, Rendered, Template};
pub use texts::{MAX_TEXT_SEGMENTS, step_text_body, text_body, text_segments};

/// How long before the meeting the default reminder goes out.
pub const REMINDER_BEFORE: TimeDelta = TimeDelta::hours(24);

/// A message sent at a moment before the meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimedMessage {
    /// The reminder.
    Reminder,
    /// "Are you still attending?"
    ReconfirmationRequest,
}

impl From<TextKind> for TimedMessage {
    fn from(kind: TextKind) -> Self {
        match kind {
            TextKind::Reminder => Self::Reminder,
            TextKind::ReconfirmationRequest => Self::ReconfirmationRequest,
        }
    }
}

impl TimedMessage {
    /// The timed message an email template is, if it is one.
    pub fn of_email(kind: EmailKind) -> Option<Self> {
        match kind {
            EmailKind::Reminder => Some(Self::Reminder),
            EmailKind::ReconfirmationRequest => Some(Self::ReconfirmationRequest),
            _ => None,
        }
    }
}

/// The link's reconfirmation policy, if a booking made (or moved) at `now` to `slot` is
/// subject to it: not when `now` is already inside the window in which attendees are asked.
/// Booking that close to the meeting counts as confirming it, so it is neither asked nor
/// auto-cancelled.
///
/// Nor is a booking whose request would reach nobody (a link that asks by text only, an
/// attendee without a phone number): no booking is auto-cancelled without being asked.
pub(crate) fn reconfirmation_applies(
    link: &BookingLink,
    slot: TimeRange,
    invitee: &Invitee,
    now: DateTime<Utc>,
) -> Option<ReconfirmationPolicy> {
    let reaches = link.workflow().is_none_or(|w| {
        w.reconfirm_by_email() || (w.reconfirm_by_text() && invitee.phone().is_some())
    });
    link.reconfirmation()
        .filter(|p| reaches && now < slot.start() - p.ask_before())
}

/// The auto-cancel deadline of a booking made (or moved) at `now` to `slot`, if any.
pub(crate) fn reconfirm_deadline(
    link: &BookingLink,
    slot: TimeRange,
    invitee: &Invitee,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    reconfirmation_applies(link, slot, invitee, now).map(|p| slot.start() - p.cancel_before())
}

/// What happened to a booking row, for the steps it triggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The row was booked.
    Booked,
    /// The row is the new time of a moved booking.
    Rescheduled,
    /// The row was cancelled (by the attendee, the host or their calendar).
    Cancelled,
    /// The host marked the row a no-show.
    NoShow,
    /// The row was cancelled for want of reconfirmation.
    NotReconfirmed,
}

impl Event {
    fn trigger(self) -> Trigger {
        match self {
            Self::Booked => Trigger::Booked,
            Self::Rescheduled => Trigger::Rescheduled,
            Self::Cancelled => Trigger::Cancelled,
            Self::NoShow => Trigger::NoShow,
            Self::NotReconfirmed => Trigger::NotReconfirmed,
        }
    }
}

/// Everything `link`'s workflow plans for `booking` when `event` happens to it at `now`: the
/// steps the event triggers, due now, and — for a row booked or moved to its slot — its timed
/// messages ([`timed_effects`]).
pub fn plan(
    link: &BookingLink,
    booking: &Booking,
    event: Event,
    now: DateTime<Utc>,
) -> Vec<PlannedEffect> {
    let mut planned: Vec<PlannedEffect> = link
        .workflow()
        .into_iter()
        .flat_map(Workflow::steps)
        .filter(|s| s.trigger() == event.trigger())
        .filter(|s| s.action() != Action::TextAttendee || booking.invitee().phone().is_some())
        .map(|s| PlannedEffect::now(step_effect(booking, s), now))
        .collect();
    if matches!(event, Event::Booked | Event::Rescheduled) {
        planned.extend(timed_effects(link, booking, now));
    }
    planned
}

fn step_effect(booking: &Booking, step: &Step) -> Effect {
    Effect::Step {
        booking: booking.id(),
        step: step.id(),
    }
}

/// The timed messages of `booking`, a row made (booked, or moved to its slot) at `now` through
/// `link`, each due at its moment. For a link without a workflow of its own: the reminder and
/// the reconfirmation request, by email and — when the attendee gave a phone number — by text;
/// with its own, the request by the channels it chose and its timed steps. Moments already
/// past at `now` are left out, and a built-in reminder falling on the request's moment is the
/// request.
pub fn timed_effects(
    link: &BookingLink,
    booking: &Booking,
    now: DateTime<Utc>,
) -> Vec<PlannedEffect> {
    let start = booking.slot().start();
    let id = booking.id();
    let texts = booking.invitee().phone().is_some();
    let own = link.workflow();
    let (by_email, by_text) = own.map_or((true, true), |w| {
        (w.reconfirm_by_email(), w.reconfirm_by_text())
    });
    let mut planned = Vec::new();
    let mut plan = |effect: Effect, due_at: DateTime<Utc>| {
        planned.push(PlannedEffect { effect, due_at });
    };
    let ask_at = reconfirmation_applies(link, booking.slot(), booking.invitee(), now)
        .map(|p| start - p.ask_before());
    if let Some(at) = ask_at {
        if by_email {
            plan(attendee_mail(EmailKind::ReconfirmationRequest, id), at);
        }
        if by_text && texts {
            plan(text(TextKind::ReconfirmationRequest, id), at);
        }
    }
    let Some(workflow) = own else {
        let remind_at = start - REMINDER_BEFORE;
        if now < remind_at && ask_at != Some(remind_at) {
            plan(attendee_mail(EmailKind::Reminder, id), remind_at);
            if texts {
                plan(text(TextKind::Reminder, id), remind_at);
            }
        }
        return planned;
    };
    for step in workflow.steps() {
        let due_at = match step.trigger() {
            Trigger::BeforeStart(m) => start - TimeDelta::minutes(i64::from(m)),
            Trigger::AfterEnd(m) => booking.slot().end() + TimeDelta::minutes(i64::from(m)),
            _ => continue,
        };
        let is_request = ask_at == Some(due_at)
            && step.wording().is_none()
            && match step.action() {
                Action::EmailAttendee => by_email,
                Action::TextAttendee => by_text,
                _ => false,
            };
        let reaches = step.action() != Action::TextAttendee || texts;
        if now < due_at && reaches && !is_request {
            plan(step_effect(booking, step), due_at);
        }
    }
    planned
}

fn attendee_mail(kind: EmailKind, booking: crate::ids::BookingId) -> Effect {
    Effect::Email {
        kind,
        to: Recipient::Attendee,
        booking,
    }
}

fn text(kind: TextKind, booking: crate::ids::BookingId) -> Effect {
    Effect::Text { kind, booking }
}

/// Why step `step` planned for `booking` should not run at `now`: a step before the start
/// as [`skip_reason`] says for a reminder; a step after the end unless the meeting took place
/// (the row is still confirmed and has ended); steps of changes run whatever came after.
pub fn step_skip_reason(
    step: &Step,
    booking: &Booking,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    match step.trigger() {
        Trigger::BeforeStart(_) => skip_reason(TimedMessage::Reminder, booking, now),
        Trigger::AfterEnd(_) if !matches!(booking.status(), Status::Confirmed) => {
            Some("the meeting did not take place as booked")
        }
        _ => None,
    }
}

/// Why a timed message planned for `booking` should not go out at `now` (delivery may be
/// late, after downtime): the row was moved, cancelled or marked a no-show, the meeting has
/// started, or — for a reconfirmation request — the attendee already reconfirmed. `None`:
/// send it.
pub fn skip_reason(
    message: TimedMessage,
    booking: &Booking,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    if !matches!(booking.status(), Status::Confirmed) {
        return Some("the booking is no longer confirmed");
    }
    if booking.slot().start() <= now {
        return Some("the meeting has started");
    }
    if message == TimedMessage::ReconfirmationRequest && booking.reconfirmed_at().is_some() {
        return Some("the booking is already reconfirmed");
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::availability::{AvailabilityRules, DayPeriod, RulesDraft};
    use crate::booking::NewBooking;
    use crate::ids::{BookingId, HostId, LinkId};
    use crate::invitee::{Answers, Email, Invitee, PersonName, Phone, Tracking};
    use crate::link::{LinkSettings, Slug};
    use crate::time::TimeZoneName;
    use crate::token::RescheduleToken;
    use chrono::TimeZone;
    use uuid::Uuid;

    pub(crate) fn at(day: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 5, day, h, 0, 0).unwrap()
    }

    pub(crate) fn link(title: &str, reconfirm: Option<(i64, i64)>) -> BookingLink {
        let zone = TimeZoneName::parse("UTC").unwrap();
        let draft = RulesDraft::weekdays(
            zone,
            DayPeriod::parse("09:00-17:00").unwrap(),
            TimeDelta::minutes(30),
        );
        let settings = LinkSettings {
            title: title.into(),
            rules: AvailabilityRules::new(draft).unwrap(),
            reconfirmation: reconfirm.map(|(ask, cancel)| {
                ReconfirmationPolicy::new(TimeDelta::minutes(ask), TimeDelta::minutes(cancel))
                    .unwrap()
            }),
            create_deal: false,
            questions: vec![],
        };
        BookingLink::new(
            LinkId::from_uuid(Uuid::from_u128(2)),
            HostId::from_uuid(Uuid::from_u128(1)),
            Slug::parse("intro").unwrap(),
            settings,
        )
        .unwrap()
    }

    pub(crate) fn booking(link: &BookingLink, phone: bool, now: DateTime<Utc>) -> Booking {
        let slot = TimeRange::starting_at(at(12, 10), TimeDelta::minutes(30)).unwrap();
        let invitee = Invitee::new(
            PersonName::parse("Ada").unwrap(),
            Email::parse("ada@example.org").unwrap(),
            phone.then(|| Phone::parse("+44 20 7946 0018").unwrap()),
            TimeZoneName::parse("Europe/London").unwrap(),
        );
        let reconfirm_by = reconfirm_deadline(link, slot, &invitee, now);
        Booking::confirmed(NewBooking {
            id: BookingId::from_uuid(Uuid::from_u128(5)),
            host: link.host(),
            link: link.id(),
            slot,
            blocked: slot,
            token: RescheduleToken::from_bytes([5; 16]),
            invitee,
            answers: Answers::default(),
            tracking: Tracking::default(),
            reconfirm_by,
            created_at: now,
        })
        .result
    }

    fn plan(
        reconfirm: Option<(i64, i64)>,
        phone: bool,
        now: DateTime<Utc>,
    ) -> Vec<(String, DateTime<Utc>)> {
        let l = link("Intro", reconfirm);
        timed_effects(&l, &booking(&l, phone, now), now)
            .into_iter()
            .map(|p| (p.effect.code(), p.due_at))
            .collect()
    }

    #[test]
    fn the_default_is_a_reminder_a_day_before_by_email_and_text_when_there_is_a_phone() {
        let day_before = at(11, 10);
        assert_eq!(
            plan(None, false, at(1, 9)),
            [("email/Reminder/Attendee".to_owned(), day_before)]
        );
        assert_eq!(
            plan(None, true, at(1, 9)),
            [
                ("email/Reminder/Attendee".to_owned(), day_before),
                ("text/Reminder".to_owned(), day_before)
            ]
        );
    }

    #[test]
    fn a_moment_already_past_at_booking_is_not_planned() {
        // Booked 20 hours ahead: the reminder's moment has passed, nothing is planned.
        assert_eq!(plan(None, true, at(11, 14)), []);
        // Asked 2 h before, booked 17 minutes ahead: no request (and no deadline).
        let late = at(12, 10) - TimeDelta::minutes(17);
        assert_eq!(plan(Some((120, 60)), true, late), []);
        let l = link("Intro", Some((120, 60)));
        assert_eq!(booking(&l, true, late).reconfirm_by(), None);
    }

    #[test]
    fn a_reminder_due_with_the_reconfirmation_request_is_that_request() {
        let day_before = at(11, 10);
        assert_eq!(
            plan(Some((24 * 60, 120)), true, at(1, 9)),
            [
                (
                    "email/ReconfirmationRequest/Attendee".to_owned(),
                    day_before
                ),
                ("text/ReconfirmationRequest".to_owned(), day_before)
            ]
        );
        // Asked two days before: both go out, each at its own moment.
        assert_eq!(
            plan(Some((48 * 60, 120)), false, at(1, 9)),
            [
                (
                    "email/ReconfirmationRequest/Attendee".to_owned(),
                    at(10, 10)
                ),
                ("email/Reminder/Attendee".to_owned(), day_before)
            ]
        );
    }

    #[test]
    fn a_request_that_would_reach_nobody_is_not_made_and_sets_no_deadline() {
        let texts_only = Workflow::new(vec![], false, true).unwrap();
        let l = link("Intro", Some((48 * 60, 120))).with_workflow(Some(texts_only));
        let early = at(1, 9);
        assert_eq!(booking(&l, false, early).reconfirm_by(), None);
        assert_eq!(timed_effects(&l, &booking(&l, false, early), early), []);
        let with_phone = booking(&l, true, early);
        assert_eq!(with_phone.reconfirm_by(), Some(at(12, 8)));
        let codes: Vec<String> = timed_effects(&l, &with_phone, early)
            .iter()
            .map(|p| p.effect.code())
            .collect();
        assert_eq!(codes, ["text/ReconfirmationRequest"]);
    }

    #[test]
    fn timed_messages_are_skipped_once_the_row_moved_on_or_the_meeting_started() {
        let l = link("Intro", Some((24 * 60, 120)));
        let b = booking(&l, false, at(1, 9));
        let before = at(12, 9);
        assert_eq!(skip_reason(TimedMessage::Reminder, &b, before), None);
        assert!(skip_reason(TimedMessage::Reminder, &b, at(12, 10)).is_some());
        let reconfirmed = b.reconfirm(before).unwrap().result;
        assert_eq!(
            skip_reason(TimedMessage::Reminder, &reconfirmed, before),
            None
        );
        assert!(skip_reason(TimedMessage::ReconfirmationRequest, &reconfirmed, before).is_some());
        let cancelled = b.cancel_by_attendee(before, None).unwrap().result;
        assert!(skip_reason(TimedMessage::Reminder, &cancelled, before).is_some());
    }
}
