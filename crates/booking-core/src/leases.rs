//! Leases on periodic jobs, so that a job several instances run on one database (the daily
//! calendar renewal) is done by one of them at a time. A lease is a row, not an advisory lock:
//! it needs no held connection, works the same on SQLite and Postgres, and lapses by itself
//! when its holder dies.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ports::StoreError;

/// Where job leases are kept.
#[async_trait]
pub trait JobLeases: Send + Sync {
    /// Takes the lease on `job` for `holder` until `until`, if at `now` nobody else holds it
    /// (no lease yet, an expired one, or `holder`'s own, which is extended). Atomic: of
    /// concurrent callers at most one gets `true`.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn try_lease(
        &self,
        job: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

#[async_trait]
impl<T: JobLeases + ?Sized> JobLeases for std::sync::Arc<T> {
    async fn try_lease(
        &self,
        job: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        (**self).try_lease(job, holder, now, until).await
    }
}
