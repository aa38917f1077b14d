//! The host moves one of their meetings on the attendee's behalf: to a slot the link offers,
//! or, with an explicit override, to any free time outside the link's hours.

use chrono::{DateTime, TimeDelta, Utc};

use super::{MAX_WINDOW, RACE_RETRIES, Scheduler, SlotsOrStore};
use crate::booking::{Actor, Booking, HostActionRefusal};
use crate::ids::{BookingId, HostId};
use crate::invitee::Reason;
use crate::link::BookingLink;
use crate::ports::{
    BookingStore, BusyCalendar, BusyCalendarError, Clock, CommitError, StoreError, TokenSource,
};
use crate::slots::offered_slots_up_to;
use crate::time::{OutsideHorizon, TimeRange, within_horizon};
use crate::workflows::{Event, plan};

/// Where the host wants a meeting moved.
#[derive(Debug, Clone)]
pub struct HostMove {
    /// The new start; the meeting keeps its link's duration.
    pub start: DateTime<Utc>,
    /// A note for the attendee, kept as the move's reason (shown in the mails and history).
    pub note: Option<Reason>,
    /// Whether a start the link would not offer (outside its hours, notice or reach) is
    /// accepted. Never lifts the rule that no two meetings overlap, nor the host's busy times.
    pub allow_outside_hours: bool,
}

