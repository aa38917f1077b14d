//! The ports the use cases run behind: storage, time, randomness and external busy times;
//! and the outbound ports effects are delivered through ([`outbound`], re-exported here:
//! notifications, webhooks and their target check, calendar sync, deals, the reconfirmation
//! sweep). Adapters live in their own crates; [`crate::testkit`] has in-memory ones.

use std::error::Error as StdError;
use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::booking::{Booking, Write};
use crate::effects::PlannedEffect;
use crate::ids::{BookingId, ChainId, HostId, LinkId};
use crate::link::{BookingLink, Host, Slug};
use crate::time::TimeRange;
use crate::token::RescheduleToken;

pub mod operations;
pub mod outbound;

pub use operations::{ChangeKind, ConnectionUse, OutboxBacklog, StoreHealth};
pub use outbound::{
    CalendarSync, CalendarSyncError, CalendarWrite, DealSink, DealSinkError, DeliveryReport,
    NoCalendarConnected, NotificationContext, Notifier, NotifyError, ReconfirmationSweep,
    TargetCheck, TargetRefused, TextSender, WebhookMessage, WebhookSender,
};

/// An unexpected storage failure (connection lost, corrupt row, …), with its cause chain.
///
/// A store says when the failure passes by itself ([`StoreError::unavailable`]: the database
/// cannot be reached, is out of space or too busy right now), so callers can ask their own
/// clients to try again later instead of reporting a fault.
#[derive(Debug, thiserror::Error)]
#[error("storage failed: {context}")]
pub struct StoreError {
    context: String,
    unavailable: bool,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl StoreError {
    /// A failure described by `context`, caused by `source`.
    pub fn new(
        context: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            context: context.into(),
            unavailable: false,
            source: Some(source.into()),
        }
    }

    /// A failure with no underlying error.
    pub fn msg(context: impl Into<String>) -> Self {
        Self {
            context: context.into(),
            unavailable: false,
            source: None,
        }
    }

    /// The database is unavailable right now (unreachable, out of space, overloaded): nothing
    /// was written, and the same request may well succeed in a moment.
    pub fn unavailable(
        context: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            unavailable: true,
            ..Self::new(context, source)
        }
    }

    /// Whether this is an [`unavailable`](Self::unavailable) database: worth trying again later.
    pub fn is_unavailable(&self) -> bool {
        self.unavailable
    }
}

/// Why a [`Change`] was not committed. Nothing of it was written.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// An updated row no longer has the expected version: someone else changed it first.
    #[error("booking {0} was changed concurrently")]
    VersionConflict(BookingId),
    /// A confirmed row would overlap another confirmed row of the same host (buffers included).
    #[error("the slot is no longer available")]
    SlotTaken,
    /// Anything else.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a link could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveLinkError {
    /// Another link already uses the slug.
    #[error("the slug is already taken")]
    SlugTaken,
    /// The link's host does not exist.
    #[error("unknown host")]
    UnknownHost,
    /// Anything else.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Rows and effects to commit in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// Inserted or version-checked updated rows.
    pub writes: Vec<Write>,
    /// Outbox entries.
    pub effects: Vec<PlannedEffect>,
}

/// The host dashboard's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DashboardTab {
    /// Confirmed, not yet started; soonest first.
    Upcoming,
    /// Confirmed and started (no-shows excluded); latest first.
    Past,
    /// Marked no-show; latest first.
    NoShows,
    /// Cancelled; most recently cancelled first.
    Cancelled,
}

/// How many meetings each tab holds. Rescheduled rows are never counted: a moved meeting
/// counts once, as its current row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TabCounts {
    /// Upcoming.
    pub upcoming: u64,
    /// Past.
    pub past: u64,
    /// No-shows.
    pub no_shows: u64,
    /// Cancelled.
    pub cancelled: u64,
}

/// One page of a dashboard tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardPage {
    /// The rows of the page.
    pub rows: Vec<Booking>,
    /// Counts of every tab.
    pub counts: TabCounts,
}

/// Which slice of a list to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub offset: u32,
    /// Rows to return (at most).
    pub limit: u32,
}

