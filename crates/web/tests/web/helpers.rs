//! A fresh app per test: one host, the `intro` link (30 minutes, Monday–Friday 09:00–17:00 in
//! Europe/Berlin), a clock on Monday 2027-03-01 07:00 UTC (08:00 in Berlin).

use std::sync::Arc;

use actix_web::dev::ServiceResponse;
use actix_web::test;
use booking_core::availability::{AvailabilityRules, DayPeriod, RulesDraft};
use booking_core::booking::Booking;
use booking_core::invitee::{Email, PersonName};
use booking_core::link::{BookingLink, Host, LinkSettings, Slug};
use booking_core::ports::BookingStore;
use booking_core::testkit::{FixedBusy, InMemoryStore, ManualClock, SequentialTokens};
use booking_core::{HostId, LinkId, Scheduler, TimeZoneName};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};

pub struct TestApp {
    pub store: InMemoryStore,
    pub clock: ManualClock,
    pub state: ::web::AppState,
}

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 7, 0, 0).unwrap()
}

/// 2027-03-01 at `h`:`m` UTC (Berlin is UTC+1 in March before the 28th).
pub fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, h, m, 0).unwrap()
}

pub fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub async fn setup() -> TestApp {
    let store = InMemoryStore::new();
    let zone = TimeZoneName::parse("Europe/Berlin").unwrap();
    let host = Host::new(
        HostId::from_uuid(uuid::Uuid::from_u128(1)),
        PersonName::parse("Hana Host").unwrap(),
        Email::parse("hana@example.com").unwrap(),
        zone,
    );
    store.save_host(&host).await.unwrap();
    let rules = AvailabilityRules::new(RulesDraft::weekdays(
        zone,
        DayPeriod::parse("09:00-17:00").unwrap(),
        TimeDelta::minutes(30),
    ))
    .unwrap();
    let settings = LinkSettings {
        title: "Intro call".into(),
        rules,
        reconfirmation: None,
        create_deal: false,
        questions: vec!["What should we talk about?".into()],
    };
    let link = BookingLink::new(
        LinkId::from_uuid(uuid::Uuid::from_u128(2)),
        host.id(),
        Slug::parse("intro").unwrap(),
        settings,
    )
    .unwrap();
    store.save_link(&link).await.unwrap();
    let clock = ManualClock::at(now());
    let scheduler = Scheduler::new(
        Arc::new(store.clone()) as Arc<dyn BookingStore>,
        Arc::new(clock.clone()) as _,
        Arc::new(SequentialTokens::new()) as _,
        Arc::new(FixedBusy::default()) as _,
    );
    TestApp {
        store,
        clock,
        state: ::web::AppState::new(scheduler, "http://book.test"),
    }
}

/// The app as an actix test service.
#[macro_export]
macro_rules! service {
    ($app:expr) => {
        actix_web::test::init_service(
            actix_web::App::new()
                .wrap(::web::security_headers())
                .app_data(actix_web::web::Data::new($app.state.clone()))
                .configure(::web::configure),
        )
        .await
    };
}

pub async fn body(resp: ServiceResponse) -> String {
    String::from_utf8(test::read_body(resp).await.to_vec()).unwrap()
}

pub fn header(resp: &ServiceResponse, name: &str) -> String {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Books 10:00 Berlin (09:00 UTC) through the store's use cases, returning the booking.
pub async fn book(app: &TestApp, start: DateTime<Utc>) -> Booking {
    use booking_core::invitee::{Answers, Invitee, Tracking};
    let invitee = Invitee::new(
        PersonName::parse("Ada").unwrap(),
        Email::parse("ada@example.org").unwrap(),
        None,
        TimeZoneName::parse("Europe/Berlin").unwrap(),
    );
    let request = booking_core::service::BookingRequest {
        start,
        invitee,
        answers: Answers::default(),
        tracking: Tracking::default(),
    };
    app.state
        .scheduler
        .book(&Slug::parse("intro").unwrap(), request)
        .await
        .unwrap()
}
