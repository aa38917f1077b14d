//! The host's side: login and logout, the `/calendar` dashboard, booking detail with its
//! actions, `/links`, `/deals`, API keys under `/settings/api-keys`, and the host JSON API
//! under `/api/v1/` (bookings, links, deals, webhook subscriptions) authenticated by API key.
//!
//! Every page needs a session and every form that changes something carries the session's
//! CSRF token (the [`extract`] extractors check both); every row is read through the
//! [`HostDesk`](booking_core::desk::HostDesk) on behalf of the asking host, so another host's
//! row answers exactly like a missing one (404).
//!
//! Modules, each using only those listed before it: `auth` (passwords, sessions and their
//! cookie, the same-origin check, limiter), `extract` (`LoggedIn`, `Posted`, `ApiHost`),
//! `page` and `json` (response helpers), `linkform` and `summary` (shared shapes), `landing`
//! (where a login goes next), `fresh_links` (the limited re-sending of an attendee's links),
//! `planned` (reconfirmation and the planned actions, in words);
//! then one module per area: `login`, `integrations` (calendar connections and their banner),
//! `calendar`, `booking`, `links`, `deals`, `keys`, `api`, `webhooks`, `webhooks_page` (the
//! dashboard's webhooks, on `webhooks`' functions) and `deliveries` (failed deliveries).

use std::sync::Arc;

use actix_web::web;
use booking_core::accounts::{AccountStore, LinkDirectory, LoginAttempts};
use booking_core::deals::DealStore;
use booking_core::ports::{Outbox, TargetCheck, TokenSource, WebhookSender};
use booking_core::sessions::HostSessions;
use booking_core::subscriptions::WebhookSubscriptions;

mod api;
mod auth;
mod booking;
mod calendar;
mod deals;
mod deliveries;
mod extract;
mod fresh_links;
mod integrations;
mod json;
mod keys;
mod landing;
mod linkform;
mod links;
mod listing;
mod login;
mod page;
mod planned;
mod summary;
mod webhooks;
mod webhooks_page;
mod workflowform;

pub(crate) use api::HostApi;
pub(crate) use auth::constant_time_eq;
pub use auth::{PasswordError, Passwords};
pub(crate) use webhooks::WebhooksApi;

