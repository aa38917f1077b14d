//! Host accounts: who may log in as a host, and the API keys that act for one.
//!
//! Pure data and a port. Hashing passwords is an adapter's job (the web crate uses argon2):
//! the port only keeps the resulting PHC string. API keys are random secrets shown to the host
//! once; the store keeps only their SHA-256 hash, so a database dump opens no API.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::ids::HostId;
use crate::invitee::Email;
use crate::ports::StoreError;

/// Why an account value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAccount {
    /// Not a PHC string (`$algorithm$…`), or too long.
    #[error("not a password hash in PHC string format")]
    PasswordHash,
    /// An API key label that is empty, too long or has control characters.
    #[error("the key's name must be 1 to 100 characters without line breaks")]
    KeyLabel,
    /// Not an API key (`sk_` and 32 lowercase hex characters).
    #[error("not a Slotkeeper API key")]
    ApiKey,
}

/// A password hash as a PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`). Never the
/// password itself; `Debug` does not print it either.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Accepts a PHC string: starts with `$`, printable ASCII without spaces, at most 512 bytes.
    ///
    /// # Errors
    /// [`InvalidAccount::PasswordHash`] otherwise.
    pub fn parse(phc: &str) -> Result<Self, InvalidAccount> {
        let ok = phc.starts_with('$')
            && phc.len() <= 512
            && phc.bytes().all(|b| b.is_ascii_graphic())
            && phc.matches('$').count() >= 3;
        if ok {
            Ok(Self(phc.to_owned()))
        } else {
            Err(InvalidAccount::PasswordHash)
        }
    }

    /// The PHC string, for the password verifier and for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// The login of one host: an email address (compared case-insensitively) and a password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    host: HostId,
    login: Email,
    password: PasswordHash,
    created_at: DateTime<Utc>,
}

impl Account {
    /// An account for `host`, logging in as `login` (lower-cased, so `Ann@X.org` and
    /// `ann@x.org` are one login).
    pub fn new(
        host: HostId,
        login: &Email,
        password: PasswordHash,
        created_at: DateTime<Utc>,
    ) -> Self {
        let lower = login.as_str().to_ascii_lowercase();
        // Lower-casing a valid address keeps it valid.
        let login = Email::parse(&lower).unwrap_or_else(|_| login.clone());
        Self {
            host,
            login,
            password,
            created_at,
        }
    }

    /// The same account with a new password hash (a password change).
    #[must_use]
    pub fn with_password(&self, password: PasswordHash) -> Self {
        Self {
            password,
            ..self.clone()
        }
    }

    /// The host this account logs in as.
    pub fn host(&self) -> HostId {
        self.host
    }
    /// The login, lower-cased.
    pub fn login(&self) -> &Email {
        &self.login
    }
    /// The stored hash.
    pub fn password(&self) -> &PasswordHash {
        &self.password
    }
    /// When the account was created.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

/// Identifies an API key (not secret: shown in lists and used to revoke).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiKeyId(Uuid);

impl ApiKeyId {
    /// Wraps a UUID.
    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }
    /// The UUID inside.
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }
    /// Parses the hyphenated form.
    ///
    /// # Errors
    /// [`uuid::Error`] when `text` is not a UUID.
    pub fn parse(text: &str) -> Result<Self, uuid::Error> {
        Uuid::try_parse(text).map(Self)
    }
}

impl fmt::Display for ApiKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The secret of an API key: `sk_` and 32 lowercase hex characters (128 random bits). Shown
/// to the host once; only [`ApiKeySecret::hash`] is stored. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    /// The key made of 16 random bytes (from the OS CSPRNG in production).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        let mut text = String::with_capacity(35);
        text.push_str("sk_");
        for b in bytes {
            text.push_str(&format!("{b:02x}"));
        }
        Self(text)
    }

    /// Checks the shape of a presented key.
    ///
    /// # Errors
    /// [`InvalidAccount::ApiKey`] unless it is `sk_` and 32 lowercase hex characters.
    pub fn parse(text: &str) -> Result<Self, InvalidAccount> {
        let hex = text.strip_prefix("sk_").ok_or(InvalidAccount::ApiKey)?;
        let ok = hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidAccount::ApiKey)
        }
    }

    /// The key, to show the host once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the key: what is stored and looked up. The key has full entropy, so a fast
    /// hash is enough (no salt or stretching needed, unlike passwords).
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// The first characters (`sk_1a2b3c`), to recognise a key in a list.
    pub fn prefix(&self) -> String {
        self.0.chars().take(9).collect()
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeySecret(<redacted>)")
    }
}

