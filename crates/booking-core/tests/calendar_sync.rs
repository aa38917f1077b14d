//! The connection framework (`calendar_sync::ConnectedCalendars`) on the in-memory store and
//! an in-memory provider: write-through, token refresh and re-authorisation, busy-time cache
//! and outage rules, calendar-side changes, push checks and renewal.

use std::sync::Arc;

use booking_core::availability::{AvailabilityRules, DayPeriod, RulesDraft};
use booking_core::calendar::{ConnectionStatus, Provider, Secret, provider_event_id};
use booking_core::calendar_sync::{
    CalendarSettings, ConnectedCalendars, PushCheckError, PushRefused,
};
use booking_core::connections::{CalendarConnection, CalendarConnections, ConnectionId};
use booking_core::effects::CalendarOp;
use booking_core::invitee::{Answers, Email, Invitee, PersonName, Tracking};
use booking_core::link::{BookingLink, Host, LinkSettings, Slug};
use booking_core::ports::{BookingStore, BusyCalendar, CalendarWrite};
use booking_core::service::BookingRequest;
use booking_core::testkit::{InMemoryCalendar, InMemoryStore, ManualClock, SequentialTokens};
use booking_core::{Booking, HostId, LinkId, Scheduler, Status, TimeRange, TimeZoneName};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use uuid::Uuid;

type Calendars = ConnectedCalendars<InMemoryStore, ManualClock, SequentialTokens>;
type Sched = Scheduler<InMemoryStore, ManualClock, SequentialTokens, Arc<Calendars>>;

struct World {
    store: InMemoryStore,
    clock: ManualClock,
    google: InMemoryCalendar,
    calendars: Arc<Calendars>,
    scheduler: Sched,
    host: HostId,
    slug: Slug,
}

fn t(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, day, h, m, 0)
        .single()
        .expect("valid")
}

fn range(from: DateTime<Utc>, minutes: i64) -> TimeRange {
    TimeRange::new(from, from + TimeDelta::minutes(minutes)).expect("valid")
}

async fn world(push: bool) -> World {
    world_of(push, false).await
}

async fn world_of(push: bool, assigns_ids: bool) -> World {
    let store = InMemoryStore::new();
    let zone = TimeZoneName::parse("UTC").expect("zone");
    let host = Host::new(
        HostId::from_uuid(Uuid::from_u128(1)),
        PersonName::parse("Hana").expect("name"),
        Email::parse("hana@example.com").expect("email"),
        zone,
    );
    store.save_host(&host).await.expect("host");
    let rules = AvailabilityRules::new(RulesDraft::weekdays(
        zone,
        DayPeriod::parse("09:00-17:00").expect("period"),
        TimeDelta::minutes(30),
    ))
    .expect("rules");
    let slug = Slug::parse("intro").expect("slug");
    let link = BookingLink::new(
        LinkId::from_uuid(Uuid::from_u128(2)),
        host.id(),
        slug.clone(),
        LinkSettings {
            title: "Intro call".into(),
            rules,
            reconfirmation: None,
            create_deal: false,
            questions: vec![],
        },
    )
    .expect("link");
    store.save_link(&link).await.expect("link saved");
    let clock = ManualClock::at(t(1, 8, 0));
    let google = if assigns_ids {
        InMemoryCalendar::assigning_ids(Provider::Google, clock.clone())
    } else {
        InMemoryCalendar::new(Provider::Google, clock.clone())
    };
    let calendars = Arc::new(
        ConnectedCalendars::new(
            store.clone(),
            clock.clone(),
            SequentialTokens::new(),
            CalendarSettings::default(),
        )
        .with_provider(
            Arc::new(google.clone()),
            push.then(|| "https://book.example.com/api/calendar-providers/webhook/google".into()),
        ),
    );
    let scheduler = Scheduler::new(
        store.clone(),
        clock.clone(),
        SequentialTokens::new(),
        calendars.clone(),
    );
    World {
        store,
        clock,
        google,
        calendars,
        scheduler,
        host: host.id(),
        slug,
    }
}

impl World {
    async fn connect(&self) -> CalendarConnection {
        self.calendars
            .connect(
                self.host,
                Provider::Google,
                "good-code",
                &Secret::new("verifier"),
                "https://book.example.com/settings/integrations/google/callback",
            )
            .await
            .expect("connected")
    }

