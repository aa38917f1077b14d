//! Fixtures for the dispatcher tests: a booking world on a real store, a real SMTP server, a
//! webhook receiver over real HTTP with its own Standard Webhooks check, fresh Postgres
//! databases, and a log capture.

#![allow(dead_code, reason = "each test uses part of the fixtures")]

use std::collections::BTreeMap;
use std::net::TcpListener as StdListener;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use booking_core::availability::{AvailabilityRules, DayPeriod, RulesDraft};
use booking_core::invitee::{Answers, Email, Invitee, PersonName, Reason, Tracking};
use booking_core::link::{BookingLink, Host, LinkSettings, Slug};
use booking_core::ports::{BookingStore, Outbox};
use booking_core::service::BookingRequest;
use booking_core::subscriptions::{
    SubscriptionId, SubscriptionSecret, TargetUrl, WebhookSubscription, WebhookSubscriptions,
    parse_events,
};
use booking_core::testkit::{FixedBusy, ManualClock, SequentialTokens};
use booking_core::{Booking, HostId, LinkId, Scheduler, TimeRange, TimeZoneName};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use dispatch::{Dispatcher, Parts};
use mail_parser::{MessageParser, MimeHeaders};
use mailer_smtp::{MailNotifier, Mailer, SmtpMailer};
use mailin_embedded::{Handler, Response, Server, response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use webhooks_out::{TargetPolicy, WebhookClient};

pub const BASE_URL: &str = "http://127.0.0.1:8080";

type TestScheduler = Scheduler<Arc<dyn BookingStore>, ManualClock, SequentialTokens, FixedBusy>;

/// A store seen through the three ports the dispatcher uses.
#[derive(Clone)]
pub struct Ports {
    pub bookings: Arc<dyn BookingStore>,
    pub outbox: Arc<dyn Outbox>,
    pub subscriptions: Arc<dyn WebhookSubscriptions>,
}

impl Ports {
    pub fn of<S: BookingStore + Outbox + WebhookSubscriptions + 'static>(store: S) -> Self {
        let store = Arc::new(store);
        Self {
            bookings: store.clone(),
            outbox: store.clone(),
            subscriptions: store,
        }
    }
}

/// A host in Berlin with an `intro` link (weekdays 09:00–17:00, 30 minutes, one question),
/// the clock on Monday 2027-03-01 08:00 UTC.
pub struct World {
    pub ports: Ports,
    pub host: Host,
    pub link: BookingLink,
    pub clock: ManualClock,
    scheduler: TestScheduler,
    slots: Vec<TimeRange>,
}

