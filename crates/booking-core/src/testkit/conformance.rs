//! The store conformance suite: the behaviour every [`BookingStore`] + [`Outbox`] must show,
//! run unchanged against the in-memory store, SQLite and Postgres.
//!
//! Each test is an `async fn` generic over a [`StoreFactory`] that hands out an empty store per
//! call, so the suite needs no particular runtime. The concurrency tests also take a
//! [`Spawner`]: with a real pool they must run on several threads (`tokio::spawn` on a
//! multi-thread runtime); [`Inline`] runs them as interleaved futures. Test binaries generate
//! one `#[test]` per function with [`store_conformance_tests!`](crate::store_conformance_tests).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{FixedBusy, ManualClock, SequentialTokens};
use crate::Scheduler;
use crate::availability::{AvailabilityRules, DayHours, DayPeriod, RulesDraft};
use crate::booking::{Actor, Booking, NewBooking, ProviderEventRef, Status, TokenRefusal, Write};
use crate::effects::{
    CalendarOp, Effect, EmailKind, PlannedEffect, Recipient, RetryPolicy, WebhookEvent,
};
use crate::ids::{BookingId, HostId, LinkId};
use crate::invitee::{Answers, Email, Invitee, PersonName, Phone, Reason, Tracking, UtmParam};
use crate::link::{BookingLink, Host, LinkSettings, ReconfirmationPolicy, Slug};
use crate::ports::{
    BookingStore, Change, CommitError, DashboardTab, DeadEntry, FailureOutcome, Outbox,
    OutboxBacklog, Page, SaveLinkError, StoreHealth, TabCounts,
};
use crate::service::{BookError, BookingRequest, TokenActionError};
use crate::time::{TimeRange, TimeZoneName};
use crate::token::RescheduleToken;

/// Hands out stores for the suite.
pub trait StoreFactory: Sync {
    /// The store under test.
    type Store: BookingStore + Outbox + StoreHealth + Clone + 'static;

    /// A new, empty store (a fresh database file or database per call).
    fn fresh(&self) -> impl Future<Output = Self::Store> + Send;

