//! What operators get from the site: request ids (echoed, generated, replaced when unfit) on
//! the request's span and so on its JSON log lines, `/metrics` behind its bearer token with
//! routes by template and never a token, and `/readyz` on a complete, an unreachable and an
//! unmigrated database.

use std::io::Write;
use std::sync::{Arc, Mutex};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::{TestRequest, call_service};
use async_trait::async_trait;
use booking_core::ports::{ConnectionUse, Outbox, StoreError, StoreHealth};
use serde_json::Value;

use crate::helpers::*;

const METRICS_TOKEN: &str = "metrics-token-0123456789";

/// The app as the binary builds it: the observing middleware outermost, `/readyz` answered
/// from `health`, and `/metrics` (with its token) when `metrics` is true.
macro_rules! observed {
    ($app:expr, $health:expr, $metrics:expr) => {{
        let state = $app.state.clone().with_store_health($health);
        let endpoint = actix_web::web::Data::new(
            ::web::MetricsEndpoint::new(
                ::web::install_recorder().expect("recorder"),
                Arc::new($app.store.clone()),
                Arc::new($app.store.clone()),
                Arc::new($app.clock.clone()),
            )
            .with_token(METRICS_TOKEN.to_owned()),
        );
        let metrics: bool = $metrics;
        actix_web::test::init_service(
            actix_web::App::new()
                .wrap(::web::security_headers())
                .wrap(actix_web::middleware::from_fn(::web::observe_requests))
                .app_data(actix_web::web::Data::new(state))
                .configure(|cfg| {
                    if metrics {
                        cfg.app_data(endpoint.clone());
                    }
                    ::web::configure(cfg);
                }),
        )
        .await
    }};
}

/// Calls the service, with the body boxed as the helpers expect.
async fn call<S, R, B>(service: &S, req: R) -> ServiceResponse
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    call_service(service, req).await.map_into_boxed_body()
}

fn in_memory(app: &TestApp) -> Arc<dyn StoreHealth> {
    Arc::new(app.store.clone())
}

#[actix_web::test]
async fn a_request_id_is_echoed_generated_or_replaced() {
    let app = setup().await;
    let service = observed!(app, in_memory(&app), false);
    let with = |id: &str| {
        TestRequest::get()
            .uri("/book/intro")
            .insert_header(("x-request-id", id.to_owned()))
            .to_request()
    };
    let resp = call(&service, with("lb-7f3c:42")).await;
    assert_eq!(header(&resp, "x-request-id"), "lb-7f3c:42");

    let resp = call(&service, TestRequest::get().uri("/healthz").to_request()).await;
    let generated = header(&resp, "x-request-id");
    let uuid = uuid::Uuid::parse_str(&generated).expect("a generated id is a UUID");
    assert_eq!(uuid.get_version_num(), 4);
    let again = call(&service, TestRequest::get().uri("/healthz").to_request()).await;
    assert_ne!(
        header(&again, "x-request-id"),
        generated,
        "fresh per request"
    );

    let too_long = "x".repeat(65);
    for unfit in ["two words", "0123456789abcdef0123456789abcdef", &too_long] {
        let resp = call(&service, with(unfit)).await;
        let replaced = header(&resp, "x-request-id");
        assert_ne!(replaced, unfit);
        assert!(
            uuid::Uuid::parse_str(&replaced).is_ok(),
            "{unfit}: {replaced}"
        );
    }
}

/// Log lines written while the test runs on this thread, as JSON objects.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("lock").clone()).expect("utf-8")
    }

    fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// Every log line of this test binary from now on, as JSON. A global subscriber rather than a
/// scoped one: the middleware's callsites may first be hit on another test's thread, and
/// tracing caches their interest from the subscriber of the thread that hit them.
fn captured_logs() -> Captured {
    static LOGS: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .init();
        logs
    })
    .clone()
}

/// Whether a JSON log line belongs to the request with this id.
fn of_request(line: &Value, id: &str) -> bool {
    line["spans"]
        .as_array()
        .is_some_and(|spans| spans.iter().any(|s| s["request_id"] == id))
}

