//! Calendar providers (Google, Microsoft): the provider-neutral types a connection works with
//! and the [`CalendarProvider`] port one provider account is reached through.
//!
//! The port is deliberately low-level: it speaks for *one* OAuth grant and knows nothing about
//! hosts, bookings or storage. The connection framework around it (which host owns which
//! tokens, when to refresh, what a remote change means for a booking) lives with the callers;
//! an adapter crate per provider (`calendar-google`, …) implements the port and maps the
//! provider's HTTP answers into [`ProviderError`], so callers decide on retries, re-auth and
//! parking without knowing any provider's status codes.
//!
//! Every event Slotkeeper writes gets an id derived from its chain ([`provider_event_id`]), so
//! a create retried after a lost response finds the event it already made instead of making a
//! second one.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use thiserror::Error;

use crate::ids::ChainId;
use crate::invitee::{Email, PersonName};
use crate::time::{TimeRange, TimeZoneName};

/// A calendar provider Slotkeeper can connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// Google Calendar.
    Google,
    /// Microsoft 365 / Outlook through Microsoft Graph.
    Microsoft,
}

impl Provider {
    /// The lowercase name stored in rows and used in URLs: `google` or `microsoft`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Google => "google",
            Self::Microsoft => "microsoft",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the known providers (or statuses).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown {kind}: {value:?}")]
pub struct UnknownName {
    /// What was being parsed (`calendar provider`, `connection status`).
    pub kind: &'static str,
    /// The text that did not match.
    pub value: String,
}

impl FromStr for Provider {
    type Err = UnknownName;

    /// # Errors
    /// [`UnknownName`] for anything but `google` and `microsoft`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "google" => Ok(Self::Google),
            "microsoft" => Ok(Self::Microsoft),
            other => Err(UnknownName { kind: "calendar provider", value: other.to_owned() }),
        }
    }
}

/// Whether a calendar connection can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionStatus {
    /// Tokens work: busy times are read, events written, changes synced.
    Active,
    /// The grant was revoked or the refresh token expired: the host must reconnect. Effects
    /// wait meanwhile instead of burning retries.
    NeedsReauth,
    /// The host disconnected: nothing is read or written any more.
    Revoked,
}

impl ConnectionStatus {
    /// The name stored in rows: `active`, `needs_reauth` or `revoked`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::NeedsReauth => "needs_reauth",
            Self::Revoked => "revoked",
        }
    }
}

impl fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConnectionStatus {
    type Err = UnknownName;

    /// # Errors
    /// [`UnknownName`] for anything but `active`, `needs_reauth` and `revoked`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "active" => Ok(Self::Active),
            "needs_reauth" => Ok(Self::NeedsReauth),
            "revoked" => Ok(Self::Revoked),
            other => Err(UnknownName { kind: "connection status", value: other.to_owned() }),
        }
    }
}

/// A credential (access or refresh token, channel secret, PKCE verifier). Its `Debug` never
/// shows the value, so it cannot leak through logs or error chains.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself, for the one place that must send or seal it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The tokens of one OAuth grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthTokens {
    /// Bearer token for API calls.
    pub access_token: Secret,
    /// Token to get new access tokens. Providers may leave it out of a refresh answer: the
    /// previous one then stays valid.
    pub refresh_token: Option<Secret>,
    /// When the access token stops working, if the provider said.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The event Slotkeeper writes to the host's calendar for a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEvent {
    /// Event title, e.g. "Intro call with Ada".
    pub title: String,
    /// Free text shown in the event (answers, links); the adapter adds the attendee.
    pub description: String,
    /// Where the meeting happens, if anywhere.
    pub location: Option<String>,
    /// Start and end, UTC.
    pub when: TimeRange,
    /// The attendee's name, written into the description (no invitation is sent: the attendee
    /// gets Slotkeeper's own mail with the .ics).
    pub attendee_name: PersonName,
    /// The attendee's email, written into the description.
    pub attendee_email: Email,
    /// The attendee's time zone, written into the description.
    pub attendee_time_zone: TimeZoneName,
}

/// A push-notification channel (Google `events.watch`, a Graph subscription) as the provider
/// granted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushChannel {
    /// Our id for the channel; notifications carry it.
    pub id: String,
    /// Per-channel secret the provider echoes in every notification.
    pub token: Secret,
    /// The provider's id of the watched resource (needed to stop the channel).
    pub resource_id: String,
    /// The expiration the provider *granted*, which may be sooner than asked.
    pub expires_at: DateTime<Utc>,
}