    /// Called after a test passed: drop what [`StoreFactory::fresh`] created.
    fn finish(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// A boxed task, as handed to a [`Spawner`].
pub type Task<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Runs tasks of a concurrency test, e.g. on a multi-thread runtime.
pub trait Spawner: Sync {
    /// Starts `task` and returns a future of its output.
    fn spawn<T: Send + 'static>(&self, task: Task<T>) -> Task<T>;
}

/// Runs tasks as futures polled together by [`join_all`], on the caller's task.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inline;

impl Spawner for Inline {
    fn spawn<T: Send + 'static>(&self, task: Task<T>) -> Task<T> {
        task
    }
}

/// Polls every future until all are done; outputs in input order.
pub async fn join_all<T>(tasks: Vec<Task<T>>) -> Vec<T> {
    let outputs = tasks.iter().map(|_| None).collect();
    JoinAll {
        tasks: tasks.into_iter().map(Some).collect(),
        outputs,
    }
    .await
}

struct JoinAll<T> {
    tasks: Vec<Option<Task<T>>>,
    outputs: Vec<Option<T>>,
}

// Outputs are only ever moved, never pinned, so the combinator may move freely.
impl<T> Unpin for JoinAll<T> {}

impl<T> Future for JoinAll<T> {
    type Output = Vec<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T>> {
        let this = self.get_mut();
        for (slot, output) in this.tasks.iter_mut().zip(this.outputs.iter_mut()) {
            if let Some(task) = slot
                && let Poll::Ready(value) = task.as_mut().poll(cx)
            {
                *output = Some(value);
                *slot = None;
            }
        }
        if this.tasks.iter().any(Option::is_some) {
            return Poll::Pending;
        }
        Poll::Ready(this.outputs.iter_mut().filter_map(Option::take).collect())
    }
}

/// Generates one test per conformance function, e.g.
/// `store_conformance_tests!(#[tokio::test(flavor = "multi_thread")] factory: MyFactory::new(), spawner: TokioSpawner);`
/// (`factory` is evaluated once per test).
#[macro_export]
macro_rules! store_conformance_tests {
    (#[$test:meta] factory: $factory:expr, spawner: $spawner:expr $(,)?) => {
        $crate::store_conformance_tests!(@plain #[$test] $factory;
            host_round_trip, link_round_trip, slug_taken, unknown_host, booking_round_trip,
            dead_tokens_are_found, version_conflict, slot_taken_on_overlap, dashboard_tabs_and_counts,
            reconfirmation_overdue, reconfirmation_requests_are_recorded_once, pending_effects_of_a_booking,
            provider_event_follows_reschedule, blocked_ranges_leave_out_the_moving_chain,
            commit_puts_effects_due, claims_are_leases, delivered_entries_never_return,
            failures_back_off_then_die, release_gives_the_lease_back, failed_commits_leave_nothing,
            free_texts_round_trip_and_control_characters_never_arrive, dead_effects_of_a_booking,
            dead_entries_of_a_host_and_their_retry,
            times_beyond_the_horizon_are_refused, backlog_counts_due_scheduled_and_dead,
            a_fresh_store_has_its_whole_schema, link_workflows_round_trip,
            timed_effects_wait_for_their_moment);
        $crate::store_conformance_tests!(@spawn #[$test] $factory, $spawner;
            concurrent_reschedules_one_wins, concurrent_bookings_one_wins, concurrent_cancels_agree);
    };
    (@plain #[$test:meta] $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[$test]
            async fn $name() {
                let factory = $factory;
                $crate::testkit::conformance::$name(&factory).await;
                $crate::testkit::conformance::StoreFactory::finish(&factory).await;
            }
        )*
    };
    (@spawn #[$test:meta] $factory:expr, $spawner:expr; $($name:ident),* $(,)?) => {
        $(
            #[$test]
            async fn $name() {
                let factory = $factory;
                $crate::testkit::conformance::$name(&factory, &$spawner).await;
                $crate::testkit::conformance::StoreFactory::finish(&factory).await;
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// `"2027-03-01T09:00"` (a Monday) as UTC.
fn t(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .and_utc()
}

type TestScheduler<S> = Scheduler<S, ManualClock, SequentialTokens, FixedBusy>;

struct World<S> {
    store: S,
    clock: ManualClock,
    tokens: SequentialTokens,
    scheduler: TestScheduler<S>,
    host: Host,
    link: BookingLink,
}

fn host(n: u128, name: &str) -> Host {
    Host::new(
        HostId::from_uuid(Uuid::from_u128(0x4000 + n)),
        PersonName::parse(name).expect("name"),
        Email::parse(&format!(
            "{}@example.com",
            name.to_lowercase().replace(' ', ".")
        ))
        .expect("email"),
        TimeZoneName::parse("Europe/Berlin").expect("zone"),
    )
}

/// The questions every fixture link asks, answered by [`request`].
fn asked() -> Vec<String> {
    vec!["What about?".to_owned(), "Company".to_owned()]
}

/// Weekdays 09:00–17:00 UTC, 30-minute slots, no buffers.
fn plain_link(n: u128, host: HostId, slug: &str) -> BookingLink {
    let rules = RulesDraft::weekdays(
        TimeZoneName::parse("UTC").expect("zone"),
        DayPeriod::parse("09:00-17:00").expect("period"),
        TimeDelta::minutes(30),
    );
    let settings = LinkSettings {
        title: "Intro call".to_owned(),
        rules: AvailabilityRules::new(rules).expect("rules"),
        reconfirmation: None,
        create_deal: false,
        questions: asked(),
    };
    BookingLink::new(
        LinkId::from_uuid(Uuid::from_u128(0x1000 + n)),
        host,
        Slug::parse(slug).expect("slug"),
        settings,
    )
    .expect("link")
}

/// Every setting away from its default: buffers, notice, horizon, overrides, reconfirmation,
/// a deal, questions.
fn rich_link(n: u128, host: HostId, slug: &str) -> BookingLink {
    let mut rules = RulesDraft::weekdays(
        TimeZoneName::parse("America/New_York").expect("zone"),
        DayPeriod::parse("09:00-17:00").expect("period"),
        TimeDelta::minutes(45),
    );
    rules.interval = TimeDelta::minutes(15);
    rules.buffer_before = TimeDelta::minutes(10);
    rules.buffer_after = TimeDelta::minutes(5);
    rules.minimum_notice = TimeDelta::hours(4);
    rules.max_days_ahead = Some(30);
    rules.overrides.insert(
        NaiveDate::from_ymd_opt(2027, 3, 3).expect("date"),
        DayHours::closed(),
    );
    rules.overrides.insert(
        NaiveDate::from_ymd_opt(2027, 3, 6).expect("date"),
        DayHours::new(vec![
            DayPeriod::parse("10:00-12:00").expect("period"),
            DayPeriod::parse("13:30-15:00").expect("period"),
        ])
        .expect("hours"),
    );
    let settings = LinkSettings {
        title: "Deep dive".to_owned(),
        rules: AvailabilityRules::new(rules).expect("rules"),
        reconfirmation: Some(
            ReconfirmationPolicy::new(TimeDelta::hours(48), TimeDelta::hours(24)).expect("policy"),
        ),
        create_deal: true,
        questions: vec!["What about?".to_owned(), "Company".to_owned()],
    };
    BookingLink::new(
        LinkId::from_uuid(Uuid::from_u128(0x1000 + n)),
        host,
        Slug::parse(slug).expect("slug"),
        settings,
    )
    .expect("link")
}

/// Weekdays 09:00–17:00 UTC, 30-minute slots with 15 minutes of buffer on both sides.
fn buffered_link(n: u128, host: HostId, slug: &str) -> BookingLink {
    let mut rules = RulesDraft::weekdays(
        TimeZoneName::parse("UTC").expect("zone"),
        DayPeriod::parse("09:00-17:00").expect("period"),
        TimeDelta::minutes(30),
    );
    rules.buffer_before = TimeDelta::minutes(15);
    rules.buffer_after = TimeDelta::minutes(15);
    let settings = LinkSettings {
        title: "Buffered".to_owned(),
        rules: AvailabilityRules::new(rules).expect("rules"),
        reconfirmation: None,
        create_deal: false,
        questions: asked(),
    };
    BookingLink::new(
        LinkId::from_uuid(Uuid::from_u128(0x1000 + n)),
        host,
        Slug::parse(slug).expect("slug"),
        settings,
    )
    .expect("link")
}

/// Weekdays 09:00–17:00 UTC, hourly, reconfirm: ask 48 h before, cancel 24 h before.
fn reconfirm_link(n: u128, host: HostId, slug: &str) -> BookingLink {
    let rules = RulesDraft::weekdays(
        TimeZoneName::parse("UTC").expect("zone"),
        DayPeriod::parse("09:00-17:00").expect("period"),
        TimeDelta::minutes(60),
    );
    let settings = LinkSettings {
        title: "Checked".to_owned(),
        rules: AvailabilityRules::new(rules).expect("rules"),
        reconfirmation: Some(
            ReconfirmationPolicy::new(TimeDelta::hours(48), TimeDelta::hours(24)).expect("policy"),
        ),
        create_deal: false,
        questions: asked(),
    };
    BookingLink::new(
        LinkId::from_uuid(Uuid::from_u128(0x1000 + n)),
        host,
        Slug::parse(slug).expect("slug"),
        settings,
    )
    .expect("link")
}

fn invitee(name: &str) -> Invitee {
    Invitee::new(
        PersonName::parse(name).expect("name"),
        Email::parse(&format!(
            "{}@example.org",
            name.to_lowercase().replace(' ', ".")
        ))
        .expect("email"),
        Some(Phone::parse("+49 (30) 123-4567").expect("phone")),
        TimeZoneName::parse("Asia/Tokyo").expect("zone"),
    )
}

fn request(start: &str, name: &str) -> BookingRequest {
    BookingRequest {
        start: t(start),
        invitee: invitee(name),
        answers: Answers::new(vec![
            (
                "What about?".to_owned(),
                "Pricing, \"quoted\" & ünïcode".to_owned(),
            ),
            ("Company".to_owned(), "Example GmbH".to_owned()),
        ])
        .expect("answers"),
        tracking: Tracking::from_pairs([("utm_source", "newsletter"), ("utm_campaign", "spring")]),
    }
}

/// A fresh store with one host and the plain link `intro`, the clock at Monday 07:00.
async fn world<F: StoreFactory>(factory: &F) -> World<F::Store> {
    let store = factory.fresh().await;
    let clock = ManualClock::at(t("2027-03-01T07:00"));
    let tokens = SequentialTokens::new();
    let scheduler = Scheduler::new(
        store.clone(),
        clock.clone(),
        tokens.clone(),
        FixedBusy::default(),
    );
    let host = host(1, "Hanna Host");
    store.save_host(&host).await.expect("save host");
    let link = plain_link(1, host.id(), "intro");
    store.save_link(&link).await.expect("save link");
    World {
        store,
        clock,
        tokens,
        scheduler,
        host,
        link,
    }
}

impl<S: BookingStore + Outbox + Clone + 'static> World<S> {
    async fn book(&self, slug: &str, start: &str, name: &str) -> Booking {
        self.scheduler
            .book(&Slug::parse(slug).expect("slug"), request(start, name))
            .await
            .unwrap_or_else(|e| panic!("booking {start} on {slug}: {e:?}"))
    }

    async fn save(&self, link: &BookingLink) {
        self.store.save_link(link).await.expect("save link");
    }

    /// Every entry due by `at`, leased for a minute.
    async fn claim_all(&self, at: DateTime<Utc>) -> Vec<crate::ports::OutboxEntry> {
        self.store
            .claim_due(at, TimeDelta::minutes(1), 1000)
            .await
            .expect("claim")
    }

    /// A confirmed row of `link` on `slot`, built by hand (not through availability).
    fn hand_made(&self, link: &BookingLink, slot: TimeRange, blocked: TimeRange) -> Booking {
        Booking::confirmed(NewBooking {
            id: crate::ports::TokenSource::new_booking_id(&self.tokens),
            host: link.host(),
            link: link.id(),
            slot,
            blocked,
            token: crate::ports::TokenSource::new_token(&self.tokens),
            invitee: invitee("Hand Made"),
            answers: Answers::default(),
            tracking: Tracking::default(),
            reconfirm_by: None,
            created_at: self.clock_now(),
        })
        .result
    }

    fn clock_now(&self) -> DateTime<Utc> {
        crate::ports::Clock::now(&self.clock)
    }
}

fn range(from: &str, to: &str) -> TimeRange {
    TimeRange::new(t(from), t(to)).expect("range")
}

fn insert(b: &Booking) -> Change {
    Change {
        writes: vec![Write::Insert(b.clone())],
        effects: Vec::new(),
    }
}

fn keys(entries: &[crate::ports::OutboxEntry]) -> Vec<String> {
    let mut k: Vec<String> = entries.iter().map(|e| e.key.clone()).collect();
    k.sort();
    k
}

// ---------------------------------------------------------------------------------------------
// Hosts and links

/// A host reads back as saved; saving again replaces it; an unknown id is `None`.
pub async fn host_round_trip<F: StoreFactory>(factory: &F) {
    let store = factory.fresh().await;
    let h = host(7, "Ada Lovelace");
    store.save_host(&h).await.expect("save");
    assert_eq!(store.host(h.id()).await.expect("load"), Some(h.clone()));
    let renamed = Host::new(
        h.id(),
        PersonName::parse("Ada King").expect("name"),
        Email::parse("ada@example.net").expect("email"),
        TimeZoneName::parse("Europe/London").expect("zone"),
    );
    store.save_host(&renamed).await.expect("save again");
    assert_eq!(store.host(h.id()).await.expect("load"), Some(renamed));
    assert_eq!(
        store
            .host(HostId::from_uuid(Uuid::from_u128(99)))
            .await
            .expect("load"),
        None
    );
}

/// A link with every setting (overrides, buffers, reconfirmation, questions, deal) reads back
/// equal by slug and by id; saving again replaces it, also under a new slug.
pub async fn link_round_trip<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    let rich = rich_link(2, w.host.id(), "deep-dive");
    w.save(&rich).await;
    assert_eq!(
        w.store.link_by_slug(rich.slug()).await.expect("by slug"),
        Some(rich.clone())
    );
    assert_eq!(
        w.store.link(rich.id()).await.expect("by id"),
        Some(rich.clone())
    );
    assert_eq!(
        w.store
            .link(LinkId::from_uuid(Uuid::from_u128(5)))
            .await
            .expect("unknown"),
        None
    );
    assert_eq!(
        w.store
            .link_by_slug(&Slug::parse("nope").expect("slug"))
            .await
            .expect("unknown"),
        None
    );
    let renamed = plain_link(2, w.host.id(), "deep-dive-2");
    w.save(&renamed).await;
    assert_eq!(
        w.store.link(rich.id()).await.expect("by id"),
        Some(renamed.clone())
    );
    assert_eq!(
        w.store.link_by_slug(rich.slug()).await.expect("old slug"),
        None
    );
    assert_eq!(
        w.store
            .link_by_slug(renamed.slug())
            .await
            .expect("new slug"),
        Some(renamed)
    );
}

/// A link's own workflow (steps with the host's wording, reconfirmation channels) reads back
/// equal; saving the link without one goes back to the standard workflow.
pub async fn link_workflows_round_trip<F: StoreFactory>(factory: &F) {
    use crate::workflows::{Action, Template, Trigger, Workflow, preset};
    let w = world(factory).await;
    let (trigger, action, wording) = preset("no_show_follow_up").expect("preset");
    let workflow = Workflow::new(
        vec![
            (Trigger::BeforeStart(90), Action::TextAttendee, None),
            (
                Trigger::Booked,
                Action::EmailHost,
                Some(
                    Template::mail(
                        "New: {attendee_name} «{title}»",
                        "Line one\n\n<b>{start}</b> & ünïcödé 🙂\t{reschedule_url}",
                    )
                    .expect("mail"),
                ),
            ),
            (
                Trigger::AfterEnd(30),
                Action::TextAttendee,
                Some(Template::text("Thanks! {book_again_url}").expect("text")),
            ),
            (Trigger::NotReconfirmed, Action::Webhook, None),
            (trigger, action, Some(wording)),
        ],
        false,
        true,
    )
    .expect("workflow");
    let link = reconfirm_link(7, w.host.id(), "with-steps").with_workflow(Some(workflow));
    w.save(&link).await;
    let by_slug = w.store.link_by_slug(link.slug()).await.expect("by slug");
    assert_eq!(by_slug, Some(link.clone()));
    assert_eq!(
        w.store.link(link.id()).await.expect("by id"),
        Some(link.clone())
    );
    let standard = link.clone().with_workflow(None);
    w.save(&standard).await;
    let back = w
        .store
        .link(link.id())
        .await
        .expect("by id")
        .expect("saved");
    assert_eq!(back.workflow(), None);
    assert_eq!(back.effective_workflow(), Workflow::standard());
}

/// Reminders and reconfirmation requests are committed with the booking and handed out only
/// once their moment has come, the text beside the mail.
pub async fn timed_effects_wait_for_their_moment<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    let link = reconfirm_link(8, w.host.id(), "timed");
    w.save(&link).await;
    let booked = w.book("timed", "2027-03-08T10:00", "Ada").await;
    let start = booked.slot().start();
    let lease = TimeDelta::minutes(1);
    let now_due = w
        .store
        .claim_due(w.clock_now(), lease, 100)
        .await
        .expect("claim");
    for entry in &now_due {
        let code = entry.effect.code();
        assert!(
            !code.contains("Reminder") && !code.contains("Reconfirmation"),
            "{code}"
        );
        w.store
            .mark_delivered(&entry.key, w.clock_now())
            .await
            .expect("delivered");
    }
    let ask = start - TimeDelta::hours(48);
    let remind = start - TimeDelta::hours(24);
    assert_eq!(
        deliver_due(&w.store, ask - TimeDelta::seconds(1)).await,
        Vec::<(String, String, DateTime<Utc>)>::new(),
        "nothing before the ask moment"
    );
    let id = booked.id();
    assert_eq!(
        deliver_due(&w.store, ask).await,
        [
            (
                "email/ReconfirmationRequest/Attendee".to_owned(),
                format!("{id}:email:ReconfirmationRequest:Attendee"),
                ask
            ),
            (
                "text/ReconfirmationRequest".to_owned(),
                format!("{id}:text:ReconfirmationRequest"),
                ask
            )
        ]
    );
    assert_eq!(
        deliver_due(&w.store, remind).await,
        [
            (
                "email/Reminder/Attendee".to_owned(),
                format!("{id}:email:Reminder:Attendee"),
                remind
            ),
            (
                "text/Reminder".to_owned(),
                format!("{id}:text:Reminder"),
                remind
            )
        ]
    );
    assert_eq!(deliver_due(&w.store, start).await, []);
}

/// Claims every entry due at `at`, marks it delivered, and returns code, key and due time,
/// sorted.
async fn deliver_due<S: Outbox>(
    store: &S,
    at: DateTime<Utc>,
) -> Vec<(String, String, DateTime<Utc>)> {
    let mut done = Vec::new();
    for entry in store
        .claim_due(at, TimeDelta::minutes(1), 100)
        .await
        .expect("claim")
    {
        store
            .mark_delivered(&entry.key, at)
            .await
            .expect("delivered");
        done.push((entry.effect.code(), entry.key, entry.due_at));
    }
    done.sort();
    done
}

/// Another link cannot take a slug in use; the link itself may be saved again.
pub async fn slug_taken<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    let copy = plain_link(3, w.host.id(), "intro");
    assert!(matches!(
        w.store.save_link(&copy).await,
        Err(SaveLinkError::SlugTaken)
    ));
    w.save(&w.link).await;
    assert_eq!(w.store.link(copy.id()).await.expect("load"), None);
    assert_eq!(
        w.store.link_by_slug(w.link.slug()).await.expect("load"),
        Some(w.link.clone())
    );
}