/// Where bookings, links and hosts are kept, and where effects are queued.
///
/// Implementations must make [`BookingStore::commit`] atomic: either every write and every
/// effect is stored, or none.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait BookingStore: Send + Sync {
    /// Creates or replaces a host.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn save_host(&self, host: &Host) -> Result<(), StoreError>;

    /// Loads a host.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (an unknown id is `Ok(None)`).
    async fn host(&self, id: HostId) -> Result<Option<Host>, StoreError>;

    /// Creates or replaces a link (matched by id).
    ///
    /// # Errors
    /// [`SaveLinkError::SlugTaken`] when another link has the slug,
    /// [`SaveLinkError::UnknownHost`] when the host does not exist.
    async fn save_link(&self, link: &BookingLink) -> Result<(), SaveLinkError>;

    /// Loads a link by its slug.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (unknown slug is `Ok(None)`).
    async fn link_by_slug(&self, slug: &Slug) -> Result<Option<BookingLink>, StoreError>;

    /// Loads a link by id.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (unknown id is `Ok(None)`).
    async fn link(&self, id: LinkId) -> Result<Option<BookingLink>, StoreError>;

    /// Loads a booking row by id.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (unknown id is `Ok(None)`).
    async fn booking(&self, id: BookingId) -> Result<Option<Booking>, StoreError>;

    /// Loads the row whose token this is (live or dead), looked up by the token's hash.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (unknown token is `Ok(None)`).
    async fn booking_by_token(
        &self,
        token: &RescheduleToken,
    ) -> Result<Option<Booking>, StoreError>;

    /// The row of `token` for a page to show: like [`BookingStore::booking_by_token`], but a
    /// cache may answer it (a cached answer is dropped by every change of the host's bookings,
    /// so it is stale for no longer than the busy ranges are). Use cases that write look the
    /// token up with [`BookingStore::booking_by_token`]. A store answers it as
    /// `booking_by_token`; a decorator must forward it (there is no default, so one that
    /// forgets cannot silently skip a cache below it).
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (unknown token is `Ok(None)`).
    async fn booking_by_token_to_show(
        &self,
        token: &RescheduleToken,
    ) -> Result<Option<Booking>, StoreError>;

    /// Loads the newest row of the chain mirrored to this external calendar event.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (unknown event is `Ok(None)`).
    async fn booking_by_provider_event(
        &self,
        provider: &str,
        event_id: &str,
    ) -> Result<Option<Booking>, StoreError>;

    /// Every row of a chain, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (unknown chain is an empty list).
    async fn chain(&self, chain: ChainId) -> Result<Vec<Booking>, StoreError>;

    /// The blocked (buffered) ranges of the host's confirmed rows that overlap `within`,
    /// leaving out the rows of `except` (the meeting being moved).
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn blocked_ranges(
        &self,
        host: HostId,
        within: TimeRange,
        except: Option<ChainId>,
    ) -> Result<Vec<TimeRange>, StoreError>;

    /// One page of a dashboard tab, with the counts of all tabs, as of `now`.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn dashboard(
        &self,
        host: HostId,
        tab: DashboardTab,
        now: DateTime<Utc>,
        page: Page,
    ) -> Result<DashboardPage, StoreError>;

    /// Confirmed, unreconfirmed rows whose reconfirmation request was delivered before their
    /// deadline, whose deadline is at or before `now` and whose meeting has not started, at
    /// most `limit`. A row never asked is never overdue.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn reconfirmation_overdue(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Booking>, StoreError>;

    /// The booking's outbox entries that went dead (every attempt failed), most recent first:
    /// what never reached its recipient, for the host's page of the booking.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn dead_effects(&self, booking: BookingId) -> Result<Vec<DeadEntry>, StoreError>;

    /// The booking's outbox entries still to be delivered (neither delivered nor dead), soonest
    /// due first: the actions planned for it, for the host's page of the booking. Entries are
    /// given by their stored code, so kinds this build does not know are listed too.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn pending_effects(&self, booking: BookingId) -> Result<Vec<PendingEntry>, StoreError>;

    /// Records that the booking's reconfirmation request was delivered at `at`, raising the
    /// row's version. Only the first delivery is recorded: a later call (a repeated delivery)
    /// changes nothing. Without this record the deadline never cancels the booking.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (an unknown id is not an error).
    async fn record_reconfirmation_request(
        &self,
        booking: BookingId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Writes every row and queues every effect, atomically.
    ///
    /// # Errors
    /// [`CommitError::VersionConflict`] when an updated row's stored version is not the
    /// expected one; [`CommitError::SlotTaken`] when a confirmed row would overlap another
    /// confirmed row of its host; [`CommitError::Store`] otherwise. Nothing is written on error.
    async fn commit(&self, change: Change) -> Result<(), CommitError>;
}

