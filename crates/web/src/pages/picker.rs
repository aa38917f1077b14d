//! The month picker shared by the booking and reschedule pages: the reader's zone and clock,
//! the month shown (the first with free times unless asked), which of its days have times,
//! and the chosen day's times.

use booking_core::booking::Booking;
use booking_core::invitee::UtmParam;
use booking_core::link::BookingLink;
use booking_core::{TimeRange, TimeZoneName};
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, TimeZone, Utc};

use super::PageFields;
use crate::AppState;
use crate::errors::Failure;
use crate::headers::encode;
use crate::present::{HourCycle, common_zones, rfc3339, zone_named};
use crate::views::{DayCell, DayTimes, DisplayView, MonthView, PickerView, SlotView};

/// How far ahead the picker goes, in months from the current one.
const MONTHS_AHEAD: u32 = 18;
/// How many months the first load looks through for the first free time.
const MONTHS_SEARCHED: u32 = 12;

/// Where the picker's slots come from: a link, and on the reschedule page the booking being
/// moved (checked live by the caller; it does not block itself). Every question is answered
/// as of the `now` the picker is built for, with the link and booking already in hand.
#[derive(Debug, Clone, Copy)]
pub(super) struct Source<'a> {
    pub(super) link: &'a BookingLink,
    pub(super) moving: Option<&'a Booking>,
}

impl Source<'_> {
    async fn open_days(
        &self,
        state: &AppState,
        days: &[TimeRange],
        now: DateTime<Utc>,
    ) -> Result<Vec<TimeRange>, Failure> {
        Ok(state
            .scheduler
            .open_days_at(self.link, days, self.moving, now)
            .await?)
    }

    /// The slots of `window` (the booking being moved left out) and where they continue.
    async fn slots(
        &self,
        state: &AppState,
        window: TimeRange,
        now: DateTime<Utc>,
    ) -> Result<(Vec<TimeRange>, Option<DateTime<Utc>>), Failure> {
        let page = state
            .scheduler
            .slot_page_at(self.link, window, self.moving, now)
            .await?;
        let slots = match self.moving {
            Some(moving) => {
                let own = moving.slot();
                page.slots.into_iter().filter(|s| *s != own).collect()
            }
            None => page.slots,
        };
        Ok((slots, page.next))
    }
}

/// What the reader asked the picker for.
#[derive(Debug, Clone)]
pub(super) struct PickerQuery {
    pub(super) zone: TimeZoneName,
    /// Set when `tz` named no zone we know.
    pub(super) zone_notice: Option<String>,
    /// Whether the reader named a zone (else the browser may refine it).
    pub(super) zone_given: bool,
    pub(super) clock: HourCycle,
    /// The first day of the month asked for.
    pub(super) month: Option<NaiveDate>,
    pub(super) date: Option<NaiveDate>,
    /// Where a long day's times continue.
    pub(super) after: Option<DateTime<Utc>>,
}

impl PickerQuery {
    /// The clock asked for (`clock`), else the reader's language's.
    pub(super) fn clock_of(query: &PageFields, accept_language: Option<&str>) -> HourCycle {
        query
            .get("clock")
            .and_then(|c| HourCycle::parse(c))
            .unwrap_or_else(|| HourCycle::from_accept_language(accept_language))
    }

    /// Reads `tz`, `clock`, `show` (a month button) or `month`, `day` (a day button) or
    /// `date`, and `after`; a zone we do not know falls back to `fallback` with a notice.
    pub(super) fn read(
        query: &PageFields,
        fallback: TimeZoneName,
        accept_language: Option<&str>,
        now: DateTime<Utc>,
    ) -> Self {
        let typed = query.get("tz").map(|t| t.trim()).filter(|t| !t.is_empty());
        let named = typed.and_then(|t| zone_named(t, now));
        let zone_notice = match (typed, named) {
            (Some(t), None) => Some(format!(
                "“{t}” is not a time zone we know; times are shown in {} time.",
                fallback.name()
            )),
            _ => None,
        };
        let zone = named.unwrap_or(fallback);
        let clock = Self::clock_of(query, accept_language);
        let today = now.with_timezone(&zone.tz()).date_naive();
        let last = first_of_month(today) + Months::new(MONTHS_AHEAD);
        let in_range = |d: &NaiveDate| *d >= first_of_month(today) && *d <= last;
        let shown = query.get("show").and_then(|m| parse_month(m));
        let date = match shown {
            Some(_) => None,
            None => query
                .get("day")
                .or_else(|| query.get("date"))
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .filter(|d| *d >= today && *d <= last),
        };
        let month = shown
            .or_else(|| date.map(first_of_month))
            .or_else(|| query.get("month").and_then(|m| parse_month(m)))
            .filter(in_range);
        let after = query
            .get("after")
            .and_then(|a| DateTime::parse_from_rfc3339(a).ok())
            .map(|a| a.with_timezone(&Utc));
        Self {
            zone,
            zone_notice,
            zone_given: named.is_some(),
            clock,
            month,
            date,
            after,
        }
    }
}

