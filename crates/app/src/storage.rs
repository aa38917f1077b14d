//! Opens the store named by `DATABASE_URL`: SQLite (the embedded default) or Postgres.

use std::sync::Arc;

use anyhow::{Context, Result};
use booking_core::accounts::{AccountStore, LinkDirectory, LoginAttempts};
use booking_core::calendar_sync::CalendarStore;
use booking_core::connections::CalendarConnections;
use booking_core::deals::DealStore;
use booking_core::leases::JobLeases;
use booking_core::ports::{BookingStore, Outbox, OutboxWake, StoreHealth, TextOptOuts};
use booking_core::sessions::HostSessions;
use booking_core::subscriptions::WebhookSubscriptions;

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
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Storage")
    }
}

fn both<S>(store: S) -> Storage
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
    Storage {
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
        bookings: Arc::new(crate::counted::CountedChanges(store.clone())),
        subscriptions: store.clone(),
        outbox: store,
        wake: None,
    }
}

/// Connects and applies pending migrations.
///
/// # Errors
/// When the database cannot be reached, created or migrated.
pub async fn open(database_url: &str, seal_key: [u8; 32]) -> Result<Storage> {
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
        let store = store_sqlite::SqliteStore::connect(database_url, seal_key)
            .await
            .with_context(|| format!("opening the SQLite database {path}"))?;
        let wake = store.outbox_wake();
        Ok(Storage {
            wake: Some(Arc::new(wake)),
            ..both(store)
        })
    } else {
        let store = store_postgres::PostgresStore::connect(database_url, seal_key)
            .await
            .context("connecting to Postgres (DATABASE_URL)")?;
        let wake = match store.outbox_wake().await {
            Ok(wake) => Some(Arc::new(wake) as Arc<dyn OutboxWake>),
            Err(e) => {
                tracing::warn!(error = %e, "no outbox listener; the workers poll instead");
                None
            }
        };
        Ok(Storage {
            wake,
            ..both(store)
        })
    }
}
