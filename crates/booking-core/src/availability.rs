//! The rules a booking link offers slots by: weekly hours in the host's zone, date overrides,
//! length, interval, buffers, notice and horizon. The slot computation itself is in [`slots`].
//!
//! [`slots`]: crate::slots

use std::collections::BTreeMap;
use std::fmt;

use chrono::{NaiveDate, TimeDelta, Weekday};

use crate::time::TimeZoneName;

/// Minutes in a day; a period may end at 24:00.
pub const MINUTES_PER_DAY: u16 = 24 * 60;

/// Part of a local day, `[start, end)` in minutes after local midnight, `end` up to 24:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DayPeriod {
    start: u16,
    end: u16,
}

/// Why a set of availability rules was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRules {
    /// A period does not end after it starts, or lies outside 00:00–24:00.
    #[error("working period {0} must start before it ends, within 00:00-24:00")]
    Period(String),
    /// Two periods of one day overlap.
    #[error("working periods {0} and {1} overlap on the same day")]
    OverlappingPeriods(DayPeriod, DayPeriod),
    /// The meeting length is not between 1 minute and 24 hours.
    #[error("meeting duration must be between 1 minute and 24 hours")]
    Duration,
    /// The slot interval is not between 1 minute and 24 hours.
    #[error("slot interval must be between 1 minute and 24 hours")]
    Interval,
    /// A buffer or the notice is negative.
    #[error("{0} must not be negative")]
    Negative(&'static str),
    /// A meeting length, interval or buffer has a fraction of a second: slots start and end
    /// on whole seconds, which lets the slot engine count time in integer seconds.
    #[error("{0} must be a whole number of seconds")]
    FractionOfSecond(&'static str),
}

impl DayPeriod {
    /// `[start_minute, end_minute)` after local midnight.
    ///
    /// # Errors
    /// [`InvalidRules::Period`] unless `start < end <= 1440`.
    pub fn from_minutes(start: u16, end: u16) -> Result<Self, InvalidRules> {
        if start >= end || end > MINUTES_PER_DAY {
            return Err(InvalidRules::Period(format!(
                "{}-{}",
                hhmm(start),
                hhmm(end)
            )));
        }
        Ok(Self { start, end })
    }

    /// Parses `"09:00-17:00"` (`24:00` allowed as an end).
    ///
    /// # Errors
    /// [`InvalidRules::Period`] for anything else.
    pub fn parse(text: &str) -> Result<Self, InvalidRules> {
        let bad = || InvalidRules::Period(text.to_owned());
        let (a, b) = text.trim().split_once('-').ok_or_else(bad)?;
        Self::from_minutes(
            parse_hhmm(a).ok_or_else(bad)?,
            parse_hhmm(b).ok_or_else(bad)?,
        )
    }

    /// Minutes after local midnight the period starts.
    pub fn start_minute(&self) -> u16 {
        self.start
    }

    /// Minutes after local midnight the period ends (1440 = 24:00).
    pub fn end_minute(&self) -> u16 {
        self.end
    }
}

impl fmt::Display for DayPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", hhmm(self.start), hhmm(self.end))
    }
}

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn parse_hhmm(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// The working periods of one day: sorted, non-overlapping. Empty means closed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DayHours(Vec<DayPeriod>);

impl DayHours {
    /// A day with no working time.
    pub fn closed() -> Self {
        Self(Vec::new())
    }

    /// Sorts the periods and checks that none overlap.
    ///
    /// # Errors
    /// [`InvalidRules::OverlappingPeriods`] when two periods share a minute.
    pub fn new(mut periods: Vec<DayPeriod>) -> Result<Self, InvalidRules> {
        periods.sort();
        for pair in periods.windows(2) {
            if pair[1].start < pair[0].end {
                return Err(InvalidRules::OverlappingPeriods(pair[0], pair[1]));
            }
        }
        Ok(Self(periods))
    }

    /// The periods, earliest first.
    pub fn periods(&self) -> &[DayPeriod] {
        &self.0
    }

    /// Whether the day has no working time.
    pub fn is_closed(&self) -> bool {
        self.0.is_empty()
    }
}

/// Working hours for each weekday, in the link's zone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeeklyHours([DayHours; 7]);

impl WeeklyHours {
    /// The same periods on each of `days`, every other day closed.
    pub fn on(days: &[Weekday], hours: &DayHours) -> Self {
        let mut week = Self::default();
        for day in days {
            week.0[day.num_days_from_monday() as usize] = hours.clone();
        }
        week
    }

    /// Replaces one weekday's hours.
    pub fn with_day(mut self, day: Weekday, hours: DayHours) -> Self {
        self.0[day.num_days_from_monday() as usize] = hours;
        self
    }

    /// The hours of `day`.
    pub fn day(&self, day: Weekday) -> &DayHours {
        &self.0[day.num_days_from_monday() as usize]
    }
}

/// Everything needed to compute a link's slots, in a form that cannot be inconsistent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailabilityRules {
    zone: TimeZoneName,
    weekly: WeeklyHours,
    overrides: BTreeMap<NaiveDate, DayHours>,
    duration: TimeDelta,
    interval: TimeDelta,
    buffer_before: TimeDelta,
    buffer_after: TimeDelta,
    minimum_notice: TimeDelta,
    max_days_ahead: Option<u32>,
}

