//! `Outbox` for both stores. Claiming is the store's own ([`crate::SqlStore::try_claim_due`]):
//! Postgres skips rows other workers have locked, SQLite has one writer anyway.

/// Implements `Outbox` for `$store`.
#[macro_export]
macro_rules! outbox_port {
    ($store:ty, $db:ty) => {
        #[::async_trait::async_trait]
        impl ::booking_core::ports::Outbox for $store {
            async fn claim_due(
                &self,
                now: ::chrono::DateTime<::chrono::Utc>,
                lease: ::chrono::TimeDelta,
                limit: u32,
            ) -> Result<Vec<::booking_core::ports::OutboxEntry>, ::booking_core::ports::StoreError>
            {
                let until = now + lease;
                let mut rows = $crate::retry::<Self, _, _, _>(|| {
                    $crate::SqlStore::try_claim_due(self, now, until, limit)
                })
                .await
                .map_err($crate::db_error::<Self>("claiming outbox entries"))?;
                // `returning` gives no order; hand entries out oldest due first.
                rows.sort_by(|a, b| (a.due_at, &a.key).cmp(&(b.due_at, &b.key)));
                rows.into_iter().map($crate::OutboxRow::into_entry).collect()
            }

            async fn mark_delivered(
                &self,
                key: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<(), ::booking_core::ports::StoreError> {
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    ::sqlx::query(
                        "update outbox set delivered_at = $2, leased_until = null, updated_at = $2 where key = $1",
                    )
                    .bind(key)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await
                })
                .await
                .map_err($crate::db_error::<Self>("marking an outbox entry delivered"))
            }

            async fn mark_all_delivered(
                &self,
                keys: &[String],
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<(), ::booking_core::ports::StoreError> {
                if keys.is_empty() {
                    return Ok(());
                }
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    let mut update = ::sqlx::QueryBuilder::<$db>::new(
                        "update outbox set leased_until = null, delivered_at = ",
                    );
                    update.push_bind(now).push(", updated_at = ").push_bind(now);
                    update.push(" where key in (");
                    let mut listed = update.separated(", ");
                    for key in keys {
                        listed.push_bind(key.as_str());
                    }
                    update.push(")");
                    update.build().execute(&mut *tx).await?;
                    tx.commit().await
                })
                .await
                .map_err($crate::db_error::<Self>("marking outbox entries delivered"))
            }

            async fn mark_failed(
                &self,
                key: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
                error: &str,
                policy: &::booking_core::effects::RetryPolicy,
                jitter: f64,
            ) -> Result<::booking_core::ports::FailureOutcome, ::booking_core::ports::StoreError> {
                use ::booking_core::ports::FailureOutcome;
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    // Counting the attempt first also locks the row (Postgres) until commit.
                    let Some(attempts) = ::sqlx::query_scalar::<_, i64>(
                        "update outbox set attempts = attempts + 1, leased_until = null, last_error = $2, \
                         updated_at = $3 where key = $1 returning attempts",
                    )
                    .bind(key)
                    .bind(error)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?
                    else {
                        return Ok(None);
                    };
                    let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
                    let outcome = match policy.delay_after(attempts, jitter) {
                        Some(delay) => FailureOutcome::RetryAt(now + delay),
                        None => FailureOutcome::Dead,
                    };
                    let (sql, at) = match outcome {
                        FailureOutcome::RetryAt(due) => {
                            ("update outbox set due_at = $2 where key = $1", due)
                        }
                        FailureOutcome::Dead => ("update outbox set dead_at = $2 where key = $1", now),
                    };
                    ::sqlx::query(sql).bind(key).bind(at).execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(Some(outcome))
                })
                .await
                .map_err($crate::db_error::<Self>("recording a failed delivery"))?
                .ok_or_else(|| {
                    ::booking_core::ports::StoreError::msg(format!("no outbox entry {key}"))
                })
            }

            async fn release(&self, key: &str) -> Result<(), ::booking_core::ports::StoreError> {
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    ::sqlx::query("update outbox set leased_until = null where key = $1")
                        .bind(key)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await
                })
                .await
                .map_err($crate::db_error::<Self>("releasing an outbox lease"))
            }

            async fn dead_entries(
                &self,
                limit: u32,
            ) -> Result<Vec<::booking_core::ports::DeadEntry>, ::booking_core::ports::StoreError> {
                ::sqlx::query_as::<_, $crate::DeadRow>(concat!(
                    "select ",
                    $crate::outbox_columns!(),
                    ", last_error, dead_at from outbox where dead_at is not null order by dead_at desc, key limit $1"
                ))
                .bind(i64::from(limit))
                .fetch_all($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("loading dead outbox entries"))?
                .into_iter()
                .map($crate::DeadRow::into_dead)
                .collect()
            }

            async fn dead_entries_of_host(
                &self,
                host: ::booking_core::HostId,
                limit: u32,
            ) -> Result<Vec<::booking_core::ports::DeadEntry>, ::booking_core::ports::StoreError> {
                ::sqlx::query_as::<_, $crate::DeadRow>(concat!(
                    "select ",
                    $crate::outbox_columns!(),
                    ", last_error, dead_at from outbox where dead_at is not null and booking_id in \
                     (select id from scheduling_calendar_events where host_id = $1) \
                     order by dead_at desc, key limit $2"
                ))
                .bind(host.as_uuid())
                .bind(i64::from(limit))
                .fetch_all($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("loading a host's dead outbox entries"))?
                .into_iter()
                .map($crate::DeadRow::into_dead)
                .collect()
            }

            async fn retry_dead(
                &self,
                host: ::booking_core::HostId,
                key: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<bool, ::booking_core::ports::StoreError> {
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    let done = ::sqlx::query(
                        "update outbox set dead_at = null, attempts = 0, leased_until = null, due_at = $3, \
                         updated_at = $3 where key = $2 and dead_at is not null and delivered_at is null \
                         and booking_id in (select id from scheduling_calendar_events where host_id = $1)",
                    )
                    .bind(host.as_uuid())
                    .bind(key)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    tx.commit().await?;
                    Ok(done > 0)
                })
                .await
                .map_err($crate::db_error::<Self>("putting a dead outbox entry back in the queue"))
            }

            async fn backlog(
                &self,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<::booking_core::ports::OutboxBacklog, ::booking_core::ports::StoreError> {
                let (due, scheduled, oldest_due_at, dead) = ::sqlx::query_as::<
                    _,
                    (i64, i64, Option<::chrono::DateTime<::chrono::Utc>>, i64),
                >($crate::OUTBOX_BACKLOG)
                .bind(now)
                .fetch_one($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("measuring the outbox backlog"))?;
                let count = |n: i64| u64::try_from(n).unwrap_or(0);
                Ok(::booking_core::ports::OutboxBacklog {
                    due: count(due),
                    scheduled: count(scheduled),
                    oldest_due_at,
                    dead: count(dead),
                })
            }
        }
    };
}
