//! The slot engine: which start times a link offers in a window, given what is already busy.
//!
//! # How slots are found
//!
//! 1. **Working time.** For every local date (in the rules' zone) that can matter, each period of
//!    [`AvailabilityRules::hours_on`] is turned into a range of UTC instants. A period ending at
//!    24:00 ends at the next local date's 00:00. A period `[s, e)` runs from the first instant
//!    the wall clock reads `s` or later to the last instant it still reads earlier than `e`, so
//!    it keeps all the real time it covers when the clocks change:
//!    - a local time that does not exist (skipped by a spring-forward gap) resolves to the first
//!      instant after the gap, the transition itself, for a start and for an end alike;
//!    - a local time that happens twice (a fall-back fold) resolves to its *earlier* instant
//!      when it starts a period and to its *later* instant when it ends one, so a period that
//!      covers the fold keeps its full real length (01:00–03:00 on a fall-back night is three
//!      hours long). The one exception is an end at the very first repeated time (01:00 in New
//!      York, 23:00 in Santiago): the period does not cover the repeated hour, so it ends at the
//!      earlier instant, when the clock first reaches that time.
//!
//!    A period lying wholly inside a gap is empty and dropped.
//! 2. **Stretches.** Ranges that overlap or touch are merged into stretches of working time, so
//!    22:00–24:00 followed by the next day's 00:00–02:00 is one four-hour stretch and a meeting
//!    may cross local midnight.
//! 3. **Candidates.** Start times are stepped by [`AvailabilityRules::interval`] in absolute
//!    time from the beginning of each stretch (which may lie before the window); a candidate
//!    `[start, start + duration)` must lie wholly inside its stretch. A stretch that runs
//!    without a break for more than [`MAX_LOOKBACK_DAYS`] local days before the window (a
//!    round-the-clock schedule) has no beginning worth finding; its starts are aligned to whole
//!    multiples of the interval since 1970-01-01T00:00Z instead, so that every window sees the
//!    same grid.
//! 4. **Filters.** A candidate is offered when
//!    - its *start* lies in the window (its end may pass the window's end);
//!    - its start is at least [`AvailabilityRules::minimum_notice`] after `now`, and within the
//!      bookable years ([`HORIZON_YEARS`](crate::time::HORIZON_YEARS));
//!    - with a horizon of `n` days ([`AvailabilityRules::max_days_ahead`]), it starts before the
//!      first instant of local date `today + n + 1`, `today` being `now`'s local date (so
//!      `n = 0` offers only the rest of today);
//!    - grown by its buffers ([`TimeRange::padded`]), it overlaps no busy range. Ranges are
//!      half-open: a busy range that ends exactly where the buffered slot starts does not
//!      block it.
//!
//! # Cost
//!
//! The engine counts time in whole seconds since 1970 (`i64`), converting each instant once
//! on the way in and back to `DateTime<Utc>` only for the slots it returns: ordering and
//! stepping chrono's calendar-field instants (date, second, fraction) was most of its time,
//! and on integers each is one instruction. Seconds lose nothing: every boundary a candidate
//! can have is a whole second (zone offsets are whole seconds, and the rules' lengths must be,
//! see [`AvailabilityRules::new`]), and against such boundaries a busy range's start rounded
//! down and its end rounded up, or the window's bounds rounded up, compare exactly as the
//! instants themselves do.
//!
//! Busy ranges that cannot touch a candidate are dropped, the rest sorted and merged once,
//! `O(b log b)`, then swept together with the candidates, which come out in time order, so
//! the whole is `O(b log b + d + s)` for `d` local days and `s` candidates. Nothing is
//! allocated per candidate: only the merged busy list, the working stretches and the returned
//! `Vec`. [`offered_slots_up_to`] stops at its limit, so `s` is then only the candidates up to
//! the last slot returned.

use std::cmp::Ordering;

use chrono::{
    DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc,
};
use chrono_tz::Tz;

use crate::availability::{AvailabilityRules, MINUTES_PER_DAY};
use crate::time::{TimeRange, horizon_end};

/// How many local days before the window the engine looks for the beginning of a stretch of
/// working time that reaches into it. See the module docs, step 3.
pub const MAX_LOOKBACK_DAYS: u32 = 62;

