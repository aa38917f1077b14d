//! Connected calendars: the provider-neutral half of calendar sync. [`ConnectedCalendars`]
//! holds the rules every provider shares, over the [`CalendarConnections`] store and one
//! [`CalendarProvider`] adapter per provider:
//!
//! - **tokens**: an access token about to expire is refreshed first; a refused refresh, or a
//!   401 right after one, marks the connection `needs_reauth` (the host sees a banner) and
//!   parks calendar writes instead of failing them;
//! - **write-through**: a booking's calendar effect creates, moves or deletes the chain's one
//!   event, whose id is derived from the chain, so a retried create cannot duplicate it;
//! - **busy times**: read over every connected calendar, cached briefly, and served stale for
//!   a while when the provider cannot be reached; past that, refused, so no slot is offered on
//!   a guess;
//! - **calendar-side changes**: an incremental sync turns deleted and moved events of ours into
//!   the calendar's cancel and reschedule use cases; our own writes coming back change nothing;
//! - **push channels**: notifications are checked against the channel's secret, and channels
//!   are renewed before they expire.
//!
//! Nothing here does I/O itself: time comes from the [`Clock`], fresh ids and secrets from the
//! [`TokenSource`], and every call outside goes through a port.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::booking::{Booking, ProviderEventRef, Status};
use crate::calendar::{
    CalendarEvent, CalendarProvider, ChangeBatch, ConnectionStatus, Provider, ProviderError,
    PushChannel, RemoteEventState, Secret, chain_of_provider_event_id, provider_event_id,
};
use crate::connections::{CalendarConnection, CalendarConnections, ConnectionId};
use crate::effects::CalendarOp;
use crate::ids::HostId;
use crate::ports::{
    BookingStore, BusyCalendar, BusyCalendarError, CalendarSync, CalendarSyncError, CalendarWrite,
    Change, Clock, CommitError, DashboardTab, Page, StoreError, TokenSource,
};
use crate::service::CalendarChange;
use crate::time::TimeRange;

/// How connected calendars behave; [`Default`] is what the binary uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalendarSettings {
    /// Busy times younger than this are served without asking the provider
    /// (`CALENDAR_BUSY_CACHE_SECONDS`, 30 s).
    pub busy_cache_for: TimeDelta,
    /// When the provider cannot be read, busy times younger than this are still served; past
    /// it, new bookings are refused (10 minutes).
    pub serve_stale_for: TimeDelta,
    /// An access token expiring within this is refreshed before use (2 minutes).
    pub refresh_margin: TimeDelta,
    /// Push channels expiring within this are renewed (48 hours).
    pub renew_within: TimeDelta,
    /// The lifetime asked for a new push channel (7 days; the provider may grant less).
    pub channel_ttl: TimeDelta,
}

impl Default for CalendarSettings {
    fn default() -> Self {
        Self {
            busy_cache_for: TimeDelta::seconds(30),
            serve_stale_for: TimeDelta::minutes(10),
            refresh_margin: TimeDelta::minutes(2),
            renew_within: TimeDelta::hours(48),
            channel_ttl: TimeDelta::days(7),
        }
    }
}

/// A calendar write or sync failed.
#[derive(Debug, thiserror::Error)]
pub enum CalendarSyncFailure {
    /// Worth another attempt; `retry_after` is the provider's `Retry-After` if it gave one.
    #[error("{message}")]
    Transient {
        /// What went wrong.
        message: String,
        /// How long the provider asked to wait.
        retry_after: Option<TimeDelta>,
    },
    /// Retrying cannot help.
    #[error("{0}")]
    Permanent(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies a change the host made in their calendar to the booking mirrored there: the
/// [`Scheduler`](crate::Scheduler)'s `apply_calendar_change`, behind a trait so the sync does
/// not carry the scheduler's type parameters.
#[async_trait]
pub trait CalendarChanges: Send + Sync {
    /// See [`Scheduler::apply_calendar_change`](crate::Scheduler::apply_calendar_change).
    ///
    /// # Errors
    /// [`StoreError`] on storage failure.
    async fn apply_calendar_change(
        &self,
        provider: &str,
        event_id: &str,
        change: CalendarChange,
    ) -> Result<Option<Booking>, StoreError>;
}

#[async_trait]
impl<S, C, T, B> CalendarChanges for crate::Scheduler<S, C, T, B>
where
    S: BookingStore,
    C: Clock,
    T: TokenSource,
    B: BusyCalendar,
{
    async fn apply_calendar_change(
        &self,
        provider: &str,
        event_id: &str,
        change: CalendarChange,
    ) -> Result<Option<Booking>, StoreError> {
        crate::Scheduler::apply_calendar_change(self, provider, event_id, change).await
    }
}

/// What one incremental sync did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Changed events looked at.
    pub seen: usize,
    /// Bookings cancelled because their event was deleted.
    pub cancelled: usize,
    /// Bookings moved to their event's new time.
    pub moved: usize,
    /// The sync token had expired and the calendar was listed in full.
    pub full_resync: bool,
}

/// What one renewal run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenewalReport {
    /// Push channels replaced by new ones.
    pub channels_renewed: usize,
    /// Old channels stopped.
    pub channels_stopped: usize,
    /// Access tokens refreshed.
    pub tokens_refreshed: usize,
    /// Connections that now need the host to reconnect.
    pub needs_reauth: usize,
    /// Connections whose renewal failed for now (ids), to try again next run.
    pub failed: Vec<ConnectionId>,
}

