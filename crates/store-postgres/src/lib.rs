//! Slotkeeper's Postgres store, for production and for several `slotkeeper` instances on one
//! database.
//!
//! Double booking is made impossible by the database itself: the exclusion constraint
//! `no_double_booking` (btree_gist) forbids two confirmed rows of a host whose buffered ranges
//! overlap, and its violation becomes [`CommitError::SlotTaken`]. Concurrent writers to one row
//! are told apart by a version column (`update … where id = $1 and version = $n`); the loser
//! sees zero rows and gets [`CommitError::VersionConflict`]. Serialisation failures and
//! deadlocks are retried inside the store and never reach a caller. Workers claim outbox rows
//! with `for update skip locked` and a lease, so several instances share the work.

mod changes;
mod commit;

pub use changes::CHANGE_CHANNEL;

use std::str::FromStr;
use std::time::Duration;

use booking_core::HostId;
use booking_core::accounts::{Account, SaveAccountError};
use booking_core::link::BookingLink;
use booking_core::ports::{Change, CommitError, SaveLinkError, StoreError, StoreHealth};
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Postgres, Transaction};
use store_common::Unreachable;
/// What migrating at connect did ([`PostgresStore::connect_reporting`]).
pub use store_common::{AppliedMigration, MigrationReport};
use store_common::{
    CommitSignal, EncodedBooking, OutboxRow, SqlStore, TokenSeal, UPSERT_LINK, db_error,
    encode_link, outbox_columns,
};