/// The picker for `query`: its month (asked, or the first with free times), the month's open
/// days and the chosen (or first open) day's times.
pub(super) async fn build_picker(
    state: &AppState,
    source: Source<'_>,
    query: &PickerQuery,
    now: DateTime<Utc>,
) -> Result<PickerView, Failure> {
    let zone = query.zone;
    let today = now.with_timezone(&zone.tz()).date_naive();
    let (month, open) = match query.month {
        Some(month) => (month, open_days_in(state, source, month, zone, now).await?),
        None => first_open_month(state, source, zone, now).await?,
    };
    let chosen = query
        .date
        .filter(|d| first_of_month(*d) == month)
        .or_else(|| open.first().copied());
    let day = match chosen {
        Some(date) => Some(day_times(state, source, date, query, now).await?),
        None => None,
    };
    Ok(PickerView {
        display: display(query, now),
        month: month_view(month, today, &open, chosen),
        day,
    })
}

/// The zone and clock controls' contents.
pub(super) fn display(query: &PickerQuery, now: DateTime<Utc>) -> DisplayView {
    DisplayView {
        zone: query.zone.name().to_owned(),
        zones: common_zones(query.zone, now),
        clock: query.clock,
        notice: query.zone_notice.clone(),
        autodetect: !query.zone_given,
    }
}

async fn open_days_in(
    state: &AppState,
    source: Source<'_>,
    month: NaiveDate,
    zone: TimeZoneName,
    now: DateTime<Utc>,
) -> Result<Vec<NaiveDate>, Failure> {
    let today = now.with_timezone(&zone.tz()).date_naive();
    let days: Vec<TimeRange> = month_days(month)
        .filter(|d| *d >= today)
        .filter_map(|d| day_range(d, zone))
        .collect();
    let open = source.open_days(state, &days, now).await?;
    Ok(open
        .iter()
        .map(|r| r.start().with_timezone(&zone.tz()).date_naive())
        .collect())
}

/// The first month from today's with a free time (today's when none has one).
async fn first_open_month(
    state: &AppState,
    source: Source<'_>,
    zone: TimeZoneName,
    now: DateTime<Utc>,
) -> Result<(NaiveDate, Vec<NaiveDate>), Failure> {
    let today = now.with_timezone(&zone.tz()).date_naive();
    let first = first_of_month(today);
    for ahead in 0..MONTHS_SEARCHED {
        let month = first + Months::new(ahead);
        let open = open_days_in(state, source, month, zone, now).await?;
        if !open.is_empty() {
            return Ok((month, open));
        }
    }
    Ok((first, Vec::new()))
}

async fn day_times(
    state: &AppState,
    source: Source<'_>,
    date: NaiveDate,
    query: &PickerQuery,
    now: DateTime<Utc>,
) -> Result<DayTimes, Failure> {
    let zone = query.zone;
    let Some(whole) = day_range(date, zone) else {
        return Err(Failure::Internal);
    };
    let start = query
        .after
        .filter(|a| whole.contains_instant(*a))
        .unwrap_or(whole.start())
        .max(now.min(whole.end() - chrono::TimeDelta::seconds(1)));
    let window = TimeRange::new(start, whole.end()).unwrap_or(whole);
    let (slots, next) = source.slots(state, window, now).await?;
    Ok(DayTimes {
        label: date.format("%A, %B %-d").to_string(),
        date: date.to_string(),
        times: slot_views(&slots, zone, query.clock),
        more: next.filter(|n| *n < whole.end()).map(|n| rfc3339(n, None)),
    })
}

