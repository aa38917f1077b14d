//! Host sessions, kept in the store so that every instance of the service agrees on them: a
//! session ends everywhere the moment it is ended anywhere (logout, a password change).
//!
//! The browser holds only a [`SessionSecret`] (128 random bits from a
//! [`TokenSource`](crate::ports::TokenSource)); the store keeps its SHA-256 hash, the
//! [`SessionId`], so a database dump opens no session. A [`HostSession`] row carries the host,
//! the session's CSRF token and when it was made, last seen and ends.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::accounts::{Account, AccountStore, SaveAccountError};
use crate::ids::HostId;
use crate::ports::StoreError;
use crate::token::RescheduleToken;

/// A session's `last_seen_at` is moved forward at most this often, so that reading a session
/// on every request does not also write on every request.
pub const SEEN_EVERY: TimeDelta = TimeDelta::minutes(1);

/// Why a session value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSession {
    /// Not 32 lowercase hex characters.
    #[error("not a session secret")]
    Secret,
    /// A CSRF token that is empty, over 128 characters, or not ASCII letters and digits.
    #[error("the CSRF token must be 1 to 128 ASCII letters or digits")]
    Csrf,
    /// A session that would end before it starts.
    #[error("a session must last a while")]
    Lifetime,
}

/// What the host's browser holds: 32 lowercase hex characters (128 random bits). Only its
/// [`SessionId`] is stored. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret(String);

impl SessionSecret {
    /// A secret made of a fresh token's 128 random bits (a token straight from a
    /// [`TokenSource`](crate::ports::TokenSource), never one that was used for anything else).
    pub fn from_fresh_token(token: RescheduleToken) -> Self {
        Self(token.expose().to_owned())
    }

    /// Checks the shape of a presented secret.
    ///
    /// # Errors
    /// [`InvalidSession::Secret`] unless it is 32 lowercase hex characters.
    pub fn parse(text: &str) -> Result<Self, InvalidSession> {
        RescheduleToken::parse(text)
            .map(Self::from_fresh_token)
            .map_err(|_| InvalidSession::Secret)
    }

    /// The secret, for the cookie. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The id the store knows the session by: SHA-256 of the secret (full entropy, so a fast
    /// hash is enough).
    pub fn id(&self) -> SessionId {
        SessionId(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret(<redacted>)")
    }
}

/// A session's id in the store: the SHA-256 of its [`SessionSecret`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId([u8; 32]);

impl SessionId {
    /// The stored hash.
    pub const fn from_bytes(hash: [u8; 32]) -> Self {
        Self(hash)
    }

    /// The hash, for storage.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The first bytes are enough to tell sessions apart in a log.
        write!(
            f,
            "SessionId({:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

fn check_csrf(csrf: &str) -> Result<String, InvalidSession> {
    let ok = (1..=128).contains(&csrf.len()) && csrf.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(csrf.to_owned())
    } else {
        Err(InvalidSession::Csrf)
    }
}

/// A logged-in host's session.
#[derive(Clone, PartialEq, Eq)]
pub struct HostSession {
    id: SessionId,
    host: HostId,
    csrf: String,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

/// A session as columns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct HostSessionRecord {
    pub id_hash: Vec<u8>,
    pub host_id: Uuid,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl HostSession {
    /// A session of `host` opened at `now` for `lifetime`, known by `secret`'s id.
    ///
    /// # Errors
    /// [`InvalidSession::Csrf`] for a malformed CSRF token, [`InvalidSession::Lifetime`] for a
    /// lifetime that is not positive.
    pub fn start(
        secret: &SessionSecret,
        host: HostId,
        csrf: &str,
        now: DateTime<Utc>,
        lifetime: TimeDelta,
    ) -> Result<Self, InvalidSession> {
        if lifetime <= TimeDelta::zero() {
            return Err(InvalidSession::Lifetime);
        }
        Ok(Self {
            id: secret.id(),
            host,
            csrf: check_csrf(csrf)?,
            created_at: now,
            last_seen_at: now,
            expires_at: now + lifetime,
        })
    }

    /// The id (hash) the store keeps.
    pub fn id(&self) -> SessionId {
        self.id
    }
    /// The host logged in.
    pub fn host(&self) -> HostId {
        self.host
    }
    /// The CSRF token every form of this session carries.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }
    /// When the host logged in.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    /// When the session was last used (to within [`SEEN_EVERY`]).
    pub fn last_seen_at(&self) -> DateTime<Utc> {
        self.last_seen_at
    }
    /// When the session ends by itself.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
    /// Whether the session still opens pages at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }
    /// Whether a use at `now` should be recorded as `last_seen_at`.
    pub fn seen_is_stale(&self, now: DateTime<Utc>) -> bool {
        now - self.last_seen_at >= SEEN_EVERY
    }

    /// The same session, seen at `now`.
    #[must_use]
    pub fn seen_at(&self, now: DateTime<Utc>) -> Self {
        Self {
            last_seen_at: now.max(self.last_seen_at),
            ..self.clone()
        }
    }

    /// The session as columns.
    pub fn to_record(&self) -> HostSessionRecord {
        HostSessionRecord {
            id_hash: self.id.0.to_vec(),
            host_id: self.host.as_uuid(),
            csrf_token: self.csrf.clone(),
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            expires_at: self.expires_at,
        }
    }

    /// Reads a stored session back.
    ///
    /// # Errors
    /// [`StoreError`] naming the bad column.
    pub fn from_record(r: HostSessionRecord) -> Result<Self, StoreError> {
        let bad = |what: &str| {
            StoreError::msg(format!(
                "stored session of host {} is invalid: {what}",
                r.host_id
            ))
        };
        Ok(Self {
            id: SessionId(
                r.id_hash
                    .as_slice()
                    .try_into()
                    .map_err(|_| bad("id_hash"))?,
            ),
            host: HostId::from_uuid(r.host_id),
            csrf: check_csrf(&r.csrf_token).map_err(|_| bad("csrf_token"))?,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
        })
    }
}

impl fmt::Debug for HostSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostSession")
            .field("id", &self.id)
            .field("host", &self.host)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Where host sessions are kept: the store every instance shares.
#[async_trait]
pub trait HostSessions: Send + Sync {
    /// Stores a new session.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (also for a reused id or an unknown host).
    async fn start_session(&self, session: &HostSession) -> Result<(), StoreError>;