    async fn book(&self, start: DateTime<Utc>) -> Booking {
        self.scheduler
            .book(
                &self.slug,
                BookingRequest {
                    start,
                    invitee: Invitee::new(
                        PersonName::parse("Ada").expect("name"),
                        Email::parse("ada@example.org").expect("email"),
                        None,
                        TimeZoneName::parse("Europe/Berlin").expect("zone"),
                    ),
                    answers: Answers::default(),
                    tracking: Tracking::default(),
                },
            )
            .await
            .expect("booked")
    }

    async fn live(&self, booking: &Booking) -> Booking {
        self.store
            .chain(booking.chain())
            .await
            .expect("chain")
            .into_iter()
            .last()
            .expect("rows")
    }
}

#[tokio::test]
async fn without_a_connection_nothing_is_written_and_nothing_is_busy() {
    let w = world(false).await;
    let b = w.book(t(1, 10, 0)).await;
    assert_eq!(
        w.calendars
            .write(CalendarOp::Create, &b)
            .await
            .expect("write"),
        CalendarWrite::NothingToDo
    );
    assert!(
        w.calendars
            .busy(w.host, range(t(1, 0, 0), 1440))
            .await
            .expect("busy")
            .is_empty()
    );
}

#[tokio::test]
async fn create_update_delete_touch_one_event_and_a_retried_create_makes_no_second() {
    one_event_through_the_chain(false).await;
}

#[tokio::test]
async fn providers_naming_events_themselves_get_the_same_behaviour() {
    one_event_through_the_chain(true).await;
    calendar_side_changes(true).await;
}

