//! Outbound webhook subscriptions of a host and their delivery log: the types and the
//! [`WebhookSubscriptions`] port the stores implement.
//!
//! A subscription names a target URL, the events it wants and the `whsec_…` secret its
//! deliveries are signed with. Every attempt to deliver an outbox webhook entry to a
//! subscription is logged ([`DeliveryAttempt`]); the log is also what makes delivery exactly
//! once per subscription: a retried entry skips the subscriptions that already acknowledged
//! it ([`WebhookSubscriptions::delivered_to`]).
//!
//! Only the form of a target URL is checked here (`http`/`https`, a host, no spaces or
//! control characters); whether its address may be reached (private and loopback addresses)
//! is the binary's decision, as it needs name resolution.

use std::collections::BTreeSet;
use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::effects::WebhookEvent;
use crate::ids::HostId;
use crate::ports::{
    DeliveryReport, StoreError, TargetCheck, TargetRefused, TokenSource, WebhookMessage,
    WebhookSender,
};

/// One webhook subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubscriptionId(Uuid);

impl SubscriptionId {
    /// Wraps a UUID read from storage or freshly made.
    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    /// The UUID inside.
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// Parses the hyphenated UUID form.
    ///
    /// # Errors
    /// [`uuid::Error`] when `text` is not a UUID.
    pub fn parse(text: &str) -> Result<Self, uuid::Error> {
        Uuid::try_parse(text).map(Self)
    }
}

impl fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Why a subscription value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSubscription {
    /// Not an `http://` or `https://` URL with a host, or longer than 2,048 characters.
    #[error(
        "a webhook URL must be an http:// or https:// URL with a host (at most 2048 characters)"
    )]
    Url,
    /// Not a `whsec_…` secret.
    #[error("a webhook secret starts with whsec_")]
    Secret,
    /// No events chosen.
    #[error("a subscription needs at least one event")]
    NoEvents,
    /// An event name that is not `callBooked`, `callRescheduled`, `callCancelled` or
    /// `workflowStep`.
    #[error(
        "unknown webhook event {0:?} (use callBooked, callRescheduled, callCancelled, workflowStep)"
    )]
    Event(String),
}

/// The URL deliveries are posted to: `http://` or `https://`, with a host, without
/// whitespace or control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetUrl(String);

impl TargetUrl {
    /// Checks the form of `text`.
    ///
    /// # Errors
    /// [`InvalidSubscription::Url`] for another scheme (`file:`, `ftp:`, `javascript:` …), a
    /// missing host, whitespace or control characters, or more than 2,048 characters.
    pub fn parse(text: &str) -> Result<Self, InvalidSubscription> {
        let text = text.trim();
        if text.len() > 2048 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(InvalidSubscription::Url);
        }
        let lower = text.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"))
            .ok_or(InvalidSubscription::Url)?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority.rsplit('@').next().unwrap_or_default();
        let host = if host.starts_with('[') {
            host.split_inclusive(']').next().unwrap_or_default()
        } else {
            host.split(':').next().unwrap_or_default()
        };
        if host.is_empty() || host == "[]" {
            return Err(InvalidSubscription::Url);
        }
        Ok(Self(text.to_owned()))
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TargetUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A subscription's signing secret as text, `whsec_<base64>`. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SubscriptionSecret(String);

impl SubscriptionSecret {
    /// Checks the `whsec_` prefix (the signing crate checks the key itself).
    ///
    /// # Errors
    /// [`InvalidSubscription::Secret`] without the prefix or with nothing after it.
    pub fn parse(text: &str) -> Result<Self, InvalidSubscription> {
        match text.strip_prefix("whsec_") {
            Some(rest) if !rest.is_empty() && rest.is_ascii() => Ok(Self(text.to_owned())),
            _ => Err(InvalidSubscription::Secret),
        }
    }

    /// The secret text, for signing and for showing the subscriber once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SubscriptionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubscriptionSecret(<redacted>)")
    }
}