#[actix_web::test]
async fn every_json_log_line_of_a_request_carries_its_id_and_no_token() {
    let logs = captured_logs();
    let app = setup().await;
    let booking = book(&app, at(9, 0)).await;
    let token = booking.token().expose().to_owned();
    let service = observed!(app, Arc::new(Unreachable), false);
    let resp = call(
        &service,
        TestRequest::get()
            .uri(&format!("/book/cancel/{token}"))
            .insert_header(("x-request-id", "req-cancel-1"))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    // A handler that logs on its own (the readiness check warns why it is not ready).
    let resp = call(
        &service,
        TestRequest::get()
            .uri("/readyz")
            .insert_header(("x-request-id", "req-ready-2"))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 503);

    let lines = logs.lines();
    let access = lines
        .iter()
        .find(|l| of_request(l, "req-cancel-1") && l["target"] == "slotkeeper::access")
        .unwrap_or_else(|| panic!("no access line for the cancel page: {lines:?}"));
    assert_eq!(access["fields"]["message"], "GET /book/cancel/<token>");
    assert_eq!(access["fields"]["status"], 200);
    let readiness: Vec<&Value> = lines
        .iter()
        .filter(|l| of_request(l, "req-ready-2"))
        .collect();
    assert!(
        readiness.len() >= 3
            && readiness
                .iter()
                .any(|l| l["fields"]["message"] == "readiness check failed"),
        "the handler's own lines carry the id too: {readiness:?}"
    );
    assert!(
        !logs.text().contains(&token) && !logs.text().contains(&token[..16]),
        "a token reached the log"
    );
}

#[actix_web::test]
async fn metrics_need_the_token_and_show_route_templates_never_tokens() {
    let app = setup().await;
    let booking = book(&app, at(9, 0)).await;
    let token = booking.token().expose().to_owned();
    let service = observed!(app, in_memory(&app), true);
    let get = |auth: Option<&str>| {
        let req = TestRequest::get().uri("/metrics");
        match auth {
            Some(value) => req.insert_header(("authorization", value.to_owned())),
            None => req,
        }
        .to_request()
    };
    for refused in [
        None,
        Some("Bearer wrong-token-0123456789"),
        Some(METRICS_TOKEN),
    ] {
        let resp = call(&service, get(refused)).await;
        assert_eq!(resp.status(), 401, "{refused:?}");
        assert_eq!(header(&resp, "content-type"), "application/problem+json");
        assert!(header(&resp, "www-authenticate").starts_with("Bearer"));
    }
    let page = call(
        &service,
        TestRequest::get()
            .uri(&format!("/book/cancel/{token}"))
            .to_request(),
    )
    .await;
    assert_eq!(page.status(), 200);

    let resp = call(&service, get(Some(&format!("Bearer {METRICS_TOKEN}")))).await;
    assert_eq!(resp.status(), 200);
    assert!(header(&resp, "content-type").starts_with("text/plain; version=0.0.4"));
    let text = body(resp).await;
    assert!(
        text.contains(
            r#"slotkeeper_http_requests_total{method="GET",route="/book/cancel/{token}",status="200"}"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"slotkeeper_http_request_duration_seconds_bucket{method="GET",route="/book/cancel/{token}",le="#),
        "{text}"
    );
    assert!(
        !text.contains(&token[..16]),
        "a token in the metrics: {text}"
    );

    let backlog = app.store.backlog(now()).await.expect("backlog");
    assert!(backlog.due > 0);
    assert!(
        text.contains(&format!("\nslotkeeper_outbox_due {}\n", backlog.due)),
        "{text}"
    );
    assert!(
        text.contains("\nslotkeeper_outbox_dead_entries 0\n"),
        "{text}"
    );
    assert!(text.contains("\nslotkeeper_store_up 1\n"), "{text}");
}

#[actix_web::test]
async fn metrics_are_not_served_unless_configured() {
    let app = setup().await;
    let service = observed!(app, in_memory(&app), false);
    let resp = call(
        &service,
        TestRequest::get()
            .uri("/metrics")
            .insert_header(("authorization", format!("Bearer {METRICS_TOKEN}")))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 404);
}

/// A store whose database cannot be reached.
struct Unreachable;

#[async_trait]
impl StoreHealth for Unreachable {
    fn connections(&self) -> Option<ConnectionUse> {
        None
    }
    async fn pending_migrations(&self) -> Result<Vec<i64>, StoreError> {
        Err(StoreError::unavailable(
            "reading the applied migrations",
            std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        ))
    }
}

async fn readiness(app: &TestApp, health: Arc<dyn StoreHealth>) -> (u16, String, Value) {
    let service = observed!(app, health, false);
    let resp = call(&service, TestRequest::get().uri("/readyz").to_request()).await;
    let status = resp.status().as_u16();
    let retry_after = header(&resp, "retry-after");
    (
        status,
        retry_after,
        serde_json::from_str(&body(resp).await).expect("json"),
    )
}

#[actix_web::test]
async fn readiness_follows_the_database_and_its_migrations() {
    let app = setup().await;
    let (status, _, answer) = readiness(&app, in_memory(&app)).await;
    assert_eq!(
        (status, answer),
        (200, serde_json::json!({"status": "ready"}))
    );

    let (status, retry_after, problem) = readiness(&app, Arc::new(Unreachable)).await;
    assert_eq!((status, retry_after.as_str()), (503, "5"));
    assert!(
        problem["type"].as_str().unwrap().ends_with("/not-ready"),
        "{problem}"
    );
    assert_eq!(problem["detail"], "The database cannot be reached.");

    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("ready.db").display());
    let sqlite = store_sqlite::SqliteStore::connect(&url, [7; 32])
        .await
        .expect("sqlite");
    let (status, _, _) = readiness(&app, Arc::new(sqlite.clone())).await;
    assert_eq!(status, 200, "a migrated file is ready");
    sqlx::query(
        "delete from _sqlx_migrations where version = (select max(version) from _sqlx_migrations)",
    )
    .execute(sqlite.pool())
    .await
    .expect("forget the newest migration");
    let (status, retry_after, problem) = readiness(&app, Arc::new(sqlite)).await;
    assert_eq!((status, retry_after.as_str()), (503, "5"));
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("lacks 1 migration"),
        "{problem}"
    );
}

#[actix_web::test]
async fn readiness_is_not_served_without_a_store_to_ask() {
    let app = setup().await;
    let service = crate::service!(app);
    let resp = call(&service, TestRequest::get().uri("/readyz").to_request()).await;
    assert_eq!(resp.status(), 404);
}
