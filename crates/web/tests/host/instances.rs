//! Several instances of the app over one database, as behind a load balancer: a host logs in
//! on one, acts on another, logs out on a third, and the cookie is dead on all of them —
//! over one Postgres database and over one SQLite file (issue 13, finding 16; issue 14, item
//! 3). Each instance has its own pool and its own random source, as separate processes do;
//! they share the database and the secret the cookie key is derived from.

use std::str::FromStr;
use std::sync::Arc;

use booking_core::accounts::AccountStore;
use booking_core::ports::{BookingStore, Clock, TokenSource};
use booking_core::sessions::HostSessions;
use booking_core::testkit::{FixedBusy, ManualClock};
use booking_core::{BookingId, RescheduleToken, Scheduler};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use store_postgres::PostgresStore;
use store_sqlite::SqliteStore;
use web::host::HostSide;

use crate::helpers::*;
use crate::{csrf, logged_in, send, service};

/// The OS CSPRNG, as each instance of the binary has its own.
struct OsTokens;

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("OS randomness");
    bytes
}

impl TokenSource for OsTokens {
    fn new_token(&self) -> RescheduleToken {
        RescheduleToken::from_bytes(random())
    }
    fn new_booking_id(&self) -> BookingId {
        BookingId::from_uuid(uuid::Builder::from_random_bytes(random()).into_uuid())
    }
}

/// One instance of the app on `store`.
fn instance<S>(store: &S, clock: &ManualClock) -> web::AppState
where
    S: BookingStore
        + AccountStore
        + booking_core::deals::DealStore
        + booking_core::accounts::LinkDirectory
        + booking_core::accounts::LoginAttempts
        + HostSessions
        + Clone
        + 'static,
{
    let tokens: Arc<dyn TokenSource> = Arc::new(OsTokens);
    let scheduler = Scheduler::new(
        Arc::new(store.clone()) as Arc<dyn BookingStore>,
        Arc::new(clock.clone()) as Arc<dyn Clock>,
        tokens.clone(),
        Arc::new(FixedBusy::default()) as _,
    );
    let side = HostSide::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        tokens,
        [7; 32],
        Arc::new(store.clone()),
        Arc::new(store.clone()),
    )
    .with_passwords(cheap_passwords());
    web::AppState::new(scheduler, "http://book.test").with_host_side(side)
}

/// Logs in on `one`, lists and creates an API key on `two`, logs out on `three`; then the
/// cookie (and a copy taken before logout) opens nothing on any of them.
async fn log_in_act_and_log_out_across(states: [web::AppState; 3]) {
    let [one, two, three] = states;
    let (one, two, three) = (service!(one), service!(two), service!(three));
    let mut b = logged_in!(one, "hana@example.com", HANA_PASSWORD);
    let stolen = b.clone();
    let csrf = csrf!(two, b);
    let resp = send!(
        two,
        b,
        form(
            "/settings/api-keys",
            &[("csrf", &csrf), ("label", "Sheets")]
        )
    );
    assert_eq!(resp.status(), 201, "acting on another instance");
    assert_eq!(csrf!(three, b), csrf, "one session, one CSRF token");
    let resp = send!(three, b, form("/logout", &[("csrf", &csrf)]));
    assert_eq!(resp.status(), 303);
    assert_eq!(header(&resp, "location"), "/login?done=logged-out");
    for (name, svc) in [("one", &one), ("two", &two), ("three", &three)] {
        let mut copy = stolen.clone();
        let resp = send!(*svc, copy, get("/calendar"));
        assert_eq!(resp.status(), 303, "instance {name}: the session is over");
        let mut copy = stolen.clone();
        let resp = send!(
            *svc,
            copy,
            form("/settings/api-keys", &[("csrf", &csrf), ("label", "Late")])
        );
        assert_eq!(resp.status(), 303, "instance {name}: no form either");
    }
}

#[actix_web::test]
async fn three_instances_on_one_sqlite_file_share_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    let first = SqliteStore::connect(&url, [42; 32]).await.unwrap();
    let hana = populate(&first, true).await.0;
    let clock = ManualClock::at(at(7, 0));
    let mut states = Vec::new();
    for _ in 0..3 {
        let store = SqliteStore::connect(&url, [42; 32]).await.unwrap();
        states.push(instance(&store, &clock));
    }
    log_in_act_and_log_out_across(states.try_into().unwrap()).await;
    let keys = first.api_keys(hana.id()).await.unwrap();
    assert_eq!(keys.len(), 1, "written once, through instance two");
}

#[actix_web::test]
async fn three_instances_on_one_postgres_database_share_sessions() {
    let admin_url = std::env::var("TEST_DATABASE_URL").expect(
        "TEST_DATABASE_URL: an admin URL that may CREATE DATABASE (cargo xtask test sets it)",
    );
    let admin = PgConnectOptions::from_str(&admin_url).expect("a Postgres URL");
    let name = format!("slotkeeper_web_sessions_{}", std::process::id());
    let mut conn = PgConnection::connect_with(&admin).await.expect("connect");
    conn.execute(AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .await
    .unwrap();
    conn.execute(AssertSqlSafe(format!("create database {name}")))
        .await
        .unwrap();
    let options = admin.clone().database(&name);
    let mut stores = Vec::new();
    for _ in 0..3 {
        // Migrated by the first; each instance has a pool of its own.
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await
            .unwrap();
        stores.push(PostgresStore::from_pool(pool, [42; 32]).await.unwrap());
    }
    let hana = populate(&stores[0], true).await.0;
    let clock = ManualClock::at(at(7, 0));
    let states: Vec<_> = stores.iter().map(|s| instance(s, &clock)).collect();
    log_in_act_and_log_out_across(states.try_into().unwrap()).await;
    assert_eq!(stores[1].api_keys(hana.id()).await.unwrap().len(), 1);
    for store in &stores {
        store.pool().close().await;
    }
    conn.execute(AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .await
    .unwrap();
}
