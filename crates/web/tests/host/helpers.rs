//! A fresh app per test with two hosts who can log in — Hana (Europe/Berlin, link `intro`,
//! which opens deals) and Otto (UTC, link `otto-call`) — a clock on Monday 2027-03-01 07:00
//! UTC, and a browser that keeps the session cookie.

use std::sync::Arc;

use actix_web::cookie::Cookie;
use actix_web::dev::ServiceResponse;
use actix_web::test::{self, TestRequest};
use booking_core::accounts::{Account, AccountStore};
use booking_core::availability::{AvailabilityRules, DayPeriod, RulesDraft};
use booking_core::booking::Booking;
use booking_core::invitee::{Answers, Email, Invitee, PersonName, Tracking};
use booking_core::link::{BookingLink, Host, LinkSettings, Slug};
use booking_core::ports::{BookingStore, Clock, TokenSource};
use booking_core::service::BookingRequest;
use booking_core::testkit::{FixedBusy, InMemoryStore, ManualClock, SequentialTokens};
use booking_core::{HostId, LinkId, Scheduler, TimeZoneName};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use web::host::{HostSide, Passwords};

pub const HANA_PASSWORD: &str = "hana-secret-1";
pub const OTTO_PASSWORD: &str = "otto-secret-2";

pub struct TestApp {
    pub store: InMemoryStore,
    pub clock: ManualClock,
    pub state: web::AppState,
    pub hana: Host,
    pub otto: Host,
}

/// 2027-03-01 at `h`:`m` UTC (a Monday; Berlin is UTC+1).
pub fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, h, m, 0).unwrap()
}

pub fn cheap_passwords() -> Passwords {
    Passwords::with_cost(8, 1, 1).unwrap()
}

fn link(n: u128, host: HostId, slug: &str, zone: TimeZoneName, create_deal: bool) -> BookingLink {
    let rules = AvailabilityRules::new(RulesDraft::weekdays(
        zone,
        DayPeriod::parse("09:00-17:00").unwrap(),
        TimeDelta::minutes(30),
    ))
    .unwrap();
    BookingLink::new(
        LinkId::from_uuid(uuid::Uuid::from_u128(n)),
        host,
        Slug::parse(slug).unwrap(),
        LinkSettings {
            title: if create_deal {
                "Intro call".into()
            } else {
                "Otto's call".into()
            },
            rules,
            reconfirmation: None,
            create_deal,
            questions: vec!["What should we talk about?".into()],
        },
    )
    .unwrap()
}

/// Creates hosts, links and accounts in `store` (any store with the host-side ports).
pub async fn populate<S>(store: &S, accounts: bool) -> (Host, Host)
where
    S: BookingStore + AccountStore,
{
    let berlin = TimeZoneName::parse("Europe/Berlin").unwrap();
    let utc = TimeZoneName::parse("UTC").unwrap();
    let hana = Host::new(
        HostId::from_uuid(uuid::Uuid::from_u128(1)),
        PersonName::parse("Hana Host").unwrap(),
        Email::parse("hana@example.com").unwrap(),
        berlin,
    );
    let otto = Host::new(
        HostId::from_uuid(uuid::Uuid::from_u128(3)),
        PersonName::parse("Otto Other").unwrap(),
        Email::parse("otto@example.com").unwrap(),
        utc,
    );
    store.save_host(&hana).await.unwrap();
    store.save_host(&otto).await.unwrap();
    store
        .save_link(&link(2, hana.id(), "intro", berlin, true))
        .await
        .unwrap();
    store
        .save_link(&link(4, otto.id(), "otto-call", utc, false))
        .await
        .unwrap();
    if accounts {
        let passwords = cheap_passwords();
        for (host, password) in [(&hana, HANA_PASSWORD), (&otto, OTTO_PASSWORD)] {
            let hash = passwords.hash(password).unwrap();
            store
                .save_account(&Account::new(host.id(), host.email(), hash, at(6, 0)))
                .await
                .unwrap();
        }
    }
    (hana, otto)
}

