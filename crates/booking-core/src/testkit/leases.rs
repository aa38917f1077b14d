//! The in-memory store's job leases.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::InMemoryStore;
use crate::leases::JobLeases;
use crate::ports::StoreError;

#[async_trait]
impl JobLeases for InMemoryStore {
    async fn try_lease(
        &self,
        job: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let free = state
            .leases
            .get(job)
            .is_none_or(|(who, end)| *end <= now || who == holder);
        if free {
            state
                .leases
                .insert(job.to_owned(), (holder.to_owned(), until));
        }
        Ok(free)
    }
}
