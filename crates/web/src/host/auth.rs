//! Who is asking: password hashing (argon2id), the session cookie, CSRF tokens, login rate
//! limiting, and API keys for the host JSON API.
//!
//! The session lives entirely in one cookie, encrypted and authenticated (AES-256-GCM via
//! actix-web's private cookie jar) with a key derived from the application secret, sent
//! `HttpOnly`, `SameSite=Lax`, and `Secure` when the site is served over https. It holds the
//! host's id, a CSRF token, when it was issued (sessions last 12 hours) and a fingerprint of
//! the password hash, so changing the password ends every other session.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, Params};
use booking_core::HostId;
use booking_core::accounts::{
    Account, ApiKey, ApiKeySecret, AttemptLimit, LoginAttempts, PasswordHash,
};
use booking_core::link::Host;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::HostSide;
use crate::AppState;

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "sk_session";
/// How long a login lasts.
const SESSION_LIFETIME: TimeDelta = TimeDelta::hours(12);
/// Failed logins allowed per login name, and per client address, in [`LIMIT_WINDOW`].
const FAILURES_PER_LOGIN: u32 = 5;
const FAILURES_PER_CLIENT: u32 = 20;
const LIMIT_WINDOW: TimeDelta = TimeDelta::minutes(15);
/// Password checks that may run at once; more logins meanwhile are answered 503 at once.
pub(crate) const MAX_CONCURRENT_HASHES: usize = 8;

/// Why a password was not accepted for hashing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than 8 or more than 1024 characters.
    #[error("the password must be 8 to 1024 characters long")]
    Length,
    /// The OS random source failed, so no salt.
    #[error("the OS random number generator failed")]
    Random,
    /// The hasher refused (bad parameters).
    #[error("the password could not be hashed: {0}")]
    Hash(String),
}

/// Hashes and checks passwords with argon2id. [`Passwords::default`] uses the argon2 crate's
/// default parameters (19 MiB, 2 passes, 1 lane); cheaper ones are for tests only.
#[derive(Debug, Clone, Default)]
pub struct Passwords {
    params: Params,
    /// A hash to verify against when the login is unknown, so that a wrong login takes as
    /// long as a wrong password.
    decoy: std::sync::Arc<OnceLock<Option<PasswordHash>>>,
}

impl Passwords {
    /// Lower-cost parameters (memory in KiB, passes, lanes), for test suites that log in a
    /// lot. Never for production.
    ///
    /// # Errors
    /// [`PasswordError::Hash`] for parameters argon2 refuses.
    pub fn with_cost(memory_kib: u32, passes: u32, lanes: u32) -> Result<Self, PasswordError> {
        let params = Params::new(memory_kib, passes, lanes, None)
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        Ok(Self {
            params,
            decoy: std::sync::Arc::default(),
        })
    }

    fn hasher(&self) -> Argon2<'static> {
        Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            self.params.clone(),
        )
    }

    /// Hashes a new password with a fresh random salt.
    ///
    /// # Errors
    /// [`PasswordError::Length`] for a too short or too long password.
    pub fn hash(&self, password: &str) -> Result<PasswordHash, PasswordError> {
        let length = password.chars().count();
        if !(8..=1024).contains(&length) {
            return Err(PasswordError::Length);
        }
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|_| PasswordError::Random)?;
        let phc = self
            .hasher()
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map_err(|e| PasswordError::Hash(e.to_string()))?
            .to_string();
        PasswordHash::parse(&phc).map_err(|e| PasswordError::Hash(e.to_string()))
    }

    /// Whether `password` matches `hash` (argon2's comparison is constant-time). The hash's own
    /// parameters apply, so hashes made with other parameters keep working.
    pub fn verify(&self, password: &str, hash: &PasswordHash) -> bool {
        self.hasher()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    }

    /// Spends the time of one verification, for unknown logins.
    pub(crate) fn verify_decoy(&self, password: &str) {
        let decoy = self
            .decoy
            .get_or_init(|| self.hash("decoy password, never valid").ok());
        if let Some(decoy) = decoy {
            let _ = self.verify(password, decoy);
        }
    }
}