/// Parses a comma-separated list of event names (`callBooked,callCancelled`).
///
/// # Errors
/// [`InvalidSubscription::Event`] for an unknown name, [`InvalidSubscription::NoEvents`] for
/// an empty list.
pub fn parse_events(text: &str) -> Result<BTreeSet<WebhookEvent>, InvalidSubscription> {
    let mut events = BTreeSet::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        events.insert(event_by_name(name).ok_or_else(|| InvalidSubscription::Event(name.into()))?);
    }
    if events.is_empty() {
        return Err(InvalidSubscription::NoEvents);
    }
    Ok(events)
}

/// The event with this wire name.
pub fn event_by_name(name: &str) -> Option<WebhookEvent> {
    ALL_EVENTS
        .into_iter()
        .chain([WebhookEvent::WorkflowStep])
        .find(|e| e.name() == name)
}

/// Every booking event of the contract, in wire-name order: what a subscription hears when
/// it names no events. `workflowStep` (a link's workflow step) is only sent to subscriptions
/// that name it.
pub const ALL_EVENTS: [WebhookEvent; 3] = [
    WebhookEvent::CallBooked,
    WebhookEvent::CallRescheduled,
    WebhookEvent::CallCancelled,
];

/// A host's subscription to some webhook events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSubscription {
    /// Its id.
    pub id: SubscriptionId,
    /// The host whose bookings it hears about.
    pub host: HostId,
    /// Where deliveries go.
    pub url: TargetUrl,
    /// What they are signed with.
    pub secret: SubscriptionSecret,
    /// Which events it wants (never empty).
    pub events: BTreeSet<WebhookEvent>,
    /// Inactive subscriptions get nothing.
    pub active: bool,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// One attempt to deliver one outbox entry to one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// The subscription.
    pub subscription: SubscriptionId,
    /// The outbox entry's idempotency key, sent as `webhook-id`.
    pub effect_key: String,
    /// The outbox attempt number (1-based) this was part of.
    pub attempt: u32,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// How long the attempt took.
    pub latency_ms: u64,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// Whether the receiver acknowledged it (2xx).
    pub delivered: bool,
    /// When the attempt ended.
    pub at: DateTime<Utc>,
}

/// Why a subscription could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    /// No subscription with that id belongs to that host (another host's id looks the same).
    #[error("no such webhook subscription")]
    NotFound,
    /// The host does not exist.
    #[error("unknown host")]
    UnknownHost,
    /// Anything else.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where subscriptions and their delivery log are kept.
#[async_trait]
pub trait WebhookSubscriptions: Send + Sync {
    /// Stores a new subscription.
    ///
    /// # Errors
    /// [`SubscriptionError::UnknownHost`] when its host does not exist;
    /// [`SubscriptionError::Store`] otherwise (also for a reused id).
    async fn create_subscription(
        &self,
        subscription: &WebhookSubscription,
    ) -> Result<(), SubscriptionError>;

    /// The host's subscriptions, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn subscriptions(&self, host: HostId) -> Result<Vec<WebhookSubscription>, StoreError>;

    /// One subscription of the host (`None` for an unknown id or another host's).
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn subscription(
        &self,
        host: HostId,
        id: SubscriptionId,
    ) -> Result<Option<WebhookSubscription>, StoreError>;

    /// Deletes a subscription of the host and its delivery log.
    ///
    /// # Errors
    /// [`SubscriptionError::NotFound`] for an unknown id or another host's.
    async fn delete_subscription(
        &self,
        host: HostId,
        id: SubscriptionId,
    ) -> Result<(), SubscriptionError>;

    /// Turns a subscription of the host on or off.
    ///
    /// # Errors
    /// [`SubscriptionError::NotFound`] for an unknown id or another host's.
    async fn set_subscription_active(
        &self,
        host: HostId,
        id: SubscriptionId,
        active: bool,
    ) -> Result<(), SubscriptionError>;