/// A link of a host that does not exist is refused.
pub async fn unknown_host<F: StoreFactory>(factory: &F) {
    let store = factory.fresh().await;
    let link = plain_link(1, HostId::from_uuid(Uuid::from_u128(12345)), "orphan");
    assert!(matches!(
        store.save_link(&link).await,
        Err(SaveLinkError::UnknownHost)
    ));
    assert_eq!(store.link(link.id()).await.expect("load"), None);
}

// ---------------------------------------------------------------------------------------------
// Bookings

/// A booking made through the scheduler reads back equal by id, by token and by chain, with
/// every field (invitee, answers, tracking, reconfirmation, deal effect).
pub async fn booking_round_trip<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    let b = w.book("intro", "2027-03-01T09:00", "Ann Example").await;
    assert_eq!(
        w.store.booking(b.id()).await.expect("by id"),
        Some(b.clone())
    );
    assert_eq!(
        w.store.booking_by_token(b.token()).await.expect("by token"),
        Some(b.clone())
    );
    assert_eq!(
        w.store.chain(b.chain()).await.expect("chain"),
        vec![b.clone()]
    );
    assert_eq!(b.answers().pairs().len(), 2);
    assert_eq!(b.tracking().get(UtmParam::Campaign), Some("spring"));
    assert_eq!(
        w.store
            .booking(BookingId::from_uuid(Uuid::from_u128(1)))
            .await
            .expect("unknown"),
        None
    );
    assert_eq!(
        w.store
            .chain(crate::ids::ChainId::from_uuid(Uuid::from_u128(1)))
            .await
            .expect("unknown"),
        vec![]
    );

    let rich = rich_link(2, w.host.id(), "deep-dive");
    w.save(&rich).await;
    let r = w.book("deep-dive", "2027-03-04T15:00", "Bo Rich").await;
    assert!(r.reconfirm_by().is_some());
    assert_eq!(
        r.blocked(),
        r.slot()
            .padded(TimeDelta::minutes(10), TimeDelta::minutes(5))
    );
    assert_eq!(
        w.store.booking(r.id()).await.expect("by id"),
        Some(r.clone())
    );
    let deal = Effect::CreateDeal {
        chain: r.chain(),
        booking: r.id(),
    };
    let entries = w.claim_all(t("2027-03-10T00:00")).await;
    assert!(
        entries
            .iter()
            .any(|e| e.effect == deal && e.key == deal.idempotency_key()),
        "deal queued"
    );
    let ask = Effect::Email {
        kind: EmailKind::ReconfirmationRequest,
        to: Recipient::Attendee,
        booking: r.id(),
    };
    let ask = entries
        .iter()
        .find(|e| e.effect == ask)
        .expect("reconfirmation request queued");
    assert_eq!(ask.due_at, r.slot().start() - TimeDelta::hours(48));
}

/// Dead tokens are still found (to say why they no longer work); unknown ones are not.
pub async fn dead_tokens_are_found<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    let b = w.book("intro", "2027-03-01T09:00", "Ann Example").await;
    let moved = w
        .scheduler
        .reschedule(b.token().expose(), t("2027-03-01T11:00"), None)
        .await
        .expect("reschedule");
    let old = w
        .store
        .booking_by_token(b.token())
        .await
        .expect("old token")
        .expect("old row");
    assert_eq!(old.id(), b.id());
    assert_eq!(old.next(), Some(moved.id()));
    let again = w
        .scheduler
        .reschedule(b.token().expose(), t("2027-03-01T12:00"), None)
        .await;
    assert!(
        matches!(
            again,
            Err(TokenActionError::Refused(TokenRefusal::AlreadyRescheduled))
        ),
        "{again:?}"
    );
    w.scheduler
        .cancel(moved.token().expose(), None)
        .await
        .expect("cancel");
    let cancelled = w
        .store
        .booking_by_token(moved.token())
        .await
        .expect("new token")
        .expect("new row");
    assert!(matches!(cancelled.status(), Status::Cancelled(_)));
    let unknown = RescheduleToken::from_bytes([0xee; 16]);
    assert_eq!(
        w.store.booking_by_token(&unknown).await.expect("unknown"),
        None
    );
    assert_eq!(
        w.store
            .chain(b.chain())
            .await
            .expect("chain")
            .iter()
            .map(Booking::id)
            .collect::<Vec<_>>(),
        vec![b.id(), moved.id()]
    );
}

/// An update against a stale version is refused, and nothing of that change is written.
pub async fn version_conflict<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    let b = w.book("intro", "2027-03-01T09:00", "Ann Example").await;
    let now = w.clock_now();
    let reason = Reason::parse_optional(Some("Double-booked myself")).expect("reason");
    let cancel = b.cancel_by_attendee(now, reason).expect("cancel");
    w.store
        .commit(Change {
            writes: cancel.writes.clone(),
            effects: cancel.effects.clone(),
        })
        .await
        .expect("first");
    let stale = b.reconfirm(now).expect("reconfirm");
    let result = w
        .store
        .commit(Change {
            writes: stale.writes,
            effects: stale.effects,
        })
        .await;
    assert!(
        matches!(result, Err(CommitError::VersionConflict(id)) if id == b.id()),
        "{result:?}"
    );
    let stored = w.store.booking(b.id()).await.expect("load").expect("row");
    assert_eq!(stored, cancel.result);
    assert_eq!(
        stored
            .cancellation()
            .and_then(|c| c.reason.as_ref())
            .map(Reason::as_str),
        Some("Double-booked myself")
    );
    assert_eq!(stored.version(), 2);
}

