//! `cargo xtask schemathesis`: property-based conformance testing of the JSON APIs against their
//! own OpenAPI document. Installs a pinned schemathesis into a virtualenv under target/ (reused
//! by later runs), starts `slotkeeper demo` on a fresh SQLite file (then again on a fresh
//! Postgres database), creates an API key for the
//! demo host through its own pages (xtask/schemathesis/api_key.py), and runs every check over
//! the public, host and webhook APIs with the key sent on every request. Any failure fails
//! the task. `cargo xtask test` runs the short pass; the command alone runs a longer one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::e2e::start_demo;
use crate::{cargo, postgres, root, run, target_dir};

/// The schemathesis release the checks are pinned to (its CLI changed between majors).
const VERSION: &str = "4.32.5";

/// How hard a run tries.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Effort {
    /// A few examples per operation: the pass `cargo xtask test` runs (about two minutes).
    Short,
    /// Many more examples per operation, for `cargo xtask schemathesis`.
    Long,
}

impl Effort {
    fn max_examples(self) -> &'static str {
        match self {
            Self::Short => "10",
            Self::Long => "100",
        }
    }

    /// The short pass inside `cargo xtask test` explores the same cases on every run (a fixed
    /// seed), so a red CI means a change broke something, not that the fuzzer got lucky; the
    /// long pass draws a new seed each time (it prints it, and `--seed N` replays it).
    fn seed(self) -> Option<&'static str> {
        match self {
            Self::Short => Some("20261130"),
            Self::Long => None,
        }
    }

    /// The phases run on the second store: the short pass skips the coverage phase there (it
    /// is the same on both stores and takes most of the time).
    fn second_store_phases(self) -> &'static str {
        match self {
            Self::Short => "examples,fuzzing,stateful",
            Self::Long => "examples,coverage,fuzzing,stateful",
        }
    }
}

/// Runs schemathesis against a fresh demo server on SQLite, then on a fresh Postgres database.
///
/// # Errors
/// A message when the tool cannot be installed or started, or when any check failed.
pub(crate) fn schemathesis(effort: Effort, extra: &[String]) -> Result<(), String> {
    let tool = ensure_installed()?;
    run("build slotkeeper", cargo().args(["build", "-p", "app"]))?;
    let phases = ["--phases", "examples,coverage,fuzzing,stateful"].map(String::from);
    pass(&tool, effort, &[&phases, extra].concat(), "SQLite", None)?;
    let url = fresh_database()?;
    let phases = ["--phases", effort.second_store_phases()].map(String::from);
    pass(
        &tool,
        effort,
        &[&phases, extra].concat(),
        "Postgres",
        Some(&url),
    )
}

