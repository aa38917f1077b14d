//! What every request leaves behind for operators: a request id (the client's `X-Request-Id`
//! when it is a short printable one, else a random one), echoed in the response; a `request`
//! span carrying it, so every log line of the request has it; one access log line (the path
//! with tokens redacted); and the HTTP metrics, labelled with the route *template*
//! (`/book/cancel/{token}`), never the path itself.

use std::time::Instant;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument as _;

use crate::headers::{holds_token, redact_tokens};

/// The request id header, read and echoed.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Requests answered, by method, route template and status.
pub const HTTP_REQUESTS: &str = "slotkeeper_http_requests_total";
/// Seconds until the response head was ready, by method and route template.
pub const HTTP_DURATION: &str = "slotkeeper_http_request_duration_seconds";
/// The target of the access log lines.
const ACCESS: &str = "slotkeeper::access";
/// The route label of a request no route matched.
const UNMATCHED: &str = "unmatched";
/// The longest request id accepted from a client.
const MAX_REQUEST_ID: usize = 64;

/// A request's id: accepted from the client or generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The client's id if it is 1 to 64 characters of letters, digits and `-_.:@/+=` and
    /// does not hold a token (32 hex digits in a row), so a log line never carries more than
    /// an id; `None` otherwise (a fresh id replaces it).
    pub fn accepted(given: &str) -> Option<Self> {
        let fine = |c: char| c.is_ascii_alphanumeric() || "-_.:@/+=".contains(c);
        (!given.is_empty()
            && given.len() <= MAX_REQUEST_ID
            && given.chars().all(fine)
            && !holds_token(given))
        .then(|| Self(given.to_owned()))
    }

    /// A random (version 4) UUID from the OS's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        // Without randomness an id still has to exist: the log's timestamps tell requests
        // apart then. getrandom only fails on a broken OS.
        if let Err(e) = getrandom::fill(&mut bytes) {
            tracing::warn!(error = %e, "no randomness for a request id");
        }
        Self(
            uuid::Builder::from_random_bytes(bytes)
                .into_uuid()
                .hyphenated()
                .to_string(),
        )
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn of(req: &ServiceRequest) -> Self {
        req.headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(Self::accepted)
            .unwrap_or_else(Self::generate)
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The middleware (`App::wrap(actix_web::middleware::from_fn(web::observe_requests))`): wrap
/// it outermost, so the span covers every other middleware and the handler.
///
/// # Errors
/// Whatever the wrapped service fails with, passed on unchanged.
pub async fn observe_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = RequestId::of(&req);
    let method = method_label(req.method());
    let route = req.match_pattern().unwrap_or_else(|| UNMATCHED.to_owned());
    // The redacted path is built only when the access line will be written: a filter that
    // drops it (`RUST_LOG=warn`) costs no formatting per request.
    let path =
        tracing::enabled!(target: ACCESS, tracing::Level::INFO).then(|| redact_tokens(req.path()));
    let span = tracing::info_span!("request", request_id = %id, method, route = %route);
    let answered = next.call(req).instrument(span.clone()).await;
    let (status, bytes) = match &answered {
        Ok(res) => (res.status(), body_bytes(res.response().body().size())),
        Err(e) => (e.as_response_error().status_code(), None),
    };
    let elapsed = started.elapsed();
    if let Some(path) = path {
        span.in_scope(|| {
            tracing::info!(
                target: ACCESS,
                status = status.as_u16(),
                bytes,
                ms = elapsed.as_secs_f64() * 1000.0,
                "{method} {path}"
            );
        });
    }
    metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(),
        "status" => status.as_str().to_owned())
    .increment(1);
    metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route)
        .record(elapsed.as_secs_f64());
    let mut res = answered?;
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(res)
}

/// The method as a label: the standard ones by name, anything else as `other` (a client
/// cannot invent label values).
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

fn body_bytes(size: BodySize) -> Option<u64> {
    match size {
        BodySize::Sized(n) => Some(n),
        BodySize::None | BodySize::Stream => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_printable_ids_are_kept_and_others_replaced() {
        for kept in ["abc-123", "7f3c1e2a-9b1d-4c3e-8f00-1234567890ab", "lb:42/7"] {
            assert_eq!(
                RequestId::accepted(kept).map(|i| i.0),
                Some(kept.to_owned())
            );
        }
        let long = "x".repeat(65);
        let token = "0123456789abcdef0123456789abcdef";
        for refused in ["", "two words", "tab\there", "é", long.as_str(), token] {
            assert_eq!(RequestId::accepted(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn generated_ids_are_fresh_uuids() {
        let (a, b) = (RequestId::generate(), RequestId::generate());
        assert_ne!(a, b);
        assert_eq!(
            uuid::Uuid::parse_str(a.as_str())
                .ok()
                .map(|u| u.get_version_num()),
            Some(4)
        );
        assert!(RequestId::accepted(a.as_str()).is_some());
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::OPTIONS), "OPTIONS");
        assert_eq!(
            method_label(&Method::from_bytes(b"BREW").expect("method")),
            "other"
        );
    }
}
