//! Who is asking: password hashing (argon2id), sessions and their cookie, CSRF tokens, the
//! same-origin check of posted forms, and login rate limiting. The extractors built on them
//! (`LoggedIn`, `Posted`, `ApiHost`) live in `extract`.
//!
//! A session lives in the store (booking-core's `HostSessions`), so every instance agrees on
//! it and logout or a password change ends it everywhere at once; it lasts 12 hours. The
//! cookie carries only the session's secret (the store keeps its hash), encrypted and
//! authenticated (AES-256-GCM via actix-web's private cookie jar) with a key derived from the
//! application secret, sent `HttpOnly`, `SameSite=Lax`, and `Secure` when the site is served
//! over https. Before login the same cookie carries the login form's CSRF token instead, so
//! showing the login page stores nothing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use actix_web::HttpRequest;
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use actix_web::http::header;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, Params};
use booking_core::HostId;
use booking_core::accounts::{AttemptLimit, LoginAttempts, PasswordHash};
use booking_core::ports::StoreError;
use booking_core::sessions::{HostSession, HostSessions, SessionId, SessionSecret};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use url::{Origin, Url};

use super::HostSide;
use crate::AppState;

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "sk_session";
/// How long a login lasts.
const SESSION_LIFETIME: TimeDelta = TimeDelta::hours(12);
/// Failed logins allowed per login name, and per client address, in [`LIMIT_WINDOW`].
const FAILURES_PER_LOGIN: u32 = 5;
const FAILURES_PER_CLIENT: u32 = 20;

/// Password checks that may run at once; more logins meanwhile are answered 503 at once.
pub(crate) const MAX_CONCURRENT_HASHES: usize = 8;
const LIMIT_WINDOW: TimeDelta = TimeDelta::minutes(15);

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

/// The session cookie's content, sealed (encrypted and authenticated) with the cookie key, so
/// a cookie we did not make costs no lookup.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum CookieContent {
    /// Before login: the login form's CSRF token and when it was issued (Unix seconds).
    /// Nothing is stored for it, so showing the login page writes nothing.
    LoginForm { csrf: String, issued: i64 },
    /// Logged in: the session's secret; the session itself is in the store.
    Session { secret: String },
}

/// A live session read from a request.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) id: SessionId,
    pub(crate) host: HostId,
    pub(crate) csrf: String,
}

pub(crate) fn cookie_key(secret: [u8; 32]) -> Key {
    Key::derive_from(&secret)
}

fn secure(state: &AppState) -> bool {
    state.public_base_url.starts_with("https://")
}

/// Opens the session cookie (decrypts and parses it).
fn cookie_content(req: &HttpRequest, side: &HostSide) -> Option<CookieContent> {
    let raw = req.cookie(SESSION_COOKIE)?;
    let mut jar = CookieJar::new();
    jar.add_original(raw);
    let cookie = jar.private(&side.cookie_key).get(SESSION_COOKIE)?;
    serde_json::from_str(cookie.value()).ok()
}

/// The login form's CSRF token, from a login-form cookie issued at most a session lifetime ago.
pub(crate) fn login_form_csrf(
    req: &HttpRequest,
    side: &HostSide,
    now: DateTime<Utc>,
) -> Option<String> {
    let CookieContent::LoginForm { csrf, issued } = cookie_content(req, side)? else {
        return None;
    };
    let issued = DateTime::from_timestamp(issued, 0)?;
    let fresh = now >= issued - TimeDelta::minutes(5) && now - issued <= SESSION_LIFETIME;
    fresh.then_some(csrf)
}

/// The live session the request's cookie names, looked up in the store (which records the
/// use). No cookie, a cookie we did not seal, or a session that ended or expired: `None`.
///
/// # Errors
/// [`StoreError`] when the store cannot be read.
pub(crate) async fn read_session(
    req: &HttpRequest,
    side: &HostSide,
    now: DateTime<Utc>,
) -> Result<Option<Session>, StoreError> {
    let Some(CookieContent::Session { secret }) = cookie_content(req, side) else {
        return Ok(None);
    };
    let Ok(secret) = SessionSecret::parse(&secret) else {
        return Ok(None);
    };
    Ok(side
        .sessions
        .live_session(&secret.id(), now)
        .await?
        .map(|s| Session {
            id: s.id(),
            host: s.host(),
            csrf: s.csrf().to_owned(),
        }))
}

/// Seals `content` into the session cookie.
fn sealed_cookie(state: &AppState, side: &HostSide, content: &CookieContent) -> Cookie<'static> {
    let value = serde_json::to_string(content).unwrap_or_default();
    let cookie = Cookie::build(SESSION_COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure(state))
        .max_age(CookieDuration::seconds(SESSION_LIFETIME.num_seconds()))
        .finish();
    let mut jar = CookieJar::new();
    jar.private_mut(&side.cookie_key).add(cookie);
    jar.get(SESSION_COOKIE)
        .cloned()
        .unwrap_or_else(|| Cookie::new(SESSION_COOKIE, ""))
}

