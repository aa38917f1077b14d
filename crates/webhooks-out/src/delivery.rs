//! One signed delivery attempt. Retrying is the outbox dispatcher's business.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use booking_core::ports::{DeliveryReport, TargetRefused, WebhookMessage, WebhookSender};
use booking_core::subscriptions::{SubscriptionSecret, WebhookSubscription};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};

use crate::signing::{WebhookSecret, sign};
use crate::targets::{CheckedResolver, TargetPolicy};
use crate::{payload, test_event};

/// The total time a receiver gets to answer: connecting, sending and the response headers.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP client could not be set up (its TLS backend failed to initialise).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the webhook HTTP client")]
pub struct WebhookClientError(#[source] reqwest::Error);

/// Posts signed webhook bodies, connecting only to addresses its [`TargetPolicy`] allows.
/// Cheap to clone; keep one per process (it pools connections).
#[derive(Debug, Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    timeout: Duration,
    targets: TargetPolicy,
}

impl WebhookClient {
    /// A client with the 5-second [`DEFAULT_TIMEOUT`] that connects only where `targets`
    /// allows (the same policy the target check uses).
    ///
    /// # Errors
    /// [`WebhookClientError`] when the TLS backend cannot be initialised.
    pub fn new(targets: TargetPolicy) -> Result<Self, WebhookClientError> {
        Self::with_timeout(targets, DEFAULT_TIMEOUT)
    }

    /// A client with another total timeout (tests use a short one).
    ///
    /// # Errors
    /// [`WebhookClientError`] when the TLS backend cannot be initialised.
    pub fn with_timeout(
        targets: TargetPolicy,
        timeout: Duration,
    ) -> Result<Self, WebhookClientError> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirect would be followed without the receiver's say-so and to hosts the
            // subscriber never named: a 3xx is simply not a delivery.
            .redirect(reqwest::redirect::Policy::none())
            // Through a proxy the target's name would be resolved where no check reaches.
            .no_proxy()
            .user_agent(concat!("Slotkeeper-Webhooks/", env!("CARGO_PKG_VERSION")));
        if !targets.allows_private() {
            builder = builder.dns_resolver(Arc::new(CheckedResolver));
        }
        let http = builder.build().map_err(WebhookClientError)?;
        Ok(Self {
            http,
            timeout,
            targets,
        })
    }

    /// The total timeout of one attempt.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// POSTs `body` to `url`, signed with `secret`, with `webhook-id: msg_id` (the outbox
    /// idempotency key, so receivers can drop duplicates) and the current time as
    /// `webhook-timestamp`.
    pub async fn deliver(
        &self,
        url: &str,
        secret: &WebhookSecret,
        msg_id: &str,
        body: &[u8],
    ) -> DeliveryReport {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.deliver_at(
            url,
            secret,
            msg_id,
            i64::try_from(now).unwrap_or(i64::MAX),
            body,
        )
        .await
    }

    /// [`WebhookClient::deliver`] with a given `webhook-timestamp` (Unix seconds).
    pub async fn deliver_at(
        &self,
        url: &str,
        secret: &WebhookSecret,
        msg_id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> DeliveryReport {
        let started = Instant::now();
        let elapsed = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let failed = |status: Option<u16>, error: String| DeliveryReport {
            status,
            latency_ms: elapsed(),
            error: Some(error),
            delivered: false,
        };

        // Names are checked by the resolver as they are looked up; an address written into
        // the URL is never looked up, so it is checked here.
        if let Err(refused) = self.literal_allowed(url) {
            return failed(None, refused.to_string());
        }

        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let signature = sign(secret, msg_id, timestamp, body);
        for (name, value) in [
            ("webhook-id", msg_id),
            ("webhook-timestamp", &timestamp.to_string()),
            ("webhook-signature", &signature),
        ] {
            match HeaderValue::from_str(value) {
                Ok(value) => {
                    headers.insert(name, value);
                }
                Err(_) => return failed(None, format!("{name} is not a valid header value")),
            }
        }

        let sent = self
            .http
            .post(url)
            .headers(headers)
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                // The body is not needed; dropping the response closes or returns the
                // connection without waiting for it.
                drop(response);
                if status.is_success() {
                    DeliveryReport {
                        status: Some(status.as_u16()),
                        latency_ms: elapsed(),
                        error: None,
                        delivered: true,
                    }
                } else {
                    failed(Some(status.as_u16()), format!("receiver answered {status}"))
                }
            }
            Err(error) if error.is_timeout() => failed(
                None,
                format!("no answer within {} ms", self.timeout.as_millis()),
            ),
            Err(error) if error.is_builder() => failed(
                None,
                format!("invalid webhook URL: {}", without_url(&error)),
            ),
            Err(error) => failed(None, format!("request failed: {}", error_chain(&error))),
        }
    }
}

impl WebhookClient {
    /// Refuses a URL whose host is an IP address the policy does not allow.
    fn literal_allowed(&self, url: &str) -> Result<(), TargetRefused> {
        let ip = match url::Url::parse(url)
            .ok()
            .and_then(|u| u.host().map(|h| h.to_owned()))
        {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        if self.targets.allows(ip) {
            Ok(())
        } else {
            Err(TargetRefused(format!(
                "the non-public address {ip} (set WEBHOOKS_ALLOW_PRIVATE_TARGETS=true to allow)"
            )))
        }
    }
}

#[async_trait]
impl WebhookSender for WebhookClient {
    /// `whsec_` and the key in base64 ([`WebhookSecret::expose`]).
    fn new_secret(&self, key: [u8; 32]) -> SubscriptionSecret {
        SubscriptionSecret::parse(&WebhookSecret::generate(key).expose())
            .expect("an exposed WebhookSecret has the whsec_ form")
    }

    /// Renders `message` (the webhook contract's payload, or the test event's body), signs
    /// it with the subscription's secret and posts it to the subscription's URL.
    async fn deliver(
        &self,
        subscription: &WebhookSubscription,
        webhook_id: &str,
        message: &WebhookMessage<'_>,
    ) -> DeliveryReport {
        let Ok(secret) = WebhookSecret::parse(subscription.secret.expose()) else {
            return DeliveryReport::not_sent(
                "the subscription's secret is not a valid whsec_ secret",
            );
        };
        let body = match message {
            WebhookMessage::Event { event, ctx } => {
                match serde_json::to_vec(&payload(*event, ctx)) {
                    Ok(body) => body,
                    Err(e) => {
                        return DeliveryReport::not_sent(format!(
                            "serialising the webhook payload failed: {e}"
                        ));
                    }
                }
            }
            WebhookMessage::Test { subscription, at } => test_event(&subscription.to_string(), *at),
        };
        WebhookClient::deliver(self, subscription.url.as_str(), &secret, webhook_id, &body).await
    }
}

/// The error's own text without the URL (which may carry credentials or tokens).
fn without_url(error: &reqwest::Error) -> String {
    let mut error = error.to_string();
    if let Some(i) = error.find(" for url (") {
        error.truncate(i);
    }
    error
}

/// The error and its causes, `: `-separated, without the URL.
fn error_chain(error: &reqwest::Error) -> String {
    let mut text = without_url(error);
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
