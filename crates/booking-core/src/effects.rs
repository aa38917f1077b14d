//! Side effects as data. Use cases return them; the store commits them to the outbox in the
//! same transaction as the state change; workers in the binary deliver them.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};

use crate::ids::{BookingId, ChainId};

/// Who a notification email is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Recipient {
    /// The invitee.
    Attendee,
    /// The link's host.
    Host,
}

/// Which email template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EmailKind {
    /// A new booking, with a `METHOD:REQUEST` invite.
    Booked,
    /// A booking moved, with a `METHOD:REQUEST` invite at a higher `SEQUENCE`.
    Rescheduled,
    /// A booking cancelled by someone, with a `METHOD:CANCEL` invite.
    Cancelled,
    /// "Are you still attending?" with the reconfirm link.
    ReconfirmationRequest,
    /// A reminder of the meeting shortly before it, with the reschedule and cancel links.
    Reminder,
    /// Cancelled by the system because the attendee did not reconfirm in time.
    CancelledNotReconfirmed,
    /// The booking's reschedule and cancel links again, sent at the host's request. Queued
    /// only as [`Effect::ResendLinks`], which a row may get many times.
    RescheduleLinks,
}

/// Which text message (SMS) to the attendee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TextKind {
    /// A reminder of the meeting, with the reschedule link.
    Reminder,
    /// "Still attending?" with the reconfirm link.
    ReconfirmationRequest,
}

/// What to do to the host's external calendar event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CalendarOp {
    /// Create the event for a new booking.
    Create,
    /// Move the chain's existing event to the new booking's time (no second event).
    UpdateInPlace,
    /// Delete the chain's event.
    Delete,
}

/// Outbound webhook events, named as in the webhook contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WebhookEvent {
    /// `callBooked`
    CallBooked,
    /// `callRescheduled`
    CallRescheduled,
    /// `callCancelled`
    CallCancelled,
    /// `workflowStep`: a link's workflow step with the webhook action ran.
    WorkflowStep,
}

impl WebhookEvent {
    /// The event's wire name.
    pub fn name(self) -> &'static str {
        match self {
            Self::CallBooked => "callBooked",
            Self::CallRescheduled => "callRescheduled",
            Self::CallCancelled => "callCancelled",
            Self::WorkflowStep => "workflowStep",
        }
    }
}

/// One thing to tell the outside world about one booking row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Effect {
    /// Send an email.
    Email {
        /// Template.
        kind: EmailKind,
        /// Attendee or host.
        to: Recipient,
        /// The booking row it is about.
        booking: BookingId,
    },
    /// Change the host's calendar.
    Calendar {
        /// What to do.
        op: CalendarOp,
        /// The booking row it is about.
        booking: BookingId,
    },
    /// Notify webhook subscribers.
    Webhook {
        /// Event name.
        event: WebhookEvent,
        /// The booking row it is about.
        booking: BookingId,
    },
    /// Open a CRM deal for the meeting (never touched again by cancel).
    CreateDeal {
        /// The meeting.
        chain: ChainId,
        /// The booking that created it.
        booking: BookingId,
    },
    /// Text the attendee (SMS), when they gave a phone number and SMS is configured.
    Text {
        /// Which message.
        kind: TextKind,
        /// The booking row it is about.
        booking: BookingId,
    },
    /// Run step `step` of the link's workflow ([`crate::workflows::Step`]) for the row. The
    /// dispatcher reads the step from the link when it is due; a step removed meanwhile is
    /// skipped.
    Step {
        /// The booking row it is about.
        booking: BookingId,
        /// The step's number in its link's workflow.
        step: u16,
    },
    /// Mail the attendee the row's reschedule and cancel links again
    /// ([`EmailKind::RescheduleLinks`]), because the host asked. Unlike every other effect a
    /// row may get this one any number of times: `send` (fresh per request) tells the sends
    /// apart, so each has its own idempotency key and a retried delivery is still one mail.
    ResendLinks {
        /// The booking row whose links are sent (the chain's current row).
        booking: BookingId,
        /// Unique per request.
        send: uuid::Uuid,
    },
}

impl Effect {
    /// The booking row the effect is about.
    pub fn booking(&self) -> BookingId {
        match *self {
            Self::Email { booking, .. }
            | Self::Calendar { booking, .. }
            | Self::Webhook { booking, .. }
            | Self::CreateDeal { booking, .. }
            | Self::Text { booking, .. }
            | Self::Step { booking, .. }
            | Self::ResendLinks { booking, .. } => booking,
        }
    }

