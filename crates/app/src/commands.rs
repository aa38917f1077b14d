//! What the subcommands do, apart from serving.

use anyhow::{Context, Result, anyhow, bail};
use booking_core::availability::{AvailabilityRules, DayHours, DayPeriod, RulesDraft, WeeklyHours};
use booking_core::invitee::{Answers, Email, Invitee, PersonName, Tracking};
use booking_core::link::{BookingLink, Host, LinkSettings, ReconfirmationPolicy, Slug};
use booking_core::ports::{DashboardTab, Page};
use booking_core::service::BookingRequest;
use booking_core::{Booking, HostId, LinkId, TimeRange, TimeZoneName};
use chrono::{TimeDelta, Weekday};
use uuid::Uuid;

use crate::cli::{HostAdd, LinkAdd};
use crate::storage::Storage;

/// Creates a host; returns its id.
///
/// # Errors
/// Invalid name, email or zone; storage failures.
pub async fn host_add(storage: &Storage, args: &HostAdd) -> Result<HostId> {
    let host = Host::new(
        HostId::from_uuid(uuid::Builder::from_random_bytes(random_bytes()?).into_uuid()),
        PersonName::parse(&args.name).context("--name")?,
        Email::parse(&args.email).context("--email")?,
        TimeZoneName::parse(&args.timezone).context("--timezone")?,
    );
    storage.bookings.save_host(&host).await?;
    Ok(host.id())
}

fn random_bytes() -> Result<[u8; 16]> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow!("the OS random source failed: {e}"))?;
    Ok(bytes)
}

fn parse_days(text: &str) -> Result<Vec<Weekday>> {
    text.split(',')
        .map(|d| {
            d.trim()
                .parse::<Weekday>()
                .map_err(|_| anyhow!("--days: {d:?} is not a weekday (use mon,tue,…)"))
        })
        .collect()
}

fn parse_hours(text: &str) -> Result<DayHours> {
    let periods = text
        .split(',')
        .map(DayPeriod::parse)
        .collect::<Result<Vec<_>, _>>()
        .context("--hours")?;
    DayHours::new(periods).context("--hours")
}

/// Creates or replaces a link (by slug); returns its slug.
///
/// # Errors
/// Invalid settings, an unknown host, a slug taken by another host's link.
pub async fn link_add(storage: &Storage, args: &LinkAdd) -> Result<Slug> {
    let host_id = HostId::parse(&args.host)
        .map_err(|_| anyhow!("--host must be a host id as printed by `host add`"))?;
    let host = storage
        .bookings
        .host(host_id)
        .await?
        .ok_or_else(|| anyhow!("no host with id {host_id}"))?;
    let zone = match &args.timezone {
        Some(z) => TimeZoneName::parse(z).context("--timezone")?,
        None => host.time_zone(),
    };
    let hours = parse_hours(&args.hours)?;
    let mut draft = RulesDraft::weekdays(
        zone,
        DayPeriod::parse("00:00-24:00")?,
        TimeDelta::minutes(args.duration),
    );
    draft.weekly = WeeklyHours::on(&parse_days(&args.days)?, &hours);
    draft.interval = TimeDelta::minutes(args.interval.unwrap_or(args.duration));
    draft.buffer_before = TimeDelta::minutes(args.buffer_before);
    draft.buffer_after = TimeDelta::minutes(args.buffer_after);
    draft.minimum_notice = TimeDelta::minutes(args.notice);
    draft.max_days_ahead = args.max_days_ahead;
    let rules = AvailabilityRules::new(draft)?;
    let slug = Slug::parse(&args.slug).context("--slug")?;
    let existing = storage.bookings.link_by_slug(&slug).await?;
    if let Some(other) = existing.as_ref().filter(|l| l.host() != host_id) {
        bail!(
            "the slug {} is already used by another host's link ({})",
            slug,
            other.title()
        );
    }
    let id = existing.map_or_else(
        || {
            Ok(LinkId::from_uuid(
                uuid::Builder::from_random_bytes(random_bytes()?).into_uuid(),
            ))
        },
        |l| Ok::<_, anyhow::Error>(l.id()),
    )?;
    let reconfirmation = match (args.reconfirm_ask_minutes, args.reconfirm_deadline_minutes) {
        (Some(ask), Some(deadline)) if !(0..=MAX_LEAD_MINUTES).contains(&ask.max(deadline)) => {
            bail!(
                "--reconfirm-ask-minutes and --reconfirm-deadline-minutes must be 0 to {MAX_LEAD_MINUTES} (a year)"
            )
        }
        (Some(ask), Some(deadline)) => Some(
            ReconfirmationPolicy::new(TimeDelta::minutes(ask), TimeDelta::minutes(deadline))
                .context("--reconfirm-ask-minutes / --reconfirm-deadline-minutes")?,
        ),
        _ => None,
    };
    let settings = LinkSettings {
        title: args.title.clone(),
        rules,
        reconfirmation,
        create_deal: false,
        questions: vec![],
    };
    let link = BookingLink::new(id, host_id, slug.clone(), settings)?;
    storage.bookings.save_link(&link).await?;
    Ok(slug)
}