pub async fn setup() -> TestApp {
    setup_with(true, "http://book.test").await
}

pub async fn setup_with(accounts: bool, base: &str) -> TestApp {
    build(accounts, base, None).await
}

/// [`setup`] with the webhook subscription API on the in-memory store.
pub async fn setup_webhooks(targets: webhooks_out::TargetPolicy) -> TestApp {
    build(true, "http://book.test", Some(targets)).await
}

async fn build(
    accounts: bool,
    base: &str,
    webhooks: Option<webhooks_out::TargetPolicy>,
) -> TestApp {
    let store = InMemoryStore::new();
    let (hana, otto) = populate(&store, accounts).await;
    let clock = ManualClock::at(at(7, 0));
    let tokens = SequentialTokens::new();
    let scheduler = Scheduler::new(
        Arc::new(store.clone()) as Arc<dyn BookingStore>,
        Arc::new(clock.clone()) as Arc<dyn Clock>,
        Arc::new(tokens.clone()) as Arc<dyn TokenSource>,
        Arc::new(FixedBusy::default()) as _,
    );
    let side = HostSide::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(tokens),
        [7; 32],
        Arc::new(store.clone()),
        Arc::new(store.clone()),
    )
    .with_passwords(cheap_passwords())
    .with_outbox(Arc::new(store.clone()));
    let side = match webhooks {
        Some(targets) => side.with_subscriptions(
            Arc::new(store.clone()),
            Arc::new(targets),
            Arc::new(webhooks_out::WebhookClient::new(targets).unwrap()),
        ),
        None => side,
    };
    TestApp {
        store,
        clock,
        state: web::AppState::new(scheduler, base).with_host_side(side),
        hana,
        otto,
    }
}

/// The app as an actix test service.
#[macro_export]
macro_rules! service {
    ($state:expr) => {
        actix_web::test::init_service(
            actix_web::App::new()
                .wrap(::web::security_headers())
                .app_data(actix_web::web::Data::new($state.clone()))
                .configure(::web::configure),
        )
        .await
    };
}

/// Sends `$req` (a `TestRequest`) with the browser's cookie and keeps the cookie it gets back.
#[macro_export]
macro_rules! send {
    ($svc:expr, $browser:expr, $req:expr) => {{
        let resp =
            actix_web::test::call_service(&$svc, $browser.with_cookie($req).to_request()).await;
        $browser.keep(&resp);
        resp
    }};
}

/// Logs `$browser` in; returns the response to the login form.
#[macro_export]
macro_rules! login {
    ($svc:expr, $browser:expr, $email:expr, $password:expr) => {{
        let page = $crate::send!(
            $svc,
            $browser,
            actix_web::test::TestRequest::get().uri("/login")
        );
        let csrf = $crate::helpers::csrf_of(&$crate::helpers::body(page).await);
        $crate::send!(
            $svc,
            $browser,
            $crate::helpers::form(
                "/login",
                &[
                    ("csrf", csrf.as_str()),
                    ("email", $email),
                    ("password", $password)
                ]
            )
        )
    }};
}

/// Logs a new browser in; returns the response to the login form.
#[macro_export]
macro_rules! fresh_login {
    ($svc:expr, $email:expr, $password:expr) => {{
        let mut fresh = $crate::helpers::Browser::default();
        $crate::login!($svc, fresh, $email, $password)
    }};
}

/// A logged-in browser.
#[macro_export]
macro_rules! logged_in {
    ($svc:expr, $email:expr, $password:expr) => {{
        let mut browser = $crate::helpers::Browser::default();
        let resp = $crate::login!($svc, browser, $email, $password);
        assert_eq!(resp.status(), 303, "login failed");
        browser
    }};
}

/// A browser: the session cookie, kept between requests.
#[derive(Default, Clone)]
pub struct Browser {
    pub cookie: Option<Cookie<'static>>,
}

