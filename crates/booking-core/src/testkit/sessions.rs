//! The in-memory store's host sessions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::InMemoryStore;
use crate::ids::HostId;
use crate::ports::StoreError;
use crate::sessions::{HostSession, HostSessions, SessionId};

#[async_trait]
impl HostSessions for InMemoryStore {
    async fn start_session(&self, session: &HostSession) -> Result<(), StoreError> {
        let mut state = self.lock();
        if !state.hosts.contains_key(&session.host()) {
            return Err(StoreError::msg("a session of an unknown host"));
        }
        if state.sessions.contains_key(&session.id()) {
            return Err(StoreError::msg("a session with this id exists"));
        }
        state.sessions.insert(session.id(), session.clone());
        Ok(())
    }

    async fn live_session(
        &self,
        id: &SessionId,
        now: DateTime<Utc>,
    ) -> Result<Option<HostSession>, StoreError> {
        let mut state = self.lock();
        let Some(session) = state.sessions.get_mut(id).filter(|s| s.is_live(now)) else {
            return Ok(None);
        };
        if session.seen_is_stale(now) {
            *session = session.seen_at(now);
        }
        Ok(Some(session.clone()))
    }

    async fn end_session(&self, id: &SessionId) -> Result<bool, StoreError> {
        Ok(self.lock().sessions.remove(id).is_some())
    }

    async fn end_sessions_of(
        &self,
        host: HostId,
        keep: Option<&SessionId>,
    ) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let before = state.sessions.len();
        state
            .sessions
            .retain(|id, s| s.host() != host || Some(id) == keep);
        Ok((before - state.sessions.len()) as u64)
    }

    async fn prune_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let before = state.sessions.len();
        state.sessions.retain(|_, s| s.is_live(now));
        Ok((before - state.sessions.len()) as u64)
    }
}