/// A push notification that does not come from a channel we registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushRefused {
    /// No connection has a channel with that id (unknown, or stopped at renewal).
    #[error("unknown or stopped notification channel")]
    UnknownChannel,
    /// The channel exists but the secret does not match.
    #[error("the notification's channel secret does not match")]
    WrongSecret,
    /// The connection is not active.
    #[error("the connection is not active")]
    Inactive,
}

/// Busy times read at one instant over one window.
#[derive(Debug, Clone)]
struct KnownBusy {
    window: TimeRange,
    read_at: DateTime<Utc>,
    busy: Vec<TimeRange>,
}

type Call<'a, T> = Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send + 'a>>;

/// The connected calendars of every host; see the module docs.
pub struct ConnectedCalendars<S, C, T> {
    store: S,
    clock: C,
    ids: T,
    providers: Vec<Arc<dyn CalendarProvider>>,
    push_addresses: HashMap<Provider, String>,
    settings: CalendarSettings,
    known_busy: Mutex<HashMap<HostId, Vec<KnownBusy>>>,
}

impl<S, C, T> fmt::Debug for ConnectedCalendars<S, C, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectedCalendars")
            .field("providers", &self.providers)
            .field("push_addresses", &self.push_addresses)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<S, C, T> ConnectedCalendars<S, C, T>
