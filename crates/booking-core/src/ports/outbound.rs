//! The outbound ports: what the outbox dispatcher delivers effects through. They speak the
//! domain's language (a notification of some kind to a recipient, a calendar operation, a
//! webhook message to a subscription, a deal), never an adapter's: rendering a mail, an
//! invite or a webhook payload is the adapter's business.
//!
//! Every delivery carries the outbox entry's idempotency key, so an adapter can make a
//! repeated delivery recognisable (a mail's `Message-ID`, a webhook's `webhook-id`).

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{BookingStore, BusyCalendar, Clock, StoreError, TokenSource};
use crate::booking::Booking;
use crate::effects::{CalendarOp, EmailKind, Recipient, WebhookEvent};
use crate::ids::ChainId;
use crate::link::{BookingLink, Host};
use crate::service::Scheduler;
use crate::subscriptions::{SubscriptionId, SubscriptionSecret, WebhookSubscription};
use crate::workflows::Rendered;

/// Everything a notification (mail, invite, webhook payload) is rendered from. The caller
/// loads the rows; rendering does no I/O.
#[derive(Debug, Clone, Copy)]
pub struct NotificationContext<'a> {
    /// The row the effect is about, as it is now (its token via `booking.token().expose()`).
    pub booking: &'a Booking,
    /// The row it replaced, for a reschedule (its time is shown as the old time).
    pub previous: Option<&'a Booking>,
    /// The link it was booked through.
    pub link: &'a BookingLink,
    /// The link's host.
    pub host: &'a Host,
    /// Where the public pages live, e.g. `http://127.0.0.1:8080` (a trailing `/` is ignored).
    pub public_base_url: &'a str,
}

impl NotificationContext<'_> {
    fn base(&self) -> &str {
        self.public_base_url.trim_end_matches('/')
    }

    /// `{base}/book/reschedule/{token}`
    pub fn reschedule_url(&self) -> String {
        format!(
            "{}/book/reschedule/{}",
            self.base(),
            self.booking.token().expose()
        )
    }

    /// `{base}/book/cancel/{token}`
    pub fn cancel_url(&self) -> String {
        format!(
            "{}/book/cancel/{}",
            self.base(),
            self.booking.token().expose()
        )
    }

    /// `{base}/book/reconfirm/{token}`
    pub fn reconfirm_url(&self) -> String {
        format!(
            "{}/book/reconfirm/{}",
            self.base(),
            self.booking.token().expose()
        )
    }

    /// `{base}/book/{slug}`: where to book again after a cancellation.
    pub fn booking_page_url(&self) -> String {
        format!("{}/book/{}", self.base(), self.link.slug())
    }
}

/// A notification could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// Worth another attempt (connection trouble, a temporary refusal).
    #[error("{0}")]
    Transient(String),
    /// Retrying cannot help (a refused address, a message that cannot be built).
    #[error("{0}")]
    Permanent(String),
}

impl NotifyError {
    /// Whether retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent(_))
    }
}

/// Tells a recipient about a booking change: renders the `kind` notification for `to` and
/// delivers it (by mail today; the port does not say how).
#[async_trait]
pub trait Notifier: Send + Sync + fmt::Debug {
    /// Delivers one notification. Must be safe to call again with the same arguments after a
    /// failure: the outbox retries with the same `idempotency_key`, which the adapter passes
    /// on so the receiver can recognise a repeat.
    ///
    /// # Errors
    /// [`NotifyError::Transient`] when another attempt may succeed,
    /// [`NotifyError::Permanent`] when none can.
    async fn notify(
        &self,
        kind: EmailKind,
        to: Recipient,
        ctx: &NotificationContext<'_>,
        idempotency_key: &str,
    ) -> Result<(), NotifyError>;

    /// Delivers a message the host wrote (a workflow step's rendered [`Rendered`] template) to
    /// `to` about `ctx.booking`. The text is plain: the adapter escapes it for its format.
    /// Same retry contract as [`Notifier::notify`].
    ///
    /// # Errors
    /// As [`Notifier::notify`].
    async fn notify_written(
        &self,
        to: Recipient,
        ctx: &NotificationContext<'_>,
        message: &Rendered,
        idempotency_key: &str,
    ) -> Result<(), NotifyError>;
}

/// Sends text messages (SMS). The dispatcher renders the text and checks opt-outs
/// ([`crate::ports::TextOptOuts`]); the adapter only carries it.
#[async_trait]
pub trait TextSender: Send + Sync + fmt::Debug {
    /// Sends `body` to `to`, an E.164 number (`+15551234567`). Must be safe to call again
    /// after a failure: the outbox retries with the same `idempotency_key`.
    ///
    /// # Errors
    /// [`NotifyError::Transient`] when another attempt may succeed (the provider is down,
    /// throttles), [`NotifyError::Permanent`] when none can (an invalid number).
    async fn send_text(
        &self,
        to: &str,
        body: &str,
        idempotency_key: &str,
    ) -> Result<(), NotifyError>;
}

/// What a webhook says.
#[derive(Debug, Clone, Copy)]
pub enum WebhookMessage<'a> {
    /// A booking event, rendered from its rows.
    Event {
        /// Which event.
        event: WebhookEvent,
        /// The rows it is about.
        ctx: &'a NotificationContext<'a>,
    },
    /// A subscription's test event, sent on the host's request.
    Test {
        /// The subscription it tests.
        subscription: SubscriptionId,
        /// When it was asked for.
        at: DateTime<Utc>,
    },
}

