//! Timed messages (reminders, reconfirmation requests and the auto-cancel) driven by a manual
//! clock on every store: the in-memory one, a SQLite file and a Postgres database. Mails go to
//! a real SMTP server, webhooks to a real receiver, texts to a recording `TextSender`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use booking_core::availability::{AvailabilityRules, DayPeriod, RulesDraft};
use booking_core::invitee::{Answers, Email, Invitee, PersonName, Phone, Tracking};
use booking_core::link::{BookingLink, Host, LinkSettings, ReconfirmationPolicy, Slug};
use booking_core::ports::{BookingStore, NotifyError, StoreError, TextOptOuts, TextSender};
use booking_core::service::BookingRequest;
use booking_core::testkit::{FixedBusy, InMemoryStore, ManualClock, SequentialTokens};
use booking_core::workflows::{MAX_TEXT_SEGMENTS, text_segments};
use booking_core::{Booking, LinkId, Scheduler, Status, TimeZoneName};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use dispatch::{Dispatcher, TextChannel};
use store_postgres::PostgresStore;

use crate::support::{BASE_URL, Inbox, PgDatabase, Ports, Receiver, World};
use crate::{SEAL_KEY, ok_receiver, sqlite};

type Svc = Scheduler<Arc<dyn BookingStore>, ManualClock, SequentialTokens, FixedBusy>;

/// One text as the sender got it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sent {
    to: String,
    body: String,
    key: String,
}

/// A `TextSender` that records what it carries; its first `failures` calls fail transiently.
#[derive(Debug, Default)]
struct RecordingTexts {
    sent: Mutex<Vec<Sent>>,
    calls: AtomicUsize,
    failures: usize,
}

#[async_trait]
impl TextSender for RecordingTexts {
    async fn send_text(&self, to: &str, body: &str, key: &str) -> Result<(), NotifyError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(NotifyError::Transient("503 from the SMS API".into()));
        }
        self.sent.lock().unwrap().push(Sent {
            to: to.into(),
            body: body.into(),
            key: key.into(),
        });
        Ok(())
    }
}

impl RecordingTexts {
    fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }
}

/// Opt-outs kept in memory.
#[derive(Debug, Default)]
struct OptOuts(Mutex<BTreeSet<String>>);

#[async_trait]
impl TextOptOuts for OptOuts {
    async fn is_opted_out(&self, phone: &str) -> Result<bool, StoreError> {
        Ok(self.0.lock().unwrap().contains(phone))
    }
    async fn set_opted_out(
        &self,
        phone: &str,
        opted_out: bool,
        _at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut set = self.0.lock().unwrap();
        if opted_out {
            set.insert(phone.into());
        } else {
            set.remove(phone);
        }
        Ok(())
    }
}

/// The support world (Berlin host, clock Monday 2027-03-01 08:00 UTC) with a second link,
/// `checked`, that asks for reconfirmation 30 hours before and cancels 20 hours before.
struct Timeline {
    world: World,
    checked: BookingLink,
    svc: Svc,
    texts: Arc<RecordingTexts>,
    opt_outs: Arc<OptOuts>,
}

/// Thursday 2027-03-04 at `h`:00 UTC (Berlin office hours are 08:00–16:00 UTC).
fn thursday(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 4, h, 0, 0).unwrap()
}

impl Timeline {
    async fn new(ports: Ports, failing_texts: usize) -> Self {
        let world = World::new(ports).await;
        let zone = TimeZoneName::parse("Europe/Berlin").unwrap();
        let settings = LinkSettings {
            title: "Checked call".into(),
            rules: AvailabilityRules::new(RulesDraft::weekdays(
                zone,
                DayPeriod::parse("09:00-17:00").unwrap(),
                TimeDelta::minutes(30),
            ))
            .unwrap(),
            reconfirmation: Some(
                ReconfirmationPolicy::new(TimeDelta::minutes(30 * 60), TimeDelta::minutes(20 * 60))
                    .unwrap(),
            ),
            create_deal: false,
            questions: vec![],
        };
        let checked = BookingLink::new(
            LinkId::from_uuid(uuid::Uuid::from_u128(3)),
            world.host.id(),
            Slug::parse("checked").unwrap(),
            settings,
        )
        .unwrap();
        world.ports.bookings.save_link(&checked).await.unwrap();
        let svc = Scheduler::new(
            world.ports.bookings.clone(),
            world.clock.clone(),
            SequentialTokens::new(),
            FixedBusy::default(),
        );
        Self {
            world,
            checked,
            svc,
            texts: Arc::new(RecordingTexts {
                failures: failing_texts,
                ..RecordingTexts::default()
            }),
            opt_outs: Arc::default(),
        }
    }

