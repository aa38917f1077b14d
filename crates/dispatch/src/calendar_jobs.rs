//! The calendar integrations' background work: syncing a connection when its provider pushed a
//! notification (queued by the web side through [`QueuedSyncs`], on the instance that received
//! it), polling every active connection on a timer (so sync works behind NAT, where no
//! notification can arrive), and the daily renewal of push channels and tokens. Polling and
//! renewal are done once per deployment: only the instance holding the job's lease
//! ([`crate::periodic`]) works, the others skip that run.

use std::sync::Arc;
use std::time::Duration;

use booking_core::calendar_sync::{CalendarChanges, CalendarIntegrations, SyncRequests};
use booking_core::connections::ConnectionId;
use tokio::sync::{mpsc, watch};

use crate::periodic::{JobLease, POLL_JOB, hold_for};

/// How many pushed connections may wait for their sync; more are dropped (the poller catches
/// up), so a flood of notifications cannot grow memory.
pub const SYNC_QUEUE: usize = 1024;

/// The web side's [`SyncRequests`]: a bounded queue the calendar worker drains.
#[derive(Debug, Clone)]
pub struct QueuedSyncs(mpsc::Sender<ConnectionId>);

impl QueuedSyncs {
    /// A queue and its receiving end, for [`run`].
    pub fn new() -> (Self, mpsc::Receiver<ConnectionId>) {
        let (tx, rx) = mpsc::channel(SYNC_QUEUE);
        (Self(tx), rx)
    }
}

impl SyncRequests for QueuedSyncs {
    fn request_sync(&self, id: ConnectionId) {
        if self.0.try_send(id).is_err() {
            tracing::warn!(connection = %id, "calendar sync queue full; the poller will catch up");
        }
    }
}

/// The lease name of the daily renewal.
pub const RENEWAL_JOB: &str = "calendar-renewal";

/// When the calendar jobs run.
#[derive(Debug, Clone, Copy)]
pub struct CalendarSchedule {
    /// Every active connection is synced this often (`CALENDAR_POLL_SECONDS`).
    pub poll_every: Duration,
    /// Channels and tokens are renewed this often (daily).
    pub renew_every: Duration,
}

/// Syncs queued connections as they come, polls every connection on `schedule.poll_every`, and
/// renews on `schedule.renew_every`, until `shutdown` turns true.
pub async fn run(
    calendars: Arc<dyn CalendarIntegrations>,
    changes: Arc<dyn CalendarChanges>,
    mut requests: mpsc::Receiver<ConnectionId>,
    schedule: CalendarSchedule,
    lease: JobLease,
    mut shutdown: watch::Receiver<bool>,
) {
    // The renewal's lease ends a little before the next day's run, so whichever instance
    // runs first that day renews.
    let renewal_span = chrono::TimeDelta::from_std(schedule.renew_every)
        .unwrap_or(chrono::TimeDelta::hours(24))
        - chrono::TimeDelta::minutes(30);
    let poll_span = hold_for(schedule.poll_every);
    let mut poll = tokio::time::interval(schedule.poll_every);
    let mut renew = tokio::time::interval(schedule.renew_every);
    // The first ticks are immediate: sync and renew once at start-up.
    while !*shutdown.borrow() {
        tokio::select! {
            Some(id) = requests.recv() => sync_one(calendars.as_ref(), changes.as_ref(), id).await,
            _ = poll.tick() => {
                if lease.take(POLL_JOB, poll_span).await {
                    poll_all(calendars.as_ref(), changes.as_ref()).await;
                } else {
                    tracing::debug!("another instance polls the calendars");
                }
            }
            _ = renew.tick() => {
                if lease.take(RENEWAL_JOB, renewal_span).await {
                    renew_all(calendars.as_ref()).await;
                } else {
                    tracing::debug!("another instance renews calendar channels this time");
                }
            }
            _ = shutdown.changed() => {}
        }
    }
    tracing::debug!("calendar jobs stopped");
}

async fn sync_one(
    calendars: &dyn CalendarIntegrations,
    changes: &dyn CalendarChanges,
    id: ConnectionId,
) {
    match calendars.sync(id, changes).await {
        Ok(report) if report.cancelled + report.moved > 0 => tracing::info!(
            connection = %id,
            cancelled = report.cancelled,
            moved = report.moved,
            full_resync = report.full_resync,
            "applied calendar-side changes"
        ),
        Ok(_) => {}
        Err(e) => {
            crate::observe::calendar_sync_failed("sync");
            tracing::warn!(connection = %id, error = %e, "calendar sync failed; retried on the next poll")
        }
    }
}

/// Syncs every active connection once.
pub async fn poll_all(calendars: &dyn CalendarIntegrations, changes: &dyn CalendarChanges) {
    match calendars.active_connections().await {
        Ok(ids) => {
            for id in ids {
                sync_one(calendars, changes, id).await;
            }
        }
        Err(e) => {
            crate::observe::calendar_sync_failed("poll");
            tracing::error!(error = %e, "listing calendar connections failed")
        }
    }
}

async fn renew_all(calendars: &dyn CalendarIntegrations) {
    match calendars.renew().await {
        Ok(report) => tracing::info!(
            channels_renewed = report.channels_renewed,
            channels_stopped = report.channels_stopped,
            tokens_refreshed = report.tokens_refreshed,
            needs_reauth = report.needs_reauth,
            failed = report.failed.len(),
            "calendar renewal ran"
        ),
        Err(e) => {
            crate::observe::calendar_sync_failed("renewal");
            tracing::error!(error = %e, "calendar renewal failed")
        }
    }
}
