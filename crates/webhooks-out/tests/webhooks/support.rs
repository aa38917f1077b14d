//! Test fixtures: bookings from the core's testkit and the Python receiver (real
//! `standardwebhooks` package, installed into a venv under the target directory if needed).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use booking_core::availability::{AvailabilityRules, DayPeriod, RulesDraft};
use booking_core::invitee::{Answers, Email, Invitee, PersonName, Phone, Reason, Tracking};
use booking_core::link::{BookingLink, Host, LinkSettings, Slug};
use booking_core::ports::BookingStore;
use booking_core::service::BookingRequest;
use booking_core::testkit::{FixedBusy, InMemoryStore, ManualClock, SequentialTokens};
use booking_core::{Booking, HostId, LinkId, Scheduler, TimeRange, TimeZoneName};
use chrono::{TimeDelta, TimeZone, Utc};
use webhooks_out::NotificationContext;

/// A host in Berlin with an `intro` link; the clock on Monday 2027-03-01 08:00 UTC.
pub struct World {
    pub host: Host,
    pub link: BookingLink,
    pub store: InMemoryStore,
    scheduler: Scheduler<InMemoryStore, ManualClock, SequentialTokens, FixedBusy>,
    slots: Vec<TimeRange>,
}

impl World {
    pub async fn new() -> Self {
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
        let settings = LinkSettings {
            title: "Intro call".into(),
            rules,
            reconfirmation: None,
            create_deal: false,
            questions: vec![
                "Topic".into(),
                "Phone Number".into(),
                "Anything else?".into(),
            ],
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
            clock,
            SequentialTokens::new(),
            FixedBusy::default(),
        );
        let window = TimeRange::new(
            Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2027, 3, 2, 0, 0, 0).unwrap(),
        )
        .unwrap();
        let slots = scheduler.available_slots(&slug, window).await.unwrap();
        Self {
            host,
            link,
            store,
            scheduler,
            slots,
        }
    }

    pub async fn book(&self, name: &str, answers: Vec<(String, String)>, slot: usize) -> Booking {
        let invitee = Invitee::new(
            PersonName::parse(name).unwrap(),
            Email::parse("ada@example.org").unwrap(),
            Some(Phone::parse("+32 470 12 34 56").unwrap()),
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
        self.scheduler
            .reschedule(
                row.token().expose(),
                self.slots[slot].start(),
                Reason::parse_optional(reason).unwrap(),
            )
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

    /// The row as the store holds it now.
    pub fn current(&self, row: &Booking) -> Booking {
        self.store
            .bookings()
            .into_iter()
            .find(|b| b.id() == row.id())
            .unwrap()
    }

    pub fn ctx<'a>(
        &'a self,
        booking: &'a Booking,
        previous: Option<&'a Booking>,
    ) -> NotificationContext<'a> {
        NotificationContext {
            booking,
            previous,
            link: &self.link,
            host: &self.host,
            public_base_url: "http://127.0.0.1:8080",
        }
    }
}

/// CR/LF with would-be headers, HTML, quotes, non-ASCII, padded to 10,000 characters.
pub fn hostile_text() -> String {
    // No control characters but line feeds and tabs: the domain refuses the others (and
    // turns a carriage return into a line feed) before anything reaches a webhook.
    let mut text = "Line one\nBcc: evil@example.test\n\"quoted\"\t<script>alert('x')</script> \\ ÄÖÜ 日本語 🙂 ".to_owned();
    while text.chars().count() < 10_000 {
        text.push_str("Ünïcödé, ");
    }
    text.chars().take(10_000).collect()
}

/// A Python interpreter that can `import standardwebhooks`: the system one, or a venv under
/// the target directory into which the package is installed from PyPI on first use.
fn python() -> PathBuf {
    static PYTHON: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut cached = PYTHON.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(python) = cached.as_ref() {
        return python.clone();
    }
    let can_import = |python: &PathBuf| {
        Command::new(python)
            .args(["-c", "import standardwebhooks"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let system = PathBuf::from("python3");
    let python = if can_import(&system) {
        system
    } else {
        let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("webhooks-receiver-venv");
        let venv_python = venv.join("bin").join("python");
        if !can_import(&venv_python) {
            let made = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .expect("python3 is needed for the receiver");
            assert!(made.success(), "python3 -m venv failed");
            let installed = Command::new(&venv_python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "standardwebhooks",
                ])
                .status()
                .expect("pip runs");
            assert!(installed.success(), "pip install standardwebhooks failed");
        }
        venv_python
    };
    *cached = Some(python.clone());
    python
}

/// The receiver process; killed on drop.
pub struct Receiver {
    child: Child,
    port: u16,
}

impl Receiver {
    /// Starts tests/receiver.py with `secret` (`whsec_…`); `/slow` sleeps `slow_seconds`.
    pub fn start(secret: &str, slow_seconds: f64) -> Self {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join("receiver.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(secret)
            .arg(slow_seconds.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the receiver starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("receiver printed {line:?}"));
        Self { child, port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
