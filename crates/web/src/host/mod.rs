//! The host's side: login and logout, the `/calendar` dashboard, booking detail with its
//! actions, `/links`, `/deals`, API keys under `/settings/api-keys`, and the host JSON API
//! under `/api/v1/` (bookings, links, deals) authenticated by API key.
//!
//! Every page needs a session ([`auth`]); every form that changes something carries the
//! session's CSRF token; every row is loaded and then checked to belong to the logged-in host,
//! and another host's row answers exactly like a missing one (404).

// Handlers return `Err(HttpResponse)` for "answer with this instead": short-lived values on
// the request path, where boxing would only add noise.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use actix_web::web;
use booking_core::accounts::{AccountStore, LinkDirectory};
use booking_core::deals::DealStore;
use booking_core::ports::TokenSource;

mod api;
mod auth;
mod linkform;
mod pages;
mod summary;

pub(crate) use api::extend_openapi;
pub use auth::{PasswordError, Passwords};

/// What the host's side needs beyond the use cases: accounts and API keys, deals, the list of
/// a host's links, a source of fresh ids and tokens, and the session cookie key.
pub struct HostSide {
    pub(crate) accounts: Arc<dyn AccountStore>,
    pub(crate) deals: Arc<dyn DealStore>,
    pub(crate) links: Arc<dyn LinkDirectory>,
    pub(crate) ids: Arc<dyn TokenSource>,
    pub(crate) cookie_key: actix_web::cookie::Key,
    pub(crate) passwords: Passwords,
    pub(crate) limiter: auth::LoginLimiter,
}

impl std::fmt::Debug for HostSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostSide")
            .field("passwords", &self.passwords)
            .finish_non_exhaustive()
    }
}

impl HostSide {
    /// The host side on these ports. `session_secret` (32 bytes, derived from the application
    /// secret for this purpose only) keys the encrypted session cookie; `ids` gives link and
    /// API key ids, API key secrets and CSRF tokens (the OS CSPRNG in production).
    pub fn new(
        accounts: Arc<dyn AccountStore>,
        deals: Arc<dyn DealStore>,
        links: Arc<dyn LinkDirectory>,
        ids: Arc<dyn TokenSource>,
        session_secret: [u8; 32],
    ) -> Self {
        Self {
            accounts,
            deals,
            links,
            ids,
            cookie_key: auth::cookie_key(session_secret),
            passwords: Passwords::default(),
            limiter: auth::LoginLimiter::default(),
        }
    }

    /// The same with other password-hashing parameters (tests).
    #[must_use]
    pub fn with_passwords(mut self, passwords: Passwords) -> Self {
        self.passwords = passwords;
        self
    }
}

/// Registers the host pages and the host API. Must come before the public API's `/api/v1`
/// scope, which answers every path under it.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    api::configure(cfg);
    pages::configure(cfg);
}
