//! `CalendarConnections` for both stores: one SQL text, expanded per store by
//! [`calendar_connections_port!`](crate::calendar_connections_port).

/// Replaces the row with this id, or inserts it (`$1`..`$19`, in [`crate::ConnectionRow`]'s
/// column order, then `updated_at`).
pub const UPSERT_CONNECTION: &str = "insert into calendar_connections (id, host_id, provider, \
     account, busy_calendars, write_calendar, access_token_sealed, refresh_token_sealed, \
     token_expires_at, status, sync_token, channel_id, channel_token_sealed, channel_resource_id, \
     channel_expires_at, last_error, last_error_at, created_at, updated_at) \
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
     on conflict (id) do update set account = excluded.account, \
     busy_calendars = excluded.busy_calendars, write_calendar = excluded.write_calendar, \
     access_token_sealed = excluded.access_token_sealed, \
     refresh_token_sealed = excluded.refresh_token_sealed, \
     token_expires_at = excluded.token_expires_at, status = excluded.status, \
     sync_token = excluded.sync_token, channel_id = excluded.channel_id, \
     channel_token_sealed = excluded.channel_token_sealed, \
     channel_resource_id = excluded.channel_resource_id, \
     channel_expires_at = excluded.channel_expires_at, last_error = excluded.last_error, \
     last_error_at = excluded.last_error_at, updated_at = excluded.updated_at";

/// The id a save lands on: the row with the connection's id, else the host's row for the same
/// provider and account (`$1` id, `$2` host, `$3` provider, `$4` account).
pub const STORED_CONNECTION_ID: &str = "select id from calendar_connections \
     where id = $1 or (host_id = $2 and provider = $3 and account = $4) \
     order by case when id = $1 then 0 else 1 end limit 1";

/// Implements `CalendarConnections` for `$store` (which implements [`crate::SqlStore`] with
/// `Db = $db`).
#[macro_export]
macro_rules! calendar_connections_port {
    ($store:ty, $db:ty) => {
        #[::async_trait::async_trait]
        impl ::booking_core::connections::CalendarConnections for $store {
            async fn save_connection(
                &self,
                connection: &::booking_core::connections::CalendarConnection,
            ) -> Result<::booking_core::connections::ConnectionId, ::booking_core::ports::StoreError>
            {
                let pool = $crate::SqlStore::pool(self);
                let stored: Option<::uuid::Uuid> =
                    ::sqlx::query_scalar($crate::connections_port::STORED_CONNECTION_ID)
                        .bind(connection.id.as_uuid())
                        .bind(connection.host.as_uuid())
                        .bind(connection.provider.as_str())
                        .bind(&connection.account)
                        .fetch_optional(pool)
                        .await
                        .map_err($crate::db_error::<Self>("finding a calendar connection"))?;
                let id = stored.unwrap_or(connection.id.as_uuid());
                // A replaced row keeps its id (its secrets are sealed for it) and, through the
                // upsert, its created_at.
                let row =
                    $crate::ConnectionRow::encode(connection, id, $crate::SqlStore::seal(self))?;
                ::sqlx::query($crate::connections_port::UPSERT_CONNECTION)
                    .bind(row.id)
                    .bind(row.host_id)
                    .bind(row.provider)
                    .bind(row.account)
                    .bind(row.busy_calendars)
                    .bind(row.write_calendar)
                    .bind(row.access_token_sealed)
                    .bind(row.refresh_token_sealed)
                    .bind(row.token_expires_at)
                    .bind(row.status)
                    .bind(row.sync_token)
                    .bind(row.channel_id)
                    .bind(row.channel_token_sealed)
                    .bind(row.channel_resource_id)
                    .bind(row.channel_expires_at)
                    .bind(row.last_error)
                    .bind(row.last_error_at)
                    .bind(row.created_at)
                    .bind(::chrono::Utc::now())
                    .execute(pool)
                    .await
                    .map_err($crate::db_error::<Self>("saving a calendar connection"))?;
                Ok(::booking_core::connections::ConnectionId::from_uuid(id))
            }

            async fn connection(
                &self,
                id: ::booking_core::connections::ConnectionId,
            ) -> Result<
                Option<::booking_core::connections::CalendarConnection>,
                ::booking_core::ports::StoreError,
            > {
                $crate::connection_read!(self, "where id = $1", id.as_uuid(), one,
                    "loading a calendar connection")
            }

            async fn host_connections(
                &self,
                host: ::booking_core::ids::HostId,
            ) -> Result<
                Vec<::booking_core::connections::CalendarConnection>,
                ::booking_core::ports::StoreError,
            > {
                $crate::connection_read!(self, "where host_id = $1 order by created_at, id",
                    host.as_uuid(), all, "listing a host's calendar connections")
            }

            async fn connection_by_channel(
                &self,
                channel_id: &str,
            ) -> Result<
                Option<::booking_core::connections::CalendarConnection>,
                ::booking_core::ports::StoreError,
            > {
                // No stored channel id holds a NUL (Postgres text cannot), and asking would fail.
                if channel_id.contains('\0') {
                    return Ok(None);
                }
                $crate::connection_read!(self, "where channel_id = $1", channel_id, one,
                    "finding a calendar connection by channel")
            }

            async fn connections_in(
                &self,
                status: ::booking_core::calendar::ConnectionStatus,
            ) -> Result<
                Vec<::booking_core::connections::CalendarConnection>,
                ::booking_core::ports::StoreError,
            > {
                $crate::connection_read!(self, "where status = $1 order by created_at, id",
                    status.as_str(), all, "listing calendar connections")
            }
        }
    };
}

/// Reads connections with one bound value: `one` row (optional) or `all` rows, secrets opened.
#[doc(hidden)]
#[macro_export]
macro_rules! connection_read {
    ($self:ident, $filter:literal, $value:expr, one, $what:literal) => {
        ::sqlx::query_as::<_, $crate::ConnectionRow>(concat!(
            "select ",
            $crate::connection_columns!(),
            " from calendar_connections ",
            $filter
        ))
        .bind($value)
        .fetch_optional($crate::SqlStore::pool($self))
        .await
        .map_err($crate::db_error::<Self>($what))?
        .map(|r| r.into_connection($crate::SqlStore::seal($self)))
        .transpose()
    };
    ($self:ident, $filter:literal, $value:expr, all, $what:literal) => {
        ::sqlx::query_as::<_, $crate::ConnectionRow>(concat!(
            "select ",
            $crate::connection_columns!(),
            " from calendar_connections ",
            $filter
        ))
        .bind($value)
        .fetch_all($crate::SqlStore::pool($self))
        .await
        .map_err($crate::db_error::<Self>($what))?
        .into_iter()
        .map(|r| r.into_connection($crate::SqlStore::seal($self)))
        .collect()
    };
}