/// The slots `rules` offer inside `window`, earliest first.
///
/// `busy` holds ranges the host cannot be booked in, in any order, possibly overlapping:
/// the buffered ranges of other confirmed bookings and external busy times. A slot is offered
/// when it lies within working hours in the rules' zone, its start is within `window`, at least
/// the minimum notice after `now` and inside the horizon, and the slot grown by its buffers
/// overlaps nothing busy. The [module docs](self) give the exact rules, including clock changes.
///
/// ```
/// use booking_core::availability::{AvailabilityRules, DayPeriod, RulesDraft};
/// use booking_core::slots::offered_slots;
/// use booking_core::time::{TimeRange, TimeZoneName};
/// use chrono::{TimeDelta, TimeZone, Utc};
///
/// let zone = TimeZoneName::parse("Europe/Berlin").unwrap();
/// let hours = DayPeriod::parse("09:00-12:00").unwrap();
/// let rules =
///     AvailabilityRules::new(RulesDraft::weekdays(zone, hours, TimeDelta::hours(1))).unwrap();
/// // Monday 2027-03-01; Berlin is at UTC+01:00.
/// let day = Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap();
/// let window = TimeRange::starting_at(day, TimeDelta::days(1)).unwrap();
/// let busy = [TimeRange::starting_at(day + TimeDelta::hours(9), TimeDelta::hours(1)).unwrap()];
///
/// let starts: Vec<_> = offered_slots(&rules, &window, day, &busy)
///     .iter()
///     .map(|slot| slot.start().format("%H:%M").to_string())
///     .collect();
/// assert_eq!(starts, ["08:00", "10:00"]); // 09:00 and 11:00 in Berlin; 10:00 is busy
/// ```
pub fn offered_slots(
    rules: &AvailabilityRules,
    window: &TimeRange,
    now: DateTime<Utc>,
    busy: &[TimeRange],
) -> Vec<TimeRange> {
    offered_slots_up_to(rules, window, now, busy, usize::MAX)
}

/// The first `limit` slots of [`offered_slots`], earliest first. Candidates are generated in
/// time order and generation stops at the `limit`-th slot, so the work is bounded by the
/// candidates up to that slot, not by the window.
pub fn offered_slots_up_to(
    rules: &AvailabilityRules,
    window: &TimeRange,
    now: DateTime<Utc>,
    busy: &[TimeRange],
    limit: usize,
) -> Vec<TimeRange> {
    let Some((earliest, before)) = start_bounds(rules, window, now) else {
        return Vec::new();
    };
    let stretches = working_stretches(rules, earliest, before);
    // Candidates start on whole seconds, so `start >= earliest` and `start < before` hold
    // exactly when they hold against the bounds rounded up.
    let (earliest, before) = (seconds_up(earliest), seconds_up(before));
    let candidates = Candidates {
        stretches: &stretches,
        shape: SlotShape::of(rules),
        earliest,
        before,
    };
    let busy = merged_busy(busy, &candidates.reach());
    candidates.free_of(&busy, limit)
}

/// The span `[earliest, before)` a slot's start must lie in: the window, cut by the minimum
/// notice, the bookable years and the horizon of days ahead. `None` when it is empty.
fn start_bounds(
    rules: &AvailabilityRules,
    window: &TimeRange,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let tz = rules.zone().tz();
    let not_before = now.checked_add_signed(rules.minimum_notice())?;
    let earliest = window.start().max(not_before).max(DateTime::UNIX_EPOCH);
    // No slot may start outside the bookable years (see `time::HORIZON_YEARS`).
    let mut before = window.end().min(horizon_end());
    if let Some(days) = rules.max_days_ahead() {
        let today = wall_clock(tz, now).date();
        let limit = today
            .checked_add_days(Days::new(u64::from(days) + 1))
            .map(|date| resolve(tz, date.and_time(NaiveTime::MIN), Role::Start));
        if let Some(limit) = limit {
            before = before.min(limit);
        }
    }
    (earliest < before).then_some((earliest, before))
}

/// An instant as whole seconds since 1970-01-01T00:00Z, or a length of time in seconds.
/// See the module docs, "Cost", for why the engine counts in these and why it is exact.
type Seconds = i64;

/// `at` rounded down to a whole second.
fn seconds_down(at: DateTime<Utc>) -> Seconds {
    at.timestamp()
}

/// `at` rounded up to a whole second (a leap second's instants to the second after it).
fn seconds_up(at: DateTime<Utc>) -> Seconds {
    at.timestamp() + Seconds::from(at.timestamp_subsec_nanos() > 0)
}

/// The instant `at` seconds after 1970-01-01T00:00Z, if chrono can hold it.
fn instant(at: Seconds) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at, 0)
}

/// A half-open range `[start, end)` of instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: Seconds,
    end: Seconds,
}