/// Confirmed rows of one host may not overlap, buffers included; touching ranges, other
/// hosts and cancelled rows do not clash.
pub async fn slot_taken_on_overlap<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    let buffered = buffered_link(2, w.host.id(), "buffered");
    w.save(&buffered).await;
    let b = w.book("buffered", "2027-03-01T10:00", "Ann Example").await;
    assert_eq!(b.blocked(), range("2027-03-01T09:45", "2027-03-01T10:45"));

    // Meeting times apart, but the buffers overlap.
    let near = w.hand_made(
        &buffered,
        range("2027-03-01T10:50", "2027-03-01T11:20"),
        range("2027-03-01T10:35", "2027-03-01T11:35"),
    );
    assert!(matches!(
        w.store.commit(insert(&near)).await,
        Err(CommitError::SlotTaken)
    ));
    assert_eq!(w.store.booking(near.id()).await.expect("load"), None);
    // Exactly the same range.
    let same = w.hand_made(&buffered, b.slot(), b.blocked());
    assert!(matches!(
        w.store.commit(insert(&same)).await,
        Err(CommitError::SlotTaken)
    ));
    // Through the scheduler the slot is not even offered.
    let again = w
        .scheduler
        .book(buffered.slug(), request("2027-03-01T10:00", "Late Comer"))
        .await;
    assert!(
        matches!(again, Err(BookError::SlotUnavailable)),
        "{again:?}"
    );

    // Touching on either side is fine.
    let after = w.hand_made(
        &buffered,
        range("2027-03-01T11:00", "2027-03-01T11:30"),
        range("2027-03-01T10:45", "2027-03-01T11:45"),
    );
    w.store
        .commit(insert(&after))
        .await
        .expect("touching after");
    let before = w.hand_made(
        &buffered,
        range("2027-03-01T09:00", "2027-03-01T09:30"),
        range("2027-03-01T08:45", "2027-03-01T09:45"),
    );
    w.store
        .commit(insert(&before))
        .await
        .expect("touching before");

    // Another host's calendar is separate.
    let other = host(2, "Otto Other");
    w.store.save_host(&other).await.expect("host");
    let other_link = buffered_link(3, other.id(), "other");
    w.save(&other_link).await;
    let elsewhere = w.hand_made(&other_link, b.slot(), b.blocked());
    w.store
        .commit(insert(&elsewhere))
        .await
        .expect("other host");

    // A cancelled row no longer blocks.
    w.scheduler
        .cancel(b.token().expose(), None)
        .await
        .expect("cancel");
    let replacement = w.hand_made(&buffered, b.slot(), b.blocked());
    w.store
        .commit(insert(&replacement))
        .await
        .expect("after cancel");
    let mut blocked = w
        .store
        .blocked_ranges(
            w.host.id(),
            range("2027-03-01T00:00", "2027-03-02T00:00"),
            None,
        )
        .await
        .expect("ranges");
    blocked.sort();
    assert_eq!(
        blocked,
        vec![before.blocked(), replacement.blocked(), after.blocked()]
    );
}

/// Tabs hold the right rows in the right order, counts cover all tabs, paging works, and
/// rescheduled rows appear nowhere.
pub async fn dashboard_tabs_and_counts<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    let a = w.book("intro", "2027-03-01T09:00", "Ann A").await;
    let b = w.book("intro", "2027-03-01T10:00", "Ben B").await;
    let c = w.book("intro", "2027-03-01T11:00", "Cid C").await;
    let d = w.book("intro", "2027-03-01T12:00", "Dee D").await;
    let e = w.book("intro", "2027-03-02T09:00", "Eve E").await;
    let f = w.book("intro", "2027-03-03T09:00", "Fay F").await;
    // Another host's booking never shows.
    let other = host(2, "Otto Other");
    w.store.save_host(&other).await.expect("host");
    w.save(&plain_link(2, other.id(), "other")).await;
    w.book("other", "2027-03-01T09:00", "Zed Z").await;

    let a2 = w
        .scheduler
        .reschedule(a.token().expose(), t("2027-03-04T09:00"), None)
        .await
        .expect("move a");
    w.clock.set(t("2027-03-01T07:30"));
    w.scheduler
        .cancel(b.token().expose(), None)
        .await
        .expect("cancel b");
    w.clock.set(t("2027-03-01T07:40"));
    w.scheduler
        .cancel(f.token().expose(), None)
        .await
        .expect("cancel f");
    w.clock.set(t("2027-03-01T12:10"));
    w.scheduler
        .mark_no_show(w.host.id(), d.id())
        .await
        .expect("no-show d");

    let now = w.clock_now();
    let all = Page {
        offset: 0,
        limit: 100,
    };
    let ids = |rows: &[Booking]| rows.iter().map(Booking::id).collect::<Vec<_>>();
    let up = w
        .store
        .dashboard(w.host.id(), DashboardTab::Upcoming, now, all)
        .await
        .expect("upcoming");
    assert_eq!(
        up.counts,
        TabCounts {
            upcoming: 2,
            past: 1,
            no_shows: 1,
            cancelled: 2
        }
    );
    assert_eq!(ids(&up.rows), vec![e.id(), a2.id()]);
    let past = w
        .store
        .dashboard(w.host.id(), DashboardTab::Past, now, all)
        .await
        .expect("past");
    assert_eq!(ids(&past.rows), vec![c.id()]);
    assert_eq!(past.counts, up.counts);
    let no_shows = w
        .store
        .dashboard(w.host.id(), DashboardTab::NoShows, now, all)
        .await
        .expect("no-shows");
    assert_eq!(ids(&no_shows.rows), vec![d.id()]);
    let cancelled = w
        .store
        .dashboard(w.host.id(), DashboardTab::Cancelled, now, all)
        .await
        .expect("cancelled");
    // Most recently cancelled first.
    assert_eq!(ids(&cancelled.rows), vec![f.id(), b.id()]);

    let second = w
        .store
        .dashboard(
            w.host.id(),
            DashboardTab::Upcoming,
            now,
            Page {
                offset: 1,
                limit: 1,
            },
        )
        .await
        .expect("page");
    assert_eq!(ids(&second.rows), vec![a2.id()]);
    let beyond = w
        .store
        .dashboard(
            w.host.id(),
            DashboardTab::Upcoming,
            now,
            Page {
                offset: 2,
                limit: 10,
            },
        )
        .await
        .expect("page");
    assert!(beyond.rows.is_empty());
    assert_eq!(beyond.counts, up.counts);
    let empty = w
        .store
        .dashboard(
            HostId::from_uuid(Uuid::from_u128(77)),
            DashboardTab::Upcoming,
            now,
            all,
        )
        .await
        .expect("nobody");
    assert_eq!(empty.counts, TabCounts::default());

    // The boundary: a meeting starting exactly now is past.
    let at_e = w
        .store
        .dashboard(w.host.id(), DashboardTab::Past, e.slot().start(), all)
        .await
        .expect("at start");
    assert!(ids(&at_e.rows).contains(&e.id()));
}

/// Confirmed, unreconfirmed rows asked before their deadline, past it and not started are
/// overdue; reconfirmed, started, cancelled, not-yet-due ones are not, and neither are rows
/// never asked or asked only at their deadline; `limit` holds.
pub async fn reconfirmation_overdue<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    w.save(&reconfirm_link(2, w.host.id(), "checked")).await;
    let a = w.book("checked", "2027-03-04T09:00", "Ann A").await;
    let b = w.book("checked", "2027-03-04T10:00", "Ben B").await;
    let c = w.book("checked", "2027-03-04T11:00", "Cid C").await;
    let d = w.book("checked", "2027-03-04T12:00", "Dee D").await;
    let never_asked = w.book("checked", "2027-03-04T13:00", "Eve E").await;
    let asked_late = w.book("checked", "2027-03-04T14:00", "Fay F").await;
    let _plain = w.book("intro", "2027-03-02T09:00", "No Policy").await;
    assert_eq!(a.reconfirm_by(), Some(t("2027-03-03T09:00")));
    for row in [&a, &b, &c, &d] {
        w.store
            .record_reconfirmation_request(row.id(), t("2027-03-02T09:00"))
            .await
            .expect("record");
    }
    w.store
        .record_reconfirmation_request(asked_late.id(), t("2027-03-03T14:00"))
        .await
        .expect("record at the deadline");
    assert!(never_asked.reconfirm_by().is_some());
    w.scheduler
        .reconfirm(b.token().expose())
        .await
        .expect("reconfirm b");
    w.scheduler
        .cancel(c.token().expose(), None)
        .await
        .expect("cancel c");

    let ids = |rows: Vec<Booking>| {
        let mut ids: Vec<BookingId> = rows.iter().map(Booking::id).collect();
        ids.sort();
        ids
    };
    assert!(
        w.store
            .reconfirmation_overdue(t("2027-03-03T08:59"), 10)
            .await
            .expect("early")
            .is_empty()
    );
    assert_eq!(
        ids(w
            .store
            .reconfirmation_overdue(t("2027-03-03T09:00"), 10)
            .await
            .expect("at deadline")),
        vec![a.id()]
    );
    let mut both = vec![a.id(), d.id()];
    both.sort();
    assert_eq!(
        ids(w
            .store
            .reconfirmation_overdue(t("2027-03-03T12:00"), 10)
            .await
            .expect("later")),
        both
    );
    assert_eq!(
        w.store
            .reconfirmation_overdue(t("2027-03-03T12:00"), 1)
            .await
            .expect("limited")
            .len(),
        1
    );
    // Started meetings are no longer overdue; unasked and late-asked rows never are.
    assert_eq!(
        ids(w
            .store
            .reconfirmation_overdue(t("2027-03-04T09:00"), 10)
            .await
            .expect("a started")),
        vec![d.id()]
    );
}

