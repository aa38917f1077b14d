//! Slotkeeper's HTTP surface: the public booking pages (book, reschedule, cancel, reconfirm),
//! the public JSON API, the host's side ([`host`]) and the OpenAPI document generated from the
//! API handlers. Handlers turn requests into domain values, call the
//! [`Scheduler`](booking_core::Scheduler) (or the host's desk), and hand view models to
//! `views`; they never build HTML themselves. Failures become answers in one place (`errors`).

use std::sync::Arc;

use actix_web::web;
use booking_core::Scheduler;
use booking_core::accounts::LoginAttempts;
use booking_core::calendar_sync::{CalendarIntegrations, SyncRequests};
use booking_core::ports::{
    BookingStore, BusyCalendar, Clock, StoreHealth, TextOptOuts, TokenSource,
};
use booking_core::text_replies::ReplySignature;

mod answers;
mod api;
mod calendars;
mod errors;
mod forms;
mod headers;
pub mod host;
mod limits;
mod observe;
mod openapi;
mod operations;
mod pages;
mod present;
mod reject;
mod sms;
mod views;

pub use headers::{redact_tokens, security_headers};
pub use limits::{BOOKING_WINDOW, BOOKINGS_PER_CLIENT};
pub use observe::{HTTP_DURATION, HTTP_REQUESTS, REQUEST_ID_HEADER, RequestId, observe_requests};
pub use operations::{MetricsEndpoint, install_recorder, metrics_routes};

/// The use cases with adapters chosen at run time.
pub type DynScheduler =
    Scheduler<Arc<dyn BookingStore>, Arc<dyn Clock>, Arc<dyn TokenSource>, Arc<dyn BusyCalendar>>;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub scheduler: Arc<DynScheduler>,
    /// Where the site is reachable from outside, without a trailing slash
    /// (`https://book.example.com`); used in links sent by mail and returned by the API.
    pub public_base_url: String,
    /// Host logins, the dashboard and the host API; `None` answers their routes with 404.
    pub(crate) host: Option<Arc<host::HostSide>>,
    /// Calendar integrations; `None` answers their routes with 404.
    pub(crate) calendars: Option<Arc<CalendarSide>>,
    /// Bookings per client address; `None` (embedders' tests) leaves them unlimited.
    pub(crate) booking_limit: Option<Arc<limits::BookingLimit>>,
    /// Text messages; `None` (no `SMS_URL`): the booking form promises none.
    pub(crate) texts: Option<Arc<TextSide>>,
    /// What `/readyz` asks; `None` answers it with 404.
    pub(crate) health: Option<Arc<dyn StoreHealth>>,
    /// The slots API's and picker pages' answers of the current second; `None` builds each
    /// request's answer anew.
    pub(crate) answers: Option<Arc<answers::AnswerCache>>,
}

/// Text messages (SMS) are configured: the booking form says texts may come and how to stop
/// them, and the provider's replies (STOP, START) are taken at `POST /sms/inbound`.
pub struct TextSide {
    /// Checks that a reply really comes from the provider; `None` when replies cannot come
    /// back (the development file adapter): `/sms/inbound` then answers 404.
    pub replies: Option<Arc<dyn ReplySignature>>,
    /// Where opt-outs are recorded (the store, so every instance honours them).
    pub opt_outs: Arc<dyn TextOptOuts>,
}

impl std::fmt::Debug for TextSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextSide")
            .field("replies", &self.replies)
            .finish_non_exhaustive()
    }
}

/// Calendar integrations: the connection framework, where verified push notifications are
/// handed for a background sync, and the bearer secret of the renewal cron endpoint (`None`
/// answers that endpoint with 401).
pub struct CalendarSide {
    /// Connecting, disconnecting, push checks and renewal (booking-core's `ConnectedCalendars`).
    pub integrations: Arc<dyn CalendarIntegrations>,
    /// Takes the connection a verified notification is about, to sync it soon.
    pub sync_requests: Arc<dyn SyncRequests>,
    /// `CRON_SECRET`: what `POST /api/cron/calendar-subscriptions-renew` expects as bearer.
    pub cron_secret: Option<String>,
}