/// A merged stretch of working time; `anchor` is where its stepping grid starts (its
/// beginning, or the Unix epoch for a stretch with no known beginning).
#[derive(Debug, Clone, Copy)]
struct Stretch {
    span: Span,
    anchor: Seconds,
}

/// The rules' lengths, in seconds (whole: [`AvailabilityRules::new`] refuses fractions).
#[derive(Debug, Clone, Copy)]
struct SlotShape {
    duration: Seconds,
    step: Seconds,
    buffer_before: Seconds,
    buffer_after: Seconds,
}

impl SlotShape {
    fn of(rules: &AvailabilityRules) -> Self {
        let non_negative = |delta: TimeDelta| delta.max(TimeDelta::zero()).num_seconds();
        Self {
            duration: rules.duration().num_seconds(),
            step: rules.interval().num_seconds(),
            buffer_before: non_negative(rules.buffer_before()),
            buffer_after: non_negative(rules.buffer_after()),
        }
    }

    /// The slot starting at `start`, grown by its buffers: what must not touch busy time.
    fn padded(&self, start: Seconds) -> Span {
        Span {
            start: start - self.buffer_before,
            end: start + self.duration + self.buffer_after,
        }
    }
}

/// Sorts ranges by start and merges those that overlap or touch, in place.
fn merge_in_place(spans: &mut Vec<Span>) {
    spans.sort_unstable_by_key(|span| span.start);
    let mut kept = 0;
    for i in 0..spans.len() {
        let span = spans[i];
        if kept > 0 && span.start <= spans[kept - 1].end {
            let last = &mut spans[kept - 1];
            last.end = last.end.max(span.end);
        } else {
            spans[kept] = span;
            kept += 1;
        }
    }
    spans.truncate(kept);
}

/// The busy ranges that meet `reach` (sorted, disjoint), sorted and merged.
///
/// Only these can block a candidate, and dropping the others before sorting pays: a host's
/// busy time mostly lies outside working hours. Each range is widened to whole seconds, which
/// padded slots, starting and ending on whole seconds, overlap exactly when they overlap the
/// range itself.
fn merged_busy(busy: &[TimeRange], reach: &[Span]) -> Vec<Span> {
    let mut spans = Vec::with_capacity(busy.len());
    for range in busy {
        let span = Span {
            start: seconds_down(range.start()),
            end: seconds_up(range.end()),
        };
        let next = reach.partition_point(|r| r.end <= span.start);
        if reach.get(next).is_some_and(|r| r.start < span.end) {
            spans.push(span);
        }
    }
    merge_in_place(&mut spans);
    spans
}

/// The candidate slots: steps through each working stretch whose start lies in
/// `[earliest, before)`.
struct Candidates<'a> {
    stretches: &'a [Stretch],
    shape: SlotShape,
    earliest: Seconds,
    before: Seconds,
}

impl Candidates<'_> {
    /// Where padded candidates can lie: each stretch's part that can hold one, grown by the
    /// buffers; sorted and merged.
    fn reach(&self) -> Vec<Span> {
        let SlotShape {
            duration,
            buffer_before,
            buffer_after,
            ..
        } = self.shape;
        let mut reach = Vec::with_capacity(self.stretches.len());
        for stretch in self.stretches {
            let first_start = self.earliest.max(stretch.span.start);
            let last_end = (self.before + duration).min(stretch.span.end);
            if first_start < last_end {
                reach.push(Span {
                    start: first_start - buffer_before,
                    end: last_end + buffer_after,
                });
            }
        }
        merge_in_place(&mut reach);
        reach
    }

    /// The first `limit` candidates whose padded range overlaps nothing in `busy` (sorted and
    /// merged).
    fn free_of(&self, busy: &[Span], limit: usize) -> Vec<TimeRange> {
        let SlotShape { duration, step, .. } = self.shape;
        let mut slots = Vec::new();
        // Candidates come out in increasing start order, so their padded starts only grow and
        // the busy list is swept once.
        let mut next_busy = 0;
        for stretch in self.stretches {
            let from = self.earliest.max(stretch.span.start);
            let mut start = first_step_at_or_after(stretch.anchor, step, from);
            while start < self.before && start + duration <= stretch.span.end {
                if slots.len() >= limit {
                    return slots;
                }
                let padded = self.shape.padded(start);
                while busy.get(next_busy).is_some_and(|b| b.end <= padded.start) {
                    next_busy += 1;
                }
                if busy.get(next_busy).is_none_or(|b| b.start >= padded.end) {
                    // Every start lies in the bookable years, so this always converts.
                    let Some(slot) = to_range(start, start + duration) else {
                        return slots;
                    };
                    slots.push(slot);
                }
                start += step;
            }
        }
        slots
    }
}

