//! The Postgres store on a real server: the shared conformance suite and the booking-core
//! reference-model test, each test (and model case) on a database of its own, created through
//! the admin URL in `TEST_DATABASE_URL` and dropped after a passing test (a failing test leaves
//! its database behind for a look). Without `TEST_DATABASE_URL` the tests fail: run them with
//! `cargo xtask test`, which provisions a server. `racing` has bookings of one host racing
//! from several pools; `rescheduling` attendees moving into one slot at once; `outage` a
//! server that stops being reachable.

mod cache;
mod contended;
mod outage;
mod racing;
mod rescheduling;

use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use booking_core::invitee::{Answers, Email, Invitee, PersonName, Tracking};
use booking_core::ports::BookingStore;
use booking_core::service::BookingRequest;
use booking_core::testkit::conformance::{Spawner, StoreFactory, Task};
use booking_core::testkit::{FixedBusy, ManualClock, SequentialTokens, model};
use booking_core::{Scheduler, TimeRange, TimeZoneName};
use chrono::TimeDelta;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use store_postgres::PostgresStore;

const SEAL_KEY: [u8; 32] = [42; 32];

static NEXT_DATABASE: AtomicUsize = AtomicUsize::new(0);

fn admin_url() -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "TEST_DATABASE_URL is not set. Run the Postgres tests with `cargo xtask test`, which starts or \
             finds a Postgres server, or set TEST_DATABASE_URL to an admin URL that may CREATE DATABASE \
             (e.g. postgres://postgres@127.0.0.1:5432/postgres)."
        ),
    }
}

/// Creates a database per [`StoreFactory::fresh`] and drops them all in [`StoreFactory::finish`].
struct PgDatabases {
    admin: PgConnectOptions,
    created: Mutex<Vec<String>>,
}

impl PgDatabases {
    fn new() -> Self {
        let admin = PgConnectOptions::from_str(&admin_url())
            .expect("TEST_DATABASE_URL is not a Postgres URL");
        Self {
            admin,
            created: Mutex::new(Vec::new()),
        }
    }

    async fn create(&self) -> PgConnectOptions {
        let name = format!(
            "slotkeeper_test_{}_{}",
            std::process::id(),
            NEXT_DATABASE.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect_with(&self.admin)
            .await
            .expect("connect to TEST_DATABASE_URL");
        admin
            .execute(AssertSqlSafe(format!(
                "drop database if exists {name} with (force)"
            )))
            .await
            .expect("drop old");
        admin
            .execute(AssertSqlSafe(format!("create database {name}")))
            .await
            .expect("create database");
        admin.close().await.ok();
        self.created.lock().expect("lock").push(name.clone());
        self.admin.clone().database(&name)
    }
}

impl StoreFactory for PgDatabases {
    type Store = PostgresStore;

    async fn fresh(&self) -> PostgresStore {
        {
            let options = self.create().await;
            let pool = PgPoolOptions::new()
                .max_connections(10)
                .connect_with(options)
                .await
                .expect("connect");
            PostgresStore::from_pool(pool, SEAL_KEY)
                .await
                .expect("migrate a fresh database")
        }
    }

    async fn finish(&self) {
        {
            let names = std::mem::take(&mut *self.created.lock().expect("lock"));
            let mut admin = PgConnection::connect_with(&self.admin)
                .await
                .expect("connect to TEST_DATABASE_URL");
            for name in names {
                admin
                    .execute(AssertSqlSafe(format!(
                        "drop database if exists {name} with (force)"
                    )))
                    .await
                    .expect("drop");
            }
            admin.close().await.ok();
        }
    }
}

/// Runs concurrency-test tasks on the multi-thread runtime, as a server would.
struct TokioSpawner;

impl Spawner for TokioSpawner {
    fn spawn<T: Send + 'static>(&self, task: Task<T>) -> Task<T> {
        let handle = tokio::spawn(task);
        Box::pin(async move { handle.await.expect("task panicked") })
    }
}

booking_core::store_conformance_tests!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    factory: PgDatabases::new(),
    spawner: TokioSpawner,
);

booking_core::host_conformance_tests!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    factory: PgDatabases::new(),
);

booking_core::desk_conformance_tests!(#[tokio::test] factory: PgDatabases::new());

booking_core::subscription_conformance_tests!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    factory: PgDatabases::new(),
);

booking_core::connection_conformance_tests!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    factory: PgDatabases::new(),
);