    /// The host's active subscriptions that want `event`, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn active_subscriptions(
        &self,
        host: HostId,
        event: WebhookEvent,
    ) -> Result<Vec<WebhookSubscription>, StoreError>;

    /// Appends an attempt to the delivery log. An attempt for a subscription deleted
    /// meanwhile is dropped silently.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn record_delivery(&self, attempt: &DeliveryAttempt) -> Result<(), StoreError>;

    /// The newest `limit` attempts for a subscription of the host, newest first (empty for an
    /// unknown id or another host's).
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn deliveries(
        &self,
        host: HostId,
        subscription: SubscriptionId,
        limit: u32,
    ) -> Result<Vec<DeliveryAttempt>, StoreError>;

    /// Whether the log holds an acknowledged (2xx) attempt of this entry to this
    /// subscription: a retried entry skips it.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn delivered_to(
        &self,
        effect_key: &str,
        subscription: SubscriptionId,
    ) -> Result<bool, StoreError>;
}

#[async_trait]
impl<T: WebhookSubscriptions + ?Sized> WebhookSubscriptions for std::sync::Arc<T> {
    async fn create_subscription(
        &self,
        subscription: &WebhookSubscription,
    ) -> Result<(), SubscriptionError> {
        (**self).create_subscription(subscription).await
    }
    async fn subscriptions(&self, host: HostId) -> Result<Vec<WebhookSubscription>, StoreError> {
        (**self).subscriptions(host).await
    }
    async fn subscription(
        &self,
        host: HostId,
        id: SubscriptionId,
    ) -> Result<Option<WebhookSubscription>, StoreError> {
        (**self).subscription(host, id).await
    }
    async fn delete_subscription(
        &self,
        host: HostId,
        id: SubscriptionId,
    ) -> Result<(), SubscriptionError> {
        (**self).delete_subscription(host, id).await
    }
    async fn set_subscription_active(
        &self,
        host: HostId,
        id: SubscriptionId,
        active: bool,
    ) -> Result<(), SubscriptionError> {
        (**self).set_subscription_active(host, id, active).await
    }
    async fn active_subscriptions(
        &self,
        host: HostId,
        event: WebhookEvent,
    ) -> Result<Vec<WebhookSubscription>, StoreError> {
        (**self).active_subscriptions(host, event).await
    }
    async fn record_delivery(&self, attempt: &DeliveryAttempt) -> Result<(), StoreError> {
        (**self).record_delivery(attempt).await
    }
    async fn deliveries(
        &self,
        host: HostId,
        subscription: SubscriptionId,
        limit: u32,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        (**self).deliveries(host, subscription, limit).await
    }
    async fn delivered_to(
        &self,
        effect_key: &str,
        subscription: SubscriptionId,
    ) -> Result<bool, StoreError> {
        (**self).delivered_to(effect_key, subscription).await
    }
}

/// Event sets as stored: the comma-separated wire names in contract order.
pub fn events_to_text(events: &BTreeSet<WebhookEvent>) -> String {
    events
        .iter()
        .map(|e| e.name())
        .collect::<Vec<_>>()
        .join(",")
}

/// The `webhook-id` of a subscription's test event, shaped like the outbox key a real
/// delivery carries (`{booking}:webhook:{event}`): `{subscription}:webhook:test:{nonce}`.
/// Receivers deduplicate both kinds the same way, and the delivery log holds both side by
/// side.
pub fn test_event_key(subscription: SubscriptionId, nonce: &str) -> String {
    format!("{subscription}:webhook:test:{nonce}")
}

/// What became of a test event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestEvent {
    /// The target check refused the subscription's URL: nothing was sent or logged.
    Refused(TargetRefused),
    /// It was sent (one attempt) and logged in the subscription's delivery log.
    Sent {
        /// The `webhook-id` it went out with ([`test_event_key`]).
        webhook_id: String,
        /// What happened.
        report: DeliveryReport,
    },
}

