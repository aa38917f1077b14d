//! The outbox dispatcher: background workers that deliver what the use cases queued (emails,
//! texts, webhooks, calendar operations, CRM deals), with leases, retries, backoff and dead entries.
//!
//! A worker claims due entries with a lease ([`Outbox::claim_due`]), hands each to the handler
//! of its kind, and records the outcome: [`Outbox::mark_delivered`], or
//! [`Outbox::mark_failed`] with the [`RetryPolicy`] and a random jitter, which schedules the
//! next attempt or, after the last one, makes the entry dead (logged at `warn`, listed by
//! `slotkeeper outbox dead`). A crashed worker's entries come back when their lease ends;
//! a clean shutdown finishes the delivery in hand and releases the rest of its batch. The
//! periodic jobs ([`periodic`]) run once per deployment, under job leases.
//!
//! Every delivery carries the entry's idempotency key — as the mail's `Message-ID` and as the
//! webhook's `webhook-id` — so a delivery repeated after a crash between sending and recording
//! is recognisable by the receiver. Webhooks are recorded per subscription as they go
//! ([`WebhookSubscriptions::delivered_to`]), so a retried entry only goes to the subscriptions
//! that have not acknowledged it yet. docs/NOTIFICATIONS.md has the whole story.
//!
//! The crate knows booking-core's ports only: the mail, webhook, calendar and deal adapters
//! come in as `Arc<dyn Port>` values ([`Parts`], [`Dispatcher::with_calendar`],
//! [`Dispatcher::with_deal_sink`]), time from the [`Clock`] port and the retry jitter from an
//! injected function ([`Jitter`]), so tests drive it step by step
//! ([`Dispatcher::run_once`]) against real stores, a real SMTP server and real receivers,
//! deterministically.
//!
//! **Architecture Invariant:** no adapter crate is a dependency of this one (`cargo xtask
//! tidy` checks it); the binary wires them in.

mod calendar;
pub mod calendar_jobs;
mod context;
mod deal;
mod email;
pub mod observe;
pub mod periodic;
mod step;
mod text;
mod together;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use booking_core::effects::{Effect, RetryPolicy};
use booking_core::ports::{
    BookingStore, CalendarSync, Clock, DealSink, FailureOutcome, NoCalendarConnected, Notifier,
    Outbox, OutboxEntry, OutboxWake, StoreError, TargetCheck, TextOptOuts, TextSender,
    WebhookSender,
};
use booking_core::subscriptions::WebhookSubscriptions;
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument as _;

use context::Rows;

pub use deal::DealRecorder;

/// Where the retry jitter comes from: a number in `[0, 1)` per failed attempt, spreading the
/// retries of entries that failed together. The binary passes the OS CSPRNG; tests pass a
/// constant.
pub type Jitter = Arc<dyn Fn() -> f64 + Send + Sync>;

/// How long a claimed entry stays invisible to other workers.
pub const DEFAULT_LEASE: TimeDelta = TimeDelta::seconds(60);
/// How long an idle worker waits before looking for due entries again.
pub const DEFAULT_POLL: Duration = Duration::from_secs(1);
/// How often the reconfirmation deadline sweep runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How long an idle worker with an [`OutboxWake`] waits before looking anyway (for entries
/// that became due with time: retries, reminders; and commits a wake-up missed).
pub const WAKE_FALLBACK_POLL: Duration = Duration::from_secs(5);
/// Entries a worker claims at once (one statement): two flights of [`IN_FLIGHT`], so the
/// next flight needs no claim.
const BATCH: usize = 64;
/// Entries [`Dispatcher::run_once`] claims at once.
const STEP_BATCH: u32 = 10;
/// Deliveries a worker has in flight at once by default; those delivered are then marked in
/// one statement. A worker killed mid-way can thus repeat up to this many deliveries.
///
/// Sending a mail or a webhook is mostly waiting on the receiver, and a flight waits for its
/// slowest member, so a flight of 32 takes about as long as one delivery. With 2 workers the
/// dispatcher drained ~2,000–2,650 entries/s on loopback (docs/PERFORMANCE.md).
pub const IN_FLIGHT: usize = 32;
/// Bookings the sweep cancels per run at most.
pub const SWEEP_LIMIT: u32 = 100;

