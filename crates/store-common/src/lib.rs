//! What the SQLite and Postgres stores share: sealing reschedule tokens at rest, the row
//! shapes both schemas have in common with their mapping to and from the domain, and the SQL
//! text and code of every query the two dialects write alike.
//!
//! sqlx's SQLite driver binds `$1`-style parameters like Postgres, and both stores bind the
//! same Rust types (a uuid becomes a BLOB or a `uuid`, a timestamp RFC 3339 TEXT or a
//! `timestamptz`: the drivers decide), so one statement serves both wherever the dialects
//! agree. The shared port implementations are written once, as macros each store expands for
//! its own type ([`sql_store_ports!`]); each expansion is plain code on one concrete pool, so
//! no generic bounds over `sqlx::Database` are needed. What truly differs stays in the store
//! crates, behind [`SqlStore`]: how a write transaction starts (SQLite takes the write lock up
//! front), which errors mean "run it again", how a commit keeps bookings from overlapping
//! (SQLite checks inside its write lock, Postgres has an exclusion constraint), how a taken
//! slug or login is told (a check under the lock, or a named constraint), and how workers claim
//! outbox entries (`for update skip locked` on Postgres).

mod booking_store;
mod connection_rows;
pub mod connections_port;
mod host_ports;
mod host_rows;
pub mod leases_port;
mod migrations;
mod outbox_port;
mod reach;
mod rows;
mod seal;
pub mod sessions_port;
pub mod text_opt_outs_port;
mod wake;
mod webhook_ports;

use std::future::Future;
use std::time::Duration;

pub use booking_store::{
    BOOKING_VALUES, INSERT_BOOKING, INSERT_BOOKING_INTO, INSERT_OUTBOX, UPDATE_BOOKING, UPSERT_LINK,
};
pub use connection_rows::ConnectionRow;
pub use host_rows::{AccountRow, DealRow, DeliveryRow, KeyRow, SubscriptionRow};
pub use migrations::{AppliedMigration, MigrationReport};
pub use reach::{Unreachable, first_connection};
pub use rows::{
    BookingRow, DeadRow, EncodedBooking, EncodedLink, HostRow, LinkRow, OutboxRow, PendingRow,
    effect_chain, encode_booking, encode_link,
};
pub use seal::{SealError, TokenSeal};
pub use wake::CommitSignal;

use booking_core::accounts::{Account, SaveAccountError};
use booking_core::link::BookingLink;
use booking_core::ports::{Change, CommitError, SaveLinkError, StoreError};
use chrono::{DateTime, Utc};

/// How often a whole transaction runs again after an error that means it did nothing
/// ([`SqlStore::is_transient`]).
pub const TRANSIENT_RETRIES: u32 = 20;

/// What a store implements itself: the parts where SQLite and Postgres truly differ. The
/// macros of this crate build every port on top of it.
pub trait SqlStore: Sync {
    /// The sqlx driver.
    type Db: sqlx::Database;

    /// The connection pool.
    fn pool(&self) -> &sqlx::Pool<Self::Db>;

    /// The seal of reschedule tokens at rest.
    fn seal(&self) -> &TokenSeal;

    /// The confirmed buffered ranges of host `$1` overlapping `[$2, $3)`, except chain `$4`
    /// (null: none), earliest first; written so that the store's index for the window is used,
    /// and a host's cost does not grow with its history.
    const BLOCKED_RANGES: &'static str;

    /// Whether a single write statement may run on the pool by itself: it is then a
    /// transaction of its own, atomic, holding its row locks to its end (Postgres), and needs
    /// no `begin` and `commit` round trips around it. `false` where a write must take its lock
    /// up front instead ([`SqlStore::begin_write`], SQLite).
    const ONE_STATEMENT_WRITES: bool;

    /// Starts a transaction that writes (SQLite: `BEGIN IMMEDIATE`, which takes the write lock
    /// up front, so what it reads stays true until it commits).
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>> + Send;

    /// Whether `e` says the transaction did nothing and may simply run again (SQLite busy,
    /// Postgres serialisation failure or deadlock).
    fn is_transient(e: &sqlx::Error) -> bool;