fn to_range(start: Seconds, end: Seconds) -> Option<TimeRange> {
    TimeRange::new(instant(start)?, instant(end)?).ok()
}

/// The merged working stretches that can hold a slot starting in `[from, until)`, each with
/// its grid anchor.
fn working_stretches(
    rules: &AvailabilityRules,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<Stretch> {
    let tz = rules.zone().tz();
    let local_date = |instant: DateTime<Utc>| wall_clock(tz, instant).date();
    // A date's working time lies between its own local midnight and the next one, so the date
    // before `from`'s covers everything reaching `from`. A slot starting just before `until` may
    // last up to a day and run through the following (possibly 23-hour) day into the one after.
    let first = local_date(from).pred_opt().unwrap_or(NaiveDate::MIN);
    let last = local_date(until)
        .checked_add_days(Days::new(2))
        .unwrap_or(NaiveDate::MAX);

    let mut spans = Vec::new();
    for date in first.iter_days().take_while(|date| *date <= last) {
        push_periods(rules, tz, date, &mut spans);
    }
    merge_in_place(&mut spans);

    // The first stretch may have begun on earlier dates; its beginning anchors its grid.
    // Stretches end on whole seconds: `end <= from` holds exactly when it holds rounded down.
    let from = seconds_down(from);
    let mut unbroken = false;
    let mut earliest_date = first;
    let mut day = Vec::new();
    let mut looked_back = 0;
    while let Some(head) = spans.first().copied() {
        if head.end <= from {
            break;
        }
        if looked_back == MAX_LOOKBACK_DAYS {
            unbroken = true;
            break;
        }
        let Some(date) = earliest_date.pred_opt() else {
            break;
        };
        day.clear();
        push_periods(rules, tz, date, &mut day);
        if !day.iter().any(|span| span.end >= head.start) {
            break;
        }
        spans.extend_from_slice(&day);
        merge_in_place(&mut spans);
        earliest_date = date;
        looked_back += 1;
    }

    let mut stretches: Vec<Stretch> = spans
        .into_iter()
        .map(|span| Stretch {
            span,
            anchor: span.start,
        })
        .collect();
    if let Some(head) = stretches.first_mut().filter(|_| unbroken) {
        head.anchor = 0; // the Unix epoch
    }
    stretches
}

/// Appends the non-empty ranges of `date`'s working periods.
fn push_periods(rules: &AvailabilityRules, tz: Tz, date: NaiveDate, out: &mut Vec<Span>) {
    let midnight = date.and_time(NaiveTime::MIN);
    for period in rules.hours_on(date).periods() {
        let local_start = midnight + TimeDelta::minutes(i64::from(period.start_minute()));
        let local_end = if period.end_minute() == MINUTES_PER_DAY {
            // 24:00 is the next date's 00:00, which a clock change may affect differently.
            match date.succ_opt() {
                Some(next) => next.and_time(NaiveTime::MIN),
                None => continue,
            }
        } else {
            midnight + TimeDelta::minutes(i64::from(period.end_minute()))
        };
        // Both resolve to whole seconds.
        let start = seconds_down(resolve(tz, local_start, Role::Start));
        let end = seconds_down(resolve(tz, local_end, Role::End));
        if start < end {
            out.push(Span { start, end });
        }
    }
}

/// Whether a local time starts or ends a period, which decides the instant it resolves to.
#[derive(Debug, Clone, Copy)]
enum Role {
    /// The first instant the clock reads the time or later.
    Start,
    /// The last instant the clock still reads earlier than the time.
    End,
}

/// The UTC instant of a local time in its role: see the module docs, step 1.
fn resolve(tz: Tz, local: NaiveDateTime, role: Role) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => at.with_timezone(&Utc),
        LocalResult::Ambiguous(earlier, later) => {
            let (earlier, later) = (earlier.with_timezone(&Utc), later.with_timezone(&Utc));
            match role {
                Role::Start => earlier,
                // Unless the repeat begins right at `later`, the clock reads earlier than
                // `local` again just before it.
                Role::End if wall_clock(tz, later - TimeDelta::seconds(1)) < local => later,
                Role::End => earlier,
            }
        }
        LocalResult::None => end_of_gap(tz, local),
    }
}

/// What a clock in `tz` reads at `at`.
fn wall_clock(tz: Tz, at: DateTime<Utc>) -> NaiveDateTime {
    tz.from_utc_datetime(&at.naive_utc()).naive_local()
}

