//! `link add`: a booking link from options, every setting checked by the domain's own types
//! (`AvailabilityRules`, `BookingLink`, `ReconfirmationPolicy`), each error naming its option.

use anyhow::{Context, Result, anyhow, bail};
use booking_core::availability::{
    AvailabilityRules, DayHours, DayPeriod, InvalidRules, RulesDraft, WeeklyHours,
};
use booking_core::link::{BookingLink, InvalidLink, LinkSettings, ReconfirmationPolicy, Slug};
use booking_core::{HostId, LinkId, TimeZoneName};
use chrono::{NaiveDate, TimeDelta, Weekday};

use crate::cli::LinkAdd;
use crate::storage::Storage;

/// Longest buffer, notice or reconfirmation lead the CLI accepts, in minutes (366 days, as
/// the link editor and the host API).
const MAX_LEAD_MINUTES: i64 = 366 * 24 * 60;

/// Creates or replaces a link (by slug); returns its slug. A replaced link keeps its id and
/// its own workflow (which only the link editor and the API set).
///
/// # Errors
/// Invalid settings (the message names the option), an unknown host, a slug taken by another
/// host's link.
pub async fn link_add(storage: &Storage, args: &LinkAdd) -> Result<Slug> {
    let host_id = HostId::parse(&args.host)
        .map_err(|_| anyhow!("--host must be a host id as printed by `host add` or `host list`"))?;
    let host =
        storage.bookings.host(host_id).await?.ok_or_else(|| {
            anyhow!("--host: no host with id {host_id} (see `slotkeeper host list`)")
        })?;
    let zone = match &args.timezone {
        Some(z) => TimeZoneName::parse(z).context("--timezone")?,
        None => host.time_zone(),
    };
    let slug = Slug::parse(&args.slug).map_err(named)?;
    let settings = LinkSettings {
        title: args.title.clone(),
        rules: rules(args, zone)?,
        reconfirmation: reconfirmation(args)?,
        create_deal: args.create_deal,
        questions: args.questions.iter().map(|q| q.trim().to_owned()).collect(),
    };
    let existing = storage.bookings.link_by_slug(&slug).await?;
    if let Some(other) = existing.as_ref().filter(|l| l.host() != host_id) {
        bail!(
            "--slug: {} is already used by another host's link ({})",
            slug,
            other.title()
        );
    }
    let (id, workflow) = match existing {
        Some(link) => (link.id(), link.workflow().cloned()),
        None => (LinkId::from_uuid(crate::commands::random_uuid()?), None),
    };
    let link = BookingLink::new(id, host_id, slug.clone(), settings)
        .map_err(named)?
        .with_details(args.description.as_deref(), args.location.as_deref())
        .map_err(named)?
        .with_workflow(workflow);
    storage.bookings.save_link(&link).await?;
    Ok(slug)
}

/// A link error, prefixed with the option that caused it.
fn named(error: InvalidLink) -> anyhow::Error {
    let option = match error {
        InvalidLink::Slug => "--slug",
        InvalidLink::Title => "--title",
        InvalidLink::Questions => "--question",
        InvalidLink::Reconfirmation => "--reconfirm-ask-minutes / --reconfirm-deadline-minutes",
        InvalidLink::Description => "--description",
        InvalidLink::Location => "--location",
    };
    anyhow!("{option}: {error}")
}

/// `value` minutes from `option`, 0 to a year.
fn lead(value: i64, option: &str) -> Result<TimeDelta> {
    if !(0..=MAX_LEAD_MINUTES).contains(&value) {
        bail!("{option} must be 0 to {MAX_LEAD_MINUTES} minutes (a year)");
    }
    Ok(TimeDelta::minutes(value))
}

/// `value` minutes from `option` for a length the domain bounds itself (a day at most).
fn length(value: i64, option: &str) -> Result<TimeDelta> {
    TimeDelta::try_minutes(value).ok_or_else(|| anyhow!("{option} is far too large"))
}