/// Longest reconfirmation lead time the CLI accepts, in minutes (366 days, as the host API).
const MAX_LEAD_MINUTES: i64 = 366 * 24 * 60;

/// The demo's fixed host id, so running `demo` again reuses its data.
const DEMO_HOST: Uuid = Uuid::from_u128(0x5107_4ee9_e200_4000_8000_0000_0000_0001);
const DEMO_LINK: Uuid = Uuid::from_u128(0x5107_4ee9_e200_4000_8000_0000_0000_0002);

/// Sets up the demo host, the `intro` link and a sample booking; returns the booking.
///
/// # Errors
/// Storage failures, or no free slot in the next 60 days.
pub async fn demo_setup(storage: &Storage, scheduler: &web::DynScheduler) -> Result<Booking> {
    let zone = std::env::var("DEMO_TIMEZONE")
        .ok()
        .and_then(|z| TimeZoneName::parse(&z).ok())
        .unwrap_or(TimeZoneName::parse("Europe/Berlin")?);
    let host = Host::new(
        HostId::from_uuid(DEMO_HOST),
        PersonName::parse("Demo Host")?,
        Email::parse("host@demo.slotkeeper.test")?,
        zone,
    );
    storage.bookings.save_host(&host).await?;
    let rules = AvailabilityRules::new(RulesDraft::weekdays(
        zone,
        DayPeriod::parse("09:00-17:00")?,
        TimeDelta::minutes(30),
    ))?;
    let settings = LinkSettings {
        title: "Intro call".into(),
        rules,
        reconfirmation: None,
        create_deal: false,
        questions: vec!["What would you like to talk about?".into()],
    };
    let slug = Slug::parse("intro")?;
    storage
        .bookings
        .save_link(&BookingLink::new(
            LinkId::from_uuid(DEMO_LINK),
            host.id(),
            slug.clone(),
            settings,
        )?)
        .await?;

    let now = scheduler.clock().now();
    let upcoming = storage
        .bookings
        .dashboard(
            host.id(),
            DashboardTab::Upcoming,
            now,
            Page {
                offset: 0,
                limit: 1,
            },
        )
        .await?;
    if let Some(existing) = upcoming.rows.into_iter().next() {
        return Ok(existing);
    }
    let window =
        TimeRange::new(now + TimeDelta::hours(2), now + TimeDelta::days(60)).expect("non-empty");
    let slot = *scheduler
        .available_slots(&slug, window)
        .await?
        .first()
        .ok_or_else(|| anyhow!("the demo link has no free slot in the next 60 days"))?;
    let invitee = Invitee::new(
        PersonName::parse("Sam Sample")?,
        Email::parse("sam@demo.slotkeeper.test")?,
        None,
        zone,
    );
    let request = BookingRequest {
        start: slot.start(),
        invitee,
        answers: Answers::default(),
        tracking: Tracking::default(),
    };
    Ok(scheduler.book(&slug, request).await?)
}

use booking_core::ports::Clock;