/// Where the current time comes from.
#[cfg_attr(test, mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now. Infallible.
    fn now(&self) -> DateTime<Utc>;
}

/// Where tokens and fresh row ids come from: the OS CSPRNG in production, a counter in tests.
#[cfg_attr(test, mockall::automock)]
pub trait TokenSource: Send + Sync {
    /// A fresh, unguessable reschedule token. Infallible: an adapter that cannot reach its
    /// randomness source must abort rather than return a weak token.
    fn new_token(&self) -> RescheduleToken;

    /// A fresh booking id, never used before.
    fn new_booking_id(&self) -> BookingId;
}

/// The host's external calendars could not be read.
#[derive(Debug, thiserror::Error)]
#[error("could not read the host's calendar: {0}")]
pub struct BusyCalendarError(pub String);

/// Busy times from the host's connected calendars (Google, Microsoft).
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait BusyCalendar: Send + Sync {
    /// Busy ranges overlapping `within`, excluding events Slotkeeper itself created.
    ///
    /// # Errors
    /// [`BusyCalendarError`] when a connected calendar cannot be read; the use cases then
    /// refuse to offer slots rather than risk a double booking.
    async fn busy(
        &self,
        host: HostId,
        within: TimeRange,
    ) -> Result<Vec<TimeRange>, BusyCalendarError>;
}

impl fmt::Display for DashboardTab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Upcoming => "upcoming",
            Self::Past => "past",
            Self::NoShows => "no_shows",
            Self::Cancelled => "cancelled",
        })
    }
}

/// One queued effect, as handed to a delivery worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The entry's key: [`Effect::idempotency_key`](crate::effects::Effect::idempotency_key).
    /// Adapters pass it on (Message-ID, `webhook-id`, provider request ids) so receivers can
    /// drop duplicates.
    pub key: String,
    /// What to deliver.
    pub effect: crate::effects::Effect,
    /// Attempts made before this one.
    pub attempts: u32,
    /// When it became due.
    pub due_at: DateTime<Utc>,
}

/// What became of a failed delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// It will be tried again at this instant.
    RetryAt(DateTime<Utc>),
    /// That was the last attempt: the entry is dead and shown to the host.
    Dead,
}

/// An entry whose every attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadEntry {
    /// The entry.
    pub entry: OutboxEntry,
    /// The last error.
    pub last_error: String,
    /// When it died.
    pub died_at: DateTime<Utc>,
}

/// An entry still to be delivered: a planned action of a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEntry {
    /// The entry's key.
    pub key: String,
    /// Its stored effect code ([`Effect::code`](crate::effects::Effect::code)), e.g.
    /// `email/ReconfirmationRequest/Attendee`.
    pub code: String,
    /// The row it is about.
    pub booking: BookingId,
    /// When it is (next) due.
    pub due_at: DateTime<Utc>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The last failure, if an attempt failed.
    pub last_error: Option<String>,
    /// Held by a worker until then (being delivered right now), if leased.
    pub leased_until: Option<DateTime<Utc>>,
}