    /// The mail this effect sends, if it is one: template, recipient and row. Lets a delivery
    /// worker treat [`Effect::ResendLinks`] like any [`Effect::Email`].
    pub fn as_email(&self) -> Option<(EmailKind, Recipient, BookingId)> {
        match *self {
            Self::Email { kind, to, booking } => Some((kind, to, booking)),
            Self::ResendLinks { booking, .. } => {
                Some((EmailKind::RescheduleLinks, Recipient::Attendee, booking))
            }
            _ => None,
        }
    }

    /// A key unique to this effect of this row: a row gets each kind of effect at most once,
    /// so the key lets every delivery be deduplicated by receivers and by the outbox.
    pub fn idempotency_key(&self) -> String {
        match *self {
            Self::Email { kind, to, booking } => format!("{booking}:email:{kind:?}:{to:?}"),
            Self::Calendar { op, booking } => format!("{booking}:calendar:{op:?}"),
            Self::Webhook { event, booking } => format!("{booking}:webhook:{}", event.name()),
            Self::CreateDeal { booking, .. } => format!("{booking}:deal"),
            Self::Text { kind, booking } => format!("{booking}:text:{kind:?}"),
            Self::Step { booking, step } => format!("{booking}:step:{step}"),
            Self::ResendLinks { booking, send } => {
                format!("{booking}:email:RescheduleLinks:Attendee:{send}")
            }
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.idempotency_key())
    }
}

/// An effect and the earliest time it may be delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlannedEffect {
    /// What to do.
    pub effect: Effect,
    /// Not before this instant (now for most; later for reminders and reconfirmation
    /// requests, see [`crate::workflows`]).
    pub due_at: DateTime<Utc>,
}

impl PlannedEffect {
    /// Due at `now`.
    pub fn now(effect: Effect, now: DateTime<Utc>) -> Self {
        Self {
            effect,
            due_at: now,
        }
    }
}

impl Effect {
    /// A short stable code naming the effect without its row and chain ids, as stored in the
    /// outbox (`email/Booked/Attendee`, `calendar/UpdateInPlace`, `webhook/callBooked`, `deal`,
    /// `text/Reminder`, `step/3`, `email/RescheduleLinks/Attendee/{send}`).
    pub fn code(&self) -> String {
        match *self {
            Self::Email { kind, to, .. } => format!("email/{kind:?}/{to:?}"),
            Self::Calendar { op, .. } => format!("calendar/{op:?}"),
            Self::Webhook { event, .. } => format!("webhook/{}", event.name()),
            Self::CreateDeal { .. } => "deal".to_owned(),
            Self::Text { kind, .. } => format!("text/{kind:?}"),
            Self::Step { step, .. } => format!("step/{step}"),
            Self::ResendLinks { send, .. } => format!("email/RescheduleLinks/Attendee/{send}"),
        }
    }

    /// Inverse of [`Effect::code`], given the row and chain it is about.
    pub fn from_code(code: &str, booking: BookingId, chain: ChainId) -> Option<Self> {
        use CalendarOp::*;
        use EmailKind::*;
        let parts: Vec<&str> = code.split('/').collect();
        Some(match parts.as_slice() {
            ["email", kind, to] => {
                let kind = [
                    Booked,
                    Rescheduled,
                    Cancelled,
                    ReconfirmationRequest,
                    CancelledNotReconfirmed,
                    Reminder,
                ]
                .into_iter()
                .find(|k| format!("{k:?}") == *kind)?;
                let to = [Recipient::Attendee, Recipient::Host]
                    .into_iter()
                    .find(|r| format!("{r:?}") == *to)?;
                Self::Email { kind, to, booking }
            }
            ["calendar", op] => {
                let op = [Create, UpdateInPlace, Delete]
                    .into_iter()
                    .find(|o| format!("{o:?}") == *op)?;
                Self::Calendar { op, booking }
            }
            ["webhook", name] => {
                let event = [
                    WebhookEvent::CallBooked,
                    WebhookEvent::CallRescheduled,
                    WebhookEvent::CallCancelled,
                    WebhookEvent::WorkflowStep,
                ]
                .into_iter()
                .find(|e| e.name() == *name)?;
                Self::Webhook { event, booking }
            }
            ["deal"] => Self::CreateDeal { chain, booking },
            ["step", step] => Self::Step {
                booking,
                step: step.parse().ok()?,
            },
            ["text", kind] => {
                let kind = [TextKind::Reminder, TextKind::ReconfirmationRequest]
                    .into_iter()
                    .find(|k| format!("{k:?}") == *kind)?;
                Self::Text { kind, booking }
            }
            ["email", "RescheduleLinks", "Attendee", send] => Self::ResendLinks {
                booking,
                send: uuid::Uuid::try_parse(send).ok()?,
            },
            _ => return None,
        })
    }
}