/// The session cookie's content.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionData {
    /// Host id once logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    host: Option<String>,
    /// CSRF token (32 hex characters).
    csrf: String,
    /// Unix seconds of issue.
    issued: i64,
    /// First 8 bytes of SHA-256 of the password hash, hex.
    #[serde(default)]
    password: String,
}

/// A session read from a request: before login it only carries a CSRF token (for the login
/// form itself).
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) host: Option<HostId>,
    pub(crate) csrf: String,
    password: String,
}

/// A logged-in host.
#[derive(Debug, Clone)]
pub(crate) struct LoggedIn {
    pub(crate) host: Host,
    pub(crate) csrf: String,
}

fn fingerprint(hash: &PasswordHash) -> String {
    Sha256::digest(hash.as_str().as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn cookie_key(secret: [u8; 32]) -> Key {
    Key::derive_from(&secret)
}

fn secure(state: &AppState) -> bool {
    state.public_base_url.starts_with("https://")
}

/// Reads and checks the session cookie (decrypts, parses, checks its age).
pub(crate) fn read_session(
    req: &HttpRequest,
    side: &HostSide,
    now: DateTime<Utc>,
) -> Option<Session> {
    let raw = req.cookie(SESSION_COOKIE)?;
    let mut jar = CookieJar::new();
    jar.add_original(raw);
    let cookie = jar.private(&side.cookie_key).get(SESSION_COOKIE)?;
    let data: SessionData = serde_json::from_str(cookie.value()).ok()?;
    let issued = DateTime::from_timestamp(data.issued, 0)?;
    if now < issued - TimeDelta::minutes(5) || now - issued > SESSION_LIFETIME {
        return None;
    }
    let host = match data.host {
        Some(id) => Some(HostId::parse(&id).ok()?),
        None => None,
    };
    Some(Session {
        host,
        csrf: data.csrf,
        password: data.password,
    })
}

/// A fresh session cookie: for `account` when logging in, or anonymous (login form).
pub(crate) fn session_cookie(
    state: &AppState,
    side: &HostSide,
    account: Option<&Account>,
    now: DateTime<Utc>,
) -> (Cookie<'static>, String) {
    let csrf = side.ids.new_token().expose().to_owned();
    let data = SessionData {
        host: account.map(|a| a.host().to_string()),
        csrf: csrf.clone(),
        issued: now.timestamp(),
        password: account
            .map(|a| fingerprint(a.password()))
            .unwrap_or_default(),
    };
    let value = serde_json::to_string(&data).unwrap_or_default();
    let cookie = Cookie::build(SESSION_COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure(state))
        .max_age(CookieDuration::seconds(SESSION_LIFETIME.num_seconds()))
        .finish();
    let mut jar = CookieJar::new();
    jar.private_mut(&side.cookie_key).add(cookie);
    let sealed = jar
        .get(SESSION_COOKIE)
        .cloned()
        .unwrap_or_else(|| Cookie::new(SESSION_COOKIE, ""));
    (sealed, csrf)
}

/// A cookie that deletes the session.
pub(crate) fn removal_cookie(state: &AppState) -> Cookie<'static> {
    let mut cookie = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure(state))
        .finish();
    cookie.make_removal();
    cookie
}

/// Redirect to the login page, remembering where the host wanted to go.
fn to_login(req: &HttpRequest, state: &AppState) -> HttpResponse {
    let wanted = req
        .uri()
        .path_and_query()
        .map_or("/calendar", |p| p.as_str());
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/login?next={}", crate::pages::encode(wanted)),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(removal_cookie(state))
        .finish()
}