/// What the dispatcher delivers with.
#[derive(Clone)]
pub struct Parts {
    /// The outbox to drain.
    pub outbox: Arc<dyn Outbox>,
    /// Bookings, links and hosts the messages are rendered from.
    pub bookings: Arc<dyn BookingStore>,
    /// Webhook subscriptions and their delivery log.
    pub subscriptions: Arc<dyn WebhookSubscriptions>,
    /// Tells attendees and hosts (by mail).
    pub notifier: Arc<dyn Notifier>,
    /// Posts the webhooks.
    pub webhooks: Arc<dyn WebhookSender>,
    /// Which webhook targets may be reached.
    pub targets: Arc<dyn TargetCheck>,
    /// What time the workers deliver at.
    pub clock: Arc<dyn Clock>,
    /// Spreads the retries.
    pub jitter: Jitter,
    /// Where the public pages live, for links in mails and payloads.
    pub public_base_url: String,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("notifier", &self.notifier)
            .field("webhooks", &self.webhooks)
            .field("targets", &self.targets)
            .field("public_base_url", &self.public_base_url)
            .finish_non_exhaustive()
    }
}

/// What a handler made of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Done: never hand it out again.
    Delivered,
    /// Nothing to do any more (e.g. a reconfirmation request for a cancelled booking): done.
    Skipped(&'static str),
    /// Try again later (or give up after the last attempt).
    Failed(String),
    /// Try again, but not before the receiver's `Retry-After` has passed.
    FailedWait(String, TimeDelta),
    /// Retrying cannot help (a deleted booking, a refused address): dead now.
    Permanent(String),
    /// Not deliverable yet, through no fault of the entry (no deal sink registered): keep it
    /// pending without counting an attempt.
    NotYet,
}

/// The outbox dispatcher. Cheap to share (`Arc`); every worker runs the same one.
#[derive(Debug)]
pub struct Dispatcher {
    parts: Parts,
    calendar: Arc<dyn CalendarSync>,
    deals: deal::DealHandler,
    policy: RetryPolicy,
    lease: TimeDelta,
    poll: Duration,
    texts: Option<TextChannel>,
    wake: Option<Arc<dyn OutboxWake>>,
    in_flight: usize,
}

/// Where text messages (SMS) go, and the opt-outs they are checked against.
#[derive(Clone)]
pub struct TextChannel {
    /// Carries the texts.
    pub sender: Arc<dyn TextSender>,
    /// Numbers that answered STOP.
    pub opt_outs: Arc<dyn TextOptOuts>,
}

