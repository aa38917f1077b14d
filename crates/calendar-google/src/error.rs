//! Google's failures as [`ProviderError`]s, decided in one place.
//!
//! `google-calendar3` folds a failed answer into `Error::BadRequest(json)` and drops the HTTP
//! status and headers on the way, so each call runs with a [`Capture`] delegate that keeps the
//! status and `Retry-After` of the failed answer for the mapping.

use std::sync::{Arc, Mutex, PoisonError};

use booking_core::calendar::ProviderError;
use chrono::{DateTime, TimeDelta, Utc};
use google_calendar3::common::{self, Retry};
use google_calendar3::hyper::{HeaderMap, StatusCode};
use serde_json::Value;

/// What the delegate saw of a failed answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) status: Option<u16>,
    pub(crate) retry_after: Option<TimeDelta>,
}

/// A shared view of what a [`Capture`] saw, readable after the call ended.
#[derive(Debug, Clone, Default)]
pub(crate) struct SeenHandle(Arc<Mutex<Seen>>);

impl SeenHandle {
    pub(crate) fn get(&self) -> Seen {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes an answer's status and `Retry-After`.
    pub(crate) fn record(&self, status: &StatusCode, headers: &HeaderMap) {
        let retry_after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Utc::now()));
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Seen {
            status: Some(status.as_u16()),
            retry_after,
        };
    }
}

/// A delegate that never retries on its own (the outbox does that, with backoff) and notes
/// the status and `Retry-After` of a failed answer.
#[derive(Debug, Default)]
pub(crate) struct Capture {
    seen: SeenHandle,
}

impl Capture {
    pub(crate) fn seen(&self) -> SeenHandle {
        self.seen.clone()
    }
}

impl common::Delegate for Capture {
    fn http_failure(&mut self, response: &common::Response, _: Option<&Value>) -> Retry {
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Utc::now()));
        *self.seen.0.lock().unwrap_or_else(PoisonError::into_inner) = Seen {
            status: Some(response.status().as_u16()),
            retry_after,
        };
        Retry::Abort
    }
}

/// `Retry-After` as seconds or as an HTTP date.
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<TimeDelta> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<i64>() {
        return Some(TimeDelta::seconds(seconds.max(0)));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).max(TimeDelta::zero()))
}

/// A failure before any answer: the network, DNS, TLS, a reset connection.
pub(crate) fn transport(what: &str, detail: &str) -> ProviderError {
    ProviderError::Transient {
        message: format!("{what}: {detail}"),
        retry_after: None,
    }
}

/// Maps an error of a Calendar API call.
pub(crate) fn from_api_error(
    what: &str,
    error: google_calendar3::Error,
    seen: &Seen,
) -> ProviderError {
    use google_calendar3::Error as E;
    match error {
        E::HttpError(e) => transport(what, &e.to_string()),
        E::Io(e) => transport(what, &e.to_string()),
        E::BadRequest(body) => {
            let code = seen.status.or_else(|| {
                body["error"]["code"]
                    .as_u64()
                    .and_then(|c| u16::try_from(c).ok())
            });
            let message = body["error"]["message"]
                .as_str()
                .unwrap_or("no message")
                .to_owned();
            let reason = body["error"]["errors"][0]["reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            from_status(
                what,
                code.unwrap_or(400),
                &reason,
                &message,
                seen.retry_after,
            )
        }
        E::Failure(response) => {
            let status = response.status().as_u16();
            from_status(
                what,
                status,
                "",
                &format!("HTTP {status}"),
                seen.retry_after,
            )
        }
        E::JsonDecodeError(_, e) => {
            ProviderError::Permanent(format!("{what}: unexpected answer: {e}"))
        }
        other => ProviderError::Permanent(format!("{what}: {other}")),
    }
}

/// The one table from Google's status codes (and rate-limit reasons) to [`ProviderError`].
pub(crate) fn from_status(
    what: &str,
    status: u16,
    reason: &str,
    message: &str,
    retry_after: Option<TimeDelta>,
) -> ProviderError {
    let message = format!("{what}: {status} {message}");
    match status {
        401 => ProviderError::Unauthorized(message),
        404 | 410 => ProviderError::NotFound(message),
        429 | 500..=599 => ProviderError::Transient {
            message,
            retry_after,
        },
        // Google answers quota and rate limits with 403 and a reason saying so.
        403 if matches!(
            reason,
            "rateLimitExceeded" | "userRateLimitExceeded" | "quotaExceeded"
        ) =>
        {
            ProviderError::Transient {
                message,
                retry_after,
            }
        }
        _ => ProviderError::Permanent(message),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn statuses_map_to_what_callers_act_on() {
        let t = |status, reason| from_status("x", status, reason, "m", None);
        assert!(matches!(t(401, ""), ProviderError::Unauthorized(_)));
        assert!(matches!(t(404, "notFound"), ProviderError::NotFound(_)));
        assert!(matches!(t(410, "deleted"), ProviderError::NotFound(_)));
        assert!(t(429, "").is_transient());
        assert!(t(503, "backendError").is_transient());
        assert!(t(403, "rateLimitExceeded").is_transient());
        assert!(matches!(t(403, "forbidden"), ProviderError::Permanent(_)));
        assert!(matches!(t(409, "duplicate"), ProviderError::Permanent(_)));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap();
        assert_eq!(parse_retry_after("120", now), Some(TimeDelta::seconds(120)));
        assert_eq!(
            parse_retry_after("Mon, 01 Mar 2027 08:01:30 GMT", now),
            Some(TimeDelta::seconds(90))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
