//! What operators watch of a running deployment, in the domain's terms: the kind of each
//! committed booking change, the outbox's backlog and whether a store's schema is complete.
//! Adapters turn these into metrics and readiness answers; nothing here measures anything.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use super::{Change, StoreError};
use crate::booking::{Status, Write};

/// What a committed [`Change`] did to its meeting, as counted by the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A new meeting was booked.
    Booked,
    /// A meeting moved to another time (its old row was replaced).
    Rescheduled,
    /// A meeting was called off, by the attendee, the host, the calendar or a missed
    /// reconfirmation.
    Cancelled,
    /// The host marked that the attendee did not come.
    NoShow,
    /// Anything else about a meeting (reconfirmed, its calendar event recorded, …).
    Updated,
}

impl ChangeKind {
    /// `booked`, `rescheduled`, `cancelled`, `no_show` or `updated`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Booked => "booked",
            Self::Rescheduled => "rescheduled",
            Self::Cancelled => "cancelled",
            Self::NoShow => "no_show",
            Self::Updated => "updated",
        }
    }
}

impl Change {
    /// What this change does, judged by the rows it writes: a row becoming `rescheduled`
    /// is a reschedule (whatever else is written with it), a new row a booking, a row becoming
    /// cancelled or no-show that; `None` when it writes no booking row.
    pub fn kind(&self) -> Option<ChangeKind> {
        let statuses = || {
            self.writes
                .iter()
                .filter(|w| matches!(w, Write::Update { .. }))
                .map(|w| w.booking().status())
        };
        if statuses().any(|s| matches!(s, Status::Rescheduled { .. })) {
            return Some(ChangeKind::Rescheduled);
        }
        if self.writes.iter().any(|w| matches!(w, Write::Insert(_))) {
            return Some(ChangeKind::Booked);
        }
        if statuses().any(|s| matches!(s, Status::Cancelled(_))) {
            return Some(ChangeKind::Cancelled);
        }
        if statuses().any(|s| matches!(s, Status::NoShow { .. })) {
            return Some(ChangeKind::NoShow);
        }
        (!self.writes.is_empty()).then_some(ChangeKind::Updated)
    }
}

/// The outbox at one instant: what waits, how late the oldest of it is, and what died.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxBacklog {
    /// Entries due (at or before the instant asked about), neither delivered nor dead,
    /// leased or not: the work the workers have not finished.
    pub due: u64,
    /// Entries due later (reminders, retries waiting for their time).
    pub scheduled: u64,
    /// When the longest-waiting due entry became due; `None` when nothing is due.
    pub oldest_due_at: Option<DateTime<Utc>>,
    /// Entries whose every attempt failed.
    pub dead: u64,
}

impl OutboxBacklog {
    /// How long the longest-waiting due entry has waited at `now` (zero when none waits).
    pub fn oldest_due_age(&self, now: DateTime<Utc>) -> TimeDelta {
        self.oldest_due_at
            .map_or(TimeDelta::zero(), |due| (now - due).max(TimeDelta::zero()))
    }
}

/// A store's connections to its database at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionUse {
    /// Connections open (in use or idle).
    pub open: u32,
    /// Open connections waiting for work.
    pub idle: u32,
    /// The most the store opens.
    pub max: u32,
}

/// What readiness probes and the metrics ask of a store: whether its database holds the whole
/// schema this build expects (an instance whose migrations have not all been applied must not
/// take traffic), and how busy its connections are.
#[async_trait]
pub trait StoreHealth: Send + Sync {
    /// Its connection pool right now; `None` for a store without connections.
    fn connections(&self) -> Option<ConnectionUse>;

    /// The versions of this build's migrations the database has not applied successfully,
    /// oldest first; empty when the schema is complete (always, for a store without a schema).
    ///
    /// # Errors
    /// [`StoreError`] when the database cannot be asked (unreachable:
    /// [`StoreError::is_unavailable`]).
    async fn pending_migrations(&self) -> Result<Vec<i64>, StoreError>;
}

#[async_trait]
impl<T: StoreHealth + ?Sized> StoreHealth for std::sync::Arc<T> {
    fn connections(&self) -> Option<ConnectionUse> {
        (**self).connections()
    }
    async fn pending_migrations(&self) -> Result<Vec<i64>, StoreError> {
        (**self).pending_migrations().await
    }
}