/// What an event in the provider's calendar looks like now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteEventState {
    /// Deleted, or its status is `cancelled`.
    Deleted,
    /// The event sits at these times. The caller compares them with the booking: equal times
    /// are an echo of our own write and change nothing.
    Timed(TimeRange),
    /// Still there, but with no usable start and end (all-day, or times missing).
    Untimed,
}

/// One changed event reported by an incremental sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteChange {
    /// The provider's event id (for our events, [`provider_event_id`] of the chain).
    pub event_id: String,
    /// The event's state now.
    pub state: RemoteEventState,
}

/// The result of one sync run over a calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeBatch {
    /// Events changed since the sync token (or every event, on a full listing).
    pub changes: Vec<RemoteChange>,
    /// Token to pass to the next run.
    pub next_sync_token: String,
    /// The sync token was refused as expired and the calendar was listed in full: `changes`
    /// holds every event, so the caller must treat them as states, not as news, and must not
    /// read an event missing from the list as deleted.
    pub full_resync: bool,
}

/// Why a provider call failed, in the terms callers act on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProviderError {
    /// Worth another attempt: network trouble, a 5xx, throttling (429). `retry_after` is the
    /// provider's `Retry-After`, when it gave one.
    #[error("calendar provider unavailable: {message}")]
    Transient {
        /// What went wrong.
        message: String,
        /// How long the provider asked us to wait.
        retry_after: Option<TimeDelta>,
    },
    /// The grant is no longer valid (`invalid_grant`, or a 401 with a fresh token): the
    /// connection needs the host to reconnect.
    #[error("calendar access revoked: {0}")]
    Unauthorized(String),
    /// The event, channel or calendar does not exist (404/410).
    #[error("not found at the calendar provider: {0}")]
    NotFound(String),
    /// Retrying cannot help (a malformed request, a refused configuration).
    #[error("calendar provider refused the request: {0}")]
    Permanent(String),
}

impl ProviderError {
    /// Whether the same call may succeed later without anyone acting.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }
}

/// The prefix of every event id Slotkeeper writes. Its letters are in Google's event-id
/// alphabet (base32hex: `a`–`v`, `0`–`9`).
const EVENT_ID_PREFIX: &str = "slotkeeper";

/// The provider event id of a chain's calendar event: the same for every attempt and every
/// reschedule, so a retried create cannot make a second event and a reschedule updates the
/// event in place.
///
/// Google accepts only lowercase `a`–`v` and digits, 5 to 1024 characters; a UUID's hex
/// digits fit that alphabet once the dashes are gone.
///
/// ```
/// use booking_core::calendar::{chain_of_provider_event_id, provider_event_id};
/// use booking_core::ChainId;
///
/// let chain = ChainId::parse("0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f")?;
/// let id = provider_event_id(chain);
/// assert_eq!(id, "slotkeeper0b6f3c9e1d2a4c5b9e8f7a6b5c4d3e2f");
/// assert_eq!(chain_of_provider_event_id(&id), Some(chain));
/// # Ok::<(), uuid::Error>(())
/// ```
pub fn provider_event_id(chain: ChainId) -> String {
    format!("{EVENT_ID_PREFIX}{}", chain.as_uuid().simple())
}

/// The chain whose event `event_id` is, if Slotkeeper made it.
pub fn chain_of_provider_event_id(event_id: &str) -> Option<ChainId> {
    let hex = event_id.strip_prefix(EVENT_ID_PREFIX)?;
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    ChainId::parse(hex).ok()
}

/// One account at a calendar provider, reached with one OAuth client.
///
/// Methods taking `access` use that bearer token as it is: refreshing it before it expires is
/// the caller's job ([`CalendarProvider::refresh`]). `calendar` is a provider calendar id
/// (`primary` works for the account's main calendar).
#[async_trait::async_trait]
pub trait CalendarProvider: Send + Sync + fmt::Debug {
    /// Which provider this is.
    fn provider(&self) -> Provider;

    /// A fresh random PKCE code verifier, kept by the caller (e.g. in the session) between
    /// [`authorize_url`](Self::authorize_url) and [`exchange_code`](Self::exchange_code).
    fn pkce_verifier(&self) -> Secret;