/// Unchecked availability settings, as read from a form or a database; turn them into
/// [`AvailabilityRules`] with [`AvailabilityRules::new`].
#[derive(Debug, Clone)]
pub struct RulesDraft {
    /// The zone weekly hours and overrides are read in.
    pub zone: TimeZoneName,
    /// Working hours per weekday.
    pub weekly: WeeklyHours,
    /// Days whose hours replace the weekly ones (closed or special hours).
    pub overrides: BTreeMap<NaiveDate, DayHours>,
    /// Meeting length.
    pub duration: TimeDelta,
    /// Distance between offered start times.
    pub interval: TimeDelta,
    /// Time kept free before each meeting.
    pub buffer_before: TimeDelta,
    /// Time kept free after each meeting.
    pub buffer_after: TimeDelta,
    /// How long before a slot starts it can still be booked.
    pub minimum_notice: TimeDelta,
    /// How many local days ahead of today slots are offered (`None`: no limit).
    pub max_days_ahead: Option<u32>,
}

impl RulesDraft {
    /// Monday to Friday `hours` in `zone`, slots of `duration` every `duration`, no buffers,
    /// no notice, no horizon.
    pub fn weekdays(zone: TimeZoneName, hours: DayPeriod, duration: TimeDelta) -> Self {
        use Weekday::*;
        Self {
            zone,
            weekly: WeeklyHours::on(&[Mon, Tue, Wed, Thu, Fri], &DayHours(vec![hours])),
            overrides: BTreeMap::new(),
            duration,
            interval: duration,
            buffer_before: TimeDelta::zero(),
            buffer_after: TimeDelta::zero(),
            minimum_notice: TimeDelta::zero(),
            max_days_ahead: None,
        }
    }
}

impl AvailabilityRules {
    /// Checks a draft.
    ///
    /// # Errors
    /// [`InvalidRules`] naming the first setting out of range.
    pub fn new(draft: RulesDraft) -> Result<Self, InvalidRules> {
        let day = TimeDelta::days(1);
        let minute = TimeDelta::minutes(1);
        if draft.duration < minute || draft.duration > day {
            return Err(InvalidRules::Duration);
        }
        if draft.interval < minute || draft.interval > day {
            return Err(InvalidRules::Interval);
        }
        for (name, value) in [
            ("buffer before", draft.buffer_before),
            ("buffer after", draft.buffer_after),
            ("minimum notice", draft.minimum_notice),
        ] {
            if value < TimeDelta::zero() {
                return Err(InvalidRules::Negative(name));
            }
        }
        for (name, value) in [
            ("meeting duration", draft.duration),
            ("slot interval", draft.interval),
            ("buffer before", draft.buffer_before),
            ("buffer after", draft.buffer_after),
        ] {
            if value.subsec_nanos() != 0 {
                return Err(InvalidRules::FractionOfSecond(name));
            }
        }
        Ok(Self {
            zone: draft.zone,
            weekly: draft.weekly,
            overrides: draft.overrides,
            duration: draft.duration,
            interval: draft.interval,
            buffer_before: draft.buffer_before,
            buffer_after: draft.buffer_after,
            minimum_notice: draft.minimum_notice,
            max_days_ahead: draft.max_days_ahead,
        })
    }

