//! The in-memory store's outbox: leases, retries and dead entries, as the database stores do.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use super::InMemoryStore;
use crate::effects::{PlannedEffect, RetryPolicy};
use crate::ids::HostId;
use crate::ports::{
    DeadEntry, FailureOutcome, Outbox, OutboxBacklog, OutboxEntry, PendingEntry, StoreError,
    StoreHealth,
};

#[derive(Debug, Clone)]
pub(super) struct OutboxRow {
    pub(super) planned: PlannedEffect,
    due_at: DateTime<Utc>,
    attempts: u32,
    leased_until: Option<DateTime<Utc>>,
    delivered: bool,
    dead: Option<(String, DateTime<Utc>)>,
    last_error: Option<String>,
}

impl OutboxRow {
    pub(super) fn new(planned: PlannedEffect) -> Self {
        Self {
            planned,
            due_at: planned.due_at,
            attempts: 0,
            leased_until: None,
            delivered: false,
            dead: None,
            last_error: None,
        }
    }

    fn entry(&self) -> OutboxEntry {
        OutboxEntry {
            key: self.planned.effect.idempotency_key(),
            effect: self.planned.effect,
            attempts: self.attempts,
            due_at: self.due_at,
        }
    }

    fn is_claimable(&self, now: DateTime<Utc>) -> bool {
        !self.delivered
            && self.dead.is_none()
            && self.due_at <= now
            && self.leased_until.is_none_or(|t| t <= now)
    }
}

impl InMemoryStore {
    /// Dead entries about `booking`, most recent first.
    pub(super) fn dead_of(&self, booking: crate::ids::BookingId) -> Vec<DeadEntry> {
        let mut dead: Vec<DeadEntry> = self
            .lock()
            .outbox
            .iter()
            .filter(|r| r.planned.effect.booking() == booking)
            .filter_map(|r| {
                r.dead.as_ref().map(|(error, at)| DeadEntry {
                    entry: r.entry(),
                    last_error: error.clone(),
                    died_at: *at,
                })
            })
            .collect();
        dead.sort_by_key(|d| std::cmp::Reverse(d.died_at));
        dead
    }
}

impl InMemoryStore {
    /// Entries about `booking` still to be delivered, soonest due first.
    pub(super) fn pending_of(&self, booking: crate::ids::BookingId) -> Vec<PendingEntry> {
        let mut pending: Vec<PendingEntry> = self
            .lock()
            .outbox
            .iter()
            .filter(|r| r.planned.effect.booking() == booking && !r.delivered && r.dead.is_none())
            .map(|r| PendingEntry {
                key: r.planned.effect.idempotency_key(),
                code: r.planned.effect.code(),
                booking,
                due_at: r.due_at,
                attempts: r.attempts,
                last_error: r.last_error.clone(),
                leased_until: r.leased_until,
            })
            .collect();
        pending.sort_by(|a, b| (a.due_at, &a.key).cmp(&(b.due_at, &b.key)));
        pending
    }
}

