//! The binary under test and a small cookie-keeping HTTP client for the host's pages.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use fake_google::FakeGoogle;
use mail_parser::MimeHeaders;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

pub const CRON_SECRET: &str = "cron-secret-for-the-calendar-test";
const LOGIN: &str = "hana@example.com";
const PASSWORD: &str = "correct horse battery";

/// Waits up to 20 seconds for `check` to hold.
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting: {what}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("an address")
        .port()
}

fn plain() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// Follows the fake consent page to the callback URL it redirects to.
pub async fn follow_consent(consent: &str) -> String {
    let answer = plain().get(consent).send().await.expect("consent page");
    assert_eq!(answer.status(), 302, "the consent page redirects back");
    answer.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

/// `slotkeeper serve` on a fresh SQLite file, pointed at the fake Google.
pub struct Site {
    child: Child,
    pub base: String,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Site {
    fn command(dir: &std::path::Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_slotkeeper"));
        cmd.current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", format!("sqlite://{}/sk.db", dir.display()))
            .env("SECRET_KEY", "a-secret-key-for-the-calendar-e2e-test-0123")
            .env("MAILER_URL", format!("file://{}/mail", dir.display()))
            .env("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")
            .env("RUST_LOG", "warn");
        cmd
    }

    /// The binary with Google Calendar pointed at `google`, its webhooks going to `hooks`.
    pub async fn google(google: &FakeGoogle, hooks: &Receiver) -> Self {
        Self::start(
            Some(&hooks.url()),
            &[
                ("GOOGLE_CLIENT_ID", fake_google::CLIENT_ID.to_owned()),
                (
                    "GOOGLE_CLIENT_SECRET",
                    fake_google::CLIENT_SECRET.to_owned(),
                ),
                ("GOOGLE_OAUTH_AUTH_URL", google.auth_url()),
                ("GOOGLE_OAUTH_TOKEN_URL", google.token_url()),
                ("GOOGLE_CALENDAR_API_URL", google.base_url()),
            ],
        )
        .await
    }

    /// The binary with Microsoft 365 pointed at `graph` (identity and Graph on one server).
    pub async fn microsoft(graph: &fake_graph::FakeGraph) -> Self {
        Self::start(
            None,
            &[
                ("MICROSOFT_CLIENT_ID", fake_graph::CLIENT_ID.to_owned()),
                (
                    "MICROSOFT_CLIENT_SECRET",
                    fake_graph::CLIENT_SECRET.to_owned(),
                ),
                ("MICROSOFT_OAUTH_AUTHORITY_URL", graph.base_url().to_owned()),
                ("MICROSOFT_GRAPH_URL", graph.base_url().to_owned()),
            ],
        )
        .await
    }

    async fn start(hook: Option<&str>, provider: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let run = |args: &[&str]| {
            let out = Self::command(dir.path())
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
            LOGIN,
            "--timezone",
            "UTC",
            "--password",
            PASSWORD,
        ]);
        run(&[
            "link",
            "add",
            "--host",
            &host,
            "--slug",
            "intro",
            "--title",
            "Intro call",
        ]);
        if let Some(url) = hook {
            run(&["webhook", "add", "--host", &host, "--url", url]);
        }
        let mut command = Self::command(dir.path());
        for (name, value) in provider {
            command.env(name, value);
        }
        let child = command
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("PUBLIC_BASE_URL", &base)
            .env("DISPATCH_WORKERS", "1")
            .env("CRON_SECRET", CRON_SECRET)
            .env("CALENDAR_POLL_SECONDS", "1")
            .env("CALENDAR_BUSY_CACHE_SECONDS", "1")
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("serve starts");
        let site = Self {
            child,
            base,
            dir,
            http: plain(),
        };
        eventually("the server answers", || async {
            site.http
                .get(format!("{}/healthz", site.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await;
        site
    }

    /// A logged-in host session.
    pub async fn login(&self) -> Browser {
        let browser = Browser {
            base: self.base.clone(),
            http: plain(),
            cookies: std::sync::Mutex::default(),
        };
        let (_, page) = browser.get("/login").await;
        let csrf = hidden_csrf(&page);
        let (status, _) = browser
            .post_form(
                "/login",
                &[("csrf", &csrf), ("email", LOGIN), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(status, 303, "logged in");
        browser
    }

    pub async fn book(&self, start: DateTime<Utc>, name: &str) -> Value {
        let answer = self
            .http
            .post(format!("{}/api/v1/links/intro/bookings", self.base))
            .json(&json!({
                "start": start.to_rfc3339(),
                "invitee": {"name": name, "email": format!("{}@example.org", name.to_lowercase()), "timezone": "Europe/Berlin"},
            }))
            .send()
            .await
            .expect("booking answered");
        let status = answer.status();
        let body: Value = answer.json().await.expect("json");
        assert_eq!(status, 201, "booked: {body}");
        body
    }

    /// A booking attempt that may be refused: its status and `Retry-After`.
    pub async fn try_book(&self, start: DateTime<Utc>, name: &str) -> (u16, Option<String>) {
        let answer = self
            .http
            .post(format!("{}/api/v1/links/intro/bookings", self.base))
            .json(&json!({
                "start": start.to_rfc3339(),
                "invitee": {"name": name, "email": "someone@example.org", "timezone": "UTC"},
            }))
            .send()
            .await
            .expect("booking answered");
        let retry = answer
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (answer.status().as_u16(), retry)
    }

    pub async fn reschedule(&self, token: &str, start: DateTime<Utc>) -> Value {
        let answer = self
            .http
            .post(format!(
                "{}/api/v1/bookings/by-token/{token}/reschedule",
                self.base
            ))
            .json(&json!({ "start": start.to_rfc3339() }))
            .send()
            .await
            .expect("answered");
        assert!(
            answer.status().is_success(),
            "rescheduled: {}",
            answer.status()
        );
        answer.json().await.expect("json")
    }

    pub async fn cancel(&self, token: &str) {
        let answer = self
            .http
            .post(format!(
                "{}/api/v1/bookings/by-token/{token}/cancel",
                self.base
            ))
            .json(&json!({}))
            .send()
            .await
            .expect("answered");
        assert!(
            answer.status().is_success(),
            "cancelled: {}",
            answer.status()
        );
    }

    pub async fn booking(&self, token: &str) -> Value {
        self.http
            .get(format!("{}/api/v1/bookings/by-token/{token}", self.base))
            .send()
            .await
            .expect("answered")
            .json()
            .await
            .expect("json")
    }

    /// Slot starts offered on the day of `day`.
    pub async fn slots(&self, day: DateTime<Utc>) -> Vec<String> {
        let from = day
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc();
        let to = from + TimeDelta::days(1);
        let answer: Value = self
            .http
            .get(format!("{}/api/v1/links/intro/slots", self.base))
            .query(&[("from", from.to_rfc3339()), ("to", to.to_rfc3339())])
            .send()
            .await
            .expect("answered")
            .json()
            .await
            .expect("json");
        let list = answer["slots"].as_array().cloned().unwrap_or_default();
        list.iter()
            .map(|s| s["start"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    pub async fn raw_post(&self, path: &str, headers: &[(&str, &str)]) -> u16 {
        let mut request = self.http.post(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("answered").status().as_u16()
    }

    pub async fn cron(&self, secret: Option<&str>) -> (u16, Value) {
        let mut request = self.http.post(format!(
            "{}/api/cron/calendar-subscriptions-renew",
            self.base
        ));
        if let Some(secret) = secret {
            request = request.bearer_auth(secret);
        }
        let answer = request.send().await.expect("answered");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    /// The subjects of every mail written so far.
    pub fn mail_subjects(&self) -> Vec<String> {
        let dir: PathBuf = self.dir.path().join("mail");
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|raw| {
                mail_parser::MessageParser::default()
                    .parse(&raw)
                    .and_then(|m| m.subject().map(str::to_owned))
            })
            .collect()
    }

    /// The `.ics` invite of the first mail whose subject starts with `prefix` and names `who`.
    pub fn invite(&self, prefix: &str, who: &str) -> Option<String> {
        let dir: PathBuf = self.dir.path().join("mail");
        for entry in std::fs::read_dir(dir).ok()?.filter_map(Result::ok) {
            let raw = std::fs::read(entry.path()).ok()?;
            let message = mail_parser::MessageParser::default().parse(&raw)?;
            let subject = message.subject().unwrap_or_default();
            if !(subject.starts_with(prefix) && subject.contains(who)) {
                continue;
            }
            for part in message.parts.iter() {
                let calendar = part.content_type().is_some_and(|t| {
                    t.subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("calendar"))
                });
                if calendar {
                    return part
                        .text_contents()
                        .map(str::to_owned)
                        .or_else(|| String::from_utf8(part.contents().to_vec()).ok());
                }
            }
        }
        None
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn hidden_csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\"").expect("a csrf field");
    let value = &page[at..];
    let start = value.find("value=\"").expect("a value") + 7;
    let end = value[start..].find('"').expect("closing quote");
    value[start..start + end].to_owned()
}

/// A browser's view of the host pages: keeps cookies, never follows redirects.
pub struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: std::sync::Mutex<BTreeMap<String, String>>,
}

impl Browser {
    /// The cookies the site set, for another browser.
    pub fn cookies(&self) -> Vec<(String, String)> {
        self.cookies
            .lock()
            .expect("cookies")
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .expect("cookies")
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&self, answer: &reqwest::Response) {
        let mut cookies = self.cookies.lock().expect("cookies");
        for value in answer.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let expired = text.to_ascii_lowercase().contains("max-age=0");
                if value.is_empty() || expired {
                    cookies.remove(name.trim());
                } else {
                    cookies.insert(name.trim().to_owned(), value.to_owned());
                }
            }
        }
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let answer = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("answered");
        self.keep(&answer);
        let status = answer.status().as_u16();
        (status, answer.text().await.unwrap_or_default())
    }

    /// GETs a full URL of this site (a redirect target).
    pub async fn get_path_of(&self, url: &str) -> (u16, String) {
        let path = url.strip_prefix(&self.base).unwrap_or(url).to_owned();
        self.get(&path).await
    }

    /// The `Location` a GET redirects to.
    pub async fn get_redirect(&self, path: &str) -> String {
        let answer = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("answered");
        self.keep(&answer);
        assert!(
            answer.status().is_redirection(),
            "{path}: {}",
            answer.status()
        );
        answer.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let answer = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .expect("answered");
        self.keep(&answer);
        let status = answer.status().as_u16();
        (status, answer.text().await.unwrap_or_default())
    }
}

/// A webhook receiver on 127.0.0.1 that keeps every body it is sent (and answers 204).
pub struct Receiver {
    port: u16,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Receiver {
    pub async fn start() -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a receiver port");
        let port = listener.local_addr().expect("an address").port();
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = bodies.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let mut raw = Vec::new();
                    let mut buf = [0u8; 4096];
                    loop {
                        let Ok(n) = stream.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        raw.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&raw).to_string();
                        let Some(end) = text.find("\r\n\r\n") else {
                            continue;
                        };
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if raw.len() >= end + 4 + length {
                            let body = String::from_utf8_lossy(&raw[end + 4..end + 4 + length]);
                            kept.lock().expect("bodies").push(body.into_owned());
                            let _ = stream
                                .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                                .await;
                            return;
                        }
                    }
                });
            }
        });
        Self { port, bodies }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks", self.port)
    }

    /// Every body received so far.
    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().expect("bodies").clone()
    }
}
