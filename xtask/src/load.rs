//! `cargo xtask load`: a load run on loopback with wrk against the release binary, on SQLite
//! and on Postgres. Each store's run measures the bare `/healthz` of the same process as the
//! baseline, then the reschedule page and the slots endpoint, and prints requests/s, p99 and
//! the ratio to the baseline (a shared, noisy machine makes only same-run ratios meaningful).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::{cargo, postgres, run, target_dir};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `slotkeeper demo`; returns the server and the (base, reschedule path) it printed.
fn start(
    workdir: &std::path::Path,
    database_url: Option<&str>,
) -> Result<(Server, String, String), String> {
    let mut cmd = Command::new(target_dir().join("release/slotkeeper"));
    cmd.arg("demo")
        .current_dir(workdir)
        .env("BIND", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    match database_url {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("starting slotkeeper: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let server = Server(child);
    let (mut base, mut reschedule) = (None, None);
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    for line in lines.by_ref() {
        let line = line.trim();
        if let Some(url) = line.strip_prefix("Booking page:") {
            base = Some(url.trim().trim_end_matches("/book/intro").to_owned());
        }
        if let Some(url) = line.strip_prefix("reschedule:") {
            reschedule = Some(url.trim().to_owned());
        }
        if line.contains("Ctrl-C") {
            break;
        }
    }
    // Keep draining: a closed pipe would kill the server at its next line of output.
    std::thread::spawn(move || lines.for_each(drop));
    let (Some(base), Some(reschedule)) = (base, reschedule) else {
        return Err("slotkeeper demo did not print its URLs".into());
    };
    let path = reschedule.trim_start_matches(&base).to_owned();
    Ok((server, base, path))
}

/// (requests/s, p99 in ms) from wrk's output.
fn wrk(url: &str) -> Result<(f64, f64), String> {
    let out = Command::new("wrk")
        .args(["-t1", "-c16", "-d8s", "--latency", url])
        .output()
        .map_err(|e| format!("wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or_else(|| format!("no Requests/sec in wrk output:\n{text}"))?;
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| millis(v.trim()))
        .ok_or_else(|| format!("no 99% latency in wrk output:\n{text}"))?;
    let non2xx = text.lines().any(|l| l.contains("Non-2xx"));
    if non2xx {
        return Err(format!("{url} answered with errors under load:\n{text}"));
    }
    Ok((rps, p99))
}

fn millis(value: &str) -> f64 {
    let (number, unit) = value.split_at(
        value
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(value.len()),
    );
    let n: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "s" => n * 1000.0,
        _ => n,
    }
}

fn measure(
    store: &str,
    workdir: &std::path::Path,
    database_url: Option<&str>,
) -> Result<Vec<String>, String> {
    let (_server, base, reschedule) = start(workdir, database_url)?;
    let (base_rps, base_p99) = wrk(&format!("{base}/healthz"))?;
    let mut rows = vec![format!(
        "| {store} | `/healthz` (baseline) | {base_rps:.0} | {base_p99:.2} | 1.00 |"
    )];
    for (name, path) in [
        ("reschedule page", reschedule.as_str()),
        ("slots endpoint (7 days)", "/api/v1/links/intro/slots"),
    ] {
        let (rps, p99) = wrk(&format!("{base}{path}"))?;
        rows.push(format!(
            "| {store} | {name} | {rps:.0} | {p99:.2} | {:.2} |",
            rps / base_rps
        ));
    }
    Ok(rows)
}

pub(crate) fn load() -> Result<(), String> {
    if Command::new("wrk").arg("--version").output().is_err() {
        run(
            "apt-get install wrk",
            Command::new("apt-get")
                .args(["install", "-y", "-q", "wrk"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
    }
    run(
        "build slotkeeper (release)",
        cargo().args(["build", "--release", "-p", "app"]),
    )?;
    let workdir = target_dir().join("load");
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
    let mut rows = measure("SQLite", &workdir, None)?;

    let admin = postgres::ensure_postgres(&target_dir())?;
    let database = "slotkeeper_load";
    for sql in [
        format!("drop database if exists {database}"),
        format!("create database {database}"),
    ] {
        run(
            &sql,
            Command::new("psql").args([admin.as_str(), "-q", "-c", sql.as_str()]),
        )?;
    }
    let url = match admin.rfind('/') {
        Some(i) if i > "postgres://".len() => format!("{}/{database}", &admin[..i]),
        _ => format!("{admin}/{database}"),
    };
    rows.extend(measure("Postgres", &workdir, Some(&url))?);
    println!(
        "| store | endpoint | requests/s | p99 ms | ratio to /healthz |\n|---|---|---|---|---|"
    );
    for row in rows {
        println!("{row}");
    }
    Ok(())
}
