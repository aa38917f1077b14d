//! The `slotkeeper` binary over a real socket: the demo starts on a fresh SQLite file, its
//! printed links work, a cancel goes through, SIGTERM stops it cleanly; bad configuration
//! gets a clear error. The modules under `cli/` cover the listings, `link add`'s options,
//! `migrate`, the connect timeout, log colours and the demo's sample booking.

#[path = "cli/colours.rs"]
mod colours;
#[path = "cli/database.rs"]
mod database;
#[path = "cli/demo_sample.rs"]
mod demo_sample;
#[path = "cli/listing.rs"]
mod listing;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn slotkeeper(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slotkeeper"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info");
    cmd
}

/// A minimal HTTP/1.1 client: returns (status, headers+body text).
fn http(base: &str, method: &str, path: &str, form: Option<&str>) -> (u16, String) {
    http_with_cookie(base, method, path, form, None)
}

/// [`http`] sending a `Cookie` header.
fn http_with_cookie(
    base: &str,
    method: &str,
    path: &str,
    form: Option<&str>,
    cookie: Option<&str>,
) -> (u16, String) {
    let cookie = cookie.map_or_else(String::new, |c| format!("Cookie: {c}\r\n"));
    http_with_headers(base, method, path, form, &cookie)
}

/// [`http`] with more header lines (each ending in CRLF).
fn http_with_headers(
    base: &str,
    method: &str,
    path: &str,
    form: Option<&str>,
    headers: &str,
) -> (u16, String) {
    exchange(
        base,
        method,
        path,
        "application/x-www-form-urlencoded",
        form.unwrap_or(""),
        headers,
    )
}

/// One request over a fresh connection: returns (status, headers+body text).
fn exchange(
    base: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
    headers: &str,
) -> (u16, String) {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response)
}

struct Demo {
    child: Child,
    lines: Vec<String>,
}

impl Demo {
    fn start(dir: &std::path::Path) -> Self {
        Self::start_logging_to(dir, Stdio::null())
    }

    /// The demo with more environment variables.
    fn start_with(dir: &std::path::Path, env: &[(&str, &str)]) -> Self {
        let mut command = slotkeeper(dir);
        command.envs(env.iter().copied());
        Self::spawn(command, Stdio::null())
    }

    /// The demo with its log (stderr) going to `log`.
    fn start_logging_to(dir: &std::path::Path, log: Stdio) -> Self {
        Self::spawn(slotkeeper(dir), log)
    }

    fn spawn(mut command: Command, log: Stdio) -> Self {
        let mut child = command
            .arg("demo")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let done = line.contains("Ctrl-C");
            lines.push(line);
            if done {
                break;
            }
        }
        Self { child, lines }
    }

    fn url(&self, label: &str) -> String {
        let line = self
            .lines
            .iter()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label} in {:?}", self.lines));
        line.split_whitespace().last().unwrap().to_owned()
    }
}

fn split(url: &str) -> (String, String) {
    let rest = url.trim_start_matches("http://");
    let slash = rest.find('/').unwrap();
    (
        format!("http://{}", &rest[..slash]),
        rest[slash..].to_owned(),
    )
}