/// The delivery of a reconfirmation request is recorded once (the first time counts), raises
/// the version, survives later transitions, and is not carried to the row a move creates.
pub async fn reconfirmation_requests_are_recorded_once<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    w.save(&reconfirm_link(2, w.host.id(), "checked")).await;
    let a = w.book("checked", "2027-03-04T09:00", "Ann A").await;
    let b = w.book("checked", "2027-03-04T10:00", "Ben B").await;
    assert_eq!(a.reconfirm_requested_at(), None);
    let store = &w.store;
    let load = |id| async move { store.booking(id).await.expect("load").expect("row") };
    let first = t("2027-03-02T09:00");
    w.store
        .record_reconfirmation_request(a.id(), first)
        .await
        .expect("record");
    let asked = load(a.id()).await;
    assert_eq!(asked.reconfirm_requested_at(), Some(first));
    assert_eq!(asked.version(), a.version() + 1);
    w.store
        .record_reconfirmation_request(a.id(), t("2027-03-02T09:05"))
        .await
        .expect("again");
    assert_eq!(
        load(a.id()).await,
        asked,
        "a repeated delivery changes nothing"
    );
    w.store
        .record_reconfirmation_request(BookingId::from_uuid(Uuid::from_u128(0xdead)), first)
        .await
        .expect("unknown row");

    // A transition worked out on the row before the record loses its version check.
    let stale = b.reconfirm(t("2027-03-02T10:00")).expect("reconfirm");
    w.store
        .record_reconfirmation_request(b.id(), first)
        .await
        .expect("record b");
    assert!(matches!(
        w.store
            .commit(Change {
                writes: stale.writes,
                effects: stale.effects
            })
            .await,
        Err(CommitError::VersionConflict(_))
    ));

    // A click keeps the record; a move starts the new row unasked.
    w.clock.set(t("2027-03-02T10:00"));
    let yes = w
        .scheduler
        .reconfirm(a.token().expose())
        .await
        .expect("reconfirm");
    assert_eq!(yes.reconfirm_requested_at(), Some(first));
    assert_eq!(load(a.id()).await.reconfirm_requested_at(), Some(first));
    let moved = w
        .scheduler
        .reschedule(b.token().expose(), t("2027-03-05T10:00"), None)
        .await
        .expect("move");
    assert_eq!(load(moved.id()).await.reconfirm_requested_at(), None);
    assert_eq!(load(b.id()).await.reconfirm_requested_at(), Some(first));
}

/// A booking's entries still to be delivered, soonest first, with attempts, last error and
/// lease; delivered and dead entries and other bookings' entries are not among them.
pub async fn pending_effects_of_a_booking<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    w.save(&reconfirm_link(2, w.host.id(), "checked")).await;
    let ann = w.book("checked", "2027-03-04T09:00", "Ann A").await;
    let ben = w.book("checked", "2027-03-04T10:00", "Ben B").await;
    let now = w.clock_now();
    let codes = |list: &[crate::ports::PendingEntry]| -> Vec<String> {
        list.iter().map(|p| p.code.clone()).collect()
    };
    let pending = w.store.pending_effects(ann.id()).await.expect("pending");
    // The booking's four, then the reconfirmation request (mail and text) two days before
    // and the standard reminder (mail and text) one day before.
    assert_eq!(pending.len(), 8, "{pending:?}");
    let request = &pending[4];
    assert_eq!(request.code, "email/ReconfirmationRequest/Attendee");
    assert_eq!(request.due_at, t("2027-03-02T09:00"));
    assert_eq!(request.booking, ann.id());
    assert_eq!(
        (
            request.attempts,
            request.last_error.as_deref(),
            request.leased_until
        ),
        (0, None, None)
    );
    assert!(pending[..4].iter().all(|p| p.due_at == now));

    w.claim_all(now).await;
    let key = |e: Effect| e.idempotency_key();
    let mail = Effect::Email {
        kind: EmailKind::Booked,
        to: Recipient::Attendee,
        booking: ann.id(),
    };
    let host_mail = Effect::Email {
        kind: EmailKind::Booked,
        to: Recipient::Host,
        booking: ann.id(),
    };
    let hook = Effect::Webhook {
        event: WebhookEvent::CallBooked,
        booking: ann.id(),
    };
    w.store
        .mark_delivered(&key(mail), now)
        .await
        .expect("delivered");
    let retry = RetryPolicy {
        max_attempts: 3,
        base_delay: TimeDelta::minutes(2),
        max_delay: TimeDelta::minutes(2),
    };
    w.store
        .mark_failed(&key(hook), now, "503 busy", &retry, 0.0)
        .await
        .expect("fail");
    let once = RetryPolicy {
        max_attempts: 1,
        ..retry
    };
    w.store
        .mark_failed(&key(host_mail), now, "550 gone", &once, 0.0)
        .await
        .expect("dead");

    let pending = w.store.pending_effects(ann.id()).await.expect("pending");
    assert_eq!(
        codes(&pending),
        [
            "calendar/Create",
            "webhook/callBooked",
            "email/ReconfirmationRequest/Attendee",
            "text/ReconfirmationRequest",
            "email/Reminder/Attendee",
            "text/Reminder"
        ]
    );
    let calendar = &pending[0];
    assert_eq!(calendar.leased_until, Some(now + TimeDelta::minutes(1)));
    let webhook = &pending[1];
    assert_eq!(
        (
            webhook.attempts,
            webhook.last_error.as_deref(),
            webhook.due_at
        ),
        (1, Some("503 busy"), now + TimeDelta::minutes(1))
    );
    assert_eq!(webhook.key, key(hook));
    let ben_pending = w.store.pending_effects(ben.id()).await.expect("ben");
    assert_eq!(ben_pending.len(), 8);
    assert!(ben_pending.iter().all(|p| p.booking == ben.id()));
}

/// A chain mirrored to a provider event is found by it, and after a reschedule the lookup
/// returns the chain's newest row.
pub async fn provider_event_follows_reschedule<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    let b = w.book("intro", "2027-03-01T09:00", "Ann Example").await;
    let event = ProviderEventRef {
        provider: "google".to_owned(),
        event_id: "evt-123".to_owned(),
    };
    let linked = b.with_provider_event(event.clone());
    w.store
        .commit(Change {
            writes: vec![linked.clone()],
            effects: Vec::new(),
        })
        .await
        .expect("link event");
    let found = w
        .store
        .booking_by_provider_event("google", "evt-123")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(&found, linked.booking());
    assert_eq!(
        w.store
            .booking_by_provider_event("microsoft", "evt-123")
            .await
            .expect("lookup"),
        None
    );
    assert_eq!(
        w.store
            .booking_by_provider_event("google", "evt-999")
            .await
            .expect("lookup"),
        None
    );

    w.clock.advance(TimeDelta::minutes(5));
    let moved = w
        .scheduler
        .reschedule(b.token().expose(), t("2027-03-01T14:00"), None)
        .await
        .expect("move");
    assert_eq!(moved.provider_event(), Some(&event));
    let found = w
        .store
        .booking_by_provider_event("google", "evt-123")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(found, moved);
    w.clock.advance(TimeDelta::minutes(5));
    let moved_again = w
        .scheduler
        .reschedule(moved.token().expose(), t("2027-03-01T15:00"), None)
        .await
        .expect("move again");
    let found = w
        .store
        .booking_by_provider_event("google", "evt-123")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(found.id(), moved_again.id());
    assert_eq!(found.ics_sequence(), 2);
}

