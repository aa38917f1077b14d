//! A booking (one row of `scheduling_calendar_events`) and its state machine.
//!
//! | from \ action | reschedule(token) | cancel(token) | reconfirm(token) | host cancel | mark no-show |
//! |---|---|---|---|---|---|
//! | confirmed, before start | old → rescheduled, new confirmed row | → cancelled | sets `reconfirmed_at` | → cancelled | error: not started |
//! | confirmed, after start | token expired | token expired | token expired | allowed until end | → no_show |
//! | rescheduled | "booking already rescheduled" | token dead | token dead | follow chain | follow chain |
//! | cancelled | error: cancelled | no-op, same row | error: cancelled | no-op | error |
//! | no_show | expired | expired | expired | error | no-op; undo → confirmed |
//!
//! The host moves a meeting ([`Booking::reschedule_by_host`]) as the token would, until it
//! starts; a moved row follows the chain, a cancelled or no-show row refuses.
//!
//! Every method returns a [`Transition`]: the rows to write and the effects the change implies.
//! A no-op is a transition with nothing to write and no effects.

use chrono::{DateTime, Utc};

use crate::effects::{CalendarOp, Effect, EmailKind, PlannedEffect, Recipient, WebhookEvent};
use crate::ids::{BookingId, ChainId, HostId, LinkId};
use crate::invitee::{Answers, Invitee, Reason, Tracking};
use crate::time::TimeRange;
use crate::token::RescheduleToken;

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The invitee, through a token page or the token API.
    Attendee,
    /// The host, from the dashboard or the host API.
    Host,
    /// The host, by moving or deleting the event in their Google or Microsoft calendar.
    Calendar,
    /// Slotkeeper itself (e.g. the reconfirmation deadline passed).
    System,
}

impl Actor {
    /// Lower-case name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attendee => "attendee",
            Self::Host => "host",
            Self::Calendar => "calendar",
            Self::System => "system",
        }
    }

    /// Inverse of [`Actor::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Attendee, Self::Host, Self::Calendar, Self::System]
            .into_iter()
            .find(|a| a.as_str() == text)
    }
}

/// How a cancellation happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancellation {
    /// Who cancelled.
    pub by: Actor,
    /// The reason they gave, if any.
    pub reason: Option<Reason>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Where a row stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The meeting is on; the row's token works until the meeting starts.
    Confirmed,
    /// Moved: `next` is the row that replaced this one. Kept for the audit trail.
    Rescheduled {
        /// The replacing row.
        next: BookingId,
        /// When it was moved.
        at: DateTime<Utc>,
    },
    /// Called off; this row never changes again.
    Cancelled(Cancellation),
    /// The host marked that the attendee did not come.
    NoShow {
        /// When the host marked it.
        marked_at: DateTime<Utc>,
    },
}

impl Status {
    /// `confirmed`, `rescheduled`, `cancelled` or `no_show`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Rescheduled { .. } => "rescheduled",
            Self::Cancelled(_) => "cancelled",
            Self::NoShow { .. } => "no_show",
        }
    }
}

/// How a row came to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Booked from a link: the first row of its chain.
    Booked,
    /// Created by moving `previous`.
    Rescheduled {
        /// The row this one replaced.
        previous: BookingId,
        /// Who moved it.
        by: Actor,
        /// Why, if they said.
        reason: Option<Reason>,
    },
}

/// The external calendar event a chain is mirrored to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProviderEventRef {
    /// `google` or `microsoft`.
    pub provider: String,
    /// The provider's event id.
    pub event_id: String,
}

/// One version of a meeting. Fields are private: rows change only through the transition
/// methods below, and are read back from storage through [`BookingRecord`](crate::record::BookingRecord).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub(crate) id: BookingId,
    pub(crate) chain: ChainId,
    pub(crate) host: HostId,
    pub(crate) link: LinkId,
    pub(crate) slot: TimeRange,
    pub(crate) blocked: TimeRange,
    pub(crate) status: Status,
    pub(crate) origin: Origin,
    pub(crate) token: RescheduleToken,
    pub(crate) invitee: Invitee,
    pub(crate) answers: Answers,
    pub(crate) tracking: Tracking,
    pub(crate) provider_event: Option<ProviderEventRef>,
    pub(crate) reconfirm_by: Option<DateTime<Utc>>,
    pub(crate) reconfirm_requested_at: Option<DateTime<Utc>>,
    pub(crate) reconfirmed_at: Option<DateTime<Utc>>,
    pub(crate) ics_sequence: u32,
    pub(crate) version: u64,
    pub(crate) created_at: DateTime<Utc>,
}

/// What a new booking is made of; see [`Booking::confirmed`].
#[derive(Debug, Clone)]
pub struct NewBooking {
    /// Fresh id (also the chain id).
    pub id: BookingId,
    /// The host booked.
    pub host: HostId,
    /// The link booked through.
    pub link: LinkId,
    /// The meeting time.
    pub slot: TimeRange,
    /// The meeting time grown by the link's buffers: what no other meeting may overlap.
    pub blocked: TimeRange,
    /// Fresh token.
    pub token: RescheduleToken,
    /// Who booked.
    pub invitee: Invitee,
    /// Form answers.
    pub answers: Answers,
    /// UTM tracking.
    pub tracking: Tracking,
    /// Auto-cancel deadline if the link asks for reconfirmation.
    pub reconfirm_by: Option<DateTime<Utc>>,
    /// Now.
    pub created_at: DateTime<Utc>,
}

