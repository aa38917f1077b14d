//! The outbox dispatcher with real parts: bookings changed through the scheduler on a real
//! SQLite file or Postgres database, mails to a real SMTP server on localhost (parsed back as
//! MIME and iCalendar), webhooks to a local HTTP receiver that checks their signatures. Time
//! moves by passing `now` to `run_once`, never by sleeping.

mod support;
mod workflows;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use booking_core::deals::{DealId, DealStage, DealStore};
use booking_core::effects::RetryPolicy;
use booking_core::ids::ChainId;
use booking_core::invitee::ANSWER_MAX;
use booking_core::link::{BookingLink, LinkSettings, ReconfirmationPolicy};
use booking_core::ports::{BookingStore, DealSink, DealSinkError, Page};
use booking_core::testkit::CountedReads;
use booking_core::{Booking, Status};
use chrono::TimeDelta;
use dispatch::DealRecorder;
use dispatch::periodic::{JobLease, SweepJob};
use icalendar::Component;
use mailer_smtp::{MailError, Mailbox, Mailer, Message, message_id};
use store_postgres::PostgresStore;
use store_sqlite::SqliteStore;
use support::{Inbox, Parsed, PgDatabase, Ports, Receiver, World, hostile_text, logs};

const SEAL_KEY: [u8; 32] = [42; 32];

async fn sqlite(dir: &tempfile::TempDir) -> SqliteStore {
    let url = format!("sqlite://{}", dir.path().join("slotkeeper.db").display());
    SqliteStore::connect(&url, SEAL_KEY).await.unwrap()
}

fn ok_receiver(_path: &str, _n: usize) -> u16 {
    204
}

fn key(booking: &Booking, what: &str) -> String {
    format!("{}:{what}", booking.id())
}

/// The invite's properties the tests check.
fn ics(mail: &Parsed) -> (String, String, u32) {
    let text = mail.calendar.as_deref().expect("a text/calendar part");
    let calendar: icalendar::Calendar = text.parse().expect("valid iCalendar");
    let method = calendar.property_value("METHOD").unwrap().to_owned();
    let event = calendar.events().next().expect("a VEVENT");
    let uid = event.get_uid().unwrap().to_owned();
    let sequence = event.get_sequence().expect("SEQUENCE");
    (method, uid, sequence)
}

