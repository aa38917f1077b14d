//! What the subcommands do, apart from serving.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use booking_core::availability::{AvailabilityRules, DayPeriod, RulesDraft};
use booking_core::booking::Status;
use booking_core::invitee::{Answers, Email, Invitee, PersonName, Tracking};
use booking_core::link::{BookingLink, Host, LinkSettings, Slug};
use booking_core::service::BookingRequest;
use booking_core::{Booking, BookingId, HostId, LinkId, TimeRange, TimeZoneName};
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::cli::HostAdd;
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

/// A fresh random (v4-shaped) id.
pub fn random_uuid() -> Result<Uuid> {
    Ok(uuid::Builder::from_random_bytes(random_bytes()?).into_uuid())
}

/// The demo's fixed host id, so running `demo` again reuses its data.
const DEMO_HOST: Uuid = Uuid::from_u128(0x5107_4ee9_e200_4000_8000_0000_0000_0001);
const DEMO_LINK: Uuid = Uuid::from_u128(0x5107_4ee9_e200_4000_8000_0000_0000_0002);

/// The file in the data directory that names the demo's sample booking, so a second run
/// shows the same booking's links rather than whichever booking of the demo host comes first.
const SAMPLE_FILE: &str = "demo_sample_booking";

/// Sets up the demo host, the `intro` link and a sample booking; returns the booking: the
/// one `data_dir` remembers while it is still on (followed where it was rescheduled to),
/// else a new one, remembered from then on.
///
/// # Errors
/// Storage failures, or no free slot in the next 60 days.
pub async fn demo_setup(
    storage: &Storage,
    scheduler: &web::DynScheduler,
    data_dir: &Path,
) -> Result<Booking> {
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
    let marker = data_dir.join(SAMPLE_FILE);
    if let Some(sample) = remembered_sample(storage, &marker, host.id(), now).await? {
        return Ok(sample);
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
    let sample = scheduler.book(&slug, request).await?;
    std::fs::create_dir_all(data_dir)
        .and_then(|()| std::fs::write(&marker, sample.id().to_string()))
        .with_context(|| format!("remembering the sample booking in {}", marker.display()))?;
    Ok(sample)
}

/// The sample booking `marker` names, followed through reschedules, if it is still a
/// confirmed upcoming booking of the demo host.
async fn remembered_sample(
    storage: &Storage,
    marker: &Path,
    host: HostId,
    now: DateTime<Utc>,
) -> Result<Option<Booking>> {
    let Ok(text) = std::fs::read_to_string(marker) else {
        return Ok(None);
    };
    let Ok(mut id) = BookingId::parse(text.trim()) else {
        return Ok(None);
    };
    // A chain is short; the bound only guards against a cycle in a damaged database.
    for _ in 0..100 {
        let Some(booking) = storage.bookings.booking(id).await? else {
            return Ok(None);
        };
        match booking.status() {
            Status::Rescheduled { next, .. } => id = *next,
            Status::Confirmed if booking.host() == host && booking.slot().start() > now => {
                return Ok(Some(booking));
            }
            _ => return Ok(None),
        }
    }
    Ok(None)
}

use booking_core::ports::Clock;
