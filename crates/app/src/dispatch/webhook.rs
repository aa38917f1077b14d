//! Webhook effects: one signed POST per active subscription of the booking's host that wants
//! the event, each logged; the entry is delivered once every such subscription acknowledged
//! it, and a retry skips those that already did.

use booking_core::effects::WebhookEvent;
use booking_core::ids::BookingId;
use booking_core::ports::{OutboxEntry, StoreError};
use booking_core::subscriptions::{DeliveryAttempt, WebhookSubscription};
use chrono::{DateTime, Utc};
use webhooks_out::{DeliveryReport, WebhookSecret, payload};

use crate::{Outcome, Parts, context};

pub(crate) async fn deliver(
    parts: &Parts,
    entry: &OutboxEntry,
    event: WebhookEvent,
    booking: BookingId,
    now: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    let loaded = match context::load(parts.bookings.as_ref(), booking).await? {
        Ok(loaded) => loaded,
        Err(outcome) => return Ok(outcome),
    };
    let subscriptions = parts
        .subscriptions
        .active_subscriptions(loaded.booking.host(), event)
        .await?;
    if subscriptions.is_empty() {
        return Ok(Outcome::Skipped("no webhook subscriptions"));
    }
    let body = serde_json::to_vec(&payload(event, &loaded.webhook(&parts.public_base_url)))
        .map_err(|e| StoreError::new("serialising a webhook payload", e))?;
    let mut failures = Vec::new();
    for subscription in subscriptions {
        if parts
            .subscriptions
            .delivered_to(&entry.key, subscription.id)
            .await?
        {
            continue;
        }
        let report = post(parts, &subscription, &entry.key, &body).await;
        parts
            .subscriptions
            .record_delivery(&attempt(
                &subscription,
                &entry.key,
                entry.attempts + 1,
                &report,
                now,
            ))
            .await?;
        if !report.delivered {
            failures.push(format!(
                "subscription {}: {}",
                subscription.id,
                report.error.as_deref().unwrap_or("not delivered")
            ));
        }
    }
    Ok(if failures.is_empty() {
        Outcome::Delivered
    } else {
        Outcome::Failed(failures.join("; "))
    })
}

/// One signed POST, after checking the target against the policy.
async fn post(
    parts: &Parts,
    subscription: &WebhookSubscription,
    msg_id: &str,
    body: &[u8],
) -> DeliveryReport {
    let refused = |error: String| DeliveryReport {
        status: None,
        latency_ms: 0,
        error: Some(error),
        delivered: false,
    };
    if let Err(e) = parts.targets.check(subscription.url.as_str()).await {
        return refused(e.to_string());
    }
    let Ok(secret) = WebhookSecret::parse(subscription.secret.expose()) else {
        return refused("the subscription's secret is not a valid whsec_ secret".into());
    };
    parts
        .webhooks
        .deliver(subscription.url.as_str(), &secret, msg_id, body)
        .await
}

fn attempt(
    subscription: &WebhookSubscription,
    key: &str,
    number: u32,
    report: &DeliveryReport,
    now: DateTime<Utc>,
) -> DeliveryAttempt {
    DeliveryAttempt {
        subscription: subscription.id,
        effect_key: key.to_owned(),
        attempt: number,
        status: report.status,
        latency_ms: report.latency_ms,
        error: report.error.clone(),
        delivered: report.delivered,
        at: now,
    }
}

/// The outcome of a test delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestDelivery {
    /// The `webhook-id` it was sent with (`test_…`).
    pub webhook_id: String,
    /// What happened.
    pub report: DeliveryReport,
}

/// Sends a signed test event to `subscription` now, outside the outbox, and logs it in the
/// subscription's delivery log. The body is `[{"hookType": "Test", "test": true,
/// "subscription": …, "sent_at": …}]`; `webhook-id` is `test_` plus `nonce` (hex).
///
/// # Errors
/// [`StoreError`] when the attempt cannot be logged.
pub async fn send_test_event(
    parts: &Parts,
    subscription: &WebhookSubscription,
    nonce: [u8; 16],
    now: DateTime<Utc>,
) -> Result<TestDelivery, StoreError> {
    let webhook_id = webhooks_out::test_webhook_id(&nonce);
    let body = webhooks_out::test_event(&subscription.id.to_string(), now);
    let report = post(parts, subscription, &webhook_id, &body).await;
    parts
        .subscriptions
        .record_delivery(&attempt(subscription, &webhook_id, 1, &report, now))
        .await?;
    Ok(TestDelivery { webhook_id, report })
}