/// What one webhook delivery attempt came to. `delivered` is true exactly for a 2xx answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// The receiver's HTTP status, if it answered at all.
    pub status: Option<u16>,
    /// From the start of the request to the answer (or the failure).
    pub latency_ms: u64,
    /// Why it was not delivered: a non-2xx status, a timeout, a connection error.
    pub error: Option<String>,
    /// Whether the receiver acknowledged it with a 2xx status.
    pub delivered: bool,
}

impl DeliveryReport {
    /// A delivery that was never attempted, for `reason`.
    pub fn not_sent(reason: impl Into<String>) -> Self {
        Self {
            status: None,
            latency_ms: 0,
            error: Some(reason.into()),
            delivered: false,
        }
    }
}

/// Posts webhooks: renders `message`, signs it with the subscription's secret and sends it to
/// the subscription's URL, once (retrying is the dispatcher's business).
#[async_trait]
pub trait WebhookSender: Send + Sync + fmt::Debug {
    /// A new subscription's signing secret in the form this sender signs with, from 32 bytes
    /// the caller took from a CSPRNG.
    fn new_secret(&self, key: [u8; 32]) -> SubscriptionSecret;

    /// One delivery attempt with `webhook_id` as its message id (the outbox entry's key), so
    /// receivers can drop duplicates. Never fails: what happened is in the report.
    async fn deliver(
        &self,
        subscription: &WebhookSubscription,
        webhook_id: &str,
        message: &WebhookMessage<'_>,
    ) -> DeliveryReport;
}

/// A webhook target that may not be reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("webhook target refused: {0}")]
pub struct TargetRefused(pub String);

/// Decides which webhook target URLs may be reached (a subscriber chooses the URL, so without
/// a check the server could be made to post to addresses only it can reach).
#[async_trait]
pub trait TargetCheck: Send + Sync + fmt::Debug {
    /// Checks `url`; called when a subscription is made and before every delivery (names can
    /// be re-pointed).
    ///
    /// # Errors
    /// [`TargetRefused`] saying why.
    async fn check(&self, url: &str) -> Result<(), TargetRefused>;
}

/// A calendar operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CalendarSyncError {
    /// Worth another attempt (network trouble, a 5xx, throttling); `retry_after` is how long
    /// the provider asked us to wait, if it said.
    #[error("calendar sync failed: {message}")]
    Transient {
        /// What went wrong.
        message: String,
        /// The provider's `Retry-After`.
        retry_after: Option<chrono::TimeDelta>,
    },
    /// Retrying cannot help (the request is refused for good).
    #[error("calendar sync failed for good: {0}")]
    Permanent(String),
}

/// What became of a calendar effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarWrite {
    /// The host's calendar has it.
    Written,
    /// Nothing to do: no calendar connected, or the meeting no longer needs the event.
    NothingToDo,
    /// The host must reconnect their calendar first: the effect waits, counting no attempt.
    WaitingForReconnect,
}

/// Applies calendar effects to the host's connected calendar.
#[async_trait]
pub trait CalendarSync: Send + Sync + fmt::Debug {
    /// Creates, moves or deletes the chain's event for `booking`. `idempotency_key`
    /// identifies the effect across retries.
    ///
    /// # Errors
    /// [`CalendarSyncError`]; a revoked grant is not an error but
    /// [`CalendarWrite::WaitingForReconnect`].
    async fn apply(
        &self,
        op: CalendarOp,
        booking: &Booking,
        idempotency_key: &str,
    ) -> Result<CalendarWrite, CalendarSyncError>;
}

/// The calendar side for hosts with no calendar connected: every operation is a no-op.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCalendarConnected;

#[async_trait]
impl CalendarSync for NoCalendarConnected {
    async fn apply(
        &self,
        _op: CalendarOp,
        _booking: &Booking,
        _idempotency_key: &str,
    ) -> Result<CalendarWrite, CalendarSyncError> {
        Ok(CalendarWrite::NothingToDo)
    }
}

/// Creating a deal failed.
#[derive(Debug, thiserror::Error)]
pub enum DealSinkError {
    /// Worth another attempt.
    #[error("creating the deal failed: {0}")]
    Transient(String),
    /// Retrying cannot help.
    #[error("creating the deal failed for good: {0}")]
    Permanent(String),
}

/// Where deals are created (a CRM, or Slotkeeper's own deal records).
#[async_trait]
pub trait DealSink: Send + Sync + fmt::Debug {
    /// Creates the deal for the meeting `chain`, booked as `booking`. Must be idempotent per
    /// `idempotency_key`: after a crash the same deal may be asked for again.
    ///
    /// # Errors
    /// [`DealSinkError`].
    async fn create_deal(
        &self,
        chain: ChainId,
        booking: &Booking,
        idempotency_key: &str,
    ) -> Result<(), DealSinkError>;
}

/// Cancels overdue unreconfirmed bookings: the periodic job's view of
/// [`Scheduler::expire_unreconfirmed`], behind a trait so the job does not carry the
/// scheduler's type parameters.
#[async_trait]
pub trait ReconfirmationSweep: Send + Sync {
    /// Cancels up to `limit` overdue bookings; returns how many.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn expire_unreconfirmed(&self, limit: u32) -> Result<usize, StoreError>;
}

#[async_trait]
impl<S, C, T, B> ReconfirmationSweep for Scheduler<S, C, T, B>
where
    S: BookingStore,
    C: Clock,
    T: TokenSource,
    B: BusyCalendar,
{
    async fn expire_unreconfirmed(&self, limit: u32) -> Result<usize, StoreError> {
        Scheduler::expire_unreconfirmed(self, limit).await
    }
}
