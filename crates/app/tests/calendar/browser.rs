//! Screenshots of host pages in headless Chromium, through chromedriver's WebDriver API, when
//! chromedriver is installed (`cargo xtask test` installs it first); kept under
//! `target/e2e/` for people to look at.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::site::eventually;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn installed() -> bool {
    Command::new("chromedriver")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Where screenshots go: `target/e2e` of the workspace (or of `CARGO_TARGET_DIR`).
fn shots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target.join("e2e")
}

/// Opens each of `paths` of `base` with the session `cookies` and saves a PNG of it as
/// `target/e2e/{name}.png`; returns the files written, or `None` without chromedriver.
pub async fn screenshots(
    base: &str,
    cookies: &[(String, String)],
    pages: &[(&str, &str)],
) -> Option<Vec<PathBuf>> {
    if !installed() {
        eprintln!("chromedriver is not installed: no screenshots (cargo xtask test installs it)");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let _driver = Driver(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let wd = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    eventually("chromedriver answers", || async {
        http.get(format!("{wd}/status")).send().await.is_ok()
    })
    .await;
    let profile = tempfile::tempdir().expect("a browser profile");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let session: Value = http
        .post(format!("{wd}/session"))
        .json(&json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--window-size=1280,900", format!("--user-data-dir={}", profile.path().display())]}}}}))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("a browser session")
        .json()
        .await
        .expect("json");
    let id = session["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no session: {session}"))
        .to_owned();
    let call = |method: reqwest::Method, path: &str, body: Value| {
        let request = http
            .request(method, format!("{wd}/session/{id}{path}"))
            .timeout(Duration::from_secs(30));
        if body.is_null() {
            request.send()
        } else {
            request.json(&body).send()
        }
    };
    call(
        reqwest::Method::POST,
        "/url",
        json!({"url": format!("{base}/login")}),
    )
    .await
    .expect("opened");
    for (name, value) in cookies {
        call(
            reqwest::Method::POST,
            "/cookie",
            json!({"cookie": {"name": name, "value": value, "path": "/"}}),
        )
        .await
        .expect("cookie set");
    }
    let dir = shots_dir();
    std::fs::create_dir_all(&dir).expect("target/e2e");
    let mut written = Vec::new();
    for (name, path) in pages {
        call(
            reqwest::Method::POST,
            "/url",
            json!({"url": format!("{base}{path}")}),
        )
        .await
        .expect("opened");
        let shot: Value = call(reqwest::Method::GET, "/screenshot", Value::Null)
            .await
            .expect("screenshot")
            .json()
            .await
            .expect("json");
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["value"].as_str().expect("base64 PNG"))
            .expect("valid base64");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let file = dir.join(format!("{name}.png"));
        std::fs::write(&file, png).expect("saved");
        written.push(file);
    }
    let _ = call(reqwest::Method::DELETE, "", Value::Null).await;
    Some(written)
}