impl World {
    pub async fn new(ports: Ports) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let zone = TimeZoneName::parse("Europe/Berlin").unwrap();
        let host = Host::new(
            HostId::from_uuid(uuid::Uuid::from_u128(1)),
            PersonName::parse("Hana Host").unwrap(),
            Email::parse("hana@example.com").unwrap(),
            zone,
        );
        ports.bookings.save_host(&host).await.unwrap();
        let rules = AvailabilityRules::new(RulesDraft::weekdays(
            zone,
            DayPeriod::parse("09:00-17:00").unwrap(),
            TimeDelta::minutes(30),
        ))
        .unwrap();
        let settings = LinkSettings {
            title: "Intro call".into(),
            rules,
            reconfirmation: None,
            create_deal: false,
            questions: vec!["Topic".into()],
        };
        let link = BookingLink::new(
            LinkId::from_uuid(uuid::Uuid::from_u128(2)),
            host.id(),
            Slug::parse("intro").unwrap(),
            settings,
        )
        .unwrap();
        ports.bookings.save_link(&link).await.unwrap();
        let clock = ManualClock::at(Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap());
        let scheduler = Scheduler::new(
            ports.bookings.clone(),
            clock.clone(),
            SequentialTokens::new(),
            FixedBusy::default(),
        );
        let window = TimeRange::new(
            Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2027, 3, 2, 0, 0, 0).unwrap(),
        )
        .unwrap();
        let slots = scheduler
            .available_slots(link.slug(), window)
            .await
            .unwrap();
        Self {
            ports,
            host,
            link,
            clock,
            scheduler,
            slots,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        use booking_core::ports::Clock;
        self.clock.now()
    }

    /// Books the `slot`-th offered slot of the day for an invitee in New York.
    pub async fn book(&self, answer: &str, slot: usize) -> Booking {
        let invitee = Invitee::new(
            PersonName::parse("Ada Lovelace").unwrap(),
            Email::parse("ada@example.org").unwrap(),
            None,
            TimeZoneName::parse("America/New_York").unwrap(),
        );
        let request = BookingRequest {
            start: self.slots[slot].start(),
            invitee,
            answers: Answers::new(vec![("Topic".into(), answer.into())]).unwrap(),
            tracking: Tracking::from_pairs([("utm_source", "newsletter")]),
        };
        self.scheduler
            .book(self.link.slug(), request)
            .await
            .unwrap()
    }

    pub async fn reschedule(&self, row: &Booking, slot: usize, reason: &str) -> Booking {
        self.scheduler
            .reschedule(
                row.token().expose(),
                self.slots[slot].start(),
                Reason::parse_optional(Some(reason)).unwrap(),
            )
            .await
            .unwrap()
    }

    pub async fn cancel(&self, row: &Booking, reason: &str) -> Booking {
        self.scheduler
            .cancel(
                row.token().expose(),
                Reason::parse_optional(Some(reason)).unwrap(),
            )
            .await
            .unwrap()
    }

    /// Runs the reconfirmation sweep once at the clock's time; returns how many it cancelled.
    pub async fn sweep(&self) -> usize {
        self.scheduler.expire_unreconfirmed(100).await.unwrap()
    }

    /// Subscribes `url` to `events` with a fresh secret; returns the subscription.
    pub async fn subscribe(&self, n: u128, url: &str, events: &str) -> WebhookSubscription {
        let secret = webhooks_out::WebhookSecret::generate([u8::try_from(n).unwrap(); 32]);
        let subscription = WebhookSubscription {
            id: SubscriptionId::from_uuid(uuid::Uuid::from_u128(0x5b5c_0000 + n)),
            host: self.host.id(),
            url: TargetUrl::parse(url).unwrap(),
            secret: SubscriptionSecret::parse(&secret.expose()).unwrap(),
            events: parse_events(events).unwrap(),
            active: true,
            created_at: self.now(),
        };
        self.ports
            .subscriptions
            .create_subscription(&subscription)
            .await
            .unwrap();
        subscription
    }

    /// A dispatcher over this world's store, mailing through `mailer`, on this world's clock
    /// and with the middle of the jitter range.
    pub fn dispatcher(&self, mailer: Arc<dyn Mailer>) -> Dispatcher {
        self.dispatcher_with_jitter(mailer, 0.5)
    }

    /// [`World::dispatcher`] whose every retry draws `jitter`.
    pub fn dispatcher_with_jitter(&self, mailer: Arc<dyn Mailer>, jitter: f64) -> Dispatcher {
        Dispatcher::new(Parts {
            outbox: self.ports.outbox.clone(),
            bookings: self.ports.bookings.clone(),
            subscriptions: self.ports.subscriptions.clone(),
            notifier: Arc::new(MailNotifier::new(mailer)),
            webhooks: Arc::new(
                WebhookClient::with_timeout(TargetPolicy::allow_private(), Duration::from_secs(3))
                    .unwrap(),
            ),
            targets: Arc::new(TargetPolicy::allow_private()),
            clock: Arc::new(self.clock.clone()),
            jitter: Arc::new(move || jitter),
            public_base_url: BASE_URL.into(),
        })
    }
}

/// CR/LF with would-be headers, HTML, quotes, non-ASCII, padded to 10,000 characters.
pub fn hostile_text() -> String {
    let mut text = "Line one\r\nBcc: evil@example.test\r\nSubject: pwned\r\n\r\n<script>alert('x')</script> & <b>bold</b> \"q\" ÄÖÜ 日本語 🙂 ".to_owned();
    while text.chars().count() < 10_000 {
        text.push_str("Ünïcödé, ");
    }
    text.chars().take(10_000).collect()
}

// ---------------------------------------------------------------------------------------------
// SMTP

/// One mail as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub envelope_to: Vec<String>,
    pub data: Vec<u8>,
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
        let listener = StdListener::bind("127.0.0.1:0").unwrap();
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

    pub fn mailer(&self) -> Arc<dyn Mailer> {
        Arc::new(
            SmtpMailer::from_url(
                &format!("smtp://127.0.0.1:{}", self.port),
                "Slotkeeper <noreply@slotkeeper.test>".parse().unwrap(),
            )
            .unwrap(),
        )
    }

    pub fn all(&self) -> Vec<Parsed> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .cloned()
            .map(parse)
            .collect()
    }
}

/// What the tests look at in a mail.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub envelope_to: Vec<String>,
    pub subject: String,
    pub message_id: String,
    pub header_names: Vec<String>,
    pub text: String,
    pub html: String,
    pub calendar: Option<String>,
    pub calendar_method: Option<String>,
}

pub fn parse(received: Received) -> Parsed {
    let message = MessageParser::default()
        .parse(&received.data)
        .expect("valid MIME");
    let mut calendar = None;
    let mut calendar_method = None;
    for part in &message.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        if ct.ctype() == "text"
            && ct.subtype() == Some("calendar")
            && part.attachment_name().is_none()
        {
            calendar_method = ct.attribute("method").map(str::to_owned);
            calendar = part.text_contents().map(str::to_owned);
        }
    }
    Parsed {
        envelope_to: received.envelope_to,
        subject: message.subject().unwrap_or_default().to_owned(),
        message_id: message.message_id().unwrap_or_default().to_owned(),
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
        calendar,
        calendar_method,
    }
}

