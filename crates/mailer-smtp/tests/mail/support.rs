//! Test fixtures: a booking world on the core's testkit, a real SMTP server, a MIME reader.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use booking_core::availability::{AvailabilityRules, DayPeriod, RulesDraft};
use booking_core::invitee::{Answers, Email, Invitee, PersonName, Phone, Reason, Tracking};
use booking_core::link::{BookingLink, Host, LinkSettings, ReconfirmationPolicy, Slug};
use booking_core::ports::BookingStore;
use booking_core::service::BookingRequest;
use booking_core::testkit::{FixedBusy, InMemoryStore, ManualClock, SequentialTokens};
use booking_core::{Booking, HostId, LinkId, Scheduler, TimeRange, TimeZoneName};
use chrono::{TimeDelta, TimeZone, Utc};
use mail_parser::{MessageParser, MimeHeaders};
use mailer_smtp::Mailbox;
use mailin_embedded::{Handler, Response, Server, response};

type TestScheduler = Scheduler<InMemoryStore, ManualClock, SequentialTokens, FixedBusy>;

/// A host in Berlin with an `intro` link (weekdays 09:00–17:00, 30 minutes, reconfirmation
/// asked 24 h and enforced 2 h before), the clock on Monday 2027-03-01 08:00 UTC.
pub struct World {
    pub host: Host,
    pub link: BookingLink,
    store: InMemoryStore,
    clock: ManualClock,
    scheduler: TestScheduler,
    slots: Vec<TimeRange>,
    sender: Mailbox,
}

impl World {
    pub async fn new() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let zone = TimeZoneName::parse("Europe/Berlin").unwrap();
        let store = InMemoryStore::new();
        let host = Host::new(
            HostId::from_uuid(uuid::Uuid::from_u128(1)),
            PersonName::parse("Hana Host").unwrap(),
            Email::parse("hana@example.com").unwrap(),
            zone,
        );
        store.save_host(&host).await.unwrap();
        let rules = AvailabilityRules::new(RulesDraft::weekdays(
            zone,
            DayPeriod::parse("09:00-17:00").unwrap(),
            TimeDelta::minutes(30),
        ))
        .unwrap();
        let reconfirmation =
            ReconfirmationPolicy::new(TimeDelta::hours(24), TimeDelta::hours(2)).unwrap();
        let settings = LinkSettings {
            title: "Intro call".into(),
            rules,
            reconfirmation: Some(reconfirmation),
            create_deal: false,
            questions: vec!["Topic".into(), "Anything else?".into()],
        };
        let slug = Slug::parse("intro").unwrap();
        let link = BookingLink::new(
            LinkId::from_uuid(uuid::Uuid::from_u128(2)),
            host.id(),
            slug.clone(),
            settings,
        )
        .unwrap();
        store.save_link(&link).await.unwrap();
        let clock = ManualClock::at(Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap());
        let scheduler = Scheduler::new(
            store.clone(),
            clock.clone(),
            SequentialTokens::new(),
            FixedBusy::default(),
        );
        let window = TimeRange::new(
            Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2027, 3, 6, 0, 0, 0).unwrap(),
        )
        .unwrap();
        let slots = scheduler.available_slots(&slug, window).await.unwrap();
        let sender = "Slotkeeper <noreply@slotkeeper.test>".parse().unwrap();
        Self {
            host,
            link,
            store,
            clock,
            scheduler,
            slots,
            sender,
        }
    }

    pub fn sender(&self) -> Mailbox {
        self.sender.clone()
    }

    pub fn sender_ref(&self) -> &Mailbox {
        &self.sender
    }

    /// Books the `slot`-th offered slot (on 2027-03-01) for an invitee in New York.
    pub async fn book(&self, name: &str, answers: Vec<(String, String)>, slot: usize) -> Booking {
        let invitee = Invitee::new(
            PersonName::parse(name).unwrap(),
            Email::parse("ada@example.org").unwrap(),
            Some(Phone::parse("+1 212 555 0100").unwrap()),
            TimeZoneName::parse("America/New_York").unwrap(),
        );
        let request = BookingRequest {
            start: self.slots[slot].start(),
            invitee,
            answers: Answers::new(answers).unwrap(),
            tracking: Tracking::from_pairs([
                ("utm_source", "newsletter"),
                ("utm_campaign", "spring"),
            ]),
        };
        self.scheduler
            .book(self.link.slug(), request)
            .await
            .unwrap()
    }

    pub async fn reschedule(&self, row: &Booking, slot: usize, reason: Option<&str>) -> Booking {
        let reason = Reason::parse_optional(reason).unwrap();
        self.scheduler
            .reschedule(row.token().expose(), self.slots[slot].start(), reason)
            .await
            .unwrap()
    }

    pub async fn cancel(&self, row: &Booking, reason: Option<&str>) -> Booking {
        self.scheduler
            .cancel(
                row.token().expose(),
                Reason::parse_optional(reason).unwrap(),
            )
            .await
            .unwrap()
    }

    pub async fn host_cancel(&self, row: &Booking, reason: Option<&str>) -> Booking {
        self.scheduler
            .host_cancel(
                self.host.id(),
                row.id(),
                Reason::parse_optional(reason).unwrap(),
            )
            .await
            .unwrap()
    }

    /// Books a fresh meeting two days out, lets its reconfirmation deadline pass, and returns
    /// the row the system cancelled.
    pub async fn expire_unreconfirmed(&self) -> Booking {
        let later = self
            .slots
            .iter()
            .rposition(|s| s.start() > self.clock_now() + TimeDelta::days(2))
            .unwrap();
        let booked = self.book("Ada Lovelace", vec![], later).await;
        // The dispatcher records the request's delivery; only then may the deadline cancel.
        let asked = booked.reconfirm_by().unwrap() - TimeDelta::hours(12);
        self.store
            .record_reconfirmation_request(booked.id(), asked)
            .await
            .unwrap();
        self.clock.set(booked.slot().start() - TimeDelta::hours(1));
        assert_eq!(self.scheduler.expire_unreconfirmed(10).await.unwrap(), 1);
        self.bookings()
            .await
            .into_iter()
            .find(|b| b.id() == booked.id())
            .unwrap()
    }

    fn clock_now(&self) -> chrono::DateTime<Utc> {
        use booking_core::ports::Clock;
        self.clock.now()
    }

    pub async fn bookings(&self) -> Vec<Booking> {
        self.store.bookings()
    }
}