    /// The consent page to send the host to: authorization code flow with offline access,
    /// the S256 challenge of `pkce_verifier`, and `state` (bound to the host's session by the
    /// caller) echoed back to `redirect_uri`.
    ///
    /// # Errors
    /// [`ProviderError::Permanent`] when `redirect_uri` or the configured URLs are not URLs.
    fn authorize_url(
        &self,
        state: &str,
        pkce_verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<String, ProviderError>;

    /// Trades the authorization code from the redirect for tokens, and names the account
    /// (its primary calendar's id, which is the account's email).
    ///
    /// # Errors
    /// [`ProviderError::Unauthorized`] when the code or verifier is refused;
    /// [`ProviderError::Transient`] when the provider cannot be reached.
    async fn exchange_code(
        &self,
        code: &str,
        pkce_verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<(OAuthTokens, String), ProviderError>;

    /// A new access token for `refresh_token`.
    ///
    /// # Errors
    /// [`ProviderError::Unauthorized`] on `invalid_grant` (revoked or expired grant: the
    /// connection needs re-authorisation); [`ProviderError::Transient`] when unreachable.
    async fn refresh(&self, refresh_token: &Secret) -> Result<OAuthTokens, ProviderError>;

    /// Busy ranges of `calendars` overlapping `within`, merged over all of them.
    ///
    /// # Errors
    /// [`ProviderError`]; a calendar the provider reports an error for fails the whole call
    /// (busy times must not be silently incomplete).
    async fn busy(
        &self,
        access: &Secret,
        calendars: &[String],
        within: TimeRange,
    ) -> Result<Vec<TimeRange>, ProviderError>;

    /// Creates the event for `event_id` without sending invitations and returns the
    /// *provider's* id of it. Google keeps the id it was given; Graph assigns its own and uses
    /// `event_id` as the create's idempotency key (`transactionId`). Callers store the returned
    /// id on the booking row and pass it to [`update_event`](Self::update_event),
    /// [`delete_event`](Self::delete_event) and [`event_state`](Self::event_state); remote
    /// changes ([`RemoteChange::event_id`]) carry provider ids too. A retry after a lost
    /// response finds the event already made and returns its id instead of making a second.
    ///
    /// # Errors
    /// [`ProviderError`].
    async fn create_event(
        &self,
        access: &Secret,
        calendar: &str,
        event_id: &str,
        event: &CalendarEvent,
    ) -> Result<String, ProviderError>;

    /// Rewrites the event `event_id` in place (same id) without sending updates.
    ///
    /// # Errors
    /// [`ProviderError::NotFound`] when the event is gone; other [`ProviderError`]s.
    async fn update_event(
        &self,
        access: &Secret,
        calendar: &str,
        event_id: &str,
        event: &CalendarEvent,
    ) -> Result<(), ProviderError>;

    /// Deletes the event `event_id` without sending updates. An event already gone counts
    /// as deleted.
    ///
    /// # Errors
    /// [`ProviderError`] other than not-found.
    async fn delete_event(
        &self,
        access: &Secret,
        calendar: &str,
        event_id: &str,
    ) -> Result<(), ProviderError>;

    /// The state of one event now (the spec's "fetch the affected event").
    ///
    /// # Errors
    /// [`ProviderError`]; a missing event is [`RemoteEventState::Deleted`], not an error.
    async fn event_state(
        &self,
        access: &Secret,
        calendar: &str,
        event_id: &str,
    ) -> Result<RemoteEventState, ProviderError>;

    /// Registers a push channel on `calendar`'s events, delivering to `address` with
    /// `channel_token` echoed in each notification, asking for `ttl`. Returns the channel as
    /// granted (its expiry may be sooner than asked).
    ///
    /// # Errors
    /// [`ProviderError`].
    async fn watch(
        &self,
        access: &Secret,
        calendar: &str,
        channel_id: &str,
        channel_token: &Secret,
        address: &str,
        ttl: TimeDelta,
    ) -> Result<PushChannel, ProviderError>;

    /// Pushes a channel's expiry out to now + `ttl` in place. `Ok(None)` means this provider
    /// renews by registering a new channel ([`watch`](Self::watch), then
    /// [`stop`](Self::stop) of the old one), which is what the default does; a provider that
    /// extends in place (Graph: `PATCH expirationDateTime`) returns the channel with the
    /// expiry it *granted*.
    ///
    /// # Errors
    /// [`ProviderError::NotFound`] when the provider removed the channel (register a new one);
    /// other [`ProviderError`]s.
    async fn extend(
        &self,
        access: &Secret,
        channel: &PushChannel,
        ttl: TimeDelta,
    ) -> Result<Option<PushChannel>, ProviderError> {
        let _ = (access, channel, ttl);
        Ok(None)
    }

    /// Answers a provider's request to re-authorise a channel (Graph's lifecycle notification
    /// `reauthorizationRequired`: `POST /subscriptions/{id}/reauthorize`). Providers without
    /// such a request do nothing, which is the default.
    ///
    /// # Errors
    /// [`ProviderError::NotFound`] when the channel is gone; other [`ProviderError`]s.
    async fn reauthorize(
        &self,
        access: &Secret,
        channel: &PushChannel,
    ) -> Result<(), ProviderError> {
        let _ = (access, channel);
        Ok(())
    }

    /// Stops a push channel. A channel already gone counts as stopped.
    ///
    /// # Errors
    /// [`ProviderError`] other than not-found.
    async fn stop(&self, access: &Secret, channel: &PushChannel) -> Result<(), ProviderError>;

    /// Events changed since `sync_token`, all pages; without a token (or when the provider
    /// says the token expired) a full listing with [`ChangeBatch::full_resync`] set.
    ///
    /// # Errors
    /// [`ProviderError`].
    async fn changes(
        &self,
        access: &Secret,
        calendar: &str,
        sync_token: Option<&str>,
    ) -> Result<ChangeBatch, ProviderError>;
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn google_alphabet(id: &str) -> bool {
        (5..=1024).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b))
    }

