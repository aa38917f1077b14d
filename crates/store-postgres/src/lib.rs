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

mod accounts;
mod deals;
mod outbox;
mod webhooks;

use std::future::Future;
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
use sqlx::postgres::{PgArguments, PgPoolOptions};
use sqlx::{PgPool, Postgres};
use store_common::{
    BookingRow, EncodedBooking, HostRow, LinkRow, TokenSeal, booking_columns, db_error,
    effect_chain, encode_booking, encode_link, link_columns,
};

/// How often a whole transaction is retried after a serialisation failure or a deadlock.
const RACE_RETRIES: u32 = 20;

/// A [`BookingStore`] and [`Outbox`](booking_core::ports::Outbox) on Postgres. Clones share
/// the pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    seal: TokenSeal,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`) and applies the migrations. `seal_key` is the
    /// application's 32-byte secret; tokens are sealed with a key derived from it.
    ///
    /// # Errors
    /// [`StoreError`] when the database cannot be reached or a migration fails.
    pub async fn connect(url: &str, seal_key: [u8; 32]) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(60))
            .connect(url)
            .await
            .map_err(db_error("connecting to Postgres"))?;
        Self::from_pool(pool, seal_key).await
    }

    /// Uses an existing pool (shared with other parts of the binary) and applies the
    /// migrations; they run under sqlx's advisory lock, so instances starting together are safe.
    ///
    /// # Errors
    /// [`StoreError`] when a migration fails.
    pub async fn from_pool(pool: PgPool, seal_key: [u8; 32]) -> Result<Self, StoreError> {
        sqlx::migrate!("../../migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::new("migrating the Postgres database", e))?;
        Ok(Self {
            pool,
            seal: TokenSeal::new(seal_key),
        })
    }

    /// The connection pool, for health checks and tools.
    pub fn pool(&self) -> &PgPool {
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
        let mut tx = self.pool.begin().await?;
        for (write, row) in change.writes.iter().zip(encoded) {
            // A failed statement aborts the transaction; dropping it rolls back.
            let done = match write {
                Write::Insert(_) => {
                    bind_booking(sqlx::query(INSERT_BOOKING), row, now)
                        .execute(&mut *tx)
                        .await
                }
                Write::Update {
                    expected_version, ..
                } => {
                    let expected = i64::try_from(*expected_version).unwrap_or(i64::MAX);
                    bind_booking(sqlx::query(UPDATE_BOOKING), row, now)
                        .bind(expected)
                        .execute(&mut *tx)
                        .await
                }
            };
            match done {
                Ok(done) if done.rows_affected() == 0 => {
                    return Ok(Err(CommitError::VersionConflict(write.booking().id())));
                }
                Ok(_) => {}
                Err(e) if is_double_booking(&e) => return Ok(Err(CommitError::SlotTaken)),
                Err(e) => return Err(e),
            }
        }
        for planned in &change.effects {
            let effect = &planned.effect;
            sqlx::query(
                "insert into outbox (key, effect, booking_id, chain_id, due_at, attempts, created_at, updated_at) \
                 values ($1, $2, $3, $4, $5, 0, $6, $6)",
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
        match tx.commit().await {
            Err(e) if is_double_booking(&e) => Ok(Err(CommitError::SlotTaken)),
            other => other.map(Ok),
        }
    }

    async fn try_save_link(
        &self,
        link: &BookingLink,
    ) -> Result<Result<(), SaveLinkError>, sqlx::Error> {
        let enc = encode_link(link);
        let r = &enc.record;
        let now = Utc::now();
        let done = sqlx::query(
            "insert into booking_links (id, host_id, slug, title, time_zone, weekly_hours, date_overrides, \
             duration_minutes, interval_minutes, buffer_before_minutes, buffer_after_minutes, minimum_notice_minutes, \
             max_days_ahead, reconfirm_ask_minutes, reconfirm_cancel_minutes, create_deal, questions, created_at, updated_at, \
             description, location) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, $19, $20) \
             on conflict (id) do update set host_id = $2, slug = $3, title = $4, time_zone = $5, weekly_hours = $6, \
             date_overrides = $7, duration_minutes = $8, interval_minutes = $9, buffer_before_minutes = $10, \
             buffer_after_minutes = $11, minimum_notice_minutes = $12, max_days_ahead = $13, \
             reconfirm_ask_minutes = $14, reconfirm_cancel_minutes = $15, create_deal = $16, questions = $17, \
             updated_at = $18, description = $19, location = $20",
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

/// `serialization_failure` or `deadlock_detected`: Postgres rolled the transaction back, and
/// running it again is the documented remedy.
fn is_race(e: &sqlx::Error) -> bool {
    matches!(code_of(e).as_deref(), Some("40001" | "40P01"))
}

/// Runs `attempt` again while it fails only because of a serialisation failure or deadlock.
pub(crate) async fn retry_races<T, F, Fut>(mut attempt: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(e) if is_race(&e) && tries < RACE_RETRIES => tries += 1,
            other => return other,
        }
    }
}

const INSERT_BOOKING: &str = "insert into scheduling_calendar_events (id, chain_id, host_id, link_id, start_at, end_at, \
     blocked_start, blocked_end, status, status_changed_at, next_id, cancelled_by, cancel_reason, previous_id, \
     rescheduled_by, reschedule_reason, token_hash, token_sealed, invitee_name, invitee_email, invitee_phone, \
     invitee_time_zone, answers, tracking, provider, provider_event_id, reconfirm_by, reconfirmed_at, ics_sequence, \
     version, created_at, updated_at) \
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
     $23, $24, $25, $26, $27, $28, $29, $30, $31, $32)";

/// Every column but the row's identity, its token (fixed for the life of a row) and its
/// creation time; `$33` is the version the row must still have. (`$17`, `$18` and `$31` are
/// bound but unused; their types travel with the binding.)
const UPDATE_BOOKING: &str = "update scheduling_calendar_events set chain_id = $2, host_id = $3, link_id = $4, \
     start_at = $5, end_at = $6, blocked_start = $7, blocked_end = $8, status = $9, status_changed_at = $10, \
     next_id = $11, cancelled_by = $12, cancel_reason = $13, previous_id = $14, rescheduled_by = $15, \
     reschedule_reason = $16, invitee_name = $19, invitee_email = $20, invitee_phone = $21, \
     invitee_time_zone = $22, answers = $23, tracking = $24, provider = $25, provider_event_id = $26, \
     reconfirm_by = $27, reconfirmed_at = $28, ics_sequence = $29, version = $30, updated_at = $32 \
     where id = $1 and version = $33";

type Query<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// Binds `$1`..`$32` of [`INSERT_BOOKING`] / [`UPDATE_BOOKING`].
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
impl BookingStore for PostgresStore {
    async fn save_host(&self, host: &Host) -> Result<(), StoreError> {
        let now = Utc::now();
        retry_races(|| async {
            sqlx::query(
                "insert into hosts (id, name, email, time_zone, created_at, updated_at) values ($1, $2, $3, $4, $5, $5) \
                 on conflict (id) do update set name = $2, email = $3, time_zone = $4, updated_at = $5",
            )
            .bind(host.id().as_uuid())
            .bind(host.name().as_str())
            .bind(host.email().as_str())
            .bind(host.time_zone().name())
            .bind(now)
            .execute(&self.pool)
            .await
            .map(|_| ())
        })
        .await
        .map_err(db_error("saving a host"))
    }

    async fn host(&self, id: HostId) -> Result<Option<Host>, StoreError> {
        sqlx::query_as::<_, HostRow>("select id, name, email, time_zone from hosts where id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error("loading a host"))?
            .map(HostRow::into_host)
            .transpose()
    }

    async fn save_link(&self, link: &BookingLink) -> Result<(), SaveLinkError> {
        retry_races(|| self.try_save_link(link))
            .await
            .map_err(|e| SaveLinkError::Store(StoreError::new("saving a link", e)))?
    }

    async fn link_by_slug(&self, slug: &Slug) -> Result<Option<BookingLink>, StoreError> {
        sqlx::query_as::<_, LinkRow>(concat!(
            "select ",
            link_columns!(),
            " from booking_links where slug = $1"
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
            " from booking_links where id = $1"
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
            " from scheduling_calendar_events where id = $1"
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
            " from scheduling_calendar_events where token_hash = $1"
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
             where provider = $1 and provider_event_id = $2 limit 1) and next_id is null \
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
            " from scheduling_calendar_events where chain_id = $1 order by created_at, ics_sequence"
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
             where host_id = $1 and status = 'confirmed' and blocked_start < $3 and blocked_end > $2 \
             and ($4::uuid is null or chain_id <> $4) order by blocked_start",
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
            "select count(case when status = 'confirmed' and start_at > $2 then 1 end), \
             count(case when status = 'confirmed' and start_at <= $2 then 1 end), \
             count(case when status = 'no_show' then 1 end), \
             count(case when status = 'cancelled' then 1 end) \
             from scheduling_calendar_events where host_id = $1",
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
                " from scheduling_calendar_events where host_id = $1 and status = 'confirmed' and start_at > $2 \
                 order by start_at, id limit $3 offset $4"
            ),
            DashboardTab::Past => concat!(
                "select ",
                booking_columns!(),
                " from scheduling_calendar_events where host_id = $1 and status = 'confirmed' and start_at <= $2 \
                 order by start_at desc, id limit $3 offset $4"
            ),
            DashboardTab::NoShows => concat!(
                "select ",
                booking_columns!(),
                " from scheduling_calendar_events where host_id = $1 and status = 'no_show' and $2::timestamptz is not null \
                 order by start_at desc, id limit $3 offset $4"
            ),
            DashboardTab::Cancelled => concat!(
                "select ",
                booking_columns!(),
                " from scheduling_calendar_events where host_id = $1 and status = 'cancelled' and $2::timestamptz is not null \
                 order by status_changed_at desc, id limit $3 offset $4"
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
             and reconfirm_by is not null and reconfirm_by <= $1 and start_at > $1 \
             order by reconfirm_by, id limit $2"
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
        retry_races(|| self.try_commit(&change, &encoded))
            .await
            .map_err(|e| CommitError::Store(StoreError::new("committing a change", e)))?
    }
}
