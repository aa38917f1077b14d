//! `JobLeases` for both stores: one conditional upsert, expanded per store by
//! [`job_leases_port!`](crate::job_leases_port).

/// Takes or extends a lease (`$1` job, `$2` holder, `$3` until, `$4` now): the row is written
/// only when it is new, expired or the holder's own, and a returned row means the lease is held.
pub const TAKE_LEASE: &str = "insert into job_leases (job, holder, until, created_at, updated_at) \
     values ($1, $2, $3, $4, $4) \
     on conflict (job) do update set holder = excluded.holder, until = excluded.until, \
     updated_at = excluded.updated_at \
     where job_leases.until <= $4 or job_leases.holder = $2 \
     returning holder";

/// Implements `JobLeases` for `$store` (which implements [`crate::SqlStore`] with `Db = $db`).
#[macro_export]
macro_rules! job_leases_port {
    ($store:ty, $db:ty) => {
        #[::async_trait::async_trait]
        impl ::booking_core::leases::JobLeases for $store {
            async fn try_lease(
                &self,
                job: &str,
                holder: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
                until: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<bool, ::booking_core::ports::StoreError> {
                let held: Option<String> = ::sqlx::query_scalar($crate::leases_port::TAKE_LEASE)
                    .bind(job)
                    .bind(holder)
                    .bind(until)
                    .bind(now)
                    .fetch_optional($crate::SqlStore::pool(self))
                    .await
                    .map_err($crate::db_error::<Self>("taking a job lease"))?;
                Ok(held.is_some())
            }
        }
    };
}