/// The logged-in host, or the response to send instead: 404 when the host side is off, a
/// redirect to the login page without a valid session.
pub(crate) async fn require_host(
    req: &HttpRequest,
    state: &AppState,
) -> Result<(std::sync::Arc<HostSide>, LoggedIn), HttpResponse> {
    let Some(side) = state.host.clone() else {
        return Err(super::pages::not_found_page());
    };
    let now = booking_core::ports::Clock::now(state.scheduler.clock());
    let Some(session) = read_session(req, &side, now) else {
        return Err(to_login(req, state));
    };
    let Some(host_id) = session.host else {
        return Err(to_login(req, state));
    };
    let account = match side.accounts.account(host_id).await {
        Ok(Some(account)) => account,
        Ok(None) => return Err(to_login(req, state)),
        Err(e) => return Err(super::pages::store_failure_page(&e)),
    };
    if !constant_time_eq(
        fingerprint(account.password()).as_bytes(),
        session.password.as_bytes(),
    ) {
        // The password changed since this session was made.
        return Err(to_login(req, state));
    }
    let host = match booking_core::ports::BookingStore::host(state.scheduler.store(), host_id).await
    {
        Ok(Some(host)) => host,
        Ok(None) => return Err(to_login(req, state)),
        Err(e) => return Err(super::pages::store_failure_page(&e)),
    };
    Ok((
        side,
        LoggedIn {
            host,
            csrf: session.csrf,
        },
    ))
}

/// Compares without an early exit, so the time taken does not tell how much matched.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    diff == 0
}

/// Checks the form's `csrf` field against the session's token.
pub(crate) fn csrf_ok(expected: &str, form: &HashMap<String, String>) -> bool {
    form.get("csrf").is_some_and(|given| {
        !expected.is_empty() && constant_time_eq(given.as_bytes(), expected.as_bytes())
    })
}

/// The host an API key acts for: `Authorization: Bearer sk_…`, live, of an existing host.
pub(crate) enum KeyRefusal {
    /// No host side configured.
    Off,
    /// No `Authorization: Bearer` header.
    Missing,
    /// Malformed, unknown or revoked.
    Invalid,
    /// Storage failed.
    Store(booking_core::ports::StoreError),
}

pub(crate) async fn api_host(
    req: &HttpRequest,
    state: &AppState,
) -> Result<(std::sync::Arc<HostSide>, Host, ApiKey), KeyRefusal> {
    let side = state.host.clone().ok_or(KeyRefusal::Off)?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(KeyRefusal::Missing)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(KeyRefusal::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(KeyRefusal::Missing);
    }
    let secret = ApiKeySecret::parse(token.trim()).map_err(|_| KeyRefusal::Invalid)?;
    let key = side
        .accounts
        .api_key_by_hash(&secret.hash())
        .await
        .map_err(KeyRefusal::Store)?
        .filter(ApiKey::is_live)
        .ok_or(KeyRefusal::Invalid)?;
    let host = booking_core::ports::BookingStore::host(state.scheduler.store(), key.host())
        .await
        .map_err(KeyRefusal::Store)?
        .ok_or(KeyRefusal::Invalid)?;
    Ok((side, host, key))
}

/// Login attempts per login name and per client address in a [`LIMIT_WINDOW`], counted in the
/// store (the [`LoginAttempts`] port), so every instance behind a load balancer sees the same
/// counts. An attempt is counted *before* its password is checked, in one atomic step with the
/// question whether it is still allowed: concurrent attempts cannot slip past the limit. An
/// attempt is presumed failed until it succeeds; a success forgets the login's attempts and
/// gives its one attempt back to the client address.
pub(crate) struct LoginLimiter {
    attempts: Arc<dyn LoginAttempts>,
}

impl std::fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLimiter").finish_non_exhaustive()
    }
}

const fn limit(max: u32) -> AttemptLimit {
    match AttemptLimit::new(max, LIMIT_WINDOW) {
        Ok(limit) => limit,
        Err(_) => panic!("login limits need an attempt and a window"),
    }
}

/// Evaluated at compile time, so an invalid limit does not build.
const LOGIN_LIMIT: AttemptLimit = limit(FAILURES_PER_LOGIN);
const CLIENT_LIMIT: AttemptLimit = limit(FAILURES_PER_CLIENT);

impl LoginLimiter {
    /// A limiter counting in `attempts`.
    pub(crate) fn new(attempts: Arc<dyn LoginAttempts>) -> Self {
        Self { attempts }
    }