/// Why the host's move was refused.
#[derive(Debug, thiserror::Error)]
pub enum HostRescheduleError {
    /// No such booking for this host (another host's booking looks the same).
    #[error("no such booking")]
    NotFound,
    /// The meeting cannot be moved in its current state (cancelled, no-show, started).
    #[error(transparent)]
    Refused(HostActionRefusal),
    /// The new start is the meeting's current start.
    #[error("the meeting is already at that time")]
    SameSlot,
    /// The new start is not one the link offers, and the override was not given.
    #[error("that time is outside the hours of this meeting's link")]
    OutsideHours,
    /// The new start is not in the future.
    #[error("that time has already passed")]
    InThePast,
    /// Another meeting or a busy time in the host's calendar is in the way.
    #[error("that time is taken")]
    SlotTaken,
    /// The new start lies outside the bookable years.
    #[error(transparent)]
    OutsideHorizon(#[from] OutsideHorizon),
    /// The host's calendar could not be read.
    #[error(transparent)]
    Calendar(#[from] BusyCalendarError),
    /// Storage failed (or a race could not be settled).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SlotsOrStore> for HostRescheduleError {
    fn from(e: SlotsOrStore) -> Self {
        match e {
            SlotsOrStore::Calendar(e) => Self::Calendar(e),
            SlotsOrStore::Store(e) => Self::Store(e),
        }
    }
}

/// The times a host may move a meeting to: the meeting's current row, its link, and the
/// slots the link offers in the window asked for (the meeting itself not blocking).
#[derive(Debug, Clone)]
pub struct HostMoveSlots {
    /// The chain's current row.
    pub booking: Booking,
    /// The link whose rules apply.
    pub link: BookingLink,
    /// Offered slots, earliest first (at most one [`super::SlotPage`]).
    pub slots: Vec<TimeRange>,
    /// Where the next page of slots starts, when this one stopped before the window's end.
    pub next: Option<DateTime<Utc>>,
}

impl<S, C, T, B> Scheduler<S, C, T, B>
where
    S: BookingStore,
    C: Clock,
    T: TokenSource,
    B: BusyCalendar,
{
    /// The slots the host may move the meeting of `booking` to, in `window` (cut to
    /// [`MAX_WINDOW`]); a moved row is followed to the chain's current row.
    ///
    /// # Errors
    /// [`HostRescheduleError::NotFound`] for another host's or an unknown booking,
    /// [`HostRescheduleError::Calendar`], [`HostRescheduleError::Store`].
    pub async fn host_move_slots(
        &self,
        host: HostId,
        booking: BookingId,
        window: TimeRange,
    ) -> Result<HostMoveSlots, HostRescheduleError> {
        let booking = self.current_row(host, booking).await?;
        let link = self.link_of(&booking).await?;
        let window = TimeRange::new(
            window.start(),
            window.end().min(window.start() + MAX_WINDOW),
        )
        .unwrap_or(window);
        let page = self
            .page_for(&link, window, Some(&booking), self.clock.now())
            .await?;
        Ok(HostMoveSlots {
            booking,
            link,
            slots: page.slots,
            next: page.next,
        })
    }

    /// The host moves one of their meetings (a moved row is followed to the chain's current
    /// row) as "moved by the host", with the note as the reason: the attendee gets the
    /// rescheduled mail with the new invite and fresh links, the host a copy, the calendar is
    /// updated and `callRescheduled` goes out. Returns the new row.
    ///
    /// # Errors
    /// [`HostRescheduleError::NotFound`]; [`HostRescheduleError::Refused`] for a cancelled,
    /// no-show or started meeting; [`HostRescheduleError::SameSlot`];
    /// [`HostRescheduleError::InThePast`]; [`HostRescheduleError::OutsideHours`] for a start
    /// the link does not offer without [`HostMove::allow_outside_hours`];
    /// [`HostRescheduleError::SlotTaken`] when another meeting (buffers included) or a busy
    /// time is in the way, also when one took it between the check and the commit.
    pub async fn host_reschedule(
        &self,
        host: HostId,
        mut id: BookingId,
        request: HostMove,
    ) -> Result<Booking, HostRescheduleError> {
        within_horizon(request.start)?;
        for _ in 0..RACE_RETRIES {
            let booking = self.current_row(host, id).await?;
            id = booking.id();
            let now = self.clock.now();
            let link = self.link_of(&booking).await?;
            let slot = TimeRange::starting_at(request.start, link.rules().duration())
                .map_err(|e| StoreError::new("link has no duration", e))?;
            let to = self.move_to_range(
                &link,
                &booking,
                slot,
                Actor::Host,
                request.note.clone(),
                now,
            );
            // The state is refused before the time is looked at.
            let mut transition = match booking.reschedule_by_host(now, to) {
                Ok(t) => t,
                Err(HostActionRefusal::Rescheduled(next)) => {
                    id = next;
                    continue;
                }
                Err(refusal) => return Err(HostRescheduleError::Refused(refusal)),
            };
            if booking.slot().start() == request.start {
                return Err(HostRescheduleError::SameSlot);
            }
            if request.start <= now {
                return Err(HostRescheduleError::InThePast);
            }
            self.check_move(&link, &booking, slot, now, request.allow_outside_hours)
                .await?;
            transition
                .effects
                .extend(plan(&link, &transition.result, Event::Rescheduled, now));
            match self.commit(&transition).await {
                Ok(()) => return Ok(transition.result),
                Err(CommitError::VersionConflict(_)) => continue,
                Err(CommitError::SlotTaken) => return Err(HostRescheduleError::SlotTaken),
                Err(CommitError::Store(e)) => return Err(e.into()),
            }
        }
        Err(StoreError::msg("host reschedule kept losing concurrent races").into())
    }

    /// Whether `booking` may move to `slot`: an offered slot always may; a start within the
    /// link's rules that is not offered is taken; any other start needs `allow_outside_hours`
    /// and then must still be clear of other meetings and busy times.
    async fn check_move(
        &self,
        link: &BookingLink,
        booking: &Booking,
        slot: TimeRange,
        now: DateTime<Utc>,
        allow_outside_hours: bool,
    ) -> Result<(), HostRescheduleError> {
        if self.is_offered(link, slot.start(), Some(booking)).await? {
            return Ok(());
        }
        if within_rules(link, slot.start(), now) {
            return Err(HostRescheduleError::SlotTaken);
        }
        if !allow_outside_hours {
            return Err(HostRescheduleError::OutsideHours);
        }
        let rules = link.rules();
        let blocked = slot.padded(rules.buffer_before(), rules.buffer_after());
        let mut busy = self
            .store
            .blocked_ranges(link.host(), blocked, Some(booking.chain()))
            .await?;
        busy.extend(self.calendar.busy(link.host(), blocked).await?);
        // The host's calendar still shows the meeting being moved; it must not block itself.
        busy.retain(|b| *b != booking.slot());
        if busy.iter().any(|b| b.overlaps(&blocked)) {
            return Err(HostRescheduleError::SlotTaken);
        }
        Ok(())
    }

    /// The chain's current row of `id`, if it is `host`'s.
    async fn current_row(
        &self,
        host: HostId,
        mut id: BookingId,
    ) -> Result<Booking, HostRescheduleError> {
        // Chains are short; the bound only guards against corrupt data.
        for _ in 0..64 {
            let booking = self
                .store
                .booking(id)
                .await?
                .filter(|b| b.host() == host)
                .ok_or(HostRescheduleError::NotFound)?;
            match booking.next() {
                Some(next) => id = next,
                None => return Ok(booking),
            }
        }
        Err(StoreError::msg("the booking's chain does not end").into())
    }
}

/// Whether the link's rules alone (hours, notice, reach) offer `start`, whatever is busy.
fn within_rules(link: &BookingLink, start: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    let Ok(probe) = TimeRange::starting_at(start, TimeDelta::minutes(1)) else {
        return false;
    };
    offered_slots_up_to(link.rules(), &probe, now, &[], 1)
        .iter()
        .any(|s| s.start() == start)
}
