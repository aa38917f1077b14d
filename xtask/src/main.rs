//! Project automation: `cargo xtask test | tidy | bench | load | chaos | e2e | schemathesis`. Standard library only,
//! so it builds in seconds on a fresh clone.

mod chaos;
mod e2e;
mod load;
mod postgres;
mod schemathesis;
mod tidy;

use std::env;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("tidy") => tidy::check(&root()).map_err(|problems| problems.join("\n")),
        Some("bench") => bench(&args[1..]),
        Some("e2e") => e2e::e2e(),
        Some("load") => load::load(&args[1..]),
        Some("chaos") => match args.get(1).map(String::as_str) {
            Some("--short") => chaos::short(),
            _ => chaos::chaos(&args[1..]),
        },
        Some("schemathesis") => match args.get(1).map(String::as_str) {
            Some("--short") => schemathesis::schemathesis(schemathesis::Effort::Short, &args[2..]),
            _ => schemathesis::schemathesis(schemathesis::Effort::Long, &args[1..]),
        },
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 test                 fmt check, clippy (warnings are errors), tidy, every test, a short\n\
                 \u{20}                    chaos run, the browser test and a short schemathesis pass;\n\
                 \u{20}                    provisions Postgres when TEST_DATABASE_URL is unset\n\
                 tidy                 the tree's own rules (file headers, booking-core's dependencies)\n\
                 load [--read-only | --write-only] [--async-commit] [--database NAME]\n\
                 \u{20}    [--history N[,M…]]\n\
                 \u{20}                    load run on loopback, two tables (docs/PERFORMANCE.md): reads, wrk\n\
                 \u{20}                    on the pages and the slots API vs /healthz on SQLite and Postgres\n\
                 \u{20}                    (--history: the host's past bookings first); writes, 16 HTTP\n\
                 \u{20}                    clients booking, rescheduling and cancelling vs pgbench running\n\
                 \u{20}                    the same SQL (xtask/load/*.sql), and the outbox's delivery, on\n\
                 \u{20}                    Postgres (--async-commit: with synchronous_commit off;\n\
                 \u{20}                    --database: its database, slotkeeper_load_write by default)\n\
                 chaos [--short | --instances N] [--seconds S] [--sqlite] [--release] [--clients C]\n\
                 \u{20}                    [--workers W] [--seed X]\n\
                 \u{20}                    N `slotkeeper serve` (default 3) on one fresh Postgres database\n\
                 \u{20}                    (--sqlite: one on a SQLite file) under concurrent bookings,\n\
                 \u{20}                    reschedules and cancels for S seconds (default 60), one kill -9\n\
                 \u{20}                    and restart every few seconds; then drains the outbox, audits\n\
                 \u{20}                    it (overlaps, lost writes, deliveries exactly once) and prints\n\
                 \u{20}                    one summary line; fails on any violation (--short: the runs\n\
                 \u{20}                    `test` makes)\n\
                 e2e                  book, reschedule and cancel in headless Chromium (screenshots in target/e2e)\n\
                 schemathesis [--short] [ARGS]\n\
                 \u{20}                    the APIs of a demo on SQLite and on Postgres against their OpenAPI\n\
                 \u{20}                    document (every check, 100 examples per operation; --short: the\n\
                 \u{20}                    pass `test` runs; ARGS go to `schemathesis run`)\n\
                 bench [--emit-slots FILE]\n\
                 \u{20}                    slot-engine benchmark on the fixed input (docs/PERFORMANCE.md),\n\
                 \u{20}                    its instruction count under callgrind, and the store benchmarks"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's directory). `cargo run` sets
/// `CARGO_MANIFEST_DIR` at run time too; prefer that, so a binary built from another checkout
/// into a shared target directory still works on this one.
fn root() -> PathBuf {
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` if set, else `target/` in the workspace.
fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root().join(dir)
            }
        }
        _ => root().join("target"),
    }
}

fn cargo() -> Command {
    let mut cmd = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    // `cargo run` gave this process xtask's own package variables. Build scripts that declare
    // `rerun-if-env-changed` on them (ring's does) would see different values than in a
    // direct `cargo` call and run again, rebuilding everything above them each time the two
    // alternate.
    for (name, _) in env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if is_package_variable(name) {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Whether `name` is one of the variables cargo sets for the package it runs.
fn is_package_variable(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || name.starts_with("CARGO_MANIFEST_")
        || matches!(
            name,
            "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_RUSTC_CURRENT_DIR"
        )
}

fn run(what: &str, cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask: {what}");
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: could not start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

fn test() -> Result<(), String> {
    run(
        "cargo fmt --check",
        cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    run(
        "cargo clippy (warnings are errors)",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    tidy::check(&root()).map_err(|problems| format!("tidy:\n{}", problems.join("\n")))?;
    let database = match env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => postgres::ensure_postgres(&target_dir())
            .map_err(|e| format!("Postgres for the tests: {e}"))?,
    };
    eprintln!("xtask: Postgres tests use {}", redact(&database));
    // Before the tests: the calendar end-to-end test keeps screenshots of the disconnect
    // banner when chromedriver is there.
    e2e::ensure_browser()?;
    run(
        "cargo test --workspace",
        cargo()
            .args(["test", "--workspace", "--all-features"])
            .env("TEST_DATABASE_URL", &database),
    )?;
    chaos::short()?;
    e2e::e2e()?;
    schemathesis::schemathesis(schemathesis::Effort::Short, &[])
}

/// Hides a password in a database URL before printing it.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match url[scheme + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

fn bench(args: &[String]) -> Result<(), String> {
    let mut emit = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--emit-slots" => {
                emit = Some(rest.next().ok_or("--emit-slots needs a file name")?.clone())
            }
            other => return Err(format!("unknown bench option {other}")),
        }
    }
    let mut slots = cargo();
    slots.args(["bench", "-p", "booking-core", "--bench", "slots"]);
    if let Some(path) = &emit {
        let path = env::current_dir().map_err(|e| e.to_string())?.join(path);
        slots.env("SLOTKEEPER_EMIT_SLOTS", path);
    }
    run("slot-engine benchmark (criterion)", &mut slots)?;
    callgrind_slots()?;
    let database = match env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => postgres::ensure_postgres(&target_dir())
            .map_err(|e| format!("Postgres for the benchmarks: {e}"))?,
    };
    run(
        "SQLite store benchmark",
        cargo().args(["bench", "-p", "store-sqlite", "--bench", "commit"]),
    )?;
    run(
        "Postgres store benchmark",
        cargo()
            .args(["bench", "-p", "store-postgres", "--bench", "commit"])
            .env("TEST_DATABASE_URL", &database),
    )
}

/// Counts the instructions of one slot computation on the fixed input with callgrind, which is
/// repeatable on a noisy shared machine where wall-clock time is not.
fn callgrind_slots() -> Result<(), String> {
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("xtask: valgrind not found; skipping the instruction count");
        return Ok(());
    }
    run(
        "build the one-shot slot example",
        cargo().args([
            "build",
            "--release",
            "-p",
            "booking-core",
            "--example",
            "bench_input_once",
        ]),
    )?;
    let out = target_dir().join("callgrind.slots.out");
    let exe = target_dir().join("release/examples/bench_input_once");
    // One exact name: a pattern like `*offered_slots*` also matches `offered_slots_up_to`,
    // which `offered_slots` calls, and the second toggle switches collection off again.
    let output = Command::new("valgrind")
        .args([
            "--tool=callgrind",
            "--toggle-collect=booking_core::slots::offered_slots",
        ])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(&exe)
        .output()
        .map_err(|e| format!("valgrind: {e}"))?;
    let log = String::from_utf8_lossy(&output.stderr);
    let total = log
        .lines()
        .find(|l| l.contains("Collected"))
        .unwrap_or("no count reported");
    eprintln!(
        "xtask: callgrind, offered_slots on the fixed input: {}",
        total.trim()
    );
    // A count this small means the toggle never fired (the function was inlined or renamed).
    let count: Option<u64> = total.rsplit(' ').next().and_then(|n| n.trim().parse().ok());
    if count.is_some_and(|n| n < 1_000) {
        return Err("callgrind counted nothing inside offered_slots; check the toggle".into());
    }
    Ok(())
}

#[cfg(test)]
mod cargo_env_tests {
    use super::is_package_variable;

    #[test]
    fn only_the_package_variables_are_dropped() {
        for name in [
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "CARGO_MANIFEST_DIR",
            "CARGO_CRATE_NAME",
        ] {
            assert!(is_package_variable(name), "{name}");
        }
        for name in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_TERM_COLOR",
            "PATH",
        ] {
            assert!(!is_package_variable(name), "{name}");
        }
    }
}
