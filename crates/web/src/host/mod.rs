//! The host's side: login and logout, the `/calendar` dashboard, booking detail with its
//! actions, `/links`, `/deals`, API keys under `/settings/api-keys`, and the host JSON API
//! under `/api/v1/` (bookings, links, deals, webhook subscriptions) authenticated by API key.
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
use booking_core::ports::{TargetCheck, TokenSource, WebhookSender};
use booking_core::subscriptions::WebhookSubscriptions;

mod api;
mod auth;
mod linkform;
mod pages;
mod summary;
mod webhooks;

pub(crate) use api::extend_openapi;
pub use auth::{PasswordError, Passwords};
pub(crate) use webhooks::extend_openapi as extend_webhooks_openapi;

/// What the host's side needs beyond the use cases: accounts and API keys, deals, the list of
/// a host's links, a source of fresh ids and tokens, and the session cookie key; optionally
/// webhook subscriptions (without them `/api/v1/webhooks` answers 404).
pub struct HostSide {
    pub(crate) accounts: Arc<dyn AccountStore>,
    pub(crate) deals: Arc<dyn DealStore>,
    pub(crate) links: Arc<dyn LinkDirectory>,
    pub(crate) ids: Arc<dyn TokenSource>,
    pub(crate) cookie_key: actix_web::cookie::Key,
    pub(crate) passwords: Passwords,
    pub(crate) limiter: auth::LoginLimiter,
    pub(crate) webhooks: Option<Webhooks>,
}

/// Webhook subscriptions, the sender test events go out through (the same port as real
/// deliveries), and which targets may be reached.
pub(crate) struct Webhooks {
    pub(crate) subscriptions: Arc<dyn WebhookSubscriptions>,
    pub(crate) sender: Arc<dyn WebhookSender>,
    pub(crate) targets: Arc<dyn TargetCheck>,
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
            webhooks: None,
        }
    }

    /// Adds the webhook subscription API on `subscriptions`. `targets` decides which target
    /// URLs may be reached (e.g. no private or loopback addresses); it is checked when a
    /// subscription is made and before a test event is sent. `sender` makes new secrets and
    /// sends test events, exactly as the outbox dispatcher's deliveries.
    #[must_use]
    pub fn with_subscriptions(
        mut self,
        subscriptions: Arc<dyn WebhookSubscriptions>,
        targets: Arc<dyn TargetCheck>,
        sender: Arc<dyn WebhookSender>,
    ) -> Self {
        self.webhooks = Some(Webhooks {
            subscriptions,
            sender,
            targets,
        });
        self
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
    webhooks::configure(cfg);
    api::configure(cfg);
    pages::configure(cfg);
}
