//! `HostSessions` for both stores: the row shape of `host_sessions`, the statements, and the
//! port, expanded per store by [`host_sessions_port!`](crate::host_sessions_port).

use booking_core::ports::StoreError;
use booking_core::sessions::{HostSession, HostSessionRecord};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A row of `host_sessions` (see [`SESSION_BY_ID`]).
#[derive(Debug, sqlx::FromRow)]
#[allow(missing_docs)]
pub struct SessionRow {
    pub id_hash: Vec<u8>,
    pub host_id: Uuid,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl SessionRow {
    /// The domain session.
    ///
    /// # Errors
    /// [`StoreError`] for an invalid column.
    pub fn into_session(self) -> Result<HostSession, StoreError> {
        HostSession::from_record(HostSessionRecord {
            id_hash: self.id_hash,
            host_id: self.host_id,
            csrf_token: self.csrf_token,
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            expires_at: self.expires_at,
        })
    }
}

/// Stores a new session (`$1` id hash … `$6` expires, `$7` now).
pub const INSERT_SESSION: &str = "insert into host_sessions \
     (id_hash, host_id, csrf_token, created_at, last_seen_at, expires_at, updated_at) \
     values ($1, $2, $3, $4, $5, $6, $7)";

/// Reads a session by its id hash (`$1`); whether it is still live is decided in Rust, on the
/// domain's rule.
pub const SESSION_BY_ID: &str = "select id_hash, host_id, csrf_token, created_at, last_seen_at, \
     expires_at from host_sessions where id_hash = $1";

/// Records a use (`$1` id hash, `$2` now); never moves `last_seen_at` back.
pub const SEE_SESSION: &str = "update host_sessions set last_seen_at = $2, updated_at = $2 \
     where id_hash = $1 and last_seen_at < $2";

/// Ends one session (`$1` id hash).
pub const END_SESSION: &str = "delete from host_sessions where id_hash = $1";

/// Ends a host's sessions (`$1` host) but one (`$2`, an id hash no session has when none is
/// kept).
pub const END_SESSIONS_OF: &str = "delete from host_sessions where host_id = $1 and id_hash <> $2";

/// Deletes the sessions expired at `$1`.
pub const PRUNE_SESSIONS: &str = "delete from host_sessions where expires_at <= $1";

/// Implements `HostSessions` for `$store` (which implements [`crate::SqlStore`] with
/// `Db = $db`). Every write is one statement in its own short transaction, run again while the
/// database says it did nothing.
#[macro_export]
macro_rules! host_sessions_port {
    ($store:ty, $db:ty) => {
        #[::async_trait::async_trait]
        impl ::booking_core::sessions::HostSessions for $store {
            async fn start_session(
                &self,
                session: &::booking_core::sessions::HostSession,
            ) -> Result<(), ::booking_core::ports::StoreError> {
                let r = session.to_record();
                let now = ::chrono::Utc::now();
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    ::sqlx::query($crate::sessions_port::INSERT_SESSION)
                        .bind(&r.id_hash)
                        .bind(r.host_id)
                        .bind(&r.csrf_token)
                        .bind(r.created_at)
                        .bind(r.last_seen_at)
                        .bind(r.expires_at)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await
                })
                .await
                .map_err($crate::db_error::<Self>("starting a host session"))
            }

            async fn live_session(
                &self,
                id: &::booking_core::sessions::SessionId,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<
                Option<::booking_core::sessions::HostSession>,
                ::booking_core::ports::StoreError,
            > {
                let Some(session) = ::sqlx::query_as::<_, $crate::sessions_port::SessionRow>(
                    $crate::sessions_port::SESSION_BY_ID,
                )
                .bind(id.as_bytes().as_slice())
                .fetch_optional($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("loading a host session"))?
                .map($crate::sessions_port::SessionRow::into_session)
                .transpose()?
                .filter(|s| s.is_live(now)) else {
                    return Ok(None);
                };
                if !session.seen_is_stale(now) {
                    return Ok(Some(session));
                }
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    ::sqlx::query($crate::sessions_port::SEE_SESSION)
                        .bind(id.as_bytes().as_slice())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await
                })
                .await
                .map_err($crate::db_error::<Self>("recording a host session's use"))?;
                Ok(Some(session.seen_at(now)))
            }

            async fn end_session(
                &self,
                id: &::booking_core::sessions::SessionId,
            ) -> Result<bool, ::booking_core::ports::StoreError> {
                let ended = $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    let done = ::sqlx::query($crate::sessions_port::END_SESSION)
                        .bind(id.as_bytes().as_slice())
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(done.rows_affected())
                })
                .await
                .map_err($crate::db_error::<Self>("ending a host session"))?;
                Ok(ended > 0)
            }

            async fn end_sessions_of(
                &self,
                host: ::booking_core::ids::HostId,
                keep: Option<&::booking_core::sessions::SessionId>,
            ) -> Result<u64, ::booking_core::ports::StoreError> {
                // No hash is empty, so an empty one keeps nothing.
                let keep = keep.map_or_else(Vec::new, |k| k.as_bytes().to_vec());
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    let done = ::sqlx::query($crate::sessions_port::END_SESSIONS_OF)
                        .bind(host.as_uuid())
                        .bind(keep.as_slice())
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(done.rows_affected())
                })
                .await
                .map_err($crate::db_error::<Self>("ending a host's sessions"))
            }

            async fn prune_sessions(
                &self,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<u64, ::booking_core::ports::StoreError> {
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    let done = ::sqlx::query($crate::sessions_port::PRUNE_SESSIONS)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(done.rows_affected())
                })
                .await
                .map_err($crate::db_error::<Self>("pruning expired host sessions"))
            }
        }
    };
}
