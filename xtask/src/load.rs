//! `cargo xtask load [--history N[,M…]]`: a load run on loopback with wrk against the release
//! binary, on SQLite and on Postgres, printed as one table. Each store's run measures the bare
//! `/healthz` of the same process as the baseline, then the pages and the slots API, and gives
//! requests/s, p99 and the ratio to the baseline (a shared, noisy machine makes only same-run
//! ratios meaningful). `--history` first gives the demo host that many past bookings, once per
//! size listed, so the rows show whether a request's cost grows with a host's history. The
//! read half lives in `load/read.rs`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::{cargo, postgres, run, target_dir};

mod read;

/// A running `slotkeeper demo`, killed when dropped.
pub(crate) struct Server(Child);

impl Server {
    /// The server's process id, for its memory figures.
    pub(crate) fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What `slotkeeper demo` printed: where it listens and the sample booking's reschedule path.
pub(crate) struct Demo {
    pub(crate) server: Server,
    pub(crate) base: String,
    pub(crate) reschedule: String,
}

/// The database a run uses.
#[derive(Clone)]
pub(crate) enum Store {
    /// The demo's SQLite file under the work directory.
    Sqlite,
    /// A Postgres database URL.
    Postgres(String),
}

impl Store {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres(_) => "Postgres",
        }
    }
}

/// Starts `slotkeeper demo` in `workdir` on `store`.
pub(crate) fn start(workdir: &std::path::Path, store: &Store) -> Result<Demo, String> {
    let mut cmd = Command::new(target_dir().join("release/slotkeeper"));
    cmd.arg("demo")
        .current_dir(workdir)
        .env("BIND", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    match store {
        Store::Postgres(url) => cmd.env("DATABASE_URL", url),
        Store::Sqlite => cmd.env_remove("DATABASE_URL"),
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
    let reschedule = reschedule.trim_start_matches(&base).to_owned();
    Ok(Demo {
        server,
        base,
        reschedule,
    })
}

/// Installs Debian's wrk when it is missing and this runs as root; otherwise says what to do.
fn ensure_wrk() -> Result<(), String> {
    if Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
    {
        return Ok(());
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !is_root {
        return Err("the load run needs wrk: install Debian's `wrk`".into());
    }
    let install = || {
        run(
            "apt-get install wrk",
            Command::new("apt-get")
                .args(["install", "-y", "-q", "wrk"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    install().or_else(|_| {
        run(
            "apt-get update",
            Command::new("apt-get").args(["update", "-q"]),
        )?;
        install()
    })
}

/// A fresh Postgres database for the run, as a URL.
fn fresh_postgres(database: &str) -> Result<String, String> {
    let admin = postgres::ensure_postgres(&target_dir())?;
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

/// The history sizes `--history` lists (none: the demo as it starts).
fn histories(args: &[String]) -> Result<Vec<u64>, String> {
    match args {
        [] => Ok(vec![0]),
        [flag, sizes] if flag == "--history" => sizes
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .map_err(|_| format!("--history takes counts like 100,100000, not {n:?}"))
            })
            .collect(),
        _ => Err("usage: cargo xtask load [--history N[,M…]]".into()),
    }
}

pub(crate) fn load(args: &[String]) -> Result<(), String> {
    let histories = histories(args)?;
    ensure_wrk()?;
    run(
        "build slotkeeper (release)",
        cargo().args(["build", "--release", "-p", "app"]),
    )?;
    let mut rows = Vec::new();
    for &history in &histories {
        for postgres in [false, true] {
            let workdir = target_dir().join("load");
            let _ = std::fs::remove_dir_all(&workdir);
            std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
            let store = if postgres {
                Store::Postgres(fresh_postgres("slotkeeper_load")?)
            } else {
                Store::Sqlite
            };
            rows.extend(read::measure(&store, &workdir, history)?);
        }
    }
    println!("{}", read::HEADER);
    for row in rows {
        println!("{row}");
    }
    Ok(())
}
