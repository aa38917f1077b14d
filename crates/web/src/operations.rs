//! The endpoints of operators and load balancers: `/readyz` (the database answers and holds
//! every migration of this build) and `/metrics` (Prometheus text: what the `metrics` facade
//! recorded in this process, and the outbox and connection pool measured at scrape time).
//! `/healthz` (the process is alive) lives with the public pages.

use std::fmt::Write as _;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use booking_core::ports::{Clock, Outbox, StoreHealth};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

use crate::AppState;
use crate::errors::{Error, Failure};
use crate::host::constant_time_eq;
use crate::observe::HTTP_DURATION;

/// Bucket bounds (seconds) of the request latency histogram.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Installs the process-wide Prometheus recorder the `metrics` facade records into (once;
/// later calls hand out the same recorder) and returns a handle that renders it.
///
/// # Errors
/// [`BuildError`] when another recorder was installed first.
pub fn install_recorder() -> Result<PrometheusHandle, BuildError> {
    // A lock, not a once-cell: two callers at once (tests do) must not both try to install.
    static RECORDER: std::sync::Mutex<Option<PrometheusHandle>> = std::sync::Mutex::new(None);
    let mut installed = RECORDER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(handle) = installed.as_ref() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), &LATENCY_BUCKETS)?
        .install_recorder()?;
    *installed = Some(handle.clone());
    Ok(handle)
}

/// `/metrics`: served where its [`web::Data`] is registered (the site itself when
/// `METRICS_TOKEN` is set, or a separate listener, `METRICS_BIND`); elsewhere 404.
pub struct MetricsEndpoint {
    recorder: PrometheusHandle,
    token: Option<String>,
    outbox: Arc<dyn Outbox>,
    health: Arc<dyn StoreHealth>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for MetricsEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsEndpoint")
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl MetricsEndpoint {
    /// Renders `recorder` and measures `outbox` and `health` at `clock`'s time, for anyone
    /// who can reach it (a separate listener); see [`MetricsEndpoint::with_token`].
    pub fn new(
        recorder: PrometheusHandle,
        outbox: Arc<dyn Outbox>,
        health: Arc<dyn StoreHealth>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            recorder,
            token: None,
            outbox,
            health,
            clock,
        }
    }

    /// The same, answering only requests with `Authorization: Bearer <token>` (401 otherwise).
    #[must_use]
    pub fn with_token(mut self, token: String) -> Self {
        self.token = Some(token);
        self
    }

    fn admits(&self, req: &HttpRequest) -> bool {
        let Some(expected) = &self.token else {
            return true;
        };
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .unwrap_or_default();
        constant_time_eq(given.as_bytes(), expected.as_bytes())
    }

    /// The recorded metrics, then the gauges measured now.
    async fn render(&self) -> String {
        self.recorder.run_upkeep();
        let mut text = self.recorder.render();
        self.measure_store(&mut text).await;
        text
    }

    async fn measure_store(&self, text: &mut String) {
        let now = self.clock.now();
        let backlog = self.outbox.backlog(now).await;
        if let Err(e) = &backlog {
            tracing::warn!(error = %crate::errors::chain(e), "measuring the outbox for /metrics failed");
        }
        gauge(
            text,
            "slotkeeper_store_up",
            "1 when the database answered this scrape, 0 when it did not.",
            &[("", f64::from(u8::from(backlog.is_ok())))],
        );
        if let Ok(backlog) = backlog {
            // Counts stay far below 2^52: exact as floats, which is what metrics are.
            let count = |n: u64| n as f64;
            gauge(
                text,
                "slotkeeper_outbox_due",
                "Outbox entries due and not yet delivered (leased or not), dead ones excluded.",
                &[("", count(backlog.due))],
            );
            gauge(
                text,
                "slotkeeper_outbox_scheduled",
                "Outbox entries due later (reminders, retries waiting for their time).",
                &[("", count(backlog.scheduled))],
            );
            gauge(
                text,
                "slotkeeper_outbox_oldest_due_age_seconds",
                "How long the longest-waiting due outbox entry has waited (0 when none waits).",
                &[("", backlog.oldest_due_age(now).as_seconds_f64())],
            );
            gauge(
                text,
                "slotkeeper_outbox_dead_entries",
                "Outbox entries whose every attempt failed (listed by `slotkeeper outbox dead`).",
                &[("", count(backlog.dead))],
            );
        }
        if let Some(pool) = self.health.connections() {
            let in_use = pool.open.saturating_sub(pool.idle);
            gauge(
                text,
                "slotkeeper_db_pool_connections",
                "Database connections of this process's pool, by state.",
                &[
                    ("state=\"in_use\"", f64::from(in_use)),
                    ("state=\"idle\"", f64::from(pool.idle)),
                ],
            );
            gauge(
                text,
                "slotkeeper_db_pool_max_connections",
                "The most connections this process's pool opens.",
                &[("", f64::from(pool.max))],
            );
        }
    }
}

/// Appends one gauge in the text exposition format; each sample is (labels, value).
fn gauge(text: &mut String, name: &str, help: &str, samples: &[(&str, f64)]) {
    let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} gauge");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(text, "{name} {value}");
        } else {
            let _ = writeln!(text, "{name}{{{labels}}} {value}");
        }
    }
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

/// Registers `/metrics` alone, for a listener of its own (`METRICS_BIND`); the app needs the
/// [`MetricsEndpoint`] as [`web::Data`].
pub fn metrics_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics));
}

async fn metrics(
    endpoint: Option<web::Data<MetricsEndpoint>>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    let endpoint = endpoint.ok_or(Failure::NotFound)?;
    if !endpoint.admits(&req) {
        return Err(Failure::MetricsUnauthorized.into());
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(endpoint.render().await))
}

/// 200 `{"status":"ready"}` when the database answers and holds every migration of this
/// build; 503 with `Retry-After` and a problem document otherwise. 404 when the site was
/// built without a store to ask ([`AppState::with_store_health`]).
async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let health = state.health.as_ref().ok_or(Failure::NotFound)?;
    let not_ready = |why: String| {
        tracing::warn!(why, "not ready");
        Failure::NotReady(why)
    };
    match health.pending_migrations().await {
        Ok(pending) if pending.is_empty() => Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({"status": "ready"}))),
        Ok(pending) => Err(not_ready(format!(
            "The database lacks {} migration(s) of this version (first: {}); run `slotkeeper migrate`.",
            pending.len(),
            pending[0]
        ))
        .into()),
        Err(e) => {
            tracing::warn!(error = %crate::errors::chain(&e), "readiness check failed");
            Err(not_ready("The database cannot be reached.".to_owned()).into())
        }
    }
}
