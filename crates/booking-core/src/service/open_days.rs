//! The month view's questions: on which days a link offers any time at all, and, when a
//! chosen start is refused, whether it was taken or never offered.

use chrono::{DateTime, TimeDelta, Utc};

use super::{MAX_WINDOW, Scheduler, SlotsError, SlotsOrStore, TokenActionError};
use crate::booking::Booking;
use crate::link::{BookingLink, Slug};
use crate::ports::{BookingStore, BusyCalendar, Clock, TokenSource};
use crate::slots::offered_slots_up_to;
use crate::time::{TimeRange, within_horizon};

impl<S, C, T, B> Scheduler<S, C, T, B>
where
    S: BookingStore,
    C: Clock,
    T: TokenSource,
    B: BusyCalendar,
{
    /// Of `days` (a reader's local days, earliest first), those on which the link named `slug`
    /// offers at least one slot as of now. What blocks the host is read once for all of them,
    /// and the engine stops at each day's first slot, so a month costs one store read however
    /// dense the link. Days past [`MAX_WINDOW`] from the first, or outside the bookable years,
    /// are never open.
    ///
    /// # Errors
    /// [`SlotsError::LinkNotFound`], and the calendar's and the store's failures.
    pub async fn open_days(
        &self,
        slug: &Slug,
        days: &[TimeRange],
    ) -> Result<Vec<TimeRange>, SlotsError> {
        let link = self
            .store
            .link_by_slug(slug)
            .await?
            .ok_or(SlotsError::LinkNotFound)?;
        Ok(self
            .open_days_of(&link, days, None, self.clock.now())
            .await?)
    }

    /// [`Scheduler::open_days`] for the reschedule page of a live token: the booking being
    /// moved does not block its own days.
    ///
    /// # Errors
    /// [`TokenActionError::NotFound`], [`TokenActionError::Refused`] for a dead token, and the
    /// calendar's and the store's failures.
    pub async fn reschedule_open_days(
        &self,
        token: &str,
        days: &[TimeRange],
    ) -> Result<Vec<TimeRange>, TokenActionError> {
        let booking = self.booking_to_show(token).await?;
        booking.check_token(self.clock.now())?;
        let link = self.link_of(&booking).await?;
        Ok(self
            .open_days_of(&link, days, Some(&booking), self.clock.now())
            .await?)
    }

    /// Of `days`, those on which `link` offers a slot as of `now`.
    pub(super) async fn open_days_of(
        &self,
        link: &BookingLink,
        days: &[TimeRange],
        moving: Option<&Booking>,
        now: DateTime<Utc>,
    ) -> Result<Vec<TimeRange>, SlotsOrStore> {
        let Some(first) = days.first() else {
            return Ok(Vec::new());
        };
        let last_end = first.start() + MAX_WINDOW;
        let days: Vec<TimeRange> = days
            .iter()
            .filter(|d| d.end() <= last_end && in_horizon(d))
            .copied()
            .collect();
        let (Some(start), Some(end)) = (
            days.iter().map(TimeRange::start).min(),
            days.iter().map(TimeRange::end).max(),
        ) else {
            return Ok(Vec::new());
        };
        let Ok(span) = TimeRange::new(start, end) else {
            return Ok(Vec::new());
        };
        let busy = self.busy_around(link, span, moving).await?;
        Ok(days
            .into_iter()
            .filter(|day| !offered_slots_up_to(link.rules(), day, now, &busy, 1).is_empty())
            .collect())
    }

    /// Why `start` is not offered: [`TokenActionError::SlotUnavailable`] when the link's rules
    /// alone would offer it (so something busy holds it), else
    /// [`TokenActionError::NotOffered`] (outside the host's hours, too soon, off the grid…).
    pub(super) fn why_not_offered(
        &self,
        link: &BookingLink,
        start: DateTime<Utc>,
    ) -> TokenActionError {
        if offered_when_free(link, start, self.clock.now()) {
            TokenActionError::SlotUnavailable
        } else {
            TokenActionError::NotOffered
        }
    }
}

/// Whether the link's rules offer `start` with nothing busy.
fn offered_when_free(link: &BookingLink, start: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    let Ok(probe) = TimeRange::starting_at(start, TimeDelta::minutes(1)) else {
        return false;
    };
    offered_slots_up_to(link.rules(), &probe, now, &[], 1)
        .iter()
        .any(|s| s.start() == start)
}

fn in_horizon(day: &TimeRange) -> bool {
    within_horizon(day.start()).is_ok()
        && within_horizon(day.end() - TimeDelta::nanoseconds(1)).is_ok()
}