/// A stored API key: who it acts for, its name, and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    id: ApiKeyId,
    host: HostId,
    label: String,
    prefix: String,
    hash: [u8; 32],
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

/// An API key as columns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ApiKeyRecord {
    pub id: Uuid,
    pub host_id: Uuid,
    pub label: String,
    pub prefix: String,
    pub key_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

fn check_label(label: &str) -> Result<String, InvalidAccount> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 100 || label.chars().any(char::is_control) {
        return Err(InvalidAccount::KeyLabel);
    }
    Ok(label.to_owned())
}

impl ApiKey {
    /// A new, live key for `host` named `label`, storing only `secret`'s hash.
    ///
    /// # Errors
    /// [`InvalidAccount::KeyLabel`] for an empty or over-long label.
    pub fn new(
        id: ApiKeyId,
        host: HostId,
        label: &str,
        secret: &ApiKeySecret,
        created_at: DateTime<Utc>,
    ) -> Result<Self, InvalidAccount> {
        Ok(Self {
            id,
            host,
            label: check_label(label)?,
            prefix: secret.prefix(),
            hash: secret.hash(),
            created_at,
            revoked_at: None,
        })
    }

    /// Id.
    pub fn id(&self) -> ApiKeyId {
        self.id
    }
    /// The host the key acts for.
    pub fn host(&self) -> HostId {
        self.host
    }
    /// The host's name for it.
    pub fn label(&self) -> &str {
        &self.label
    }
    /// The key's first characters.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
    /// SHA-256 of the secret.
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }
    /// When it was made.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    /// When it was revoked; a revoked key opens nothing.
    pub fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.revoked_at
    }
    /// Whether the key still works.
    pub fn is_live(&self) -> bool {
        self.revoked_at.is_none()
    }

    /// The key as columns.
    pub fn to_record(&self) -> ApiKeyRecord {
        ApiKeyRecord {
            id: self.id.as_uuid(),
            host_id: self.host.as_uuid(),
            label: self.label.clone(),
            prefix: self.prefix.clone(),
            key_hash: self.hash.to_vec(),
            created_at: self.created_at,
            revoked_at: self.revoked_at,
        }
    }

    /// Reads a stored key back.
    ///
    /// # Errors
    /// [`StoreError`] naming the bad column.
    pub fn from_record(r: ApiKeyRecord) -> Result<Self, StoreError> {
        let bad =
            |what: &str| StoreError::msg(format!("stored API key {} is invalid: {what}", r.id));
        Ok(Self {
            id: ApiKeyId(r.id),
            host: HostId::from_uuid(r.host_id),
            label: check_label(&r.label).map_err(|_| bad("label"))?,
            prefix: r.prefix.clone(),
            hash: r
                .key_hash
                .as_slice()
                .try_into()
                .map_err(|_| bad("key_hash"))?,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        })
    }
}