    fn host(&self) -> &Host {
        &self.world.host
    }

    async fn book(&self, link: &BookingLink, start: DateTime<Utc>, phone: Option<&str>) -> Booking {
        let invitee = Invitee::new(
            PersonName::parse("Ada Lovelace").unwrap(),
            Email::parse("ada@example.org").unwrap(),
            phone.map(|p| Phone::parse(p).unwrap()),
            TimeZoneName::parse("America/New_York").unwrap(),
        );
        let answers = if link.questions().is_empty() {
            Answers::default()
        } else {
            Answers::new(vec![("Topic".into(), "Pricing".into())]).unwrap()
        };
        let request = BookingRequest {
            start,
            invitee,
            answers,
            tracking: Tracking::default(),
        };
        self.svc.book(link.slug(), request).await.unwrap()
    }

    fn dispatcher(&self, inbox: &Inbox) -> Dispatcher {
        self.world
            .dispatcher(inbox.mailer())
            .with_texts(TextChannel {
                sender: self.texts.clone(),
                opt_outs: self.opt_outs.clone(),
            })
    }

    fn set(&self, at: DateTime<Utc>) {
        self.world.clock.set(at);
    }

    async fn run(&self, inbox: &Inbox) -> usize {
        self.dispatcher(inbox)
            .run_once(self.world.now())
            .await
            .unwrap()
    }

    async fn current(&self, row: &Booking) -> Booking {
        self.world
            .ports
            .bookings
            .booking(row.id())
            .await
            .unwrap()
            .unwrap()
    }
}

fn subjects(inbox: &Inbox, prefix: &str) -> Vec<(String, String)> {
    inbox
        .all()
        .into_iter()
        .filter(|m| m.subject.starts_with(prefix))
        .map(|m| (m.envelope_to.join(","), m.subject))
        .collect()
}

/// Reminder at T−24 h, once, however many dispatchers run; by mail and by text.
async fn reminder_once(ports: Ports) {
    let t = Timeline::new(ports, 0).await;
    let inbox = Inbox::start();
    let link = t.world.link.clone();
    let meeting = t.book(&link, thursday(9), Some("+44 20 7946 0018")).await;
    t.run(&inbox).await;
    assert!(subjects(&inbox, "Reminder").is_empty());

    t.set(thursday(9) - TimeDelta::hours(24) - TimeDelta::minutes(1));
    t.run(&inbox).await;
    assert!(
        subjects(&inbox, "Reminder").is_empty(),
        "not before its time"
    );
    assert!(t.texts.sent().is_empty());

    t.set(thursday(9) - TimeDelta::hours(24));
    let (a, b) = (t.dispatcher(&inbox), t.dispatcher(&inbox));
    let now = t.world.now();
    let (da, db) = tokio::join!(a.run_once(now), b.run_once(now));
    assert_eq!(
        da.unwrap() + db.unwrap(),
        2,
        "one mail entry and one text entry"
    );
    t.run(&inbox).await;
    let reminders = subjects(&inbox, "Reminder");
    assert_eq!(
        reminders,
        [(
            "ada@example.org".to_owned(),
            "Reminder: Intro call with Hana Host on Thu 4 Mar 2027 04:00 EST".to_owned()
        )]
    );
    let sent = t.texts.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].to, "+442079460018");
    assert_eq!(sent[0].key, format!("{}:text:Reminder", meeting.id()));
    let link_url = format!("{BASE_URL}/book/reschedule/{}", meeting.token().expose());
    assert!(sent[0].body.contains(&link_url), "{}", sent[0].body);
    assert!(
        sent[0].body.contains("Thu 4 Mar 04:00 EST"),
        "{}",
        sent[0].body
    );
    assert!(text_segments(&sent[0].body) <= MAX_TEXT_SEGMENTS);
}

