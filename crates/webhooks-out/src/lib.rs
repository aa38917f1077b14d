//! Slotkeeper's outbound webhooks: the `callBooked`, `callRescheduled` and `callCancelled`
//! payloads, their Standard Webhooks signature, and one delivery attempt.
//!
//! - [`payload`] builds the JSON document of the webhook contract (an array holding one
//!   object with `event_type`, `event`, `invitee`, `questions_and_answers`,
//!   `questions_and_responses`, `tracking` and `hookType`) from a [`NotificationContext`].
//! - [`sign`] computes the `webhook-signature` header value of the
//!   [Standard Webhooks](https://www.standardwebhooks.com/) specification:
//!   `v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}` with a `whsec_…` secret
//!   ([`WebhookSecret`]), so receivers verify with the off-the-shelf `standardwebhooks` or
//!   `svix` libraries.
//! - [`WebhookClient::deliver`] makes one signed POST with a 5-second total timeout and
//!   reports what happened ([`DeliveryReport`]); retries, backoff and the delivery log belong
//!   to the outbox dispatcher, which passes the outbox idempotency key as `webhook-id`.
//!   [`WebhookClient`] is the adapter of booking-core's
//!   [`WebhookSender`](booking_core::ports::WebhookSender) port: it renders the port's
//!   message (a booking event, or a test event: [`test_event`]) and posts it.
//! - [`TargetPolicy`] decides which target URLs may be reached (no address of the IANA
//!   special-purpose registries — private, loopback, link-local, … — unless allowed), as the
//!   adapter of the [`TargetCheck`](booking_core::ports::TargetCheck) port; the
//!   [`WebhookClient`] applies the same policy again to the address it connects to.
//!
//! docs/WEBHOOKS.md documents the payloads and how to verify them.

mod delivery;
mod payload;
mod signing;
mod special;
mod targets;

pub use booking_core::effects::WebhookEvent;
pub use booking_core::ports::{DeliveryReport, NotificationContext, TargetRefused};
pub use delivery::{DEFAULT_TIMEOUT, WebhookClient, WebhookClientError};
pub use payload::{hook_type, payload};
pub use signing::{InvalidSecret, WebhookSecret, sign};
pub use special::is_public;
pub use targets::TargetPolicy;

/// The body of a test event for a subscription:
/// `[{"hookType": "Test", "test": true, "subscription": …, "sent_at": …}]`.
pub fn test_event(subscription: &str, now: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
    let body = serde_json::json!([{
        "hookType": "Test",
        "test": true,
        "subscription": subscription,
        "sent_at": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }]);
    body.to_string().into_bytes()
}
