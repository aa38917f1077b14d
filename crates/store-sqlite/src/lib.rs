//! Slotkeeper's embedded default store: hosts, links, bookings and the outbox in one SQLite
//! file (`DATABASE_URL=sqlite://data/slotkeeper.db`, created on first run).
//!
//! SQLite has one writer at a time, and this store leans on that: every write runs in a
//! `BEGIN IMMEDIATE` transaction, which takes the write lock up front, so the overlap check for
//! double booking and the version checks see the latest committed data and nothing can slip in
//! between check and write. WAL mode lets readers run alongside the writer; a busy timeout makes
//! writers queue instead of failing, and a writer that still meets `SQLITE_BUSY` retries the
//! whole transaction, so "database is locked" never reaches a caller.

use std::str::FromStr;
use std::time::Duration;

use booking_core::Status;
use booking_core::accounts::{Account, SaveAccountError};
use booking_core::booking::Write;
use booking_core::link::BookingLink;
use booking_core::ports::{Change, CommitError, SaveLinkError, StoreError, StoreHealth};
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Sqlite, SqliteConnection, SqlitePool, Transaction};
/// What migrating at connect did ([`SqliteStore::connect_reporting`]).
pub use store_common::{AppliedMigration, MigrationReport};
use store_common::{
    CommitSignal, EncodedBooking, INSERT_BOOKING, OutboxRow, SqlStore, TokenSeal, UPDATE_BOOKING,
    UPSERT_LINK, db_error, encode_link, outbox_columns,
};

/// How long a writer waits for the write lock inside SQLite before `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Every port of booking-core's a database store offers (`BookingStore`, `Outbox`, the host
/// side's, webhook subscriptions) on SQLite. Clones share the pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    seal: TokenSeal,
    wake: CommitSignal,
}

impl SqliteStore {
    /// Opens (creating it and its directory if missing) the database at `url`
    /// (`sqlite://path/to.db`), sets WAL,
    /// a busy timeout and foreign keys on every connection, and applies the migrations.
    /// `seal_key` is the application's 32-byte secret; tokens are sealed with a key derived
    /// from it.
    ///
    /// # Errors
    /// [`StoreError`] when the file cannot be opened or a migration fails.
    pub async fn connect(url: &str, seal_key: [u8; 32]) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::new("invalid SQLite URL", e))?;
        Self::connect_with(options, seal_key).await
    }

    /// [`connect`](Self::connect) with connect options of the caller's (the URL's, plus
    /// pragmas of its own, such as a test's `max_page_count`); WAL, the busy timeout and
    /// foreign keys are set on top.
    ///
    /// # Errors
    /// [`StoreError`] when the file cannot be opened or a migration fails.
    pub async fn connect_with(
        options: SqliteConnectOptions,
        seal_key: [u8; 32],
    ) -> Result<Self, StoreError> {
        Self::open(options, seal_key).await.map(|(store, _)| store)
    }

    /// [`connect`](Self::connect), also saying which migrations it applied (`slotkeeper
    /// migrate` reports them).
    ///
    /// # Errors
    /// [`StoreError`] when the file cannot be opened or a migration fails.
    pub async fn connect_reporting(
        url: &str,
        seal_key: [u8; 32],
    ) -> Result<(Self, MigrationReport), StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::new("invalid SQLite URL", e))?;
        Self::open(options, seal_key).await
    }

    async fn open(
        options: SqliteConnectOptions,
        seal_key: [u8; 32],
    ) -> Result<(Self, MigrationReport), StoreError> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        // `sqlite://data/slotkeeper.db` on a first run: make `data/` too.
        if let Some(dir) = options.get_filename().parent()
            && !dir.as_os_str().is_empty()
            && !options.get_filename().starts_with(":memory:")
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::new(format!("creating {}", dir.display()), e))?;
        }
        // No ping per acquire (a round trip through the driver's worker thread each time);
        // `after_release` already turns away a connection left inside a transaction.
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(60))
            .after_release(|conn, _| Box::pin(outside_transaction(conn)))
            .connect_with(options)
            .await
            .map_err(db_error::<Self>("opening the SQLite database"))?;
        let store = Self {
            pool,
            seal: TokenSeal::new(seal_key),
            wake: CommitSignal::default(),
        };
        let pending = StoreHealth::pending_migrations(&store).await?;
        MIGRATIONS
            .run(&store.pool)
            .await
            .map_err(|e| StoreError::new("migrating the SQLite database", e))?;
        Ok((store, MigrationReport::after(&MIGRATIONS, &pending)))
    }

    /// The wake-up of outbox workers, raised after every commit of this store (and its clones)
    /// that wrote outbox entries. A SQLite file has one process writing it, so this is all.
    pub fn outbox_wake(&self) -> CommitSignal {
        self.wake.clone()
    }

    /// The connection pool, for health checks and tools.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Whether a connection coming back to the pool is outside any transaction, so the next
