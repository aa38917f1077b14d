//! The use cases: what attendees, hosts, calendars and timers can do to bookings. Each one
//! loads through the ports, asks the state machine, and commits rows plus effects in one
//! change. Nothing here performs an effect.

use chrono::{DateTime, TimeDelta, Utc};

use crate::booking::{
    Actor, Booking, HostActionRefusal, MoveTo, NewBooking, TokenRefusal, Transition,
};
use crate::effects::{Effect, PlannedEffect};
use crate::ids::{BookingId, HostId};
use crate::invitee::{Answers, InvalidInput, Invitee, Reason, Tracking};
use crate::link::{BookingLink, Slug};
use crate::ports::{
    BookingStore, BusyCalendar, BusyCalendarError, Change, Clock, CommitError, StoreError,
    TokenSource,
};
use crate::slots::offered_slots_up_to;
use crate::time::{OutsideHorizon, TimeRange, within_horizon};
use crate::token::RescheduleToken;
use crate::workflows::{Event, plan, reconfirm_deadline};

mod host_reschedule;
pub use host_reschedule::{HostMove, HostMoveSlots, HostRescheduleError};
mod open_days;
mod pages;

/// Longest window one slot query may cover.
pub const MAX_WINDOW: TimeDelta = TimeDelta::days(62);
/// Most slots one [`SlotPage`] holds.
pub const MAX_SLOTS_PER_PAGE: usize = 500;
/// Most slot starts one page steps through: a window is cut to this many of its link's
/// intervals, so the cap on the window scales with the link's density (a slot every minute:
/// two weeks a page; every half hour or less often: the whole [`MAX_WINDOW`]).
pub const MAX_STEPS_PER_PAGE: i32 = 14 * 24 * 60;
/// How often a use case retries after losing an optimistic-concurrency race before giving up.
const RACE_RETRIES: usize = 3;

