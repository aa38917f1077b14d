//! The SQLite store on real database files: the shared conformance suite (one fresh file per
//! test), the booking-core reference-model test, what a copy of the file gives away, and a
//! full disk (`disk_full`).

mod disk_full;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use booking_core::Scheduler;
use booking_core::ports::BookingStore;
use booking_core::testkit::conformance::{Spawner, StoreFactory, Task};
use booking_core::testkit::{FixedBusy, ManualClock, SequentialTokens, model};
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use store_sqlite::SqliteStore;
use tempfile::TempDir;

const SEAL_KEY: [u8; 32] = [42; 32];

/// A directory of fresh database files, removed with the factory.
struct SqliteFiles {
    dir: TempDir,
    next: AtomicUsize,
}

impl SqliteFiles {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            next: AtomicUsize::new(0),
        }
    }

    fn url(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!(
            "sqlite://{}",
            self.dir.path().join(format!("slotkeeper-{n}.db")).display()
        )
    }
}

impl StoreFactory for SqliteFiles {
    type Store = SqliteStore;

    fn fresh(&self) -> impl Future<Output = SqliteStore> + Send {
        let url = self.url();
        async move {
            SqliteStore::connect(&url, SEAL_KEY)
                .await
                .expect("open a fresh SQLite file")
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
    factory: SqliteFiles::new(),
    spawner: TokioSpawner,
);

booking_core::host_conformance_tests!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    factory: SqliteFiles::new(),
);

booking_core::desk_conformance_tests!(#[tokio::test] factory: SqliteFiles::new());

booking_core::subscription_conformance_tests!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    factory: SqliteFiles::new(),
);

booking_core::connection_conformance_tests!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    factory: SqliteFiles::new(),
);

booking_core::session_conformance_tests!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    factory: SqliteFiles::new(),
);

booking_core::login_attempt_conformance_tests!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    factory: SqliteFiles::new(),
    spawner: TokioSpawner,
);

/// The reference-model test, with fewer cases than in memory (16 unless `PROPTEST_CASES`
/// says otherwise), each on a fresh file.
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
    let files = SqliteFiles::new();
    let mut runner = TestRunner::new(config);
    let result = runner.run(&model::ops(), |ops| {
        runtime.block_on(async {
            let store = files.fresh().await;
            model::run_case(store, &ops)
                .await
                .map_err(TestCaseError::fail)
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A copy of the database (file and WAL) holds no working token: only its hash and a sealed
/// copy that needs the secret key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_not_stored_in_the_clear() {
    let files = SqliteFiles::new();
    let url = files.url();
    let store = SqliteStore::connect(&url, SEAL_KEY).await.expect("open");
    let (host, link, start) = model::fixture();
    store.save_host(&host).await.expect("host");
    store.save_link(&link).await.expect("link");
    let clock = ManualClock::at(start);
    let scheduler = Scheduler::new(
        store.clone(),
        clock,
        SequentialTokens::new(),
        FixedBusy::default(),
    );
    let slots = scheduler
        .available_slots(
            link.slug(),
            booking_core::TimeRange::new(start, start + chrono::TimeDelta::days(3))
                .expect("window"),
        )
        .await
        .expect("slots");
    let booking = scheduler
        .book(link.slug(), request(slots[0].start()))
        .await
        .expect("book");
    let token = booking.token().expose().to_owned();

    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(files.dir.path()).expect("dir") {
        bytes.extend(std::fs::read(entry.expect("entry").path()).expect("read"));
    }
    assert!(
        contains(&bytes, booking.invitee().email().as_str().as_bytes()),
        "the scan sees row data"
    );
    assert!(!contains(&bytes, token.as_bytes()), "token in the clear");
    assert!(
        contains(&bytes, &booking.token().lookup_hash()),
        "lookup hash stored"
    );

    // The same file opened with another secret cannot give the token back.
    let wrong = SqliteStore::connect(&url, [1; 32])
        .await
        .expect("open with another key");
    assert!(wrong.booking(booking.id()).await.is_err());
    assert_eq!(
        store
            .booking_by_token(booking.token())
            .await
            .expect("lookup")
            .map(|b| b.id()),
        Some(booking.id())
    );
}

/// A first run creates the file and its directory; reopening keeps the data and does not
/// re-run migrations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_keeps_data() {
    let files = SqliteFiles::new();
    let url = format!(
        "sqlite://{}",
        files.dir.path().join("data/nested/slotkeeper.db").display()
    );
    let (host, link, _) = model::fixture();
    {
        let store = SqliteStore::connect(&url, SEAL_KEY).await.expect("create");
        store.save_host(&host).await.expect("host");
        store.save_link(&link).await.expect("link");
        store.pool().close().await;
    }
    let store = SqliteStore::connect(&url, SEAL_KEY).await.expect("reopen");
    assert_eq!(
        store.link_by_slug(link.slug()).await.expect("load"),
        Some(link)
    );
}

fn request(start: chrono::DateTime<chrono::Utc>) -> booking_core::service::BookingRequest {
    use booking_core::invitee::{Answers, Email, Invitee, PersonName, Tracking};
    booking_core::service::BookingRequest {
        start,
        invitee: Invitee::new(
            PersonName::parse("Ann Example").expect("name"),
            Email::parse("ann.unique.marker@example.org").expect("email"),
            None,
            booking_core::TimeZoneName::parse("Europe/Paris").expect("zone"),
        ),
        answers: Answers::default(),
        tracking: Tracking::default(),
    }
}

booking_core::lease_conformance_tests!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    factory: SqliteFiles::new(),
    spawner: TokioSpawner,
);

booking_core::text_opt_out_conformance_tests!(#[tokio::test] factory: SqliteFiles::new());
/// A file missing the newest migration (an instance of an older build, or a migration that
/// failed half-way) reports exactly that one as pending; a file never migrated, all of them.
#[tokio::test]
async fn missing_migrations_are_reported_pending() {
    use booking_core::ports::StoreHealth;
    let files = SqliteFiles::new();
    let store = files.fresh().await;
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
}