    #[test]
    fn event_ids_are_in_googles_alphabet_and_deterministic() {
        for n in [0u128, 1, u128::MAX, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210] {
            let chain = ChainId::from_uuid(Uuid::from_u128(n));
            let id = provider_event_id(chain);
            assert!(google_alphabet(&id), "{id}");
            assert_eq!(id, provider_event_id(chain));
            assert_eq!(chain_of_provider_event_id(&id), Some(chain));
        }
        let a = provider_event_id(ChainId::from_uuid(Uuid::from_u128(1)));
        let b = provider_event_id(ChainId::from_uuid(Uuid::from_u128(2)));
        assert_ne!(a, b);
    }

    #[test]
    fn a_hyphenated_uuid_is_not_a_valid_event_id() {
        let chain = ChainId::from_uuid(Uuid::from_u128(7));
        assert!(!google_alphabet(&chain.to_string()));
    }

    #[test]
    fn foreign_event_ids_name_no_chain() {
        for id in [
            "abc",
            "slotkeeper",
            "slotkeeper0123",
            "slotkeeperzz000000000000000000000000000000",
            "other00000000000000000000000000000001",
            "slotkeeper0000000000000000000000000000000g",
        ] {
            assert_eq!(chain_of_provider_event_id(id), None, "{id}");
        }
    }

    #[test]
    fn provider_and_status_names_round_trip() {
        for p in [Provider::Google, Provider::Microsoft] {
            assert_eq!(p.to_string().parse::<Provider>(), Ok(p));
        }
        for s in [ConnectionStatus::Active, ConnectionStatus::NeedsReauth, ConnectionStatus::Revoked] {
            assert_eq!(s.to_string().parse::<ConnectionStatus>(), Ok(s));
        }
        assert_eq!(ConnectionStatus::NeedsReauth.to_string(), "needs_reauth");
        assert!("Google".parse::<Provider>().is_err());
        assert!("expired".parse::<ConnectionStatus>().is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        let tokens = OAuthTokens {
            access_token: Secret::new("ya29.access"),
            refresh_token: Some(Secret::new("1//refresh")),
            expires_at: None,
        };
        let shown = format!("{tokens:?}");
        assert!(!shown.contains("ya29") && !shown.contains("1//"), "{shown}");
        assert_eq!(tokens.access_token.expose(), "ya29.access");
    }

    #[test]
    fn only_transient_errors_are_transient() {
        assert!(ProviderError::Transient { message: "503".into(), retry_after: None }.is_transient());
        assert!(!ProviderError::Unauthorized("invalid_grant".into()).is_transient());
        assert!(!ProviderError::NotFound("x".into()).is_transient());
    }
}
