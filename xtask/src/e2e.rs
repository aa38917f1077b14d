//! `cargo xtask e2e`: the browser test. Starts `slotkeeper demo` on a fresh SQLite file and
//! chromedriver, then drives Chromium through the booking flow (xtask/e2e/booking_flow.py),
//! the host's side (host_flow.py) and the dashboard's webhooks page and phone layout
//! (webhooks_flow.py), keeping screenshots under target/e2e/. Installs Debian's chromium and chromium-driver
//! when missing and running as root.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{cargo, root, run, target_dir};

/// Kills the child when dropped, so a failed step leaves no server behind.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn found(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub(crate) fn ensure_browser() -> Result<(), String> {
    if found("chromium") && found("chromedriver") {
        return Ok(());
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    if !is_root {
        return Err("the browser test needs Chromium and ChromeDriver: install Debian's `chromium` and `chromium-driver`".into());
    }
    run(
        "apt-get install chromium chromium-driver",
        Command::new("apt-get")
            .args(["install", "-y", "-q", "chromium", "chromium-driver"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
    .or_else(|_| {
        run(
            "apt-get update",
            Command::new("apt-get").args(["update", "-q"]),
        )?;
        run(
            "apt-get install chromium chromium-driver",
            Command::new("apt-get")
                .args(["install", "-y", "-q", "chromium", "chromium-driver"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    })
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

fn wait_for_port(port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("nothing listened on port {port} within 20 s"))
}

/// A running demo: its URL, the demo host's login and the sample booking's reschedule token.
/// Dropping it stops the server.
pub(crate) struct Demo {
    _server: Guard,
    pub(crate) base: String,
    pub(crate) login: String,
    pub(crate) password: String,
    pub(crate) sample_token: String,
}

/// Starts `slotkeeper demo` (the debug build) in `workdir` on a free port, over a fresh SQLite
/// file there, with `env` added to its environment, and waits until it printed its URL and the
/// demo host's login.
pub(crate) fn start_demo(workdir: &Path, env: &[(&str, &str)]) -> Result<Demo, String> {
    let exe = target_dir().join("debug/slotkeeper");
    let mut child = Command::new(exe)
        .arg("demo")
        .current_dir(workdir)
        .env("BIND", "127.0.0.1:0")
        .env_remove("DATABASE_URL")
        .env_remove("PUBLIC_BASE_URL")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting slotkeeper demo: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let guard = Guard(child);
    let (found, printed) = std::sync::mpsc::channel();
    // Keep reading the server's output for its whole life: a closed pipe would kill it.
    std::thread::spawn(move || {
        let (mut base, mut login, mut token) = (None, None, String::new());
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let line = line.trim();
            if let Some(url) = line.strip_prefix("Booking page:") {
                base = Some(url.trim().trim_end_matches("/book/intro").to_owned());
            } else if let Some(url) = line.strip_prefix("reschedule:") {
                token = url.trim().rsplit('/').next().unwrap_or_default().to_owned();
            } else if let Some(email) = line.strip_prefix("email:") {
                login = Some(email.trim().to_owned());
            } else if let Some(password) = line.strip_prefix("password:")
                && let (Some(base), Some(login)) = (base.take(), login.take())
            {
                let _ = found.send((base, login, password.trim().to_owned(), token.clone()));
            }
        }
    });
    let (base, login, password, sample_token) = printed
        .recv_timeout(Duration::from_secs(60))
        .map_err(|_| "slotkeeper demo exited before printing its URL and host login")?;
    Ok(Demo {
        _server: guard,
        base,
        login,
        password,
        sample_token,
    })
}

pub(crate) fn e2e() -> Result<(), String> {
    ensure_browser()?;
    run("build slotkeeper", cargo().args(["build", "-p", "app"]))?;
    let workdir = target_dir().join("e2e/run");
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
    let demo = start_demo(&workdir, &[])?;
    let base = demo.base.clone();
    let port = free_port()?;
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting chromedriver: {e}"))?;
    let _driver = Guard(driver);
    wait_for_port(port)?;
    let shots = target_dir().join("e2e");
    run(
        "browser test (Chromium)",
        Command::new("python3")
            .arg(root().join("xtask/e2e/booking_flow.py"))
            .arg(&base)
            .arg(format!("http://127.0.0.1:{port}"))
            .arg(&shots),
    )?;
    drop(demo);
    // The host's side on a fresh demo, whose dashboard counts are known exactly.
    let workdir = target_dir().join("e2e/run-host");
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
    let demo = start_demo(&workdir, &[])?;
    run(
        "host browser test (Chromium)",
        Command::new("python3")
            .arg(root().join("xtask/e2e/host_flow.py"))
            .arg(&demo.base)
            .arg(format!("http://127.0.0.1:{port}"))
            .arg(&shots)
            .arg(&demo.login)
            .arg(&demo.password),
    )?;
    drop(demo);
    // The webhooks page and the dashboard at phone size, on a demo whose webhooks may reach
    // the script's receiver on 127.0.0.1.
    let workdir = target_dir().join("e2e/run-webhooks");
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
    let demo = start_demo(&workdir, &[("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")])?;
    run(
        "webhooks and phone browser test (Chromium)",
        Command::new("python3")
            .arg(root().join("xtask/e2e/webhooks_flow.py"))
            .arg(&demo.base)
            .arg(format!("http://127.0.0.1:{port}"))
            .arg(&shots)
            .arg(&demo.login)
            .arg(&demo.password),
    )?;
    drop(demo);
    // The host's one-click move, on a fresh demo whose sample booking is still upcoming.
    let workdir = target_dir().join("e2e/run-host-reschedule");
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
    let demo = start_demo(&workdir, &[])?;
    run(
        "host reschedule browser test (Chromium)",
        Command::new("python3")
            .arg(root().join("xtask/e2e/host_reschedule_flow.py"))
            .arg(&demo.base)
            .arg(format!("http://127.0.0.1:{port}"))
            .arg(&shots)
            .arg(&demo.login)
            .arg(&demo.password),
    )
}
