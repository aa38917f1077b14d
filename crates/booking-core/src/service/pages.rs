//! The picker pages' reads for a link already in hand, as of one given instant: a page asks
//! several questions (the month's open days, the chosen day's times) and answers them all as
//! of the same `now`, without looking its link or its token up again for each. Reading as of
//! a given instant also makes a page a function of its inputs, which the rendered-answer cache
//! (`read_cache::answers`) relies on.

use chrono::{DateTime, TimeDelta, Utc};

use super::{MAX_WINDOW, Scheduler, SlotPage, SlotsError};
use crate::booking::Booking;
use crate::link::BookingLink;
use crate::ports::{BookingStore, BusyCalendar, Clock, TokenSource};
use crate::time::{TimeRange, within_horizon};

impl<S, C, T, B> Scheduler<S, C, T, B>
where
    S: BookingStore,
    C: Clock,
    T: TokenSource,
    B: BusyCalendar,
{
    /// [`Scheduler::slot_page`] of `link` as of `now`; with `moving`, the slots the booking
    /// could move to (it does not block itself). The caller has checked that `moving` may
    /// still be moved (`Booking::check_token`).
    ///
    /// # Errors
    /// [`SlotsError::WindowTooLong`] beyond [`MAX_WINDOW`], [`SlotsError::OutsideHorizon`] for
    /// a window reaching outside the bookable years, and the calendar's and the store's
    /// failures.
    pub async fn slot_page_at(
        &self,
        link: &BookingLink,
        window: TimeRange,
        moving: Option<&Booking>,
        now: DateTime<Utc>,
    ) -> Result<SlotPage, SlotsError> {
        if window.length() > MAX_WINDOW {
            return Err(SlotsError::WindowTooLong);
        }
        within_horizon(window.start())?;
        within_horizon(window.end() - TimeDelta::nanoseconds(1))?;
        Ok(self.page_for(link, window, moving, now).await?)
    }

    /// [`Scheduler::open_days`] of `link` as of `now`; with `moving`, the days the booking
    /// could move to (see [`Scheduler::slot_page_at`]).
    ///
    /// # Errors
    /// The calendar's and the store's failures.
    pub async fn open_days_at(
        &self,
        link: &BookingLink,
        days: &[TimeRange],
        moving: Option<&Booking>,
        now: DateTime<Utc>,
    ) -> Result<Vec<TimeRange>, SlotsError> {
        Ok(self.open_days_of(link, days, moving, now).await?)
    }
}
