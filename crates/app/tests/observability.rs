//! What an operator sees of the real `slotkeeper serve`, end to end on a SQLite file: `/readyz`,
//! `/metrics` behind `METRICS_TOKEN`, whose counters move after a booking, its reschedule and
//! its cancel, and after its mails are delivered; JSON log lines (`LOG_FORMAT=json`) carrying
//! the request id of the request they belong to and the delivery span of the delivery, never a
//! token; and `/metrics` on a listener of its own (`METRICS_BIND`), and nowhere without either
//! setting.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const TOKEN: &str = "metrics-e2e-token-0123456789";

fn slotkeeper(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slotkeeper"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", format!("sqlite://{}/sk.db", dir.display()))
        .env("SECRET_KEY", "a-secret-key-for-the-observability-test-01")
        .env("MAILER_URL", format!("file://{}/mail", dir.display()))
        .env("RUST_LOG", "info");
    cmd
}

fn setup(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let out = slotkeeper(dir)
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
    let host = run(&[
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
    run(&[
        "link", "add", "--host", &host, "--slug", "intro", "--title", "Intro",
    ]);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("addr")
        .port()
}

/// The server process, killed if the test fails before it stops it.
struct Server {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Server {
    async fn start(dir: &std::path::Path, env: &[(&str, String)]) -> Self {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let log = dir.join(format!("serve-{port}.log"));
        let mut cmd = slotkeeper(dir);
        cmd.env("BIND", format!("127.0.0.1:{port}"))
            .env("PUBLIC_BASE_URL", &base)
            .env("DISPATCH_WORKERS", "1")
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"));
        for (key, value) in env {
            cmd.env(key, value);
        }
        let server = Self {
            child: cmd.spawn().expect("serve starts"),
            base,
            log,
        };
        let http = reqwest::Client::new();
        wait_for("the server answers", || async {
            http.get(format!("{}/healthz", server.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await;
        server
    }

    /// Stops the process (SIGTERM) and returns its log.
    fn stop(mut self) -> String {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        self.child.wait().expect("exits");
        std::fs::read_to_string(&self.log).expect("the log")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
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

async fn scrape(http: &reqwest::Client, url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = http.get(url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("scrape answered");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

/// The value of the sample `series` (name and labels exactly as rendered), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().expect("a number"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_readiness_and_json_logs_of_a_real_booking() {
    let dir = tempfile::tempdir().expect("temp dir");
    setup(dir.path());
    let server = Server::start(
        dir.path(),
        &[
            ("METRICS_TOKEN", TOKEN.to_owned()),
            ("LOG_FORMAT", "json".to_owned()),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let base = server.base.clone();
    let ready = http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);

    let metrics = format!("{base}/metrics");
    assert_eq!(scrape(&http, &metrics, None).await.0, 401);
    let (status, before) = scrape(&http, &metrics, Some(TOKEN)).await;
    assert_eq!(status, 200);
    let booked = r#"slotkeeper_booking_changes_total{kind="booked"}"#;
    let mailed = r#"slotkeeper_outbox_deliveries_total{kind="email",result="delivered"}"#;
    assert_eq!(sample(&before, booked), None, "{before}");

    let slots: Value = http
        .get(format!("{base}/api/v1/links/intro/slots"))
        .send()
        .await
        .expect("slots")
        .json()
        .await
        .expect("slots json");
    let start = slots["slots"][0]["start"].as_str().expect("a free slot");
    let booking = http
        .post(format!("{base}/api/v1/links/intro/bookings"))
        .header("x-request-id", "e2e-booking-1")
        .json(&json!({"start": start,
            "invitee": {"name": "Ada", "email": "ada@example.org", "timezone": "UTC"}}))
        .send()
        .await
        .expect("booking answered");
    assert_eq!(booking.status(), 201);
    assert_eq!(booking.headers()["x-request-id"], "e2e-booking-1");
    let booking: Value = booking.json().await.expect("booking json");
    let cancel_url = booking["cancel_url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let token = cancel_url.rsplit('/').next().unwrap_or_default().to_owned();
    assert_eq!(token.len(), 32, "{booking}");
    let page = http.get(&cancel_url).send().await.expect("cancel page");
    assert_eq!(page.status(), 200);

    wait_for("the booking's mails are delivered", || async {
        let text = scrape(&http, &metrics, Some(TOKEN)).await.1;
        sample(&text, mailed).is_some_and(|n| n >= 2.0)
    })
    .await;
    let later = slots["slots"][2]["start"]
        .as_str()
        .expect("another free slot");
    let moved: Value = http
        .post(format!(
            "{base}/api/v1/bookings/by-token/{token}/reschedule"
        ))
        .json(&json!({"start": later}))
        .send()
        .await
        .expect("reschedule answered")
        .json()
        .await
        .expect("reschedule json");
    let new_token = moved["reschedule_token"].as_str().expect("a new token");
    let cancelled = http
        .post(format!(
            "{base}/api/v1/bookings/by-token/{new_token}/cancel"
        ))
        .json(&json!({}))
        .send()
        .await
        .expect("cancel answered");
    assert_eq!(cancelled.status(), 200);

    let text = scrape(&http, &metrics, Some(TOKEN)).await.1;
    assert_eq!(sample(&text, booked), Some(1.0), "{text}");
    for kind in ["rescheduled", "cancelled"] {
        let series = format!(r#"slotkeeper_booking_changes_total{{kind="{kind}"}}"#);
        assert_eq!(sample(&text, &series), Some(1.0), "{text}");
    }
    assert!(
        text.contains(r#"route="/book/cancel/{token}""#) && !text.contains(&token),
        "{text}"
    );
    assert_eq!(sample(&text, "slotkeeper_store_up"), Some(1.0), "{text}");
    assert!(
        sample(&text, r#"slotkeeper_db_pool_max_connections"#).is_some_and(|n| n > 0.0),
        "{text}"
    );

    let log = server.stop();
    for secret in [token.as_str(), new_token] {
        assert!(!log.contains(secret), "a token in the log: {log}");
    }
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let in_span = |line: &Value, name: &str| {
        line["spans"]
            .as_array()
            .and_then(|spans| spans.iter().find(|s| s["name"] == name).cloned())
    };
    let access = lines
        .iter()
        .find(|l| {
            in_span(l, "request").is_some_and(|s| s["request_id"] == "e2e-booking-1")
                && l["target"] == "slotkeeper::access"
        })
        .unwrap_or_else(|| panic!("no access line with the request id: {log}"));
    assert_eq!(
        access["fields"]["message"],
        "POST /api/v1/links/intro/bookings"
    );
    assert_eq!(access["fields"]["status"], 201);
    let delivered = lines
        .iter()
        .find(|l| l["fields"]["message"] == "delivered")
        .and_then(|l| in_span(l, "delivery"))
        .unwrap_or_else(|| panic!("no delivery span on a delivery line: {log}"));
    assert_eq!(delivered["attempt"], 1);
    assert!(delivered["key"].as_str().is_some_and(|k| !k.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_on_their_own_address_or_not_at_all() {
    let dir = tempfile::tempdir().expect("temp dir");
    setup(dir.path());
    let http = reqwest::Client::new();

    let apart = format!("127.0.0.1:{}", free_port());
    let server = Server::start(dir.path(), &[("METRICS_BIND", apart.clone())]).await;
    let on_site = scrape(&http, &format!("{}/metrics", server.base), None).await;
    assert_eq!(on_site.0, 404);
    let (status, text) = scrape(&http, &format!("http://{apart}/metrics"), None).await;
    assert_eq!(status, 200);
    assert!(text.contains("slotkeeper_outbox_due "), "{text}");
    let site_page = scrape(&http, &format!("http://{apart}/book/intro"), None).await;
    assert_eq!(site_page.0, 404, "only /metrics is served there");
    server.stop();

    let server = Server::start(dir.path(), &[]).await;
    let (status, _) = scrape(&http, &format!("{}/metrics", server.base), Some(TOKEN)).await;
    assert_eq!(status, 404, "no token, no METRICS_BIND: not served");
    server.stop();
}