/// A login-form cookie with a fresh CSRF token, and the token for the form.
pub(crate) fn login_form_cookie(
    state: &AppState,
    side: &HostSide,
    now: DateTime<Utc>,
) -> (Cookie<'static>, String) {
    let csrf = side.ids.new_token().expose().to_owned();
    let content = CookieContent::LoginForm {
        csrf: csrf.clone(),
        issued: now.timestamp(),
    };
    (sealed_cookie(state, side, &content), csrf)
}

/// Starts a session of `host` in the store (a fresh secret and CSRF token, so nothing planted
/// before login is worth anything) and returns its cookie. Sessions that have expired are
/// pruned on the way (best effort).
///
/// # Errors
/// [`StoreError`] when the session cannot be stored.
pub(crate) async fn start_session(
    state: &AppState,
    side: &HostSide,
    host: HostId,
    now: DateTime<Utc>,
) -> Result<Cookie<'static>, StoreError> {
    let secret = SessionSecret::from_fresh_token(side.ids.new_token());
    let csrf = side.ids.new_token();
    let session = HostSession::start(&secret, host, csrf.expose(), now, SESSION_LIFETIME)
        .map_err(|e| StoreError::msg(format!("a new session is invalid: {e}")))?;
    side.sessions.start_session(&session).await?;
    match side.sessions.prune_sessions(now).await {
        Ok(0) => {}
        Ok(pruned) => tracing::debug!(pruned, "expired host sessions pruned"),
        Err(e) => tracing::warn!(error = ?e, "pruning expired host sessions failed"),
    }
    let content = CookieContent::Session {
        secret: secret.expose().to_owned(),
    };
    Ok(sealed_cookie(state, side, &content))
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

/// Checks a form's `csrf` field against the session's token.
pub(crate) fn csrf_ok(expected: &str, given: &str) -> bool {
    !expected.is_empty() && constant_time_eq(given.as_bytes(), expected.as_bytes())
}

/// Whether a posted form came from this site. The browser says where a POST comes from in
/// `Origin` (or, when it sends none, in `Referer`); either must name the site's public origin
/// or the origin the request was addressed to (its `Host`, which a page on another site cannot
/// choose). `Origin: null` (a sandboxed frame, a privacy-stripped referrer) is foreign. A
/// request with neither header is let through: browsers send `Origin` on every cross-site POST,
/// and the CSRF token is checked all the same.
pub(crate) fn same_origin(req: &HttpRequest, state: &AppState) -> bool {
    let headers = req.headers();
    let Some(claimed) = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
    else {
        return true;
    };
    let Some(claimed) = claimed
        .to_str()
        .ok()
        .and_then(|c| Url::parse(c).ok())
        .map(|u| u.origin())
        .filter(Origin::is_tuple)
    else {
        return false;
    };
    let addressed = {
        let info = req.connection_info();
        format!("{}://{}", info.scheme(), info.host())
    };
    [state.public_base_url.as_str(), addressed.as_str()]
        .into_iter()
        .filter_map(|ours| Url::parse(ours).ok())
        .any(|ours| ours.origin() == claimed)
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
    /// may go ahead.
    ///
    /// # Errors
    /// [`StoreError`] when the count cannot be stored: the attempt is not checked (an outage
    /// answers 503, not "too many attempts").
    pub(crate) async fn allows(
        &self,
        login: &str,
        client: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let by_login = self
            .attempts
            .count_attempt(&format!("login:{login}"), LOGIN_LIMIT, now)
            .await?;
        let by_client = self
            .attempts
            .count_attempt(&format!("client:{client}"), CLIENT_LIMIT, now)
            .await?;
        Ok(by_login && by_client)
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
            assert!(limiter.allows("ann", "1.2.3.4", t0).await.unwrap());
        }
        assert!(!limiter.allows("ann", "5.6.7.8", t0).await.unwrap());
        assert!(limiter.allows("bob", "1.2.3.4", t0).await.unwrap());
        assert!(
            limiter
                .allows("ann", "1.2.3.4", t0 + LIMIT_WINDOW)
                .await
                .unwrap()
        );
        // A success frees the login and gives the client its attempt back.
        limiter.succeeded("ann", "1.2.3.4").await;
        for _ in 1..FAILURES_PER_LOGIN {
            assert!(
                limiter
                    .allows("ann", "9.9.9.9", t0 + LIMIT_WINDOW)
                    .await
                    .unwrap()
            );
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
