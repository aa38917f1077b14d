//! Slotkeeper's embedded default store: hosts, links, bookings and the outbox in one SQLite
//! file (`DATABASE_URL=sqlite://data/slotkeeper.db`, created on first run).
//!
//! SQLite has one writer at a time, and this store leans on that: every write runs in a
//! `BEGIN IMMEDIATE` transaction, which takes the write lock up front, so the overlap check for
//! double booking and the version checks see the latest committed data and nothing can slip in
//! between check and write. WAL mode lets readers run alongside the writer; a busy timeout makes
//! writers queue instead of failing, and a writer that still meets `SQLITE_BUSY` retries the
//! whole transaction, so "database is locked" never reaches a caller.

mod accounts;
mod deals;
mod outbox;
mod webhooks;

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use booking_core::booking::{Booking, Write};
use booking_core::ids::{BookingId, ChainId, HostId, LinkId};
use booking_core::link::{BookingLink, Host, Slug};
use booking_core::ports::{
    BookingStore, Change, CommitError, DashboardPage, DashboardTab, Page, SaveLinkError,
    StoreError, TabCounts,
};
use booking_core::time::TimeRange;
use booking_core::token::RescheduleToken;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, SqlitePool};
use store_common::{
    BookingRow, EncodedBooking, HostRow, LinkRow, TokenSeal, booking_columns, db_error,
    effect_chain, encode_booking, encode_link, link_columns,
};

/// How long a writer waits for the write lock inside SQLite before `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a whole transaction is retried after `SQLITE_BUSY`/`SQLITE_LOCKED`.
const BUSY_RETRIES: u32 = 20;

/// A [`BookingStore`] and [`Outbox`](booking_core::ports::Outbox) on SQLite. Clones share the pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    seal: TokenSeal,
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
            .map_err(|e| StoreError::new("invalid SQLite URL", e))?
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
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options)
            .await
            .map_err(db_error("opening the SQLite database"))?;
        sqlx::migrate!("../../migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::new("migrating the SQLite database", e))?;
        Ok(Self {
            pool,
            seal: TokenSeal::new(seal_key),
        })
    }

    /// The connection pool, for health checks and tools.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    fn bookings(&self, rows: Vec<BookingRow>) -> Result<Vec<Booking>, StoreError> {
        rows.into_iter()
            .map(|r| r.into_booking(&self.seal))
            .collect()
    }

    async fn try_commit(
        &self,
        change: &Change,
        encoded: &[EncodedBooking],
    ) -> Result<Result<(), CommitError>, sqlx::Error> {
        let now = Utc::now();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for (write, row) in change.writes.iter().zip(encoded) {
            match write {
                Write::Insert(_) => {
                    bind_booking(sqlx::query(INSERT_BOOKING), row, now)
                        .execute(&mut *tx)
                        .await?;
                }
                Write::Update {
                    booking,
                    expected_version,
                } => {
                    let expected = i64::try_from(*expected_version).unwrap_or(i64::MAX);
                    let done = bind_booking(sqlx::query(UPDATE_BOOKING), row, now)
                        .bind(expected)
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        // Dropping the transaction rolls it back.
                        return Ok(Err(CommitError::VersionConflict(booking.id())));
                    }
                }
            }
        }
        for write in &change.writes {
            let b = write.booking();
            if !matches!(b.status(), booking_core::Status::Confirmed) {
                continue;
            }
            let clash: bool = sqlx::query_scalar(
                "select exists (select 1 from scheduling_calendar_events \
                 where host_id = ?1 and status = 'confirmed' and id <> ?2 \
                 and blocked_start < ?4 and blocked_end > ?3)",
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
        for planned in &change.effects {
            let effect = &planned.effect;
            sqlx::query(
                "insert into outbox (key, effect, booking_id, chain_id, due_at, attempts, created_at, updated_at) \
                 values (?1, ?2, ?3, ?4, ?5, 0, ?6, ?6)",
            )
            .bind(effect.idempotency_key())
            .bind(effect.code())
            .bind(effect.booking().as_uuid())
            .bind(effect_chain(effect, change))
            .bind(planned.due_at)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    async fn try_save_link(
        &self,
        link: &BookingLink,
    ) -> Result<Result<(), SaveLinkError>, sqlx::Error> {
        let enc = encode_link(link);
        let r = &enc.record;
        let now = Utc::now();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let host_known: bool =
            sqlx::query_scalar("select exists (select 1 from hosts where id = ?1)")
                .bind(r.host_id)
                .fetch_one(&mut *tx)
                .await?;
        if !host_known {
            return Ok(Err(SaveLinkError::UnknownHost));
        }
        let slug_taken: bool = sqlx::query_scalar(
            "select exists (select 1 from booking_links where slug = ?1 and id <> ?2)",
        )
        .bind(&r.slug)
        .bind(r.id)
        .fetch_one(&mut *tx)
        .await?;
        if slug_taken {
            return Ok(Err(SaveLinkError::SlugTaken));
        }
        sqlx::query(
            "insert into booking_links (id, host_id, slug, title, time_zone, weekly_hours, date_overrides, \
             duration_minutes, interval_minutes, buffer_before_minutes, buffer_after_minutes, minimum_notice_minutes, \
             max_days_ahead, reconfirm_ask_minutes, reconfirm_cancel_minutes, create_deal, questions, created_at, updated_at, \
             description, location) \
             values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18, ?19, ?20) \
             on conflict (id) do update set host_id = ?2, slug = ?3, title = ?4, time_zone = ?5, weekly_hours = ?6, \
             date_overrides = ?7, duration_minutes = ?8, interval_minutes = ?9, buffer_before_minutes = ?10, \
             buffer_after_minutes = ?11, minimum_notice_minutes = ?12, max_days_ahead = ?13, \
             reconfirm_ask_minutes = ?14, reconfirm_cancel_minutes = ?15, create_deal = ?16, questions = ?17, \
             updated_at = ?18, description = ?19, location = ?20",
        )
        .bind(r.id)
        .bind(r.host_id)
        .bind(&r.slug)
        .bind(&r.title)
        .bind(&r.time_zone)
        .bind(&enc.weekly_hours)
        .bind(&enc.date_overrides)
        .bind(r.duration_minutes)
        .bind(r.interval_minutes)
        .bind(r.buffer_before_minutes)
        .bind(r.buffer_after_minutes)
        .bind(r.minimum_notice_minutes)
        .bind(r.max_days_ahead)
        .bind(r.reconfirm_ask_minutes)
        .bind(r.reconfirm_cancel_minutes)
        .bind(r.create_deal)
        .bind(&enc.questions)
        .bind(now)
        .bind(&r.description)
        .bind(&r.location)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }
}

/// Whether SQLite gave up waiting for a lock (`SQLITE_BUSY`, `SQLITE_LOCKED` and their
/// extended codes): the transaction did nothing and may simply run again.
fn is_busy(e: &sqlx::Error) -> bool {
    let Some(db) = e.as_database_error() else {
        return false;
    };
    db.code()
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|code| matches!(code & 0xff, 5 | 6))
}

/// Runs `attempt` again while it fails only because the database was busy.
pub(crate) async fn retry_busy<T, F, Fut>(mut attempt: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(e) if is_busy(&e) && tries < BUSY_RETRIES => tries += 1,
            other => return other,
        }
    }
}