#[test]
fn the_demo_serves_its_printed_links_and_stops_cleanly_on_sigterm() {
    let dir = tempdir("demo");
    let mut demo = Demo::start(&dir);
    let (base, book_path) = split(&demo.url("Booking page:"));
    assert_eq!(book_path, "/book/intro");
    let (status, page) = http(&base, "GET", &book_path, None);
    assert_eq!(status, 200);
    assert!(page.contains("Intro call"));

    let (_, cancel_path) = split(&demo.url("cancel:"));
    let (status, page) = http(&base, "GET", &cancel_path, None);
    assert_eq!(status, 200, "{page}");
    assert!(
        page.to_ascii_lowercase()
            .contains("referrer-policy: no-referrer")
    );
    let (status, _) = http(&base, "POST", &cancel_path, Some("reason=testing"));
    assert_eq!(status, 303);
    let (status, page) = http(&base, "GET", &cancel_path, None);
    assert_eq!(status, 200);
    assert!(page.contains("This booking is cancelled"));

    let (status, body) = http(&base, "GET", "/healthz", None);
    assert_eq!((status, body.ends_with("ok")), (200, true));
    assert!(
        dir.join("data/slotkeeper.db").exists(),
        "the SQLite file is created on first run"
    );

    let pid = demo.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = demo.child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");

    // A second run reuses the data: the cancelled sample is replaced by a fresh one.
    let mut again = Demo::start(&dir);
    assert_ne!(again.url("cancel:"), format!("{base}{cancel_path}"));
    again.child.kill().unwrap();
    again.child.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_access_log_never_shows_a_token_however_the_path_is_encoded() {
    let dir = tempdir("access-log");
    let log_path = dir.join("stderr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut demo = Demo::start_logging_to(&dir, Stdio::from(log));
    let (base, cancel_path) = split(&demo.url("cancel:"));
    let token = cancel_path.rsplit('/').next().unwrap().to_owned();
    assert_eq!(token.len(), 32, "{cancel_path}");
    let encoded = |b: u8| format!("%{b:02X}");
    let first = encoded(token.as_bytes()[0]);
    let every: String = token.bytes().map(encoded).collect();
    for path in [
        format!("/book/cancel/{token}"),
        format!("/book/cancel/{first}{}", &token[1..]),
        format!("/book/cancel/{every}"),
        format!("/book/%63ancel/{token}"),
        format!("/book/reschedule/{first}{}", &token[1..]),
        format!("/book/confirmed/{first}{}/invite.ics", &token[1..]),
        format!("/api/v1/bookings/by-token/{first}{}", &token[1..]),
        format!("/book/cancel/{}", every.replace('%', "%25")),
        format!("/book/cancel/{}%2F{}", &token[..16], &token[16..]),
    ] {
        let (status, _) = http(&base, "GET", &path, None);
        assert_ne!(status, 0, "{path}");
    }
    let pid = demo.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    demo.child.wait().unwrap();
    let logged = std::fs::read_to_string(&log_path).unwrap();
    for shown in [&token[1..], &token[..16], &token[16..]] {
        assert!(!logged.contains(shown), "{shown} in the log: {logged}");
    }
    assert!(!logged.contains(&every[3..]), "{logged}");
    assert!(
        logged.matches("/book/cancel/<token>").count() >= 3,
        "the requests were logged: {logged}"
    );
    // A log redirected to a file is plain text: no terminal colour codes.
    assert!(
        !logged.contains('\u{1b}'),
        "colour codes in a log file: {logged:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn serve_help_lists_every_variable_with_its_default_and_hides_the_secret() {
    let dir = tempdir("help");
    let out = slotkeeper(&dir)
        .env("SECRET_KEY", "a-secret-that-must-never-be-printed-0123")
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for (var, default) in [
        ("DATABASE_URL", "sqlite://data/slotkeeper.db"),
        ("BIND", "127.0.0.1:8080"),
        ("PUBLIC_BASE_URL", "http://{BIND}"),
        ("MAILER_URL", "file://data/mail"),
        ("MAIL_FROM", "Slotkeeper <no-reply@localhost>"),
        ("DISPATCH_WORKERS", "2"),
        ("DISPATCH_LEASE_SECONDS", "60"),
        ("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "false"),
        ("DATA_DIR", "the SQLite file's directory"),
        ("SECRET_KEY", "generated on first run"),
        ("SMS_URL", "none: no texts are sent"),
        ("LOG_FORMAT", "text"),
        ("METRICS_TOKEN", "none"),
        ("METRICS_BIND", "none"),
    ] {
        assert!(help.contains(&format!("[env: {var}")), "{var}: {help}");
        assert!(help.contains(default), "{var} default {default}: {help}");
    }
    assert!(
        !help.contains("a-secret-that-must-never-be-printed"),
        "{help}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn blank_variables_count_as_unset() {
    let dir = tempdir("blank");
    let out = slotkeeper(&dir)
        .env("DISPATCH_WORKERS", " ")
        .env("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "")
        .env("PUBLIC_BASE_URL", "")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_configuration_is_reported_clearly() {
    let dir = tempdir("config");
    for (var, value, expected) in [
        (
            "DATABASE_URL",
            "mysql://localhost/x",
            "DATABASE_URL must start with sqlite:// or postgres://",
        ),
        ("BIND", "everywhere", "BIND must be an address"),
        (
            "SECRET_KEY",
            "short",
            "SECRET_KEY must be at least 32 characters",
        ),
        (
            "MAILER_URL",
            "carrier-pigeon://coop",
            "MAILER_URL must start with",
        ),
        (
            "DISPATCH_WORKERS",
            "many",
            "DISPATCH_WORKERS must be a number from 0 to 64",
        ),
        (
            "DISPATCH_LEASE_SECONDS",
            "1",
            "DISPATCH_LEASE_SECONDS must be a number from 5 to 3600",
        ),
        (
            "WEBHOOKS_ALLOW_PRIVATE_TARGETS",
            "perhaps",
            "WEBHOOKS_ALLOW_PRIVATE_TARGETS must be true or false",
        ),
        (
            "PUBLIC_BASE_URL",
            "ftp://example.com",
            "PUBLIC_BASE_URL must start with http:// or https://",
        ),
        (
            "SMS_URL",
            "twilio://AC1:tok-never-shown-42@api.twilio.com",
            "SMS_URL: twilio:// needs ?from=",
        ),
        (
            "SMS_URL",
            "twilio://AC1:tok-never-shown-42@api.twilio.com?from=1555",
            "SMS_URL: the from number",
        ),
        (
            "SMS_URL",
            "sms://x",
            "SMS_URL: must start with twilio:// or file://",
        ),
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be text or json"),
        (
            "METRICS_BIND",
            "everywhere",
            "METRICS_BIND must be an address",
        ),
        (
            "METRICS_TOKEN",
            "short",
            "METRICS_TOKEN must be at least 16 characters",
        ),
    ] {
        let out = slotkeeper(&dir)
            .env(var, value)
            .arg("migrate")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{var}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{var}: {stderr}");
        assert!(!stderr.contains("tok-never-shown-42"), "{stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn with_sms_url_the_site_offers_texts_and_takes_signed_replies() {
    let dir = tempdir("sms");
    let sms_url = format!(
        "twilio://{}:{}@127.0.0.1:9?from=%2B15550001111&tls=false",
        fake_twilio::ACCOUNT_SID,
        fake_twilio::AUTH_TOKEN
    );
    let mut demo = Demo::start_with(&dir, &[("SMS_URL", &sms_url)]);
    let (base, book_path) = split(&demo.url("Booking page:"));
    let (_, picker) = http(&base, "GET", &book_path, None);
    // The chosen day's first time: a `start` button of the page's GET form.
    let start = picker
        .split("name=\"start\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a free time");
    let slot = format!("{book_path}?start={}", start.replace('+', "%2B"));
    let (status, form) = http(&base, "GET", &slot, None);
    assert_eq!(status, 200);
    assert!(form.contains("Reply STOP"), "{form}");

    let fields: Vec<(String, String)> = [
        ("MessageSid", "SM0000000000000000000000000000000a"),
        ("From", "+447911123456"),
        ("To", "+15550001111"),
        ("Body", "STOP"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let body = "MessageSid=SM0000000000000000000000000000000a&From=%2B447911123456&To=%2B15550001111&Body=STOP";
    let signed = fake_twilio::signature(
        fake_twilio::AUTH_TOKEN,
        &format!("{base}/sms/inbound"),
        &fields,
    );
    let header = |signature: &str| format!("X-Twilio-Signature: {signature}\r\n");
    let (status, answer) =
        http_with_headers(&base, "POST", "/sms/inbound", Some(body), &header(&signed));
    assert_eq!(status, 200, "{answer}");
    assert!(answer.ends_with("<Response/>"), "{answer}");
    let (status, _) = http_with_headers(
        &base,
        "POST",
        "/sms/inbound",
        Some(body),
        &header("Zm9yZ2Vk"),
    );
    assert_eq!(status, 403);
    demo.child.kill().unwrap();
    demo.child.wait().unwrap();

    let mut plain = Demo::start(&dir);
    let (base, _) = split(&plain.url("Booking page:"));
    let (status, _) =
        http_with_headers(&base, "POST", "/sms/inbound", Some(body), &header(&signed));
    assert_eq!(status, 404, "without SMS_URL no replies are taken");
    plain.child.kill().unwrap();
    plain.child.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `slotkeeper` in `dir` with `args`; its stdout, trimmed (panics on failure).
fn run_ok(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let out = slotkeeper(dir)
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The whole way of a text: a link asking for reconfirmation, a booking with a phone number
/// typed the way people type it, and — when the request comes due — the real dispatcher
/// sends it through the real Twilio adapter to the local fake API, in E.164, from the
/// configured number, with a reconfirm link that works.
#[test]
fn a_reconfirmation_request_reaches_the_attendee_by_text() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime.block_on(fake_twilio::FakeTwilio::start()).unwrap();
    let dir = tempdir("texts");
    let sms_url = fake.sms_url("+15550001111");
    let env = [("SMS_URL", sms_url.as_str())];
    let mut demo = Demo::start_with(&dir, &env);
    let (base, _) = split(&demo.url("Booking page:"));
    let host = run_ok(
        &dir,
        &env,
        &[
            "host",
            "add",
            "--name",
            "Tess",
            "--email",
            "tess@example.com",
            "--timezone",
            "UTC",
        ],
    );
    let link = |slug: &str, ask: &str| {
        let mut args = vec![
            "link", "add", "--host", &host, "--slug", slug, "--title", "Texted",
        ];
        args.extend([
            "--days",
            "mon,tue,wed,thu,fri,sat,sun",
            "--hours",
            "00:00-23:30",
        ]);
        args.extend(["--notice", "5"]);
        if !ask.is_empty() {
            args.extend([
                "--reconfirm-ask-minutes",
                ask,
                "--reconfirm-deadline-minutes",
                "1",
            ]);
        }
        run_ok(&dir, &env, &args);
    };
    // The first slot, read from a link with the same hours, fixes when to ask: a little
    // under a minute or two from now, so the request is due soon but not at booking time.
    link("probe", "");
    let (status, slots) = http(&base, "GET", "/api/v1/links/probe/slots", None);
    assert_eq!(status, 200, "{slots}");
    let start = slots
        .split("\"start\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a slot")
        .to_owned();
    let starts_in = chrono::DateTime::parse_from_rfc3339(&start)
        .unwrap()
        .timestamp()
        - chrono::Utc::now().timestamp();
    let mut ask = starts_in / 60;
    if starts_in - ask * 60 < 15 {
        ask -= 1;
    }
    link("texts", &ask.to_string());
    let booking = format!(
        r#"{{"start":"{start}","invitee":{{"name":"Ada Texter","email":"ada@example.com","timezone":"Europe/London","phone":"+44 7911 123-456"}}}}"#
    );
    let (status, booked) = http_json(&base, "/api/v1/links/texts/bookings", &booking);
    assert_eq!(status, 201, "{booked}");
    assert!(booked.contains("+447911123456"), "kept in E.164: {booked}");

    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    let text = loop {
        if let Some(text) = fake.accepted().into_iter().next() {
            break text;
        }
        assert!(std::time::Instant::now() < deadline, "no text arrived");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(text.to, "+447911123456");
    assert_eq!(text.from, "+15550001111");
    let reconfirm = text
        .body
        .split_whitespace()
        .find(|word| word.contains("/book/reconfirm/"))
        .unwrap_or_else(|| panic!("no reconfirm link in {:?}", text.body));
    let (_, path) = split(reconfirm.trim_end_matches(['.', ',', ')']));
    let (status, page) = http(&base, "GET", &path, None);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Texted"), "{page}");
    demo.child.kill().unwrap();
    demo.child.wait().unwrap();
    runtime.block_on(fake.stop());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// POSTs a JSON body; returns (status, headers+body text).
fn http_json(base: &str, path: &str, json: &str) -> (u16, String) {
    exchange(base, "POST", path, "application/json", json, "")
}

#[test]
fn hosts_and_links_from_the_cli() {
    let dir = tempdir("cli");
    let out = slotkeeper(&dir)
        .args([
            "host",
            "add",
            "--name",
            "Hana",
            "--email",
            "hana@example.com",
            "--timezone",
            "Asia/Tokyo",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let host = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let out = slotkeeper(&dir)
        .args([
            "link",
            "add",
            "--host",
            &host,
            "--slug",
            "sales",
            "--title",
            "Sales call",
            "--duration",
            "45",
            "--hours",
            "10:00-12:00,13:00-18:00",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .ends_with("/book/sales")
    );
    let out = slotkeeper(&dir)
        .args([
            "link",
            "add",
            "--host",
            &host,
            "--slug",
            "x",
            "--title",
            "X",
            "--hours",
            "17:00-09:00",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--hours"));
    let reconfirming = |ask: &str, deadline: Option<&str>| {
        let mut cmd = slotkeeper(&dir);
        cmd.args([
            "link",
            "add",
            "--host",
            &host,
            "--slug",
            "checked",
            "--title",
            "Checked",
            "--reconfirm-ask-minutes",
            ask,
        ]);
        if let Some(deadline) = deadline {
            cmd.args(["--reconfirm-deadline-minutes", deadline]);
        }
        cmd.output().unwrap()
    };
    let out = reconfirming("90", Some("30"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = reconfirming("30", Some("90"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--reconfirm-ask-minutes"));
    let out = reconfirming("90", None);
    assert!(!out.status.success(), "both or neither");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--reconfirm-deadline-minutes"));
    let out = reconfirming("999999999", Some("1"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("a year"));
    let out = slotkeeper(&dir)
        .args([
            "host",
            "add",
            "--name",
            "Bo",
            "--email",
            "bo",
            "--timezone",
            "UTC",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--email"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The `sk_session` cookie (`name=value`) an answer sets.
fn session_cookie(response: &str) -> String {
    response
        .lines()
        .filter_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .find(|c| c.starts_with("sk_session="))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie in {response}"))
        .to_owned()
}

fn form_value(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `host password` ends the host's sessions in the database: a browser logged in to the
/// running server is logged out at once.
#[test]
fn a_new_password_from_the_cli_ends_the_hosts_sessions() {
    let dir = tempdir("password");
    let mut demo = Demo::start(&dir);
    let (base, _) = split(&demo.url("Host login:"));
    let email = demo.url("email:");
    let password = demo.url("password:");
    let (status, page) = http(&base, "GET", "/login", None);
    assert_eq!(status, 200);
    let login_cookie = session_cookie(&page);
    let marker = r#"name="csrf" value=""#;
    let start = page.find(marker).expect("a csrf field") + marker.len();
    let csrf = &page[start..start + 32];
    let form = format!(
        "csrf={csrf}&email={}&password={}",
        form_value(&email),
        form_value(&password)
    );
    let (status, answer) =
        http_with_cookie(&base, "POST", "/login", Some(&form), Some(&login_cookie));
    assert_eq!(status, 303, "{answer}");
    let session = session_cookie(&answer);
    let (status, _) = http_with_cookie(&base, "GET", "/calendar", None, Some(&session));
    assert_eq!(status, 200);

    let out = slotkeeper(&dir)
        .args([
            "host",
            "password",
            "--email",
            &email,
            "--password",
            "a-new-password",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 session"));
    let (status, _) = http_with_cookie(&base, "GET", "/calendar", None, Some(&session));
    assert_eq!(status, 303, "logged out by the password change");
    demo.child.kill().unwrap();
    demo.child.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("slotkeeper-app-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