impl std::fmt::Debug for TextChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextChannel")
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher with the default retry policy, a 60-second lease, no calendar connected
    /// and no deal sink.
    pub fn new(parts: Parts) -> Self {
        Self {
            parts,
            calendar: Arc::new(NoCalendarConnected),
            deals: deal::DealHandler::new(None),
            policy: RetryPolicy::default(),
            lease: DEFAULT_LEASE,
            poll: DEFAULT_POLL,
            texts: None,
            wake: None,
            in_flight: IN_FLIGHT,
        }
    }

    /// Idle workers wait for `wake` (a commit that wrote outbox entries) instead of polling
    /// every second; they still look every [`WAKE_FALLBACK_POLL`] (a later
    /// [`Dispatcher::with_poll_interval`] changes that).
    #[must_use]
    pub fn with_wake(mut self, wake: Arc<dyn OutboxWake>) -> Self {
        self.wake = Some(wake);
        self.poll = WAKE_FALLBACK_POLL;
        self
    }

    /// Sends text messages (SMS) through `channel`; without one no text is sent.
    #[must_use]
    pub fn with_texts(mut self, channel: TextChannel) -> Self {
        self.texts = Some(channel);
        self
    }

    /// The text channel, if SMS is configured.
    pub fn texts(&self) -> Option<&TextChannel> {
        self.texts.as_ref()
    }

    /// Uses `calendar` for calendar effects (Google/Microsoft sync).
    #[must_use]
    pub fn with_calendar(mut self, calendar: Arc<dyn CalendarSync>) -> Self {
        self.calendar = calendar;
        self
    }

    /// Uses `sink` for CRM deal effects; without one they stay pending.
    #[must_use]
    pub fn with_deal_sink(mut self, sink: Arc<dyn DealSink>) -> Self {
        self.deals = deal::DealHandler::new(Some(sink));
        self
    }

    /// Uses another retry policy (tests use short ones).
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Uses another lease length.
    #[must_use]
    pub fn with_lease(mut self, lease: TimeDelta) -> Self {
        self.lease = lease;
        self
    }

    /// Has up to `deliveries` (at least one) in flight at once per worker, instead of
    /// [`IN_FLIGHT`].
    #[must_use]
    pub fn with_in_flight(mut self, deliveries: usize) -> Self {
        self.in_flight = deliveries.max(1);
        self
    }

    /// Uses another idle poll interval.
    #[must_use]
    pub fn with_poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// The parts it delivers with.
    pub fn parts(&self) -> &Parts {
        &self.parts
    }

    /// Delivers every entry due at `now`, batch after batch, until none is left; returns how
    /// many were marked delivered. Failed entries are rescheduled (or die) and not retried
    /// within the call unless the policy makes them due again at `now`.
    ///
    /// # Errors
    /// [`StoreError`] when the outbox cannot be read or written.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut delivered = 0;
        loop {
            let batch = self
                .parts
                .outbox
                .claim_due(now, self.lease, STEP_BATCH)
                .await?;
            if batch.is_empty() {
                return Ok(delivered);
            }
            // One at a time, each marked before the next starts: a run cut off repeats nothing.
            for entry in batch {
                let rows = Rows::unshared(self.parts.bookings.as_ref());
                if self.process(&entry, &rows, now).await? {
                    self.parts
                        .outbox
                        .mark_all_delivered(std::slice::from_ref(&entry.key), now)
                        .await?;
                    delivered += 1;
                }
            }
        }
    }

    /// Runs `workers` delivery workers and the reconfirmation sweep (if given; it runs only
    /// while this instance holds its lease) until `shutdown` turns true; then each worker
    /// finishes the delivery in hand, releases the rest of its batch, and this returns.
    pub async fn run(
        self: Arc<Self>,
        workers: usize,
        sweep: Option<periodic::SweepJob>,
        shutdown: watch::Receiver<bool>,
    ) {
        let mut tasks = JoinSet::new();
        for worker in 0..workers.max(1) {
            let this = self.clone();
            let shutdown = shutdown.clone();
            tasks.spawn(async move { this.work(worker, shutdown).await });
        }
        if let Some(sweep) = sweep {
            tasks.spawn(sweep.run(shutdown));
        }
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "an outbox worker stopped unexpectedly");
            }
        }
        tracing::info!("outbox dispatcher stopped");
    }

    async fn work(&self, worker: usize, mut shutdown: watch::Receiver<bool>) {
        tracing::debug!(worker, "outbox worker started");
        while !*shutdown.borrow() {
            // Read before claiming: a commit after this point ends the idle wait at once.
            let seen = self.wake.as_ref().map(|w| w.seen());
            let now = self.parts.clock.now();
            let claim = u32::try_from(BATCH.max(self.in_flight)).unwrap_or(u32::MAX);
            let batch = match self.parts.outbox.claim_due(now, self.lease, claim).await {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::error!(worker, error = %error_chain(&e), "claiming outbox entries failed");
                    Vec::new()
                }
            };
            if batch.is_empty() {
                self.idle(seen, &mut shutdown).await;
                continue;
            }
            // The claim is this worker's until `claimed_until`. Deliveries start only while a
            // quarter of the lease is left: a batch that outlasted its lease would otherwise be
            // claimed, and delivered again, by another worker.
            let claimed_until = now + self.lease;
            let mut held = batch.into_iter().peekable();
            while !*shutdown.borrow()
                && !self.lease_running_out(claimed_until)
                && held.peek().is_some()
            {
                let flight: Vec<OutboxEntry> = held.by_ref().take(self.in_flight).collect();
                self.fly(worker, flight).await;
            }
            // Give back what this worker holds but will not deliver (shutdown, or a lease
            // running out) — only while the claim is still its own to give back.
            if self.parts.clock.now() < claimed_until {
                for entry in held {
                    if let Err(e) = self.parts.outbox.release(&entry.key).await {
                        tracing::warn!(worker, key = %entry.key, error = %error_chain(&e), "releasing an outbox lease failed; it expires by itself");
                    }
                }
            }
        }
        tracing::debug!(worker, "outbox worker stopped");
    }

    /// Waits, with nothing due, for a wake-up after `seen`, the poll interval or shutdown.
    async fn idle(&self, seen: Option<u64>, shutdown: &mut watch::Receiver<bool>) {
        let woken = async {
            match (&self.wake, seen) {
                (Some(wake), Some(seen)) => wake.wait_after(seen).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            () = tokio::time::sleep(self.poll) => {}
            () = woken => {}
            _ = shutdown.changed() => {}
        }
    }

    /// Delivers `flight` at once, then marks those delivered in one statement.
    async fn fly(&self, worker: usize, flight: Vec<OutboxEntry>) {
        let rows = Rows::for_flight(self.parts.bookings.as_ref(), &flight);
        let outcomes = together::all(
            flight
                .iter()
                .map(|entry| self.process(entry, &rows, self.parts.clock.now()))
                .collect(),
        )
        .await;
        let mut done = Vec::new();
        for (entry, outcome) in flight.into_iter().zip(outcomes) {
            match outcome {
                Ok(true) => done.push(entry.key),
                Ok(false) => {}
                // The lease runs out and another attempt follows; nothing is lost.
                Err(e) => {
                    tracing::error!(worker, key = %entry.key, error = %error_chain(&e), "recording an outbox outcome failed");
                }
            }
        }
        if let Err(e) = self
            .parts
            .outbox
            .mark_all_delivered(&done, self.parts.clock.now())
            .await
        {
            // Their leases run out and they are delivered again, with the same keys.
            tracing::error!(worker, entries = done.len(), error = %error_chain(&e), "marking outbox entries delivered failed");
        }
    }

    /// Whether a claim held until `claimed_until` has less than a quarter of the lease left.
    fn lease_running_out(&self, claimed_until: DateTime<Utc>) -> bool {
        self.parts.clock.now() + self.lease / 4 >= claimed_until
    }

    /// Delivers one claimed entry and records a failed outcome, inside a `delivery` span (key,
    /// kind, attempt) so every log line about it says which; true when it is to be marked
    /// delivered (the caller marks its batch's in one statement).
    async fn process(
        &self,
        entry: &OutboxEntry,
        rows: &Rows<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let span = tracing::info_span!(
            "delivery",
            key = %entry.key,
            kind = observe::kind_of(&entry.effect),
            attempt = entry.attempts + 1
        );
        self.settle(entry, rows, now).instrument(span).await
    }

    async fn settle(
        &self,
        entry: &OutboxEntry,
        rows: &Rows<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let kind = observe::kind_of(&entry.effect);
        let outcome = match self.deliver(entry, rows, now).await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Failed(error_chain(&e)),
        };
        match outcome {
            Outcome::Delivered => {
                observe::delivery(kind, "delivered");
                tracing::info!(key = %entry.key, attempt = entry.attempts + 1, "delivered");
                Ok(true)
            }
            Outcome::Skipped(why) => {
                observe::delivery(kind, "skipped");
                tracing::debug!(key = %entry.key, why, "nothing to deliver");
                Ok(true)
            }
            Outcome::NotYet => Ok(false),
            Outcome::Failed(error) => {
                self.fail(entry, now, &error, &self.policy).await?;
                Ok(false)
            }
            Outcome::FailedWait(error, wait) => {
                // Jitter takes the delay down to half, so ask for twice the wait.
                let patient = RetryPolicy {
                    base_delay: self.policy.base_delay.max(wait * 2),
                    max_delay: self.policy.max_delay.max(wait * 2),
                    ..self.policy
                };
                self.fail(entry, now, &error, &patient).await?;
                Ok(false)
            }
            Outcome::Permanent(error) => {
                // A policy whose attempts end with this one.
                let last = RetryPolicy {
                    max_attempts: entry.attempts + 1,
                    ..self.policy
                };
                self.fail(entry, now, &error, &last).await?;
                Ok(false)
            }
        }
    }

    async fn fail(
        &self,
        entry: &OutboxEntry,
        now: DateTime<Utc>,
        error: &str,
        policy: &RetryPolicy,
    ) -> Result<(), StoreError> {
        let outcome = self
            .parts
            .outbox
            .mark_failed(&entry.key, now, error, policy, (self.parts.jitter)())
            .await?;
        observe::failure(observe::kind_of(&entry.effect), outcome);
        match outcome {
            FailureOutcome::RetryAt(at) => tracing::info!(
                key = %entry.key,
                attempt = entry.attempts + 1,
                retry_at = %at,
                error,
                "delivery failed; will retry"
            ),
            FailureOutcome::Dead => tracing::warn!(
                key = %entry.key,
                attempts = entry.attempts + 1,
                error,
                "outbox entry is dead: delivery failed for the last time"
            ),
        }
        Ok(())
    }

    async fn deliver(
        &self,
        entry: &OutboxEntry,
        rows: &Rows<'_>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        // Every mail effect (also a resend of the links) goes through the mailer.
        if let Some((kind, to, booking)) = entry.effect.as_email() {
            return email::deliver(&self.parts, rows, entry, kind, to, booking, now).await;
        }
        match entry.effect {
            Effect::Webhook { event, booking } => {
                webhook::deliver(&self.parts, rows, entry, event, booking, now).await
            }
            Effect::Calendar { op, booking } => {
                calendar::deliver(rows, self.calendar.as_ref(), entry, op, booking).await
            }
            Effect::CreateDeal { chain, booking } => {
                self.deals.deliver(rows, entry, chain, booking).await
            }
            Effect::Text { kind, booking } => {
                text::deliver(&self.parts, rows, self.texts(), entry, kind, booking, now).await
            }
            Effect::Step { booking, step } => {
                step::deliver(&self.parts, rows, self.texts(), entry, booking, step, now).await
            }
            other => Ok(Outcome::Permanent(format!(
                "no handler for outbox effect {}",
                other.code()
            ))),
        }
    }
}

/// An error and its causes, `: `-separated.
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