fn rules(args: &LinkAdd, zone: TimeZoneName) -> Result<AvailabilityRules> {
    let hours = parse_hours(&args.hours, "--hours")?;
    let mut weekly = WeeklyHours::on(&parse_days(&args.days)?, &hours);
    for each in &args.day_hours {
        let (day, hours) = each.split_once('=').ok_or_else(|| {
            anyhow!("--day-hours: {each:?} is not DAY=HOURS, e.g. sat=10:00-14:00")
        })?;
        weekly = weekly.with_day(
            parse_day(day, "--day-hours")?,
            parse_hours(hours, "--day-hours")?,
        );
    }
    let mut draft = RulesDraft::weekdays(
        zone,
        DayPeriod::parse("00:00-24:00")?,
        length(args.duration, "--duration")?,
    );
    draft.weekly = weekly;
    for each in &args.date_hours {
        let (date, hours) = each.split_once('=').ok_or_else(|| {
            anyhow!("--date-hours: {each:?} is not DATE=HOURS, e.g. 2027-03-03=closed")
        })?;
        let date = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
            .map_err(|_| anyhow!("--date-hours: {date:?} is not a date like 2027-03-03"))?;
        draft
            .overrides
            .insert(date, parse_hours(hours, "--date-hours")?);
    }
    draft.interval = length(args.interval.unwrap_or(args.duration), "--interval")?;
    draft.buffer_before = lead(args.buffer_before, "--buffer-before")?;
    draft.buffer_after = lead(args.buffer_after, "--buffer-after")?;
    draft.minimum_notice = lead(args.notice, "--notice")?;
    draft.max_days_ahead = match args.max_days_ahead {
        Some(days) if !(1..=3650).contains(&days) => {
            bail!("--max-days-ahead must be 1 to 3650 days")
        }
        other => other,
    };
    AvailabilityRules::new(draft).map_err(|e| {
        let option = match e {
            InvalidRules::Duration => "--duration",
            InvalidRules::Interval => "--interval",
            InvalidRules::Negative("buffer before")
            | InvalidRules::FractionOfSecond("buffer before") => "--buffer-before",
            InvalidRules::Negative("buffer after")
            | InvalidRules::FractionOfSecond("buffer after") => "--buffer-after",
            InvalidRules::FractionOfSecond("slot interval") => "--interval",
            InvalidRules::FractionOfSecond(_) => "--duration",
            InvalidRules::Negative(_) => "--notice",
            InvalidRules::Period(_) | InvalidRules::OverlappingPeriods(..) => "--hours",
        };
        anyhow!("{option}: {e}")
    })
}

fn reconfirmation(args: &LinkAdd) -> Result<Option<ReconfirmationPolicy>> {
    let (Some(ask), Some(deadline)) = (args.reconfirm_ask_minutes, args.reconfirm_deadline_minutes)
    else {
        return Ok(None);
    };
    let both = "--reconfirm-ask-minutes and --reconfirm-deadline-minutes";
    if !(0..=MAX_LEAD_MINUTES).contains(&ask.max(deadline)) || ask.min(deadline) < 0 {
        bail!("{both} must be 0 to {MAX_LEAD_MINUTES} minutes (a year)");
    }
    ReconfirmationPolicy::new(TimeDelta::minutes(ask), TimeDelta::minutes(deadline))
        .map(Some)
        .map_err(named)
}

fn parse_day(text: &str, option: &str) -> Result<Weekday> {
    text.trim()
        .parse::<Weekday>()
        .map_err(|_| anyhow!("{option}: {text:?} is not a weekday (use mon, tue, …)"))
}

fn parse_days(text: &str) -> Result<Vec<Weekday>> {
    text.split(',').map(|d| parse_day(d, "--days")).collect()
}

/// `09:00-12:00,13:00-17:00`, or `closed`.
fn parse_hours(text: &str, option: &str) -> Result<DayHours> {
    if text.trim().eq_ignore_ascii_case("closed") {
        return Ok(DayHours::closed());
    }
    let periods = text
        .split(',')
        .map(DayPeriod::parse)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| option.to_owned())?;
    DayHours::new(periods).with_context(|| option.to_owned())
}