/// CR/LF with would-be headers, HTML, non-ASCII, padded to 10,000 characters (the limit of a
/// reason or an answer).
pub fn hostile_text() -> String {
    let mut text = "Line one\r\nBcc: evil@example.test\r\nSubject: pwned\r\n\r\n<script>alert('x')</script> & <b>bold</b>; a, b \\ c ÄÖÜ 日本語 🙂 ".to_owned();
    while text.chars().count() < 10_000 {
        text.push_str("Ünïcödé, ");
    }
    text.chars().take(10_000).collect()
}

/// One mail as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub envelope_to: Vec<String>,
    pub data: Vec<u8>,
}

impl Received {
    /// A composed message as it would go over the wire (for tests that need no server).
    pub fn from_message(message: &mailer_smtp::Message) -> Self {
        Self {
            envelope_to: message
                .envelope()
                .to()
                .iter()
                .map(ToString::to_string)
                .collect(),
            data: message.formatted(),
        }
    }
}

/// A real SMTP server on 127.0.0.1 that keeps what it receives.
#[derive(Clone)]
pub struct Inbox {
    received: Arc<Mutex<Vec<Received>>>,
    port: u16,
}

#[derive(Clone)]
struct Collector {
    received: Arc<Mutex<Vec<Received>>>,
    current: Option<Received>,
}

impl Handler for Collector {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Received {
            envelope_to: to.to_vec(),
            data: Vec::new(),
        });
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(current) = &mut self.current {
            current.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(done) = self.current.take() {
            self.received.lock().unwrap().push(done);
        }
        response::OK
    }
}

impl Inbox {
    pub fn start() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let received = Arc::new(Mutex::new(Vec::new()));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut server = Server::new(Collector {
            received: received.clone(),
            current: None,
        });
        // A session per connection the senders may hold: lettre keeps up to 64 idle, and two
        // workers have up to 64 mails in flight (mailin-embedded serves 4 by default; a fifth
        // connection would wait for one of them to close).
        server
            .with_name("inbox.test")
            .with_num_threads(128)
            .with_tcp_listener(listener);
        // mailin-embedded has no shutdown: the thread ends with the test binary.
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { received, port }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// The one mail received after the first `before`.
    pub fn take(&self, before: usize) -> Received {
        let all = self.received.lock().unwrap();
        assert_eq!(all.len(), before + 1, "exactly one new mail");
        all[before].clone()
    }
}

/// What the tests look at in a mail.
#[derive(Debug)]
pub struct Parsed {
    pub envelope_to: Vec<String>,
    pub to: Vec<String>,
    pub from: Option<String>,
    pub subject: String,
    pub message_id: Option<String>,
    pub header_names: Vec<String>,
    pub text: String,
    pub html: String,
    pub calendar_part: Option<String>,
    pub calendar_method: Option<String>,
    pub attachment_ics: Option<String>,
}

pub fn parse(received: Received) -> Parsed {
    let message = MessageParser::default()
        .parse(&received.data)
        .expect("valid MIME");
    let addresses = |a: Option<&mail_parser::Address>| {
        a.map(|a| {
            a.iter()
                .filter_map(|x| x.address().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
    };
    let mut calendar_part = None;
    let mut calendar_method = None;
    let mut attachment_ics = None;
    for part in &message.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        if part.attachment_name() == Some("invite.ics") {
            attachment_ics = Some(String::from_utf8(part.contents().to_vec()).unwrap());
        } else if ct.ctype() == "text" && ct.subtype() == Some("calendar") {
            calendar_method = ct.attribute("method").map(str::to_owned);
            calendar_part = Some(part.text_contents().unwrap().to_owned());
        }
    }
    Parsed {
        envelope_to: received.envelope_to,
        to: addresses(message.to()),
        from: message
            .from()
            .and_then(|f| f.first())
            .and_then(|a| a.address())
            .map(str::to_owned),
        subject: message.subject().unwrap_or_default().to_owned(),
        message_id: message.message_id().map(str::to_owned),
        header_names: message
            .headers()
            .iter()
            .map(|h| h.name().to_owned())
            .collect(),
        text: message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        html: message
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        calendar_part,
        calendar_method,
        attachment_ics,
    }
}
