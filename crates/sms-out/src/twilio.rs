//! The Twilio-compatible sender: one POST to the account's Messages resource per text, read
//! back as Twilio documents it (`sid`/`status` on success; `code`, `message`, `more_info`,
//! `status` on error), and sorted into what another attempt can fix and what it cannot.

use std::time::Duration;

use async_trait::async_trait;
use booking_core::ports::{NotifyError, TextSender};
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;

use crate::config::{AuthToken, TwilioAccount};

/// The total time the API gets to answer one text.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client could not be set up (its TLS backend failed to initialise).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the SMS HTTP client")]
pub struct TwilioClientError(#[source] reqwest::Error);

/// Sends texts through a Twilio-compatible Messages API. Keep one per process: it pools
/// connections.
#[derive(Debug, Clone)]
pub struct TwilioTexts {
    http: reqwest::Client,
    messages_url: String,
    account_sid: String,
    auth_token: AuthToken,
    from: String,
}

impl TwilioTexts {
    /// A sender for `account` with the 10-second [`DEFAULT_TIMEOUT`].
    ///
    /// # Errors
    /// [`TwilioClientError`] when the TLS backend cannot be initialised.
    pub fn new(account: &TwilioAccount) -> Result<Self, TwilioClientError> {
        Self::with_timeout(account, DEFAULT_TIMEOUT)
    }

    /// A sender with another total timeout (tests use a short one).
    ///
    /// # Errors
    /// [`TwilioClientError`] when the TLS backend cannot be initialised.
    pub fn with_timeout(
        account: &TwilioAccount,
        timeout: Duration,
    ) -> Result<Self, TwilioClientError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // The credentials go with every request: never let a redirect carry them on.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Slotkeeper/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(TwilioClientError)?;
        Ok(Self {
            http,
            messages_url: account.messages_url(),
            account_sid: account.account_sid().to_owned(),
            auth_token: account.auth_token().clone(),
            from: account.from().to_owned(),
        })
    }
}

#[async_trait]
impl TextSender for TwilioTexts {
    /// Twilio's Messages resource takes no idempotency key: a crash between its answer and
    /// the outbox's record can send one text twice, which the outbox's lease makes rare.
    async fn send_text(
        &self,
        to: &str,
        body: &str,
        _idempotency_key: &str,
    ) -> Result<(), NotifyError> {
        let response = self
            .http
            .post(&self.messages_url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .form(&[("To", to), ("From", self.from.as_str()), ("Body", body)])
            .send()
            .await
            .map_err(|e| {
                NotifyError::Transient(format!(
                    "the SMS API could not be reached: {}",
                    error_chain(&e.without_url())
                ))
            })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = response.bytes().await.unwrap_or_default();
        if status.is_success() {
            return Ok(());
        }
        Err(refusal(status, retry_after, &body))
    }
}

/// Twilio's error body; every field is optional so a compatible API's leaner body still reads.
#[derive(Debug, Default)]
struct ApiError {
    code: Option<i64>,
    message: Option<String>,
    more_info: Option<String>,
}

impl ApiError {
    fn read(body: &[u8]) -> Self {
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Self::default();
        };
        Self {
            code: json.get("code").and_then(serde_json::Value::as_i64),
            message: json
                .get("message")
                .and_then(serde_json::Value::as_str)
                .map(|m| m.chars().take(300).collect()),
            more_info: json
                .get("more_info")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
        }
    }
}

/// What a refusal means: 408, 429 and 5xx pass (another attempt, after `Retry-After`, may
/// succeed); any other 4xx — an invalid or unreachable number (21211, 21614), a number that
/// opted out at the carrier (21610), refused credentials — will be refused again.
fn refusal(status: StatusCode, retry_after: Option<u64>, body: &[u8]) -> NotifyError {
    let error = ApiError::read(body);
    let mut text = format!("the SMS API answered {}", status.as_u16());
    if let Some(code) = error.code {
        text.push_str(&format!(", error {code}"));
    }
    if let Some(message) = &error.message {
        text.push_str(&format!(": {message}"));
    }
    if let Some(more) = &error.more_info {
        text.push_str(&format!(" ({more})"));
    }
    let passing = status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error();
    if passing {
        if let Some(seconds) = retry_after {
            text.push_str(&format!("; Retry-After {seconds} s"));
        }
        NotifyError::Transient(text)
    } else {
        NotifyError::Permanent(text)
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_sorted_by_what_a_retry_can_fix() {
        let invalid = br#"{"code": 21211, "message": "The 'To' number 5551234 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}"#;
        let error = refusal(StatusCode::BAD_REQUEST, None, invalid);
        assert!(error.is_permanent());
        assert!(error.to_string().contains("error 21211"), "{error}");
        assert!(refusal(StatusCode::UNAUTHORIZED, None, b"{}").is_permanent());
        for status in [408, 429, 500, 502, 503] {
            let status = StatusCode::from_u16(status).expect("status");
            assert!(!refusal(status, None, b"").is_permanent(), "{status}");
        }
        let throttled = refusal(StatusCode::TOO_MANY_REQUESTS, Some(30), b"not json");
        assert_eq!(
            throttled,
            NotifyError::Transient("the SMS API answered 429; Retry-After 30 s".into())
        );
    }
}