    /// Whether `e` says the database cannot serve right now but may in a moment: it cannot be
    /// reached ([`lost_connection`]), is out of space or resources, or stayed busy through
    /// every retry. Such failures become [`StoreError::unavailable`].
    fn is_unavailable(e: &sqlx::Error) -> bool;

    /// Writes a change's rows and its outbox entries in one transaction, refusing overlapping
    /// confirmed bookings and stale versions.
    fn try_commit(
        &self,
        change: &Change,
        encoded: &[EncodedBooking],
    ) -> impl Future<Output = Result<Result<(), CommitError>, sqlx::Error>> + Send;

    /// Creates or replaces a link, telling a taken slug and an unknown host apart.
    fn try_save_link(
        &self,
        link: &BookingLink,
    ) -> impl Future<Output = Result<Result<(), SaveLinkError>, sqlx::Error>> + Send;

    /// Creates or replaces an account, telling a taken login and an unknown host apart.
    fn try_save_account(
        &self,
        account: &Account,
    ) -> impl Future<Output = Result<Result<(), SaveAccountError>, sqlx::Error>> + Send;

    /// Leases up to `limit` due outbox entries until `until`, so that no other worker takes
    /// them meanwhile.
    fn try_claim_due(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<OutboxRow>, sqlx::Error>> + Send;
}

/// Runs `attempt` again (at most [`TRANSIENT_RETRIES`] times) while it fails only with an
/// error that [`SqlStore::is_transient`] calls harmless, waiting a little longer before each
/// run ([`backoff`]) so that writers that collided do not collide again at once.
///
/// # Errors
/// The last error of `attempt`.
pub async fn retry<S, T, F, Fut>(mut attempt: F) -> Result<T, sqlx::Error>
where
    S: SqlStore + ?Sized,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(e) if S::is_transient(&e) && tries < TRANSIENT_RETRIES => {
                tries += 1;
                tokio::time::sleep(backoff(tries)).await;
            }
            other => return other,
        }
    }
}

/// The wait before retry number `tries` (from 1): a random time below 2^(tries + 1) ms,
/// capped at 100 ms ("full jitter"), so colliding writers spread out.
pub fn backoff(tries: u32) -> Duration {
    let ceiling = (2u64 << tries.min(6)).min(100) * 1000;
    let mut random = [0u8; 8];
    // Without the OS's randomness the ceiling itself is still a backoff.
    let spread = match getrandom::fill(&mut random) {
        Ok(()) => u64::from_le_bytes(random) % ceiling,
        Err(_) => ceiling,
    };
    Duration::from_micros(spread.max(1))
}

/// Whether `e` is the driver's own "no usable connection": the pool timed out or is closed, the
/// socket or the SQLite worker failed. Each store adds its database's codes to this in
/// [`SqlStore::is_unavailable`].
pub fn lost_connection(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed
    )
}

/// Implements every port of `booking-core` a database store offers — `BookingStore`,
/// `Outbox`, `AccountStore`, `LinkDirectory`, `LoginAttempts`, `DealStore`,
/// `WebhookSubscriptions`, `CalendarConnections`, `JobLeases`, `HostSessions` and `TextOptOuts`
/// — for `$store`
/// (which implements [`SqlStore`] with `Db = $db`).
/// The expanding crate needs `async-trait`, `booking-core`, `chrono`, `sqlx` and `uuid` as
/// dependencies.
#[macro_export]
macro_rules! sql_store_ports {
    ($store:ty, $db:ty) => {
        $crate::booking_store!($store, $db);
        $crate::outbox_port!($store, $db);
        $crate::host_ports!($store, $db);
        $crate::webhook_ports!($store, $db);
        $crate::calendar_connections_port!($store, $db);
        $crate::job_leases_port!($store, $db);
        $crate::host_sessions_port!($store, $db);
        $crate::text_opt_outs_port!($store, $db);
    };
}

/// The outbox backlog at `$1`: due, scheduled, when the oldest due entry became due, dead.
/// Undelivered rows only (the due index's rows and the dead ones), so the cost follows the
/// backlog, not the history.
pub const OUTBOX_BACKLOG: &str = "select \
     coalesce(sum(case when dead_at is null and due_at <= $1 then 1 else 0 end), 0), \
     coalesce(sum(case when dead_at is null and due_at > $1 then 1 else 0 end), 0), \
     min(case when dead_at is null and due_at <= $1 then due_at end), \
     coalesce(sum(case when dead_at is not null then 1 else 0 end), 0) \
     from outbox where delivered_at is null";