const INSERT_BOOKING: &str = "insert into scheduling_calendar_events (id, chain_id, host_id, link_id, start_at, end_at, \
     blocked_start, blocked_end, status, status_changed_at, next_id, cancelled_by, cancel_reason, previous_id, \
     rescheduled_by, reschedule_reason, token_hash, token_sealed, invitee_name, invitee_email, invitee_phone, \
     invitee_time_zone, answers, tracking, provider, provider_event_id, reconfirm_by, reconfirmed_at, ics_sequence, \
     version, created_at, updated_at) \
     values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, \
     ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32)";

/// Every column but the row's identity, its token (fixed for the life of a row) and its
/// creation time; `?33` is the version the row must still have. `?17`, `?18` and `?31` are
/// mentioned only so that the statement has no gaps in its numbered parameters, which sqlx
/// would bind out of place.
const UPDATE_BOOKING: &str = "update scheduling_calendar_events set chain_id = ?2, host_id = ?3, link_id = ?4, \
     start_at = ?5, end_at = ?6, blocked_start = ?7, blocked_end = ?8, status = ?9, status_changed_at = ?10, \
     next_id = ?11, cancelled_by = ?12, cancel_reason = ?13, previous_id = ?14, rescheduled_by = ?15, \
     reschedule_reason = ?16, invitee_name = ?19, invitee_email = ?20, invitee_phone = ?21, \
     invitee_time_zone = ?22, answers = ?23, tracking = ?24, provider = ?25, provider_event_id = ?26, \
     reconfirm_by = ?27, reconfirmed_at = ?28, ics_sequence = ?29, version = ?30, updated_at = ?32 \
     where id = ?1 and version = ?33 and ?17 is not null and ?18 is not null and ?31 is not null";

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments>;

