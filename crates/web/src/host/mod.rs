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
use booking_core::accounts::{AccountStore, LinkDirectory, LoginAttempts};
use booking_core::deals::DealStore;
use booking_core::ports::TokenSource;
use booking_core::subscriptions::WebhookSubscriptions;
use webhooks_out::{TargetPolicy, WebhookClient};

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
/// a host's links, counted login attempts, a source of fresh ids and tokens, and the session
/// cookie key; optionally webhook subscriptions (without them `/api/v1/webhooks` answers 404).
pub struct HostSide {
    pub(crate) accounts: Arc<dyn AccountStore>,
    pub(crate) deals: Arc<dyn DealStore>,
    pub(crate) links: Arc<dyn LinkDirectory>,
    pub(crate) ids: Arc<dyn TokenSource>,
    pub(crate) cookie_key: actix_web::cookie::Key,
    pub(crate) passwords: Passwords,
    pub(crate) limiter: auth::LoginLimiter,
    pub(crate) hash_slots: auth::HashSlots,
    pub(crate) webhooks: Option<Webhooks>,
}

/// Webhook subscriptions, the client test events go out with, and which targets may be
/// reached.
pub(crate) struct Webhooks {
    pub(crate) subscriptions: Arc<dyn WebhookSubscriptions>,
    pub(crate) client: std::sync::OnceLock<Option<WebhookClient>>,
    pub(crate) targets: TargetPolicy,
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
    /// API key ids, API key secrets and CSRF tokens (the OS CSPRNG in production);
    /// `attempts` counts login attempts for the login limit (the store, so that every instance
    /// sees the same counts).
    pub fn new(
        accounts: Arc<dyn AccountStore>,
        deals: Arc<dyn DealStore>,
        links: Arc<dyn LinkDirectory>,
        ids: Arc<dyn TokenSource>,
        session_secret: [u8; 32],
        attempts: Arc<dyn LoginAttempts>,
    ) -> Self {
        Self {
            accounts,
            deals,
            links,
            ids,
            cookie_key: auth::cookie_key(session_secret),
            passwords: Passwords::default(),
            limiter: auth::LoginLimiter::new(attempts),
            hash_slots: auth::HashSlots::new(),
            webhooks: None,
        }
    }

    /// Adds the webhook subscription API on `subscriptions`. `targets` says whether target
    /// URLs may resolve to private or loopback addresses (`WEBHOOKS_ALLOW_PRIVATE_TARGETS`);
    /// it is checked when a subscription is made and before a test event is sent.
    #[must_use]
    pub fn with_subscriptions(
        mut self,
        subscriptions: Arc<dyn WebhookSubscriptions>,
        targets: TargetPolicy,
    ) -> Self {
        self.webhooks = Some(Webhooks {
            subscriptions,
            client: std::sync::OnceLock::new(),
            targets,
        });
        self
    }

    /// Sends test events with this client instead of one made on first use (5-second
    /// timeout). Needs [`HostSide::with_subscriptions`] first.
    #[must_use]
    pub fn with_webhook_client(self, client: WebhookClient) -> Self {
        if let Some(w) = &self.webhooks {
            let _ = w.client.set(Some(client));
        }
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