/// A row to write: inserted, or updated if its stored version is still `expected_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// A new row.
    Insert(Booking),
    /// A changed row; its `version` is `expected_version + 1`.
    Update {
        /// The row as it must be stored.
        booking: Booking,
        /// The version the store must still hold, or the commit fails.
        expected_version: u64,
    },
}

impl Write {
    /// The row written.
    pub fn booking(&self) -> &Booking {
        match self {
            Self::Insert(b) | Self::Update { booking: b, .. } => b,
        }
    }
}

/// The outcome of a state-machine step: rows to write, effects to deliver, and the row the
/// caller asked about as it is afterwards (the new row after a reschedule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// Rows to write atomically.
    pub writes: Vec<Write>,
    /// Effects to commit with them.
    pub effects: Vec<PlannedEffect>,
    /// The resulting row.
    pub result: Booking,
}

impl Transition {
    fn noop(booking: &Booking) -> Self {
        Self {
            writes: Vec::new(),
            effects: Vec::new(),
            result: booking.clone(),
        }
    }

    /// Whether nothing changes.
    pub fn is_noop(&self) -> bool {
        self.writes.is_empty() && self.effects.is_empty()
    }
}

/// Why a token no longer works for an action. Deliberately coarse: it is shown to whoever
/// holds the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// The booking was moved; the new row has a new token, sent to the attendee by email.
    #[error("booking already rescheduled")]
    AlreadyRescheduled,
    /// The booking was cancelled.
    #[error("booking already cancelled")]
    Cancelled,
    /// The meeting has started (or is over): attendees can no longer change it.
    #[error("the meeting has already started")]
    Expired,
}

/// Why a host-side action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HostActionRefusal {
    /// No-show marks need a meeting that has started.
    #[error("the meeting has not started yet")]
    NotStarted,
    /// Cancel is allowed only until the meeting ends.
    #[error("the meeting is over")]
    MeetingOver,
    /// The booking is cancelled.
    #[error("the booking is cancelled")]
    Cancelled,
    /// The booking is marked as a no-show; undo that first.
    #[error("the booking is marked as a no-show")]
    NoShow,
    /// The booking is confirmed, not a no-show: nothing to undo.
    #[error("the booking is not marked as a no-show")]
    NotNoShow,
    /// This row was moved; act on the chain's current row (the service follows the chain).
    #[error("the booking was rescheduled")]
    Rescheduled(BookingId),
    /// A meeting that has started (or is over) can no longer be moved.
    #[error("the meeting has already started")]
    Started,
}

/// Where a new row after a move comes from.
#[derive(Debug, Clone)]
pub struct MoveTo {
    /// Fresh id for the new row.
    pub id: BookingId,
    /// Fresh token for the new row.
    pub token: RescheduleToken,
    /// New meeting time.
    pub slot: TimeRange,
    /// New time grown by the buffers.
    pub blocked: TimeRange,
    /// Who moves it.
    pub by: Actor,
    /// Why.
    pub reason: Option<Reason>,
    /// New auto-cancel deadline, if the link asks for reconfirmation.
    pub reconfirm_by: Option<DateTime<Utc>>,
}

impl Booking {
    /// A confirmed first booking of a new chain, with its effects: booked mail to attendee and
    /// host, calendar create, `callBooked`.
    pub fn confirmed(new: NewBooking) -> Transition {
        let booking = Booking {
            id: new.id,
            chain: ChainId::started_by(new.id),
            host: new.host,
            link: new.link,
            slot: new.slot,
            blocked: new.blocked,
            status: Status::Confirmed,
            origin: Origin::Booked,
            token: new.token,
            invitee: new.invitee,
            answers: new.answers,
            tracking: new.tracking,
            provider_event: None,
            reconfirm_by: new.reconfirm_by,
            reconfirm_requested_at: None,
            reconfirmed_at: None,
            ics_sequence: 0,
            version: 1,
            created_at: new.created_at,
        };
        let effects = notify(
            new.id,
            EmailKind::Booked,
            Some(CalendarOp::Create),
            WebhookEvent::CallBooked,
            new.created_at,
        );
        Transition {
            writes: vec![Write::Insert(booking.clone())],
            effects,
            result: booking,
        }
    }

    /// Whether the row's token is accepted at `now`: confirmed and not yet started.
    pub fn token_is_live(&self, now: DateTime<Utc>) -> bool {
        matches!(self.status, Status::Confirmed) && now < self.slot.start()
    }

    /// Whether the row's token would be accepted at `now`, and if not, why.
    ///
    /// # Errors
    /// [`TokenRefusal`] unless the row is confirmed and the meeting has not started.
    pub fn check_token(&self, now: DateTime<Utc>) -> Result<(), TokenRefusal> {
        match self.status {
            Status::Rescheduled { .. } => Err(TokenRefusal::AlreadyRescheduled),
            Status::Cancelled(_) => Err(TokenRefusal::Cancelled),
            Status::NoShow { .. } => Err(TokenRefusal::Expired),
            Status::Confirmed if now >= self.slot.start() => Err(TokenRefusal::Expired),
            Status::Confirmed => Ok(()),
        }
    }