where
    S: BookingStore + CalendarConnections,
    C: Clock,
    T: TokenSource,
{
    /// Connected calendars over `store`, with no provider configured yet.
    pub fn new(store: S, clock: C, ids: T, settings: CalendarSettings) -> Self {
        Self {
            store,
            clock,
            ids,
            providers: Vec::new(),
            push_addresses: HashMap::new(),
            settings,
            known_busy: Mutex::new(HashMap::new()),
        }
    }

    /// Adds a provider adapter. With `push_address` (the public URL of its notification
    /// endpoint) connections register push channels; without one they rely on polling.
    #[must_use]
    pub fn with_provider(
        mut self,
        provider: Arc<dyn CalendarProvider>,
        push_address: Option<String>,
    ) -> Self {
        if let Some(address) = push_address {
            self.push_addresses.insert(provider.provider(), address);
        }
        self.providers.push(provider);
        self
    }

    /// The adapter of `provider`, if configured.
    pub fn provider(&self, provider: Provider) -> Option<&Arc<dyn CalendarProvider>> {
        self.providers.iter().find(|p| p.provider() == provider)
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    // ---- connecting -------------------------------------------------------------------

    /// Finishes the OAuth dance for `host`: trades the code for tokens, stores the connection
    /// (replacing an earlier one of the same account, which reconnects it), registers a push
    /// channel where an address is configured, and runs the first sync so later syncs are
    /// incremental. Returns the stored connection.
    ///
    /// # Errors
    /// [`CalendarSyncFailure`]: the code refused ([`Permanent`](CalendarSyncFailure::Permanent)),
    /// the provider unreachable, or the store failing.
    pub async fn connect(
        &self,
        host: HostId,
        provider: Provider,
        code: &str,
        verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<CalendarConnection, CalendarSyncFailure> {
        let adapter = self.adapter(provider)?;
        let (tokens, account) = adapter
            .exchange_code(code, verifier, redirect_uri)
            .await
            .map_err(failure)?;
        let now = self.clock.now();
        let fresh = CalendarConnection::connected(
            ConnectionId::from_uuid(self.ids.new_booking_id().as_uuid()),
            host,
            provider,
            account.clone(),
            account,
            tokens,
            now,
        );
        // A reconnect keeps the earlier row (and its channel, stopped below when replaced).
        let earlier = self
            .store
            .host_connections(host)
            .await?
            .into_iter()
            .find(|c| c.provider == provider && c.account == fresh.account);
        let connection = match earlier {
            Some(old) => CalendarConnection {
                id: old.id,
                created_at: old.created_at,
                sync_token: old.sync_token,
                channel: old.channel,
                ..fresh
            },
            None => fresh,
        };
        self.store.save_connection(&connection).await?;
        // Push only makes sync immediate; polling covers a provider that refuses our address
        // (Google wants public HTTPS), so a refused channel does not fail the connection.
        let connection = match self.ensure_channel(connection.clone(), true).await {
            Ok(done) => done.connection,
            Err(e) => {
                let noted = connection.with_failure(
                    format!("push notifications are off, changes are polled: {e}"),
                    now,
                );
                self.store.save_connection(&noted).await?;
                noted
            }
        };
        // The first sync only takes the token; a failure here is retried by the poller.
        let _ = self.sync(connection.id, None).await;
        self.forget_busy(host);
        Ok(self
            .store
            .connection(connection.id)
            .await?
            .unwrap_or(connection))
    }

    /// Disconnects: stops the push channel (best effort) and marks the connection revoked.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn disconnect(&self, host: HostId, id: ConnectionId) -> Result<bool, StoreError> {
        let Some(connection) = self.store.connection(id).await?.filter(|c| c.host == host) else {
            return Ok(false);
        };
        if let (Some(channel), Some(adapter)) =
            (&connection.channel, self.provider(connection.provider))
        {
            let _ = adapter.stop(&connection.tokens.access_token, channel).await;
        }
        let revoked = CalendarConnection {
            status: ConnectionStatus::Revoked,
            channel: None,
            ..connection
        };
        self.store.save_connection(&revoked).await?;
        self.forget_busy(host);
        Ok(true)
    }

    /// Writes the host's upcoming confirmed bookings (up to `limit`) to the calendar, as on
    /// connect. Creates are idempotent, so running it again changes nothing.
    ///
    /// # Errors
    /// [`CalendarSyncFailure`] from the first write that failed.
    pub async fn write_upcoming(
        &self,
        host: HostId,
        limit: u32,
    ) -> Result<usize, CalendarSyncFailure> {
        let page = self
            .store
            .dashboard(
                host,
                DashboardTab::Upcoming,
                self.clock.now(),
                Page { offset: 0, limit },
            )
            .await?;
        let mut written = 0;
        for booking in &page.rows {
            if self.write(CalendarOp::Create, booking).await? == CalendarWrite::Written {
                written += 1;
            }
        }
        Ok(written)
    }

    // ---- write-through ------------------------------------------------------------------

    /// Applies a booking's calendar effect to the host's active connection.
    ///
    /// # Errors
    /// [`CalendarSyncFailure`]; a revoked grant is not an error but
    /// [`CalendarWrite::WaitingForReconnect`].
    pub async fn write(
        &self,
        op: CalendarOp,
        booking: &Booking,
    ) -> Result<CalendarWrite, CalendarSyncFailure> {
        let connections = self.store.host_connections(booking.host()).await?;
        let Some(connection) = connections
            .iter()
            .find(|c| c.status == ConnectionStatus::Active && self.provider(c.provider).is_some())
            .cloned()
        else {
            let waiting = connections
                .iter()
                .any(|c| c.status == ConnectionStatus::NeedsReauth);
            return Ok(if waiting {
                CalendarWrite::WaitingForReconnect
            } else {
                CalendarWrite::NothingToDo
            });
        };
        // The chain's live row decides what the event should look like now.
        let live = self.live_row(booking).await?;
        let ours = provider_event_id(booking.chain());
        // The provider's id once recorded; before that, ours (which is Google's id, and what
        // a retried delete after a lost record can still find there).
        let recorded = live
            .provider_event()
            .filter(|r| r.provider == connection.provider.as_str())
            .map(|r| r.event_id.clone());
        let calendar = connection.write_calendar.clone();
        let result = match op {
            CalendarOp::Create | CalendarOp::UpdateInPlace
                if !matches!(live.status(), Status::Confirmed) =>
            {
                return Ok(CalendarWrite::NothingToDo);
            }
            CalendarOp::Create | CalendarOp::UpdateInPlace => {
                let event = self.event_of(&live).await?;
                let existing = recorded.clone().filter(|_| op == CalendarOp::UpdateInPlace);
                self.call(connection.clone(), |p, a| {
                    let (calendar, ours, existing, event) = (
                        calendar.clone(),
                        ours.clone(),
                        existing.clone(),
                        event.clone(),
                    );
                    Box::pin(async move {
                        if let Some(id) = existing {
                            match p.update_event(&a, &calendar, &id, &event).await {
                                Ok(()) => return Ok(id),
                                // Deleted at the provider meanwhile: make it again.
                                Err(ProviderError::NotFound(_)) => {}
                                Err(e) => return Err(e),
                            }
                        }
                        p.create_event(&a, &calendar, &ours, &event).await
                    })
                })
                .await
            }
            CalendarOp::Delete => {
                let id = recorded.unwrap_or(ours);
                self.call(connection.clone(), |p, a| {
                    let (calendar, id) = (calendar.clone(), id.clone());
                    Box::pin(async move { p.delete_event(&a, &calendar, &id).await.map(|()| id) })
                })
                .await
            }
        };
        match result {
            Ok(provider_id) => {
                if op != CalendarOp::Delete {
                    self.record_event(&live, connection.provider, &provider_id)
                        .await?;
                }
                Ok(CalendarWrite::Written)
            }
            Err(CallError::Reauth) => Ok(CalendarWrite::WaitingForReconnect),
            Err(CallError::Provider(e)) => Err(failure(e)),
            Err(CallError::Store(e)) => Err(e.into()),
        }
    }

    /// The newest row of the booking's chain (the booking itself when it is the newest).
    async fn live_row(&self, booking: &Booking) -> Result<Booking, StoreError> {
        Ok(self
            .store
            .chain(booking.chain())
            .await?
            .into_iter()
            .last()
            .unwrap_or_else(|| booking.clone()))
    }

    async fn event_of(&self, booking: &Booking) -> Result<CalendarEvent, StoreError> {
        let link = self.store.link(booking.link()).await?;
        let title = link.as_ref().map_or("Meeting", |l| l.title());
        let invitee = booking.invitee();
        // The adapter adds who booked (name, email, zone) to this.
        let description = link
            .as_ref()
            .and_then(|l| l.description())
            .unwrap_or_default()
            .to_owned();
        Ok(CalendarEvent {
            title: format!("{title} with {}", invitee.name().as_str()),
            description,
            location: link.as_ref().and_then(|l| l.location()).map(str::to_owned),
            when: booking.slot(),
            attendee_name: invitee.name().clone(),
            attendee_email: invitee.email().clone(),
            attendee_time_zone: invitee.time_zone(),
        })
    }

    /// Notes the provider's event id on the chain's live row (later rows of the chain carry
    /// it on), so updates and the calendar's changes find the event and the booking.
    async fn record_event(
        &self,
        live: &Booking,
        provider: Provider,
        event_id: &str,
    ) -> Result<(), StoreError> {
        let reference = ProviderEventRef {
            provider: provider.as_str().to_owned(),
            event_id: event_id.to_owned(),
        };
        let mut row = live.clone();
        for _ in 0..5 {
            if row.provider_event() == Some(&reference) {
                return Ok(());
            }
            let change = Change {
                writes: vec![row.with_provider_event(reference.clone())],
                effects: Vec::new(),
            };
            match self.store.commit(change).await {
                Ok(()) => return Ok(()),
                Err(CommitError::VersionConflict(_) | CommitError::SlotTaken) => {
                    row = self.live_row(&row).await?;
                }
                Err(CommitError::Store(e)) => return Err(e),
            }
        }
        Err(StoreError::msg(
            "recording the calendar event kept losing races",
        ))
    }

    // ---- busy times ---------------------------------------------------------------------

    fn forget_busy(&self, host: HostId) {
        self.known_busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&host);
    }

    fn cached_busy(
        &self,
        host: HostId,
        within: TimeRange,
        max_age: TimeDelta,
        now: DateTime<Utc>,
    ) -> Option<Vec<TimeRange>> {
        let known = self
            .known_busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        known.get(&host)?.iter().rev().find_map(|k| {
            let covers = k.window.start() <= within.start() && within.end() <= k.window.end();
            (covers && now - k.read_at < max_age).then(|| {
                k.busy
                    .iter()
                    .copied()
                    .filter(|b| b.start() < within.end() && within.start() < b.end())
                    .collect()
            })
        })
    }

    fn remember_busy(
        &self,
        host: HostId,
        window: TimeRange,
        busy: Vec<TimeRange>,
        now: DateTime<Utc>,
    ) {
        let mut known = self
            .known_busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entries = known.entry(host).or_default();
        let keep = self.settings.serve_stale_for;
        entries.retain(|k| now - k.read_at < keep && k.window != window);
        entries.push(KnownBusy {
            window,
            read_at: now,
            busy,
        });
    }

    async fn read_busy(
        &self,
        connections: Vec<CalendarConnection>,
        within: TimeRange,
    ) -> Result<Vec<TimeRange>, String> {
        let mut busy = Vec::new();
        for connection in connections {
            if connection.status == ConnectionStatus::NeedsReauth {
                return Err(format!(
                    "the {} calendar of {} needs to be reconnected",
                    connection.provider, connection.account
                ));
            }
            let calendars = connection.busy_calendars.clone();
            let found = self
                .call(connection, |p, a| {
                    let calendars = calendars.clone();
                    Box::pin(async move { p.busy(&a, &calendars, within).await })
                })
                .await
                .map_err(|e| match e {
                    CallError::Reauth => "the calendar needs to be reconnected".to_owned(),
                    CallError::Provider(e) => e.to_string(),
                    CallError::Store(e) => e.to_string(),
                })?;
            busy.extend(found);
        }
        busy.sort_by_key(|r| (r.start(), r.end()));
        Ok(busy)
    }

    // ---- calendar-side changes ----------------------------------------------------------

    /// Checks a push notification: `channel_id` must name a live channel and `token` must be
    /// its secret. Returns the connection to sync.
    ///
    /// # Errors
    /// [`PushRefused`] for a forged, stale or unknown notification; `Ok(Err(..))` layering is
    /// avoided by reporting a store failure as [`PushCheckError::Store`].
    pub async fn verify_push(
        &self,
        provider: Provider,
        channel_id: &str,
        token: &str,
    ) -> Result<ConnectionId, PushCheckError> {
        let connection = self
            .store
            .connection_by_channel(channel_id)
            .await?
            .filter(|c| c.provider == provider)
            .ok_or(PushRefused::UnknownChannel)?;
        let channel = connection
            .channel
            .as_ref()
            .ok_or(PushRefused::UnknownChannel)?;
        if !same_secret(channel.token.expose().as_bytes(), token.as_bytes()) {
            return Err(PushRefused::WrongSecret.into());
        }
        if connection.status != ConnectionStatus::Active {
            return Err(PushRefused::Inactive.into());
        }
        Ok(connection.id)
    }

    /// Runs the incremental sync of one connection: every changed event of ours becomes a
    /// cancel (deleted) or a move (new times) through `changes`; echoes of our own writes and
    /// events of bookings no longer confirmed change nothing. Without `changes`, only the
    /// sync token is taken (the first sync after connecting).
    ///
    /// # Errors
    /// [`CalendarSyncFailure`]; a revoked grant marks the connection and returns an empty
    /// report.
    pub async fn sync(
        &self,
        id: ConnectionId,
        changes: Option<&dyn CalendarChanges>,
    ) -> Result<SyncReport, CalendarSyncFailure> {
        let Some(connection) = self
            .store
            .connection(id)
            .await?
            .filter(|c| c.status == ConnectionStatus::Active)
        else {
            return Ok(SyncReport::default());
        };
        let calendar = connection.write_calendar.clone();
        let token = connection.sync_token.clone();
        let batch: ChangeBatch = match self
            .call(connection.clone(), |p, a| {
                let (calendar, token) = (calendar.clone(), token.clone());
                Box::pin(async move { p.changes(&a, &calendar, token.as_deref()).await })
            })
            .await
        {
            Ok(batch) => batch,
            Err(CallError::Reauth) => return Ok(SyncReport::default()),
            Err(CallError::Provider(e)) => return Err(failure(e)),
            Err(CallError::Store(e)) => return Err(e.into()),
        };
        let mut report = SyncReport {
            seen: batch.changes.len(),
            full_resync: batch.full_resync,
            ..SyncReport::default()
        };
        if let Some(changes) = changes {
            for change in &batch.changes {
                match self.apply_remote(&connection, change, changes).await? {
                    Some(CalendarChange::Deleted) => report.cancelled += 1,
                    Some(CalendarChange::Moved(_)) => report.moved += 1,
                    None => {}
                }
            }
        }
        // Re-read: a token refresh during the call saved newer tokens.
        let latest = self.store.connection(id).await?.unwrap_or(connection);
        self.store
            .save_connection(&CalendarConnection {
                sync_token: Some(batch.next_sync_token),
                ..latest
            })
            .await?;
        Ok(report)
    }

    async fn apply_remote(
        &self,
        connection: &CalendarConnection,
        change: &crate::calendar::RemoteChange,
        changes: &dyn CalendarChanges,
    ) -> Result<Option<CalendarChange>, StoreError> {
        let provider = connection.provider.as_str();
        let found = match self
            .store
            .booking_by_provider_event(provider, &change.event_id)
            .await?
        {
            Some(row) => Some(row),
            // An event of ours whose id was not recorded yet (Google ids are ours).
            None => match chain_of_provider_event_id(&change.event_id) {
                Some(chain) => self.store.chain(chain).await?.into_iter().last(),
                None => None,
            },
        };
        let Some(row) = found else {
            return Ok(None); // not an event of ours
        };
        let live = self.live_row(&row).await?;
        if live.host() != connection.host || !matches!(live.status(), Status::Confirmed) {
            return Ok(None);
        }
        let what = match change.state {
            RemoteEventState::Deleted => CalendarChange::Deleted,
            RemoteEventState::Timed(when) => {
                // A time the chain has had is our own write echoing back — possibly an older
                // one, read before a reschedule committed, which must not undo it.
                let rows = self.store.chain(live.chain()).await?;
                if rows.iter().any(|row| row.slot() == when) {
                    return Ok(None);
                }
                CalendarChange::Moved(when)
            }
            // An all-day conversion we do not follow.
            RemoteEventState::Untimed => return Ok(None),
        };
        if live.provider_event().is_none() {
            self.record_event(&live, connection.provider, &change.event_id)
                .await?;
        }
        let after = changes
            .apply_calendar_change(provider, &change.event_id, what)
            .await?;
        let changed = after.is_some_and(|b| b.id() != live.id() || b.status() != live.status());
        Ok(changed.then_some(what))
    }

    // ---- renewal --------------------------------------------------------------------------

    /// Renews what is about to lapse on every active connection: access tokens near expiry
    /// are refreshed, and push channels expiring within [`CalendarSettings::renew_within`]
    /// (or missing, where an address is configured) are replaced — the new channel first, then
    /// the old one stopped. Running it twice in a row does nothing the second time.
    ///
    /// # Errors
    /// [`StoreError`] when connections cannot be listed; per-connection failures are in the
    /// report.
    pub async fn renew(&self) -> Result<RenewalReport, StoreError> {
        let mut report = RenewalReport::default();
        for connection in self.store.connections_in(ConnectionStatus::Active).await? {
            if self.provider(connection.provider).is_none() {
                continue;
            }
            let id = connection.id;
            let refreshed_before = connection.tokens.clone();
            match self.ensure_channel(connection, false).await {
                Ok(after) => {
                    if after.connection.status == ConnectionStatus::NeedsReauth {
                        report.needs_reauth += 1;
                    }
                    if after.connection.tokens != refreshed_before {
                        report.tokens_refreshed += 1;
                    }
                    report.channels_renewed += usize::from(after.renewed);
                    report.channels_stopped += usize::from(after.stopped_old);
                }
                Err(_) => report.failed.push(id),
            }
        }
        Ok(report)
    }

    /// Makes sure `connection` has a push channel that outlives the renewal horizon (when an
    /// address is configured), refreshing its token first if needed. `force` replaces a
    /// channel regardless of its expiry (a reconnect).
    async fn ensure_channel(
        &self,
        connection: CalendarConnection,
        force: bool,
    ) -> Result<Channelled, CalendarSyncFailure> {
        let now = self.clock.now();
        let id = connection.id;
        let connection = match self.fresh(connection).await {
            Ok(c) => c,
            Err(CallError::Reauth) => {
                let marked = self.store.connection(id).await?.ok_or_else(|| {
                    StoreError::msg("calendar connection vanished during renewal")
                })?;
                return Ok(Channelled::unchanged(marked));
            }
            Err(CallError::Provider(e)) => return Err(failure(e)),
            Err(CallError::Store(e)) => return Err(e.into()),
        };
        let Some(address) = self.push_addresses.get(&connection.provider).cloned() else {
            return Ok(Channelled::unchanged(connection));
        };
        let due = force
            || connection.channel.is_none()
            || connection.channel_expires_within(now, self.settings.renew_within);
        if !due {
            return Ok(Channelled::unchanged(connection));
        }
        if !force && let Some(current) = connection.channel.clone() {
            let ttl = self.settings.channel_ttl;
            match self
                .call(connection.clone(), |p, a| {
                    let current = current.clone();
                    Box::pin(async move { p.extend(&a, &current, ttl).await })
                })
                .await
            {
                Ok(Some(extended)) => {
                    let latest = self.store.connection(id).await?.unwrap_or(connection);
                    let renewed = CalendarConnection {
                        channel: Some(extended),
                        ..latest
                    };
                    self.store.save_connection(&renewed).await?;
                    return Ok(Channelled {
                        connection: renewed,
                        renewed: true,
                        stopped_old: false,
                    });
                }
                // Not extendable (or gone): register a new one below.
                Ok(None) | Err(CallError::Provider(ProviderError::NotFound(_))) => {}
                Err(CallError::Reauth) => {
                    let marked = self.store.connection(id).await?.unwrap_or(connection);
                    return Ok(Channelled::unchanged(marked));
                }
                Err(CallError::Provider(e)) => return Err(failure(e)),
                Err(CallError::Store(e)) => return Err(e.into()),
            }
        }
        let channel_id = format!("sk{}", self.ids.new_token().expose());
        let secret = Secret::new(self.ids.new_token().expose());
        let calendar = connection.write_calendar.clone();
        let ttl = self.settings.channel_ttl;
        let new_channel: PushChannel = match self
            .call(connection.clone(), |p, a| {
                let (channel_id, secret, address, calendar) = (
                    channel_id.clone(),
                    secret.clone(),
                    address.clone(),
                    calendar.clone(),
                );
                Box::pin(async move {
                    p.watch(&a, &calendar, &channel_id, &secret, &address, ttl)
                        .await
                })
            })
            .await
        {
            Ok(channel) => channel,
            Err(CallError::Reauth) => {
                let marked = self.store.connection(id).await?.unwrap_or(connection);
                return Ok(Channelled::unchanged(marked));
            }
            Err(CallError::Provider(e)) => return Err(failure(e)),
            Err(CallError::Store(e)) => return Err(e.into()),
        };
        let latest = self.store.connection(id).await?.unwrap_or(connection);
        let old = latest.channel.clone();
        let renewed = CalendarConnection {
            channel: Some(new_channel),
            ..latest
        };
        self.store.save_connection(&renewed).await?;
        let mut stopped_old = false;
        if let Some(old) = old
            && let Some(adapter) = self.provider(renewed.provider)
        {
            // Stopped after the new one is registered, so no change goes unnoticed; a
            // failure here only means the old one lapses by itself.
            stopped_old = adapter
                .stop(&renewed.tokens.access_token, &old)
                .await
                .is_ok();
        }
        Ok(Channelled {
            connection: renewed,
            renewed: true,
            stopped_old,
        })
    }

    // ---- tokens -----------------------------------------------------------------------------

    /// The connection with an access token good for a while: refreshed (and saved) when it is
    /// about to expire.
    async fn fresh(&self, connection: CalendarConnection) -> Result<CalendarConnection, CallError> {
        let now = self.clock.now();
        if connection.token_expires_within(now, self.settings.refresh_margin) {
            self.refresh(connection).await
        } else {
            Ok(connection)
        }
    }

    async fn refresh(
        &self,
        connection: CalendarConnection,
    ) -> Result<CalendarConnection, CallError> {
        let adapter = self
            .provider(connection.provider)
            .ok_or_else(|| CallError::Provider(not_configured(connection.provider)))?
            .clone();
        let Some(refresh_token) = connection.tokens.refresh_token.clone() else {
            self.mark_reauth(connection, "no refresh token").await?;
            return Err(CallError::Reauth);
        };
        match adapter.refresh(&refresh_token).await {
            Ok(tokens) => {
                let refreshed = connection.with_tokens(tokens);
                self.store.save_connection(&refreshed).await?;
                Ok(refreshed)
            }
            Err(ProviderError::Unauthorized(why)) => {
                self.mark_reauth(connection, &why).await?;
                Err(CallError::Reauth)
            }
            Err(e) => Err(CallError::Provider(e)),
        }
    }

    async fn mark_reauth(
        &self,
        connection: CalendarConnection,
        why: &str,
    ) -> Result<(), StoreError> {
        let host = connection.host;
        let now = self.clock.now();
        self.store
            .save_connection(&connection.needing_reauth(
                format!("access was refused ({why}): reconnect the calendar"),
                now,
            ))
            .await?;
        self.forget_busy(host);
        Ok(())
    }

    /// Runs one provider call with a fresh token; a 401 is answered by one refresh and one
    /// more try, and a second refusal marks the connection `needs_reauth`.
    async fn call<R, F>(&self, connection: CalendarConnection, op: F) -> Result<R, CallError>
    where
        F: for<'a> Fn(&'a dyn CalendarProvider, Secret) -> Call<'a, R>,
    {
        let adapter = self
            .provider(connection.provider)
            .ok_or_else(|| CallError::Provider(not_configured(connection.provider)))?
            .clone();
        let connection = self.fresh(connection).await?;
        match op(adapter.as_ref(), connection.tokens.access_token.clone()).await {
            Err(ProviderError::Unauthorized(_)) => {
                let refreshed = self.refresh(connection).await?;
                match op(adapter.as_ref(), refreshed.tokens.access_token.clone()).await {
                    Err(ProviderError::Unauthorized(why)) => {
                        self.mark_reauth(refreshed, &why).await?;
                        Err(CallError::Reauth)
                    }
                    other => other.map_err(CallError::Provider),
                }
            }
            other => other.map_err(CallError::Provider),
        }
    }

    fn adapter(
        &self,
        provider: Provider,
    ) -> Result<Arc<dyn CalendarProvider>, CalendarSyncFailure> {
        self.provider(provider)
            .cloned()
            .ok_or_else(|| failure(not_configured(provider)))
    }
}

