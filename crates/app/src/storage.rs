//! Opens the store named by `DATABASE_URL`: SQLite (the embedded default) or Postgres.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use booking_core::accounts::{AccountStore, LinkDirectory, LoginAttempts};
use booking_core::calendar_sync::CalendarStore;
use booking_core::connections::CalendarConnections;
use booking_core::deals::DealStore;
use booking_core::leases::JobLeases;
use booking_core::ports::{BookingStore, Outbox, OutboxWake, StoreError, StoreHealth, TextOptOuts};
use booking_core::read_cache::{CachedStore, ChangeFeed, ReadCache};
use booking_core::sessions::HostSessions;
use booking_core::subscriptions::WebhookSubscriptions;
pub use store_sqlite::MigrationReport;

/// One database, seen through both of its ports.
#[derive(Clone)]
pub struct Storage {
    /// Bookings, links, hosts.
    pub bookings: Arc<dyn BookingStore>,
    /// The effects waiting for delivery.
    pub outbox: Arc<dyn Outbox>,
    /// Webhook subscriptions and their delivery log.
    pub subscriptions: Arc<dyn WebhookSubscriptions>,
    /// Host logins and API keys.
    pub accounts: Arc<dyn AccountStore>,
    /// CRM deals.
    pub deals: Arc<dyn DealStore>,
    /// Each host's list of links.
    pub links: Arc<dyn LinkDirectory>,
    /// Counted login attempts, shared by every instance on the database.
    pub attempts: Arc<dyn LoginAttempts>,
    /// Host sessions, shared by every instance on the database.
    pub sessions: Arc<dyn HostSessions>,
    /// Bookings together with calendar connections, for the calendar integrations.
    pub calendars: Arc<dyn CalendarStore>,
    /// Leases on periodic jobs (once per deployment).
    pub leases: Arc<dyn JobLeases>,
    /// Numbers that replied STOP to a text.
    pub opt_outs: Arc<dyn TextOptOuts>,
    /// Schema completeness and connection pool, for `/readyz` and `/metrics`.
    pub health: Arc<dyn StoreHealth>,
    /// Wakes the outbox workers on commits (in process on SQLite, `LISTEN/NOTIFY` on
    /// Postgres); without it they poll every second.
    pub wake: Option<Arc<dyn OutboxWake>>,
    /// The read cache in front of `bookings`, whose changes also retire web's kept answers.
    pub read_cache: Arc<ReadCache>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Storage")
    }
}

fn both<S>(store: S, feed: Option<Arc<dyn ChangeFeed>>) -> (Storage, Arc<ReadCache>)
where
    S: BookingStore
        + Outbox
        + WebhookSubscriptions
        + AccountStore
        + DealStore
        + LinkDirectory
        + LoginAttempts
        + CalendarConnections
        + JobLeases
        + HostSessions
        + TextOptOuts
        + StoreHealth
        + 'static,
{
    let store = Arc::new(store);
    let cache = Arc::new(ReadCache::new());
    // Links, hosts and busy ranges are read from memory until a change drops them (see
    // booking-core's `read_cache`); every scheduler reads and commits through this one.
    let cached = CachedStore::new(
        store.clone() as Arc<dyn BookingStore>,
        crate::adapters::SystemClock,
        cache.clone(),
        feed,
    );
    let storage = Storage {
        accounts: store.clone(),
        deals: store.clone(),
        links: store.clone(),
        attempts: store.clone(),
        sessions: store.clone(),
        calendars: store.clone(),
        leases: store.clone(),
        opt_outs: store.clone(),
        health: store.clone(),
        // Every scheduler commits through this one, so the changes are counted once each.
        bookings: Arc::new(crate::counted::CountedChanges(Arc::new(cached))),
        subscriptions: store.clone(),
        outbox: store,
        wake: None,
        read_cache: cache.clone(),
    };
    (storage, cache)
}

/// Connects and applies pending migrations (for tests; the binary uses [`open_reporting`]).
///
/// # Errors
/// When the database cannot be reached, created or migrated.
#[cfg(test)]
pub async fn open(database_url: &str, seal_key: [u8; 32]) -> Result<Storage> {
    open_reporting(database_url, seal_key, Duration::from_secs(60))
        .await
        .map(|(storage, _)| storage)
}

/// [`open`], waiting at most `connect_timeout` for a Postgres server, and saying which
/// migrations it applied.
///
/// # Errors
/// When the database cannot be reached (the message names the server, never the password,
/// and what to check), created or migrated.
pub async fn open_reporting(
    database_url: &str,
    seal_key: [u8; 32],
    connect_timeout: Duration,
) -> Result<(Storage, MigrationReport)> {
    if database_url.starts_with("sqlite:") {
        let path = database_url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        let path = path.split('?').next().unwrap_or(path);
        if let Some(dir) = std::path::Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let (store, report) = store_sqlite::SqliteStore::connect_reporting(database_url, seal_key)
            .await
            .with_context(|| format!("opening the SQLite database {path}"))?;
        let wake = store.outbox_wake();
        // One process per file: what it commits, its cache drops at once.
        let (storage, _) = both(store, None);
        Ok((
            Storage {
                wake: Some(Arc::new(wake)),
                ..storage
            },
            report,
        ))
    } else {
        let (store, report) = store_postgres::PostgresStore::connect_reporting(
            database_url,
            seal_key,
            connect_timeout,
        )
        .await
        .map_err(|e| unreachable_postgres(e, connect_timeout))?;
        let wake = match store.outbox_wake().await {
            Ok(wake) => Some(Arc::new(wake) as Arc<dyn OutboxWake>),
            Err(e) => {
                tracing::warn!(error = %e, "no outbox listener; the workers poll instead");
                None
            }
        };
        let (storage, cache) = both(store.clone(), Some(Arc::new(store.clone())));
        tokio::spawn(follow_changes(store, cache));
        Ok((Storage { wake, ..storage }, report))
    }
}

/// Applies the changes other instances announce to this one's read cache, listening again a
/// second after the listener fails (the cache is dropped meanwhile, so nothing stale is used
/// for longer than its time to live).
async fn follow_changes(store: store_postgres::PostgresStore, cache: Arc<ReadCache>) {
    loop {
        let error = store.follow_changes(&cache).await;
        tracing::warn!(error = %error, "listening for other instances' changes failed; retrying");
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// The error of a Postgres that could not be used, with what to check when it could not be
/// reached.
fn unreachable_postgres(error: StoreError, waited: Duration) -> anyhow::Error {
    if error.is_unavailable() {
        anyhow!(
            "{:#}; check that the server is running and reachable from here (host, port, \
             firewall) and that DATABASE_URL names it (waited {} s; \
             DATABASE_CONNECT_TIMEOUT_SECONDS sets how long)",
            anyhow::Error::new(error),
            waited.as_secs()
        )
    } else {
        anyhow::Error::new(error).context("connecting to Postgres (DATABASE_URL)")
    }
}