/// A reschedule plans the new row's reminder and the old one is never sent; a cancel drops it.
async fn reschedule_moves_cancel_drops(ports: Ports) {
    let t = Timeline::new(ports, 0).await;
    let inbox = Inbox::start();
    let link = t.world.link.clone();
    let moved = t.book(&link, thursday(9), Some("+12125550123")).await;
    let dropped = t.book(&link, thursday(11), Some("+12125550177")).await;
    let moved = t
        .svc
        .reschedule(
            moved.token().expose(),
            thursday(9) + TimeDelta::days(1),
            None,
        )
        .await
        .unwrap();
    t.svc.cancel(dropped.token().expose(), None).await.unwrap();
    t.run(&inbox).await;

    t.set(thursday(12) - TimeDelta::hours(24));
    t.run(&inbox).await;
    assert!(
        subjects(&inbox, "Reminder").is_empty(),
        "old times: nothing"
    );
    assert!(t.texts.sent().is_empty());

    t.set(thursday(9));
    t.run(&inbox).await;
    assert_eq!(subjects(&inbox, "Reminder").len(), 1);
    let sent = t.texts.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].key, format!("{}:text:Reminder", moved.id()));
    assert!(sent[0].body.contains(moved.token().expose()));
}

/// Reconfirmation: asked by mail and text at T−30 h; the one who clicks keeps the meeting;
/// the one who does not is cancelled once at T−20 h even though nothing ran across the
/// deadline (mail to both and a webhook); a booking made inside the window is never asked.
/// Reminders whose moment passed while nothing ran go out late.
async fn reconfirmation_flow(ports: Ports) {
    let t = Timeline::new(ports, 0).await;
    let inbox = Inbox::start();
    let receiver = Receiver::start(ok_receiver).await;
    t.world
        .subscribe(1, &receiver.url("/hooks"), "callCancelled")
        .await;
    let link = t.checked.clone();
    let clicks = t.book(&link, thursday(9), Some("+12125550123")).await;
    let silent = t.book(&link, thursday(10), None).await;
    assert_eq!(
        silent.reconfirm_by(),
        Some(thursday(10) - TimeDelta::hours(20))
    );
    t.run(&inbox).await;

    t.set(thursday(10) - TimeDelta::hours(30));
    t.run(&inbox).await;
    let asked = subjects(&inbox, "Please confirm");
    assert_eq!(asked.len(), 2, "{asked:?}");
    let texts = t.texts.sent();
    assert_eq!(texts.len(), 1, "only the attendee with a phone: {texts:?}");
    let reconfirm_url = format!("{BASE_URL}/book/reconfirm/{}", clicks.token().expose());
    assert!(texts[0].body.contains(&reconfirm_url), "{}", texts[0].body);
    assert!(text_segments(&texts[0].body) <= MAX_TEXT_SEGMENTS);
    t.svc.reconfirm(clicks.token().expose()).await.unwrap();

    // Booked an hour later for 10:30, inside its 30-hour asking window: counts as confirmed.
    t.set(thursday(10) - TimeDelta::hours(29));
    let inside = t
        .book(
            &link,
            thursday(10) + TimeDelta::minutes(30),
            Some("+12125550111"),
        )
        .await;
    assert_eq!(inside.reconfirm_by(), None);

    // Nothing runs from here until hours past every deadline; then the sweep runs on two
    // instances and the dispatcher twice.
    t.set(thursday(10) - TimeDelta::hours(17));
    assert_eq!(t.svc.expire_unreconfirmed(100).await.unwrap(), 1);
    assert_eq!(t.svc.expire_unreconfirmed(100).await.unwrap(), 0);
    t.run(&inbox).await;
    t.run(&inbox).await;
    assert!(matches!(
        t.current(&clicks).await.status(),
        Status::Confirmed
    ));
    assert!(matches!(
        t.current(&inside).await.status(),
        Status::Confirmed
    ));
    assert!(matches!(
        t.current(&silent).await.status(),
        Status::Cancelled(_)
    ));
    let cancelled = subjects(&inbox, "Cancelled (not reconfirmed)");
    let to: BTreeSet<String> = cancelled.iter().map(|(to, _)| to.clone()).collect();
    assert_eq!(cancelled.len(), 2, "{cancelled:?}");
    assert_eq!(
        to,
        BTreeSet::from([
            "ada@example.org".to_owned(),
            t.host().email().as_str().to_owned()
        ])
    );
    let attendee_mail = inbox
        .all()
        .into_iter()
        .find(|m| {
            m.subject.starts_with("Cancelled (not reconfirmed)")
                && m.envelope_to == ["ada@example.org"]
        })
        .unwrap();
    assert!(
        attendee_mail
            .text
            .contains("because it was not reconfirmed"),
        "{}",
        attendee_mail.text
    );
    let hooks = receiver.hooks("/hooks");
    assert_eq!(hooks.len(), 1, "one callCancelled webhook");
    assert_eq!(
        hooks[0].id(),
        format!("{}:webhook:callCancelled", silent.id())
    );
    // Nobody else was asked; the reminders of the two live meetings went out late, the
    // cancelled one's not at all.
    assert_eq!(subjects(&inbox, "Please confirm").len(), 2);
    assert_eq!(subjects(&inbox, "Reminder").len(), 2);
    let keys: BTreeSet<String> = t.texts.sent().into_iter().map(|s| s.key).collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            format!("{}:text:ReconfirmationRequest", clicks.id()),
            format!("{}:text:Reminder", clicks.id()),
            format!("{}:text:Reminder", inside.id()),
        ])
    );
}