/// What the host's side needs beyond the use cases: accounts and API keys, deals, the list of
/// a host's links, counted login attempts, host sessions, a source of fresh ids and tokens, and
/// the session cookie key; optionally webhook subscriptions (without them `/api/v1/webhooks`
/// answers 404).
pub struct HostSide {
    pub(crate) accounts: Arc<dyn AccountStore>,
    pub(crate) deals: Arc<dyn DealStore>,
    pub(crate) links: Arc<dyn LinkDirectory>,
    pub(crate) ids: Arc<dyn TokenSource>,
    pub(crate) sessions: Arc<dyn HostSessions>,
    pub(crate) cookie_key: actix_web::cookie::Key,
    pub(crate) passwords: Passwords,
    pub(crate) limiter: auth::LoginLimiter,
    pub(crate) hash_slots: auth::HashSlots,
    pub(crate) fresh_links: fresh_links::FreshLinks,
    pub(crate) webhooks: Option<Webhooks>,
    /// The outbox, for the host's failed deliveries (`None`: `/settings/deliveries` is 404).
    pub(crate) outbox: Option<Arc<dyn Outbox>>,
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
    /// API key ids, API key secrets, session secrets and CSRF tokens (the OS CSPRNG in
    /// production); `attempts` counts login attempts for the login limit and the sends of fresh
    /// links for theirs, and `sessions` keeps the hosts' sessions (both the store, so that every
    /// instance sees the same).
    pub fn new(
        accounts: Arc<dyn AccountStore>,
        deals: Arc<dyn DealStore>,
        links: Arc<dyn LinkDirectory>,
        ids: Arc<dyn TokenSource>,
        session_secret: [u8; 32],
        attempts: Arc<dyn LoginAttempts>,
        sessions: Arc<dyn HostSessions>,
    ) -> Self {
        Self {
            accounts,
            deals,
            links,
            ids,
            sessions,
            cookie_key: auth::cookie_key(session_secret),
            passwords: Passwords::default(),
            fresh_links: fresh_links::FreshLinks::new(attempts.clone()),
            limiter: auth::LoginLimiter::new(attempts),
            hash_slots: auth::HashSlots::new(),
            webhooks: None,
            outbox: None,
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

    /// Adds `/settings/deliveries` on `outbox`: the host's dead entries and their retry (the
    /// outbox's per-host methods), and the retry state in the webhooks page's delivery log.
    #[must_use]
    pub fn with_outbox(mut self, outbox: Arc<dyn Outbox>) -> Self {
        self.outbox = Some(outbox);
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
    cfg.route(
        "/static/host.css",
        web::get().to(|| async {
            actix_web::HttpResponse::Ok()
                .content_type("text/css; charset=utf-8")
                .insert_header((
                    actix_web::http::header::CACHE_CONTROL,
                    "public, max-age=3600",
                ))
                .body(include_str!("host.css"))
        }),
    )
    .route("/login", web::get().to(login::login_page))
    .route("/login", web::post().to(login::login_submit))
    .route("/logout", web::post().to(login::logout))
    .route("/calendar", web::get().to(calendar::calendar_page))
    .route(
        "/calendar/bookings/{id}",
        web::get().to(booking::booking_page),
    )
    .route(
        "/calendar/bookings/{id}/{action}",
        web::post().to(booking::booking_action),
    )
    .route("/links", web::get().to(links::links_page))
    .route("/links", web::post().to(links::link_create))
    .route("/links/new", web::get().to(links::link_new))
    .route("/links/{id}", web::get().to(links::link_edit))
    .route("/links/{id}", web::post().to(links::link_update))
    .route("/deals", web::get().to(deals::deals_page))
    .route("/deals/{id}/stage", web::post().to(deals::deal_stage))
    .route(
        "/settings/integrations",
        web::get().to(integrations::integrations_page),
    )
    .route(
        "/settings/integrations/{provider}/connect",
        web::get().to(integrations::connect),
    )
    .route(
        "/settings/integrations/{provider}/callback",
        web::get().to(integrations::callback),
    )
    .route(
        "/settings/integrations/{id}/disconnect",
        web::post().to(integrations::disconnect),
    )
    .route("/settings/api-keys", web::get().to(keys::keys_page))
    .route("/settings/api-keys", web::post().to(keys::key_create))
    .route(
        "/settings/api-keys/{id}/revoke",
        web::post().to(keys::key_revoke),
    )
    .route(
        "/settings/home-listing",
        web::post().to(listing::listing_submit),
    );
    configure_webhooks_pages(cfg);
}

/// `/settings/webhooks` and `/settings/deliveries`.
fn configure_webhooks_pages(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/settings/webhooks",
        web::get().to(webhooks_page::hooks_page),
    )
    .route(
        "/settings/webhooks",
        web::post().to(webhooks_page::hook_create),
    )
    .route(
        "/settings/webhooks/{id}",
        web::get().to(webhooks_page::hook_page),
    )
    .route(
        "/settings/webhooks/{id}/active",
        web::post().to(webhooks_page::hook_switch),
    )
    .route(
        "/settings/webhooks/{id}/test",
        web::post().to(webhooks_page::hook_test),
    )
    .route(
        "/settings/webhooks/{id}/delete",
        web::post().to(webhooks_page::hook_delete),
    )
    .route(
        "/settings/deliveries",
        web::get().to(deliveries::deliveries_page),
    )
    .route(
        "/settings/deliveries/retry",
        web::post().to(deliveries::retry),
    );
}
