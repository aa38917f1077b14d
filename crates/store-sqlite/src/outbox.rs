//! The outbox's delivery side on SQLite: claims are leases (`leased_until`) taken inside a
//! write transaction, so two workers never hold the same entry, and a crashed worker's
//! entries come back once the lease ends.

use async_trait::async_trait;
use booking_core::effects::RetryPolicy;
use booking_core::ports::{DeadEntry, FailureOutcome, Outbox, OutboxEntry, StoreError};
use chrono::{DateTime, TimeDelta, Utc};
use store_common::{DeadRow, OutboxRow, db_error, outbox_columns};

use crate::{SqliteStore, retry_busy};

#[async_trait]
impl Outbox for SqliteStore {
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let until = now + lease;
        let mut rows = retry_busy(|| async {
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            let rows = sqlx::query_as::<_, OutboxRow>(concat!(
                "update outbox set leased_until = ?2, updated_at = ?1 where key in (",
                "select key from outbox where delivered_at is null and dead_at is null and due_at <= ?1 ",
                "and (leased_until is null or leased_until <= ?1) order by due_at, key limit ?3",
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
        })
        .await
        .map_err(db_error("claiming outbox entries"))?;
        // `returning` gives no order; hand entries out oldest due first.
        rows.sort_by(|a, b| (a.due_at, &a.key).cmp(&(b.due_at, &b.key)));
        rows.into_iter().map(OutboxRow::into_entry).collect()
    }

    async fn mark_delivered(&self, key: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        retry_busy(|| async {
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            sqlx::query("update outbox set delivered_at = ?2, leased_until = null, updated_at = ?2 where key = ?1")
                .bind(key)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })
        .await
        .map_err(db_error("marking an outbox entry delivered"))
    }

    async fn mark_failed(
        &self,
        key: &str,
        now: DateTime<Utc>,
        error: &str,
        policy: &RetryPolicy,
        jitter: f64,
    ) -> Result<FailureOutcome, StoreError> {
        retry_busy(|| async {
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            let Some(attempts) = sqlx::query_scalar::<_, i64>("select attempts from outbox where key = ?1")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?
            else {
                return Ok(None);
            };
            let attempts = u32::try_from(attempts).unwrap_or(u32::MAX - 1) + 1;
            let outcome = match policy.delay_after(attempts, jitter) {
                Some(delay) => {
                    let due = now + delay;
                    sqlx::query(
                        "update outbox set attempts = ?2, due_at = ?3, leased_until = null, last_error = ?4, \
                         updated_at = ?5 where key = ?1",
                    )
                    .bind(key)
                    .bind(i64::from(attempts))
                    .bind(due)
                    .bind(error)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    FailureOutcome::RetryAt(due)
                }
                None => {
                    sqlx::query(
                        "update outbox set attempts = ?2, dead_at = ?3, leased_until = null, last_error = ?4, \
                         updated_at = ?3 where key = ?1",
                    )
                    .bind(key)
                    .bind(i64::from(attempts))
                    .bind(now)
                    .bind(error)
                    .execute(&mut *tx)
                    .await?;
                    FailureOutcome::Dead
                }
            };
            tx.commit().await?;
            Ok(Some(outcome))
        })
        .await
        .map_err(db_error("recording a failed delivery"))?
        .ok_or_else(|| StoreError::msg(format!("no outbox entry {key}")))
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        retry_busy(|| async {
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            sqlx::query("update outbox set leased_until = null where key = ?1")
                .bind(key)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })
        .await
        .map_err(db_error("releasing an outbox lease"))
    }

    async fn dead_entries(&self, limit: u32) -> Result<Vec<DeadEntry>, StoreError> {
        sqlx::query_as::<_, DeadRow>(concat!(
            "select ",
            outbox_columns!(),
            ", last_error, dead_at from outbox where dead_at is not null order by dead_at desc, key limit ?1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error("loading dead outbox entries"))?
        .into_iter()
        .map(DeadRow::into_dead)
        .collect()
    }
}