/// A failing SMS API is retried with backoff; the mail beside it goes out at once. Without a
/// channel, or for an opted-out number, the text entry is done without a send.
async fn failing_texts(ports: Ports) {
    let t = Timeline::new(ports, 1).await;
    let inbox = Inbox::start();
    let link = t.world.link.clone();
    t.book(&link, thursday(9), Some("+12125550123")).await;
    t.book(&link, thursday(10), Some("+12125550177")).await;
    t.opt_outs
        .set_opted_out("+12125550177", true, t.world.now())
        .await
        .unwrap();
    t.run(&inbox).await;
    t.set(thursday(10) - TimeDelta::hours(24));
    t.run(&inbox).await;
    assert_eq!(
        subjects(&inbox, "Reminder").len(),
        2,
        "mails are not held back"
    );
    assert!(t.texts.sent().is_empty(), "the first attempt failed");
    assert_eq!(
        t.texts.calls.load(Ordering::SeqCst),
        1,
        "opted out: never sent"
    );
    t.set(thursday(10) - TimeDelta::hours(23));
    t.run(&inbox).await;
    assert_eq!(t.texts.sent().len(), 1, "retried once, delivered");
    t.run(&inbox).await;
    assert_eq!(t.texts.calls.load(Ordering::SeqCst), 2);
    assert_eq!(subjects(&inbox, "Reminder").len(), 2);

    // No channel configured: the reminder mail goes, the text entry is simply done.
    let bare = Timeline::new(Ports::of(InMemoryStore::new()), 0).await;
    let bare_inbox = Inbox::start();
    let bare_link = bare.world.link.clone();
    bare.book(&bare_link, thursday(9), Some("+12125550123"))
        .await;
    let plain = bare.world.dispatcher(bare_inbox.mailer());
    plain.run_once(bare.world.now()).await.unwrap();
    bare.set(thursday(9) - TimeDelta::hours(24));
    let delivered = plain.run_once(bare.world.now()).await.unwrap();
    assert_eq!(delivered, 2, "the mail, and the text entry marked done");
    assert_eq!(subjects(&bare_inbox, "Reminder").len(), 1);
    assert_eq!(bare.texts.calls.load(Ordering::SeqCst), 0);
}