/// The delivery side of the outbox that [`BookingStore::commit`] fills.
///
/// A claim is a lease: an entry claimed by a worker is invisible to other workers until the
/// lease ends, so a crashed worker's entries come back by themselves. Several processes may
/// claim from one database at once; no entry is handed to two live leases.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Leases up to `limit` due entries (due at or before `now`, not delivered, not dead, not
    /// leased) until `now + lease`, oldest due first.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: chrono::TimeDelta,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Records a successful delivery; the entry is never handed out again.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (an unknown key is not an error).
    async fn mark_delivered(&self, key: &str, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Records the successful delivery of every entry in `keys` at once (a worker's batch);
    /// the same as [`Outbox::mark_delivered`] for each, which the default does one by one.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (unknown keys are not an error).
    async fn mark_all_delivered(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for key in keys {
            self.mark_delivered(key, now).await?;
        }
        Ok(())
    }

    /// Records a failed attempt: schedules a retry per `policy` (with `jitter` in `[0, 1)`),
    /// or marks the entry dead after its last attempt.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure or an unknown key.
    async fn mark_failed(
        &self,
        key: &str,
        now: DateTime<Utc>,
        error: &str,
        policy: &crate::effects::RetryPolicy,
        jitter: f64,
    ) -> Result<FailureOutcome, StoreError>;

    /// Gives back a lease without counting an attempt (clean shutdown).
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn release(&self, key: &str) -> Result<(), StoreError>;

    /// Dead entries, most recent first, at most `limit`.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn dead_entries(&self, limit: u32) -> Result<Vec<DeadEntry>, StoreError>;

    /// The backlog at `now`: due and scheduled entries, when the oldest due one became due,
    /// and how many are dead. Read at scrape time by the metrics.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn backlog(&self, now: DateTime<Utc>) -> Result<OutboxBacklog, StoreError>;

    /// The dead entries about `host`'s bookings, most recent first, at most `limit` (what
    /// the host's dashboard lists; other hosts' entries never appear).
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn dead_entries_of_host(
        &self,
        host: HostId,
        limit: u32,
    ) -> Result<Vec<DeadEntry>, StoreError>;

    /// Puts the dead entry `key` of one of `host`'s bookings back in the queue: due at `now`,
    /// no lease, its attempts counted again from zero (the last error is kept until the next
    /// attempt). Answers `false`, changing nothing, when `key` names no dead entry of this
    /// host (unknown, live, delivered, or another host's).
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn retry_dead(
        &self,
        host: HostId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// Shared ports: an `Arc` of a port is the port, so one store can serve many schedulers and
/// the binary can pick an adapter at run time (`Arc<dyn BookingStore>`).
mod shared {
    use std::sync::Arc;

    use super::*;

    #[async_trait]
    impl<T: BookingStore + ?Sized> BookingStore for Arc<T> {
        async fn save_host(&self, host: &Host) -> Result<(), StoreError> {
            (**self).save_host(host).await
        }
        async fn host(&self, id: HostId) -> Result<Option<Host>, StoreError> {
            (**self).host(id).await
        }
        async fn save_link(&self, link: &BookingLink) -> Result<(), SaveLinkError> {
            (**self).save_link(link).await
        }
        async fn link_by_slug(&self, slug: &Slug) -> Result<Option<BookingLink>, StoreError> {
            (**self).link_by_slug(slug).await
        }
        async fn link(&self, id: LinkId) -> Result<Option<BookingLink>, StoreError> {
            (**self).link(id).await
        }
        async fn booking(&self, id: BookingId) -> Result<Option<Booking>, StoreError> {
            (**self).booking(id).await
        }
        async fn booking_by_token(
            &self,
            token: &RescheduleToken,
        ) -> Result<Option<Booking>, StoreError> {
            (**self).booking_by_token(token).await
        }
        async fn booking_by_token_to_show(
            &self,
            token: &RescheduleToken,
        ) -> Result<Option<Booking>, StoreError> {
            (**self).booking_by_token_to_show(token).await
        }
        async fn booking_by_provider_event(
            &self,
            provider: &str,
            event_id: &str,
        ) -> Result<Option<Booking>, StoreError> {
            (**self).booking_by_provider_event(provider, event_id).await
        }
        async fn chain(&self, chain: ChainId) -> Result<Vec<Booking>, StoreError> {
            (**self).chain(chain).await
        }
        async fn blocked_ranges(
            &self,
            host: HostId,
            within: TimeRange,
            except: Option<ChainId>,
        ) -> Result<Vec<TimeRange>, StoreError> {
            (**self).blocked_ranges(host, within, except).await
        }
        async fn dashboard(
            &self,
            host: HostId,
            tab: DashboardTab,
            now: DateTime<Utc>,
            page: Page,
        ) -> Result<DashboardPage, StoreError> {
            (**self).dashboard(host, tab, now, page).await
        }
        async fn reconfirmation_overdue(
            &self,
            now: DateTime<Utc>,
            limit: u32,
        ) -> Result<Vec<Booking>, StoreError> {
            (**self).reconfirmation_overdue(now, limit).await
        }
        async fn dead_effects(&self, booking: BookingId) -> Result<Vec<DeadEntry>, StoreError> {
            (**self).dead_effects(booking).await
        }
        async fn pending_effects(
            &self,
            booking: BookingId,
        ) -> Result<Vec<PendingEntry>, StoreError> {
            (**self).pending_effects(booking).await
        }
        async fn record_reconfirmation_request(
            &self,
            booking: BookingId,
            at: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            (**self).record_reconfirmation_request(booking, at).await
        }
        async fn commit(&self, change: Change) -> Result<(), CommitError> {
            (**self).commit(change).await
        }
    }

    #[async_trait]
    impl<T: Outbox + ?Sized> Outbox for Arc<T> {
        async fn claim_due(
            &self,
            now: DateTime<Utc>,
            lease: chrono::TimeDelta,
            limit: u32,
        ) -> Result<Vec<OutboxEntry>, StoreError> {
            (**self).claim_due(now, lease, limit).await
        }
        async fn mark_delivered(&self, key: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
            (**self).mark_delivered(key, now).await
        }
        async fn mark_all_delivered(
            &self,
            keys: &[String],
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            (**self).mark_all_delivered(keys, now).await
        }
        async fn mark_failed(
            &self,
            key: &str,
            now: DateTime<Utc>,
            error: &str,
            policy: &crate::effects::RetryPolicy,
            jitter: f64,
        ) -> Result<FailureOutcome, StoreError> {
            (**self).mark_failed(key, now, error, policy, jitter).await
        }
        async fn release(&self, key: &str) -> Result<(), StoreError> {
            (**self).release(key).await
        }
        async fn dead_entries(&self, limit: u32) -> Result<Vec<DeadEntry>, StoreError> {
            (**self).dead_entries(limit).await
        }
        async fn backlog(&self, now: DateTime<Utc>) -> Result<OutboxBacklog, StoreError> {
            (**self).backlog(now).await
        }
        async fn dead_entries_of_host(
            &self,
            host: HostId,
            limit: u32,
        ) -> Result<Vec<DeadEntry>, StoreError> {
            (**self).dead_entries_of_host(host, limit).await
        }
        async fn retry_dead(
            &self,
            host: HostId,
            key: &str,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            (**self).retry_dead(host, key, now).await
        }
    }

    impl<T: Clock + ?Sized> Clock for Arc<T> {
        fn now(&self) -> DateTime<Utc> {
            (**self).now()
        }
    }

    impl<T: TokenSource + ?Sized> TokenSource for Arc<T> {
        fn new_token(&self) -> RescheduleToken {
            (**self).new_token()
        }
        fn new_booking_id(&self) -> BookingId {
            (**self).new_booking_id()
        }
    }

    #[async_trait]
    impl<T: BusyCalendar + ?Sized> BusyCalendar for Arc<T> {
        async fn busy(
            &self,
            host: HostId,
            within: TimeRange,
        ) -> Result<Vec<TimeRange>, BusyCalendarError> {
            (**self).busy(host, within).await
        }
    }
}

/// Phone numbers that asked for no more texts (they answered STOP; START lifts it). Kept by
/// the store, so every instance honours an opt-out the moment it is recorded.
#[async_trait]
pub trait TextOptOuts: Send + Sync {
    /// Whether `phone` (E.164) has opted out.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn is_opted_out(&self, phone: &str) -> Result<bool, StoreError>;

    /// Records that `phone` (E.164) opted out (`true`) or back in (`false`) at `at`.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn set_opted_out(
        &self,
        phone: &str,
        opted_out: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

/// Wakes outbox workers when entries were committed, so they need not poll often: a count of
/// wake-ups that only rises. A worker reads [`OutboxWake::seen`] before it claims; finding
/// nothing, it waits with [`OutboxWake::wait_after`], which returns at once if a commit came in
/// between — no wake-up is lost. Stores raise it after their own commits, and where the
/// database can tell (Postgres `LISTEN/NOTIFY`) after other instances' commits too.
#[async_trait]
pub trait OutboxWake: Send + Sync + fmt::Debug {
    /// The wake-ups so far.
    fn seen(&self) -> u64;

    /// Returns once there were more than `seen` wake-ups (at once if there already were).
    async fn wait_after(&self, seen: u64);
}