/// The transition instant of the gap that swallows `local`: the first instant whose local
/// time is later than `local`.
fn end_of_gap(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    // UTC offsets stay within ±16 hours, so the transition lies within 16 hours of `local`
    // read as UTC; near a single transition local time only grows with UTC, so bisect on
    // whole seconds (transitions fall on whole seconds).
    const REACH: i64 = 16 * 3600;
    let local_at = |secs: i64| DateTime::from_timestamp(secs, 0).map(|t| wall_clock(tz, t));
    let guess = local.and_utc().timestamp();
    let (mut lo, mut hi) = (guess - REACH, guess + REACH); // local_at(lo) < local <= local_at(hi)
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        match local_at(mid).map(|at| at.cmp(&local)) {
            Some(Ordering::Less) => lo = mid,
            _ => hi = mid,
        }
    }
    DateTime::from_timestamp(hi, 0).unwrap_or(local.and_utc())
}

/// The first instant at or after `at` that is a whole number of `step`s after `anchor`.
fn first_step_at_or_after(anchor: Seconds, step: Seconds, at: Seconds) -> Seconds {
    if at <= anchor {
        return anchor;
    }
    let steps = (at - anchor + step - 1) / step;
    anchor + steps * step
}

/// The fixed slot-engine benchmark input of `BENCH-INPUT.md`, shared by the benchmark, its
/// JSON export and the tests that pin it down. Not part of the engine's API.
#[doc(hidden)]
pub mod bench_fixture {
    use chrono::{DateTime, TimeDelta, TimeZone, Utc};

    use crate::availability::{AvailabilityRules, DayPeriod, RulesDraft};
    use crate::time::{TimeRange, TimeZoneName};

    /// Number of busy intervals in the recipe.
    pub const BUSY_COUNT: usize = 2_000;

    /// `America/New_York`, Monday–Friday 09:00–17:00, 30-minute slots every 30 minutes, no
    /// buffers, notice or horizon.
    pub fn bench_input_rules() -> AvailabilityRules {
        let zone = TimeZoneName::parse("America/New_York").expect("zone is in the database");
        let hours = DayPeriod::parse("09:00-17:00").expect("valid period");
        AvailabilityRules::new(RulesDraft::weekdays(zone, hours, TimeDelta::minutes(30)))
            .expect("valid rules")
    }

    /// Local 2027-02-22 00:00 to local 2027-04-23 00:00 in New York (60 local days).
    pub fn bench_input_window() -> TimeRange {
        let tz = chrono_tz::America::New_York;
        let start = tz
            .with_ymd_and_hms(2027, 2, 22, 0, 0, 0)
            .single()
            .expect("not ambiguous");
        let end = tz
            .with_ymd_and_hms(2027, 4, 23, 0, 0, 0)
            .single()
            .expect("not ambiguous");
        TimeRange::new(start.with_timezone(&Utc), end.with_timezone(&Utc)).expect("non-empty")
    }

