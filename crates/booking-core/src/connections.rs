//! Calendar connections: which host reached which calendar account, with which (sealed at rest)
//! tokens, in which state, and where its incremental sync and push channel stand. The
//! [`CalendarConnections`] port keeps them; every store implements it and
//! [`testkit::connections_conformance`](crate::testkit::connections_conformance) holds them to
//! one behaviour.
//!
//! A connection is provider-neutral: Google and Microsoft connections differ only in
//! [`Provider`] and in what their adapter (a [`CalendarProvider`](crate::calendar::CalendarProvider))
//! does with the same fields.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::calendar::{ConnectionStatus, OAuthTokens, Provider, PushChannel};
use crate::ids::HostId;
use crate::ports::StoreError;

/// Identifies one calendar connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(Uuid);

impl ConnectionId {
    /// Wraps a UUID.
    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    /// The UUID.
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// Parses the hyphenated form.
    ///
    /// # Errors
    /// [`uuid::Error`] for anything but a UUID.
    pub fn parse(text: &str) -> Result<Self, uuid::Error> {
        Uuid::parse_str(text).map(Self)
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The last thing that went wrong with a connection, shown to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionFailure {
    /// What failed, without secrets.
    pub message: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// One host's link to one calendar account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarConnection {
    /// Its id.
    pub id: ConnectionId,
    /// Whose it is.
    pub host: HostId,
    /// Which provider.
    pub provider: Provider,
    /// The account's email (its primary calendar's id), shown to the host.
    pub account: String,
    /// Calendars whose busy times block slots.
    pub busy_calendars: Vec<String>,
    /// The calendar booked meetings are written to.
    pub write_calendar: String,
    /// The OAuth grant; sealed at rest by the stores.
    pub tokens: OAuthTokens,
    /// Whether it can be used.
    pub status: ConnectionStatus,
    /// Where the incremental sync resumes, once one ran.
    pub sync_token: Option<String>,
    /// The push channel, while one is registered; its token is sealed at rest.
    pub channel: Option<PushChannel>,
    /// The last failure, until the next success clears it.
    pub last_error: Option<ConnectionFailure>,
    /// When it was first connected.
    pub created_at: DateTime<Utc>,
}

impl CalendarConnection {
    /// A new active connection right after the host granted access. It reads busy times from
    /// and writes to `calendar` (the account's primary calendar).
    pub fn connected(
        id: ConnectionId,
        host: HostId,
        provider: Provider,
        account: impl Into<String>,
        calendar: impl Into<String>,
        tokens: OAuthTokens,
        now: DateTime<Utc>,
    ) -> Self {
        let calendar = calendar.into();
        Self {
            id,
            host,
            provider,
            account: account.into(),
            busy_calendars: vec![calendar.clone()],
            write_calendar: calendar,
            tokens,
            status: ConnectionStatus::Active,
            sync_token: None,
            channel: None,
            last_error: None,
            created_at: now,
        }
    }

    /// Whether its access token is expired, or will be within `margin`, at `now`. A token
    /// whose expiry the provider did not tell is taken as fresh (a 401 then forces a refresh).
    pub fn token_expires_within(&self, now: DateTime<Utc>, margin: TimeDelta) -> bool {
        self.tokens.expires_at.is_some_and(|at| at <= now + margin)
    }

    /// Whether its push channel (if any) expires within `horizon` of `now`.
    pub fn channel_expires_within(&self, now: DateTime<Utc>, horizon: TimeDelta) -> bool {
        self.channel
            .as_ref()
            .is_some_and(|c| c.expires_at <= now + horizon)
    }

    /// The same connection with fresh tokens; a refresh answer without a refresh token keeps
    /// the old one. Clears a pending re-authorisation and the last error.
    #[must_use]
    pub fn with_tokens(mut self, tokens: OAuthTokens) -> Self {
        let refresh = tokens.refresh_token.or(self.tokens.refresh_token);
        self.tokens = OAuthTokens {
            refresh_token: refresh,
            ..tokens
        };
        self.status = ConnectionStatus::Active;
        self.last_error = None;
        self
    }

    /// The same connection, waiting for the host to reconnect.
    #[must_use]
    pub fn needing_reauth(mut self, why: impl Into<String>, now: DateTime<Utc>) -> Self {
        self.status = ConnectionStatus::NeedsReauth;
        self.last_error = Some(ConnectionFailure {
            message: why.into(),
            at: now,
        });
        self
    }

    /// The same connection with a failure noted (the status stays as it is).
    #[must_use]
    pub fn with_failure(mut self, why: impl Into<String>, now: DateTime<Utc>) -> Self {
        self.last_error = Some(ConnectionFailure {
            message: why.into(),
            at: now,
        });
        self
    }
}

/// Where calendar connections are kept.
///
/// A host has at most one connection per provider and account: saving a connection with the
/// same host, provider and account as another one replaces that one's row (keeping its id).
#[async_trait]
pub trait CalendarConnections: Send + Sync {
    /// Creates or replaces a connection (matched by id, or by host + provider + account).
    /// Returns the id it is stored under.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure, including an unknown host.
    async fn save_connection(
        &self,
        connection: &CalendarConnection,
    ) -> Result<ConnectionId, StoreError>;

    /// Loads a connection.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (an unknown id is `Ok(None)`).
    async fn connection(&self, id: ConnectionId) -> Result<Option<CalendarConnection>, StoreError>;

    /// The host's connections, oldest first, whatever their status.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn host_connections(&self, host: HostId) -> Result<Vec<CalendarConnection>, StoreError>;

    /// The connection whose push channel has this id.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (an unknown channel is `Ok(None)`, also one whose
    /// id no store can hold, e.g. with a NUL).
    async fn connection_by_channel(
        &self,
        channel_id: &str,
    ) -> Result<Option<CalendarConnection>, StoreError>;

    /// Every connection in `status`, oldest first (the poller and the renewal job walk the
    /// active ones).
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn connections_in(
        &self,
        status: ConnectionStatus,
    ) -> Result<Vec<CalendarConnection>, StoreError>;
}

/// An `Arc` of the port is the port.
#[async_trait]
impl<T: CalendarConnections + ?Sized> CalendarConnections for std::sync::Arc<T> {
    async fn save_connection(
        &self,
        connection: &CalendarConnection,
    ) -> Result<ConnectionId, StoreError> {
        (**self).save_connection(connection).await
    }
    async fn connection(&self, id: ConnectionId) -> Result<Option<CalendarConnection>, StoreError> {
        (**self).connection(id).await
    }
    async fn host_connections(&self, host: HostId) -> Result<Vec<CalendarConnection>, StoreError> {
        (**self).host_connections(host).await
    }
    async fn connection_by_channel(
        &self,
        channel_id: &str,
    ) -> Result<Option<CalendarConnection>, StoreError> {
        (**self).connection_by_channel(channel_id).await
    }
    async fn connections_in(
        &self,
        status: ConnectionStatus,
    ) -> Result<Vec<CalendarConnection>, StoreError> {
        (**self).connections_in(status).await
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::calendar::Secret;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, 4, h, 0, 0)
            .single()
            .expect("valid")
    }

    fn connection() -> CalendarConnection {
        CalendarConnection::connected(
            ConnectionId::from_uuid(Uuid::from_u128(1)),
            HostId::from_uuid(Uuid::from_u128(2)),
            Provider::Google,
            "host@example.com",
            "host@example.com",
            OAuthTokens {
                access_token: Secret::new("a1"),
                refresh_token: Some(Secret::new("r1")),
                expires_at: Some(at(10)),
            },
            at(9),
        )
    }

    #[test]
    fn refreshed_tokens_keep_the_refresh_token_when_none_comes_back() {
        let c = connection()
            .needing_reauth("invalid_grant", at(9))
            .with_tokens(OAuthTokens {
                access_token: Secret::new("a2"),
                refresh_token: None,
                expires_at: Some(at(11)),
            });
        assert_eq!(c.tokens.access_token.expose(), "a2");
        assert_eq!(c.tokens.refresh_token, Some(Secret::new("r1")));
        assert_eq!(c.status, ConnectionStatus::Active);
        assert_eq!(c.last_error, None);
    }

    #[test]
    fn expiry_checks_use_the_margin() {
        let c = connection();
        assert!(!c.token_expires_within(at(9), TimeDelta::minutes(5)));
        assert!(c.token_expires_within(at(9), TimeDelta::minutes(61)));
        assert!(!c.channel_expires_within(at(9), TimeDelta::hours(48)));
    }
}