/// Blocked ranges are the confirmed rows' buffered ranges overlapping the window, without the
/// chain being moved.
pub async fn blocked_ranges_leave_out_the_moving_chain<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    w.save(&buffered_link(2, w.host.id(), "buffered")).await;
    let a = w.book("buffered", "2027-03-01T10:00", "Ann A").await;
    let b = w.book("buffered", "2027-03-01T12:00", "Ben B").await;
    let c = w.book("buffered", "2027-03-02T10:00", "Cid C").await;
    w.scheduler
        .cancel(c.token().expose(), None)
        .await
        .expect("cancel");
    let day = range("2027-03-01T00:00", "2027-03-03T00:00");
    let mut all = w
        .store
        .blocked_ranges(w.host.id(), day, None)
        .await
        .expect("all");
    all.sort();
    assert_eq!(all, vec![a.blocked(), b.blocked()]);
    assert_eq!(
        w.store
            .blocked_ranges(w.host.id(), day, Some(a.chain()))
            .await
            .expect("except"),
        vec![b.blocked()]
    );
    // Half-open: a window ending where a block starts does not see it.
    assert!(
        w.store
            .blocked_ranges(
                w.host.id(),
                range("2027-03-01T09:00", "2027-03-01T09:45"),
                None
            )
            .await
            .expect("edge")
            .is_empty()
    );
    assert_eq!(
        w.store
            .blocked_ranges(
                w.host.id(),
                range("2027-03-01T09:00", "2027-03-01T09:46"),
                None
            )
            .await
            .expect("edge"),
        vec![a.blocked()]
    );
    assert!(
        w.store
            .blocked_ranges(HostId::from_uuid(Uuid::from_u128(5)), day, None)
            .await
            .expect("nobody")
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------
// Outbox

fn booked_effects(b: &Booking) -> Vec<Effect> {
    vec![
        Effect::Email {
            kind: EmailKind::Booked,
            to: Recipient::Attendee,
            booking: b.id(),
        },
        Effect::Email {
            kind: EmailKind::Booked,
            to: Recipient::Host,
            booking: b.id(),
        },
        Effect::Calendar {
            op: CalendarOp::Create,
            booking: b.id(),
        },
        Effect::Webhook {
            event: WebhookEvent::CallBooked,
            booking: b.id(),
        },
    ]
}

/// A commit's effects are due at once (or when planned), keyed by their idempotency key,
/// with no attempts yet, oldest due first.
pub async fn commit_puts_effects_due<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    let b = w.book("intro", "2027-03-01T09:00", "Ann Example").await;
    let now = w.clock_now();
    let entries = w.claim_all(now).await;
    let mut got: Vec<Effect> = entries.iter().map(|e| e.effect).collect();
    got.sort();
    let mut want = booked_effects(&b);
    want.sort();
    assert_eq!(got, want);
    for e in &entries {
        assert_eq!(e.key, e.effect.idempotency_key());
        assert_eq!(e.attempts, 0);
        assert_eq!(e.due_at, now);
        w.store
            .mark_delivered(&e.key, now)
            .await
            .expect("delivered");
    }

    // A later-due effect waits; due order is kept and `limit` holds.
    let later = PlannedEffect {
        effect: Effect::Email {
            kind: EmailKind::ReconfirmationRequest,
            to: Recipient::Attendee,
            booking: b.id(),
        },
        due_at: now + TimeDelta::hours(1),
    };
    let earlier = PlannedEffect {
        effect: Effect::CreateDeal {
            chain: b.chain(),
            booking: b.id(),
        },
        due_at: now + TimeDelta::minutes(30),
    };
    w.store
        .commit(Change {
            writes: Vec::new(),
            effects: vec![later, earlier],
        })
        .await
        .expect("commit effects");
    let soon = now + TimeDelta::minutes(2);
    assert!(
        w.store
            .claim_due(soon, TimeDelta::minutes(1), 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let first = w
        .store
        .claim_due(now + TimeDelta::hours(2), TimeDelta::minutes(1), 1)
        .await
        .expect("claim one");
    assert_eq!(
        first.iter().map(|e| e.effect).collect::<Vec<_>>(),
        vec![earlier.effect]
    );
    assert_eq!(first[0].due_at, earlier.due_at);
    let deal = first[0].effect;
    assert_eq!(
        deal,
        Effect::CreateDeal {
            chain: b.chain(),
            booking: b.id()
        }
    );
    let rest = w
        .store
        .claim_due(now + TimeDelta::hours(2), TimeDelta::minutes(1), 10)
        .await
        .expect("claim rest");
    assert_eq!(
        rest.iter().map(|e| e.effect).collect::<Vec<_>>(),
        vec![later.effect]
    );
}

/// The backlog counts due entries (leased or not) until they are delivered or die, tells
/// when the oldest of them became due, counts entries due later apart, and counts the dead.
pub async fn backlog_counts_due_scheduled_and_dead<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    let now = w.clock_now();
    let empty = w.store.backlog(now).await.expect("empty backlog");
    assert_eq!(empty, OutboxBacklog::default());
    w.book("intro", "2027-03-01T09:00", "Ann Example").await;
    let before = w.store.backlog(now).await.expect("backlog");
    let entries = w.claim_all(now).await;
    assert!(entries.len() >= 3, "a booking queues mails and more");
    let oldest = entries.iter().map(|e| e.due_at).min();
    let leased = w.store.backlog(now).await.expect("backlog while leased");
    assert_eq!(
        before, leased,
        "a lease does not take an entry off the backlog"
    );
    assert_eq!(leased.due, entries.len() as u64);
    assert_eq!(leased.oldest_due_at, oldest);
    assert_eq!(leased.dead, 0);
    assert_eq!(
        leased.oldest_due_age(now + TimeDelta::minutes(3)),
        now + TimeDelta::minutes(3) - oldest.expect("oldest")
    );

    w.store
        .mark_delivered(&entries[0].key, now)
        .await
        .expect("delivered");
    let last_try = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    w.store
        .mark_failed(&entries[1].key, now, "refused", &last_try, 0.0)
        .await
        .expect("dead");
    w.store
        .mark_failed(&entries[2].key, now, "451", &RetryPolicy::default(), 0.0)
        .await
        .expect("retry later");
    let after = w.store.backlog(now).await.expect("backlog after outcomes");
    assert_eq!(after.due, leased.due - 3);
    assert_eq!(after.scheduled, leased.scheduled + 1);
    assert_eq!(after.dead, 1);
    let far = w
        .store
        .backlog(now + TimeDelta::days(3650))
        .await
        .expect("backlog far ahead");
    assert_eq!(far.scheduled, 0);
    assert_eq!(far.due, after.due + after.scheduled);
    assert_eq!(far.dead, 1);
}

/// A store opened the usual way holds every migration of its build, and its pool (if it has
/// one) adds up.
pub async fn a_fresh_store_has_its_whole_schema<F: StoreFactory>(factory: &F) {
    let store = factory.fresh().await;
    assert_eq!(
        store.pending_migrations().await.expect("schema status"),
        Vec::<i64>::new()
    );
    if let Some(pool) = store.connections() {
        assert!(
            pool.max > 0 && pool.idle <= pool.open && pool.open <= pool.max,
            "{pool:?}"
        );
    }
}

/// A claimed entry is invisible to other claims until its lease ends, then comes back.
pub async fn claims_are_leases<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    w.book("intro", "2027-03-01T09:00", "Ann Example").await;
    let now = w.clock_now();
    let lease = TimeDelta::minutes(5);
    let first = w.store.claim_due(now, lease, 2).await.expect("first");
    assert_eq!(first.len(), 2);
    let second = w.store.claim_due(now, lease, 10).await.expect("second");
    assert_eq!(second.len(), 2);
    assert!(
        keys(&first).iter().all(|k| !keys(&second).contains(k)),
        "no entry handed out twice"
    );
    assert!(
        w.store
            .claim_due(now + TimeDelta::minutes(4), lease, 10)
            .await
            .expect("third")
            .is_empty()
    );
    let expired = w
        .store
        .claim_due(now + lease, lease, 10)
        .await
        .expect("after lease");
    let mut all = keys(&first);
    all.extend(keys(&second));
    all.sort();
    assert_eq!(keys(&expired), all);
}

/// A delivered entry is never handed out again, not even after its lease would have ended.
pub async fn delivered_entries_never_return<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    w.book("intro", "2027-03-01T09:00", "Ann Example").await;
    let now = w.clock_now();
    let entries = w.claim_all(now).await;
    w.store
        .mark_delivered(&entries[0].key, now)
        .await
        .expect("delivered");
    w.store
        .mark_delivered("no-such-key", now)
        .await
        .expect("unknown key is fine");
    let later = w.claim_all(now + TimeDelta::hours(1)).await;
    assert_eq!(later.len(), entries.len() - 1);
    assert!(!keys(&later).contains(&entries[0].key));
    for e in &later {
        w.store
            .mark_delivered(&e.key, now)
            .await
            .expect("delivered");
    }
    assert!(w.claim_all(now + TimeDelta::days(1)).await.is_empty());
    assert!(w.store.dead_entries(10).await.expect("dead").is_empty());
}

/// Failed attempts come back after the policy's delay, then die after the last one and are
/// listed as dead (most recent first), never to be claimed again.
pub async fn failures_back_off_then_die<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    w.book("intro", "2027-03-01T09:00", "Ann Example").await;
    let policy = RetryPolicy {
        max_attempts: 3,
        base_delay: TimeDelta::seconds(10),
        max_delay: TimeDelta::minutes(1),
    };
    let mut now = w.clock_now();
    let entries = w.claim_all(now).await;
    let key = entries[0].key.clone();
    let effect = entries[0].effect;
    for e in &entries[1..] {
        w.store
            .mark_delivered(&e.key, now)
            .await
            .expect("delivered");
    }

    let outcome = w
        .store
        .mark_failed(&key, now, "smtp 451", &policy, 0.0)
        .await
        .expect("fail 1");
    assert_eq!(
        outcome,
        FailureOutcome::RetryAt(now + TimeDelta::seconds(5))
    );
    assert!(
        w.claim_all(now + TimeDelta::seconds(4)).await.is_empty(),
        "not before the retry time"
    );
    now += TimeDelta::seconds(5);
    let again = w.claim_all(now).await;
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].attempts, again[0].due_at, again[0].effect),
        (1, now, effect)
    );

    let outcome = w
        .store
        .mark_failed(&key, now, "smtp 452", &policy, 0.5)
        .await
        .expect("fail 2");
    // Second failure: 20 s doubled delay, upper half with jitter 0.5 → 15 s.
    assert_eq!(
        outcome,
        FailureOutcome::RetryAt(now + TimeDelta::seconds(15))
    );
    now += TimeDelta::seconds(15);
    assert_eq!(w.claim_all(now).await.len(), 1);
    let outcome = w
        .store
        .mark_failed(&key, now, "smtp 550 mailbox unavailable", &policy, 0.0)
        .await
        .expect("fail 3");
    assert_eq!(outcome, FailureOutcome::Dead);
    assert!(
        w.claim_all(now + TimeDelta::days(1)).await.is_empty(),
        "dead entries stay dead"
    );

    // A second entry dies later: most recent first.
    let b2 = w.book("intro", "2027-03-01T10:00", "Ben B").await;
    let key2 = Effect::Webhook {
        event: WebhookEvent::CallBooked,
        booking: b2.id(),
    }
    .idempotency_key();
    let one = RetryPolicy {
        max_attempts: 1,
        ..policy
    };
    let died2 = now + TimeDelta::minutes(1);
    assert_eq!(
        w.store
            .mark_failed(&key2, died2, "410 gone", &one, 0.0)
            .await
            .expect("fail"),
        FailureOutcome::Dead
    );

    let dead = w.store.dead_entries(10).await.expect("dead");
    assert_eq!(dead.len(), 2);
    assert_eq!(
        (
            dead[0].entry.key.as_str(),
            dead[0].last_error.as_str(),
            dead[0].died_at
        ),
        (key2.as_str(), "410 gone", died2)
    );
    assert_eq!(
        (
            dead[1].entry.key.as_str(),
            dead[1].entry.effect,
            dead[1].entry.attempts
        ),
        (key.as_str(), effect, 3)
    );
    assert_eq!(
        (dead[1].last_error.as_str(), dead[1].died_at),
        ("smtp 550 mailbox unavailable", now)
    );
    assert_eq!(w.store.dead_entries(1).await.expect("dead").len(), 1);
    assert!(
        w.store
            .mark_failed("no-such-key", now, "x", &policy, 0.0)
            .await
            .is_err()
    );
}