#[async_trait]
impl Outbox for InMemoryStore {
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut state = self.lock();
        let mut due: Vec<&mut OutboxRow> = state
            .outbox
            .iter_mut()
            .filter(|r| r.is_claimable(now))
            .collect();
        due.sort_by_key(|r| r.due_at);
        Ok(due
            .into_iter()
            .take(limit as usize)
            .map(|r| {
                r.leased_until = Some(now + lease);
                r.entry()
            })
            .collect())
    }

    async fn mark_delivered(&self, key: &str, _now: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(r) = self
            .lock()
            .outbox
            .iter_mut()
            .find(|r| r.planned.effect.idempotency_key() == key)
        {
            r.delivered = true;
            r.leased_until = None;
        }
        Ok(())
    }

    async fn mark_failed(
        &self,
        key: &str,
        now: DateTime<Utc>,
        error: &str,
        policy: &RetryPolicy,
        jitter: f64,
    ) -> Result<FailureOutcome, StoreError> {
        let mut state = self.lock();
        let row = state
            .outbox
            .iter_mut()
            .find(|r| r.planned.effect.idempotency_key() == key)
            .ok_or_else(|| StoreError::msg(format!("no outbox entry {key}")))?;
        row.attempts += 1;
        row.leased_until = None;
        row.last_error = Some(error.to_owned());
        Ok(match policy.delay_after(row.attempts, jitter) {
            Some(delay) => {
                row.due_at = now + delay;
                FailureOutcome::RetryAt(row.due_at)
            }
            None => {
                row.dead = Some((error.to_owned(), now));
                FailureOutcome::Dead
            }
        })
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        if let Some(r) = self
            .lock()
            .outbox
            .iter_mut()
            .find(|r| r.planned.effect.idempotency_key() == key)
        {
            r.leased_until = None;
        }
        Ok(())
    }

    async fn dead_entries(&self, limit: u32) -> Result<Vec<DeadEntry>, StoreError> {
        Ok(self.dead_where(limit, |_| true))
    }

    async fn dead_entries_of_host(
        &self,
        host: HostId,
        limit: u32,
    ) -> Result<Vec<DeadEntry>, StoreError> {
        let theirs = self.bookings_of(host);
        Ok(self.dead_where(limit, |r| theirs.contains(&r.planned.effect.booking())))
    }

    async fn retry_dead(
        &self,
        host: HostId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let theirs = self.bookings_of(host);
        let mut state = self.lock();
        let Some(row) = state.outbox.iter_mut().find(|r| {
            r.dead.is_some()
                && !r.delivered
                && r.planned.effect.idempotency_key() == key
                && theirs.contains(&r.planned.effect.booking())
        }) else {
            return Ok(false);
        };
        row.dead = None;
        row.attempts = 0;
        row.due_at = now;
        row.leased_until = None;
        Ok(true)
    }

    async fn backlog(&self, now: DateTime<Utc>) -> Result<OutboxBacklog, StoreError> {
        let state = self.lock();
        let mut backlog = OutboxBacklog::default();
        for row in state.outbox.iter().filter(|r| !r.delivered) {
            if row.dead.is_some() {
                backlog.dead += 1;
            } else if row.due_at <= now {
                backlog.due += 1;
                backlog.oldest_due_at = Some(
                    backlog
                        .oldest_due_at
                        .map_or(row.due_at, |t| t.min(row.due_at)),
                );
            } else {
                backlog.scheduled += 1;
            }
        }
        Ok(backlog)
    }
}

impl InMemoryStore {
    /// The ids of `host`'s bookings.
    fn bookings_of(&self, host: HostId) -> std::collections::BTreeSet<crate::ids::BookingId> {
        self.lock()
            .bookings
            .values()
            .filter(|b| b.host() == host)
            .map(crate::booking::Booking::id)
            .collect()
    }

    /// Dead entries whose row passes `keep`, most recent first, at most `limit`.
    fn dead_where(&self, limit: u32, keep: impl Fn(&OutboxRow) -> bool) -> Vec<DeadEntry> {
        let state = self.lock();
        let mut dead: Vec<DeadEntry> = state
            .outbox
            .iter()
            .filter(|r| keep(r))
            .filter_map(|r| {
                r.dead.as_ref().map(|(error, at)| DeadEntry {
                    entry: r.entry(),
                    last_error: error.clone(),
                    died_at: *at,
                })
            })
            .collect();
        dead.sort_by_key(|d| std::cmp::Reverse(d.died_at));
        dead.truncate(limit as usize);
        dead
    }
}

/// The in-memory store has no schema: it is always complete.
#[async_trait]
impl StoreHealth for InMemoryStore {
    fn connections(&self) -> Option<crate::ports::ConnectionUse> {
        None
    }

    async fn pending_migrations(&self) -> Result<Vec<i64>, StoreError> {
        Ok(Vec::new())
    }
}