    /// The clock: 2027-02-20T00:00:00Z.
    pub fn bench_input_now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 2, 20, 0, 0, 0).unwrap()
    }

    /// The 2,000 busy intervals: a 32-bit LCG (`state = 1664525 * state + 1013904223`, seed
    /// 42) draws `a` then `b` per interval; it starts `a * 86400 / 2^32` minutes after
    /// 2027-02-22T00:00Z and lasts `15 + b * 76 / 2^32` minutes.
    pub fn bench_input_busy() -> Vec<TimeRange> {
        let base = Utc.with_ymd_and_hms(2027, 2, 22, 0, 0, 0).unwrap();
        let mut state: u32 = 42;
        let mut draw = move || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            i64::from(state)
        };
        (0..BUSY_COUNT)
            .map(|_| {
                let a = draw();
                let b = draw();
                let offset = (a * 86_400) >> 32;
                let length = 15 + ((b * 76) >> 32);
                let start = base + TimeDelta::minutes(offset);
                TimeRange::starting_at(start, TimeDelta::minutes(length)).expect("positive")
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::bench_fixture::*;
    use super::*;
    use crate::availability::{DayHours, DayPeriod, RulesDraft, WeeklyHours};
    use crate::time::TimeZoneName;
    use chrono::{Timelike, Weekday};

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn range(start: DateTime<Utc>, end: DateTime<Utc>) -> TimeRange {
        TimeRange::new(start, end).unwrap()
    }

    #[test]
    fn bench_input_matches_the_recipe_check_values() {
        let busy = bench_input_busy();
        assert_eq!(busy.len(), 2_000);
        assert_eq!(busy[0].start(), utc(2027, 3, 9, 3, 22));
        assert_eq!(busy[0].length(), TimeDelta::minutes(21));
        let base = utc(2027, 2, 22, 0, 0);
        let offsets: i64 = busy.iter().map(|b| (b.start() - base).num_minutes()).sum();
        let lengths: i64 = busy.iter().map(|b| b.length().num_minutes()).sum();
        assert_eq!((offsets, lengths), (87_510_382, 105_476));
        // EST is UTC-5 in February, EDT UTC-4 in April.
        assert_eq!(
            bench_input_window(),
            range(utc(2027, 2, 22, 5, 0), utc(2027, 4, 23, 4, 0))
        );
    }

    #[test]
    fn busy_ranges_are_sorted_and_merged_when_overlapping_or_touching() {
        let b = [
            range(utc(2027, 1, 1, 12, 0), utc(2027, 1, 1, 13, 0)),
            range(utc(2027, 1, 1, 9, 0), utc(2027, 1, 1, 10, 0)),
            range(utc(2027, 1, 1, 10, 0), utc(2027, 1, 1, 10, 30)),
            range(utc(2027, 1, 1, 9, 15), utc(2027, 1, 1, 9, 45)),
        ];
        let everything = Span {
            start: Seconds::MIN,
            end: Seconds::MAX,
        };
        let merged: Vec<_> = merged_busy(&b, &[everything])
            .iter()
            .map(|s| (instant(s.start).unwrap(), instant(s.end).unwrap()))
            .collect();
        assert_eq!(
            merged,
            [
                (utc(2027, 1, 1, 9, 0), utc(2027, 1, 1, 10, 30)),
                (utc(2027, 1, 1, 12, 0), utc(2027, 1, 1, 13, 0)),
            ]
        );
    }

    #[test]
    fn busy_ranges_out_of_reach_are_dropped_and_touching_ones_kept() {
        let span = |from: DateTime<Utc>, to: DateTime<Utc>| Span {
            start: seconds_down(from),
            end: seconds_down(to),
        };
        let h = |hour, minute| utc(2027, 1, 1, hour, minute);
        let reach = [span(h(9, 0), h(12, 0)), span(h(13, 0), h(17, 0))];
        let b = [
            range(h(8, 0), h(9, 0)),
            range(h(8, 0), h(9, 1)),
            range(h(12, 0), h(13, 0)),
            range(h(11, 59), h(12, 30)),
            range(h(12, 30), h(13, 0)),
            range(h(11, 0), h(14, 0)),
            range(h(16, 59), h(18, 0)),
            range(h(17, 0), h(18, 0)),
        ];
        let kept: Vec<_> = merged_busy(&b, &reach)
            .iter()
            .map(|s| (instant(s.start).unwrap(), instant(s.end).unwrap()))
            .collect();
        assert_eq!(
            kept,
            [
                (h(8, 0), h(9, 1)),
                (h(11, 0), h(14, 0)),
                (h(16, 59), h(18, 0))
            ]
        );
    }

    #[test]
    fn instants_round_to_whole_seconds_both_ways() {
        let whole = utc(2027, 3, 14, 7, 0);
        let just_after = whole + TimeDelta::nanoseconds(1);
        let just_before = whole - TimeDelta::nanoseconds(1);
        assert_eq!(seconds_down(whole), seconds_up(whole));
        assert_eq!(seconds_up(just_after), seconds_down(whole) + 1);
        assert_eq!(seconds_down(just_after), seconds_down(whole));
        assert_eq!(seconds_down(just_before), seconds_down(whole) - 1);
        assert_eq!(seconds_up(just_before), seconds_down(whole));
        // Before 1970 too: rounding down goes towards the past.
        let early = DateTime::UNIX_EPOCH - TimeDelta::milliseconds(1500);
        assert_eq!((seconds_down(early), seconds_up(early)), (-2, -1));
        for at in [DateTime::<Utc>::MIN_UTC, whole, DateTime::<Utc>::MAX_UTC] {
            assert_eq!(
                instant(seconds_down(at)),
                Some(at.with_nanosecond(0).unwrap())
            );
        }
    }

    /// A busy range or a window bound between whole seconds decides as the instant itself
    /// does: a busy end a nanosecond past a slot's start blocks it, one at the start does not.
    #[test]
    fn fractional_busy_edges_and_bounds_decide_exactly() {
        let mut draft = round_the_clock(30).to_draft();
        draft.duration = TimeDelta::minutes(30);
        draft.minimum_notice = TimeDelta::minutes(30);
        let rules = AvailabilityRules::new(draft).unwrap();
        let now = utc(2027, 1, 1, 0, 0);
        let nine = utc(2027, 5, 3, 9, 0);
        let ns = TimeDelta::nanoseconds(1);
        let window = range(nine, nine + TimeDelta::hours(1));
        let starts = |window: &TimeRange, busy: &[TimeRange]| -> Vec<_> {
            offered_slots(&rules, window, now, busy)
                .iter()
                .map(|s| s.start())
                .collect()
        };
        let half_past = nine + TimeDelta::minutes(30);
        assert_eq!(starts(&window, &[]), [nine, half_past]);
        assert_eq!(starts(&window, &[range(nine - ns, nine + ns)]), [half_past]);
        assert_eq!(
            starts(&window, &[range(nine - TimeDelta::hours(1), nine)]),
            [nine, half_past]
        );
        // The 09:00 slot ends where the 09:30 one starts.
        assert_eq!(
            starts(&window, &[range(half_past - ns, half_past)]),
            [half_past]
        );
        assert_eq!(starts(&window, &[range(half_past, half_past + ns)]), [nine]);
        assert_eq!(
            starts(
                &window,
                &[range(
                    nine + TimeDelta::minutes(31) - ns,
                    half_past + TimeDelta::hours(1)
                )]
            ),
            [nine]
        );
        // The window's bounds: a start a nanosecond after a slot's excludes it.
        assert_eq!(starts(&range(nine + ns, half_past + ns), &[]), [half_past]);
        assert_eq!(starts(&range(nine, half_past + ns), &[]), [nine, half_past]);
        assert_eq!(starts(&range(nine, half_past), &[]), [nine]);
        // The 30-minute notice, counted from a `now` between seconds.
        let first_after = |now| {
            offered_slots(&rules, &window, now, &[])
                .first()
                .map(|s| s.start())
        };
        assert_eq!(first_after(nine - TimeDelta::minutes(30)), Some(nine));
        assert_eq!(
            first_after(nine - TimeDelta::minutes(30) + ns),
            Some(half_past)
        );
    }

    fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap()
    }

    #[test]
    fn gap_times_resolve_to_the_transition_instant() {
        let ny = chrono_tz::America::New_York;
        // Clocks jump from 02:00 EST (07:00Z) to 03:00 EDT.
        let skipped = local(2027, 3, 14, 2, 30);
        assert_eq!(resolve(ny, skipped, Role::Start), utc(2027, 3, 14, 7, 0));
        assert_eq!(resolve(ny, skipped, Role::End), utc(2027, 3, 14, 7, 0));
    }

    #[test]
    fn fold_times_resolve_by_role() {
        let ny = chrono_tz::America::New_York;
        // 02:00 EDT (06:00Z) becomes 01:00 EST: 01:00-01:59 happens at 05:xxZ and 06:xxZ.
        let twice = local(2027, 11, 7, 1, 30);
        assert_eq!(resolve(ny, twice, Role::Start), utc(2027, 11, 7, 5, 30));
        assert_eq!(resolve(ny, twice, Role::End), utc(2027, 11, 7, 6, 30));
        let repeat_begins = local(2027, 11, 7, 1, 0);
        assert_eq!(
            resolve(ny, repeat_begins, Role::Start),
            utc(2027, 11, 7, 5, 0)
        );
        assert_eq!(
            resolve(ny, repeat_begins, Role::End),
            utc(2027, 11, 7, 5, 0)
        );
    }

    #[test]
    fn grid_steps_are_counted_from_the_anchor() {
        let anchor = utc(2027, 1, 1, 9, 0);
        let step = TimeDelta::minutes(25).num_seconds();
        let first = |at| {
            instant(first_step_at_or_after(
                seconds_down(anchor),
                step,
                seconds_down(at),
            ))
            .unwrap()
        };
        assert_eq!(first(utc(2027, 1, 1, 8, 0)), anchor);
        assert_eq!(first(anchor), anchor);
        assert_eq!(first(utc(2027, 1, 1, 9, 1)), utc(2027, 1, 1, 9, 25));
        assert_eq!(first(utc(2027, 1, 1, 9, 50)), utc(2027, 1, 1, 9, 50));
    }

    fn round_the_clock(interval: i64) -> AvailabilityRules {
        let zone = TimeZoneName::parse("UTC").unwrap();
        let all_day = DayHours::new(vec![DayPeriod::parse("00:00-24:00").unwrap()]).unwrap();
        let days = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        let mut draft = RulesDraft::weekdays(
            zone,
            DayPeriod::parse("09:00-17:00").unwrap(),
            TimeDelta::minutes(50),
        );
        draft.weekly = WeeklyHours::on(&days, &all_day);
        draft.interval = TimeDelta::minutes(interval);
        AvailabilityRules::new(draft).unwrap()
    }

    #[test]
    fn an_unbroken_schedule_is_aligned_to_the_epoch_whatever_the_window() {
        let rules = round_the_clock(50);
        let now = utc(2020, 1, 1, 0, 0);
        for start_minute in [0, 7, 600] {
            let start = utc(2027, 5, 3, 0, 0) + TimeDelta::minutes(start_minute);
            let window = TimeRange::starting_at(start, TimeDelta::hours(5)).unwrap();
            let slots = offered_slots(&rules, &window, now, &[]);
            assert!(!slots.is_empty());
            for slot in &slots {
                let since_epoch = slot.start().timestamp();
                assert_eq!(since_epoch % (50 * 60), 0, "{slot} is off the epoch grid");
            }
        }
    }

    #[test]
    fn a_stretch_begun_before_the_window_keeps_its_grid() {
        // Working time from Monday 00:00 without a break; the window starts on Wednesday.
        let zone = TimeZoneName::parse("UTC").unwrap();
        let all_day = DayHours::new(vec![DayPeriod::parse("00:00-24:00").unwrap()]).unwrap();
        let days = [Weekday::Mon, Weekday::Tue, Weekday::Wed];
        let mut draft = RulesDraft::weekdays(
            zone,
            DayPeriod::parse("09:00-17:00").unwrap(),
            TimeDelta::minutes(50),
        );
        draft.weekly = WeeklyHours::on(&days, &all_day);
        let rules = AvailabilityRules::new(draft).unwrap();
        // From Monday 2027-05-03 00:00Z, 50-minute steps next land at Wednesday 00:20Z
        // (2 days = 2880 min; 58 * 50 = 2900).
        let window = range(utc(2027, 5, 5, 0, 0), utc(2027, 5, 5, 2, 0));
        let starts: Vec<_> = offered_slots(&rules, &window, utc(2027, 1, 1, 0, 0), &[])
            .iter()
            .map(|s| s.start())
            .collect();
        assert_eq!(starts, [utc(2027, 5, 5, 0, 20), utc(2027, 5, 5, 1, 10)]);
    }

    #[test]
    fn bench_input_slots_are_sorted_and_avoid_busy_time() {
        let busy = bench_input_busy();
        let slots = offered_slots(
            &bench_input_rules(),
            &bench_input_window(),
            bench_input_now(),
            &busy,
        );
        assert!(!slots.is_empty());
        assert!(slots.windows(2).all(|w| w[0].start() < w[1].start()));
        for slot in &slots {
            assert!(
                busy.iter().all(|b| !b.overlaps(slot)),
                "{slot} overlaps busy time"
            );
        }
    }

    /// Issue 13, #8: a one-minute link over two months is ~88,000 slots; a capped call gives
    /// the first ones only, exactly those the uncapped engine starts with.
    #[test]
    fn generation_stops_at_the_limit() {
        let rules = round_the_clock(1);
        let now = utc(2027, 3, 1, 0, 0);
        let window = range(now, utc(2027, 5, 1, 0, 0));
        let first = offered_slots_up_to(&rules, &window, now, &[], 500);
        assert_eq!(first.len(), 500);
        let day = range(now, utc(2027, 3, 2, 0, 0));
        assert_eq!(
            first.as_slice(),
            &offered_slots(&rules, &day, now, &[])[..500]
        );
        assert!(offered_slots_up_to(&rules, &window, now, &[], 0).is_empty());
    }

    /// Issue 13, #13: nothing starts at or after 9000-01-01, so no slot can leave the stores'
    /// range (9999-12-31T23:30Z used to be offered).
    #[test]
    fn no_slot_starts_beyond_the_horizon() {
        let rules = round_the_clock(30);
        let now = utc(2027, 3, 1, 0, 0);
        let end_of_8999 = range(utc(8999, 12, 31, 0, 0), utc(9000, 1, 2, 0, 0));
        let slots = offered_slots(&rules, &end_of_8999, now, &[]);
        assert_eq!(slots.len(), 48);
        assert_eq!(slots.last().unwrap().start(), utc(8999, 12, 31, 23, 30));
        let year_9999 = range(utc(9999, 12, 30, 0, 0), utc(9999, 12, 31, 23, 59));
        assert!(offered_slots(&rules, &year_9999, now, &[]).is_empty());
    }
}