async fn one_event_through_the_chain(assigns_ids: bool) {
    let w = world_of(false, assigns_ids).await;
    let c = w.connect().await;
    assert_eq!(c.status, ConnectionStatus::Active);
    assert_eq!(c.account, "host@example.com");
    let b = w.book(t(1, 10, 0)).await;
    w.calendars
        .write(CalendarOp::Create, &b)
        .await
        .expect("write");
    let id = w.google.id_for(&provider_event_id(b.chain()));
    for _ in 0..2 {
        assert_eq!(
            w.calendars
                .write(CalendarOp::Create, &b)
                .await
                .expect("write"),
            CalendarWrite::Written
        );
    }
    assert_eq!(w.google.event_count(), 1);
    assert_eq!(w.google.creates(), 1);
    let event = w.google.event(&id).expect("event");
    assert_eq!(event.when, b.slot());
    assert_eq!(event.title, "Intro call with Ada");
    let recorded = w.live(&b).await;
    assert_eq!(
        recorded.provider_event().map(|p| p.event_id.as_str()),
        Some(id.as_str())
    );

    let moved = w
        .scheduler
        .reschedule(recorded.token().expose(), t(1, 14, 0), None)
        .await
        .expect("rescheduled");
    assert_eq!(
        w.calendars
            .write(CalendarOp::UpdateInPlace, &moved)
            .await
            .expect("write"),
        CalendarWrite::Written
    );
    assert_eq!(w.google.event_count(), 1, "moved in place, not copied");
    assert_eq!(w.google.event(&id).expect("event").when, moved.slot());

    w.calendars
        .write(CalendarOp::Delete, &moved)
        .await
        .expect("write");
    assert_eq!(w.google.event_count(), 0);
    // Deleting again (a retry) is fine.
    w.calendars
        .write(CalendarOp::Delete, &moved)
        .await
        .expect("write");
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_and_a_revoked_grant_parks_writes_until_reconnect() {
    let w = world(false).await;
    w.connect().await;
    let b = w.book(t(1, 10, 0)).await;
    // Tokens live an hour; 59 minutes later the two-minute margin refreshes first.
    w.clock.advance(TimeDelta::minutes(59));
    w.calendars
        .write(CalendarOp::Create, &b)
        .await
        .expect("write");
    assert_eq!(w.google.refreshes(), 1);

    let later = w.book(t(1, 11, 0)).await;
    w.google.revoke(true);
    assert_eq!(
        w.calendars
            .write(CalendarOp::Create, &later)
            .await
            .expect("write"),
        CalendarWrite::WaitingForReconnect
    );
    let rows = w.store.host_connections(w.host).await.expect("rows");
    assert_eq!(rows[0].status, ConnectionStatus::NeedsReauth);
    assert!(rows[0].last_error.is_some());
    // Still parked, and no booking was touched.
    assert_eq!(
        w.calendars
            .write(CalendarOp::Create, &later)
            .await
            .expect("write"),
        CalendarWrite::WaitingForReconnect
    );
    assert!(matches!(w.live(&later).await.status(), Status::Confirmed));

    let again = w.connect().await;
    assert_eq!(again.id, rows[0].id, "reconnecting keeps the connection");
    assert_eq!(again.status, ConnectionStatus::Active);
    assert_eq!(
        w.calendars
            .write(CalendarOp::Create, &later)
            .await
            .expect("write"),
        CalendarWrite::Written
    );
    assert_eq!(w.google.event_count(), 2);
}

#[tokio::test]
async fn busy_times_are_cached_served_stale_for_ten_minutes_then_refused() {
    let w = world(false).await;
    w.connect().await;
    let day = range(t(2, 0, 0), 1440);
    w.google.set_busy(vec![range(t(2, 9, 0), 60)]);
    assert_eq!(
        w.calendars.busy(w.host, day).await.expect("busy"),
        vec![range(t(2, 9, 0), 60)]
    );
    // The slots that hour are gone.
    let slots = w
        .scheduler
        .available_slots(&w.slug, day)
        .await
        .expect("slots");
    assert!(
        slots
            .iter()
            .all(|s| s.start() >= t(2, 10, 0) || s.end() <= t(2, 9, 0))
    );
    assert!(!slots.is_empty());

    // Within 30 s the cache answers even though the calendar changed.
    w.google.set_busy(vec![]);
    w.clock.advance(TimeDelta::seconds(20));
    assert_eq!(w.calendars.busy(w.host, day).await.expect("busy").len(), 1);
    w.clock.advance(TimeDelta::seconds(20));
    assert!(
        w.calendars
            .busy(w.host, day)
            .await
            .expect("busy")
            .is_empty()
    );

    // Unreachable: the last answer is served while younger than 10 minutes, also for a
    // narrower window inside the one read.
    w.google.set_unreachable(true);
    w.clock.advance(TimeDelta::minutes(5));
    assert!(
        w.calendars
            .busy(w.host, range(t(2, 9, 0), 60))
            .await
            .expect("stale")
            .is_empty()
    );
    w.clock.advance(TimeDelta::minutes(6));
    assert!(w.calendars.busy(w.host, day).await.is_err());
    let refused = w.scheduler.available_slots(&w.slug, day).await;
    assert!(refused.is_err(), "no slots offered on a guess");
}

#[tokio::test]
async fn calendar_side_delete_and_move_run_the_use_cases_and_echoes_change_nothing() {
    calendar_side_changes(false).await;
}

async fn calendar_side_changes(assigns_ids: bool) {
    let w = world_of(false, assigns_ids).await;
    let c = w.connect().await;
    let first = w.book(t(1, 10, 0)).await;
    let second = w.book(t(1, 11, 0)).await;
    for b in [&first, &second] {
        w.calendars
            .write(CalendarOp::Create, b)
            .await
            .expect("write");
    }
    // Our own creates come back as changes: nothing happens.
    let echo = w
        .calendars
        .sync(c.id, Some(&w.scheduler))
        .await
        .expect("sync");
    assert_eq!((echo.cancelled, echo.moved), (0, 0));
    assert!(echo.seen >= 2);

    w.google
        .host_deletes(&w.google.id_for(&provider_event_id(first.chain())));
    w.google.host_moves(
        &w.google.id_for(&provider_event_id(second.chain())),
        range(t(1, 15, 0), 30),
    );
    let report = w
        .calendars
        .sync(c.id, Some(&w.scheduler))
        .await
        .expect("sync");
    assert_eq!((report.cancelled, report.moved), (1, 1));
    let cancelled = w.live(&first).await;
    let cancellation = cancelled.cancellation().expect("cancelled");
    assert_eq!(cancellation.by, booking_core::Actor::Calendar);
    assert_eq!(
        cancellation.reason.as_ref().map(|r| r.as_str()),
        Some("deleted in Google Calendar")
    );
    let moved = w.live(&second).await;
    assert_eq!(moved.slot(), range(t(1, 15, 0), 30));
    assert_ne!(moved.id(), second.id(), "a new row with a fresh token");
    assert_ne!(moved.token(), second.token());

    // Running the same sync again finds nothing new.
    let again = w
        .calendars
        .sync(c.id, Some(&w.scheduler))
        .await
        .expect("sync");
    assert_eq!((again.seen, again.cancelled, again.moved), (0, 0, 0));
}

#[tokio::test]
async fn push_notifications_are_checked_against_the_channel_secret() {
    let w = world(true).await;
    let c = w.connect().await;
    let channel = c
        .channel
        .clone()
        .expect("a channel is registered on connect");
    assert_eq!(
        w.calendars
            .verify_push(Provider::Google, &channel.id, channel.token.expose())
            .await
            .expect("genuine"),
        c.id
    );
    let refused = |r: Result<ConnectionId, PushCheckError>| match r {
        Err(PushCheckError::Refused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(
        refused(
            w.calendars
                .verify_push(Provider::Google, &channel.id, "forged")
                .await
        ),
        PushRefused::WrongSecret
    );
    assert_eq!(
        refused(
            w.calendars
                .verify_push(Provider::Google, "nope", channel.token.expose())
                .await
        ),
        PushRefused::UnknownChannel
    );
    assert_eq!(
        refused(
            w.calendars
                .verify_push(Provider::Microsoft, &channel.id, channel.token.expose())
                .await
        ),
        PushRefused::UnknownChannel
    );
}

#[tokio::test]
async fn renewal_replaces_channels_near_expiry_once_and_stops_the_old_ones() {
    let w = world(true).await;
    let c = w.connect().await;
    let first = c.channel.clone().expect("channel");
    // Fresh channel (7 days): nothing to renew.
    let none = w.calendars.renew().await.expect("renew");
    assert_eq!(none.channels_renewed, 0);
    // Six days later it expires within 48 h.
    w.clock.advance(TimeDelta::days(6));
    let report = w.calendars.renew().await.expect("renew");
    assert_eq!((report.channels_renewed, report.channels_stopped), (1, 1));
    assert_eq!(
        report.tokens_refreshed, 1,
        "the hour-long token was refreshed first"
    );
    let (channels, stopped) = w.google.channels();
    assert_eq!(channels.len(), 2);
    assert_eq!(stopped, vec![first.id.clone()]);
    let stored = w.store.connection(c.id).await.expect("read").expect("row");
    assert_ne!(
        stored.channel.as_ref().map(|ch| ch.id.clone()),
        Some(first.id.clone())
    );
    // The old channel's notifications are refused from now on.
    assert!(
        w.calendars
            .verify_push(Provider::Google, &first.id, first.token.expose())
            .await
            .is_err()
    );
    // A second run right after does nothing.
    let again = w.calendars.renew().await.expect("renew");
    assert_eq!((again.channels_renewed, again.channels_stopped), (0, 0));
}

#[tokio::test]
async fn connecting_writes_upcoming_bookings_and_disconnecting_stops_everything() {
    let w = world(true).await;
    w.book(t(1, 10, 0)).await;
    w.book(t(2, 10, 0)).await;
    let c = w.connect().await;
    assert_eq!(
        w.calendars
            .write_upcoming(w.host, 100)
            .await
            .expect("written"),
        2
    );
    assert_eq!(w.google.event_count(), 2);
    assert!(
        w.calendars
            .disconnect(w.host, c.id)
            .await
            .expect("disconnected")
    );
    let stored = w.store.connection(c.id).await.expect("read").expect("row");
    assert_eq!(stored.status, ConnectionStatus::Revoked);
    assert_eq!(w.google.channels().1.len(), 1, "channel stopped");
    let b = w.book(t(3, 10, 0)).await;
    assert_eq!(
        w.calendars
            .write(CalendarOp::Create, &b)
            .await
            .expect("write"),
        CalendarWrite::NothingToDo
    );
    // Another host cannot disconnect it.
    assert!(
        !w.calendars
            .disconnect(HostId::from_uuid(Uuid::from_u128(99)), c.id)
            .await
            .expect("ok")
    );
}

#[tokio::test]
async fn a_host_without_a_calendar_is_remembered_until_it_connects() {
    let w = world(false).await;
    let day = range(t(2, 0, 0), 1440);
    w.google.set_busy(vec![range(t(2, 9, 0), 60)]);
    assert!(
        w.calendars
            .busy(w.host, day)
            .await
            .expect("busy")
            .is_empty()
    );
    // Connecting in this process forgets the remembered "no calendar" at once.
    w.connect().await;
    assert_eq!(
        w.calendars.busy(w.host, day).await.expect("busy"),
        vec![range(t(2, 9, 0), 60)]
    );
}