    /// The session with this id if it is live at `now`, and records the use: when its
    /// `last_seen_at` is [`SEEN_EVERY`] or more before `now`, it becomes `now` (in the store
    /// and in the answer). An ended, expired or unknown session is `Ok(None)`.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn live_session(
        &self,
        id: &SessionId,
        now: DateTime<Utc>,
    ) -> Result<Option<HostSession>, StoreError>;

    /// Ends one session (logout). Returns whether there was one to end.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn end_session(&self, id: &SessionId) -> Result<bool, StoreError>;

    /// Ends every session of `host` but `keep` (when given); returns how many ended.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn end_sessions_of(
        &self,
        host: HostId,
        keep: Option<&SessionId>,
    ) -> Result<u64, StoreError>;

    /// Deletes every session that has expired at `now`; returns how many.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn prune_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

#[async_trait]
impl<T: HostSessions + ?Sized> HostSessions for std::sync::Arc<T> {
    async fn start_session(&self, session: &HostSession) -> Result<(), StoreError> {
        (**self).start_session(session).await
    }
    async fn live_session(
        &self,
        id: &SessionId,
        now: DateTime<Utc>,
    ) -> Result<Option<HostSession>, StoreError> {
        (**self).live_session(id, now).await
    }
    async fn end_session(&self, id: &SessionId) -> Result<bool, StoreError> {
        (**self).end_session(id).await
    }
    async fn end_sessions_of(
        &self,
        host: HostId,
        keep: Option<&SessionId>,
    ) -> Result<u64, StoreError> {
        (**self).end_sessions_of(host, keep).await
    }
    async fn prune_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        (**self).prune_sessions(now).await
    }
}

/// Saves `account` with its new password hash and ends every session of its host but `keep`
/// (the session the change was made from, if any): whoever knew the old password is logged
/// out everywhere. Returns how many sessions ended.
///
/// The account is saved first: should ending the sessions fail, the error says so and the
/// change can simply be made again.
///
/// # Errors
/// [`SaveAccountError`] from saving the account or ending the sessions.
pub async fn change_password<A, S>(
    accounts: &A,
    sessions: &S,
    account: &Account,
    keep: Option<&SessionId>,
) -> Result<u64, SaveAccountError>
where
    A: AccountStore + ?Sized,
    S: HostSessions + ?Sized,
{
    accounts.save_account(account).await?;
    Ok(sessions.end_sessions_of(account.host(), keep).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + TimeDelta::days(20_000)
    }

    #[test]
    fn the_secret_is_stored_only_as_its_hash() {
        let secret = SessionSecret::from_fresh_token(RescheduleToken::from_bytes([0x5a; 16]));
        assert_eq!(SessionSecret::parse(secret.expose()), Ok(secret.clone()));
        assert_eq!(
            secret.id(),
            SessionSecret::parse(&"5a".repeat(16)).unwrap().id()
        );
        let host = HostId::from_uuid(Uuid::from_u128(1));
        let session =
            HostSession::start(&secret, host, "abc123", t0(), TimeDelta::hours(1)).unwrap();
        let record = session.to_record();
        assert_ne!(record.id_hash, secret.expose().as_bytes());
        assert_eq!(HostSession::from_record(record).unwrap(), session);
        assert!(!format!("{secret:?}{session:?}").contains("5a5a"));
        assert!(
            !format!("{session:?}").contains("abc123"),
            "no CSRF token in logs"
        );
        for bad in ["", "5A".repeat(16).as_str(), "5a".repeat(17).as_str()] {
            assert_eq!(SessionSecret::parse(bad), Err(InvalidSession::Secret));
        }
    }

    #[test]
    fn a_session_lives_for_its_lifetime_and_is_seen_at_most_once_a_minute() {
        let secret = SessionSecret::parse(&"01".repeat(16)).unwrap();
        let host = HostId::from_uuid(Uuid::from_u128(1));
        let session = HostSession::start(&secret, host, "tok", t0(), TimeDelta::hours(12)).unwrap();
        assert!(session.is_live(t0() + TimeDelta::hours(12) - TimeDelta::seconds(1)));
        assert!(!session.is_live(t0() + TimeDelta::hours(12)));
        assert!(!session.seen_is_stale(t0() + TimeDelta::seconds(59)));
        assert!(session.seen_is_stale(t0() + SEEN_EVERY));
        assert_eq!(
            HostSession::start(&secret, host, "tok", t0(), TimeDelta::zero()),
            Err(InvalidSession::Lifetime)
        );
        for bad in ["", "a b", "<x>", &"a".repeat(129)] {
            assert_eq!(
                HostSession::start(&secret, host, bad, t0(), TimeDelta::hours(1)),
                Err(InvalidSession::Csrf),
                "{bad}"
            );
        }
    }
}
