//! The `calendar_connections` row, read alike by both stores, and its mapping to and from the
//! domain: OAuth tokens and the channel secret are sealed per row and column.

use booking_core::calendar::{ConnectionStatus, OAuthTokens, Provider, PushChannel, Secret};
use booking_core::connections::{CalendarConnection, ConnectionFailure, ConnectionId};
use booking_core::ids::HostId;
use booking_core::ports::StoreError;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::TokenSeal;

/// The columns [`ConnectionRow`] reads, in its order (a macro, so queries are `concat!`ed
/// into static SQL text).
#[macro_export]
macro_rules! connection_columns {
    () => {
        "id, host_id, provider, account, busy_calendars, write_calendar, access_token_sealed, \
         refresh_token_sealed, token_expires_at, status, sync_token, channel_id, \
         channel_token_sealed, channel_resource_id, channel_expires_at, last_error, \
         last_error_at, created_at"
    };
}

const ACCESS: &str = "access_token";
const REFRESH: &str = "refresh_token";
const CHANNEL: &str = "channel_token";

/// A row of `calendar_connections`.
#[derive(Debug, Clone, sqlx::FromRow)]
#[allow(missing_docs)]
pub struct ConnectionRow {
    pub id: Uuid,
    pub host_id: Uuid,
    pub provider: String,
    pub account: String,
    pub busy_calendars: String,
    pub write_calendar: String,
    pub access_token_sealed: Vec<u8>,
    pub refresh_token_sealed: Option<Vec<u8>>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub status: String,
    pub sync_token: Option<String>,
    pub channel_id: Option<String>,
    pub channel_token_sealed: Option<Vec<u8>>,
    pub channel_resource_id: Option<String>,
    pub channel_expires_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl ConnectionRow {
    /// The row of `connection`, stored under `id` (which may be the id of the row it
    /// replaces), with its secrets sealed for that id.
    ///
    /// # Errors
    /// [`StoreError`] when sealing fails or the calendar list cannot be encoded.
    pub fn encode(
        connection: &CalendarConnection,
        id: Uuid,
        seal: &TokenSeal,
    ) -> Result<Self, StoreError> {
        let sealed = |column: &str, secret: &Secret| {
            seal.seal_text(id, column, secret.expose())
                .map_err(|e| StoreError::new("sealing a calendar token", e))
        };
        let channel = connection.channel.as_ref();
        Ok(Self {
            id,
            host_id: connection.host.as_uuid(),
            provider: connection.provider.as_str().to_owned(),
            account: connection.account.clone(),
            busy_calendars: serde_json::to_string(&connection.busy_calendars)
                .map_err(|e| StoreError::new("encoding busy calendars", e))?,
            write_calendar: connection.write_calendar.clone(),
            access_token_sealed: sealed(ACCESS, &connection.tokens.access_token)?,
            refresh_token_sealed: connection
                .tokens
                .refresh_token
                .as_ref()
                .map(|t| sealed(REFRESH, t))
                .transpose()?,
            token_expires_at: connection.tokens.expires_at,
            status: connection.status.as_str().to_owned(),
            sync_token: connection.sync_token.clone(),
            channel_id: channel.map(|c| c.id.clone()),
            channel_token_sealed: channel.map(|c| sealed(CHANNEL, &c.token)).transpose()?,
            channel_resource_id: channel.map(|c| c.resource_id.clone()),
            channel_expires_at: channel.map(|c| c.expires_at),
            last_error: connection.last_error.as_ref().map(|f| f.message.clone()),
            last_error_at: connection.last_error.as_ref().map(|f| f.at),
            created_at: connection.created_at,
        })
    }

    /// The domain connection, secrets opened.
    ///
    /// # Errors
    /// [`StoreError`] for an invalid column or a secret that does not open (another
    /// `SECRET_KEY`).
    pub fn into_connection(self, seal: &TokenSeal) -> Result<CalendarConnection, StoreError> {
        let id = self.id;
        let bad =
            |what: &str| StoreError::msg(format!("calendar connection {id} is invalid: {what}"));
        let open = |column: &str, sealed: &[u8]| {
            seal.open_text(id, column, sealed)
                .map(Secret::new)
                .map_err(|e| StoreError::new(format!("calendar connection {id}: {column}"), e))
        };
        let channel = match (
            self.channel_id,
            self.channel_token_sealed,
            self.channel_resource_id,
            self.channel_expires_at,
        ) {
            (Some(channel_id), Some(token), Some(resource_id), Some(expires_at)) => {
                Some(PushChannel {
                    id: channel_id,
                    token: open(CHANNEL, &token)?,
                    resource_id,
                    expires_at,
                })
            }
            (None, None, None, None) => None,
            _ => return Err(bad("push channel columns are partly empty")),
        };
        let last_error = match (self.last_error, self.last_error_at) {
            (Some(message), Some(at)) => Some(ConnectionFailure { message, at }),
            (None, None) => None,
            _ => return Err(bad("last error without its time")),
        };
        Ok(CalendarConnection {
            id: ConnectionId::from_uuid(id),
            host: HostId::from_uuid(self.host_id),
            provider: self
                .provider
                .parse::<Provider>()
                .map_err(|e| bad(&e.to_string()))?,
            account: self.account,
            busy_calendars: serde_json::from_str(&self.busy_calendars)
                .map_err(|e| bad(&format!("busy calendars: {e}")))?,
            write_calendar: self.write_calendar,
            tokens: OAuthTokens {
                access_token: open(ACCESS, &self.access_token_sealed)?,
                refresh_token: self
                    .refresh_token_sealed
                    .map(|t| open(REFRESH, &t))
                    .transpose()?,
                expires_at: self.token_expires_at,
            },
            status: self
                .status
                .parse::<ConnectionStatus>()
                .map_err(|e| bad(&e.to_string()))?,
            sync_token: self.sync_token,
            channel,
            last_error,
            created_at: self.created_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_connection_survives_encoding_and_its_secrets_are_sealed() {
        let at = Utc
            .with_ymd_and_hms(2027, 1, 4, 9, 0, 0)
            .single()
            .expect("valid");
        let mut c = CalendarConnection::connected(
            ConnectionId::from_uuid(Uuid::from_u128(1)),
            HostId::from_uuid(Uuid::from_u128(2)),
            Provider::Microsoft,
            "a@example.com",
            "a@example.com",
            OAuthTokens {
                access_token: Secret::new("access-secret"),
                refresh_token: Some(Secret::new("refresh-secret")),
                expires_at: Some(at),
            },
            at,
        );
        c.channel = Some(PushChannel {
            id: "ch".into(),
            token: Secret::new("channel-secret"),
            resource_id: "r".into(),
            expires_at: at,
        });
        let seal = TokenSeal::new([3; 32]);
        let row = ConnectionRow::encode(&c, c.id.as_uuid(), &seal).expect("encoded");
        for sealed in [
            &row.access_token_sealed,
            row.refresh_token_sealed.as_ref().expect("sealed"),
            row.channel_token_sealed.as_ref().expect("sealed"),
        ] {
            assert!(!String::from_utf8_lossy(sealed).contains("secret"));
        }
        assert_eq!(row.clone().into_connection(&seal).expect("decoded"), c);
        assert!(row.into_connection(&TokenSeal::new([4; 32])).is_err());
    }
}