/// How often and how far apart failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; after the last failure the entry is dead.
    pub max_attempts: u32,
    /// Delay after the first failure; doubled after each further one.
    pub base_delay: TimeDelta,
    /// Upper bound of any delay.
    pub max_delay: TimeDelta,
}

impl Default for RetryPolicy {
    /// 10 attempts, 30 s doubling up to 1 h (about 4.5 hours in all).
    fn default() -> Self {
        Self {
            max_attempts: 10,
            base_delay: TimeDelta::seconds(30),
            max_delay: TimeDelta::hours(1),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempts` (1-based), or `None` when that was the
    /// last attempt. `jitter` in `[0, 1)` spreads retries over the upper half of the delay
    /// ("equal jitter") so that many failures at once do not retry in lockstep.
    pub fn delay_after(&self, attempts: u32, jitter: f64) -> Option<TimeDelta> {
        if attempts >= self.max_attempts {
            return None;
        }
        let doublings = attempts.saturating_sub(1).min(30);
        let full = self
            .base_delay
            .checked_mul(1 << doublings)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        let half_ms = full.num_milliseconds() / 2;
        let jitter = jitter.clamp(0.0, 1.0);
        // Truncation is intended: jitter only needs millisecond resolution.
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let spread = (half_ms as f64 * jitter) as i64;
        Some(TimeDelta::milliseconds(half_ms + spread))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn codes_round_trip() {
        let b = BookingId::from_uuid(Uuid::from_u128(7));
        let c = ChainId::from_uuid(Uuid::from_u128(3));
        let all = [
            Effect::Email {
                kind: EmailKind::CancelledNotReconfirmed,
                to: Recipient::Host,
                booking: b,
            },
            Effect::Email {
                kind: EmailKind::Booked,
                to: Recipient::Attendee,
                booking: b,
            },
            Effect::Calendar {
                op: CalendarOp::UpdateInPlace,
                booking: b,
            },
            Effect::Webhook {
                event: WebhookEvent::CallRescheduled,
                booking: b,
            },
            Effect::CreateDeal {
                chain: c,
                booking: b,
            },
            Effect::ResendLinks {
                booking: b,
                send: Uuid::from_u128(9),
            },
            Effect::Email {
                kind: EmailKind::Reminder,
                to: Recipient::Attendee,
                booking: b,
            },
            Effect::Text {
                kind: TextKind::Reminder,
                booking: b,
            },
            Effect::Text {
                kind: TextKind::ReconfirmationRequest,
                booking: b,
            },
            Effect::Step {
                booking: b,
                step: 12,
            },
        ];
        for e in all {
            assert_eq!(Effect::from_code(&e.code(), b, c), Some(e), "{}", e.code());
        }
        assert_eq!(Effect::from_code("email/Nope/Host", b, c), None);
        assert_eq!(Effect::from_code("", b, c), None);
        assert_eq!(Effect::from_code("text/Nope", b, c), None);
        assert_eq!(Effect::from_code("step/x", b, c), None);
    }

    #[test]
    fn retries_back_off_exponentially_with_a_cap_and_end() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: TimeDelta::seconds(10),
            max_delay: TimeDelta::seconds(60),
        };
        assert_eq!(p.delay_after(1, 0.0), Some(TimeDelta::seconds(5)));
        assert_eq!(
            p.delay_after(1, 0.999_999),
            Some(TimeDelta::milliseconds(9_999))
        );
        assert_eq!(p.delay_after(2, 0.0), Some(TimeDelta::seconds(10)));
        assert_eq!(p.delay_after(3, 0.0), Some(TimeDelta::seconds(20)));
        assert_eq!(p.delay_after(4, 0.0), Some(TimeDelta::seconds(30)));
        assert_eq!(p.delay_after(5, 0.0), None);
    }
}