/// A link's own workflow: a host mail on booking (the host's wording, escaped in HTML), a text
/// two hours before, a webhook on cancel, the no-show follow-up preset, and a thank-you after
/// the end that a no-show does not get.
async fn own_workflow(ports: Ports) {
    use booking_core::workflows::{Action, Template, Trigger, Workflow, preset};
    let t = Timeline::new(ports, 0).await;
    let inbox = Inbox::start();
    let receiver = Receiver::start(ok_receiver).await;
    t.world
        .subscribe(2, &receiver.url("/steps"), "workflowStep")
        .await;
    let (no_show, follow_up, sorry) = preset("no_show_follow_up").unwrap();
    let workflow = Workflow::new(
        vec![
            (
                Trigger::Booked,
                Action::EmailHost,
                Some(
                    Template::mail(
                        "New: {attendee_name}",
                        "<b>{title}</b> at {start} & more: {reschedule_url}",
                    )
                    .unwrap(),
                ),
            ),
            (
                Trigger::BeforeStart(120),
                Action::TextAttendee,
                Some(Template::text("{title} soon: {reschedule_url}").unwrap()),
            ),
            (
                Trigger::AfterEnd(60),
                Action::EmailAttendee,
                Some(Template::mail("Thanks {attendee_name}", "Again? {book_again_url}").unwrap()),
            ),
            (no_show, follow_up, Some(sorry)),
            (Trigger::Cancelled, Action::Webhook, None),
        ],
        true,
        true,
    )
    .unwrap();
    let link = t.world.link.clone().with_workflow(Some(workflow));
    t.world.ports.bookings.save_link(&link).await.unwrap();
    let kept = t.book(&link, thursday(9), Some("+12125550123")).await;
    let dropped = t.book(&link, thursday(10), Some("+12125550177")).await;
    t.run(&inbox).await;
    let new = inbox
        .all()
        .into_iter()
        .filter(|m| m.subject == "New: Ada Lovelace")
        .collect::<Vec<_>>();
    assert_eq!(new.len(), 2, "one per booking");
    assert!(
        new[0].html.contains("&lt;b&gt;Intro call&lt;/b&gt;"),
        "{}",
        new[0].html
    );
    assert!(
        new[0].text.contains("<b>Intro call</b> at Thu 4 Mar 2027"),
        "{}",
        new[0].text
    );
    assert_eq!(
        subjects(&inbox, "Reminder").len(),
        0,
        "its own steps replace the standard reminder"
    );

    t.svc.cancel(dropped.token().expose(), None).await.unwrap();
    t.run(&inbox).await;
    let hooks = receiver.hooks("/steps");
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].id(), format!("{}:step:5", dropped.id()));
    assert_eq!(hooks[0].json()[0]["hookType"], "Workflow step");

    t.set(thursday(7));
    t.run(&inbox).await;
    let sent = t.texts.sent();
    assert_eq!(
        sent.len(),
        1,
        "the cancelled booking's text is dropped: {sent:?}"
    );
    assert_eq!(sent[0].key, format!("{}:step:2", kept.id()));
    assert!(
        sent[0].body.starts_with("Intro call soon: "),
        "{}",
        sent[0].body
    );

    t.set(thursday(9) + TimeDelta::minutes(40));
    t.svc.mark_no_show(t.host().id(), kept.id()).await.unwrap();
    t.set(thursday(11));
    t.run(&inbox).await;
    let sorry = subjects(&inbox, "Sorry we missed you");
    assert_eq!(
        sorry,
        [(
            "ada@example.org".to_owned(),
            "Sorry we missed you: Intro call".to_owned()
        )]
    );
    let mail = inbox
        .all()
        .into_iter()
        .find(|m| m.subject.starts_with("Sorry"))
        .unwrap();
    assert!(
        mail.text.contains(&format!("{BASE_URL}/book/intro")),
        "{}",
        mail.text
    );
    assert!(
        subjects(&inbox, "Thanks").is_empty(),
        "no thank-you after a no-show"
    );
}

macro_rules! on_every_store {
    ($scenario:ident, $memory:ident, $sqlite:ident, $postgres:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $memory() {
            $scenario(Ports::of(InMemoryStore::new())).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            let dir = tempfile::tempdir().unwrap();
            $scenario(Ports::of(sqlite(&dir).await)).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $postgres() {
            let db = PgDatabase::create().await;
            let store = PostgresStore::connect(&db.url, SEAL_KEY).await.unwrap();
            $scenario(Ports::of(store.clone())).await;
            store.pool().close().await;
            db.drop_it().await;
        }
    };
}

on_every_store!(
    reminder_once,
    reminder_goes_out_a_day_before_exactly_once_in_memory,
    reminder_goes_out_a_day_before_exactly_once_on_sqlite,
    reminder_goes_out_a_day_before_exactly_once_on_postgres
);
on_every_store!(
    reschedule_moves_cancel_drops,
    reschedule_moves_the_reminder_and_cancel_drops_it_in_memory,
    reschedule_moves_the_reminder_and_cancel_drops_it_on_sqlite,
    reschedule_moves_the_reminder_and_cancel_drops_it_on_postgres
);
on_every_store!(
    reconfirmation_flow,
    reconfirmation_keeps_clickers_and_cancels_the_silent_once_in_memory,
    reconfirmation_keeps_clickers_and_cancels_the_silent_once_on_sqlite,
    reconfirmation_keeps_clickers_and_cancels_the_silent_once_on_postgres
);
on_every_store!(
    own_workflow,
    a_links_own_workflow_runs_its_steps_once_in_memory,
    a_links_own_workflow_runs_its_steps_once_on_sqlite,
    a_links_own_workflow_runs_its_steps_once_on_postgres
);
on_every_store!(
    failing_texts,
    a_failing_text_sender_is_retried_and_never_blocks_mail_in_memory,
    a_failing_text_sender_is_retried_and_never_blocks_mail_on_sqlite,
    a_failing_text_sender_is_retried_and_never_blocks_mail_on_postgres
);