// ---------------------------------------------------------------------------------------------
// Webhook receiver

/// One POST as received.
#[derive(Debug, Clone)]
pub struct Hook {
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    pub status: u16,
}

impl Hook {
    pub fn id(&self) -> &str {
        &self.headers["webhook-id"]
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// Verifies the Standard Webhooks signature with `secret` (`whsec_…`), independently of
    /// the crate that signed it: HMAC-SHA256 over `{id}.{timestamp}.{body}`, base64, `v1,`.
    pub fn verify(&self, secret: &str) -> bool {
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").unwrap())
            .unwrap();
        let timestamp: i64 = self.headers["webhook-timestamp"].parse().unwrap();
        if (Utc::now().timestamp() - timestamp).abs() > 300 {
            return false;
        }
        let signed = [
            self.id().as_bytes(),
            b".",
            self.headers["webhook-timestamp"].as_bytes(),
            b".",
            &self.body,
        ]
        .concat();
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
        let expected = format!(
            "v1,{}",
            STANDARD.encode(ring::hmac::sign(&key, &signed).as_ref())
        );
        self.headers["webhook-signature"]
            .split(' ')
            .any(|s| s == expected)
    }
}

/// Which status a path answers with on its `n`-th request (0-based).
pub type Script = fn(&str, usize) -> u16;

/// A local HTTP server that records every POST and answers per its [`Script`].
#[derive(Clone)]
pub struct Receiver {
    pub port: u16,
    hooks: Arc<Mutex<Vec<Hook>>>,
}

impl Receiver {
    pub async fn start(script: Script) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hooks: Arc<Mutex<Vec<Hook>>> = Arc::default();
        let counts: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
        let recorded = hooks.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let hooks = recorded.clone();
                let counts = counts.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, script, hooks, counts).await;
                });
            }
        });
        Self { port, hooks }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn hooks(&self, path: &str) -> Vec<Hook> {
        self.hooks
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }
}

async fn serve(
    mut stream: tokio::net::TcpStream,
    script: Script,
    hooks: Arc<Mutex<Vec<Hook>>>,
    counts: Arc<Mutex<BTreeMap<String, usize>>>,
) -> std::io::Result<()> {
    loop {
        let mut buf = Vec::new();
        let head_end = loop {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let path = lines
            .next()
            .unwrap_or_default()
            .split(' ')
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let headers: BTreeMap<String, String> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = buf[head_end..].to_vec();
        while body.len() < length {
            let mut chunk = vec![0u8; length - body.len()];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            body.extend_from_slice(&chunk[..n]);
        }
        let n = {
            let mut counts = counts.lock().unwrap();
            let n = counts.entry(path.clone()).or_default();
            *n += 1;
            *n - 1
        };
        let status = script(&path, n);
        hooks.lock().unwrap().push(Hook {
            path,
            headers,
            body,
            status,
        });
        let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
        stream.write_all(answer.as_bytes()).await?;
    }
}

// ---------------------------------------------------------------------------------------------
// Postgres

static NEXT_DATABASE: AtomicUsize = AtomicUsize::new(0);

/// A fresh database on the server of `TEST_DATABASE_URL`, dropped by [`PgDatabase::drop_it`].
pub struct PgDatabase {
    admin: sqlx::postgres::PgConnectOptions,
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create() -> Self {
        use sqlx::{AssertSqlSafe, Connection, Executor};
        let admin_url = std::env::var("TEST_DATABASE_URL").expect(
            "TEST_DATABASE_URL must name a Postgres admin URL (cargo xtask test provides one)",
        );
        let admin = sqlx::postgres::PgConnectOptions::from_str(&admin_url).unwrap();
        let name = format!(
            "dispatch_{}_{}",
            std::process::id(),
            NEXT_DATABASE.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = sqlx::PgConnection::connect_with(&admin).await.unwrap();
        conn.execute(AssertSqlSafe(format!(
            "drop database if exists {name} with (force)"
        )))
        .await
        .unwrap();
        conn.execute(AssertSqlSafe(format!("create database {name}")))
            .await
            .unwrap();
        conn.close().await.ok();
        let mut url = url::Url::parse(&admin_url).unwrap();
        url.set_path(&format!("/{name}"));
        Self {
            admin,
            name,
            url: url.to_string(),
        }
    }

    pub async fn drop_it(self) {
        use sqlx::{AssertSqlSafe, Connection, Executor};
        let mut conn = sqlx::PgConnection::connect_with(&self.admin).await.unwrap();
        conn.execute(AssertSqlSafe(format!(
            "drop database if exists {} with (force)",
            self.name
        )))
        .await
        .unwrap();
        conn.close().await.ok();
    }
}

// ---------------------------------------------------------------------------------------------
// Logs

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures the dispatcher's log lines (once per test binary) and returns what was logged.
pub fn logs() -> String {
    let buffer = LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = LogWriter(buffer.clone());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("dispatch=debug"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        buffer
    });
    String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned()
}