/// Every port of booking-core's a database store offers (`BookingStore`, `Outbox`, the host
/// side's, webhook subscriptions) on Postgres. Clones share the pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    seal: TokenSeal,
    wake: CommitSignal,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`) and applies the migrations. `seal_key` is the
    /// application's 32-byte secret; tokens are sealed with a key derived from it.
    ///
    /// # Errors
    /// [`StoreError`] when the database cannot be reached or a migration fails.
    pub async fn connect(url: &str, seal_key: [u8; 32]) -> Result<Self, StoreError> {
        let pool = pool_options()
            .connect(url)
            .await
            .map_err(db_error::<Self>("connecting to Postgres"))?;
        Self::from_pool(pool, seal_key).await
    }

    /// [`connect`](Self::connect), but the first connection must succeed within
    /// `connect_timeout` (a refusing server is tried again until then, as one still
    /// starting), else the error names the server (`host:port`, user and database, never the
    /// password) and the cause; also says which migrations it applied.
    ///
    /// # Errors
    /// [`StoreError::unavailable`] when the server cannot be reached in time or refuses the
    /// login; [`StoreError`] when the URL is invalid or a migration fails.
    pub async fn connect_reporting(
        url: &str,
        seal_key: [u8; 32],
        connect_timeout: Duration,
    ) -> Result<(Self, MigrationReport), StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::new("invalid Postgres URL", e))?;
        let first = store_common::first_connection(connect_timeout, || {
            PgConnection::connect_with(&options)
        })
        .await
        .map_err(|e| {
            let context = format!("could not connect to Postgres at {}", server_of(&options));
            match e {
                // A refused login or an unknown database does not pass by itself.
                Unreachable::Failed(cause) if !<Self as SqlStore>::is_unavailable(&cause) => {
                    StoreError::new(context, Unreachable::Failed(cause))
                }
                other => StoreError::unavailable(context, other),
            }
        })?;
        // The pool opens its own; this one only proved the server answers.
        let _ = first.close().await;
        let pool = pool_options()
            .connect_with(options)
            .await
            .map_err(db_error::<Self>("connecting to Postgres"))?;
        Self::migrated(pool, seal_key).await
    }

    /// Uses an existing pool (shared with other parts of the binary) and applies the
    /// migrations; they run under sqlx's advisory lock, so instances starting together are safe.
    ///
    /// # Errors
    /// [`StoreError`] when a migration fails.
    pub async fn from_pool(pool: PgPool, seal_key: [u8; 32]) -> Result<Self, StoreError> {
        Self::migrated(pool, seal_key).await.map(|(store, _)| store)
    }

    async fn migrated(
        pool: PgPool,
        seal_key: [u8; 32],
    ) -> Result<(Self, MigrationReport), StoreError> {
        let store = Self {
            pool,
            seal: TokenSeal::new(seal_key),
            wake: CommitSignal::default(),
        };
        let pending = StoreHealth::pending_migrations(&store).await?;
        MIGRATIONS
            .run(&store.pool)
            .await
            .map_err(|e| StoreError::new("migrating the Postgres database", e))?;
        Ok((store, MigrationReport::after(&MIGRATIONS, &pending)))
    }

    /// The wake-up of outbox workers: raised after this process's commits that wrote outbox
    /// entries and, once this has started listening (`LISTEN slotkeeper_outbox` on a
    /// connection of its own, which the `outbox_notify` trigger's notifications reach from
    /// every instance's commits), after other instances' too. A lost listening connection is
    /// reopened; the workers' slow poll covers what was missed meanwhile. The listening
    /// connection is one of the pool's until the pool closes.
    ///
    /// # Errors
    /// [`StoreError`] when the listening connection cannot be opened.
    pub async fn outbox_wake(&self) -> Result<CommitSignal, StoreError> {
        let mut listener = PgListener::connect_with(&self.pool)
            .await
            .map_err(db_error::<Self>("opening the outbox listener"))?;
        listener
            .listen(OUTBOX_CHANNEL)
            .await
            .map_err(db_error::<Self>("listening for outbox commits"))?;
        let wake = self.wake.clone();
        tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(_)) => {}
                    // The connection was lost (and is reopened by the next call): whatever was
                    // committed meanwhile was not heard, so wake anyway.
                    Ok(None) => {}
                    // The pool is closing (shutdown): give the connection back, or closing
                    // would wait for it for ever.
                    Err(sqlx::Error::PoolClosed) => return,
                    Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                }
                wake.raise();
            }
        });
        Ok(self.wake.clone())
    }

    /// The connection pool, for health checks and tools.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// The pool every constructor builds.
fn pool_options() -> PgPoolOptions {
    // No ping per acquire: a dead connection fails its query, which `is_unavailable`
    // reports, and the pool replaces it. 20 connections serve 16 busy clients and the
    // outbox workers without queueing.
    PgPoolOptions::new()
        .max_connections(20)
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(60))
}

/// Where `options` connect, for messages: `host:port` (or the socket directory), the user
/// and the database — never the password.
fn server_of(options: &PgConnectOptions) -> String {
    let place = options.get_socket().map_or_else(
        || format!("{}:{}", options.get_host(), options.get_port()),
        |dir| format!("{} (socket)", dir.display()),
    );
    let database = options
        .get_database()
        .map_or_else(String::new, |d| format!(", database {d}"));
    format!("{place} (user {}{database})", options.get_username())
}

/// The channel the `outbox_notify` trigger notifies on commits that wrote outbox entries.
const OUTBOX_CHANNEL: &str = "slotkeeper_outbox";

/// This build's migrations, applied at connect and checked by readiness probes.
static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

store_common::store_health_port!(PostgresStore, MIGRATIONS);
store_common::sql_store_ports!(PostgresStore, Postgres);

impl SqlStore for PostgresStore {
    type Db = Postgres;

    // The range operator lets the `no_double_booking` GiST index find the window's rows
    // (plain comparisons on the two columns walk every row of the host). `coalesce`: a null
    // `$4` keeps every row, and Postgres reads `$4`'s type off the comparison.
    const BLOCKED_RANGES: &'static str = "select blocked_start, blocked_end \
         from scheduling_calendar_events \
         where host_id = $1 and status = 'confirmed' \
         and tstzrange(blocked_start, blocked_end, '[)') && tstzrange($2, $3, '[)') \
         and coalesce(chain_id <> $4, true) order by blocked_start";

    // Every statement outside a transaction block is a transaction by itself.
    const ONE_STATEMENT_WRITES: bool = true;

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn seal(&self) -> &TokenSeal {
        &self.seal
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    /// `serialization_failure` or `deadlock_detected`: Postgres rolled the transaction back,
    /// and running it again is the documented remedy.
    fn is_transient(e: &sqlx::Error) -> bool {
        matches!(code_of(e).as_deref(), Some("40001" | "40P01"))
    }

    /// The server cannot be reached or is going away (class 08 connection exceptions,
    /// `admin_shutdown`, `crash_shutdown`, `cannot_connect_now`), is out of disk, memory or
    /// connections (class 53), or kept failing transactions through every retry.
    fn is_unavailable(e: &sqlx::Error) -> bool {
        store_common::lost_connection(e)
            || Self::is_transient(e)
            || code_of(e).is_some_and(|code| {
                code.starts_with("08")
                    || code.starts_with("53")
                    || matches!(code.as_str(), "57P01" | "57P02" | "57P03")
            })
    }

    /// One statement, so one round trip ([`commit::commit`]): the hosts' locks, the rows and
    /// the outbox entries; the exclusion constraint refuses overlapping confirmed rows.
    async fn try_commit(
        &self,
        change: &Change,
        encoded: &[EncodedBooking],
    ) -> Result<Result<(), CommitError>, sqlx::Error> {
        let done = commit::commit(self, change, encoded).await?;
        if done.is_ok() && !change.effects.is_empty() {
            self.wake.raise();
        }
        Ok(done)
    }

    /// A taken slug and an unknown host are the named constraints' violations.
    async fn try_save_link(
        &self,
        link: &BookingLink,
    ) -> Result<Result<(), SaveLinkError>, sqlx::Error> {
        let enc = encode_link(link);
        let done = Self::bind_link(sqlx::query(UPSERT_LINK), &enc, Utc::now())
            .execute(&self.pool)
            .await;
        match done {
            Ok(_) => Ok(Ok(())),
            Err(e) => match constraint_of(&e) {
                Some("booking_links_slug_key") => Ok(Err(SaveLinkError::SlugTaken)),
                Some("booking_links_host_id_fkey") => Ok(Err(SaveLinkError::UnknownHost)),
                _ => Err(e),
            },
        }
    }

    /// A login used by another host is refused by the `host_accounts_login_key` constraint.
    async fn try_save_account(
        &self,
        account: &Account,
    ) -> Result<Result<(), SaveAccountError>, sqlx::Error> {
        let done = sqlx::query(
            "insert into host_accounts (host_id, login, password_hash, created_at, updated_at) \
             values ($1, $2, $3, $4, now()) on conflict (host_id) do update set login = $2, \
             password_hash = $3, updated_at = now()",
        )
        .bind(account.host().as_uuid())
        .bind(account.login().as_str())
        .bind(account.password().as_str())
        .bind(account.created_at())
        .execute(&self.pool)
        .await;
        match done {
            Ok(_) => Ok(Ok(())),
            Err(e) => match constraint_of(&e) {
                Some("host_accounts_login_key") => Ok(Err(SaveAccountError::LoginTaken)),
                Some("host_accounts_host_id_fkey") => Ok(Err(SaveAccountError::UnknownHost)),
                _ => Err(e),
            },
        }
    }

    /// Claims are leases taken with `for update skip locked`, so workers of several instances
    /// never wait on nor share an entry, and a crashed worker's entries come back once the
    /// lease ends.
    async fn try_claim_due(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, sqlx::Error> {
        sqlx::query_as::<_, OutboxRow>(concat!(
            "update outbox set leased_until = $2, updated_at = $1 where key in (",
            "select key from outbox where delivered_at is null and dead_at is null and due_at <= $1 ",
            "and (leased_until is null or leased_until <= $1) order by due_at, key limit $3 for update skip locked",
            ") returning ",
            outbox_columns!()
        ))
        .bind(now)
        .bind(until)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
    }
}

/// The first key of the advisory locks that serialise a host's booking commits ("SKBK" in
/// ASCII); the second is the host's. The two-key form keeps them apart from single-key
/// locks, such as the one sqlx takes while migrating.
///
/// A commit takes the transaction-scoped lock of every host whose bookings it writes, in one
/// order, before any row is written ([`commit`]). Two commits for one host then run one after
/// the other: the second finds the first's rows and gets `no_double_booking` at once, instead
/// of both inserting, waiting on each other inside the exclusion constraint's index and one
/// being killed by the deadlock detector after `deadlock_timeout`. The locks end with the
/// commit's transaction.
const BOOKING_LOCK_SPACE: i32 = 0x534B_424B;

/// A host's id folded to the lock's 32-bit second key. Two hosts sharing a key only wait for
/// each other now and then; they never deadlock, since keys are taken in order.
fn host_lock_key(host: HostId) -> i32 {
    let folded = host
        .as_uuid()
        .as_bytes()
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .fold(0, |acc, part| acc ^ part);
    i32::from_be_bytes(folded.to_be_bytes())
}

fn code_of(e: &sqlx::Error) -> Option<String> {
    e.as_database_error()
        .and_then(|db| db.code())
        .map(|c| c.into_owned())
}

fn constraint_of(e: &sqlx::Error) -> Option<&str> {
    e.as_database_error().and_then(|db| db.constraint())
}

/// `exclusion_violation` of `no_double_booking`: another confirmed row of the host overlaps.
fn is_double_booking(e: &sqlx::Error) -> bool {
    constraint_of(e) == Some("no_double_booking") || code_of(e).as_deref() == Some("23P01")
}