impl std::fmt::Debug for CalendarSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CalendarSide")
            .field("integrations", &self.integrations)
            .field("sync_requests", &self.sync_requests)
            .field("cron_secret", &self.cron_secret.as_ref().map(|_| "***"))
            .finish()
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("public_base_url", &self.public_base_url)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State for the given use cases and public URL.
    pub fn new(scheduler: DynScheduler, public_base_url: &str) -> Self {
        Self {
            scheduler: Arc::new(scheduler),
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            host: None,
            calendars: None,
            booking_limit: None,
            texts: None,
            health: None,
            answers: None,
        }
    }

    /// The same state keeping the slots API's and the picker pages' answers for the second
    /// they are asked in, retired by `reads`' changes: `reads` must be the read cache in
    /// front of the scheduler's store (booking-core's `read_cache::CachedStore`), so that
    /// every change the scheduler commits, and every change other instances announce to it,
    /// retires them.
    #[must_use]
    pub fn with_answer_cache(mut self, reads: Arc<booking_core::read_cache::ReadCache>) -> Self {
        self.answers = Some(Arc::new(answers::answer_cache(reads)));
        self
    }

    /// The same state with text messages configured: the booking form mentions them, and
    /// replies are taken at `POST /sms/inbound` when `side.replies` can check them.
    #[must_use]
    pub fn with_texts(mut self, side: TextSide) -> Self {
        self.texts = Some(Arc::new(side));
        self
    }

    /// The same state with bookings limited to `per_window` per client address per
    /// [`BOOKING_WINDOW`] (at least one; [`BOOKINGS_PER_CLIENT`] is the binary's default),
    /// counted in `attempts` (the store, so every instance agrees).
    #[must_use]
    pub fn with_booking_limit(mut self, attempts: Arc<dyn LoginAttempts>, per_window: u32) -> Self {
        self.booking_limit = Some(Arc::new(limits::BookingLimit::new(attempts, per_window)));
        self
    }

    /// Counts a booking request against its client's limit, if one is set.
    pub(crate) async fn admit_booking(
        &self,
        req: &actix_web::HttpRequest,
    ) -> Result<(), errors::Failure> {
        match &self.booking_limit {
            Some(limit) => limit.admit(req, self.scheduler.clock().now()).await,
            None => Ok(()),
        }
    }

    /// The same state with `/readyz` answered from `health`: ready when the database answers
    /// and holds every migration of this build.
    #[must_use]
    pub fn with_store_health(mut self, health: Arc<dyn StoreHealth>) -> Self {
        self.health = Some(health);
        self
    }

    /// The same state with the host's side (login, dashboard, host API) switched on.
    #[must_use]
    pub fn with_host_side(mut self, side: host::HostSide) -> Self {
        self.host = Some(Arc::new(side));
        self
    }

    /// The same state with calendar integrations switched on: `/settings/integrations`, the
    /// providers' push endpoints and the renewal cron endpoint.
    #[must_use]
    pub fn with_calendars(mut self, side: CalendarSide) -> Self {
        self.calendars = Some(Arc::new(side));
        self
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_base_url)
    }
}

/// Registers every public route (pages, JSON API, static assets, `/healthz`, `/readyz`,
/// `/metrics`). Wrap the app in [`security_headers`] to send the Content-Security-Policy on
/// every response, and in [`observe_requests`] (`actix_web::middleware::from_fn`) for request
/// ids, the access log and the HTTP metrics.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(reject::json_config())
        .app_data(reject::query_config())
        .app_data(reject::form_config())
        .app_data(reject::path_config());
    // Before the public API: its `/api/v1` scope answers every path under it.
    openapi::configure(cfg);
    operations::configure(cfg);
    calendars::configure(cfg);
    sms::configure(cfg);
    host::configure(cfg);
    api::configure(cfg);
    pages::configure(cfg);
}