#[async_trait]
impl<S, C, T> BusyCalendar for ConnectedCalendars<S, C, T>
where
    S: BookingStore + CalendarConnections,
    C: Clock,
    T: TokenSource,
{
    async fn busy(
        &self,
        host: HostId,
        within: TimeRange,
    ) -> Result<Vec<TimeRange>, BusyCalendarError> {
        let connections: Vec<_> = self
            .store
            .host_connections(host)
            .await
            .map_err(|e| BusyCalendarError(e.to_string()))?
            .into_iter()
            .filter(|c| {
                c.status != ConnectionStatus::Revoked && self.provider(c.provider).is_some()
            })
            .collect();
        if connections.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        if let Some(busy) = self.cached_busy(host, within, self.settings.busy_cache_for, now) {
            return Ok(busy);
        }
        match self.read_busy(connections, within).await {
            Ok(busy) => {
                self.remember_busy(host, within, busy.clone(), now);
                Ok(busy)
            }
            Err(why) => self
                .cached_busy(host, within, self.settings.serve_stale_for, now)
                .ok_or(BusyCalendarError(why)),
        }
    }
}

/// Why a push notification was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum PushCheckError {
    /// Not from a channel of ours.
    #[error(transparent)]
    Refused(#[from] PushRefused),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A connection after [`ConnectedCalendars::ensure_channel`].
struct Channelled {
    connection: CalendarConnection,
    renewed: bool,
    stopped_old: bool,
}

impl Channelled {
    fn unchanged(connection: CalendarConnection) -> Self {
        Self {
            connection,
            renewed: false,
            stopped_old: false,
        }
    }
}

enum CallError {
    /// The connection was marked `needs_reauth`.
    Reauth,
    Provider(ProviderError),
    Store(StoreError),
}

impl From<StoreError> for CallError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

fn not_configured(provider: Provider) -> ProviderError {
    ProviderError::Transient {
        message: format!("the {provider} calendar integration is not configured"),
        retry_after: None,
    }
}

fn failure(e: ProviderError) -> CalendarSyncFailure {
    match e {
        ProviderError::Transient {
            message,
            retry_after,
        } => CalendarSyncFailure::Transient {
            message,
            retry_after,
        },
        other => CalendarSyncFailure::Permanent(other.to_string()),
    }
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[async_trait]
impl<S, C, T> CalendarSync for ConnectedCalendars<S, C, T>
where
    S: BookingStore + CalendarConnections,
    C: Clock,
    T: TokenSource,
{
    async fn apply(
        &self,
        op: CalendarOp,
        booking: &Booking,
        _idempotency_key: &str,
    ) -> Result<CalendarWrite, CalendarSyncError> {
        // The event id comes from the chain, so the effect's key is not needed to dedupe.
        self.write(op, booking).await.map_err(|e| match e {
            CalendarSyncFailure::Transient {
                message,
                retry_after,
            } => CalendarSyncError::Transient {
                message,
                retry_after,
            },
            CalendarSyncFailure::Permanent(message) => CalendarSyncError::Permanent(message),
            CalendarSyncFailure::Store(e) => CalendarSyncError::Transient {
                message: e.to_string(),
                retry_after: None,
            },
        })
    }
}

/// A store that keeps bookings and calendar connections: what [`ConnectedCalendars`] runs on,
/// as one trait object (`Arc<dyn CalendarStore>`).
pub trait CalendarStore: BookingStore + CalendarConnections {}

impl<T: BookingStore + CalendarConnections + ?Sized> CalendarStore for T {}

/// The calendar integrations as the web side and the periodic jobs use them, without the
/// framework's type parameters: connecting and disconnecting, checking push notifications,
/// syncing and renewing.
#[async_trait]
pub trait CalendarIntegrations: Send + Sync + fmt::Debug {
    /// The providers with a configured OAuth client.
    fn providers(&self) -> Vec<Provider>;

    /// A fresh PKCE verifier for `provider`, or `None` when it is not configured.
    fn pkce_verifier(&self, provider: Provider) -> Option<Secret>;

    /// The consent page of `provider` (see [`CalendarProvider::authorize_url`]).
    ///
    /// # Errors
    /// [`CalendarSyncFailure`] when the provider is not configured or the URL is invalid.
    fn authorize_url(
        &self,
        provider: Provider,
        state: &str,
        verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<String, CalendarSyncFailure>;

    /// See [`ConnectedCalendars::connect`].
    ///
    /// # Errors
    /// [`CalendarSyncFailure`].
    async fn connect(
        &self,
        host: HostId,
        provider: Provider,
        code: &str,
        verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<CalendarConnection, CalendarSyncFailure>;

    /// See [`ConnectedCalendars::write_upcoming`].
    ///
    /// # Errors
    /// [`CalendarSyncFailure`].
    async fn write_upcoming(&self, host: HostId, limit: u32) -> Result<usize, CalendarSyncFailure>;

    /// See [`ConnectedCalendars::disconnect`].
    ///
    /// # Errors
    /// [`StoreError`].
    async fn disconnect(&self, host: HostId, id: ConnectionId) -> Result<bool, StoreError>;

    /// The host's connections, oldest first.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn host_connections(&self, host: HostId) -> Result<Vec<CalendarConnection>, StoreError>;

    /// See [`ConnectedCalendars::verify_push`].
    ///
    /// # Errors
    /// [`PushCheckError`].
    async fn verify_push(
        &self,
        provider: Provider,
        channel_id: &str,
        token: &str,
    ) -> Result<ConnectionId, PushCheckError>;

    /// See [`ConnectedCalendars::sync`].
    ///
    /// # Errors
    /// [`CalendarSyncFailure`].
    async fn sync(
        &self,
        id: ConnectionId,
        changes: &dyn CalendarChanges,
    ) -> Result<SyncReport, CalendarSyncFailure>;

    /// Answers a provider's request to re-authorise a connection's push channel.
    ///
    /// # Errors
    /// [`CalendarSyncFailure`].
    async fn reauthorize_channel(&self, id: ConnectionId) -> Result<(), CalendarSyncFailure>;

    /// Registers a new push channel for a connection whose channel the provider removed.
    ///
    /// # Errors
    /// [`CalendarSyncFailure`].
    async fn replace_channel(&self, id: ConnectionId) -> Result<(), CalendarSyncFailure>;

    /// See [`ConnectedCalendars::renew`].
    ///
    /// # Errors
    /// [`StoreError`].
    async fn renew(&self) -> Result<RenewalReport, StoreError>;

    /// The ids of every active connection (the poller syncs each).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn active_connections(&self) -> Result<Vec<ConnectionId>, StoreError>;
}

#[async_trait]
impl<S, C, T> CalendarIntegrations for ConnectedCalendars<S, C, T>
where
    S: BookingStore + CalendarConnections,
    C: Clock,
    T: TokenSource,
{
    fn providers(&self) -> Vec<Provider> {
        self.providers.iter().map(|p| p.provider()).collect()
    }

    fn pkce_verifier(&self, provider: Provider) -> Option<Secret> {
        self.provider(provider).map(|p| p.pkce_verifier())
    }

    fn authorize_url(
        &self,
        provider: Provider,
        state: &str,
        verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<String, CalendarSyncFailure> {
        self.adapter(provider)?
            .authorize_url(state, verifier, redirect_uri)
            .map_err(failure)
    }

    async fn connect(
        &self,
        host: HostId,
        provider: Provider,
        code: &str,
        verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<CalendarConnection, CalendarSyncFailure> {
        ConnectedCalendars::connect(self, host, provider, code, verifier, redirect_uri).await
    }

    async fn write_upcoming(&self, host: HostId, limit: u32) -> Result<usize, CalendarSyncFailure> {
        ConnectedCalendars::write_upcoming(self, host, limit).await
    }

    async fn disconnect(&self, host: HostId, id: ConnectionId) -> Result<bool, StoreError> {
        ConnectedCalendars::disconnect(self, host, id).await
    }

    async fn host_connections(&self, host: HostId) -> Result<Vec<CalendarConnection>, StoreError> {
        self.store.host_connections(host).await
    }

    async fn verify_push(
        &self,
        provider: Provider,
        channel_id: &str,
        token: &str,
    ) -> Result<ConnectionId, PushCheckError> {
        ConnectedCalendars::verify_push(self, provider, channel_id, token).await
    }

    async fn sync(
        &self,
        id: ConnectionId,
        changes: &dyn CalendarChanges,
    ) -> Result<SyncReport, CalendarSyncFailure> {
        ConnectedCalendars::sync(self, id, Some(changes)).await
    }

    async fn reauthorize_channel(&self, id: ConnectionId) -> Result<(), CalendarSyncFailure> {
        let Some(connection) = self.store.connection(id).await? else {
            return Ok(());
        };
        let Some(channel) = connection.channel.clone() else {
            return Ok(());
        };
        match self
            .call(connection, |p, a| {
                let channel = channel.clone();
                Box::pin(async move { p.reauthorize(&a, &channel).await })
            })
            .await
        {
            Ok(()) | Err(CallError::Reauth) => Ok(()),
            Err(CallError::Provider(e)) => Err(failure(e)),
            Err(CallError::Store(e)) => Err(e.into()),
        }
    }

    async fn replace_channel(&self, id: ConnectionId) -> Result<(), CalendarSyncFailure> {
        let Some(connection) = self
            .store
            .connection(id)
            .await?
            .filter(|c| c.status == ConnectionStatus::Active)
        else {
            return Ok(());
        };
        // The provider removed it: forget it rather than try to stop it.
        let without = CalendarConnection {
            channel: None,
            ..connection
        };
        self.store.save_connection(&without).await?;
        self.ensure_channel(without, true).await.map(|_| ())
    }

    async fn renew(&self) -> Result<RenewalReport, StoreError> {
        ConnectedCalendars::renew(self).await
    }

    async fn active_connections(&self) -> Result<Vec<ConnectionId>, StoreError> {
        Ok(self
            .store
            .connections_in(ConnectionStatus::Active)
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect())
    }
}

/// Where the web side hands a verified push notification: the connection to sync soon. The
/// binary's implementation queues it for a background worker, so the provider gets its answer
/// at once.
pub trait SyncRequests: Send + Sync + fmt::Debug {
    /// Asks for `id` to be synced soon. Never blocks; a full queue may drop the request (the
    /// poller catches up).
    fn request_sync(&self, id: ConnectionId);
}
