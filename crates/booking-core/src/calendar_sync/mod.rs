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

mod busy;
mod changes;
mod connect;
mod integrations;
mod renewal;
mod tokens;
mod write;

pub use integrations::CalendarIntegrations;

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
    /// Hosts found without a usable connection, and when.
    unconnected: Mutex<HashMap<HostId, DateTime<Utc>>>,
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
            unconnected: Mutex::new(HashMap::new()),
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

/// A store that keeps bookings and calendar connections: what [`ConnectedCalendars`] runs on,
/// as one trait object (`Arc<dyn CalendarStore>`).
pub trait CalendarStore: BookingStore + CalendarConnections {}

impl<T: BookingStore + CalendarConnections + ?Sized> CalendarStore for T {}

/// Where the web side hands a verified push notification: the connection to sync soon. The
/// binary's implementation queues it for a background worker, so the provider gets its answer
/// at once.
pub trait SyncRequests: Send + Sync + fmt::Debug {
    /// Asks for `id` to be synced soon. Never blocks; a full queue may drop the request (the
    /// poller catches up).
    fn request_sync(&self, id: ConnectionId);
}