/// Issue 13, #9: every store keeps the same free texts. Line breaks (normalised to `\n`),
/// tabs and any Unicode round-trip unchanged; a control character such as NUL, which Postgres
/// cannot store and SQLite would, never gets past the domain types, so no store sees it.
pub async fn free_texts_round_trip_and_control_characters_never_arrive<F: StoreFactory>(
    factory: &F,
) {
    let w = world(factory).await;
    for c in ['\0', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}'] {
        let text = format!("before{c}after");
        assert!(Reason::parse_optional(Some(&text)).is_err(), "{c:?}");
        assert!(PersonName::parse(&text).is_err(), "{c:?}");
        assert!(
            Answers::new(vec![("What about?".to_owned(), text.clone())]).is_err(),
            "{c:?}"
        );
        assert!(Email::parse(&format!("a{c}@example.com")).is_err(), "{c:?}");
    }
    let mut req = request("2027-03-01T09:00", "Zoe");
    req.invitee = Invitee::new(
        PersonName::parse("Zoë O'Brien – 日本").expect("name"),
        Email::parse("zoe@example.org").expect("email"),
        None,
        TimeZoneName::parse("UTC").expect("zone"),
    );
    req.answers = Answers::new(vec![(
        "What about?".to_owned(),
        "line one\r\nline two\twith a tab 🙂".to_owned(),
    )])
    .expect("answers");
    let booked = w
        .scheduler
        .book(&Slug::parse("intro").expect("slug"), req)
        .await
        .expect("book");
    let reason = Reason::parse_optional(Some("Train late\r\n\tsorry — ÄÖÜ")).expect("reason");
    w.scheduler
        .cancel(booked.token().expose(), reason)
        .await
        .expect("cancel");
    let back = w
        .store
        .booking(booked.id())
        .await
        .expect("load")
        .expect("row");
    assert_eq!(back.invitee().name().as_str(), "Zoë O'Brien – 日本");
    assert_eq!(
        back.answers().pairs(),
        [(
            "What about?".to_owned(),
            "line one\nline two\twith a tab 🙂".to_owned()
        )]
    );
    let Status::Cancelled(c) = back.status() else {
        panic!("not cancelled: {:?}", back.status());
    };
    assert_eq!(
        c.reason.as_ref().map(Reason::as_str),
        Some("Train late\n\tsorry — ÄÖÜ")
    );
}

/// Issue 13, #13: a start the stores cannot keep (SQLite's text instants end with the year
/// 9999) is refused by the domain as outside the bookable years, on every store alike.
pub async fn times_beyond_the_horizon_are_refused<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    let slug = Slug::parse("intro").expect("slug");
    let booked = w
        .scheduler
        .book(&slug, request("9999-12-31T23:30", "Late Larry"))
        .await;
    assert!(
        matches!(booked, Err(BookError::OutsideHorizon(_))),
        "{booked:?}"
    );
    let early = w
        .scheduler
        .book(&slug, request("1969-12-31T23:30", "Early Erin"))
        .await;
    assert!(
        matches!(early, Err(BookError::OutsideHorizon(_))),
        "{early:?}"
    );
    let ann = w.book("intro", "2027-03-01T09:00", "Ann Example").await;
    let moved = w
        .scheduler
        .reschedule(ann.token().expose(), t("9999-12-31T23:30"), None)
        .await;
    assert!(
        matches!(moved, Err(TokenActionError::OutsideHorizon(_))),
        "{moved:?}"
    );
    let far = TimeRange::new(t("9999-12-01T00:00"), t("9999-12-31T23:59")).expect("range");
    assert!(w.scheduler.slot_page(&slug, far).await.is_err());
    let back = w.store.booking(ann.id()).await.expect("load").expect("row");
    assert_eq!(back.status(), &Status::Confirmed);
}

/// Issue 13, #6: the outbox entries of one booking that went dead can be read by booking (for
/// the host's page), most recent first; other bookings' and live entries are not among them.
pub async fn dead_effects_of_a_booking<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    let ann = w.book("intro", "2027-03-01T09:00", "Ann Example").await;
    let ben = w.book("intro", "2027-03-01T10:00", "Ben Example").await;
    let once = RetryPolicy {
        max_attempts: 1,
        base_delay: TimeDelta::seconds(10),
        max_delay: TimeDelta::minutes(1),
    };
    let now = w.clock_now();
    w.claim_all(now).await;
    let mail = Effect::Email {
        kind: EmailKind::Booked,
        to: Recipient::Attendee,
        booking: ann.id(),
    };
    let hook = Effect::Webhook {
        event: WebhookEvent::CallBooked,
        booking: ann.id(),
    };
    for (effect, at, error) in [
        (mail, now, "550 no such mailbox"),
        (hook, now + TimeDelta::minutes(1), "410 gone"),
    ] {
        let outcome = w
            .store
            .mark_failed(&effect.idempotency_key(), at, error, &once, 0.0)
            .await
            .expect("fail");
        assert_eq!(outcome, FailureOutcome::Dead);
    }
    let dead = w.store.dead_effects(ann.id()).await.expect("dead");
    let seen: Vec<_> = dead
        .iter()
        .map(|d| (d.entry.effect, d.last_error.as_str(), d.died_at))
        .collect();
    assert_eq!(
        seen,
        [
            (hook, "410 gone", now + TimeDelta::minutes(1)),
            (mail, "550 no such mailbox", now)
        ]
    );
    assert!(
        w.store
            .dead_effects(ben.id())
            .await
            .expect("dead")
            .is_empty()
    );
}

/// Issue 11, #4: a host sees the dead entries of its own bookings only, and can put one back
/// in the queue; another host's, a live or an unknown key is refused and changes nothing.
pub async fn dead_entries_of_a_host_and_their_retry<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    let other = host(2, "Otto Other");
    w.store.save_host(&other).await.expect("host");
    w.save(&plain_link(2, other.id(), "other")).await;
    let ann = w.book("intro", "2027-03-01T09:00", "Ann Example").await;
    let zed = w.book("other", "2027-03-01T09:00", "Zed Example").await;
    let once = RetryPolicy {
        max_attempts: 1,
        base_delay: TimeDelta::seconds(10),
        max_delay: TimeDelta::minutes(1),
    };
    let now = w.clock_now();
    w.claim_all(now).await;
    let mine = Effect::Email {
        kind: EmailKind::Booked,
        to: Recipient::Attendee,
        booking: ann.id(),
    };
    let theirs = Effect::Email {
        kind: EmailKind::Booked,
        to: Recipient::Attendee,
        booking: zed.id(),
    };
    for effect in [mine, theirs] {
        let outcome = w
            .store
            .mark_failed(
                &effect.idempotency_key(),
                now,
                "550 no such mailbox",
                &once,
                0.0,
            )
            .await
            .expect("fail");
        assert_eq!(outcome, FailureOutcome::Dead);
    }
    let listed =
        |dead: Vec<DeadEntry>| dead.into_iter().map(|d| d.entry.effect).collect::<Vec<_>>();
    let dead = w
        .store
        .dead_entries_of_host(w.host.id(), 10)
        .await
        .expect("dead");
    assert_eq!(
        dead.first().map(|d| d.last_error.as_str()),
        Some("550 no such mailbox")
    );
    assert_eq!(listed(dead), [mine]);
    assert_eq!(
        listed(
            w.store
                .dead_entries_of_host(other.id(), 10)
                .await
                .expect("dead")
        ),
        [theirs]
    );
    assert!(
        w.store
            .dead_entries_of_host(w.host.id(), 0)
            .await
            .expect("dead")
            .is_empty()
    );

    // Another host's entry, a live one and an unknown key are refused.
    let later = now + TimeDelta::minutes(5);
    assert!(
        !w.store
            .retry_dead(w.host.id(), &theirs.idempotency_key(), later)
            .await
            .expect("retry")
    );
    let live = Effect::Email {
        kind: EmailKind::Booked,
        to: Recipient::Host,
        booking: ann.id(),
    };
    assert!(
        !w.store
            .retry_dead(w.host.id(), &live.idempotency_key(), later)
            .await
            .expect("retry")
    );
    assert!(
        !w.store
            .retry_dead(w.host.id(), "no-such-key", later)
            .await
            .expect("retry")
    );
    assert_eq!(
        listed(
            w.store
                .dead_entries_of_host(other.id(), 10)
                .await
                .expect("dead")
        ),
        [theirs]
    );

    // The host's own comes back: due at once, attempts from zero, claimable, no longer dead.
    assert!(
        w.store
            .retry_dead(w.host.id(), &mine.idempotency_key(), later)
            .await
            .expect("retry")
    );
    assert!(
        w.store
            .dead_entries_of_host(w.host.id(), 10)
            .await
            .expect("dead")
            .is_empty()
    );
    assert!(
        w.store
            .dead_effects(ann.id())
            .await
            .expect("dead")
            .is_empty()
    );
    let again = w.claim_all(later).await;
    let back = again
        .iter()
        .find(|e| e.key == mine.idempotency_key())
        .expect("the retried entry is claimable");
    assert_eq!((back.attempts, back.due_at), (0, later));
    assert!(!again.iter().any(|e| e.key == theirs.idempotency_key()));
    // Retrying twice is refused: it is no longer dead.
    assert!(
        !w.store
            .retry_dead(w.host.id(), &mine.idempotency_key(), later)
            .await
            .expect("retry")
    );
}