/// Why an account could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveAccountError {
    /// Another host's account already uses the login.
    #[error("another host already logs in with that email address")]
    LoginTaken,
    /// The host does not exist.
    #[error("unknown host")]
    UnknownHost,
    /// Anything else.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where host accounts and API keys are kept.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates the host's account or replaces it (a password or login change).
    ///
    /// # Errors
    /// [`SaveAccountError::LoginTaken`] when another host's account has the login,
    /// [`SaveAccountError::UnknownHost`] when the host does not exist.
    async fn save_account(&self, account: &Account) -> Result<(), SaveAccountError>;

    /// The account logging in as `login` (compared lower-cased).
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (an unknown login is `Ok(None)`).
    async fn account_by_login(&self, login: &Email) -> Result<Option<Account>, StoreError>;

    /// The account of a host.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (no account is `Ok(None)`).
    async fn account(&self, host: HostId) -> Result<Option<Account>, StoreError>;

    /// How many accounts exist (zero on a first run).
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn account_count(&self) -> Result<u64, StoreError>;

    /// Stores a new API key.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (also for a reused id or hash).
    async fn add_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;

    /// Every key of a host, revoked ones included, newest first.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn api_keys(&self, host: HostId) -> Result<Vec<ApiKey>, StoreError>;

    /// The key with this hash, revoked or not (the caller checks [`ApiKey::is_live`]).
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (an unknown hash is `Ok(None)`).
    async fn api_key_by_hash(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>, StoreError>;

    /// Revokes one of the host's keys at `at`. Returns `false` when the host has no such key
    /// (another host's key looks the same); revoking twice keeps the first time.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn revoke_api_key(
        &self,
        host: HostId,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// The links a host owns, for the host's `/links` list. (Links are saved and loaded one by
/// one through [`BookingStore`](crate::ports::BookingStore); this only lists them.)
#[async_trait]
pub trait LinkDirectory: Send + Sync {
    /// Every link of the host, by title then slug.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn links_of(&self, host: HostId) -> Result<Vec<crate::link::BookingLink>, StoreError>;

    /// Every host, by name then id (for operators: `slotkeeper host list`).
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn hosts(&self) -> Result<Vec<crate::link::Host>, StoreError>;
    /// Whether the host shows their links on the deployment's home page (`false` until the
    /// host turns it on; an unknown host lists nothing).
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn lists_links(&self, host: HostId) -> Result<bool, StoreError>;

    /// Turns the home-page listing of the host's links on or off (nothing for an unknown host).
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn set_lists_links(
        &self,
        host: HostId,
        listed: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Every link of the hosts who list theirs, by title then slug.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn listed_links(&self) -> Result<Vec<crate::link::BookingLink>, StoreError>;
}

/// How many attempts one key (a login name, a client address) may make in a window.
///
/// The window is fixed: it opens with the first attempt counted after the previous window
/// closed, and every attempt inside it counts, refused ones included, so hammering a key does
/// not keep it open longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptLimit {
    max: u32,
    window: TimeDelta,
}

/// Why an [`AttemptLimit`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an attempt limit needs at least one attempt and a window of at least a second")]
pub struct InvalidAttemptLimit;

impl AttemptLimit {
    /// At most `max` attempts per `window` (usable in a `const`).
    ///
    /// # Errors
    /// [`InvalidAttemptLimit`] for zero attempts or a window shorter than a second.
    pub const fn new(max: u32, window: TimeDelta) -> Result<Self, InvalidAttemptLimit> {
        if max == 0 || window.num_seconds() < 1 {
            return Err(InvalidAttemptLimit);
        }
        Ok(Self { max, window })
    }

    /// Attempts allowed per window.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// The window's length.
    pub fn window(&self) -> TimeDelta {
        self.window
    }

    /// Whether the `nth` attempt of a window (counting from 1) is allowed.
    pub fn allows(&self, nth: u64) -> bool {
        nth <= u64::from(self.max)
    }
}

/// Counted login attempts, kept where every instance of the service sees them (the store), so
/// that a limit holds behind a load balancer.
///
/// Attempts are counted *before* a password is checked, in one atomic step with the question
/// "is this one still allowed?": with a limit of five, thirty concurrent attempts under one
/// key let exactly five through, however they interleave.
#[async_trait]
pub trait LoginAttempts: Send + Sync {
    /// Counts one attempt under `key` at `now` and says whether it is within `limit`
    /// (`true`: go ahead). Counting and answering are one atomic step.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (the attempt may then be uncounted).
    async fn count_attempt(
        &self,
        key: &str,
        limit: AttemptLimit,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Gives back one attempt counted under `key` in its current window (never below zero),
    /// e.g. for a login that succeeded, which is not held against its client address.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn return_attempt(&self, key: &str) -> Result<(), StoreError>;

    /// Forgets every attempt counted under `key`.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError>;
}

#[async_trait]
impl<T: LoginAttempts + ?Sized> LoginAttempts for std::sync::Arc<T> {
    async fn count_attempt(
        &self,
        key: &str,
        limit: AttemptLimit,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        (**self).count_attempt(key, limit, now).await
    }
    async fn return_attempt(&self, key: &str) -> Result<(), StoreError> {
        (**self).return_attempt(key).await
    }
    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError> {
        (**self).clear_attempts(key).await
    }
}

#[async_trait]
impl<T: LinkDirectory + ?Sized> LinkDirectory for std::sync::Arc<T> {
    async fn links_of(&self, host: HostId) -> Result<Vec<crate::link::BookingLink>, StoreError> {
        (**self).links_of(host).await
    }
    async fn hosts(&self) -> Result<Vec<crate::link::Host>, StoreError> {
        (**self).hosts().await
    }
    async fn lists_links(&self, host: HostId) -> Result<bool, StoreError> {
        (**self).lists_links(host).await
    }
    async fn set_lists_links(
        &self,
        host: HostId,
        listed: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        (**self).set_lists_links(host, listed, now).await
    }
    async fn listed_links(&self) -> Result<Vec<crate::link::BookingLink>, StoreError> {
        (**self).listed_links().await
    }
}

#[async_trait]
impl<T: AccountStore + ?Sized> AccountStore for std::sync::Arc<T> {
    async fn save_account(&self, account: &Account) -> Result<(), SaveAccountError> {
        (**self).save_account(account).await
    }
    async fn account_by_login(&self, login: &Email) -> Result<Option<Account>, StoreError> {
        (**self).account_by_login(login).await
    }
    async fn account(&self, host: HostId) -> Result<Option<Account>, StoreError> {
        (**self).account(host).await
    }
    async fn account_count(&self) -> Result<u64, StoreError> {
        (**self).account_count().await
    }
    async fn add_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        (**self).add_api_key(key).await
    }
    async fn api_keys(&self, host: HostId) -> Result<Vec<ApiKey>, StoreError> {
        (**self).api_keys(host).await
    }
    async fn api_key_by_hash(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>, StoreError> {
        (**self).api_key_by_hash(hash).await
    }
    async fn revoke_api_key(
        &self,
        host: HostId,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        (**self).revoke_api_key(host, id, at).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_have_a_fixed_shape_and_hash() {
        let key = ApiKeySecret::from_bytes([0xab; 16]);
        assert_eq!(key.expose(), format!("sk_{}", "ab".repeat(16)));
        assert_eq!(ApiKeySecret::parse(key.expose()), Ok(key.clone()));
        assert_eq!(key.prefix(), "sk_ababab");
        assert!(!format!("{key:?}").contains("abab"));
        for bad in [
            "",
            "sk_",
            "pk_abababababababababababababababab",
            &format!("sk_{}", "AB".repeat(16)),
        ] {
            assert_eq!(
                ApiKeySecret::parse(bad),
                Err(InvalidAccount::ApiKey),
                "{bad}"
            );
        }
        assert_ne!(key.hash(), ApiKeySecret::from_bytes([0xac; 16]).hash());
    }

    #[test]
    fn logins_are_lower_cased_and_hashes_hidden() {
        let hash = PasswordHash::parse("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA").unwrap();
        let account = Account::new(
            HostId::from_uuid(Uuid::from_u128(1)),
            &Email::parse("Ann@Example.ORG").unwrap(),
            hash,
            chrono::DateTime::UNIX_EPOCH,
        );
        assert_eq!(account.login().as_str(), "ann@example.org");
        assert!(!format!("{account:?}").contains("argon2"));
        assert!(PasswordHash::parse("hunter2").is_err());
    }
}