    /// Moves the meeting by its token: this row becomes `rescheduled`, a new confirmed row
    /// takes its place in the chain with a fresh token and a higher ics sequence. Effects:
    /// rescheduled mail to attendee and host, calendar update in place, `callRescheduled`.
    ///
    /// # Errors
    /// [`TokenRefusal`] unless the row is confirmed and the meeting has not started.
    pub fn reschedule(&self, now: DateTime<Utc>, to: MoveTo) -> Result<Transition, TokenRefusal> {
        self.check_token(now)?;
        Ok(self.moved(now, to, Some(CalendarOp::UpdateInPlace)))
    }

    /// The host moves the meeting from the dashboard or the host API: the same move as
    /// [`Booking::reschedule`] (this row becomes `rescheduled`, a new confirmed row with a fresh
    /// token and a higher ics sequence; rescheduled mail to attendee and host, calendar update in
    /// place, `callRescheduled`), recorded as made by [`Actor::Host`] whatever `to.by` says.
    ///
    /// # Errors
    /// [`HostActionRefusal::Rescheduled`] (follow the chain), [`HostActionRefusal::Cancelled`],
    /// [`HostActionRefusal::NoShow`], [`HostActionRefusal::Started`] once the meeting has begun.
    pub fn reschedule_by_host(
        &self,
        now: DateTime<Utc>,
        to: MoveTo,
    ) -> Result<Transition, HostActionRefusal> {
        match self.status {
            Status::Rescheduled { next, .. } => Err(HostActionRefusal::Rescheduled(next)),
            Status::Cancelled(_) => Err(HostActionRefusal::Cancelled),
            Status::NoShow { .. } => Err(HostActionRefusal::NoShow),
            Status::Confirmed if now >= self.slot.start() => Err(HostActionRefusal::Started),
            Status::Confirmed => {
                let to = MoveTo {
                    by: Actor::Host,
                    ..to
                };
                Ok(self.moved(now, to, Some(CalendarOp::UpdateInPlace)))
            }
        }
    }

    /// The host moved the event in their own calendar: like [`Booking::reschedule`] but
    /// allowed whenever the row is confirmed, with no calendar op (the calendar already has
    /// it). Our own update echoing back (same time) is a no-op.
    ///
    /// # Errors
    /// [`TokenRefusal`] when the row is not confirmed.
    pub fn calendar_moved(
        &self,
        now: DateTime<Utc>,
        to: MoveTo,
    ) -> Result<Transition, TokenRefusal> {
        match self.status {
            Status::Confirmed if to.slot == self.slot => Ok(Transition::noop(self)),
            Status::Confirmed => Ok(self.moved(now, to, None)),
            Status::Rescheduled { .. } => Err(TokenRefusal::AlreadyRescheduled),
            Status::Cancelled(_) => Err(TokenRefusal::Cancelled),
            Status::NoShow { .. } => Err(TokenRefusal::Expired),
        }
    }

    fn moved(&self, now: DateTime<Utc>, to: MoveTo, calendar: Option<CalendarOp>) -> Transition {
        let mut old = self.clone();
        old.status = Status::Rescheduled {
            next: to.id,
            at: now,
        };
        old.version += 1;
        let new = Booking {
            id: to.id,
            slot: to.slot,
            blocked: to.blocked,
            status: Status::Confirmed,
            origin: Origin::Rescheduled {
                previous: self.id,
                by: to.by,
                reason: to.reason,
            },
            token: to.token,
            reconfirm_by: to.reconfirm_by,
            reconfirm_requested_at: None,
            reconfirmed_at: None,
            ics_sequence: self.ics_sequence + 1,
            version: 1,
            created_at: now,
            ..self.clone()
        };
        let effects = notify(
            new.id,
            EmailKind::Rescheduled,
            calendar,
            WebhookEvent::CallRescheduled,
            now,
        );
        Transition {
            writes: vec![
                Write::Update {
                    booking: old,
                    expected_version: self.version,
                },
                Write::Insert(new.clone()),
            ],
            effects,
            result: new,
        }
    }

    /// Cancels by token. Cancelling a cancelled row again is a no-op returning it unchanged.
    /// Effects: cancelled mail to attendee and host, calendar delete, `callCancelled`.
    ///
    /// # Errors
    /// [`TokenRefusal::AlreadyRescheduled`] for a moved row, [`TokenRefusal::Expired`] once the
    /// meeting has started or for a no-show.
    pub fn cancel_by_attendee(
        &self,
        now: DateTime<Utc>,
        reason: Option<Reason>,
    ) -> Result<Transition, TokenRefusal> {
        if let Status::Cancelled(_) = self.status {
            return Ok(Transition::noop(self));
        }
        self.check_token(now)?;
        Ok(self.cancelled(
            now,
            Actor::Attendee,
            reason,
            EmailKind::Cancelled,
            Some(CalendarOp::Delete),
        ))
    }