/// The versions of the migrations the database has applied successfully (sqlx's own table).
pub const APPLIED_MIGRATIONS: &str =
    "select version from _sqlx_migrations where success order by version";

/// Implements `StoreHealth` for `$store`: its pool's connections, and against `$migrator`
/// (its `sqlx::migrate!`) the build's up-migrations whose version the database has not applied successfully. A database
/// without sqlx's table (never migrated) has every migration pending; one that cannot be
/// reached is an error ([`SqlStore::is_unavailable`] decides which kind).
#[macro_export]
macro_rules! store_health_port {
    ($store:ty, $migrator:expr) => {
        #[::async_trait::async_trait]
        impl ::booking_core::ports::StoreHealth for $store {
            fn connections(&self) -> Option<::booking_core::ports::ConnectionUse> {
                let pool = $crate::SqlStore::pool(self);
                Some(::booking_core::ports::ConnectionUse {
                    open: pool.size(),
                    idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                    max: pool.options().get_max_connections(),
                })
            }

            async fn pending_migrations(
                &self,
            ) -> Result<Vec<i64>, ::booking_core::ports::StoreError> {
                let applied = match ::sqlx::query_scalar::<_, i64>($crate::APPLIED_MIGRATIONS)
                    .fetch_all($crate::SqlStore::pool(self))
                    .await
                {
                    Ok(applied) => applied,
                    // No such table: nothing was ever applied.
                    Err(e)
                        if e.as_database_error().is_some()
                            && !<Self as $crate::SqlStore>::is_unavailable(&e) =>
                    {
                        Vec::new()
                    }
                    Err(e) => {
                        return Err($crate::db_error::<Self>("reading the applied migrations")(
                            e,
                        ));
                    }
                };
                let migrator: &::sqlx::migrate::Migrator = &$migrator;
                Ok(migrator
                    .iter()
                    .filter(|m| !m.migration_type.is_down_migration())
                    .map(|m| m.version)
                    .filter(|v| !applied.contains(v))
                    .collect())
            }
        }
    };
}

/// Wraps a database error of store `S` with what the store was doing, for [`StoreError`]'s
/// cause chain; an error [`SqlStore::is_unavailable`] calls passing becomes
/// [`StoreError::unavailable`].
pub fn db_error<S: SqlStore + ?Sized>(
    context: &'static str,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| {
        if S::is_unavailable(&e) {
            StoreError::unavailable(context, e)
        } else {
            StoreError::new(context, e)
        }
    }
}

/// The columns of `scheduling_calendar_events` that [`BookingRow`] reads, in one list so every
/// select of both stores reads the same shape.
#[macro_export]
macro_rules! booking_columns {
    () => {
        "id, chain_id, host_id, link_id, start_at, end_at, blocked_start, blocked_end, status, \
         status_changed_at, next_id, cancelled_by, cancel_reason, previous_id, rescheduled_by, \
         reschedule_reason, token_sealed, invitee_name, invitee_email, invitee_phone, \
         invitee_time_zone, answers, tracking, provider, provider_event_id, reconfirm_by, \
         reconfirmed_at, ics_sequence, version, created_at, reconfirm_requested_at"
    };
}

/// The columns of `booking_links` that [`LinkRow`] reads.
#[macro_export]
macro_rules! link_columns {
    () => {
        "id, host_id, slug, title, time_zone, weekly_hours, date_overrides, duration_minutes, \
         interval_minutes, buffer_before_minutes, buffer_after_minutes, minimum_notice_minutes, \
         max_days_ahead, reconfirm_ask_minutes, reconfirm_cancel_minutes, create_deal, questions, \
         description, location, workflow"
    };
}

/// The columns of `outbox` that [`OutboxRow`] reads.
#[macro_export]
macro_rules! outbox_columns {
    () => {
        "key, effect, booking_id, chain_id, attempts, due_at"
    };
}