/// Sends a signed test event to `subscription` now, outside the outbox, through the same
/// ports as real deliveries: the target is checked first, then one attempt is made and
/// logged. `ids` supplies the nonce of its `webhook-id`.
///
/// # Errors
/// [`StoreError`] when the attempt cannot be logged.
pub async fn send_test_event(
    subscriptions: &dyn WebhookSubscriptions,
    targets: &dyn TargetCheck,
    sender: &dyn WebhookSender,
    subscription: &WebhookSubscription,
    ids: &dyn TokenSource,
    now: DateTime<Utc>,
) -> Result<TestEvent, StoreError> {
    if let Err(refused) = targets.check(subscription.url.as_str()).await {
        return Ok(TestEvent::Refused(refused));
    }
    let webhook_id = test_event_key(subscription.id, ids.new_token().expose());
    let message = WebhookMessage::Test {
        subscription: subscription.id,
        at: now,
    };
    let report = sender.deliver(subscription, &webhook_id, &message).await;
    subscriptions
        .record_delivery(&DeliveryAttempt {
            subscription: subscription.id,
            effect_key: webhook_id.clone(),
            attempt: 1,
            status: report.status,
            latency_ms: report.latency_ms,
            error: report.error.clone(),
            delivered: report.delivered,
            at: now,
        })
        .await?;
    Ok(TestEvent::Sent { webhook_id, report })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_targets_with_a_host() {
        for ok in [
            "https://hooks.example.com/in",
            "http://127.0.0.1:8080/x?y=1",
            "HTTPS://Example.com",
            "http://[::1]:9/x",
        ] {
            assert!(TargetUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ftp://example.com",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://",
            "http:///path",
            "https://exa mple.com",
            "https://example.com/\r\nX: y",
            "example.com/hook",
            "http://[]/",
        ] {
            assert_eq!(
                TargetUrl::parse(bad),
                Err(InvalidSubscription::Url),
                "{bad:?}"
            );
        }
        assert!(TargetUrl::parse(&format!("https://e.com/{}", "a".repeat(2100))).is_err());
    }

    #[test]
    fn events_parse_and_print_in_order() {
        let events = parse_events("callCancelled, callBooked").unwrap();
        assert_eq!(events_to_text(&events), "callBooked,callCancelled");
        assert_eq!(
            parse_events("callBooked,meetingStarted"),
            Err(InvalidSubscription::Event("meetingStarted".into()))
        );
        assert_eq!(parse_events(" , "), Err(InvalidSubscription::NoEvents));
    }

    #[test]
    fn secrets_need_the_prefix_and_never_print() {
        let secret = SubscriptionSecret::parse("whsec_c2VjcmV0c2VjcmV0").unwrap();
        assert!(!format!("{secret:?}").contains("c2Vj"));
        assert!(SubscriptionSecret::parse("c2VjcmV0").is_err());
        assert!(SubscriptionSecret::parse("whsec_").is_err());
    }

    /// The test event's use case, on the in-memory store with a fake sender and target check.
    #[cfg(feature = "testkit")]
    mod test_event {
        use std::sync::Mutex;

        use chrono::TimeZone;

        use super::*;
        use crate::invitee::{Email, PersonName};
        use crate::link::Host;
        use crate::ports::BookingStore;
        use crate::testkit::{InMemoryStore, SequentialTokens};
        use crate::time::TimeZoneName;

        /// Remembers what it was asked to send and answers 204.
        #[derive(Debug, Default)]
        struct Sent(Mutex<Vec<(String, String)>>);

        #[async_trait]
        impl WebhookSender for Sent {
            fn new_secret(&self, _key: [u8; 32]) -> SubscriptionSecret {
                SubscriptionSecret::parse("whsec_eA==").unwrap()
            }

            async fn deliver(
                &self,
                subscription: &WebhookSubscription,
                webhook_id: &str,
                message: &WebhookMessage<'_>,
            ) -> DeliveryReport {
                let WebhookMessage::Test {
                    subscription: about,
                    ..
                } = message
                else {
                    panic!("a test event was expected");
                };
                assert_eq!(*about, subscription.id);
                self.0
                    .lock()
                    .unwrap()
                    .push((subscription.url.as_str().to_owned(), webhook_id.to_owned()));
                DeliveryReport {
                    status: Some(204),
                    latency_ms: 3,
                    error: None,
                    delivered: true,
                }
            }
        }

        /// Refuses every URL on `blocked.example`.
        #[derive(Debug)]
        struct NoBlocked;

        #[async_trait]
        impl TargetCheck for NoBlocked {
            async fn check(&self, url: &str) -> Result<(), TargetRefused> {
                if url.contains("blocked.example") {
                    Err(TargetRefused("blocked".into()))
                } else {
                    Ok(())
                }
            }
        }

        async fn subscribed(store: &InMemoryStore, n: u128, url: &str) -> WebhookSubscription {
            let host = Host::new(
                crate::HostId::from_uuid(Uuid::from_u128(0x4057)),
                PersonName::parse("Hook Host").unwrap(),
                Email::parse("hooks@example.com").unwrap(),
                TimeZoneName::parse("Europe/Berlin").unwrap(),
            );
            store.save_host(&host).await.unwrap();
            let subscription = WebhookSubscription {
                id: SubscriptionId::from_uuid(Uuid::from_u128(0x5b5c_0000 + n)),
                host: host.id(),
                url: TargetUrl::parse(url).unwrap(),
                secret: SubscriptionSecret::parse("whsec_eA==").unwrap(),
                events: ALL_EVENTS.into_iter().collect(),
                active: true,
                created_at: Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap(),
            };
            store.create_subscription(&subscription).await.unwrap();
            subscription
        }

        #[tokio::test]
        async fn a_test_event_is_sent_with_an_effect_shaped_id_and_logged() {
            let store = InMemoryStore::new();
            let sub = subscribed(&store, 1, "https://hooks.example.com/in").await;
            let sender = Sent::default();
            let now = Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap();
            let tokens = SequentialTokens::new();
            let outcome = send_test_event(&store, &NoBlocked, &sender, &sub, &tokens, now)
                .await
                .unwrap();
            let TestEvent::Sent { webhook_id, report } = outcome else {
                panic!("sent expected");
            };
            assert!(report.delivered);
            let prefix = format!("{}:webhook:test:", sub.id);
            assert!(webhook_id.starts_with(&prefix), "{webhook_id}");
            assert_eq!(webhook_id.len(), prefix.len() + 32);
            assert_eq!(
                *sender.0.lock().unwrap(),
                [(
                    "https://hooks.example.com/in".to_owned(),
                    webhook_id.clone()
                )]
            );
            let log = store.deliveries(sub.host, sub.id, 10).await.unwrap();
            assert_eq!(log.len(), 1);
            assert_eq!(log[0].effect_key, webhook_id);
            assert_eq!(
                (log[0].attempt, log[0].status, log[0].at),
                (1, Some(204), now)
            );
            assert!(store.delivered_to(&webhook_id, sub.id).await.unwrap());
        }

        #[tokio::test]
        async fn a_refused_target_gets_nothing_sent_and_nothing_logged() {
            let store = InMemoryStore::new();
            let sub = subscribed(&store, 2, "https://blocked.example/in").await;
            let sender = Sent::default();
            let now = Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap();
            let outcome = send_test_event(
                &store,
                &NoBlocked,
                &sender,
                &sub,
                &SequentialTokens::new(),
                now,
            )
            .await
            .unwrap();
            assert_eq!(outcome, TestEvent::Refused(TargetRefused("blocked".into())));
            assert!(sender.0.lock().unwrap().is_empty());
            assert!(
                store
                    .deliveries(sub.host, sub.id, 10)
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
    }
}
