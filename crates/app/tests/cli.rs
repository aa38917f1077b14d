//! The `slotkeeper` binary over a real socket: the demo starts on a fresh SQLite file, its
//! printed links work, a cancel goes through, SIGTERM stops it cleanly; bad configuration
//! gets a clear error.

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
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = form.unwrap_or("");
    let cookie = cookie.map_or_else(String::new, |c| format!("Cookie: {c}\r\n"));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{cookie}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
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

    /// The demo with its log (stderr) going to `log`.
    fn start_logging_to(dir: &std::path::Path, log: Stdio) -> Self {
        let mut child = slotkeeper(dir)
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
    ] {
        let out = slotkeeper(&dir)
            .env(var, value)
            .arg("migrate")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{var}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{var}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
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