    /// Counts this attempt against the login name and the client address and says whether it
    /// may go ahead. When the count cannot be stored, the attempt is refused.
    pub(crate) async fn allows(&self, login: &str, client: &str, now: DateTime<Utc>) -> bool {
        let by_login = self
            .attempts
            .count_attempt(&format!("login:{login}"), LOGIN_LIMIT, now)
            .await;
        let by_client = self
            .attempts
            .count_attempt(&format!("client:{client}"), CLIENT_LIMIT, now)
            .await;
        match (by_login, by_client) {
            (Ok(login_ok), Ok(client_ok)) => login_ok && client_ok,
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = ?e, "counting a login attempt failed");
                false
            }
        }
    }

    /// A login that succeeded: forgets the login's attempts and gives the client address back
    /// the attempt [`LoginLimiter::allows`] counted.
    pub(crate) async fn succeeded(&self, login: &str, client: &str) {
        let cleared = self
            .attempts
            .clear_attempts(&format!("login:{login}"))
            .await;
        let returned = self
            .attempts
            .return_attempt(&format!("client:{client}"))
            .await;
        if let Err(e) = cleared.and(returned) {
            tracing::warn!(error = ?e, "forgetting login attempts failed");
        }
    }
}

/// Password checks running at once are bounded: each argon2 verification takes 19 MiB and tens
/// of milliseconds, and an unbounded burst of logins would exhaust memory. Clones share the
/// count.
#[derive(Debug, Clone)]
pub(crate) struct HashSlots {
    busy: Arc<AtomicUsize>,
}

/// One of [`MAX_CONCURRENT_HASHES`] places, given back when dropped.
#[derive(Debug)]
pub(crate) struct HashSlot {
    busy: Arc<AtomicUsize>,
}

impl HashSlots {
    pub(crate) fn new() -> Self {
        Self {
            busy: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// A place for one password check, or `None` when all are taken (answer at once).
    pub(crate) fn try_take(&self) -> Option<HashSlot> {
        self.busy
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_CONCURRENT_HASHES).then_some(n + 1)
            })
            .ok()
            .map(|_| HashSlot {
                busy: self.busy.clone(),
            })
    }
}

impl Drop for HashSlot {
    fn drop(&mut self) {
        self.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_to_phc_and_verify() {
        let passwords = Passwords::with_cost(64, 1, 1).unwrap();
        let hash = passwords.hash("correct horse").unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(passwords.verify("correct horse", &hash));
        assert!(!passwords.verify("correct horsf", &hash));
        assert_ne!(passwords.hash("correct horse").unwrap(), hash, "salted");
        assert_eq!(passwords.hash("short"), Err(PasswordError::Length));
        // Hashes made with other parameters still verify.
        assert!(Passwords::default().verify("correct horse", &hash));
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[actix_web::test]
    async fn the_limiter_counts_attempts_in_a_window() {
        let store = Arc::new(booking_core::testkit::InMemoryStore::new());
        let limiter = LoginLimiter::new(store);
        let t0 = DateTime::UNIX_EPOCH;
        for _ in 0..FAILURES_PER_LOGIN {
            assert!(limiter.allows("ann", "1.2.3.4", t0).await);
        }
        assert!(!limiter.allows("ann", "5.6.7.8", t0).await);
        assert!(limiter.allows("bob", "1.2.3.4", t0).await);
        assert!(limiter.allows("ann", "1.2.3.4", t0 + LIMIT_WINDOW).await);
        // A success frees the login and gives the client its attempt back.
        limiter.succeeded("ann", "1.2.3.4").await;
        for _ in 1..FAILURES_PER_LOGIN {
            assert!(limiter.allows("ann", "9.9.9.9", t0 + LIMIT_WINDOW).await);
        }
    }

    #[test]
    fn hash_slots_are_bounded_and_given_back() {
        let slots = HashSlots::new();
        let taken: Vec<HashSlot> = (0..MAX_CONCURRENT_HASHES)
            .map(|_| slots.try_take().expect("a free slot"))
            .collect();
        assert!(slots.try_take().is_none());
        drop(taken);
        assert!(slots.try_take().is_some());
    }
}