/// Binds `?1`..`?32` of [`INSERT_BOOKING`] / [`UPDATE_BOOKING`].
fn bind_booking<'q>(q: Query<'q>, row: &'q EncodedBooking, now: DateTime<Utc>) -> Query<'q> {
    let r = &row.record;
    q.bind(r.id)
        .bind(r.chain_id)
        .bind(r.host_id)
        .bind(r.link_id)
        .bind(r.start_at)
        .bind(r.end_at)
        .bind(r.blocked_start)
        .bind(r.blocked_end)
        .bind(&r.status)
        .bind(r.status_changed_at)
        .bind(r.next_id)
        .bind(&r.cancelled_by)
        .bind(&r.cancel_reason)
        .bind(r.previous_id)
        .bind(&r.rescheduled_by)
        .bind(&r.reschedule_reason)
        .bind(&row.token_hash)
        .bind(&row.token_sealed)
        .bind(&r.invitee_name)
        .bind(&r.invitee_email)
        .bind(&r.invitee_phone)
        .bind(&r.invitee_time_zone)
        .bind(&row.answers)
        .bind(&row.tracking)
        .bind(&r.provider)
        .bind(&r.provider_event_id)
        .bind(r.reconfirm_by)
        .bind(r.reconfirmed_at)
        .bind(r.ics_sequence)
        .bind(r.version)
        .bind(r.created_at)
        .bind(now)
}

#[async_trait]
impl BookingStore for SqliteStore {
    async fn save_host(&self, host: &Host) -> Result<(), StoreError> {
        let now = Utc::now();
        retry_busy(|| async {
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            sqlx::query(
                "insert into hosts (id, name, email, time_zone, created_at, updated_at) values (?1, ?2, ?3, ?4, ?5, ?5) \
                 on conflict (id) do update set name = ?2, email = ?3, time_zone = ?4, updated_at = ?5",
            )
            .bind(host.id().as_uuid())
            .bind(host.name().as_str())
            .bind(host.email().as_str())
            .bind(host.time_zone().name())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })
        .await
        .map_err(db_error("saving a host"))
    }

