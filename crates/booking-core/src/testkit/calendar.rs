//! An in-memory calendar provider for tests of the connection framework: events by id, busy
//! ranges, push channels and an incremental change log, with switches to revoke the grant or
//! make the provider unreachable. Adapters are tested against a fake of the real HTTP API;
//! this one stands in for the adapter in the framework's own unit tests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::TimeDelta;

use super::ManualClock;
use crate::ports::Clock;

use crate::calendar::{
    CalendarEvent, CalendarProvider, ChangeBatch, OAuthTokens, Provider, ProviderError,
    PushChannel, RemoteChange, RemoteEventState, Secret,
};
use crate::time::TimeRange;

#[derive(Debug, Default)]
struct State {
    events: BTreeMap<String, CalendarEvent>,
    deleted: Vec<String>,
    /// Every change in order; a sync token is an index into it.
    log: Vec<RemoteChange>,
    busy: Vec<TimeRange>,
    channels: Vec<PushChannel>,
    stopped: Vec<String>,
    creates: usize,
    revoked: bool,
    unreachable: bool,
    refreshes: usize,
    access_serial: u32,
    /// Our ids (transaction ids) of events created with ids of the provider's own.
    transactions: BTreeMap<String, String>,
}

/// A calendar provider in memory. Clones share state.
#[derive(Debug, Clone)]
pub struct InMemoryCalendar {
    provider: Provider,
    clock: ManualClock,
    /// Whether it names events itself, as Graph does, keeping our ids as transaction ids.
    assigns_ids: bool,
    state: Arc<Mutex<State>>,
}

impl InMemoryCalendar {
    /// An empty calendar of `provider` on `clock`: tokens it hands out expire an hour after
    /// they were issued, channels when their time to live is up.
    pub fn new(provider: Provider, clock: ManualClock) -> Self {
        Self {
            provider,
            clock,
            assigns_ids: false,
            state: Arc::default(),
        }
    }

    /// The same, but naming events itself (`evt-1`, …) as Graph does; our id then only keeps
    /// a retried create from making a second event.
    pub fn assigning_ids(provider: Provider, clock: ManualClock) -> Self {
        Self {
            assigns_ids: true,
            ..Self::new(provider, clock)
        }
    }

    /// The provider's id of the event created for our id `ours`.
    pub fn id_for(&self, ours: &str) -> String {
        if self.assigns_ids {
            self.lock()
                .transactions
                .get(ours)
                .cloned()
                .unwrap_or_default()
        } else {
            ours.to_owned()
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The event with this id, if it exists.
    pub fn event(&self, id: &str) -> Option<CalendarEvent> {
        self.lock().events.get(id).cloned()
    }

    /// How many events exist.
    pub fn event_count(&self) -> usize {
        self.lock().events.len()
    }

    /// How many create calls succeeded (an existing id counts as created, not again).
    pub fn creates(&self) -> usize {
        self.lock().creates
    }

    /// How many refreshes were answered.
    pub fn refreshes(&self) -> usize {
        self.lock().refreshes
    }

    /// Channels registered, oldest first, and the ids of stopped ones.
    pub fn channels(&self) -> (Vec<PushChannel>, Vec<String>) {
        let state = self.lock();
        (state.channels.clone(), state.stopped.clone())
    }

    /// Busy ranges every `busy` call reports.
    pub fn set_busy(&self, busy: Vec<TimeRange>) {
        self.lock().busy = busy;
    }

    /// The host deletes an event in their calendar.
    pub fn host_deletes(&self, id: &str) {
        let mut state = self.lock();
        state.events.remove(id);
        state.log.push(RemoteChange {
            event_id: id.to_owned(),
            state: RemoteEventState::Deleted,
        });
    }

    /// The host drags an event to `to`.
    pub fn host_moves(&self, id: &str, to: TimeRange) {
        let mut state = self.lock();
        if let Some(event) = state.events.get_mut(id) {
            event.when = to;
        }
        state.log.push(RemoteChange {
            event_id: id.to_owned(),
            state: RemoteEventState::Timed(to),
        });
    }

    /// Revokes the grant: refreshes answer `invalid_grant`, calls 401.
    pub fn revoke(&self, revoked: bool) {
        self.lock().revoked = revoked;
    }

    /// Makes every call fail as if the network were down.
    pub fn set_unreachable(&self, unreachable: bool) {
        self.lock().unreachable = unreachable;
    }

    fn check(&self, access: Option<&Secret>) -> Result<MutexGuard<'_, State>, ProviderError> {
        let state = self.lock();
        if state.unreachable {
            return Err(ProviderError::Transient {
                message: "connection refused".into(),
                retry_after: None,
            });
        }
        if state.revoked && access.is_some() {
            return Err(ProviderError::Unauthorized("401".into()));
        }
        Ok(state)
    }

    fn tokens(&self, state: &mut State) -> OAuthTokens {
        state.access_serial += 1;
        OAuthTokens {
            access_token: Secret::new(format!("access-{}", state.access_serial)),
            refresh_token: Some(Secret::new("refresh")),
            expires_at: Some(self.clock.now() + TimeDelta::hours(1)),
        }
    }
}

#[async_trait]
impl CalendarProvider for InMemoryCalendar {
    fn provider(&self) -> Provider {
        self.provider
    }

