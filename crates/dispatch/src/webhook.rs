//! Webhook effects: one signed POST per active subscription of the booking's host that wants
//! the event, each logged; the entry is delivered once every such subscription acknowledged
//! it, and a retry skips those that already did. Targets are checked before every POST
//! ([`TargetCheck`](booking_core::ports::TargetCheck)); the payload is rendered and signed by
//! the [`WebhookSender`](booking_core::ports::WebhookSender) adapter.

use booking_core::effects::WebhookEvent;
use booking_core::ids::BookingId;
use booking_core::ports::{DeliveryReport, OutboxEntry, StoreError, WebhookMessage};
use booking_core::subscriptions::{DeliveryAttempt, WebhookSubscription};
use chrono::{DateTime, Utc};

use crate::context::Rows;
use crate::{Outcome, Parts};

pub(crate) async fn deliver(
    parts: &Parts,
    rows: &Rows<'_>,
    entry: &OutboxEntry,
    event: WebhookEvent,
    booking: BookingId,
    now: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    let loaded = match rows.load(booking).await? {
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
    let ctx = loaded.notification(&parts.public_base_url);
    let message = WebhookMessage::Event { event, ctx: &ctx };
    let mut failures = Vec::new();
    for subscription in subscriptions {
        if parts
            .subscriptions
            .delivered_to(&entry.key, subscription.id)
            .await?
        {
            continue;
        }
        let report = post(parts, &subscription, &entry.key, &message).await;
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

/// One signed POST, after checking the target.
async fn post(
    parts: &Parts,
    subscription: &WebhookSubscription,
    webhook_id: &str,
    message: &WebhookMessage<'_>,
) -> DeliveryReport {
    if let Err(e) = parts.targets.check(subscription.url.as_str()).await {
        return DeliveryReport::not_sent(e.to_string());
    }
    parts
        .webhooks
        .deliver(subscription, webhook_id, message)
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