    /// Cancels from the host's side, allowed until the meeting ends; a cancelled row is a no-op.
    ///
    /// # Errors
    /// [`HostActionRefusal::Rescheduled`] (follow the chain), [`HostActionRefusal::MeetingOver`],
    /// [`HostActionRefusal::NoShow`].
    pub fn cancel_by_host(
        &self,
        now: DateTime<Utc>,
        reason: Option<Reason>,
    ) -> Result<Transition, HostActionRefusal> {
        match self.status {
            Status::Cancelled(_) => Ok(Transition::noop(self)),
            Status::Rescheduled { next, .. } => Err(HostActionRefusal::Rescheduled(next)),
            Status::NoShow { .. } => Err(HostActionRefusal::NoShow),
            Status::Confirmed if now >= self.slot.end() => Err(HostActionRefusal::MeetingOver),
            Status::Confirmed => Ok(self.cancelled(
                now,
                Actor::Host,
                reason,
                EmailKind::Cancelled,
                Some(CalendarOp::Delete),
            )),
        }
    }

    /// The host deleted the event in their calendar: cancels a confirmed row (no calendar op —
    /// it is already gone); anything else is a no-op, including our own delete echoing back.
    pub fn calendar_deleted(&self, now: DateTime<Utc>, reason: Option<Reason>) -> Transition {
        match self.status {
            Status::Confirmed => {
                self.cancelled(now, Actor::Calendar, reason, EmailKind::Cancelled, None)
            }
            _ => Transition::noop(self),
        }
    }

    /// The reconfirmation deadline passed without a click: cancels a confirmed, unreconfirmed
    /// row that has not started and whose reconfirmation request was delivered before the
    /// deadline ([`Booking::reconfirm_requested_at`]); anything else is a no-op — an attendee
    /// who was never asked is never cancelled. Effects: "cancelled for no reconfirmation" mail
    /// to both, calendar delete, `callCancelled`.
    pub fn expire_unreconfirmed(&self, now: DateTime<Utc>) -> Transition {
        let due = match (self.reconfirm_requested_at, self.reconfirm_by) {
            (Some(asked), Some(deadline)) => asked < deadline && deadline <= now,
            _ => false,
        };
        if self.token_is_live(now) && self.reconfirmed_at.is_none() && due {
            self.cancelled(
                now,
                Actor::System,
                None,
                EmailKind::CancelledNotReconfirmed,
                Some(CalendarOp::Delete),
            )
        } else {
            Transition::noop(self)
        }
    }

    fn cancelled(
        &self,
        now: DateTime<Utc>,
        by: Actor,
        reason: Option<Reason>,
        mail: EmailKind,
        calendar: Option<CalendarOp>,
    ) -> Transition {
        let mut row = self.clone();
        row.status = Status::Cancelled(Cancellation {
            by,
            reason,
            at: now,
        });
        row.ics_sequence += 1;
        row.version += 1;
        let effects = notify(row.id, mail, calendar, WebhookEvent::CallCancelled, now);
        Transition {
            writes: vec![Write::Update {
                booking: row.clone(),
                expected_version: self.version,
            }],
            effects,
            result: row,
        }
    }

    /// Records the attendee's reconfirmation (idempotent: a second click changes nothing).
    ///
    /// # Errors
    /// [`TokenRefusal`] unless the row is confirmed and the meeting has not started.
    pub fn reconfirm(&self, now: DateTime<Utc>) -> Result<Transition, TokenRefusal> {
        self.check_token(now)?;
        if self.reconfirmed_at.is_some() {
            return Ok(Transition::noop(self));
        }
        let mut row = self.clone();
        row.reconfirmed_at = Some(now);
        row.version += 1;
        Ok(Transition {
            writes: vec![Write::Update {
                booking: row.clone(),
                expected_version: self.version,
            }],
            effects: Vec::new(),
            result: row,
        })
    }

    /// Marks a started meeting as a no-show (again: no-op).
    ///
    /// # Errors
    /// [`HostActionRefusal::NotStarted`], [`HostActionRefusal::Cancelled`],
    /// [`HostActionRefusal::Rescheduled`] (follow the chain).
    pub fn mark_no_show(&self, now: DateTime<Utc>) -> Result<Transition, HostActionRefusal> {
        match self.status {
            Status::NoShow { .. } => Ok(Transition::noop(self)),
            Status::Cancelled(_) => Err(HostActionRefusal::Cancelled),
            Status::Rescheduled { next, .. } => Err(HostActionRefusal::Rescheduled(next)),
            Status::Confirmed if now < self.slot.start() => Err(HostActionRefusal::NotStarted),
            Status::Confirmed => Ok(self.with_status(Status::NoShow { marked_at: now })),
        }
    }

    /// Takes a no-show mark back: the row is confirmed again.
    ///
    /// # Errors
    /// [`HostActionRefusal::NotNoShow`] for a confirmed row, [`HostActionRefusal::Cancelled`],
    /// [`HostActionRefusal::Rescheduled`] (follow the chain).
    pub fn undo_no_show(&self) -> Result<Transition, HostActionRefusal> {
        match self.status {
            Status::NoShow { .. } => Ok(self.with_status(Status::Confirmed)),
            Status::Confirmed => Err(HostActionRefusal::NotNoShow),
            Status::Cancelled(_) => Err(HostActionRefusal::Cancelled),
            Status::Rescheduled { next, .. } => Err(HostActionRefusal::Rescheduled(next)),
        }
    }

