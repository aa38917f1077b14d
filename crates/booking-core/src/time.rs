//! Instants, half-open time ranges and the IANA zones bookings are shown in.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

/// A half-open range of UTC instants, `[start, end)`, with `start < end`.
///
/// A range that ends exactly when another starts does not overlap it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeRange {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

/// Returned when a range would end at or before its start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a time range must end after it starts ({start} .. {end})")]
pub struct EmptyRange {
    /// The rejected start.
    pub start: DateTime<Utc>,
    /// The rejected end.
    pub end: DateTime<Utc>,
}

impl TimeRange {
    /// Builds `[start, end)`.
    ///
    /// # Errors
    /// [`EmptyRange`] when `end <= start`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, EmptyRange> {
        if end <= start {
            return Err(EmptyRange { start, end });
        }
        Ok(Self { start, end })
    }

    /// Builds `[start, start + length)`.
    ///
    /// # Errors
    /// [`EmptyRange`] when `length` is not positive.
    pub fn starting_at(start: DateTime<Utc>, length: TimeDelta) -> Result<Self, EmptyRange> {
        Self::new(start, start + length)
    }

    /// First instant of the range.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// First instant after the range.
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// `end - start`.
    pub fn length(&self) -> TimeDelta {
        self.end - self.start
    }

    /// Whether the two half-open ranges share at least one instant.
    pub fn overlaps(&self, other: &TimeRange) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// Whether `other` lies entirely inside `self`.
    pub fn contains(&self, other: &TimeRange) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// Whether `instant` lies inside the range.
    pub fn contains_instant(&self, instant: DateTime<Utc>) -> bool {
        self.start <= instant && instant < self.end
    }

    /// The range grown by `before` at its start and `after` at its end (both non-negative).
    pub fn padded(&self, before: TimeDelta, after: TimeDelta) -> TimeRange {
        TimeRange {
            start: self.start - before.max(TimeDelta::zero()),
            end: self.end + after.max(TimeDelta::zero()),
        }
    }
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} .. {}",
            self.start.to_rfc3339(),
            self.end.to_rfc3339()
        )
    }
}

/// The span of time any slot or booking must lie in: from 1970-01-01T00:00Z up to (not
/// including) 9000-01-01T00:00Z. Both stores keep instants only up to the year 9999 (SQLite
/// as text that sorts by its four-digit year), so a slot near the end of chrono's calendar
/// would be offered and then fail to save; the bound keeps every slot, its buffers and any
/// later reschedule far inside what each store can hold.
pub const HORIZON_YEARS: std::ops::Range<i32> = 1970..9000;

/// The end of [`HORIZON_YEARS`] as Unix seconds: 9000-01-01T00:00:00Z.
const HORIZON_END_SECONDS: i64 = 221_845_392_000;

/// Returned for an instant outside [`HORIZON_YEARS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is outside the bookable years 1970 to 8999")]
pub struct OutsideHorizon(pub DateTime<Utc>);

/// The first instant after the bookable horizon, 9000-01-01T00:00Z.
pub fn horizon_end() -> DateTime<Utc> {
    DateTime::from_timestamp(HORIZON_END_SECONDS, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Checks that `instant` lies within [`HORIZON_YEARS`].
///
/// # Errors
/// [`OutsideHorizon`] otherwise.
pub fn within_horizon(instant: DateTime<Utc>) -> Result<DateTime<Utc>, OutsideHorizon> {
    if instant < DateTime::UNIX_EPOCH || instant >= horizon_end() {
        return Err(OutsideHorizon(instant));
    }
    Ok(instant)
}

/// An IANA time zone such as `Europe/Berlin`, as chosen by a host or an attendee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZoneName(Tz);

/// Returned for a name that is not in the IANA time zone database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone {0:?}: expected an IANA name such as Europe/Berlin")]
pub struct UnknownTimeZone(pub String);

impl TimeZoneName {
    /// Parses an IANA zone name (exact spelling, e.g. `America/New_York`).
    ///
    /// # Errors
    /// [`UnknownTimeZone`] for anything else.
    pub fn parse(name: &str) -> Result<Self, UnknownTimeZone> {
        Tz::from_str(name.trim())
            .map(Self)
            .map_err(|_| UnknownTimeZone(name.to_owned()))
    }

    /// The zone for time arithmetic.
    pub fn tz(&self) -> Tz {
        self.0
    }

    /// The IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl From<Tz> for TimeZoneName {
    fn from(tz: Tz) -> Self {
        Self(tz)
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_horizon_spans_1970_to_8999() {
        assert_eq!(
            horizon_end(),
            Utc.with_ymd_and_hms(9000, 1, 1, 0, 0, 0).unwrap()
        );
        let last = horizon_end() - TimeDelta::seconds(1);
        assert_eq!(within_horizon(last), Ok(last));
        assert_eq!(
            within_horizon(DateTime::UNIX_EPOCH),
            Ok(DateTime::UNIX_EPOCH)
        );
        for outside in [
            horizon_end(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 30, 0).unwrap(),
            DateTime::UNIX_EPOCH - TimeDelta::seconds(1),
        ] {
            assert_eq!(within_horizon(outside), Err(OutsideHorizon(outside)));
        }
    }

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 1, h, m, 0).unwrap()
    }

    #[test]
    fn touching_ranges_do_not_overlap() {
        let a = TimeRange::new(at(9, 0), at(9, 30)).unwrap();
        let b = TimeRange::new(at(9, 30), at(10, 0)).unwrap();
        assert!(!a.overlaps(&b) && !b.overlaps(&a));
        let c = TimeRange::new(at(9, 29), at(10, 0)).unwrap();
        assert!(a.overlaps(&c) && c.overlaps(&a));
    }

    #[test]
    fn empty_and_inverted_ranges_are_rejected() {
        assert!(TimeRange::new(at(9, 0), at(9, 0)).is_err());
        assert!(TimeRange::new(at(9, 1), at(9, 0)).is_err());
    }

    #[test]
    fn zones_parse_only_iana_names() {
        assert_eq!(
            TimeZoneName::parse("Europe/Berlin").unwrap().name(),
            "Europe/Berlin"
        );
        assert!(TimeZoneName::parse("Mars/Olympus").is_err());
        assert!(TimeZoneName::parse("").is_err());
    }
}
