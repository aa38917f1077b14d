//! Slot engine tests: clock changes with hand-computed UTC instants, overrides and filters, and
//! properties checked against an independent brute-force reference.

use std::collections::BTreeMap;

use booking_core::availability::{AvailabilityRules, DayHours, DayPeriod, RulesDraft, WeeklyHours};
use booking_core::slots::offered_slots;
use booking_core::time::{TimeRange, TimeZoneName};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc, Weekday};

const ALL_DAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// `"2027-03-14T05:00"` read as UTC.
fn t(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .and_utc()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn window(from: &str, to: &str) -> TimeRange {
    TimeRange::new(t(from), t(to)).unwrap()
}

fn busy(from: &str, to: &str) -> TimeRange {
    window(from, to)
}

fn hours(periods: &[&str]) -> DayHours {
    DayHours::new(
        periods
            .iter()
            .map(|p| DayPeriod::parse(p).unwrap())
            .collect(),
    )
    .unwrap()
}

/// `periods` on every day of the week in `zone`, `minutes`-long slots every `minutes`.
fn every_day(zone: &str, periods: &[&str], minutes: i64) -> RulesDraft {
    let mut draft = RulesDraft::weekdays(
        TimeZoneName::parse(zone).unwrap(),
        DayPeriod::parse("09:00-17:00").unwrap(),
        TimeDelta::minutes(minutes),
    );
    draft.weekly = WeeklyHours::on(&ALL_DAYS, &hours(periods));
    draft
}

fn weekdays(zone: &str, period: &str, minutes: i64) -> RulesDraft {
    RulesDraft::weekdays(
        TimeZoneName::parse(zone).unwrap(),
        DayPeriod::parse(period).unwrap(),
        TimeDelta::minutes(minutes),
    )
}

fn build(draft: RulesDraft) -> AvailabilityRules {
    AvailabilityRules::new(draft).unwrap()
}

/// Slot starts as `2027-03-14T05:00`, checking each slot's length on the way.
fn starts(
    rules: &AvailabilityRules,
    window: &TimeRange,
    now: &str,
    busy: &[TimeRange],
) -> Vec<String> {
    offered_slots(rules, window, t(now), busy)
        .iter()
        .map(|slot| {
            assert_eq!(slot.length(), rules.duration(), "{slot}");
            slot.start().format("%Y-%m-%dT%H:%M").to_string()
        })
        .collect()
}

/// `count` starts `step` minutes apart from `first`.
fn series(first: &str, step: i64, count: i64) -> Vec<String> {
    (0..count)
        .map(|i| {
            (t(first) + TimeDelta::minutes(step * i))
                .format("%Y-%m-%dT%H:%M")
                .to_string()
        })
        .collect()
}

const LONG_AGO: &str = "2026-01-01T00:00";

// ---------------------------------------------------------------------------------------------
// Clock changes. Offsets used for the expected values:
// New York EST -05:00 / EDT -04:00, changes 2027-03-14 02:00 EST and 2027-11-07 02:00 EDT;
// Berlin CET +01:00 / CEST +02:00, changes 2027-03-28 01:00Z and 2027-10-31 01:00Z;
// Lord Howe +10:30 / +11:00, back 2027-04-04 02:00 (15:00Z on the 3rd), forward 2027-10-03
// 02:00 (15:30Z on the 2nd); Santiago -04:00 / -03:00, back 2027-04-04 03:00Z (Saturday
// 24:00 to 23:00), forward 2027-09-05 00:00 (04:00Z);
// Kolkata +05:30, Tokyo +09:00, Auckland +13:00 until April.
// ---------------------------------------------------------------------------------------------

#[test]
fn new_york_spring_forward_day_is_an_hour_short() {
    let rules = build(every_day(
        "America/New_York",
        &["00:00-05:00", "09:00-17:00"],
        60,
    ));
    // Local 2027-03-14 00:00 EST to 2027-03-15 00:00 EDT.
    let day = window("2027-03-14T05:00", "2027-03-15T04:00");
    assert_eq!(
        starts(&rules, &day, LONG_AGO, &[]),
        [
            // 00:00-05:00 local is 05:00Z-09:00Z: four real hours, 02:00 never happens.
            series("2027-03-14T05:00", 60, 4),
            // 09:00-17:00 EDT.
            series("2027-03-14T13:00", 60, 8),
        ]
        .concat()
    );
}

#[test]
fn new_york_periods_inside_the_gap() {
    let mut draft = every_day("America/New_York", &["09:00-17:00"], 30);
    draft
        .overrides
        .insert(date("2027-03-14"), hours(&["02:00-03:00"]));
    let day = window("2027-03-14T05:00", "2027-03-15T04:00");
    assert!(starts(&build(draft.clone()), &day, LONG_AGO, &[]).is_empty());

    // 02:30 does not exist; the period starts at the transition, 03:00 EDT = 07:00Z.
    draft
        .overrides
        .insert(date("2027-03-14"), hours(&["02:30-04:00"]));
    assert_eq!(
        starts(&build(draft), &day, LONG_AGO, &[]),
        series("2027-03-14T07:00", 30, 2)
    );
}

#[test]
fn new_york_fall_back_day_is_an_hour_long() {
    let rules = build(every_day(
        "America/New_York",
        &["00:00-05:00", "09:00-17:00"],
        60,
    ));
    // Local 2027-11-07 00:00 EDT to 2027-11-08 00:00 EST.
    let day = window("2027-11-07T04:00", "2027-11-08T05:00");
    assert_eq!(
        starts(&rules, &day, LONG_AGO, &[]),
        [
            // 00:00 EDT (04:00Z) to 05:00 EST (10:00Z): six real hours.
            series("2027-11-07T04:00", 60, 6),
            // 09:00-17:00 EST.
            series("2027-11-07T14:00", 60, 8),
        ]
        .concat()
    );
}

#[test]
fn new_york_periods_touching_the_fold_keep_their_real_length() {
    let day = window("2027-11-07T04:00", "2027-11-08T05:00");
    let mut draft = every_day("America/New_York", &["09:00-17:00"], 30);

    // 01:00 happens twice: the start takes the first (05:00Z); 02:00 EST is 07:00Z.
    draft
        .overrides
        .insert(date("2027-11-07"), hours(&["01:00-02:00"]));
    assert_eq!(
        starts(&build(draft.clone()), &day, LONG_AGO, &[]),
        series("2027-11-07T05:00", 30, 4)
    );

    // 01:30 as an end takes the second occurrence, 01:30 EST = 06:30Z.
    draft
        .overrides
        .insert(date("2027-11-07"), hours(&["00:00-01:30"]));
    assert_eq!(
        starts(&build(draft), &day, LONG_AGO, &[]),
        series("2027-11-07T04:00", 30, 5)
    );
}

#[test]
fn new_york_period_ending_where_the_repeat_begins_does_not_take_the_repeated_hour() {
    let day = window("2027-11-07T04:00", "2027-11-08T05:00");
    let mut draft = every_day("America/New_York", &["09:00-17:00"], 30);
    // 01:00 first comes at 05:00Z; the hour 05:00Z-06:00Z reads 01:xx, outside 00:00-01:00.
    draft
        .overrides
        .insert(date("2027-11-07"), hours(&["00:00-01:00"]));
    assert_eq!(
        starts(&build(draft), &day, LONG_AGO, &[]),
        series("2027-11-07T04:00", 30, 2)
    );
}

#[test]
fn santiago_fold_at_midnight() {
    let mut draft = weekdays("America/Santiago", "09:00-17:00", 60);
    // Saturday 2027-04-03 24:00 -03:00 (03:00Z) becomes 23:00 -04:00: 23:00-23:59 happens twice.
    // Local Saturday runs from 03:00Z on the 3rd to 04:00Z on the 4th.
    let saturday = window("2027-04-03T03:00", "2027-04-04T04:00");

    // 01:00 -03:00 is 04:00Z; 23:00 first comes at 02:00Z: 22 hours.
    draft.weekly = WeeklyHours::default().with_day(Weekday::Sat, hours(&["01:00-23:00"]));
    assert_eq!(
        starts(&build(draft.clone()), &saturday, LONG_AGO, &[]),
        series("2027-04-03T04:00", 60, 22)
    );

    // 22:00 -03:00 is 01:00Z; 24:00 is Sunday 00:00 -04:00, 04:00Z: three real hours.
    draft.weekly = WeeklyHours::default().with_day(Weekday::Sat, hours(&["22:00-24:00"]));
    assert_eq!(
        starts(&build(draft), &saturday, LONG_AGO, &[]),
        series("2027-04-04T01:00", 60, 3)
    );
}

#[test]
fn berlin_spring_forward() {
    let rules = build(every_day(
        "Europe/Berlin",
        &["00:00-05:00", "09:00-17:00"],
        60,
    ));
    // Local 2027-03-28 00:00 CET to 2027-03-29 00:00 CEST.
    let day = window("2027-03-27T23:00", "2027-03-28T22:00");
    assert_eq!(
        starts(&rules, &day, LONG_AGO, &[]),
        [
            series("2027-03-27T23:00", 60, 4),
            series("2027-03-28T07:00", 60, 8)
        ]
        .concat()
    );
}

#[test]
fn berlin_fall_back() {
    let rules = build(every_day(
        "Europe/Berlin",
        &["00:00-05:00", "09:00-17:00"],
        60,
    ));
    // Local 2027-10-31 00:00 CEST to 2027-11-01 00:00 CET.
    let day = window("2027-10-30T22:00", "2027-10-31T23:00");
    assert_eq!(
        starts(&rules, &day, LONG_AGO, &[]),
        [
            series("2027-10-30T22:00", 60, 6),
            series("2027-10-31T08:00", 60, 8)
        ]
        .concat()
    );
}

#[test]
fn lord_howe_half_hour_fall_back() {
    let rules = build(every_day("Australia/Lord_Howe", &["00:00-05:00"], 30));
    // Local 2027-04-04 00:00 (+11:00) is 13:00Z on the 3rd; 05:00 (+10:30) is 18:30Z:
    // five and a half real hours.
    let day = window("2027-04-03T13:00", "2027-04-04T13:30");
    assert_eq!(
        starts(&rules, &day, LONG_AGO, &[]),
        series("2027-04-03T13:00", 30, 11)
    );
}

#[test]
fn lord_howe_half_hour_spring_forward() {
    let rules = build(every_day("Australia/Lord_Howe", &["00:00-05:00"], 30));
    // Local 2027-10-03 00:00 (+10:30) is 13:30Z on the 2nd; 05:00 (+11:00) is 18:00Z.
    let day = window("2027-10-02T13:30", "2027-10-03T13:00");
    assert_eq!(
        starts(&rules, &day, LONG_AGO, &[]),
        series("2027-10-02T13:30", 30, 9)
    );

    // 02:00-02:30 never happens, so 02:00-03:00 is the half hour 15:30Z-16:00Z.
    let rules = build(every_day("Australia/Lord_Howe", &["02:00-03:00"], 30));
    assert_eq!(starts(&rules, &day, LONG_AGO, &[]), ["2027-10-02T15:30"]);
}

#[test]
fn kolkata_half_hour_offset() {
    let rules = build(weekdays("Asia/Kolkata", "09:00-17:00", 60));
    // Monday 2027-03-01, 09:00 +05:30 = 03:30Z.
    let day = window("2027-02-28T18:30", "2027-03-01T18:30");
    assert_eq!(
        starts(&rules, &day, LONG_AGO, &[]),
        series("2027-03-01T03:30", 60, 8)
    );
}

#[test]
fn auckland_working_day_crosses_utc_midnight() {
    let rules = build(weekdays("Pacific/Auckland", "09:00-17:00", 60));
    // A UTC day holds the end of local Monday (13:00-17:00 = 00:00Z-04:00Z) and the start of
    // local Tuesday (09:00 = 20:00Z).
    let utc_day = window("2027-03-01T00:00", "2027-03-02T00:00");
    assert_eq!(
        starts(&rules, &utc_day, LONG_AGO, &[]),
        [
            series("2027-03-01T00:00", 60, 4),
            series("2027-03-01T20:00", 60, 4)
        ]
        .concat()
    );
}

#[test]
fn tokyo_meetings_cross_local_midnight() {
    let mut draft = weekdays("Asia/Tokyo", "09:00-17:00", 90);
    draft.weekly = WeeklyHours::default()
        .with_day(Weekday::Mon, hours(&["22:00-24:00"]))
        .with_day(Weekday::Tue, hours(&["00:00-02:00"]));
    draft.interval = TimeDelta::minutes(60);
    // Monday 2027-03-01 22:00 JST is 13:00Z; Tuesday 02:00 is 17:00Z. The 14:00Z and 15:00Z
    // slots run through local midnight.
    let day = window("2027-03-01T00:00", "2027-03-02T00:00");
    assert_eq!(
        starts(&build(draft), &day, LONG_AGO, &[]),
        series("2027-03-01T13:00", 60, 3)
    );
}

#[test]
fn santiago_midnight_gap_joins_the_evening_to_the_night() {
    let mut draft = weekdays("America/Santiago", "09:00-17:00", 60);
    draft.weekly = WeeklyHours::default()
        .with_day(Weekday::Sat, hours(&["22:00-24:00"]))
        .with_day(Weekday::Sun, hours(&["00:00-02:00"]));
    // Saturday 2027-09-04 22:00 -04:00 is 02:00Z; Sunday's 00:00-01:00 never happens, and
    // 02:00 -03:00 is 05:00Z: three real hours.
    let day = window("2027-09-05T00:00", "2027-09-06T00:00");
    assert_eq!(
        starts(&build(draft), &day, LONG_AGO, &[]),
        series("2027-09-05T02:00", 60, 3)
    );
}

// ---------------------------------------------------------------------------------------------
// Overrides and filters.
// ---------------------------------------------------------------------------------------------

#[test]
fn overrides_close_days_and_replace_hours() {
    let mut draft = weekdays("Europe/Berlin", "09:00-17:00", 60);
    draft.overrides = BTreeMap::from([
        (date("2027-03-01"), DayHours::closed()),
        (date("2027-03-02"), hours(&["13:00-15:00"])),
    ]);
    let two_days = window("2027-02-28T23:00", "2027-03-02T23:00");
    assert_eq!(
        starts(&build(draft), &two_days, LONG_AGO, &[]),
        ["2027-03-02T12:00", "2027-03-02T13:00"]
    );
}

#[test]
fn slots_may_end_after_the_window_but_not_after_working_hours() {
    let rules = build(weekdays("UTC", "09:00-12:00", 60));
    let morning = window("2027-03-01T09:00", "2027-03-01T10:30");
    assert_eq!(
        starts(&rules, &morning, LONG_AGO, &[]),
        ["2027-03-01T09:00", "2027-03-01T10:00"]
    );

    let mut draft = weekdays("UTC", "09:00-11:30", 60);
    draft.interval = TimeDelta::minutes(45);
    // 09:00, 09:45; 10:30 would end at 11:30 exactly, 11:15 after it.
    assert_eq!(
        starts(&build(draft), &morning, LONG_AGO, &[]),
        ["2027-03-01T09:00", "2027-03-01T09:45"]
    );
}

#[test]
fn buffers_keep_busy_time_away() {
    let mut draft = weekdays("UTC", "09:00-12:00", 30);
    draft.buffer_before = TimeDelta::minutes(15);
    draft.buffer_after = TimeDelta::minutes(10);
    let rules = build(draft);
    let day = window("2027-03-01T00:00", "2027-03-02T00:00");
    // 09:30 grows to 09:15-10:10, 10:30 to 10:15-11:10: both touch 10:00-10:20.
    let meeting = [busy("2027-03-01T10:00", "2027-03-01T10:20")];
    assert_eq!(
        starts(&rules, &day, LONG_AGO, &meeting),
        ["2027-03-01T09:00", "2027-03-01T11:00", "2027-03-01T11:30"]
    );
}

#[test]
fn busy_time_touching_a_buffered_slot_does_not_block_it() {
    let mut draft = weekdays("UTC", "09:00-12:00", 30);
    draft.buffer_before = TimeDelta::minutes(15);
    draft.buffer_after = TimeDelta::minutes(10);
    let rules = build(draft);
    let day = window("2027-03-01T00:00", "2027-03-02T00:00");
    let b = [
        // Ends where 10:30's buffered range (10:15-11:10) starts.
        busy("2027-03-01T10:00", "2027-03-01T10:15"),
        // Starts where 11:30's buffered range (11:15-12:10) ends.
        busy("2027-03-01T12:10", "2027-03-01T13:00"),
    ];
    assert_eq!(
        starts(&rules, &day, LONG_AGO, &b),
        [
            "2027-03-01T09:00",
            "2027-03-01T10:30",
            "2027-03-01T11:00",
            "2027-03-01T11:30"
        ]
    );
}

#[test]
fn overlapping_unsorted_busy_ranges_are_all_respected() {
    let rules = build(weekdays("UTC", "09:00-17:00", 60));
    let day = window("2027-03-01T00:00", "2027-03-02T00:00");
    let b = [
        busy("2027-03-01T15:30", "2027-03-01T15:45"),
        busy("2027-03-01T09:00", "2027-03-01T10:30"),
        busy("2027-03-01T10:00", "2027-03-01T11:00"),
        busy("2027-03-01T09:10", "2027-03-01T09:20"),
    ];
    assert_eq!(
        starts(&rules, &day, LONG_AGO, &b),
        [
            "2027-03-01T11:00",
            "2027-03-01T12:00",
            "2027-03-01T13:00",
            "2027-03-01T14:00",
            "2027-03-01T16:00"
        ]
    );
}

#[test]
fn minimum_notice_counts_from_now() {
    let mut draft = weekdays("UTC", "09:00-12:00", 30);
    draft.minimum_notice = TimeDelta::hours(2);
    let day = window("2027-03-01T00:00", "2027-03-02T00:00");
    assert_eq!(
        starts(&build(draft), &day, "2027-03-01T08:00", &[]),
        series("2027-03-01T10:00", 30, 4)
    );
}

#[test]
fn horizon_counts_local_days_from_local_today() {
    let mut draft = every_day("America/New_York", &["09:00-10:00"], 60);
    let week = window("2027-02-28T00:00", "2027-03-07T00:00");
    // 03:00Z on Monday 2027-03-01 is still Sunday 22:00 in New York; Sunday's slot is past.
    let now = "2027-03-01T03:00";
    let with_horizon = |days: Option<u32>, draft: &mut RulesDraft| {
        draft.max_days_ahead = days;
        starts(&build(draft.clone()), &week, now, &[])
    };
    assert!(with_horizon(Some(0), &mut draft).is_empty());
    assert_eq!(with_horizon(Some(1), &mut draft), ["2027-03-01T14:00"]);
    assert_eq!(
        with_horizon(Some(2), &mut draft),
        ["2027-03-01T14:00", "2027-03-02T14:00"]
    );
    assert_eq!(with_horizon(None, &mut draft).len(), 6);
}

#[test]
fn nothing_is_offered_in_an_empty_schedule_or_a_past_window() {
    let mut draft = weekdays("UTC", "09:00-17:00", 30);
    let day = window("2027-03-01T00:00", "2027-03-02T00:00");
    assert!(starts(&build(draft.clone()), &day, "2027-03-02T00:00", &[]).is_empty());
    draft.weekly = WeeklyHours::default();
    assert!(starts(&build(draft), &day, LONG_AGO, &[]).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------------

mod properties {
    use super::*;
    use chrono::{Datelike, Offset, Timelike};
    use proptest::prelude::*;
    use proptest::sample::select;

    const ZONES: &[&str] = &[
        "America/New_York",
        "Europe/Berlin",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "Asia/Kathmandu",
        "Pacific/Auckland",
        "Asia/Tokyo",
        "America/Santiago",
        "Europe/London",
        "UTC",
    ];

    /// Each zone with a 2027 date on which its clocks change (or an ordinary date for zones
    /// without changes).
    const CHANGES: &[(&str, &str)] = &[
        ("America/New_York", "2027-03-14"),
        ("America/New_York", "2027-11-07"),
        ("Europe/Berlin", "2027-03-28"),
        ("Europe/Berlin", "2027-10-31"),
        ("Europe/London", "2027-03-28"),
        ("Europe/London", "2027-10-31"),
        ("Australia/Lord_Howe", "2027-04-04"),
        ("Australia/Lord_Howe", "2027-10-03"),
        ("Pacific/Auckland", "2027-04-04"),
        ("Pacific/Auckland", "2027-09-26"),
        ("America/Santiago", "2027-04-04"),
        ("America/Santiago", "2027-09-05"),
        ("Asia/Kolkata", "2027-03-01"),
        ("Asia/Kathmandu", "2027-06-01"),
        ("Asia/Tokyo", "2027-03-01"),
        ("UTC", "2027-03-01"),
    ];

    /// Mostly a zone around one of its own clock changes, sometimes any zone on any listed day.
    fn zone_and_day() -> impl Strategy<Value = (&'static str, &'static str)> {
        let days: Vec<&str> = CHANGES.iter().map(|(_, day)| *day).collect();
        prop_oneof![
            3 => select(CHANGES),
            1 => (select(ZONES), select(days)),
        ]
    }

    /// Up to three periods on a quarter-hour grid, touching allowed; empty is closed.
    fn day_hours() -> impl Strategy<Value = DayHours> {
        // Ends of the day and the small hours, where clocks change, come up often.
        let boundary = prop_oneof![
            2 => Just(0u16),
            2 => Just(96u16),
            4 => 4u16..=14,
            8 => 0u16..=96,
        ];
        prop::collection::vec(boundary, 0..=6).prop_map(|mut quarters| {
            quarters.sort_unstable();
            let periods = quarters
                .chunks_exact(2)
                .filter(|pair| pair[0] < pair[1])
                .map(|pair| DayPeriod::from_minutes(pair[0] * 15, pair[1] * 15).unwrap())
                .collect();
            DayHours::new(periods).unwrap()
        })
    }

    #[derive(Debug, Clone)]
    struct Case {
        rules: AvailabilityRules,
        window: TimeRange,
        now: DateTime<Utc>,
        busy: Vec<TimeRange>,
    }

    fn case() -> impl Strategy<Value = Case> {
        let weekly = prop::collection::vec(day_hours(), 7);
        let overrides = prop::collection::vec((-2i64..6, day_hours()), 0..3);
        let settings = (
            5i64..=180,
            5i64..=120,
            0i64..=30,
            0i64..=30,
            0i64..=600,
            prop::option::of(0u32..=4),
        );
        let timing = (
            zone_and_day(),
            -2 * 1440i64..1440,
            60i64..=3 * 1440,
            -3 * 1440i64..2 * 1440,
        );
        let busy = prop::collection::vec((-1440i64..5 * 1440, 1i64..=240), 0..8);
        (weekly, overrides, settings, timing, busy).prop_map(
            |(weekly, overrides, settings, timing, busy)| {
                let (duration, interval, before, after, notice, horizon) = settings;
                let ((zone, around), start_offset, window_length, now_offset) = timing;
                let mut week = WeeklyHours::default();
                for (day, hours) in ALL_DAYS.iter().zip(weekly) {
                    week = week.with_day(*day, hours);
                }
                let around = date(around);
                let start = around.and_hms_opt(0, 0, 0).unwrap().and_utc()
                    + TimeDelta::minutes(start_offset);
                let draft = RulesDraft {
                    zone: TimeZoneName::parse(zone).unwrap(),
                    weekly: week,
                    overrides: overrides
                        .into_iter()
                        .map(|(days, hours)| (around + TimeDelta::days(days), hours))
                        .collect(),
                    duration: TimeDelta::minutes(duration),
                    interval: TimeDelta::minutes(interval),
                    buffer_before: TimeDelta::minutes(before),
                    buffer_after: TimeDelta::minutes(after),
                    minimum_notice: TimeDelta::minutes(notice),
                    max_days_ahead: horizon,
                };
                Case {
                    rules: AvailabilityRules::new(draft).unwrap(),
                    window: TimeRange::starting_at(start, TimeDelta::minutes(window_length))
                        .unwrap(),
                    now: start + TimeDelta::minutes(now_offset),
                    busy: busy
                        .into_iter()
                        .map(|(offset, length)| {
                            TimeRange::starting_at(
                                start + TimeDelta::minutes(offset),
                                TimeDelta::minutes(length),
                            )
                            .unwrap()
                        })
                        .collect(),
                }
            },
        )
    }

    /// Whether local wall-clock time `local` falls inside a working period of its own date.
    fn within_local_hours(rules: &AvailabilityRules, local: NaiveDateTime) -> bool {
        let minute = (local.hour() * 60 + local.minute()) as u16;
        rules
            .hours_on(local.date())
            .periods()
            .iter()
            .any(|p| p.start_minute() <= minute && minute < p.end_minute())
    }

    fn local(rules: &AvailabilityRules, at: DateTime<Utc>) -> NaiveDateTime {
        rules
            .zone()
            .tz()
            .from_utc_datetime(&at.naive_utc())
            .naive_local()
    }

    fn offset_seconds(rules: &AvailabilityRules, at: DateTime<Utc>) -> i32 {
        rules
            .zone()
            .tz()
            .offset_from_utc_datetime(&at.naive_utc())
            .fix()
            .local_minus_utc()
    }

    /// The slots the rules call for, found minute by minute with only UTC-to-local conversions:
    /// a period `[s, e)` of local date `d` covers from the first minute whose local time has
    /// reached `d s` to the last minute whose local time is still before `d e`. Working time is
    /// scanned from three days before the window; `None` when a stretch of working time reaches
    /// back past that and into the window, so its first step is unknown here.
    fn reference_slots(case: &Case) -> Option<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
        let rules = &case.rules;
        let origin = case.window.start() - TimeDelta::days(3);
        let minutes = (case.window.end() + TimeDelta::days(3) - origin).num_minutes() as usize;
        let at = |minute: usize| origin + TimeDelta::minutes(minute as i64);
        let clock: Vec<NaiveDateTime> = (0..=minutes).map(|m| local(rules, at(m))).collect();

        let mut working = vec![false; minutes];
        let mut day = clock[0].date();
        while day <= clock[minutes].date() {
            let midnight = day.and_hms_opt(0, 0, 0).unwrap();
            for period in rules.hours_on(day).periods() {
                let from = midnight + TimeDelta::minutes(period.start_minute().into());
                let to = midnight + TimeDelta::minutes(period.end_minute().into());
                let Some(first) = clock.iter().position(|c| *c >= from) else {
                    continue;
                };
                let Some(last) = clock.iter().rposition(|c| *c < to) else {
                    continue;
                };
                for w in working.iter_mut().take((last + 1).min(minutes)).skip(first) {
                    *w = true;
                }
            }
            day = day.succ_opt().unwrap();
        }

        let window_start = 3 * 1440;
        let window_end = window_start + case.window.length().num_minutes() as usize;
        let earliest = case.now + rules.minimum_notice();
        let last_day = rules
            .max_days_ahead()
            .map(|n| local(rules, case.now).date() + TimeDelta::days(n.into()));
        let (duration, interval) = (
            rules.duration().num_minutes() as usize,
            rules.interval().num_minutes() as usize,
        );
        let (before, after) = (rules.buffer_before(), rules.buffer_after());

        let mut slots = Vec::new();
        let mut minute = 0;
        while minute < minutes {
            if !working[minute] {
                minute += 1;
                continue;
            }
            let run_start = minute;
            while minute < minutes && working[minute] {
                minute += 1;
            }
            let run_end = minute;
            if run_start == 0 && run_end > window_start {
                return None;
            }
            let mut start = run_start;
            while start + duration <= run_end {
                let (from, to) = (at(start), at(start + duration));
                let keep = (window_start..window_end).contains(&start)
                    && from >= earliest
                    && last_day.is_none_or(|last| local(rules, from).date() <= last)
                    && case
                        .busy
                        .iter()
                        .all(|b| b.end() <= from - before || to + after <= b.start());
                if keep {
                    slots.push((from, to));
                }
                start += interval;
            }
        }
        Some(slots)
    }

    proptest! {
        #[test]
        fn offered_slots_match_a_brute_force_reference(case in case()) {
            let reference = reference_slots(&case);
            prop_assume!(reference.is_some());
            let engine: Vec<_> = offered_slots(&case.rules, &case.window, case.now, &case.busy)
                .iter()
                .map(|s| (s.start(), s.end()))
                .collect();
            prop_assert_eq!(engine, reference.unwrap());
        }

        #[test]
        fn offered_slots_keep_every_rule(case in case()) {
            let rules = &case.rules;
            let slots = offered_slots(rules, &case.window, case.now, &case.busy);
            for pair in slots.windows(2) {
                prop_assert!(pair[0].start() < pair[1].start(), "not sorted: {} then {}", pair[0], pair[1]);
            }
            let today = local(rules, case.now).date();
            for slot in &slots {
                prop_assert_eq!(slot.length(), rules.duration());
                prop_assert!(case.window.contains_instant(slot.start()));
                prop_assert!(slot.start() >= case.now + rules.minimum_notice());
                if let Some(days) = rules.max_days_ahead() {
                    let day = local(rules, slot.start()).date();
                    prop_assert!(day.num_days_from_ce() - today.num_days_from_ce() <= days as i32);
                }
                let padded = slot.padded(rules.buffer_before(), rules.buffer_after());
                for b in &case.busy {
                    prop_assert!(!padded.overlaps(b), "{} overlaps busy {}", slot, b);
                }
                // Every minute of the slot is working time on its own local date, across local
                // midnight too; within three hours of a clock change the resolution rules, not
                // the wall clock, decide (the reference test covers those minutes).
                let mut at = slot.start();
                while at < slot.end() {
                    let near_change = offset_seconds(rules, at - TimeDelta::hours(3))
                        != offset_seconds(rules, at + TimeDelta::hours(3));
                    prop_assert!(
                        near_change || within_local_hours(rules, local(rules, at)),
                        "{} leaves working hours at {} ({} local)", slot, at, local(rules, at)
                    );
                    at += TimeDelta::minutes(1);
                }
            }
        }
    }
}
