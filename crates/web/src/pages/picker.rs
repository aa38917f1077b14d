//! The slot picker shared by the booking and reschedule pages: the reader's zone, the week
//! shown, its days and the links to earlier and later times.

use booking_core::invitee::UtmParam;
use booking_core::{TimeRange, TimeZoneName};
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};

use super::PageFields;
use crate::headers::encode;
use crate::present::{day_label, group_by_day, rfc3339};
use crate::views::{DayView, PickerNav, SlotView};

/// Days shown per page of a slot picker.
pub(super) const PICKER_DAYS: u64 = 7;
/// Said above a picker whose week holds more free times than one page shows.
pub(super) const MORE_TIMES: &str =
    "Only the first free times of this week are shown; “Later →” shows the next ones.";

/// The reader's zone: `tz` if valid, else the fallback.
pub(super) fn zone_from(query: &PageFields, fallback: TimeZoneName) -> TimeZoneName {
    query
        .get("tz")
        .and_then(|z| TimeZoneName::parse(z).ok())
        .unwrap_or(fallback)
}

/// The picker's window: `PICKER_DAYS` local days from `from` (default: today) in `zone`,
/// starting at `after` instead when that lies inside them (the next page of a busy week).
pub(super) fn picker_window(
    query: &PageFields,
    zone: TimeZoneName,
    now: DateTime<Utc>,
) -> (NaiveDate, TimeRange) {
    let today = now.with_timezone(&zone.tz()).date_naive();
    let from = query
        .get("from")
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .filter(|d| *d >= today && *d <= today + Days::new(400))
        .unwrap_or(today);
    let midnight = local_midnight(from, zone);
    let end = local_midnight(from + Days::new(PICKER_DAYS), zone);
    let start = query
        .get("after")
        .and_then(|a| DateTime::parse_from_rfc3339(a).ok())
        .map(|a| a.with_timezone(&Utc))
        .filter(|a| *a > midnight && *a < end)
        .unwrap_or(midnight);
    let window = TimeRange::new(start.max(now), end)
        .unwrap_or_else(|_| TimeRange::new(start, end).expect("a week is not empty"));
    (from, window)
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

pub(super) fn day_views(slots: &[TimeRange], zone: TimeZoneName) -> Vec<DayView> {
    group_by_day(slots, zone)
        .into_iter()
        .map(|(date, slots)| DayView {
            label: day_label(date),
            slots: slots
                .iter()
                .map(|s| SlotView {
                    start: rfc3339(s.start(), None),
                    label: crate::present::clock_label(s.start(), zone),
                })
                .collect(),
        })
        .collect()
}

/// The picker's links to the zone picker and to earlier and later slots. `next` is where a
/// cut page of slots continues: "Later" then goes on from there rather than a week on.
pub(super) fn picker_nav(
    path: &str,
    zone: TimeZoneName,
    from: NaiveDate,
    today: NaiveDate,
    keep: Vec<(String, String)>,
    next: Option<DateTime<Utc>>,
) -> PickerNav {
    let link_after = |date: NaiveDate, after: Option<DateTime<Utc>>| {
        let mut pairs = vec![
            ("tz".to_owned(), zone.name().to_owned()),
            ("from".to_owned(), date.to_string()),
        ];
        if let Some(after) = after {
            pairs.push(("after".to_owned(), rfc3339(after, None)));
        }
        pairs.extend(keep.iter().cloned());
        format!("{path}{}", query_string(&pairs))
    };
    let link = |date: NaiveDate| link_after(date, None);
    let later = match next {
        Some(next) => link_after(next.with_timezone(&zone.tz()).date_naive(), Some(next)),
        None => link(from + Days::new(PICKER_DAYS)),
    };
    let earlier = (from > today).then(|| {
        link(
            from.checked_sub_days(Days::new(PICKER_DAYS))
                .unwrap_or(today)
                .max(today),
        )
    });
    PickerNav {
        zone: zone.name().to_owned(),
        from: from.to_string(),
        earlier,
        later,
        keep,
    }
}