/// Releasing a lease makes the entry claimable at once, without counting an attempt.
pub async fn release_gives_the_lease_back<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    w.book("intro", "2027-03-01T09:00", "Ann Example").await;
    let now = w.clock_now();
    let entries = w
        .store
        .claim_due(now, TimeDelta::hours(1), 1)
        .await
        .expect("claim");
    let key = entries[0].key.clone();
    w.store.release(&key).await.expect("release");
    let again = w
        .store
        .claim_due(now, TimeDelta::hours(1), 10)
        .await
        .expect("claim again");
    let back = again
        .iter()
        .find(|e| e.key == key)
        .expect("released entry is claimable");
    assert_eq!(back.attempts, 0);
    w.store
        .release("no-such-key")
        .await
        .expect("unknown key is fine");
}

/// A commit that fails — on a version, an overlap, a duplicate row or effect — writes no row
/// and queues no effect.
pub async fn failed_commits_leave_nothing<F: StoreFactory>(factory: &F) {
    let w = world(factory).await;
    let b = w.book("intro", "2027-03-01T09:00", "Ann Example").await;
    let now = w.clock_now();
    for e in w.claim_all(now).await {
        w.store
            .mark_delivered(&e.key, now)
            .await
            .expect("delivered");
    }
    let fresh = w.hand_made(
        &w.link,
        range("2027-03-01T13:00", "2027-03-01T13:30"),
        range("2027-03-01T13:00", "2027-03-01T13:30"),
    );
    let fresh_effects: Vec<PlannedEffect> = booked_effects(&fresh)
        .into_iter()
        .map(|e| PlannedEffect::now(e, now))
        .collect();

    // The insert comes first and succeeds on its own; the stale update then fails.
    let mut stale = b.reconfirm(now).expect("reconfirm");
    if let Some(Write::Update {
        expected_version, ..
    }) = stale.writes.first_mut()
    {
        *expected_version = 7;
    }
    let mut writes = vec![Write::Insert(fresh.clone())];
    writes.extend(stale.writes);
    let result = w
        .store
        .commit(Change {
            writes,
            effects: fresh_effects.clone(),
        })
        .await;
    assert!(
        matches!(result, Err(CommitError::VersionConflict(_))),
        "{result:?}"
    );

    // Two new rows that overlap each other.
    let twin = w.hand_made(&w.link, fresh.slot(), fresh.blocked());
    let result = w
        .store
        .commit(Change {
            writes: vec![Write::Insert(fresh.clone()), Write::Insert(twin.clone())],
            effects: fresh_effects.clone(),
        })
        .await;
    assert!(matches!(result, Err(CommitError::SlotTaken)), "{result:?}");

    // A row that already exists.
    let result = w
        .store
        .commit(Change {
            writes: vec![Write::Insert(fresh.clone()), Write::Insert(b.clone())],
            effects: fresh_effects.clone(),
        })
        .await;
    assert!(matches!(result, Err(CommitError::Store(_))), "{result:?}");

    // An effect that is already queued.
    let dup = PlannedEffect::now(booked_effects(&b)[0], now);
    let mut effects = fresh_effects.clone();
    effects.push(dup);
    let result = w
        .store
        .commit(Change {
            writes: vec![Write::Insert(fresh.clone())],
            effects,
        })
        .await;
    assert!(matches!(result, Err(CommitError::Store(_))), "{result:?}");

    assert_eq!(w.store.booking(fresh.id()).await.expect("load"), None);
    assert_eq!(w.store.booking(twin.id()).await.expect("load"), None);
    assert_eq!(
        w.store.booking(b.id()).await.expect("load"),
        Some(b.clone())
    );
    assert!(
        w.claim_all(now + TimeDelta::days(1)).await.is_empty(),
        "no effect of a failed commit is queued"
    );
    assert_eq!(
        w.store
            .dashboard(
                w.host.id(),
                DashboardTab::Upcoming,
                now,
                Page {
                    offset: 0,
                    limit: 10
                }
            )
            .await
            .expect("dash")
            .counts
            .upcoming,
        1
    );

    // The same change, fixed, goes through.
    w.store
        .commit(Change {
            writes: vec![Write::Insert(fresh.clone())],
            effects: fresh_effects,
        })
        .await
        .expect("valid change");
    assert_eq!(
        w.store.booking(fresh.id()).await.expect("load"),
        Some(fresh)
    );
    assert_eq!(w.claim_all(now).await.len(), 4);
}

// ---------------------------------------------------------------------------------------------
// Concurrency

/// How many tasks race in each concurrency test.
pub const RACERS: usize = 50;

/// Many reschedules of one token at once: exactly one wins, every other one is told the
/// booking was already rescheduled, and the chain has exactly two rows.
pub async fn concurrent_reschedules_one_wins<F: StoreFactory, X: Spawner>(
    factory: &F,
    spawner: &X,
) {
    let w = world(factory).await;
    let b = w.book("intro", "2027-03-01T09:00", "Ann Example").await;
    let token = b.token().expose().to_owned();
    let tasks = (0..RACERS)
        .map(|_| {
            let scheduler = w.scheduler.clone();
            let token = token.clone();
            spawner.spawn::<Result<Booking, TokenActionError>>(Box::pin(async move {
                scheduler
                    .reschedule(&token, t("2027-03-02T10:00"), None)
                    .await
            }))
        })
        .collect();
    let results = join_all(tasks).await;
    let won: Vec<&Booking> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "exactly one reschedule wins");
    for r in &results {
        if let Err(e) = r {
            assert!(
                matches!(
                    e,
                    TokenActionError::Refused(TokenRefusal::AlreadyRescheduled)
                ),
                "loser got {e:?}"
            );
        }
    }
    let chain = w.store.chain(b.chain()).await.expect("chain");
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[1].id(), won[0].id());
    let moved: Vec<Effect> = w
        .claim_all(w.clock_now())
        .await
        .into_iter()
        .map(|e| e.effect)
        .filter(|e| e.booking() == won[0].id())
        .collect();
    assert_eq!(moved.len(), 4, "one set of reschedule effects");
}

/// Many bookings of one slot at once: exactly one wins, every other one is told the slot is
/// no longer available.
pub async fn concurrent_bookings_one_wins<F: StoreFactory, X: Spawner>(factory: &F, spawner: &X) {
    let w = world(factory).await;
    let tasks = (0..RACERS)
        .map(|i| {
            let scheduler = w.scheduler.clone();
            spawner.spawn::<Result<Booking, BookError>>(Box::pin(async move {
                scheduler
                    .book(
                        &Slug::parse("intro").expect("slug"),
                        request("2027-03-01T09:00", &format!("Racer {i}")),
                    )
                    .await
            }))
        })
        .collect();
    let results = join_all(tasks).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "exactly one booking wins"
    );
    for r in &results {
        if let Err(e) = r {
            assert!(matches!(e, BookError::SlotUnavailable), "loser got {e:?}");
        }
    }
    let now = w.clock_now();
    let page = w
        .store
        .dashboard(
            w.host.id(),
            DashboardTab::Upcoming,
            now,
            Page {
                offset: 0,
                limit: 100,
            },
        )
        .await
        .expect("dash");
    assert_eq!(page.rows.len(), 1);
    assert_eq!(
        w.claim_all(now).await.len(),
        4,
        "effects of the winner only"
    );
}

/// Many cancels of one token at once: all succeed with the same cancelled row, and the
/// outbox holds one set of cancel effects.
pub async fn concurrent_cancels_agree<F: StoreFactory, X: Spawner>(factory: &F, spawner: &X) {
    let w = world(factory).await;
    let b = w.book("intro", "2027-03-01T09:00", "Ann Example").await;
    let token = b.token().expose().to_owned();
    let tasks = (0..RACERS)
        .map(|i| {
            let scheduler = w.scheduler.clone();
            let token = token.clone();
            spawner.spawn::<Result<Booking, TokenActionError>>(Box::pin(async move {
                let reason = Reason::parse_optional(Some(&format!("racer {i}"))).expect("reason");
                scheduler.cancel(&token, reason).await
            }))
        })
        .collect();
    let results = join_all(tasks).await;
    let stored = w.store.booking(b.id()).await.expect("load").expect("row");
    assert!(matches!(stored.status(), Status::Cancelled(c) if c.by == Actor::Attendee));
    assert_eq!(stored.version(), 2);
    for r in results {
        assert_eq!(r.expect("every cancel succeeds"), stored);
    }
    let mut cancel_effects: Vec<Effect> = w
        .claim_all(w.clock_now())
        .await
        .into_iter()
        .map(|e| e.effect)
        .filter(|e| !booked_effects(&b).contains(e))
        .collect();
    cancel_effects.sort();
    let mut want = vec![
        Effect::Email {
            kind: EmailKind::Cancelled,
            to: Recipient::Attendee,
            booking: b.id(),
        },
        Effect::Email {
            kind: EmailKind::Cancelled,
            to: Recipient::Host,
            booking: b.id(),
        },
        Effect::Calendar {
            op: CalendarOp::Delete,
            booking: b.id(),
        },
        Effect::Webhook {
            event: WebhookEvent::CallCancelled,
            booking: b.id(),
        },
    ];
    want.sort();
    assert_eq!(cancel_effects, want);
}