/// Each slot's start to send back and its time of day on the reader's clock.
pub(super) fn slot_views(
    slots: &[TimeRange],
    zone: TimeZoneName,
    clock: HourCycle,
) -> Vec<SlotView> {
    slots
        .iter()
        .map(|s| SlotView {
            start: rfc3339(s.start(), None),
            label: clock.label(s.start().with_timezone(&zone.tz()).time()),
        })
        .collect()
}

fn month_view(
    month: NaiveDate,
    today: NaiveDate,
    open: &[NaiveDate],
    chosen: Option<NaiveDate>,
) -> MonthView {
    let lead = month.weekday().num_days_from_monday() as usize;
    let mut cells: Vec<Option<DayCell>> = vec![None; lead];
    cells.extend(month_days(month).map(|d| {
        Some(DayCell {
            date: d.to_string(),
            day: d.day(),
            open: open.contains(&d),
            selected: Some(d) == chosen,
            today: d == today,
        })
    }));
    while !cells.len().is_multiple_of(7) {
        cells.push(None);
    }
    let last = first_of_month(today) + Months::new(MONTHS_AHEAD);
    let previous = month - Months::new(1);
    let next = month + Months::new(1);
    MonthView {
        label: month.format("%B %Y").to_string(),
        value: month_param(month),
        weeks: cells.chunks(7).map(<[_]>::to_vec).collect(),
        previous: (previous >= first_of_month(today)).then(|| month_param(previous)),
        next: (next <= last).then(|| month_param(next)),
    }
}

pub(super) fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

fn month_days(month: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    let next = month + Months::new(1);
    month.iter_days().take_while(move |d| *d < next)
}

fn parse_month(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d").ok()
}

fn month_param(month: NaiveDate) -> String {
    month.format("%Y-%m").to_string()
}

/// The local day `date` in `zone`, midnight to midnight.
fn day_range(date: NaiveDate, zone: TimeZoneName) -> Option<TimeRange> {
    let next = date.checked_add_days(Days::new(1))?;
    TimeRange::new(local_midnight(date, zone), local_midnight(next, zone)).ok()
}

pub(super) fn local_midnight(date: NaiveDate, zone: TimeZoneName) -> DateTime<Utc> {
    let naive = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    // A zone may skip midnight on a DST day; then the day starts an hour later.
    zone.tz()
        .from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            zone.tz()
                .from_local_datetime(&(naive + chrono::TimeDelta::hours(1)))
                .earliest()
        })
        .map_or_else(|| Utc.from_utc_datetime(&naive), |t| t.with_timezone(&Utc))
}

pub(super) fn utm_pairs(query: &PageFields) -> Vec<(String, String)> {
    UtmParam::ALL
        .iter()
        .filter_map(|p| {
            query
                .get(p.key())
                .filter(|v| !v.trim().is_empty())
                .map(|v| (p.key().to_owned(), v.clone()))
        })
        .collect()
}

pub(super) fn query_string(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        out.push(if out.is_empty() { '?' } else { '&' });
        out.push_str(&encode(k));
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_grid_starts_on_monday_and_fills_whole_weeks() {
        let march = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        let today = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        let open = [NaiveDate::from_ymd_opt(2027, 3, 4).unwrap()];
        let view = month_view(march, today, &open, open.first().copied());
        assert_eq!(view.label, "March 2027");
        assert_eq!(view.weeks.len(), 5, "March 2027 starts on a Monday");
        assert!(view.weeks.iter().all(|w| w.len() == 7));
        let days: Vec<&DayCell> = view.weeks.iter().flatten().flatten().collect();
        assert_eq!(days.len(), 31);
        assert_eq!(days.iter().filter(|d| d.open).count(), 1);
        assert!(days[3].open && days[3].selected);
        assert_eq!(view.previous, None, "nothing before the current month");
        assert_eq!(view.next.as_deref(), Some("2027-04"));
    }
}
