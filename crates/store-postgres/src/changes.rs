//! Change notifications between instances sharing the database, for booking-core's read
//! cache: a commit or a saved link is announced with `NOTIFY slotkeeper_busy, '<change>'`
//! (a commit by its own statement, whether or not it went through the cache), and every
//! instance's listener drops what the change made stale.

use async_trait::async_trait;
use booking_core::ports::StoreError;
use booking_core::read_cache::{CacheChange, ChangeFeed, ReadCache};
use sqlx::postgres::PgListener;
use store_common::db_error;

use crate::PostgresStore;

/// The channel the read cache's changes travel on (the outbox wake-up has its own).
pub const CHANGE_CHANNEL: &str = "slotkeeper_busy";

#[async_trait]
impl ChangeFeed for PostgresStore {
    async fn announce(&self, change: CacheChange) -> Result<(), StoreError> {
        sqlx::query("select pg_notify($1, $2)")
            .bind(CHANGE_CHANNEL)
            .bind(change.payload())
            .execute(self.pool())
            .await
            .map_err(db_error::<Self>("announcing a change"))?;
        Ok(())
    }

    /// Every commit notifies its hosts' changed bookings in its own statement (`commit.rs`).
    fn commits_announce_bookings(&self) -> bool {
        true
    }
}

impl PostgresStore {
    /// Listens on [`CHANGE_CHANNEL`] and applies every change announced (by any instance,
    /// this one included) to `cache`, until the listener fails; the caller waits a moment and
    /// calls again. Whenever the connection was lost, and so notifications may have been
    /// missed, the whole cache is dropped.
    ///
    /// # Errors
    /// Returns (never `Ok`) the error that stopped it: the database could not be reached.
    pub async fn follow_changes(&self, cache: &ReadCache) -> StoreError {
        let mut listener = match PgListener::connect_with(self.pool()).await {
            Ok(listener) => listener,
            Err(e) => return db_error::<Self>("listening for changes")(e),
        };
        if let Err(e) = listener.listen(CHANGE_CHANNEL).await {
            return db_error::<Self>("listening for changes")(e);
        }
        // Anything cached before the listener was in place may have missed a change.
        cache.forget_all();
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    if let Some(change) = CacheChange::parse(notification.payload()) {
                        cache.apply(change);
                    }
                }
                Ok(None) => cache.forget_all(),
                Err(e) => {
                    cache.forget_all();
                    return db_error::<Self>("listening for changes")(e);
                }
            }
        }
    }
}
