//! Side effects as data. Use cases return them; the store commits them to the outbox in the
//! same transaction as the state change; workers in the binary deliver them.

use std::fmt;

use chrono::{DateTime, Utc};

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
    /// Cancelled by the system because the attendee did not reconfirm in time.
    CancelledNotReconfirmed,
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
}

impl WebhookEvent {
    /// The event's wire name.
    pub fn name(self) -> &'static str {
        match self {
            Self::CallBooked => "callBooked",
            Self::CallRescheduled => "callRescheduled",
            Self::CallCancelled => "callCancelled",
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
}

impl Effect {
    /// The booking row the effect is about.
    pub fn booking(&self) -> BookingId {
        match *self {
            Self::Email { booking, .. }
            | Self::Calendar { booking, .. }
            | Self::Webhook { booking, .. }
            | Self::CreateDeal { booking, .. } => booking,
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
    /// Not before this instant (now for most; later for reconfirmation requests).
    pub due_at: DateTime<Utc>,
}

impl PlannedEffect {
    /// Due at `now`.
    pub fn now(effect: Effect, now: DateTime<Utc>) -> Self {
        Self { effect, due_at: now }
    }
}