/// Book → reschedule → cancel, each change dispatched: exactly the expected mails (attendee
/// and host per change, right METHOD/UID/SEQUENCE) and exactly one signed webhook per event
/// per interested subscription.
async fn book_reschedule_cancel(ports: Ports) {
    let inbox = Inbox::start();
    let receiver = Receiver::start(ok_receiver).await;
    let world = World::new(ports).await;
    let all = world
        .subscribe(
            1,
            &receiver.url("/all"),
            "callBooked,callRescheduled,callCancelled",
        )
        .await;
    let cancels = world
        .subscribe(2, &receiver.url("/cancels"), "callCancelled")
        .await;
    let off = world
        .subscribe(3, &receiver.url("/off"), "callBooked")
        .await;
    world
        .ports
        .subscriptions
        .set_subscription_active(world.host.id(), off.id, false)
        .await
        .unwrap();
    let dispatcher = world.dispatcher(inbox.mailer());
    let now = world.now();

    let booked = world.book("Pricing", 1).await;
    // Two mails, the calendar (no calendar connected) and the webhook.
    assert_eq!(dispatcher.run_once(now).await.unwrap(), 4);
    let moved = world.reschedule(&booked, 3, "clash").await;
    assert_eq!(dispatcher.run_once(now).await.unwrap(), 4);
    let cancelled = world.cancel(&moved, "found another vendor").await;
    assert!(matches!(cancelled.status(), Status::Cancelled(_)));
    assert_eq!(dispatcher.run_once(now).await.unwrap(), 4);
    assert_eq!(
        dispatcher.run_once(now + TimeDelta::days(1)).await.unwrap(),
        0,
        "nothing is delivered twice"
    );

    // Mails: exactly six, one per expected key, each once.
    let mails = inbox.all();
    let by_id: BTreeMap<String, &Parsed> =
        mails.iter().map(|m| (m.message_id.clone(), m)).collect();
    assert_eq!(mails.len(), 6, "{:?}", by_id.keys());
    let expected = [
        (
            &booked,
            "email:Booked:Attendee",
            "ada@example.org",
            "REQUEST",
        ),
        (&booked, "email:Booked:Host", "hana@example.com", "REQUEST"),
        (
            &moved,
            "email:Rescheduled:Attendee",
            "ada@example.org",
            "REQUEST",
        ),
        (
            &moved,
            "email:Rescheduled:Host",
            "hana@example.com",
            "REQUEST",
        ),
        (
            &moved,
            "email:Cancelled:Attendee",
            "ada@example.org",
            "CANCEL",
        ),
        (&moved, "email:Cancelled:Host", "hana@example.com", "CANCEL"),
    ];
    let mut uids = BTreeSet::new();
    let mut sequences = Vec::new();
    for (row, what, to, method) in expected {
        let id = message_id(&key(row, what));
        let mail = by_id
            .get(id.trim_start_matches('<').trim_end_matches('>'))
            .unwrap_or_else(|| panic!("no mail {what}"));
        assert_eq!(mail.envelope_to, vec![to.to_owned()], "{what}");
        assert_eq!(mail.calendar_method.as_deref(), Some(method), "{what}");
        let (ics_method, uid, sequence) = ics(mail);
        assert_eq!(ics_method, method, "{what}");
        uids.insert(uid);
        sequences.push(sequence);
        if method == "REQUEST" {
            assert!(
                mail.text.contains(&format!(
                    "http://127.0.0.1:8080/book/cancel/{}",
                    row.token().expose()
                )),
                "{what}: the row's own links"
            );
        }
    }
    assert_eq!(uids.len(), 1, "one UID for the whole chain: {uids:?}");
    assert!(
        sequences[0] < sequences[2] && sequences[2] < sequences[4],
        "SEQUENCE rises: {sequences:?}"
    );
    assert_eq!(
        uids.into_iter().next().unwrap(),
        format!("{}@slotkeeper", booked.chain())
    );

    // Webhooks: one per event per subscription that wants it, signed, in the contract shape.
    let to_all = receiver.hooks("/all");
    let ids: Vec<&str> = to_all.iter().map(|h| h.id()).collect();
    assert_eq!(
        ids,
        vec![
            key(&booked, "webhook:callBooked"),
            key(&moved, "webhook:callRescheduled"),
            key(&moved, "webhook:callCancelled"),
        ]
    );
    let hook_types: Vec<String> = to_all
        .iter()
        .map(|h| h.json()[0]["hookType"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        hook_types,
        ["Call booked", "Call rescheduled", "Call cancelled"]
    );
    for hook in &to_all {
        assert!(
            hook.verify(all.secret.expose()),
            "signature of {}",
            hook.id()
        );
        assert!(
            !hook.verify(cancels.secret.expose()),
            "another secret fails"
        );
        assert_eq!(
            hook.json()[0]["event"]["uuid"],
            booked.chain().to_string(),
            "event.uuid is the chain"
        );
    }
    let to_cancels = receiver.hooks("/cancels");
    assert_eq!(to_cancels.len(), 1);
    assert_eq!(to_cancels[0].id(), key(&moved, "webhook:callCancelled"));
    assert!(to_cancels[0].verify(cancels.secret.expose()));
    assert!(receiver.hooks("/off").is_empty(), "inactive gets nothing");

    // The delivery log shows every attempt.
    let log = world
        .ports
        .subscriptions
        .deliveries(world.host.id(), all.id, 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|a| a.delivered && a.status == Some(204)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn book_reschedule_cancel_on_sqlite_mails_and_hooks_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    book_reschedule_cancel(Ports::of(sqlite(&dir).await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn book_reschedule_cancel_on_postgres_mails_and_hooks_exactly_once() {
    let db = PgDatabase::create().await;
    let store = PostgresStore::connect(&db.url, SEAL_KEY).await.unwrap();
    book_reschedule_cancel(Ports::of(store.clone())).await;
    store.pool().close().await;
    db.drop_it().await;
}

fn script(path: &str, n: usize) -> u16 {
    match (path, n) {
        ("/flaky", 0) => 500,
        ("/fail", _) => 500,
        _ => 200,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_webhook_is_retried_after_the_backoff_only_where_it_failed() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::start();
    let receiver = Receiver::start(script).await;
    let world = World::new(Ports::of(sqlite(&dir).await)).await;
    let steady = world.subscribe(1, &receiver.url("/ok"), "callBooked").await;
    let flaky = world
        .subscribe(2, &receiver.url("/flaky"), "callBooked")
        .await;
    let dispatcher = world.dispatcher(inbox.mailer());
    let now = world.now();
    let booked = world.book("Pricing", 1).await;

    assert_eq!(
        dispatcher.run_once(now).await.unwrap(),
        3,
        "all but the webhook"
    );
    assert_eq!(receiver.hooks("/ok").len(), 1);
    assert_eq!(receiver.hooks("/flaky").len(), 1);
    // Not due again before the backoff (at least 15 s with the default policy).
    assert_eq!(
        dispatcher
            .run_once(now + TimeDelta::seconds(10))
            .await
            .unwrap(),
        0
    );
    assert_eq!(receiver.hooks("/flaky").len(), 1);
    assert_eq!(
        dispatcher
            .run_once(now + TimeDelta::seconds(31))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        receiver.hooks("/ok").len(),
        1,
        "the steady one is not sent again"
    );
    let retried = receiver.hooks("/flaky");
    assert_eq!(retried.len(), 2);
    assert_eq!(
        retried[0].id(),
        retried[1].id(),
        "same webhook-id on the retry"
    );
    assert_eq!(retried[1].id(), key(&booked, "webhook:callBooked"));
    assert!(retried[1].verify(flaky.secret.expose()));
    let log = world
        .ports
        .subscriptions
        .deliveries(world.host.id(), flaky.id, 10)
        .await
        .unwrap();
    let seen: Vec<(u32, Option<u16>, bool)> = log
        .iter()
        .map(|a| (a.attempt, a.status, a.delivered))
        .collect();
    assert_eq!(seen, vec![(2, Some(200), true), (1, Some(500), false)]);
    assert_eq!(
        world
            .ports
            .subscriptions
            .deliveries(world.host.id(), steady.id, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        dispatcher.run_once(now + TimeDelta::days(1)).await.unwrap(),
        0
    );
}

/// The background workers take "now" from the Clock port, whatever the system clock says:
/// with the clock a minute before the booking's entries are due, ten polls deliver nothing;
/// set to their due time, they go out. (The one test that waits for a background task: it
/// polls the inbox with a bound instead of driving `run_once`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workers_read_the_time_from_the_clock_port() {
    let poll = std::time::Duration::from_millis(20);
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::start();
    let world = World::new(Ports::of(sqlite(&dir).await)).await;
    let due = world.now();
    world.book("Pricing", 1).await;
    world.clock.set(due - TimeDelta::minutes(1));
    let dispatcher = Arc::new(world.dispatcher(inbox.mailer()).with_poll_interval(poll));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers = tokio::spawn(dispatcher.run(1, None, stopped));
    tokio::time::sleep(poll * 10).await;
    assert_eq!(inbox.all().len(), 0, "nothing is due yet by the Clock port");
    world.clock.set(due);
    for _ in 0..500 {
        if inbox.all().len() >= 2 {
            break;
        }
        tokio::time::sleep(poll).await;
    }
    stop.send(true).unwrap();
    workers.await.unwrap();
    assert_eq!(
        inbox.all().len(),
        2,
        "the booking's two mails, due now by the Clock port"
    );
}

/// The retry time is the policy's delay with the injected jitter, to the millisecond: the
/// first retry of the default policy waits 15 s plus `jitter` × 15 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retry_time_follows_the_injected_jitter_exactly() {
    for (jitter, wait_ms) in [(0.0, 15_000), (0.5, 22_500), (0.25, 18_750)] {
        let dir = tempfile::tempdir().unwrap();
        let inbox = Inbox::start();
        let receiver = Receiver::start(script).await;
        let world = World::new(Ports::of(sqlite(&dir).await)).await;
        world
            .subscribe(1, &receiver.url("/flaky"), "callBooked")
            .await;
        let dispatcher = world.dispatcher_with_jitter(inbox.mailer(), jitter);
        let now = world.now();
        world.book("Pricing", 1).await;
        assert_eq!(
            dispatcher.run_once(now).await.unwrap(),
            3,
            "all but the webhook"
        );
        let due = now + TimeDelta::milliseconds(wait_ms);
        assert_eq!(
            dispatcher
                .run_once(due - TimeDelta::milliseconds(1))
                .await
                .unwrap(),
            0,
            "jitter {jitter}: not due a millisecond early"
        );
        assert_eq!(
            dispatcher.run_once(due).await.unwrap(),
            1,
            "jitter {jitter}: due exactly then"
        );
        assert_eq!(receiver.hooks("/flaky").len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_always_fails_makes_the_entry_dead_listed_and_logged() {
    logs();
    // Counted on this thread's own recorder: `run_once` runs on the test's thread.
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let counted = recorder.handle();
    let _recording = metrics::set_default_local_recorder(&recorder);
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::start();
    let receiver = Receiver::start(script).await;
    let world = World::new(Ports::of(sqlite(&dir).await)).await;
    world
        .subscribe(1, &receiver.url("/fail"), "callBooked")
        .await;
    let policy = RetryPolicy {
        max_attempts: 3,
        base_delay: TimeDelta::seconds(10),
        max_delay: TimeDelta::minutes(1),
    };
    let dispatcher = world.dispatcher(inbox.mailer()).with_retry_policy(policy);
    let booked = world.book("Pricing", 1).await;
    let hook_key = key(&booked, "webhook:callBooked");
    let mut now = world.now();
    dispatcher.run_once(now).await.unwrap();
    for _ in 0..5 {
        now += TimeDelta::minutes(5);
        dispatcher.run_once(now).await.unwrap();
    }
    assert_eq!(
        receiver.hooks("/fail").len(),
        3,
        "max_attempts, then no more"
    );
    let dead = world.ports.outbox.dead_entries(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].entry.key, hook_key);
    assert_eq!(dead[0].entry.attempts, 3);
    assert!(dead[0].last_error.contains("500"), "{}", dead[0].last_error);
    let logged = logs();
    assert!(
        logged
            .lines()
            .any(|l| l.contains("WARN") && l.contains("dead") && l.contains(&hook_key)),
        "a warn line names the dead key"
    );
    let metrics = counted.render();
    for (series, value) in [
        (
            r#"slotkeeper_outbox_deliveries_total{kind="webhook",result="failed"}"#,
            3,
        ),
        (r#"slotkeeper_outbox_retries_total{kind="webhook"}"#, 2),
        (r#"slotkeeper_outbox_dead_total{kind="webhook"}"#, 1),
    ] {
        assert!(
            metrics.lines().any(|l| l == format!("{series} {value}")),
            "{series} {value}: {metrics}"
        );
    }
    assert!(
        metrics.contains(r#"slotkeeper_outbox_deliveries_total{kind="email",result="delivered"}"#),
        "{metrics}"
    );
}

/// A mailer that sends `pass` mails, then hangs forever on the next: a process that dies in
/// the middle of a delivery, before anything reached the server.
#[derive(Debug)]
struct HangsAfter {
    inner: Arc<dyn Mailer>,
    pass: usize,
    sent: AtomicUsize,
    hung: tokio::sync::Notify,
}

#[async_trait]
impl Mailer for HangsAfter {
    fn sender(&self) -> &Mailbox {
        self.inner.sender()
    }

    async fn send(&self, message: &Message) -> Result<(), MailError> {
        if self.sent.fetch_add(1, Ordering::SeqCst) >= self.pass {
            self.hung.notify_one();
            std::future::pending::<()>().await;
        }
        self.inner.send(message).await
    }
}

/// A mailer on which every mail takes 20 s of the manual clock, and which notes each mail
/// whose outbox entry was no longer leased when its sending began.
struct SlowMailer {
    inner: Arc<dyn Mailer>,
    clock: booking_core::testkit::ManualClock,
    bookings: Arc<dyn BookingStore>,
    rows: Vec<booking_core::BookingId>,
    lapsed: std::sync::Mutex<Vec<String>>,
}

impl std::fmt::Debug for SlowMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlowMailer").finish_non_exhaustive()
    }
}

#[async_trait]
impl Mailer for SlowMailer {
    fn sender(&self) -> &Mailbox {
        self.inner.sender()
    }

    async fn send(&self, message: &Message) -> Result<(), MailError> {
        use booking_core::ports::Clock as _;
        let id = message
            .headers()
            .get_raw("Message-ID")
            .unwrap_or_default()
            .trim()
            .to_owned();
        let now = self.clock.now();
        for row in &self.rows {
            for entry in self.bookings.pending_effects(*row).await.unwrap() {
                let lapsed = entry.leased_until.is_none_or(|until| until <= now);
                if message_id(&entry.key) == id && lapsed {
                    self.lapsed.lock().unwrap().push(entry.key.clone());
                }
            }
        }
        self.clock.advance(TimeDelta::seconds(20));
        self.inner.send(message).await
    }
}

/// A worker whose batch takes longer than its lease stops starting deliveries while a
/// quarter of the lease is left and claims the rest anew: no mail is begun on a lapsed claim
/// (which another worker could take and send again), and each goes out once.
///
/// Each mail moves the clock 20 s and the worker sends up to 8 at once (`with_in_flight`), so
/// one flight spans at most 160 s whatever order its sends run in. The 200-second lease fits
/// one flight but not the three of the 24 mails, which one claim (up to 64 entries) holds:
/// without the quarter rule the third flight would begin after the claim ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_outlasts_its_lease_is_not_delivered_on_a_lapsed_claim() {
    let poll = std::time::Duration::from_millis(20);
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::start();
    let world = World::new(Ports::of(sqlite(&dir).await)).await;
    let mut rows = Vec::new();
    for slot in 0..12 {
        rows.push(world.book("Pricing", slot).await.id());
    }
    let slow = Arc::new(SlowMailer {
        inner: inbox.mailer(),
        clock: world.clock.clone(),
        bookings: world.ports.bookings.clone(),
        rows,
        lapsed: std::sync::Mutex::new(Vec::new()),
    });
    let dispatcher = Arc::new(
        world
            .dispatcher(slow.clone())
            .with_lease(TimeDelta::seconds(200))
            .with_in_flight(8)
            .with_poll_interval(poll),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers = tokio::spawn(dispatcher.run(1, None, stopped));
    for _ in 0..1500 {
        if inbox.all().len() >= 24 {
            break;
        }
        tokio::time::sleep(poll).await;
    }
    stop.send(true).unwrap();
    workers.await.unwrap();
    assert_eq!(slow.lapsed.lock().unwrap().clone(), Vec::<String>::new());
    assert_eq!(inbox.all().len(), 24, "two mails per booking, once each");
}

/// A worker's flight reads a booking's rows once for all its entries about that booking
/// (here two mails, a webhook and a calendar entry each), not once per entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flight_reads_each_bookings_rows_once() {
    let poll = std::time::Duration::from_millis(20);
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::start();
    let receiver = Receiver::start(ok_receiver).await;
    let store = Arc::new(sqlite(&dir).await);
    let counted = Arc::new(CountedReads::new(store.clone()));
    let world = World::new(Ports {
        bookings: counted.clone(),
        outbox: store.clone(),
        subscriptions: store,
    })
    .await;
    world
        .subscribe(1, &receiver.url("/all"), "callBooked")
        .await;
    for slot in [1, 3, 5] {
        world.book("Pricing", slot).await;
    }
    let before = counted.booking_reads();
    let dispatcher = Arc::new(world.dispatcher(inbox.mailer()).with_poll_interval(poll));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers = tokio::spawn(dispatcher.run(1, None, stopped));
    for _ in 0..500 {
        if inbox.all().len() >= 6 && receiver.hooks("/all").len() >= 3 {
            break;
        }
        tokio::time::sleep(poll).await;
    }
    stop.send(true).unwrap();
    workers.await.unwrap();
    assert_eq!(inbox.all().len(), 6);
    assert_eq!(receiver.hooks("/all").len(), 3);
    assert_eq!(
        counted.booking_reads() - before,
        3,
        "one read of each booking"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_killed_mid_run_neither_loses_nor_repeats_a_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::start();
    let receiver = Receiver::start(ok_receiver).await;
    let world = World::new(Ports::of(sqlite(&dir).await)).await;
    let sub = world
        .subscribe(1, &receiver.url("/all"), "callBooked,callCancelled")
        .await;
    let now = world.now();
    let mut rows = Vec::new();
    for slot in [1, 3, 5] {
        rows.push(world.book("Pricing", slot).await);
    }
    let cancelled = world.cancel(&rows[2], "changed my mind").await;
    // 3 bookings × 4 effects + a cancel's 4: 16 entries, 8 of them mails, 4 webhooks.

    let hanging = Arc::new(HangsAfter {
        inner: inbox.mailer(),
        pass: 3,
        sent: AtomicUsize::new(0),
        hung: tokio::sync::Notify::new(),
    });
    let doomed = world.dispatcher(hanging.clone());
    tokio::select! {
        _ = doomed.run_once(now) => panic!("the doomed run should hang"),
        () = hanging.hung.notified() => {}
    }
    // The run future is dropped here, mid-delivery, holding leases on the rest of its batch.
    drop(doomed);
    assert_eq!(inbox.all().len(), 3);

    // Another process starts at once: it does not touch what the dead one still holds.
    let survivor = world.dispatcher(inbox.mailer());
    survivor.run_once(now).await.unwrap();
    let before_expiry = inbox.all().len();
    assert!(
        before_expiry < 8,
        "leased entries wait for the lease to end"
    );
    // After the lease (60 s) everything comes back and is delivered.
    survivor
        .run_once(now + TimeDelta::seconds(61))
        .await
        .unwrap();
    assert_eq!(
        survivor.run_once(now + TimeDelta::hours(1)).await.unwrap(),
        0
    );

    let mails = inbox.all();
    let mut expected: BTreeSet<String> = BTreeSet::new();
    for row in &rows {
        for who in ["Attendee", "Host"] {
            expected.insert(message_id(&key(row, &format!("email:Booked:{who}"))));
        }
    }
    for who in ["Attendee", "Host"] {
        expected.insert(message_id(&key(
            &cancelled,
            &format!("email:Cancelled:{who}"),
        )));
    }
    let got: Vec<String> = mails
        .iter()
        .map(|m| format!("<{}>", m.message_id))
        .collect();
    assert_eq!(got.len(), 8, "no mail twice: {got:?}");
    assert_eq!(
        got.into_iter().collect::<BTreeSet<_>>(),
        expected,
        "no mail lost"
    );

    let hooks = receiver.hooks("/all");
    let ids: BTreeSet<String> = hooks.iter().map(|h| h.id().to_owned()).collect();
    assert_eq!(hooks.len(), 4, "no webhook twice");
    assert_eq!(ids.len(), 4, "no webhook lost");
    assert!(hooks.iter().all(|h| h.verify(sub.secret.expose())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_dispatchers_on_one_postgres_never_deliver_twice() {
    let db = PgDatabase::create().await;
    let first = PostgresStore::connect(&db.url, SEAL_KEY).await.unwrap();
    let second = PostgresStore::connect(&db.url, SEAL_KEY).await.unwrap();
    let inbox = Inbox::start();
    let receiver = Receiver::start(ok_receiver).await;
    let world = World::new(Ports::of(first.clone())).await;
    world
        .subscribe(1, &receiver.url("/all"), "callBooked")
        .await;
    let other = World::new(Ports::of(second.clone())).await;
    for slot in 0..8 {
        world.book("Pricing", slot).await;
    }
    let now = world.now();
    let a = world.dispatcher(inbox.mailer());
    let b = other.dispatcher(inbox.mailer());
    let (da, db_count) = tokio::join!(a.run_once(now), b.run_once(now));
    let (da, dbc) = (da.unwrap(), db_count.unwrap());
    assert_eq!(da + dbc, 32, "8 bookings × 4 entries");
    assert!(da > 0 && dbc > 0, "both shared the work: {da} + {dbc}");
    let mails = inbox.all();
    let ids: BTreeSet<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!((mails.len(), ids.len()), (16, 16));
    let hooks = receiver.hooks("/all");
    let hook_ids: BTreeSet<&str> = hooks.iter().map(|h| h.id()).collect();
    assert_eq!((hooks.len(), hook_ids.len()), (8, 8));
    first.pool().close().await;
    second.pool().close().await;
    db.drop_it().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_comes_out_escaped_in_mails_and_webhooks() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::start();
    let receiver = Receiver::start(ok_receiver).await;
    let world = World::new(Ports::of(sqlite(&dir).await)).await;
    world
        .subscribe(
            1,
            &receiver.url("/all"),
            "callBooked,callRescheduled,callCancelled",
        )
        .await;
    let dispatcher = world.dispatcher(inbox.mailer());
    let hostile = hostile_text();
    // An answer is capped at ANSWER_MAX characters; the domain stores line breaks as `\n`.
    let answer: String = hostile.chars().take(ANSWER_MAX).collect();
    let booked = world.book(&answer, 1).await;
    let moved = world.reschedule(&booked, 3, &hostile).await;
    world.cancel(&moved, &hostile).await;
    assert_eq!(dispatcher.run_once(world.now()).await.unwrap(), 12);

    let mails = inbox.all();
    assert_eq!(mails.len(), 6);
    for mail in &mails {
        assert!(
            !mail
                .header_names
                .iter()
                .any(|h| h.eq_ignore_ascii_case("bcc")),
            "no injected header"
        );
        assert!(!mail.subject.contains("pwned"));
        assert_eq!(mail.envelope_to.len(), 1);
        assert!(!mail.html.contains("<script>"), "HTML escaped");
        if let Some(ics) = &mail.calendar {
            assert!(
                ics.parse::<icalendar::Calendar>().is_ok(),
                "the invite still parses"
            );
            assert!(!ics.contains("\r\nBcc:"), "no injected ics line");
        }
    }
    assert!(
        mails
            .iter()
            .any(|m| m.html.contains("&lt;script&gt;") || m.text.contains("<script>")),
        "the text itself is kept"
    );
    let hooks = receiver.hooks("/all");
    assert_eq!(hooks.len(), 3);
    for hook in &hooks {
        assert!(!hook.body.contains(&b'\r'), "no raw CR in JSON");
        let json = hook.json();
        assert_eq!(
            json[0]["questions_and_answers"][0]["answer"],
            answer.replace("\r\n", "\n").as_str()
        );
    }
    let cancel = hooks.last().unwrap().json();
    assert_eq!(
        cancel[0]["event"]["cancel_reason"],
        hostile.replace("\r\n", "\n").as_str()
    );
}

/// `CreateDeal` entries go to the deal sink the binary wires, [`DealRecorder`]: the meeting
/// gets one deal in stage New, a repeated delivery finds it instead of opening another, and a
/// booking outside the chain is refused for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deal_entry_opens_the_meetings_deal_once_through_the_deal_recorder() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::start();
    let store = sqlite(&dir).await;
    let world = World::new(Ports::of(store.clone())).await;
    let settings = LinkSettings {
        title: "Intro call".into(),
        rules: world.link.rules().clone(),
        reconfirmation: None,
        create_deal: true,
        questions: vec!["Topic".into()],
    };
    let deal_link = BookingLink::new(
        world.link.id(),
        world.host.id(),
        world.link.slug().clone(),
        settings,
    )
    .unwrap();
    world.ports.bookings.save_link(&deal_link).await.unwrap();
    let deals: Arc<dyn DealStore> = Arc::new(store);
    let recorder = Arc::new(DealRecorder::new(
        deals.clone(),
        Arc::new(world.clock.clone()),
    ));
    let dispatcher = world
        .dispatcher(inbox.mailer())
        .with_deal_sink(recorder.clone());
    let now = world.now();
    let booked = world.book("Pricing", 1).await;

    assert_eq!(
        dispatcher.run_once(now).await.unwrap(),
        5,
        "two mails, the calendar, the webhook and the deal"
    );
    let deal = deals
        .deal(DealId::for_chain(booked.chain()))
        .await
        .unwrap()
        .expect("the meeting's deal");
    assert_eq!(
        (deal.booking(), deal.stage(), deal.host()),
        (booked.id(), DealStage::New, world.host.id())
    );
    recorder
        .create_deal(booked.chain(), &booked, &key(&booked, "deal"))
        .await
        .unwrap();
    let page = Page {
        offset: 0,
        limit: 10,
    };
    assert_eq!(deals.deals(world.host.id(), page).await.unwrap().total, 1);
    let elsewhere = ChainId::from_uuid(uuid::Uuid::from_u128(99));
    assert!(matches!(
        recorder.create_deal(elsewhere, &booked, "k").await,
        Err(DealSinkError::Permanent(_))
    ));
}

/// A reconfirmation request is recorded on the row when the mailer has it, and only a row
/// so asked is cancelled at its deadline. A request that could only go out too close to its
/// deadline (the dispatcher was down) is not sent, and that booking is never auto-cancelled.
async fn reconfirmation_only_after_a_delivered_request(ports: Ports) {
    let inbox = Inbox::start();
    let world = World::new(ports).await;
    // Ask 4 hours before, cancel 1 hour before: a request must leave 90 minutes.
    let settings = LinkSettings {
        title: "Intro call".into(),
        rules: world.link.rules().clone(),
        reconfirmation: Some(
            ReconfirmationPolicy::new(TimeDelta::hours(4), TimeDelta::hours(1)).unwrap(),
        ),
        create_deal: false,
        questions: vec!["Topic".into()],
    };
    let checked = BookingLink::new(
        world.link.id(),
        world.host.id(),
        world.link.slug().clone(),
        settings,
    )
    .unwrap();
    world.ports.bookings.save_link(&checked).await.unwrap();
    let dispatcher = world.dispatcher(inbox.mailer());
    let asked = world.book("On time", 12).await;
    let late = world.book("Too late", 13).await;
    let deadline = |b: &Booking| b.reconfirm_by().expect("a deadline");
    assert_eq!(dispatcher.run_once(world.now()).await.unwrap(), 8);
    let row = |b: &Booking| {
        let bookings = world.ports.bookings.clone();
        let id = b.id();
        async move { bookings.booking(id).await.unwrap().unwrap() }
    };

    // The first request goes out when due and is recorded then.
    let ask = asked.slot().start() - TimeDelta::hours(4);
    assert_eq!(dispatcher.run_once(ask).await.unwrap(), 1);
    assert_eq!(row(&asked).await.reconfirm_requested_at(), Some(ask));
    let requests = |inbox: &Inbox| {
        inbox
            .all()
            .into_iter()
            .filter(|m| m.subject.starts_with("Please confirm"))
            .count()
    };
    assert_eq!(requests(&inbox), 1);

    // The second is due 30 minutes later, but the dispatcher only comes back an hour before
    // its deadline: dropped, not sent, not recorded.
    let back = deadline(&late) - TimeDelta::hours(1);
    assert_eq!(dispatcher.run_once(back).await.unwrap(), 1, "marked done");
    assert_eq!(requests(&inbox), 1, "no second request");
    assert_eq!(row(&late).await.reconfirm_requested_at(), None);

    // Both deadlines pass: only the asked booking is cancelled, with its mails.
    world.clock.set(deadline(&late));
    assert_eq!(world.sweep().await, 1);
    assert!(matches!(row(&asked).await.status(), Status::Cancelled(_)));
    assert!(matches!(row(&late).await.status(), Status::Confirmed));
    assert_eq!(world.sweep().await, 0);
    dispatcher.run_once(deadline(&late)).await.unwrap();
    let cancelled: Vec<_> = inbox
        .all()
        .into_iter()
        .filter(|m| m.subject.starts_with("Cancelled (not reconfirmed)"))
        .collect();
    assert_eq!(cancelled.len(), 2, "attendee and host: {cancelled:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconfirmation_cancels_only_after_a_delivered_request_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    reconfirmation_only_after_a_delivered_request(Ports::of(sqlite(&dir).await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconfirmation_cancels_only_after_a_delivered_request_on_postgres() {
    let db = PgDatabase::create().await;
    let store = PostgresStore::connect(&db.url, SEAL_KEY).await.unwrap();
    reconfirmation_only_after_a_delivered_request(Ports::of(store.clone())).await;
    store.pool().close().await;
    db.drop_it().await;
}

/// The reconfirmation sweep on the Postgres store, counting its runs.
struct CountedSweep {
    inner: Arc<dyn booking_core::ports::ReconfirmationSweep>,
    runs: Arc<AtomicUsize>,
}

#[async_trait]
impl booking_core::ports::ReconfirmationSweep for CountedSweep {
    async fn expire_unreconfirmed(
        &self,
        limit: u32,
    ) -> Result<usize, booking_core::ports::StoreError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.inner.expire_unreconfirmed(limit).await
    }
}

/// One instance's sweep job on its own connection pool to `url`, and its run counter.
async fn sweep_instance(
    url: &str,
    clock: &booking_core::testkit::ManualClock,
    name: &str,
) -> (PostgresStore, SweepJob, Arc<AtomicUsize>) {
    let store = PostgresStore::connect(url, SEAL_KEY).await.unwrap();
    let scheduler = booking_core::Scheduler::new(
        Arc::new(store.clone()) as Arc<dyn BookingStore>,
        clock.clone(),
        booking_core::testkit::SequentialTokens::new(),
        booking_core::testkit::FixedBusy::default(),
    );
    let runs = Arc::new(AtomicUsize::new(0));
    let job = SweepJob {
        sweep: Arc::new(CountedSweep {
            inner: Arc::new(scheduler),
            runs: runs.clone(),
        }),
        lease: JobLease {
            leases: Arc::new(store.clone()),
            clock: Arc::new(clock.clone()),
            holder: name.to_owned(),
        },
        every: std::time::Duration::from_secs(60),
        limit: dispatch::SWEEP_LIMIT,
    };
    (store, job, runs)
}

/// Three instances on one Postgres database, each running its sweep every minute: each minute
/// exactly one of them sweeps, always the same; when it stops, one of the other two takes the
/// sweep over once the lease has run out (at most a period and a half later) and keeps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_sweep_once_per_period_and_another_takes_over_when_the_holder_stops() {
    let db = PgDatabase::create().await;
    let clock = booking_core::testkit::ManualClock::at(
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2027, 3, 1, 8, 0, 0).unwrap(),
    );
    let mut instances = Vec::new();
    for name in ["a", "b", "c"] {
        instances.push(sweep_instance(&db.url, &clock, name).await);
    }
    // Every instance's timer fires each minute; they race for the lease at the same moment.
    let period = async |alive: &[usize]| -> Vec<usize> {
        let run = |i: usize| {
            let job = instances[i].1.clone();
            let live = alive.contains(&i);
            async move { if live { job.run_once().await } else { None } }
        };
        let (a, b, c) = tokio::join!(run(0), run(1), run(2));
        clock.advance(TimeDelta::minutes(1));
        [a, b, c]
            .iter()
            .enumerate()
            .filter_map(|(i, ran)| ran.map(|_| i))
            .collect()
    };
    let first = period(&[0, 1, 2]).await;
    assert_eq!(first.len(), 1, "one instance sweeps: {first:?}");
    let holder = first[0];
    for minute in 1..6 {
        assert_eq!(period(&[0, 1, 2]).await, vec![holder], "minute {minute}");
    }
    let others: Vec<usize> = (0..3).filter(|i| *i != holder).collect();
    // The holder stops: its lease runs half a period past its last run, so nobody sweeps
    // this minute, and one of the others does from the next.
    assert_eq!(
        period(&others).await,
        Vec::<usize>::new(),
        "lease still held"
    );
    let next = period(&others).await;
    assert_eq!(next.len(), 1, "another instance took over: {next:?}");
    assert!(others.contains(&next[0]));
    for minute in 0..4 {
        assert_eq!(
            period(&others).await,
            next,
            "after the takeover, minute {minute}"
        );
    }
    let runs: Vec<usize> = instances
        .iter()
        .map(|(_, _, runs)| runs.load(Ordering::SeqCst))
        .collect();
    assert_eq!(
        runs.iter().sum::<usize>(),
        6 + 5,
        "one sweep per period: {runs:?}"
    );
    for (store, _, _) in instances {
        store.pool().close().await;
    }
    db.drop_it().await;
}