/// Why slots could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum SlotsError {
    /// No link has that slug.
    #[error("no booking link with that name")]
    LinkNotFound,
    /// The window is longer than [`MAX_WINDOW`].
    #[error("ask for at most 62 days of slots at once")]
    WindowTooLong,
    /// The window reaches outside the bookable years.
    #[error(transparent)]
    OutsideHorizon(#[from] OutsideHorizon),
    /// The host's calendar could not be read.
    #[error(transparent)]
    Calendar(#[from] BusyCalendarError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a booking was not made.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    /// No link has that slug.
    #[error("no booking link with that name")]
    LinkNotFound,
    /// The start is not one the link offers now (taken meanwhile, outside hours, too soon…).
    #[error("that time is no longer available")]
    SlotUnavailable,
    /// The start lies outside the bookable years.
    #[error(transparent)]
    OutsideHorizon(#[from] OutsideHorizon),
    /// The answers do not fit the link's questions.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The host's calendar could not be read.
    #[error(transparent)]
    Calendar(#[from] BusyCalendarError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an action by token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenActionError {
    /// Unknown or malformed token (told apart from neither, on purpose).
    #[error("no booking for this link")]
    NotFound,
    /// The token no longer works for this action.
    #[error(transparent)]
    Refused(#[from] TokenRefusal),
    /// The requested new time is not free any more: another booking or the host's calendar
    /// took it.
    #[error("that time is no longer available")]
    SlotUnavailable,
    /// The requested new time is not one the link offers at all, free or not: outside the
    /// host's hours, too soon, beyond the horizon or off the link's interval grid.
    #[error("that time is not one the link offers")]
    NotOffered,
    /// The requested new time is the booking's current time.
    #[error("the booking is already at that time")]
    SameSlot,
    /// The requested new time lies outside the bookable years.
    #[error(transparent)]
    OutsideHorizon(#[from] OutsideHorizon),
    /// The host's calendar could not be read.
    #[error(transparent)]
    Calendar(#[from] BusyCalendarError),
    /// Storage failed (or a race could not be settled).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a host action was refused.
#[derive(Debug, thiserror::Error)]
pub enum HostActionError {
    /// No such booking for this host (another host's booking looks the same).
    #[error("no such booking")]
    NotFound,
    /// The state machine refused.
    #[error(transparent)]
    Refused(HostActionRefusal),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why the attendee's links could not be sent again.
#[derive(Debug, thiserror::Error)]
pub enum ResendLinksError {
    /// No such booking for this host (another host's booking looks the same).
    #[error("no such booking")]
    NotFound,
    /// The links no longer work: the booking is cancelled, a no-show, or has started.
    #[error(transparent)]
    Refused(TokenRefusal),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the host did to an event in their own calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarChange {
    /// The event was deleted or its status became cancelled.
    Deleted,
    /// The event now has this time.
    Moved(TimeRange),
}

/// A booking request whose parts are already validated.
#[derive(Debug, Clone)]
pub struct BookingRequest {
    /// Chosen slot start.
    pub start: DateTime<Utc>,
    /// Who books.
    pub invitee: Invitee,
    /// Form answers.
    pub answers: Answers,
    /// UTM tracking.
    pub tracking: Tracking,
}

/// One page of free slots: at most [`MAX_SLOTS_PER_PAGE`], from a window cut to at most
/// [`MAX_STEPS_PER_PAGE`] of the link's intervals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotPage {
    /// Slots, earliest first.
    pub slots: Vec<TimeRange>,
    /// Where the next page starts (ask again from there), when this page stopped before the
    /// end of the window asked for; `None` when it covers the whole window.
    pub next: Option<DateTime<Utc>>,
}

/// What the reschedule page shows: the booking being moved, its link and the offered slots.
#[derive(Debug, Clone)]
pub struct ReschedulePage {
    /// The booking being moved (its slot is the original time).
    pub booking: Booking,
    /// The link whose rules apply.
    pub link: BookingLink,
    /// Slots offered in the window, the booking itself not blocking (one [`SlotPage`]).
    pub slots: Vec<TimeRange>,
    /// Where the next page of slots starts, when this one stopped before the window's end.
    pub next: Option<DateTime<Utc>>,
}

/// The use cases, generic over the ports.
#[derive(Debug, Clone)]
pub struct Scheduler<S, C, T, B> {
    store: S,
    clock: C,
    tokens: T,
    calendar: B,
}

impl<S, C, T, B> Scheduler<S, C, T, B>
where
    S: BookingStore,
    C: Clock,
    T: TokenSource,
    B: BusyCalendar,
{
    /// Wires the use cases to their ports.
    pub fn new(store: S, clock: C, tokens: T, calendar: B) -> Self {
        Self {
            store,
            clock,
            tokens,
            calendar,
        }
    }

    /// The store, for reads the use cases do not wrap.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The first [`SlotPage`] of slots a link offers in `window` as of now (see
    /// [`Scheduler::slot_page`]).
    ///
    /// # Errors
    /// [`SlotsError`].
    pub async fn available_slots(
        &self,
        slug: &Slug,
        window: TimeRange,
    ) -> Result<Vec<TimeRange>, SlotsError> {
        Ok(self.slot_page(slug, window).await?.slots)
    }

    /// One page of the slots a link offers in `window` as of now: at most
    /// [`MAX_SLOTS_PER_PAGE`] slots, looked for in at most [`MAX_STEPS_PER_PAGE`] of the link's
    /// intervals from the window's start, so one request's work is bounded however dense the
    /// link. [`SlotPage::next`] says where to continue.
    ///
    /// # Errors
    /// [`SlotsError::WindowTooLong`] beyond [`MAX_WINDOW`], [`SlotsError::OutsideHorizon`] for
    /// a window reaching outside the bookable years, and the others.
    pub async fn slot_page(&self, slug: &Slug, window: TimeRange) -> Result<SlotPage, SlotsError> {
        if window.length() > MAX_WINDOW {
            return Err(SlotsError::WindowTooLong);
        }
        within_horizon(window.start())?;
        within_horizon(window.end() - TimeDelta::nanoseconds(1))?;
        let link = self
            .store
            .link_by_slug(slug)
            .await?
            .ok_or(SlotsError::LinkNotFound)?;
        Ok(self.page_for(&link, window, None, self.clock.now()).await?)
    }

    /// The page of `window` as of `now`: cut to the link's step budget, one slot more asked of
    /// the engine than is kept, to know whether the page is the last.
    async fn page_for(
        &self,
        link: &BookingLink,
        window: TimeRange,
        moving: Option<&Booking>,
        now: DateTime<Utc>,
    ) -> Result<SlotPage, SlotsOrStore> {
        let budget = link.rules().interval() * MAX_STEPS_PER_PAGE;
        let cut = TimeRange::new(window.start(), window.end().min(window.start() + budget))
            .unwrap_or(window);
        let mut slots = self
            .slots_at(link, cut, moving, MAX_SLOTS_PER_PAGE + 1, now)
            .await?;
        let next = if slots.len() > MAX_SLOTS_PER_PAGE {
            slots.pop().map(|extra| extra.start())
        } else {
            (cut.end() < window.end()).then_some(cut.end())
        };
        Ok(SlotPage { slots, next })
    }

    async fn slots_for(
        &self,
        link: &BookingLink,
        window: TimeRange,
        moving: Option<&Booking>,
        limit: usize,
    ) -> Result<Vec<TimeRange>, SlotsOrStore> {
        self.slots_at(link, window, moving, limit, self.clock.now())
            .await
    }

    /// The slots of `window` as of `now` (the pages read a whole page as of one instant).
    async fn slots_at(
        &self,
        link: &BookingLink,
        window: TimeRange,
        moving: Option<&Booking>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<TimeRange>, SlotsOrStore> {
        let busy = self.busy_around(link, window, moving).await?;
        Ok(offered_slots_up_to(
            link.rules(),
            &window,
            now,
            &busy,
            limit,
        ))
    }

    /// What blocks the link's host around `window`: the buffered ranges of other bookings and
    /// the host's calendar, the booking being moved (if any) not blocking itself.
    async fn busy_around(
        &self,
        link: &BookingLink,
        window: TimeRange,
        moving: Option<&Booking>,
    ) -> Result<Vec<TimeRange>, SlotsOrStore> {
        let rules = link.rules();
        // Busy ranges matter up to a meeting plus its buffers beyond the window's ends.
        let reach = rules.duration() + rules.buffer_before() + rules.buffer_after();
        let around = window.padded(reach, reach);
        let mut busy = self
            .store
            .blocked_ranges(link.host(), around, moving.map(Booking::chain))
            .await?;
        busy.extend(self.calendar.busy(link.host(), around).await?);
        if let Some(moving) = moving {
            // The host's calendar still shows the meeting being moved; it must not block itself.
            busy.retain(|b| *b != moving.slot());
        }
        Ok(busy)
    }

    async fn is_offered(
        &self,
        link: &BookingLink,
        start: DateTime<Utc>,
        moving: Option<&Booking>,
    ) -> Result<bool, SlotsOrStore> {
        let Ok(probe) = TimeRange::starting_at(start, TimeDelta::minutes(1)) else {
            return Ok(false);
        };
        let slots = self.slots_for(link, probe, moving, 1).await?;
        Ok(slots.iter().any(|s| s.start() == start))
    }

    /// Books a slot of the link named `slug`.
    ///
    /// # Errors
    /// [`BookError::SlotUnavailable`] when the start is not offered (also when another booking
    /// took it between the check and the commit), [`BookError::OutsideHorizon`] for a start
    /// outside the bookable years, [`BookError::Invalid`] for answers that are not to the
    /// link's questions or leave a required one unanswered.
    pub async fn book(&self, slug: &Slug, request: BookingRequest) -> Result<Booking, BookError> {
        within_horizon(request.start)?;
        let link = self
            .store
            .link_by_slug(slug)
            .await?
            .ok_or(BookError::LinkNotFound)?;
        link.check_answers(&request.answers)?;
        if !self
            .is_offered(&link, request.start, None)
            .await
            .map_err(BookError::from)?
        {
            return Err(BookError::SlotUnavailable);
        }
        let now = self.clock.now();
        let rules = link.rules();
        let slot = TimeRange::starting_at(request.start, rules.duration())
            .map_err(|_| BookError::SlotUnavailable)?;
        let id = self.tokens.new_booking_id();
        let reconfirm_by = reconfirm_deadline(&link, slot, &request.invitee, now);
        let mut transition = Booking::confirmed(NewBooking {
            id,
            host: link.host(),
            link: link.id(),
            slot,
            blocked: slot.padded(rules.buffer_before(), rules.buffer_after()),
            token: self.tokens.new_token(),
            invitee: request.invitee,
            answers: request.answers,
            tracking: request.tracking,
            reconfirm_by,
            created_at: now,
        });
        if link.create_deal() {
            let chain = transition.result.chain();
            transition.effects.push(PlannedEffect::now(
                Effect::CreateDeal { chain, booking: id },
                now,
            ));
        }
        transition
            .effects
            .extend(plan(&link, &transition.result, Event::Booked, now));
        match self.commit(&transition).await {
            Ok(()) => Ok(transition.result),
            Err(CommitError::SlotTaken) => Err(BookError::SlotUnavailable),
            Err(CommitError::VersionConflict(_)) => Err(BookError::SlotUnavailable),
            Err(CommitError::Store(e)) => Err(e.into()),
        }
    }

    /// The booking a token belongs to, live or dead.
    ///
    /// # Errors
    /// [`TokenActionError::NotFound`] for an unknown or malformed token.
    pub async fn booking_by_token(&self, token: &str) -> Result<Booking, TokenActionError> {
        let token = RescheduleToken::parse(token).map_err(|_| TokenActionError::NotFound)?;
        self.store
            .booking_by_token(&token)
            .await?
            .ok_or(TokenActionError::NotFound)
    }

    /// The booking a token belongs to, live or dead, for a page or an answer that only shows
    /// it: a cached row may answer (see [`BookingStore::booking_by_token_to_show`]); what
    /// changes a booking looks its token up afresh.
    ///
    /// # Errors
    /// [`TokenActionError::NotFound`] for an unknown or malformed token.
    pub async fn booking_to_show(&self, token: &str) -> Result<Booking, TokenActionError> {
        let token = RescheduleToken::parse(token).map_err(|_| TokenActionError::NotFound)?;
        self.store
            .booking_by_token_to_show(&token)
            .await?
            .ok_or(TokenActionError::NotFound)
    }

    /// What the reschedule page shows for a live token.
    ///
    /// # Errors
    /// [`TokenActionError::NotFound`], [`TokenActionError::Refused`] for a dead token.
    pub async fn reschedule_page(
        &self,
        token: &str,
        window: TimeRange,
    ) -> Result<ReschedulePage, TokenActionError> {
        self.reschedule_page_for(token, |_| window).await
    }

    /// What the reschedule page shows for a live token, in the window `window_of` picks once
    /// the booking is known (the page's window depends on the attendee's zone): the token is
    /// looked up once per page.
    ///
    /// # Errors
    /// [`TokenActionError::NotFound`], [`TokenActionError::Refused`] for a dead token.
    pub async fn reschedule_page_for(
        &self,
        token: &str,
        window_of: impl FnOnce(&Booking) -> TimeRange + Send,
    ) -> Result<ReschedulePage, TokenActionError> {
        let booking = self.booking_to_show(token).await?;
        booking.check_token(self.clock.now())?;
        let window = window_of(&booking);
        let link = self.link_of(&booking).await?;
        let window = TimeRange::new(
            window.start(),
            window.end().min(window.start() + MAX_WINDOW),
        )
        .unwrap_or(window);
        let page = self
            .page_for(&link, window, Some(&booking), self.clock.now())
            .await
            .map_err(TokenActionError::from)?;
        Ok(ReschedulePage {
            booking,
            link,
            slots: page.slots,
            next: page.next,
        })
    }

    async fn link_of(&self, booking: &Booking) -> Result<BookingLink, StoreError> {
        self.store.link(booking.link()).await?.ok_or_else(|| {
            StoreError::msg(format!("booking {} refers to a missing link", booking.id()))
        })
    }

    /// Moves the booking a live token belongs to; returns the new row (with a fresh token).
    ///
    /// # Errors
    /// [`TokenActionError::Refused`] with [`TokenRefusal::AlreadyRescheduled`] for a used token
    /// (also for every loser of a concurrent race), [`TokenActionError::SlotUnavailable`] when
    /// the new start is taken, [`TokenActionError::NotOffered`] when the link does not offer it
    /// even free (outside the host's hours, too soon…), [`TokenActionError::OutsideHorizon`]
    /// for a start outside the bookable years.
    pub async fn reschedule(
        &self,
        token: &str,
        start: DateTime<Utc>,
        reason: Option<Reason>,
    ) -> Result<Booking, TokenActionError> {
        within_horizon(start)?;
        for _ in 0..RACE_RETRIES {
            let booking = self.booking_by_token(token).await?;
            let now = self.clock.now();
            // Refuse a dead token before looking at the slot.
            booking.check_token(now)?;
            if booking.slot().start() == start {
                return Err(TokenActionError::SameSlot);
            }
            let link = self.link_of(&booking).await?;
            if !self
                .is_offered(&link, start, Some(&booking))
                .await
                .map_err(TokenActionError::from)?
            {
                return Err(self.why_not_offered(&link, start));
            }
            let to = self.move_to(&link, &booking, start, reason.clone(), now)?;
            let mut transition = booking.reschedule(now, to)?;
            transition
                .effects
                .extend(plan(&link, &transition.result, Event::Rescheduled, now));
            match self.commit(&transition).await {
                Ok(()) => return Ok(transition.result),
                Err(CommitError::VersionConflict(_)) => continue,
                Err(CommitError::SlotTaken) => return Err(TokenActionError::SlotUnavailable),
                Err(CommitError::Store(e)) => return Err(e.into()),
            }
        }
        Err(StoreError::msg("reschedule kept losing concurrent races").into())
    }

    fn move_to(
        &self,
        link: &BookingLink,
        booking: &Booking,
        start: DateTime<Utc>,
        reason: Option<Reason>,
        now: DateTime<Utc>,
    ) -> Result<MoveTo, StoreError> {
        let rules = link.rules();
        let slot = TimeRange::starting_at(start, rules.duration())
            .map_err(|e| StoreError::new("link has no duration", e))?;
        Ok(self.move_to_range(link, booking, slot, Actor::Attendee, reason, now))
    }

    fn move_to_range(
        &self,
        link: &BookingLink,
        booking: &Booking,
        slot: TimeRange,
        by: crate::booking::Actor,
        reason: Option<Reason>,
        now: DateTime<Utc>,
    ) -> MoveTo {
        let rules = link.rules();
        MoveTo {
            id: self.tokens.new_booking_id(),
            token: self.tokens.new_token(),
            slot,
            blocked: slot.padded(rules.buffer_before(), rules.buffer_after()),
            by,
            reason,
            reconfirm_by: reconfirm_deadline(link, slot, booking.invitee(), now),
        }
    }

    /// Cancels the booking a token belongs to. Idempotent: a cancelled booking is returned
    /// unchanged, with no new effects.
    ///
    /// # Errors
    /// [`TokenActionError::NotFound`], [`TokenActionError::Refused`].
    pub async fn cancel(
        &self,
        token: &str,
        reason: Option<Reason>,
    ) -> Result<Booking, TokenActionError> {
        self.retry_token_action(token, Some(Event::Cancelled), |booking, now| {
            booking.cancel_by_attendee(now, reason.clone())
        })
        .await
    }

    /// Records the attendee's reconfirmation (idempotent).
    ///
    /// # Errors
    /// [`TokenActionError::NotFound`], [`TokenActionError::Refused`].
    pub async fn reconfirm(&self, token: &str) -> Result<Booking, TokenActionError> {
        self.retry_token_action(token, None, |booking, now| booking.reconfirm(now))
            .await
    }

    async fn retry_token_action<F>(
        &self,
        token: &str,
        event: Option<Event>,
        step: F,
    ) -> Result<Booking, TokenActionError>
    where
        F: Fn(&Booking, DateTime<Utc>) -> Result<Transition, TokenRefusal> + Send + Sync,
    {
        for _ in 0..RACE_RETRIES {
            let booking = self.booking_by_token(token).await?;
            let now = self.clock.now();
            let transition = step(&booking, now)?;
            let transition = self.with_steps(transition, event, now).await?;
            match self.commit(&transition).await {
                Ok(()) => return Ok(transition.result),
                Err(CommitError::VersionConflict(_)) => continue,
                Err(CommitError::SlotTaken) => return Err(TokenActionError::SlotUnavailable),
                Err(CommitError::Store(e)) => return Err(e.into()),
            }
        }
        Err(StoreError::msg("token action kept losing concurrent races").into())
    }

    /// The host cancels one of their bookings (a moved row is followed to the chain's
    /// current row). A cancelled booking is returned unchanged.
    ///
    /// # Errors
    /// [`HostActionError::NotFound`] for another host's or an unknown booking;
    /// [`HostActionError::Refused`].
    pub async fn host_cancel(
        &self,
        host: HostId,
        booking: BookingId,
        reason: Option<Reason>,
    ) -> Result<Booking, HostActionError> {
        self.host_action(host, booking, Some(Event::Cancelled), |b, now| {
            b.cancel_by_host(now, reason.clone())
        })
        .await
    }

    /// The host marks a started meeting as a no-show.
    ///
    /// # Errors
    /// As [`Scheduler::host_cancel`].
    pub async fn mark_no_show(
        &self,
        host: HostId,
        booking: BookingId,
    ) -> Result<Booking, HostActionError> {
        self.host_action(host, booking, Some(Event::NoShow), |b, now| {
            b.mark_no_show(now)
        })
        .await
    }

    /// The host takes a no-show mark back.
    ///
    /// # Errors
    /// As [`Scheduler::host_cancel`].
    pub async fn undo_no_show(
        &self,
        host: HostId,
        booking: BookingId,
    ) -> Result<Booking, HostActionError> {
        self.host_action(host, booking, None, |b, _| b.undo_no_show())
            .await
    }

    /// The host sends the attendee the meeting's reschedule and cancel links again, by email
    /// (the chain's current row's links; a moved row is followed). Each call queues one more
    /// mail ([`Effect::ResendLinks`] with a fresh send id); the booking row does not change.
    ///
    /// # Errors
    /// [`ResendLinksError::NotFound`] for another host's or an unknown booking;
    /// [`ResendLinksError::Refused`] when the links no longer work.
    pub async fn resend_links(
        &self,
        host: HostId,
        mut id: BookingId,
    ) -> Result<Booking, ResendLinksError> {
        for _ in 0..64 {
            let booking = self
                .store
                .booking(id)
                .await?
                .filter(|b| b.host() == host)
                .ok_or(ResendLinksError::NotFound)?;
            if let Some(next) = booking.next() {
                id = next;
                continue;
            }
            let now = self.clock.now();
            booking
                .check_token(now)
                .map_err(ResendLinksError::Refused)?;
            let send = self.tokens.new_booking_id().as_uuid();
            let change = Change {
                writes: Vec::new(),
                effects: vec![PlannedEffect::now(
                    Effect::ResendLinks {
                        booking: booking.id(),
                        send,
                    },
                    now,
                )],
            };
            return match self.store.commit(change).await {
                Ok(()) => Ok(booking),
                Err(CommitError::Store(e)) => Err(e.into()),
                Err(e) => Err(StoreError::msg(e.to_string()).into()),
            };
        }
        Err(StoreError::msg("the booking's chain does not end").into())
    }

    async fn host_action<F>(
        &self,
        host: HostId,
        mut id: BookingId,
        event: Option<Event>,
        step: F,
    ) -> Result<Booking, HostActionError>
    where
        F: Fn(&Booking, DateTime<Utc>) -> Result<Transition, HostActionRefusal> + Send + Sync,
    {
        // Each pass either follows the chain one row forward or retries after a lost race;
        // chains are short, so a generous bound only guards against corrupt data.
        for _ in 0..64 {
            let booking = self
                .store
                .booking(id)
                .await?
                .filter(|b| b.host() == host)
                .ok_or(HostActionError::NotFound)?;
            let now = self.clock.now();
            let transition = match step(&booking, now) {
                Ok(t) => self.with_steps(t, event, now).await?,
                Err(HostActionRefusal::Rescheduled(next)) => {
                    id = next;
                    continue;
                }
                Err(refusal) => return Err(HostActionError::Refused(refusal)),
            };
            match self.commit(&transition).await {
                Ok(()) => return Ok(transition.result),
                Err(CommitError::VersionConflict(_)) => continue,
                Err(CommitError::SlotTaken) => {
                    return Err(StoreError::msg(
                        "undoing the no-show would overlap another booking",
                    )
                    .into());
                }
                Err(CommitError::Store(e)) => return Err(e.into()),
            }
        }
        Err(StoreError::msg("host action could not settle").into())
    }

    /// Applies a change the host made in their own calendar to the chain mirrored to
    /// `event_id`. No availability rules apply (the host chose). Returns the resulting row, or
    /// `None` when no booking is mirrored to that event. Our own changes echoing back, and
    /// changes to bookings that are no longer confirmed, change nothing.
    ///
    /// # Errors
    /// [`StoreError`] on storage failure.
    pub async fn apply_calendar_change(
        &self,
        provider: &str,
        event_id: &str,
        change: CalendarChange,
    ) -> Result<Option<Booking>, StoreError> {
        for _ in 0..RACE_RETRIES {
            let Some(booking) = self
                .store
                .booking_by_provider_event(provider, event_id)
                .await?
            else {
                return Ok(None);
            };
            let now = self.clock.now();
            // Said in the mails and the meeting's history: "deleted in Google Calendar".
            let said = |what: &str| {
                let text = format!("{what} in {} Calendar", provider_name(provider));
                Reason::parse_optional(Some(&text)).ok().flatten()
            };
            let transition = match change {
                CalendarChange::Deleted => {
                    let deleted = booking.calendar_deleted(now, said("deleted"));
                    self.with_steps(deleted, Some(Event::Cancelled), now)
                        .await?
                }
                CalendarChange::Moved(slot)
                    if within_horizon(slot.start()).is_err()
                        || within_horizon(slot.end()).is_err() =>
                {
                    // No store could keep it; the meeting stays where it was.
                    return Ok(Some(booking));
                }
                CalendarChange::Moved(slot) => {
                    let link = self.link_of(&booking).await?;
                    let to = self.move_to_range(
                        &link,
                        &booking,
                        slot,
                        Actor::Calendar,
                        said("moved"),
                        now,
                    );
                    match booking.calendar_moved(now, to) {
                        Ok(mut t) => {
                            if !t.is_noop() {
                                // The new row has its own deadline and reminder, so they are planned again.
                                let planned = plan(&link, &t.result, Event::Rescheduled, now);
                                t.effects.extend(planned);
                            }
                            t
                        }
                        Err(_) => return Ok(Some(booking)),
                    }
                }
            };
            match self.commit(&transition).await {
                Ok(()) => return Ok(Some(transition.result)),
                Err(CommitError::VersionConflict(_)) => continue,
                // The host double-booked themselves in their own calendar; keep our row as it
                // is rather than break the no-overlap guarantee.
                Err(CommitError::SlotTaken) => return Ok(Some(booking)),
                Err(CommitError::Store(e)) => return Err(e),
            }
        }
        Err(StoreError::msg(
            "calendar change kept losing concurrent races",
        ))
    }

    /// Cancels up to `limit` confirmed bookings whose reconfirmation deadline has passed
    /// without a reconfirmation, after their request was delivered (a booking never asked is
    /// never cancelled). Returns how many were cancelled.
    ///
    /// # Errors
    /// [`StoreError`] on storage failure.
    pub async fn expire_unreconfirmed(&self, limit: u32) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let mut cancelled = 0;
        for booking in self.store.reconfirmation_overdue(now, limit).await? {
            let transition = booking.expire_unreconfirmed(now);
            if transition.is_noop() {
                continue;
            }
            let transition = self
                .with_steps(transition, Some(Event::NotReconfirmed), now)
                .await?;
            match self.commit(&transition).await {
                Ok(()) => cancelled += 1,
                // Reconfirmed, moved or cancelled meanwhile: their change wins.
                Err(CommitError::VersionConflict(_) | CommitError::SlotTaken) => {}
                Err(CommitError::Store(e)) => return Err(e),
            }
        }
        Ok(cancelled)
    }

    /// `transition` with the steps its link's workflow runs on `event` (nothing to add for a
    /// no-op or without an event).
    async fn with_steps(
        &self,
        mut transition: Transition,
        event: Option<Event>,
        now: DateTime<Utc>,
    ) -> Result<Transition, StoreError> {
        let Some(event) = event.filter(|_| !transition.is_noop()) else {
            return Ok(transition);
        };
        let link = self.link_of(&transition.result).await?;
        if link.workflow().is_some() {
            let planned = plan(&link, &transition.result, event, now);
            transition.effects.extend(planned);
        }
        Ok(transition)
    }

    async fn commit(&self, transition: &Transition) -> Result<(), CommitError> {
        if transition.is_noop() {
            return Ok(());
        }
        let change = Change {
            writes: transition.writes.clone(),
            effects: transition.effects.clone(),
        };
        self.store.commit(change).await
    }
}

/// How a provider is named to people (`google` → `Google`).
fn provider_name(provider: &str) -> &str {
    match provider {
        "google" => "Google",
        "microsoft" => "Microsoft",
        other => other,
    }
}

/// Internal: errors of the slot computation shared by several use cases.
#[derive(Debug)]
enum SlotsOrStore {
    Calendar(BusyCalendarError),
    Store(StoreError),
}

impl From<StoreError> for SlotsOrStore {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<BusyCalendarError> for SlotsOrStore {
    fn from(e: BusyCalendarError) -> Self {
        Self::Calendar(e)
    }
}

impl From<SlotsOrStore> for SlotsError {
    fn from(e: SlotsOrStore) -> Self {
        match e {
            SlotsOrStore::Calendar(e) => Self::Calendar(e),
            SlotsOrStore::Store(e) => Self::Store(e),
        }
    }
}

impl From<SlotsOrStore> for BookError {
    fn from(e: SlotsOrStore) -> Self {
        match e {
            SlotsOrStore::Calendar(e) => Self::Calendar(e),
            SlotsOrStore::Store(e) => Self::Store(e),
        }
    }
}

impl From<SlotsOrStore> for TokenActionError {
    fn from(e: SlotsOrStore) -> Self {
        match e {
            SlotsOrStore::Calendar(e) => Self::Calendar(e),
            SlotsOrStore::Store(e) => Self::Store(e),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The use cases against mocked ports, where the exact calls matter.
    use super::*;
    use crate::availability::{AvailabilityRules, DayPeriod, RulesDraft};
    use crate::booking::{Status, Write};
    use crate::ids::LinkId;
    use crate::invitee::{Email, PersonName};
    use crate::link::LinkSettings;
    use crate::ports::{MockBookingStore, MockBusyCalendar, MockClock, MockTokenSource};
    use crate::time::TimeZoneName;
    use chrono::TimeZone;
    use mockall::predicate::eq;
    use uuid::Uuid;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 5, 10, 6, 0, 0).unwrap() // a Monday
    }
    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 5, 10, h, 0, 0).unwrap()
    }
    fn host() -> HostId {
        HostId::from_uuid(Uuid::from_u128(1))
    }
    fn link(create_deal: bool) -> BookingLink {
        link_with(create_deal, None)
    }
    fn link_with(
        create_deal: bool,
        reconfirmation: Option<crate::link::ReconfirmationPolicy>,
    ) -> BookingLink {
        let zone = TimeZoneName::parse("UTC").unwrap();
        let draft = RulesDraft::weekdays(
            zone,
            DayPeriod::parse("09:00-17:00").unwrap(),
            TimeDelta::minutes(30),
        );
        let settings = LinkSettings {
            title: "Intro".into(),
            rules: AvailabilityRules::new(draft).unwrap(),
            reconfirmation,
            create_deal,
            questions: vec![],
        };
        BookingLink::new(
            LinkId::from_uuid(Uuid::from_u128(2)),
            host(),
            Slug::parse("intro").unwrap(),
            settings,
        )
        .unwrap()
    }
    fn invitee() -> Invitee {
        Invitee::new(
            PersonName::parse("Ada").unwrap(),
            Email::parse("ada@example.org").unwrap(),
            None,
            TimeZoneName::parse("UTC").unwrap(),
        )
    }
    fn request(h: u32) -> BookingRequest {
        BookingRequest {
            start: at(h),
            invitee: invitee(),
            answers: Answers::default(),
            tracking: Tracking::default(),
        }
    }
    fn clock() -> MockClock {
        let mut c = MockClock::new();
        c.expect_now().return_const(now());
        c
    }
    fn tokens() -> MockTokenSource {
        let mut t = MockTokenSource::new();
        t.expect_new_token()
            .returning(|| RescheduleToken::from_bytes([7; 16]));
        t.expect_new_booking_id()
            .returning(|| BookingId::from_uuid(Uuid::from_u128(42)));
        t
    }
    fn free_calendar() -> MockBusyCalendar {
        let mut c = MockBusyCalendar::new();
        c.expect_busy().returning(|_, _| Ok(vec![]));
        c
    }
    fn existing(h: u32) -> Booking {
        let slot = TimeRange::new(at(h), at(h) + TimeDelta::minutes(30)).unwrap();
        Booking::confirmed(NewBooking {
            id: BookingId::from_uuid(Uuid::from_u128(5)),
            host: host(),
            link: link(false).id(),
            slot,
            blocked: slot,
            token: RescheduleToken::from_bytes([5; 16]),
            invitee: invitee(),
            answers: Answers::default(),
            tracking: Tracking::default(),
            reconfirm_by: None,
            created_at: now() - TimeDelta::days(1),
        })
        .result
    }

    /// What a booking at 10:00, made at 06:00, commits under a link asking `ask` hours before
    /// and cancelling 1 hour before: its deadline and whether a reconfirmation request is planned.
    async fn reconfirmation_at_booking(ask: i64) -> (Option<DateTime<Utc>>, bool) {
        let with_policy = link_with(
            false,
            Some(
                crate::link::ReconfirmationPolicy::new(TimeDelta::hours(ask), TimeDelta::hours(1))
                    .unwrap(),
            ),
        );
        let mut store = MockBookingStore::new();
        store
            .expect_link_by_slug()
            .returning(move |_| Ok(Some(with_policy.clone())));
        store
            .expect_blocked_ranges()
            .returning(|_, _, _| Ok(vec![]));
        let committed = std::sync::Arc::new(std::sync::Mutex::new(None));
        let seen = committed.clone();
        store.expect_commit().returning(move |change| {
            *seen.lock().unwrap() = Some(change);
            Ok(())
        });
        let svc = Scheduler::new(store, clock(), tokens(), free_calendar());
        let booked = svc
            .book(&Slug::parse("intro").unwrap(), request(10))
            .await
            .unwrap();
        let change = committed.lock().unwrap().take().unwrap();
        let asked = change
            .effects
            .iter()
            .any(|e| e.effect.code().starts_with("email/ReconfirmationRequest"));
        (booked.reconfirm_by(), asked)
    }

    #[tokio::test]
    async fn a_booking_made_inside_the_asking_window_counts_as_reconfirmed() {
        // Asked 5 hours before a 10:00 meeting booked at 06:00: already inside the window.
        assert_eq!(reconfirmation_at_booking(5).await, (None, false));
        // Asked 3 hours before: the request goes out at 07:00, the deadline is 09:00.
        assert_eq!(reconfirmation_at_booking(3).await, (Some(at(9)), true));
    }

    #[tokio::test]
    async fn booking_commits_one_row_with_its_effects_and_a_deal() {
        let mut store = MockBookingStore::new();
        store
            .expect_link_by_slug()
            .returning(|_| Ok(Some(link(true))));
        store
            .expect_blocked_ranges()
            .withf(|h, _, except| *h == host() && except.is_none())
            .returning(|_, _, _| Ok(vec![]));
        store
            .expect_commit()
            .times(1)
            .withf(|change| {
                let codes: Vec<String> = change.effects.iter().map(|e| e.effect.code()).collect();
                matches!(change.writes.as_slice(), [Write::Insert(b)] if b.slot().start() == at(10))
                    && codes
                        == [
                            "email/Booked/Attendee",
                            "email/Booked/Host",
                            "calendar/Create",
                            "webhook/callBooked",
                            "deal",
                        ]
            })
            .returning(|_| Ok(()));
        let mut calendar = MockBusyCalendar::new();
        calendar
            .expect_busy()
            .withf(|h, _| *h == host())
            .times(1)
            .returning(|_, _| Ok(vec![]));
        let svc = Scheduler::new(store, clock(), tokens(), calendar);
        let booked = svc
            .book(&Slug::parse("intro").unwrap(), request(10))
            .await
            .unwrap();
        assert_eq!(booked.id(), BookingId::from_uuid(Uuid::from_u128(42)));
    }

    #[tokio::test]
    async fn a_slot_taken_at_commit_is_reported_as_unavailable() {
        let mut store = MockBookingStore::new();
        store
            .expect_link_by_slug()
            .returning(|_| Ok(Some(link(false))));
        store
            .expect_blocked_ranges()
            .returning(|_, _, _| Ok(vec![]));
        store
            .expect_commit()
            .times(1)
            .returning(|_| Err(CommitError::SlotTaken));
        let svc = Scheduler::new(store, clock(), tokens(), free_calendar());
        let got = svc.book(&Slug::parse("intro").unwrap(), request(10)).await;
        assert!(matches!(got, Err(BookError::SlotUnavailable)), "{got:?}");
    }

    #[tokio::test]
    async fn an_unreadable_calendar_stops_the_booking_before_any_write() {
        let mut store = MockBookingStore::new();
        store
            .expect_link_by_slug()
            .returning(|_| Ok(Some(link(false))));
        store
            .expect_blocked_ranges()
            .returning(|_, _, _| Ok(vec![]));
        store.expect_commit().times(0);
        let mut calendar = MockBusyCalendar::new();
        calendar
            .expect_busy()
            .returning(|_, _| Err(BusyCalendarError("token revoked".into())));
        let svc = Scheduler::new(store, clock(), tokens(), calendar);
        let got = svc.book(&Slug::parse("intro").unwrap(), request(10)).await;
        assert!(matches!(got, Err(BookError::Calendar(_))), "{got:?}");
    }

    #[tokio::test]
    async fn a_start_outside_working_hours_is_refused_without_a_write() {
        let mut store = MockBookingStore::new();
        store
            .expect_link_by_slug()
            .returning(|_| Ok(Some(link(false))));
        store
            .expect_blocked_ranges()
            .returning(|_, _, _| Ok(vec![]));
        store.expect_commit().times(0);
        let svc = Scheduler::new(store, clock(), tokens(), free_calendar());
        let got = svc.book(&Slug::parse("intro").unwrap(), request(18)).await;
        assert!(matches!(got, Err(BookError::SlotUnavailable)), "{got:?}");
    }

    #[tokio::test]
    async fn a_reschedule_that_loses_the_race_reports_already_rescheduled() {
        let mut store = MockBookingStore::new();
        let mut seq = mockall::Sequence::new();
        let before = existing(11);
        let after = before.reschedule(
            now(),
            MoveTo {
                id: BookingId::from_uuid(Uuid::from_u128(77)),
                token: RescheduleToken::from_bytes([9; 16]),
                slot: before.slot(),
                blocked: before.blocked(),
                by: Actor::Attendee,
                reason: None,
                reconfirm_by: None,
            },
        );
        let after = after.unwrap().writes[0].booking().clone();
        let b = before.clone();
        store
            .expect_booking_by_token()
            .times(1)
            .in_sequence(&mut seq)
            .returning(move |_| Ok(Some(b.clone())));
        store.expect_link().returning(|_| Ok(Some(link(false))));
        store
            .expect_blocked_ranges()
            .withf(move |_, _, except| *except == Some(before.chain()))
            .returning(|_, _, _| Ok(vec![]));
        store
            .expect_commit()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|c| Err(CommitError::VersionConflict(c.writes[0].booking().id())));
        store
            .expect_booking_by_token()
            .times(1)
            .in_sequence(&mut seq)
            .returning(move |_| Ok(Some(after.clone())));
        let svc = Scheduler::new(store, clock(), tokens(), free_calendar());
        let got = svc.reschedule(&"05".repeat(16), at(14), None).await;
        assert!(
            matches!(
                got,
                Err(TokenActionError::Refused(TokenRefusal::AlreadyRescheduled))
            ),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn cancelling_a_cancelled_booking_writes_nothing() {
        let cancelled = existing(11).cancel_by_attendee(now(), None).unwrap().result;
        let mut store = MockBookingStore::new();
        let c = cancelled.clone();
        store
            .expect_booking_by_token()
            .returning(move |_| Ok(Some(c.clone())));
        store.expect_commit().times(0);
        let svc = Scheduler::new(store, clock(), tokens(), free_calendar());
        let got = svc.cancel(&"05".repeat(16), None).await.unwrap();
        assert_eq!(got, cancelled);
        assert!(matches!(got.status(), Status::Cancelled(_)));
    }

    #[tokio::test]
    async fn malformed_tokens_never_reach_the_store() {
        let mut store = MockBookingStore::new();
        store.expect_booking_by_token().times(0);
        let svc = Scheduler::new(store, clock(), tokens(), free_calendar());
        for bad in ["", "../etc/passwd", &"A".repeat(32)] {
            assert!(matches!(
                svc.cancel(bad, None).await,
                Err(TokenActionError::NotFound)
            ));
        }
    }

    #[tokio::test]
    async fn hosts_cannot_act_on_other_hosts_bookings() {
        let mut store = MockBookingStore::new();
        store
            .expect_booking()
            .with(eq(BookingId::from_uuid(Uuid::from_u128(5))))
            .returning(|_| Ok(Some(existing(11))));
        store.expect_commit().times(0);
        let svc = Scheduler::new(store, clock(), tokens(), free_calendar());
        let stranger = HostId::from_uuid(Uuid::from_u128(99));
        let got = svc
            .host_cancel(stranger, BookingId::from_uuid(Uuid::from_u128(5)), None)
            .await;
        assert!(matches!(got, Err(HostActionError::NotFound)), "{got:?}");
    }
}