    /// Back to an editable draft.
    pub fn to_draft(&self) -> RulesDraft {
        RulesDraft {
            zone: self.zone,
            weekly: self.weekly.clone(),
            overrides: self.overrides.clone(),
            duration: self.duration,
            interval: self.interval,
            buffer_before: self.buffer_before,
            buffer_after: self.buffer_after,
            minimum_notice: self.minimum_notice,
            max_days_ahead: self.max_days_ahead,
        }
    }

    /// The zone hours are read in.
    pub fn zone(&self) -> TimeZoneName {
        self.zone
    }
    /// Weekly hours.
    pub fn weekly(&self) -> &WeeklyHours {
        &self.weekly
    }
    /// Date overrides.
    pub fn overrides(&self) -> &BTreeMap<NaiveDate, DayHours> {
        &self.overrides
    }
    /// The hours that apply on a local date: its override if any, else its weekday's.
    pub fn hours_on(&self, date: NaiveDate) -> &DayHours {
        use chrono::Datelike;
        self.overrides
            .get(&date)
            .unwrap_or_else(|| self.weekly.day(date.weekday()))
    }
    /// Meeting length.
    pub fn duration(&self) -> TimeDelta {
        self.duration
    }
    /// Distance between offered start times.
    pub fn interval(&self) -> TimeDelta {
        self.interval
    }
    /// Time kept free before each meeting.
    pub fn buffer_before(&self) -> TimeDelta {
        self.buffer_before
    }
    /// Time kept free after each meeting.
    pub fn buffer_after(&self) -> TimeDelta {
        self.buffer_after
    }
    /// Minimum time between now and a slot's start.
    pub fn minimum_notice(&self) -> TimeDelta {
        self.minimum_notice
    }
    /// How many local days ahead of today slots are offered.
    pub fn max_days_ahead(&self) -> Option<u32> {
        self.max_days_ahead
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_validate() {
        let p = DayPeriod::parse("09:00-17:30").unwrap();
        assert_eq!((p.start_minute(), p.end_minute()), (540, 1050));
        assert_eq!(DayPeriod::parse("22:00-24:00").unwrap().end_minute(), 1440);
        for bad in [
            "17:00-09:00",
            "09:00-09:00",
            "9:00-10:00",
            "24:30-25:00",
            "x",
            "10:60-11:00",
        ] {
            assert!(DayPeriod::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn overlapping_periods_are_refused() {
        let a = DayPeriod::parse("09:00-12:00").unwrap();
        let b = DayPeriod::parse("11:00-13:00").unwrap();
        let c = DayPeriod::parse("12:00-13:00").unwrap();
        assert!(DayHours::new(vec![b, a]).is_err());
        assert_eq!(DayHours::new(vec![c, a]).unwrap().periods(), &[a, c]);
    }

    #[test]
    fn rules_refuse_out_of_range_settings() {
        let zone = TimeZoneName::parse("Europe/Berlin").unwrap();
        let hours = DayPeriod::parse("09:00-17:00").unwrap();
        let ok = RulesDraft::weekdays(zone, hours, TimeDelta::minutes(30));
        assert!(AvailabilityRules::new(ok.clone()).is_ok());
        let mut d = ok.clone();
        d.duration = TimeDelta::zero();
        assert_eq!(AvailabilityRules::new(d), Err(InvalidRules::Duration));
        let mut d = ok.clone();
        d.interval = TimeDelta::days(2);
        assert_eq!(AvailabilityRules::new(d), Err(InvalidRules::Interval));
        let mut d = ok.clone();
        d.buffer_after = TimeDelta::minutes(-5);
        assert!(matches!(
            AvailabilityRules::new(d),
            Err(InvalidRules::Negative(_))
        ));
        let mut d = ok.clone();
        d.interval = TimeDelta::minutes(5) + TimeDelta::milliseconds(1);
        assert_eq!(
            AvailabilityRules::new(d),
            Err(InvalidRules::FractionOfSecond("slot interval"))
        );
        let mut d = ok.clone();
        d.buffer_before = TimeDelta::nanoseconds(1);
        assert_eq!(
            AvailabilityRules::new(d),
            Err(InvalidRules::FractionOfSecond("buffer before"))
        );
        // Whole seconds are fine; the notice may have a fraction (it only moves `now`).
        let mut d = ok;
        d.duration = TimeDelta::seconds(90);
        d.minimum_notice = TimeDelta::milliseconds(1500);
        assert!(AvailabilityRules::new(d).is_ok());
    }
}