/// One schemathesis run against a fresh demo on `database` (`None`: a new SQLite file).
fn pass(
    tool: &Tool,
    effort: Effort,
    extra: &[String],
    store: &str,
    database: Option<&str>,
) -> Result<(), String> {
    let workdir = target_dir().join("schemathesis/run");
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
    // The renewal cron's bearer secret, sent to that operation only (schemathesis.toml).
    let cron = format!("cron-{}", std::process::id());
    // The per-client booking limit (tested in crates/web) would otherwise turn every booking
    // after the twentieth into a 429 and leave the booking logic unexplored.
    // Texts configured (to a port nothing listens on: the demo's bookings give no phone
    // numbers, so none is sent), so that `POST /sms/inbound` is served and checked too.
    let mut env = vec![
        ("CRON_SECRET", cron.as_str()),
        ("BOOKINGS_PER_CLIENT_PER_HOUR", "1000000"),
        (
            "SMS_URL",
            "twilio://AC00000000000000000000000000000000:schemathesis-token@127.0.0.1:9?from=%2B12125550111&tls=false",
        ),
    ];
    env.extend(database.map(|url| ("DATABASE_URL", url)));
    let demo = start_demo(&workdir, &env)?;
    let key = api_key(&tool.python, &demo.base, &demo.login, &demo.password)?;
    let started = Instant::now();
    let result = run(
        &format!("schemathesis run on {store} (public, host, webhook and calendar-push APIs)"),
        Command::new(&tool.schemathesis)
            .arg("--config-file")
            .arg(root().join("xtask/schemathesis/schemathesis.toml"))
            .arg("run")
            .arg(format!("{}/api/v1/openapi.json", demo.base))
            .args(["--checks", "all"])
            .args(["--max-examples", effort.max_examples()])
            // One worker: Python 3.11's parser is not thread-safe under hypothesis (a
            // "recursion depth mismatch" error with two), and the machine is shared.
            .args(["--workers", "1"])
            .args(["--request-timeout", "10"])
            .args(["--generation-database", "none"])
            .args(["--report", "junit"])
            .arg("--report-dir")
            .arg(target_dir().join("schemathesis/report"))
            .arg("--no-color")
            .args(["--header", &format!("Authorization: Bearer {key}")])
            .args(
                effort
                    .seed()
                    .filter(|_| !extra.iter().any(|a| a.starts_with("--seed")))
                    .map(|seed| ["--seed", seed])
                    .into_iter()
                    .flatten(),
            )
            .args(extra)
            .env("SLOTKEEPER_CRON_SECRET", &cron)
            .env("SLOTKEEPER_SAMPLE_TOKEN", &demo.sample_token)
            .current_dir(&workdir),
    );
    eprintln!(
        "xtask: schemathesis on {store} took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    result
}

/// An empty Postgres database for the demo (the server `TEST_DATABASE_URL` names, or the one
/// `postgres.rs` finds or starts).
fn fresh_database() -> Result<String, String> {
    let admin = postgres::ensure_postgres(&target_dir())?;
    let database = "slotkeeper_schemathesis";
    for sql in [
        format!("drop database if exists {database} with (force)"),
        format!("create database {database}"),
    ] {
        run(
            &sql,
            Command::new("psql").args([admin.as_str(), "-q", "-c", sql.as_str()]),
        )?;
    }
    Ok(match admin.rfind('/') {
        Some(i) if i > "postgres://".len() => format!("{}/{database}", &admin[..i]),
        _ => format!("{admin}/{database}"),
    })
}

/// The virtualenv's interpreter and schemathesis entry point.
struct Tool {
    python: PathBuf,
    schemathesis: PathBuf,
}

/// The pinned schemathesis in `target/schemathesis/venv`, installed there first if missing or
/// of another version.
fn ensure_installed() -> Result<Tool, String> {
    let venv = target_dir().join("schemathesis/venv");
    let tool = Tool {
        python: venv.join("bin/python3"),
        schemathesis: venv.join("bin/schemathesis"),
    };
    if installed_version(&tool.schemathesis).as_deref() == Some(VERSION) {
        return Ok(tool);
    }
    run(
        "python3 -m venv (for schemathesis)",
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
    )?;
    run(
        &format!("pip install schemathesis=={VERSION}"),
        Command::new(&tool.python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(format!("schemathesis=={VERSION}")),
    )?;
    match installed_version(&tool.schemathesis) {
        Some(v) if v == VERSION => Ok(tool),
        other => Err(format!(
            "installed schemathesis {VERSION} but it reports {other:?}"
        )),
    }
}

/// What `schemathesis --version` says (`schemathesis, version X`), if it runs.
fn installed_version(exe: &Path) -> Option<String> {
    let out = Command::new(exe).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(text.trim().rsplit(' ').next()?.to_owned())
}

/// A fresh API key of the demo host, made through the login and API key pages.
fn api_key(python: &Path, base: &str, login: &str, password: &str) -> Result<String, String> {
    let out = Command::new(python)
        .arg(root().join("xtask/schemathesis/api_key.py"))
        .args([base, login, password])
        .output()
        .map_err(|e| format!("api_key.py: {e}"))?;
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || !key.starts_with("sk_") {
        return Err(format!(
            "creating an API key failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(key)
}
