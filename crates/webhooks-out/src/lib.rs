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
//! - [`TargetPolicy`] decides which target URLs may be reached (no private or loopback
//!   addresses unless allowed); [`test_event`] is the body of a subscription's test event.
//!
//! docs/WEBHOOKS.md documents the payloads and how to verify them.

mod delivery;
mod payload;
mod signing;
mod targets;

use booking_core::Booking;
use booking_core::link::{BookingLink, Host};

pub use booking_core::effects::WebhookEvent;
pub use delivery::{DEFAULT_TIMEOUT, DeliveryReport, WebhookClient, WebhookClientError};
pub use payload::{hook_type, payload};
pub use signing::{InvalidSecret, WebhookSecret, sign};
pub use targets::{TargetPolicy, TargetRefused, is_public};

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

/// The `webhook-id` of a test event: `test_` and the nonce in hex.
pub fn test_webhook_id(nonce: &[u8]) -> String {
    std::iter::once("test_".to_owned())
        .chain(nonce.iter().map(|b| format!("{b:02x}")))
        .collect()
}

/// Everything a webhook payload is built from (the same fields as the mailer's context). The
/// caller loads the rows; nothing here does I/O.
#[derive(Debug, Clone, Copy)]
pub struct NotificationContext<'a> {
    /// The row the event is about, as it is now.
    pub booking: &'a Booking,
    /// The row it replaced, for `callRescheduled` (gives `old_start_time`).
    pub previous: Option<&'a Booking>,
    /// The link it was booked through (`event_type`).
    pub link: &'a BookingLink,
    /// The link's host (`assigned_to`, host-zone times).
    pub host: &'a Host,
    /// Where the public pages live, e.g. `http://127.0.0.1:8080` (a trailing `/` is ignored).
    pub public_base_url: &'a str,
}