booking_core::session_conformance_tests!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    factory: PgDatabases::new(),
);

booking_core::login_attempt_conformance_tests!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    factory: PgDatabases::new(),
    spawner: TokioSpawner,
);

/// The reference-model test, with fewer cases than in memory (16 unless `PROPTEST_CASES`
/// says otherwise), each on a fresh database.
#[test]
fn model_test() {
    let mut config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 16;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let databases = PgDatabases::new();
    let mut runner = TestRunner::new(config);
    let result = runner.run(&model::ops(), |ops| {
        runtime.block_on(async {
            let store = databases.fresh().await;
            let outcome = model::run_case(store.clone(), &ops)
                .await
                .map_err(TestCaseError::fail);
            store.pool().close().await;
            if outcome.is_ok() {
                databases.finish().await;
            }
            outcome
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The exclusion constraint holds even against SQL that skips the store: a second confirmed
/// row overlapping another of the same host is refused by the database itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_itself_refuses_double_booking() {
    let databases = PgDatabases::new();
    let store = databases.fresh().await;
    let (host, link, start) = model::fixture();
    store.save_host(&host).await.expect("host");
    store.save_link(&link).await.expect("link");
    let scheduler = Scheduler::new(
        store.clone(),
        ManualClock::at(start),
        SequentialTokens::new(),
        FixedBusy::default(),
    );
    let window = TimeRange::new(start, start + TimeDelta::days(3)).expect("window");
    let slots = scheduler
        .available_slots(link.slug(), window)
        .await
        .expect("slots");
    let booking = scheduler
        .book(link.slug(), request(slots[0].start()))
        .await
        .expect("book");
    let copy = sqlx::query(
        "insert into scheduling_calendar_events (id, chain_id, host_id, link_id, start_at, end_at, blocked_start, \
         blocked_end, status, token_hash, token_sealed, invitee_name, invitee_email, invitee_time_zone, answers, \
         tracking, ics_sequence, version, created_at) \
         select gen_random_uuid(), gen_random_uuid(), host_id, link_id, start_at + interval '10 minutes', \
         end_at + interval '10 minutes', blocked_start + interval '10 minutes', blocked_end + interval '10 minutes', \
         'confirmed', sha256(token_hash), token_sealed, invitee_name, invitee_email, invitee_time_zone, answers, \
         tracking, 0, 1, created_at from scheduling_calendar_events where id = $1",
    )
    .bind(booking.id().as_uuid())
    .execute(store.pool())
    .await;
    let error = copy.expect_err("overlapping confirmed row accepted");
    assert_eq!(
        error.as_database_error().and_then(|e| e.constraint()),
        Some("no_double_booking"),
        "{error}"
    );
    store.pool().close().await;
    databases.finish().await;
}

fn request(start: chrono::DateTime<chrono::Utc>) -> BookingRequest {
    BookingRequest {
        start,
        invitee: Invitee::new(
            PersonName::parse("Ann Example").expect("name"),
            Email::parse("ann@example.org").expect("email"),
            None,
            TimeZoneName::parse("Europe/Paris").expect("zone"),
        ),
        answers: Answers::default(),
        tracking: Tracking::default(),
    }
}

booking_core::lease_conformance_tests!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    factory: PgDatabases::new(),
    spawner: TokioSpawner,
);

booking_core::text_opt_out_conformance_tests!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    factory: PgDatabases::new(),
);
/// A database missing the newest migration reports exactly that one as pending; one never
/// migrated, all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_migrations_are_reported_pending() {
    use booking_core::ports::StoreHealth;
    let databases = PgDatabases::new();
    let store = databases.fresh().await;
    let newest: i64 = sqlx::query_scalar("select max(version) from _sqlx_migrations")
        .fetch_one(store.pool())
        .await
        .expect("newest migration");
    sqlx::query("delete from _sqlx_migrations where version = $1")
        .bind(newest)
        .execute(store.pool())
        .await
        .expect("forget the newest migration");
    assert_eq!(
        store.pending_migrations().await.expect("status"),
        vec![newest]
    );
    sqlx::query("drop table _sqlx_migrations")
        .execute(store.pool())
        .await
        .expect("forget every migration");
    let pending = store.pending_migrations().await.expect("status");
    assert!(
        pending.len() > 5 && pending.contains(&newest),
        "{pending:?}"
    );
    store.pool().close().await;
    databases.finish().await;
}