impl Browser {
    pub fn with_cookie(&self, req: TestRequest) -> TestRequest {
        match &self.cookie {
            Some(c) => req.cookie(c.clone()),
            None => req,
        }
    }

    pub fn keep(&mut self, resp: &ServiceResponse) {
        for c in resp.response().cookies() {
            if c.name() == "sk_session" {
                self.cookie = if c.value().is_empty() {
                    None
                } else {
                    Some(c.into_owned())
                };
            }
        }
    }
}

pub fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn form(uri: &str, pairs: &[(&str, &str)]) -> TestRequest {
    let body = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    TestRequest::post()
        .uri(uri)
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload(body)
}

pub fn get(uri: &str) -> TestRequest {
    TestRequest::get().uri(uri)
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

/// The CSRF token of the first form on a page.
pub fn csrf_of(page: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = page
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf field in {page}"))
        + marker.len();
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

/// Saves Hana's link `checked` (Europe/Berlin, 09:00–17:00 on weekdays), which asks for
/// reconfirmation 24 hours before a meeting and cancels 2 hours before without it.
pub async fn save_reconfirm_link(app: &TestApp) {
    let berlin = TimeZoneName::parse("Europe/Berlin").unwrap();
    let rules = AvailabilityRules::new(RulesDraft::weekdays(
        berlin,
        DayPeriod::parse("09:00-17:00").unwrap(),
        TimeDelta::minutes(30),
    ))
    .unwrap();
    let checked = BookingLink::new(
        LinkId::from_uuid(uuid::Uuid::from_u128(5)),
        app.hana.id(),
        Slug::parse("checked").unwrap(),
        LinkSettings {
            title: "Checked call".into(),
            rules,
            reconfirmation: Some(
                booking_core::link::ReconfirmationPolicy::new(
                    TimeDelta::hours(24),
                    TimeDelta::hours(2),
                )
                .unwrap(),
            ),
            create_deal: false,
            questions: vec!["What should we talk about?".into()],
        },
    )
    .unwrap();
    app.store.save_link(&checked).await.unwrap();
}

/// Books `slug` at `start` as `name`.
pub async fn book(app: &TestApp, slug: &str, start: DateTime<Utc>, name: &str) -> Booking {
    let invitee = Invitee::new(
        PersonName::parse(name).unwrap(),
        Email::parse(&format!(
            "{}@example.org",
            name.to_lowercase().replace(' ', ".")
        ))
        .unwrap(),
        None,
        TimeZoneName::parse("America/New_York").unwrap(),
    );
    let request = BookingRequest {
        start,
        invitee,
        answers: Answers::new(vec![(
            "What should we talk about?".into(),
            "Pricing <b>".into(),
        )])
        .unwrap(),
        tracking: Tracking::from_pairs([("utm_source", "newsletter")]),
    };
    app.state
        .scheduler
        .book(&Slug::parse(slug).unwrap(), request)
        .await
        .unwrap()
}

/// The CSRF token of the logged-in `browser`'s session, read from the calendar page.
#[macro_export]
macro_rules! csrf {
    ($svc:expr, $browser:expr) => {{
        let page = $crate::send!($svc, $browser, $crate::helpers::get("/calendar"));
        assert_eq!(page.status(), 200);
        $crate::helpers::csrf_of(&$crate::helpers::body(page).await)
    }};
}

/// The count shown on a dashboard tab.
pub fn count(html: &str, tab: &str) -> u64 {
    let start = html
        .find(&format!(r#"id="tab-{tab}""#))
        .unwrap_or_else(|| panic!("no tab {tab}"));
    let rest = &html[start..];
    let open = rest.find(r#"<span class="count">"#).unwrap() + r#"<span class="count">"#.len();
    rest[open..open + rest[open..].find('<').unwrap()]
        .parse()
        .unwrap()
}
