//! SIGTERM while deliveries are in hand, end to end: the real `slotkeeper serve` on a Postgres
//! database of its own, a webhook receiver that takes its time, bookings through the public
//! API. After the signal the process exits cleanly, and its database shows every outbox entry
//! either delivered or free again — none left leased, no attempt charged — and the log shows
//! no failed outbox bookkeeping. The log is read at `info`, where sqlx reports a pooled
//! connection it had to drop because the runtime it was opened on (an HTTP worker's) is
//! being shut down: the outbox workers must be done before that happens.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How long the receiver holds each webhook before answering 204.
const RECEIVER_DELAY: Duration = Duration::from_secs(2);
/// Bookings made at once before the signal.
const BOOKINGS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_leaves_no_outbox_entry_leased_nor_charged() {
    let database = Database::create().await;
    let receiver = SlowReceiver::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = database.url();
    let setup = |args: &[&str]| {
        let out = slotkeeper(dir.path(), &url)
            .args(args)
            .output()
            .expect("slotkeeper runs");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let host = setup(&[
        "host",
        "add",
        "--name",
        "Hana Host",
        "--email",
        "hana@example.com",
        "--timezone",
        "UTC",
        "--password",
        "correct horse battery",
    ]);
    setup(&[
        "link",
        "add",
        "--host",
        &host,
        "--slug",
        "intro",
        "--title",
        "Intro call",
    ]);
    setup(&["webhook", "add", "--host", &host, "--url", &receiver.url()]);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("addr")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let server = slotkeeper(dir.path(), &url)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("PUBLIC_BASE_URL", &base)
        .env("DISPATCH_WORKERS", "2")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut server = Running(server);
    let http = reqwest::Client::new();
    wait_for("the server answers", || async {
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;

    let starts = free_starts(&http, &base).await;
    let bookings: Vec<_> = starts
        .into_iter()
        .take(BOOKINGS)
        .map(|start| {
            let http = http.clone();
            let base = base.clone();
            tokio::spawn(async move {
                http.post(format!("{base}/api/v1/links/intro/bookings"))
                    .json(&json!({"start": start,
                        "invitee": {"name": "Ada", "email": "ada@example.org", "timezone": "UTC"}}))
                    .send()
                    .await
                    .expect("booking answered")
                    .status()
            })
        })
        .collect();
    for booking in bookings {
        assert_eq!(booking.await.expect("booking task"), 201);
    }
    wait_for("a webhook delivery is in hand", || async {
        receiver.received() > 0
    })
    .await;

    let signalled = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(signalled.success());
    let exit = server.wait_at_most(Duration::from_secs(60));
    let mut log = String::new();
    if let Some(mut stderr) = server.0.stderr.take() {
        stderr.read_to_string(&mut log).expect("read the log");
    }
    assert!(exit.success(), "exit status {exit}: {log}");

    let (leased, charged, delivered): (i64, i64, i64) = database
        .query(
            "select count(case when delivered_at is null and leased_until is not null then 1 end), \
             count(case when attempts > 0 then 1 end), \
             count(case when delivered_at is not null then 1 end) from outbox",
        )
        .await;
    assert_eq!(leased, 0, "entries left leased after SIGTERM; log: {log}");
    assert_eq!(charged, 0, "attempts charged by the shutdown; log: {log}");
    assert!(delivered > 0, "nothing was delivered before the signal");
    for failure in [
        "claiming outbox entries failed",
        "recording an outbox outcome failed",
        "releasing an outbox lease failed",
        "being shutdown",
    ] {
        assert!(!log.contains(failure), "the log shows {failure:?}: {log}");
    }
    database.drop_it().await;
}

fn slotkeeper(dir: &std::path::Path, database_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slotkeeper"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("SECRET_KEY", "a-secret-key-for-the-shutdown-e2e-test-0123")
        .env("MAILER_URL", format!("file://{}/mail", dir.display()))
        .env("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")
        .env("RUST_LOG", "info");
    cmd
}

/// Free starts of `intro` an hour or more apart, as the API offers them.
async fn free_starts(http: &reqwest::Client, base: &str) -> Vec<String> {
    let slots: Value = http
        .get(format!("{base}/api/v1/links/intro/slots"))
        .send()
        .await
        .expect("slots answered")
        .json()
        .await
        .expect("slots json");
    let starts: Vec<String> = slots["slots"]
        .as_array()
        .expect("slots")
        .iter()
        .step_by(2)
        .map(|s| s["start"].as_str().expect("start").to_owned())
        .collect();
    assert!(starts.len() >= BOOKINGS, "{slots}");
    starts
}

async fn wait_for<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting: {what}");
}

/// The server process, killed if the test fails before it exits.
struct Running(Child);

impl Running {
    fn wait_at_most(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.0.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "no exit within {limit:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            self.0.kill().ok();
            self.0.wait().ok();
        }
    }
}

/// A webhook receiver that answers 204 only after [`RECEIVER_DELAY`].
struct SlowReceiver {
    port: u16,
    received: Arc<AtomicUsize>,
}

impl SlowReceiver {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(AtomicUsize::new(0));
        let counter = received.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !complete(&request) {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&chunk[..n]),
                        }
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(RECEIVER_DELAY).await;
                    stream
                        .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                        .await
                        .ok();
                });
            }
        });
        Self { port, received }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks", self.port)
    }

    fn received(&self) -> usize {
        self.received.load(Ordering::SeqCst)
    }
}

/// Whether `request` holds the whole head and the `content-length` bytes of body.
fn complete(request: &[u8]) -> bool {
    let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    request.len() >= end + 4 + length
}

/// A Postgres database of the test's own, made through the admin URL in `TEST_DATABASE_URL`.
struct Database {
    admin_url: String,
    admin: PgConnectOptions,
    name: String,
}

impl Database {
    async fn create() -> Self {
        let url = std::env::var("TEST_DATABASE_URL").expect(
            "TEST_DATABASE_URL must name a Postgres admin URL (cargo xtask test provides one)",
        );
        let admin = PgConnectOptions::from_str(&url).expect("a Postgres URL");
        let name = format!("slotkeeper_shutdown_{}", std::process::id());
        let database = Self {
            admin_url: url,
            admin,
            name,
        };
        database
            .admin_do(&format!(
                "drop database if exists {} with (force)",
                database.name
            ))
            .await;
        database
            .admin_do(&format!("create database {}", database.name))
            .await;
        database
    }

    /// The admin URL with the test's database in place of the admin's.
    fn url(&self) -> String {
        let server = self
            .admin_url
            .split('?')
            .next()
            .and_then(|u| u.rsplit_once('/'))
            .map_or(self.admin_url.as_str(), |(server, _)| server);
        format!("{server}/{}", self.name)
    }

    async fn admin_do(&self, sql: &str) {
        let mut admin = PgConnection::connect_with(&self.admin)
            .await
            .expect("connect to TEST_DATABASE_URL");
        admin
            .execute(AssertSqlSafe(sql.to_owned()))
            .await
            .expect(sql);
        admin.close().await.ok();
    }

    async fn query(&self, sql: &'static str) -> (i64, i64, i64) {
        let mut conn = PgConnection::connect_with(&self.admin.clone().database(&self.name))
            .await
            .expect("connect to the test database");
        let row = sqlx::query_as(sql).fetch_one(&mut conn).await.expect(sql);
        conn.close().await.ok();
        row
    }

    async fn drop_it(self) {
        self.admin_do(&format!(
            "drop database if exists {} with (force)",
            self.name
        ))
        .await;
    }
}