/// `BEGIN IMMEDIATE` on it can work; otherwise the pool closes it and opens a fresh one.
///
/// A dropped transaction is rolled back when the connection next runs a command. But after
/// `SQLITE_FULL` or an I/O error SQLite may already have rolled the whole transaction back
/// itself; the driver's `ROLLBACK` then fails and it still counts the connection as inside
/// one, refusing every later `BEGIN IMMEDIATE` on it. The ping lets that pending rollback run
/// before the count is read.
async fn outside_transaction(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    conn.ping().await?;
    Ok(!conn.is_in_transaction())
}

/// This build's migrations, applied at connect and checked by readiness probes.
static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

store_common::store_health_port!(SqliteStore, MIGRATIONS);
store_common::sql_store_ports!(SqliteStore, Sqlite);

impl SqlStore for SqliteStore {
    // `scheduling_calendar_events_window_idx` (host, end of the buffered range, confirmed rows
    // only) starts at the window: a host's past bookings are never read.
    const BLOCKED_RANGES: &'static str = "select blocked_start, blocked_end \
         from scheduling_calendar_events indexed by scheduling_calendar_events_window_idx \
         where host_id = $1 and status = 'confirmed' and blocked_end > $2 and blocked_start < $3 \
         and coalesce(chain_id <> $4, true) order by blocked_start";
    type Db = Sqlite;

    // A statement that reads before it writes would take the write lock only when it writes,
    // and could fail busy then; `BEGIN IMMEDIATE` takes it first.
    const ONE_STATEMENT_WRITES: bool = false;

    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    fn seal(&self) -> &TokenSeal {
        &self.seal
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// SQLite gave up waiting for a lock (`SQLITE_BUSY`, `SQLITE_LOCKED` and their extended
    /// codes): the transaction did nothing and may simply run again.
    fn is_transient(e: &sqlx::Error) -> bool {
        let Some(db) = e.as_database_error() else {
            return false;
        };
        db.code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|code| matches!(code & 0xff, 5 | 6))
    }

    /// The file cannot be used right now: locked through every retry, read-only
    /// (`SQLITE_READONLY`), an I/O error (`SQLITE_IOERR` and its extended codes), the disk or
    /// `max_page_count` full (`SQLITE_FULL`), the file cannot be opened (`SQLITE_CANTOPEN`) —
    /// or the driver lost the connection.
    fn is_unavailable(e: &sqlx::Error) -> bool {
        let code = e
            .as_database_error()
            .and_then(|db| db.code())
            .and_then(|c| c.parse::<i32>().ok());
        store_common::lost_connection(e)
            || code.is_some_and(|code| matches!(code & 0xff, 5 | 6 | 8 | 10 | 13 | 14))
    }

