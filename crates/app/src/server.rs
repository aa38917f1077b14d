//! The HTTP server: the web crate's routes, request ids, access logs without tokens and HTTP
//! metrics (web's `observe_requests`), `/metrics` on the site or a listener of its own, graceful
//! shutdown.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::{App, HttpServer};
use anyhow::{Context, Result};
use booking_core::Scheduler;
use booking_core::calendar_sync::SyncRequests;
use booking_core::ports::BusyCalendar;

use crate::adapters::{NoConnectedCalendars, OsRandom, SystemClock};
use crate::config::Config;
use crate::outbound::Outbound;
use crate::storage::Storage;

/// The use cases on the production adapters, for the CLI's commands (no calendar is read).
pub fn scheduler(storage: &Storage) -> web::DynScheduler {
    scheduler_on(storage, Arc::new(NoConnectedCalendars))
}

/// The use cases with the hosts' busy times from `busy` (their connected calendars).
pub fn scheduler_on(storage: &Storage, busy: Arc<dyn BusyCalendar>) -> web::DynScheduler {
    Scheduler::new(
        storage.bookings.clone(),
        Arc::new(SystemClock),
        Arc::new(OsRandom),
        busy,
    )
}

/// The calendar integrations the server offers: the connected calendars (busy times and the
/// integrations pages) and where verified push notifications are queued.
#[derive(Debug, Clone)]
pub struct CalendarWiring {
    /// The connection framework.
    pub calendars: Arc<crate::calendars::Calendars>,
    /// The calendar worker's queue.
    pub sync_requests: Arc<dyn SyncRequests>,
    /// `CRON_SECRET`.
    pub cron_secret: Option<String>,
}

/// A bound, not yet running server.
#[derive(Debug)]
pub struct Bound {
    /// The address actually listened on.
    pub addr: SocketAddr,
    /// The public URL links point to.
    pub base_url: String,
    listener: TcpListener,
    /// Keys the host session cookie (derived from the secret for this purpose only).
    session_key: crate::host_cmd::SessionKey,
    /// `BOOKINGS_PER_CLIENT_PER_HOUR`.
    bookings_per_client_per_hour: u32,
    /// Where `/metrics` is served, with the recorder it renders.
    metrics: Option<Metrics>,
}

/// `/metrics`: the recorder, the token, and the listener of its own (`METRICS_BIND`) if any.
struct Metrics {
    recorder: metrics_exporter_prometheus::PrometheusHandle,
    token: Option<String>,
    listener: Option<TcpListener>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("listener", &self.listener)
            .finish_non_exhaustive()
    }
}

/// Binds `config.bind` (port 0 picks a free port).
///
/// # Errors
/// When the address cannot be bound.
pub fn bind(config: &Config) -> Result<Bound> {
    let listener = TcpListener::bind(&config.bind)
        .with_context(|| format!("listening on {} (BIND)", config.bind))?;
    let addr = listener.local_addr()?;
    let metrics = if config.metrics.enabled() {
        let listener = match config.metrics.bind {
            Some(at) => Some(
                TcpListener::bind(at)
                    .with_context(|| format!("listening on {at} (METRICS_BIND)"))?,
            ),
            None => None,
        };
        Some(Metrics {
            recorder: web::install_recorder().context("installing the metrics recorder")?,
            token: config.metrics.token.clone(),
            listener,
        })
    } else {
        None
    };
    Ok(Bound {
        addr,
        base_url: config.base_url_for(addr),
        listener,
        session_key: crate::host_cmd::SessionKey(config.derived_key("host-session")),
        bookings_per_client_per_hour: config.bookings_per_client_per_hour,
        metrics,
    })
}

/// The `/metrics` endpoint over `storage`.
fn metrics_endpoint(metrics: &Metrics, storage: &Storage) -> web::MetricsEndpoint {
    let endpoint = web::MetricsEndpoint::new(
        metrics.recorder.clone(),
        storage.outbox.clone(),
        storage.health.clone(),
        Arc::new(SystemClock),
    );
    match &metrics.token {
        Some(token) => endpoint.with_token(token.clone()),
        None => endpoint,
    }
}

/// Serves `/metrics` alone on `listener` (`METRICS_BIND`), in the background for the life of
/// the process: it holds no lease and no transaction, so nothing needs it stopped in order.
fn serve_metrics_apart(listener: TcpListener, endpoint: web::MetricsEndpoint) -> Result<()> {
    let endpoint = actix_web::web::Data::new(endpoint);
    tracing::info!(addr = %listener.local_addr()?, "serving /metrics");
    let server = HttpServer::new(move || {
        App::new()
            .app_data(endpoint.clone())
            .configure(web::metrics_routes)
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)
    .context("serving /metrics on METRICS_BIND")?
    .run();
    tokio::spawn(server);
    Ok(())
}

/// The server, ready to run: it serves while polled, until stopped through its handle
/// (`Server::handle`), and then lets in-flight requests finish (up to 30 s). It does not
/// listen for signals itself: `main` stops the outbox workers first (see `with_dispatch`).
/// The host API's webhook test events and target checks go through `outbound`'s adapters.
///
/// # Errors
/// When the listener cannot be used.
pub fn start(
    bound: Bound,
    storage: &Storage,
    outbound: &Outbound,
    calendars: &CalendarWiring,
) -> Result<actix_web::dev::Server> {
    let host_side = web::host::HostSide::new(
        storage.accounts.clone(),
        storage.deals.clone(),
        storage.links.clone(),
        Arc::new(OsRandom),
        bound.session_key.0,
        storage.attempts.clone(),
        storage.sessions.clone(),
    )
    .with_subscriptions(
        storage.subscriptions.clone(),
        outbound.targets.clone(),
        outbound.webhooks.clone(),
    )
    .with_outbox(storage.outbox.clone());
    let state = web::AppState::new(
        scheduler_on(storage, calendars.calendars.clone()),
        &bound.base_url,
    )
    .with_host_side(host_side)
    .with_booking_limit(storage.attempts.clone(), bound.bookings_per_client_per_hour)
    .with_calendars(web::CalendarSide {
        integrations: calendars.calendars.clone(),
        sync_requests: calendars.sync_requests.clone(),
        cron_secret: calendars.cron_secret.clone(),
    })
    .with_store_health(storage.health.clone())
    .with_answer_cache(storage.read_cache.clone());
    let state = match &outbound.texts {
        Some(texts) => state.with_texts(web::TextSide {
            replies: texts.replies.clone(),
            opt_outs: storage.opt_outs.clone(),
        }),
        None => state,
    };
    // `/metrics` on the site itself only with a token and no listener of its own.
    let on_site = match bound.metrics {
        Some(metrics) => {
            let endpoint = metrics_endpoint(&metrics, storage);
            match metrics.listener {
                Some(listener) => {
                    serve_metrics_apart(listener, endpoint)?;
                    None
                }
                None => Some(actix_web::web::Data::new(endpoint)),
            }
        }
        None => None,
    };
    tracing::info!(addr = %bound.addr, base_url = %bound.base_url, "listening");
    Ok(HttpServer::new(move || {
        let app = App::new()
            .wrap(web::security_headers())
            .wrap(actix_web::middleware::from_fn(web::observe_requests))
            .app_data(actix_web::web::Data::new(state.clone()));
        match &on_site {
            Some(endpoint) => app.app_data(endpoint.clone()),
            None => app,
        }
        .configure(web::configure)
    })
    .shutdown_timeout(30)
    .disable_signals()
    .listen(bound.listener)
    .context("serving on the bound listener")?
    .run())
}