    fn pkce_verifier(&self) -> Secret {
        Secret::new("verifier")
    }

    fn authorize_url(
        &self,
        state: &str,
        _pkce_verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<String, ProviderError> {
        Ok(format!(
            "memory://consent?state={state}&redirect_uri={redirect_uri}"
        ))
    }

    async fn exchange_code(
        &self,
        code: &str,
        _pkce_verifier: &Secret,
        _redirect_uri: &str,
    ) -> Result<(OAuthTokens, String), ProviderError> {
        let mut state = self.check(None)?;
        if code != "good-code" {
            return Err(ProviderError::Unauthorized("invalid_grant".into()));
        }
        state.revoked = false;
        let tokens = self.tokens(&mut state);
        Ok((tokens, "host@example.com".into()))
    }

    async fn refresh(&self, _refresh_token: &Secret) -> Result<OAuthTokens, ProviderError> {
        let mut state = self.check(None)?;
        if state.revoked {
            return Err(ProviderError::Unauthorized("invalid_grant".into()));
        }
        state.refreshes += 1;
        Ok(self.tokens(&mut state))
    }

    async fn busy(
        &self,
        access: &Secret,
        _calendars: &[String],
        within: TimeRange,
    ) -> Result<Vec<TimeRange>, ProviderError> {
        let state = self.check(Some(access))?;
        Ok(state
            .busy
            .iter()
            .copied()
            .filter(|b| b.start() < within.end() && within.start() < b.end())
            .collect())
    }

    async fn create_event(
        &self,
        access: &Secret,
        _calendar: &str,
        event_id: &str,
        event: &CalendarEvent,
    ) -> Result<String, ProviderError> {
        let mut state = self.check(Some(access))?;
        let id = if self.assigns_ids {
            if let Some(id) = state.transactions.get(event_id) {
                return Ok(id.clone());
            }
            let id = format!("evt-{}", state.transactions.len() + 1);
            state.transactions.insert(event_id.to_owned(), id.clone());
            id
        } else {
            event_id.to_owned()
        };
        if !state.events.contains_key(&id) && !state.deleted.contains(&id) {
            state.events.insert(id.clone(), event.clone());
            state.creates += 1;
            state.log.push(RemoteChange {
                event_id: id.clone(),
                state: RemoteEventState::Timed(event.when),
            });
        }
        Ok(id)
    }

    async fn update_event(
        &self,
        access: &Secret,
        _calendar: &str,
        event_id: &str,
        event: &CalendarEvent,
    ) -> Result<(), ProviderError> {
        let mut state = self.check(Some(access))?;
        let Some(stored) = state.events.get_mut(event_id) else {
            return Err(ProviderError::NotFound(event_id.to_owned()));
        };
        *stored = event.clone();
        state.log.push(RemoteChange {
            event_id: event_id.to_owned(),
            state: RemoteEventState::Timed(event.when),
        });
        Ok(())
    }

    async fn delete_event(
        &self,
        access: &Secret,
        _calendar: &str,
        event_id: &str,
    ) -> Result<(), ProviderError> {
        let mut state = self.check(Some(access))?;
        if state.events.remove(event_id).is_some() {
            state.deleted.push(event_id.to_owned());
            state.log.push(RemoteChange {
                event_id: event_id.to_owned(),
                state: RemoteEventState::Deleted,
            });
        }
        Ok(())
    }

    async fn event_state(
        &self,
        access: &Secret,
        _calendar: &str,
        event_id: &str,
    ) -> Result<RemoteEventState, ProviderError> {
        let state = self.check(Some(access))?;
        Ok(state
            .events
            .get(event_id)
            .map_or(RemoteEventState::Deleted, |e| {
                RemoteEventState::Timed(e.when)
            }))
    }

    async fn watch(
        &self,
        access: &Secret,
        _calendar: &str,
        channel_id: &str,
        channel_token: &Secret,
        _address: &str,
        ttl: TimeDelta,
    ) -> Result<PushChannel, ProviderError> {
        let mut state = self.check(Some(access))?;
        let channel = PushChannel {
            id: channel_id.to_owned(),
            token: channel_token.clone(),
            resource_id: format!("resource-{}", state.channels.len() + 1),
            expires_at: self.clock.now() + ttl,
        };
        state.channels.push(channel.clone());
        Ok(channel)
    }

    async fn stop(&self, access: &Secret, channel: &PushChannel) -> Result<(), ProviderError> {
        let mut state = self.check(Some(access))?;
        state.stopped.push(channel.id.clone());
        Ok(())
    }

    async fn changes(
        &self,
        access: &Secret,
        _calendar: &str,
        sync_token: Option<&str>,
    ) -> Result<ChangeBatch, ProviderError> {
        let state = self.check(Some(access))?;
        let from = sync_token.and_then(|t| t.parse::<usize>().ok());
        let changes = match from {
            Some(from) => state.log.get(from..).unwrap_or_default().to_vec(),
            None => state
                .events
                .iter()
                .map(|(id, e)| RemoteChange {
                    event_id: id.clone(),
                    state: RemoteEventState::Timed(e.when),
                })
                .collect(),
        };
        Ok(ChangeBatch {
            changes,
            next_sync_token: state.log.len().to_string(),
            full_resync: from.is_none(),
        })
    }
}