    fn with_status(&self, status: Status) -> Transition {
        let mut row = self.clone();
        row.status = status;
        row.version += 1;
        Transition {
            writes: vec![Write::Update {
                booking: row.clone(),
                expected_version: self.version,
            }],
            effects: Vec::new(),
            result: row,
        }
    }

    /// This row with its reconfirmation request recorded as delivered at `at`, raising the
    /// version; `None` when a delivery is already recorded (the first one counts). Stores use
    /// it to implement [`BookingStore::record_reconfirmation_request`](crate::ports::BookingStore::record_reconfirmation_request).
    pub fn with_reconfirmation_requested(&self, at: DateTime<Utc>) -> Option<Booking> {
        if self.reconfirm_requested_at.is_some() {
            return None;
        }
        let mut row = self.clone();
        row.reconfirm_requested_at = Some(at);
        row.version += 1;
        Some(row)
    }

    /// Records the external calendar event this chain is mirrored to (set by the calendar
    /// worker after it created the event).
    pub fn with_provider_event(&self, event: ProviderEventRef) -> Write {
        let mut row = self.clone();
        row.provider_event = Some(event);
        row.version += 1;
        Write::Update {
            booking: row,
            expected_version: self.version,
        }
    }

    /// Row id.
    pub fn id(&self) -> BookingId {
        self.id
    }
    /// The meeting across reschedules (the first row's id).
    pub fn chain(&self) -> ChainId {
        self.chain
    }
    /// The row this one replaced, if it came from a reschedule.
    pub fn previous(&self) -> Option<BookingId> {
        match &self.origin {
            Origin::Booked => None,
            Origin::Rescheduled { previous, .. } => Some(*previous),
        }
    }
    /// The row that replaced this one, if it was rescheduled.
    pub fn next(&self) -> Option<BookingId> {
        match self.status {
            Status::Rescheduled { next, .. } => Some(next),
            _ => None,
        }
    }
    /// Host booked.
    pub fn host(&self) -> HostId {
        self.host
    }
    /// Link booked through.
    pub fn link(&self) -> LinkId {
        self.link
    }
    /// Meeting time.
    pub fn slot(&self) -> TimeRange {
        self.slot
    }
    /// Meeting time with buffers: no other confirmed row of the host may overlap it.
    pub fn blocked(&self) -> TimeRange {
        self.blocked
    }
    /// Current status.
    pub fn status(&self) -> &Status {
        &self.status
    }
    /// How the row came to be.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }
    /// The row's token (dead unless [`Booking::token_is_live`]).
    pub fn token(&self) -> &RescheduleToken {
        &self.token
    }
    /// Who booked.
    pub fn invitee(&self) -> &Invitee {
        &self.invitee
    }
    /// Form answers.
    pub fn answers(&self) -> &Answers {
        &self.answers
    }
    /// UTM tracking.
    pub fn tracking(&self) -> &Tracking {
        &self.tracking
    }
    /// The mirrored calendar event, if any.
    pub fn provider_event(&self) -> Option<&ProviderEventRef> {
        self.provider_event.as_ref()
    }
    /// Auto-cancel deadline, if reconfirmation is asked for.
    pub fn reconfirm_by(&self) -> Option<DateTime<Utc>> {
        self.reconfirm_by
    }
    /// When the reconfirmation request reached the attendee (was handed to the mailer), if
    /// it has; only then can the deadline cancel the booking.
    pub fn reconfirm_requested_at(&self) -> Option<DateTime<Utc>> {
        self.reconfirm_requested_at
    }
    /// When the attendee reconfirmed.
    pub fn reconfirmed_at(&self) -> Option<DateTime<Utc>> {
        self.reconfirmed_at
    }
    /// The cancellation, if cancelled.
    pub fn cancellation(&self) -> Option<&Cancellation> {
        match &self.status {
            Status::Cancelled(c) => Some(c),
            _ => None,
        }
    }
    /// iCalendar `SEQUENCE` of this row's invite.
    pub fn ics_sequence(&self) -> u32 {
        self.ics_sequence
    }
    /// Optimistic-concurrency version, raised by every update.
    pub fn version(&self) -> u64 {
        self.version
    }
    /// When the row was created.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

/// The notifications every accepted change sends: mail to attendee and host, the calendar op
/// (if any), and the webhook.
fn notify(
    booking: BookingId,
    mail: EmailKind,
    calendar: Option<CalendarOp>,
    hook: WebhookEvent,
    now: DateTime<Utc>,
) -> Vec<PlannedEffect> {
    let mut effects = vec![
        Effect::Email {
            kind: mail,
            to: Recipient::Attendee,
            booking,
        },
        Effect::Email {
            kind: mail,
            to: Recipient::Host,
            booking,
        },
    ];
    effects.extend(calendar.map(|op| Effect::Calendar { op, booking }));
    effects.push(Effect::Webhook {
        event: hook,
        booking,
    });
    effects
        .into_iter()
        .map(|e| PlannedEffect::now(e, now))
        .collect()
}

#[cfg(test)]
mod tests {
    //! One test per cell of the transition table in the module docs.
    use super::*;
    use crate::invitee::{Email, PersonName};
    use crate::time::TimeZoneName;
    use chrono::{TimeDelta, TimeZone};
    use uuid::Uuid;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 5, 10, h, m, 0).unwrap()
    }
    fn id(n: u128) -> BookingId {
        BookingId::from_uuid(Uuid::from_u128(n))
    }
    fn token(n: u8) -> RescheduleToken {
        RescheduleToken::from_bytes([n; 16])
    }
    fn range(h: u32) -> TimeRange {
        TimeRange::new(t(h, 0), t(h, 30)).unwrap()
    }

    /// Confirmed 10:00–10:30, created at 08:00.
    fn confirmed() -> Booking {
        let invitee = Invitee::new(
            PersonName::parse("Ada").unwrap(),
            Email::parse("ada@example.org").unwrap(),
            None,
            TimeZoneName::parse("Europe/Berlin").unwrap(),
        );
        Booking::confirmed(NewBooking {
            id: id(1),
            host: HostId::from_uuid(Uuid::from_u128(9)),
            link: LinkId::from_uuid(Uuid::from_u128(8)),
            slot: range(10),
            blocked: range(10).padded(TimeDelta::zero(), TimeDelta::minutes(10)),
            token: token(1),
            invitee,
            answers: Answers::default(),
            tracking: Tracking::default(),
            reconfirm_by: Some(t(9, 0)),
            created_at: t(8, 0),
        })
        .result
    }

    fn move_to(h: u32) -> MoveTo {
        MoveTo {
            id: id(2),
            token: token(2),
            slot: range(h),
            blocked: range(h),
            by: Actor::Attendee,
            reason: Reason::parse_optional(Some("clash")).unwrap(),
            reconfirm_by: None,
        }
    }

    fn rescheduled() -> Booking {
        confirmed().reschedule(t(9, 0), move_to(12)).unwrap().writes[0]
            .booking()
            .clone()
    }
    fn cancelled() -> Booking {
        confirmed()
            .cancel_by_attendee(t(9, 0), None)
            .unwrap()
            .result
    }
    fn no_show() -> Booking {
        confirmed().mark_no_show(t(10, 5)).unwrap().result
    }
    fn effect_count(tr: &Transition) -> usize {
        tr.effects.len()
    }

    const BEFORE: (u32, u32) = (9, 59);
    const DURING: (u32, u32) = (10, 10);
    const AFTER_END: (u32, u32) = (10, 30);

    // confirmed, before start
    #[test]
    fn confirmed_before_start_reschedule_makes_a_new_row_with_a_fresh_token() {
        let old = confirmed();
        let tr = old.reschedule(t(BEFORE.0, BEFORE.1), move_to(12)).unwrap();
        let [
            Write::Update {
                booking: moved,
                expected_version: 1,
            },
            Write::Insert(new),
        ] = tr.writes.as_slice()
        else {
            panic!("{:?}", tr.writes)
        };
        assert_eq!(moved.status().name(), "rescheduled");
        assert_eq!(moved.next(), Some(new.id()));
        assert_eq!(new.previous(), Some(old.id()));
        assert_eq!(new.chain(), old.chain());
        assert_ne!(new.token(), old.token());
        assert_eq!(new.ics_sequence(), old.ics_sequence() + 1);
        assert_eq!((new.slot(), new.status().name()), (range(12), "confirmed"));
        assert!(matches!(
            new.origin(),
            Origin::Rescheduled {
                by: Actor::Attendee,
                reason: Some(_),
                ..
            }
        ));
        let codes: Vec<String> = tr.effects.iter().map(|e| e.effect.code()).collect();
        assert_eq!(
            codes,
            [
                "email/Rescheduled/Attendee",
                "email/Rescheduled/Host",
                "calendar/UpdateInPlace",
                "webhook/callRescheduled"
            ]
        );
        assert!(tr.effects.iter().all(|e| e.effect.booking() == new.id()));
    }
    #[test]
    fn confirmed_before_start_cancel_keeps_the_reason() {
        let reason = Reason::parse_optional(Some("sick")).unwrap();
        let tr = confirmed()
            .cancel_by_attendee(t(9, 0), reason.clone())
            .unwrap();
        let c = tr.result.cancellation().unwrap();
        assert_eq!(
            (c.by, c.reason.clone(), c.at),
            (Actor::Attendee, reason, t(9, 0))
        );
        assert_eq!(tr.result.ics_sequence(), 1);
        let codes: Vec<String> = tr.effects.iter().map(|e| e.effect.code()).collect();
        assert_eq!(
            codes,
            [
                "email/Cancelled/Attendee",
                "email/Cancelled/Host",
                "calendar/Delete",
                "webhook/callCancelled"
            ]
        );
    }
    #[test]
    fn confirmed_before_start_reconfirm_is_idempotent() {
        let tr = confirmed().reconfirm(t(9, 0)).unwrap();
        assert_eq!(tr.result.reconfirmed_at(), Some(t(9, 0)));
        assert_eq!(effect_count(&tr), 0);
        let again = tr.result.reconfirm(t(9, 30)).unwrap();
        assert!(again.is_noop());
        assert_eq!(again.result.reconfirmed_at(), Some(t(9, 0)));
    }
    #[test]
    fn confirmed_before_start_host_cancel() {
        let tr = confirmed().cancel_by_host(t(9, 0), None).unwrap();
        assert_eq!(tr.result.cancellation().unwrap().by, Actor::Host);
        assert_eq!(effect_count(&tr), 4);
    }
    #[test]
    fn confirmed_before_start_no_show_is_refused() {
        assert_eq!(
            confirmed().mark_no_show(t(BEFORE.0, BEFORE.1)),
            Err(HostActionRefusal::NotStarted)
        );
    }

    // confirmed, after start
    #[test]
    fn confirmed_after_start_token_actions_expire() {
        let b = confirmed();
        for now in [t(10, 0), t(DURING.0, DURING.1), t(11, 0)] {
            assert_eq!(b.reschedule(now, move_to(12)), Err(TokenRefusal::Expired));
            assert_eq!(b.cancel_by_attendee(now, None), Err(TokenRefusal::Expired));
            assert_eq!(b.reconfirm(now), Err(TokenRefusal::Expired));
            assert!(!b.token_is_live(now));
        }
        assert!(b.token_is_live(t(9, 59)));
    }
    #[test]
    fn confirmed_after_start_host_cancel_allowed_until_end() {
        assert!(
            confirmed()
                .cancel_by_host(t(DURING.0, DURING.1), None)
                .is_ok()
        );
        assert_eq!(
            confirmed().cancel_by_host(t(AFTER_END.0, AFTER_END.1), None),
            Err(HostActionRefusal::MeetingOver)
        );
    }
    #[test]
    fn confirmed_after_start_no_show_and_undo() {
        let tr = confirmed().mark_no_show(t(10, 0)).unwrap();
        assert_eq!(tr.result.status().name(), "no_show");
        assert_eq!(effect_count(&tr), 0);
        let undo = tr.result.undo_no_show().unwrap();
        assert_eq!(undo.result.status().name(), "confirmed");
        assert_eq!(undo.result.version(), 3);
    }

    // rescheduled
    #[test]
    fn rescheduled_token_is_dead() {
        let b = rescheduled();
        assert_eq!(
            b.reschedule(t(9, 0), move_to(13)),
            Err(TokenRefusal::AlreadyRescheduled)
        );
        assert_eq!(
            b.cancel_by_attendee(t(9, 0), None),
            Err(TokenRefusal::AlreadyRescheduled)
        );
        assert_eq!(b.reconfirm(t(9, 0)), Err(TokenRefusal::AlreadyRescheduled));
        assert_eq!(
            TokenRefusal::AlreadyRescheduled.to_string(),
            "booking already rescheduled"
        );
    }
    #[test]
    fn rescheduled_host_actions_follow_the_chain() {
        let b = rescheduled();
        assert_eq!(
            b.cancel_by_host(t(9, 0), None),
            Err(HostActionRefusal::Rescheduled(id(2)))
        );
        assert_eq!(
            b.mark_no_show(t(11, 0)),
            Err(HostActionRefusal::Rescheduled(id(2)))
        );
        assert_eq!(b.undo_no_show(), Err(HostActionRefusal::Rescheduled(id(2))));
    }

    // cancelled
    #[test]
    fn cancelled_reschedule_and_reconfirm_are_refused() {
        let b = cancelled();
        assert_eq!(
            b.reschedule(t(9, 0), move_to(12)),
            Err(TokenRefusal::Cancelled)
        );
        assert_eq!(b.reconfirm(t(9, 0)), Err(TokenRefusal::Cancelled));
    }
    #[test]
    fn cancelled_cancel_twice_returns_the_same_row_and_no_effects() {
        let b = cancelled();
        for tr in [
            b.cancel_by_attendee(t(9, 30), None).unwrap(),
            b.cancel_by_host(t(9, 30), None).unwrap(),
        ] {
            assert!(tr.is_noop());
            assert_eq!(tr.result, b);
        }
        assert!(b.calendar_deleted(t(9, 30), None).is_noop());
        assert!(b.expire_unreconfirmed(t(9, 30)).is_noop());
    }
    #[test]
    fn cancelled_no_show_is_refused() {
        assert_eq!(
            cancelled().mark_no_show(t(11, 0)),
            Err(HostActionRefusal::Cancelled)
        );
        assert_eq!(
            cancelled().undo_no_show(),
            Err(HostActionRefusal::Cancelled)
        );
    }

    // no_show
    #[test]
    fn no_show_token_actions_expire() {
        let b = no_show();
        assert_eq!(
            b.reschedule(t(9, 0), move_to(12)),
            Err(TokenRefusal::Expired)
        );
        assert_eq!(
            b.cancel_by_attendee(t(9, 0), None),
            Err(TokenRefusal::Expired)
        );
        assert_eq!(b.reconfirm(t(9, 0)), Err(TokenRefusal::Expired));
    }
    #[test]
    fn no_show_host_cancel_is_refused() {
        assert_eq!(
            no_show().cancel_by_host(t(10, 10), None),
            Err(HostActionRefusal::NoShow)
        );
    }
    #[test]
    fn no_show_mark_again_is_a_noop() {
        let b = no_show();
        let tr = b.mark_no_show(t(10, 20)).unwrap();
        assert!(tr.is_noop());
        assert_eq!(tr.result, b);
    }

    // calendar-side changes and the reconfirmation deadline
    #[test]
    fn calendar_move_echo_is_a_noop_and_a_real_move_skips_the_calendar_op() {
        let b = confirmed();
        let echo = MoveTo {
            slot: b.slot(),
            by: Actor::Calendar,
            ..move_to(10)
        };
        assert!(b.calendar_moved(t(9, 0), echo).unwrap().is_noop());
        let tr = b
            .calendar_moved(
                t(11, 0),
                MoveTo {
                    by: Actor::Calendar,
                    ..move_to(14)
                },
            )
            .unwrap();
        assert_eq!(tr.result.slot(), range(14));
        assert!(
            tr.effects
                .iter()
                .all(|e| !matches!(e.effect, Effect::Calendar { .. }))
        );
        assert_eq!(effect_count(&tr), 3);
    }
    #[test]
    fn calendar_delete_cancels_confirmed_without_calendar_op() {
        let tr = confirmed().calendar_deleted(t(9, 0), None);
        assert_eq!(tr.result.cancellation().unwrap().by, Actor::Calendar);
        assert_eq!(effect_count(&tr), 3);
        assert!(no_show().calendar_deleted(t(11, 0), None).is_noop());
    }
    #[test]
    fn unreconfirmed_bookings_expire_at_their_deadline_only() {
        let unasked = confirmed();
        assert!(
            unasked.expire_unreconfirmed(t(9, 30)).is_noop(),
            "never asked, never cancelled"
        );
        let late = unasked.with_reconfirmation_requested(t(9, 0)).unwrap();
        assert!(
            late.expire_unreconfirmed(t(9, 30)).is_noop(),
            "asked only at the deadline"
        );
        let b = unasked.with_reconfirmation_requested(t(8, 0)).unwrap();
        assert_eq!(b.reconfirm_requested_at(), Some(t(8, 0)));
        assert_eq!(b.version(), unasked.version() + 1);
        assert!(
            b.with_reconfirmation_requested(t(8, 5)).is_none(),
            "the first delivery is the one recorded"
        );
        assert!(b.expire_unreconfirmed(t(8, 59)).is_noop());
        let tr = b.expire_unreconfirmed(t(9, 0));
        assert_eq!(tr.result.cancellation().unwrap().by, Actor::System);
        assert!(
            tr.effects
                .iter()
                .any(|e| e.effect.code() == "email/CancelledNotReconfirmed/Attendee")
        );
        let reconfirmed = b.reconfirm(t(8, 30)).unwrap().result;
        assert!(reconfirmed.expire_unreconfirmed(t(9, 30)).is_noop());
        assert!(
            b.expire_unreconfirmed(t(10, 0)).is_noop(),
            "the meeting has started"
        );
    }
    #[test]
    fn records_round_trip() {
        for b in [confirmed(), rescheduled(), cancelled(), no_show()] {
            assert_eq!(Booking::from_record(b.to_record()).unwrap(), b);
        }
        let mut r = confirmed().to_record();
        r.status = "rescheduled".into();
        assert!(
            Booking::from_record(r).is_err(),
            "rescheduled without next id"
        );
    }

    // host reschedule
    #[test]
    fn the_host_moves_a_confirmed_meeting_as_the_host_with_the_reschedule_effects() {
        let old = confirmed();
        let tr = old
            .reschedule_by_host(t(BEFORE.0, BEFORE.1), move_to(12))
            .unwrap();
        let new = tr.result.clone();
        assert_eq!(tr.writes.len(), 2);
        assert_eq!(tr.writes[0].booking().next(), Some(new.id()));
        assert_ne!(new.token(), old.token());
        assert_eq!(new.ics_sequence(), old.ics_sequence() + 1);
        // Recorded as the host's move, with the note as the reason, even though `to` said attendee.
        assert!(matches!(
            new.origin(),
            Origin::Rescheduled { by: Actor::Host, reason: Some(r), .. } if r.as_str() == "clash"
        ));
        let codes: Vec<String> = tr.effects.iter().map(|e| e.effect.code()).collect();
        assert_eq!(
            codes,
            [
                "email/Rescheduled/Attendee",
                "email/Rescheduled/Host",
                "calendar/UpdateInPlace",
                "webhook/callRescheduled"
            ]
        );
    }

    #[test]
    fn the_host_cannot_move_a_started_cancelled_or_no_show_meeting() {
        let started = confirmed().reschedule_by_host(t(DURING.0, DURING.1), move_to(12));
        assert_eq!(started.unwrap_err(), HostActionRefusal::Started);
        let at_start = confirmed().reschedule_by_host(t(10, 0), move_to(12));
        assert_eq!(at_start.unwrap_err(), HostActionRefusal::Started);
        let gone = cancelled().reschedule_by_host(t(BEFORE.0, BEFORE.1), move_to(12));
        assert_eq!(gone.unwrap_err(), HostActionRefusal::Cancelled);
        let absent = no_show().reschedule_by_host(t(AFTER_END.0, AFTER_END.1), move_to(12));
        assert_eq!(absent.unwrap_err(), HostActionRefusal::NoShow);
        let moved = rescheduled().reschedule_by_host(t(BEFORE.0, BEFORE.1), move_to(13));
        assert_eq!(moved.unwrap_err(), HostActionRefusal::Rescheduled(id(2)));
    }
}