    async fn host(&self, id: HostId) -> Result<Option<Host>, StoreError> {
        sqlx::query_as::<_, HostRow>("select id, name, email, time_zone from hosts where id = ?1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error("loading a host"))?
            .map(HostRow::into_host)
            .transpose()
    }

    async fn save_link(&self, link: &BookingLink) -> Result<(), SaveLinkError> {
        retry_busy(|| self.try_save_link(link))
            .await
            .map_err(|e| SaveLinkError::Store(StoreError::new("saving a link", e)))?
    }

    async fn link_by_slug(&self, slug: &Slug) -> Result<Option<BookingLink>, StoreError> {
        sqlx::query_as::<_, LinkRow>(concat!(
            "select ",
            link_columns!(),
            " from booking_links where slug = ?1"
        ))
        .bind(slug.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error("loading a link by slug"))?
        .map(LinkRow::into_link)
        .transpose()
    }

    async fn link(&self, id: LinkId) -> Result<Option<BookingLink>, StoreError> {
        sqlx::query_as::<_, LinkRow>(concat!(
            "select ",
            link_columns!(),
            " from booking_links where id = ?1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error("loading a link"))?
        .map(LinkRow::into_link)
        .transpose()
    }

    async fn booking(&self, id: BookingId) -> Result<Option<Booking>, StoreError> {
        sqlx::query_as::<_, BookingRow>(concat!(
            "select ",
            booking_columns!(),
            " from scheduling_calendar_events where id = ?1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error("loading a booking"))?
        .map(|r| r.into_booking(&self.seal))
        .transpose()
    }

    async fn booking_by_token(
        &self,
        token: &RescheduleToken,
    ) -> Result<Option<Booking>, StoreError> {
        sqlx::query_as::<_, BookingRow>(concat!(
            "select ",
            booking_columns!(),
            " from scheduling_calendar_events where token_hash = ?1"
        ))
        .bind(token.lookup_hash().as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error("loading a booking by token"))?
        .map(|r| r.into_booking(&self.seal))
        .transpose()
    }

    async fn booking_by_provider_event(
        &self,
        provider: &str,
        event_id: &str,
    ) -> Result<Option<Booking>, StoreError> {
        sqlx::query_as::<_, BookingRow>(concat!(
            "select ",
            booking_columns!(),
            " from scheduling_calendar_events where chain_id = (select chain_id from scheduling_calendar_events \
             where provider = ?1 and provider_event_id = ?2 limit 1) and next_id is null \
             order by created_at desc, ics_sequence desc limit 1"
        ))
        .bind(provider)
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error("loading a booking by provider event"))?
        .map(|r| r.into_booking(&self.seal))
        .transpose()
    }

    async fn chain(&self, chain: ChainId) -> Result<Vec<Booking>, StoreError> {
        let rows = sqlx::query_as::<_, BookingRow>(concat!(
            "select ",
            booking_columns!(),
            " from scheduling_calendar_events where chain_id = ?1 order by created_at, ics_sequence"
        ))
        .bind(chain.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error("loading a chain"))?;
        self.bookings(rows)
    }

    async fn blocked_ranges(
        &self,
        host: HostId,
        within: TimeRange,
        except: Option<ChainId>,
    ) -> Result<Vec<TimeRange>, StoreError> {
        let rows: Vec<(DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
            "select blocked_start, blocked_end from scheduling_calendar_events \
             where host_id = ?1 and status = 'confirmed' and blocked_start < ?3 and blocked_end > ?2 \
             and (?4 is null or chain_id <> ?4) order by blocked_start",
        )
        .bind(host.as_uuid())
        .bind(within.start())
        .bind(within.end())
        .bind(except.map(|c| c.as_uuid()))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error("loading blocked ranges"))?;
        rows.into_iter()
            .map(|(s, e)| {
                TimeRange::new(s, e).map_err(|e| StoreError::new("corrupt blocked range", e))
            })
            .collect()
    }

    async fn dashboard(
        &self,
        host: HostId,
        tab: DashboardTab,
        now: DateTime<Utc>,
        page: Page,
    ) -> Result<DashboardPage, StoreError> {
        let (upcoming, past, no_shows, cancelled): (i64, i64, i64, i64) = sqlx::query_as(
            "select count(case when status = 'confirmed' and start_at > ?2 then 1 end), \
             count(case when status = 'confirmed' and start_at <= ?2 then 1 end), \
             count(case when status = 'no_show' then 1 end), \
             count(case when status = 'cancelled' then 1 end) \
             from scheduling_calendar_events where host_id = ?1",
        )
        .bind(host.as_uuid())
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error("counting dashboard tabs"))?;
        let sql = match tab {
            DashboardTab::Upcoming => concat!(
                "select ",
                booking_columns!(),
                " from scheduling_calendar_events where host_id = ?1 and status = 'confirmed' and start_at > ?2 \
                 order by start_at, id limit ?3 offset ?4"
            ),
            DashboardTab::Past => concat!(
                "select ",
                booking_columns!(),
                " from scheduling_calendar_events where host_id = ?1 and status = 'confirmed' and start_at <= ?2 \
                 order by start_at desc, id limit ?3 offset ?4"
            ),
            DashboardTab::NoShows => concat!(
                "select ",
                booking_columns!(),
                " from scheduling_calendar_events where host_id = ?1 and status = 'no_show' and ?2 is not null \
                 order by start_at desc, id limit ?3 offset ?4"
            ),
            DashboardTab::Cancelled => concat!(
                "select ",
                booking_columns!(),
                " from scheduling_calendar_events where host_id = ?1 and status = 'cancelled' and ?2 is not null \
                 order by status_changed_at desc, id limit ?3 offset ?4"
            ),
        };
        let rows = sqlx::query_as::<_, BookingRow>(sql)
            .bind(host.as_uuid())
            .bind(now)
            .bind(i64::from(page.limit))
            .bind(i64::from(page.offset))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error("loading a dashboard page"))?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(DashboardPage {
            rows: self.bookings(rows)?,
            counts: TabCounts {
                upcoming: count(upcoming),
                past: count(past),
                no_shows: count(no_shows),
                cancelled: count(cancelled),
            },
        })
    }

    async fn reconfirmation_overdue(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Booking>, StoreError> {
        let rows = sqlx::query_as::<_, BookingRow>(concat!(
            "select ",
            booking_columns!(),
            " from scheduling_calendar_events where status = 'confirmed' and reconfirmed_at is null \
             and reconfirm_by is not null and reconfirm_by <= ?1 and start_at > ?1 \
             order by reconfirm_by, id limit ?2"
        ))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error("loading overdue reconfirmations"))?;
        self.bookings(rows)
    }

    async fn commit(&self, change: Change) -> Result<(), CommitError> {
        let encoded = change
            .writes
            .iter()
            .map(|w| encode_booking(&self.seal, w.booking()))
            .collect::<Result<Vec<_>, _>>()?;
        retry_busy(|| self.try_commit(&change, &encoded))
            .await
            .map_err(|e| CommitError::Store(StoreError::new("committing a change", e)))?
    }
}