    /// Under the write lock, the overlap check sees every committed booking and nothing can
    /// commit between the check and this transaction's commit.
    async fn try_commit(
        &self,
        change: &Change,
        encoded: &[EncodedBooking],
    ) -> Result<Result<(), CommitError>, sqlx::Error> {
        let now = Utc::now();
        let mut tx = self.begin_write().await?;
        for (write, row) in change.writes.iter().zip(encoded) {
            let done = match write {
                Write::Insert(_) => {
                    Self::bind_booking(sqlx::query(INSERT_BOOKING), row, now)
                        .execute(&mut *tx)
                        .await?
                }
                Write::Update {
                    expected_version, ..
                } => {
                    let expected = i64::try_from(*expected_version).unwrap_or(i64::MAX);
                    Self::bind_booking(sqlx::query(UPDATE_BOOKING), row, now)
                        .bind(expected)
                        .execute(&mut *tx)
                        .await?
                }
            };
            if done.rows_affected() == 0 {
                // Dropping the transaction rolls it back.
                return Ok(Err(CommitError::VersionConflict(write.booking().id())));
            }
        }
        for write in &change.writes {
            let b = write.booking();
            if !matches!(b.status(), Status::Confirmed) {
                continue;
            }
            let clash: bool = sqlx::query_scalar(
                "select exists (select 1 from scheduling_calendar_events \
                 where host_id = $1 and status = 'confirmed' and id <> $2 \
                 and blocked_start < $4 and blocked_end > $3)",
            )
            .bind(b.host().as_uuid())
            .bind(b.id().as_uuid())
            .bind(b.blocked().start())
            .bind(b.blocked().end())
            .fetch_one(&mut *tx)
            .await?;
            if clash {
                return Ok(Err(CommitError::SlotTaken));
            }
        }
        Self::insert_effects(&mut tx, change, now).await?;
        tx.commit().await?;
        if !change.effects.is_empty() {
            self.wake.raise();
        }
        Ok(Ok(()))
    }

    /// Checks host and slug under the write lock, then writes.
    async fn try_save_link(
        &self,
        link: &BookingLink,
    ) -> Result<Result<(), SaveLinkError>, sqlx::Error> {
        let enc = encode_link(link);
        let r = &enc.record;
        let now = Utc::now();
        let mut tx = self.begin_write().await?;
        let host_known: bool =
            sqlx::query_scalar("select exists (select 1 from hosts where id = $1)")
                .bind(r.host_id)
                .fetch_one(&mut *tx)
                .await?;
        if !host_known {
            return Ok(Err(SaveLinkError::UnknownHost));
        }
        let slug_taken: bool = sqlx::query_scalar(
            "select exists (select 1 from booking_links where slug = $1 and id <> $2)",
        )
        .bind(&r.slug)
        .bind(r.id)
        .fetch_one(&mut *tx)
        .await?;
        if slug_taken {
            return Ok(Err(SaveLinkError::SlugTaken));
        }
        Self::bind_link(sqlx::query(UPSERT_LINK), &enc, now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Checks host and login under the write lock, so the check and the write see the same
    /// data.
    async fn try_save_account(
        &self,
        account: &Account,
    ) -> Result<Result<(), SaveAccountError>, sqlx::Error> {
        let now = Utc::now();
        let host = account.host().as_uuid();
        let mut tx = self.begin_write().await?;
        let known: bool = sqlx::query_scalar("select exists (select 1 from hosts where id = $1)")
            .bind(host)
            .fetch_one(&mut *tx)
            .await?;
        if !known {
            return Ok(Err(SaveAccountError::UnknownHost));
        }
        let taken: bool = sqlx::query_scalar(
            "select exists (select 1 from host_accounts where login = $1 and host_id <> $2)",
        )
        .bind(account.login().as_str())
        .bind(host)
        .fetch_one(&mut *tx)
        .await?;
        if taken {
            return Ok(Err(SaveAccountError::LoginTaken));
        }
        sqlx::query(
            "insert into host_accounts (host_id, login, password_hash, created_at, updated_at) \
             values ($1, $2, $3, $4, $5) on conflict (host_id) do update set login = $2, \
             password_hash = $3, updated_at = $5",
        )
        .bind(host)
        .bind(account.login().as_str())
        .bind(account.password().as_str())
        .bind(account.created_at())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Claims are leases taken inside a write transaction, so two workers never hold the same
    /// entry, and a crashed worker's entries come back once the lease ends.
    async fn try_claim_due(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, sqlx::Error> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query_as::<_, OutboxRow>(concat!(
            "update outbox set leased_until = $2, updated_at = $1 where key in (",
            "select key from outbox where delivered_at is null and dead_at is null and due_at <= $1 ",
            "and (leased_until is null or leased_until <= $1) order by due_at, key limit $3",
            ") returning ",
            outbox_columns!()
        ))
        .bind(now)
        .bind(until)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }
}
