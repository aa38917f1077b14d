//! `cargo xtask load [--read-only | --write-only] [--async-commit] [--delivery-apart]
//! [--database NAME] [--history N[,M…]]`: a load run on loopback
//! against the release binary, printed as two tables. The read half (wrk, on SQLite and on
//! Postgres) is below and in `load/read.rs`; the write half (HTTP bookings, reschedules and
//! cancels against pgbench running the same SQL, and the dispatcher, on Postgres) in
//! `load/write.rs`. Each store's run measures the bare
//! `/healthz` of the same process as the baseline, then the pages and the slots API, and gives
//! requests/s, p99 and the ratio to the baseline (a shared, noisy machine makes only same-run
//! ratios meaningful). `--history` first gives the demo host that many past bookings, once per
//! size listed, so the rows show whether a request's cost grows with a host's history.
//! `--delivery-apart` keeps the write half's server from delivering during the load (another
//! instance drains the outbox after each phase), so its rows show the write path alone.
//! `--database` names the write half's Postgres database (dropped and made afresh), so two
//! runs on one machine need not drop each other's.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::{cargo, postgres, run, target_dir};

mod driver;
mod fixture;
mod keepalive;
mod outbox;
mod pgbench;
mod read;
mod write;

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

/// Which halves a run makes, and the history sizes `--history` lists (none: the demo as it
/// starts).
#[derive(Debug, PartialEq)]
struct Options {
    read: bool,
    write: bool,
    /// The write half with `synchronous_commit = off`, so commits do not wait for the disk.
    async_commit: bool,
    /// The write half's server delivers nothing during the load; another instance drains
    /// the outbox after each phase.
    delivery_apart: bool,
    /// The write half's database, dropped and created afresh.
    database: String,
    histories: Vec<u64>,
}

const USAGE: &str = "usage: cargo xtask load [--read-only | --write-only] [--async-commit] \
     [--delivery-apart] [--database NAME] [--history N[,M…]]";

/// The write half's database unless `--database` names another.
const WRITE_DATABASE: &str = "slotkeeper_load_write";

impl Options {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            read: true,
            write: true,
            async_commit: false,
            delivery_apart: false,
            database: WRITE_DATABASE.to_owned(),
            histories: vec![0],
        };
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            match arg.as_str() {
                "--read-only" => options.write = false,
                "--write-only" => options.read = false,
                "--async-commit" => options.async_commit = true,
                "--delivery-apart" => options.delivery_apart = true,
                "--database" => options.database = database(rest.next().ok_or(USAGE)?)?,
                "--history" => options.histories = histories(rest.next().ok_or(USAGE)?)?,
                _ => return Err(USAGE.into()),
            }
        }
        if !options.read && !options.write {
            return Err(USAGE.into());
        }
        Ok(options)
    }
}

/// A database name fit to splice into `create database` unquoted.
fn database(name: &str) -> Result<String, String> {
    let plain = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain && name.len() <= 63 {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "--database takes a name like h5_load_write (a-z, 0-9, _), not {name:?}"
        ))
    }
}

fn histories(sizes: &str) -> Result<Vec<u64>, String> {
    sizes
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .map_err(|_| format!("--history takes counts like 100,100000, not {n:?}"))
        })
        .collect()
}

pub(crate) fn load(args: &[String]) -> Result<(), String> {
    let options = Options::parse(args)?;
    if options.read {
        ensure_wrk()?;
    }
    run(
        "build slotkeeper (release)",
        cargo().args(["build", "--release", "-p", "app"]),
    )?;
    let mut tables = Vec::new();
    if options.read {
        tables.push((read::HEADER, read_rows(&options.histories)?));
    }
    if options.write {
        let workdir = fresh_workdir("load-write")?;
        let database = options.database.as_str();
        let url = fresh_postgres(database)?;
        let commit = if options.async_commit {
            write::Commit::Async(database)
        } else {
            write::Commit::Synchronous
        };
        let delivery = if options.delivery_apart {
            write::Delivery::Apart
        } else {
            write::Delivery::InServer
        };
        tables.push((
            write::HEADER,
            write::measure(&url, &workdir, commit, delivery)?,
        ));
    }
    for (header, rows) in tables {
        println!("{header}");
        for row in rows {
            println!("{row}");
        }
        println!();
    }
    Ok(())
}

fn read_rows(histories: &[u64]) -> Result<Vec<String>, String> {
    let mut rows = Vec::new();
    for &history in histories {
        for postgres in [false, true] {
            let workdir = fresh_workdir("load")?;
            let store = if postgres {
                Store::Postgres(fresh_postgres("slotkeeper_load")?)
            } else {
                Store::Sqlite
            };
            rows.extend(read::measure(&store, &workdir, history)?);
        }
    }
    Ok(rows)
}

/// An empty directory under the target directory.
fn fresh_workdir(name: &str) -> Result<std::path::PathBuf, String> {
    let workdir = target_dir().join(name);
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).map_err(|e| format!("{}: {e}", workdir.display()))?;
    Ok(workdir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn options_choose_the_halves_and_the_histories() {
        let both = parse(&[]).unwrap();
        assert_eq!(
            (both.read, both.write, both.histories),
            (true, true, vec![0])
        );
        let write = parse(&["--write-only", "--async-commit"]).unwrap();
        assert_eq!(
            (write.read, write.write, write.async_commit),
            (false, true, true)
        );
        assert!(!both.async_commit);
        assert!(!both.delivery_apart);
        assert!(
            parse(&["--write-only", "--delivery-apart"])
                .unwrap()
                .delivery_apart
        );
        let read = parse(&["--history", "100,100000", "--read-only"]).unwrap();
        assert_eq!((read.read, read.write), (true, false));
        assert_eq!(read.histories, vec![100, 100_000]);
        assert!(parse(&["--read-only", "--write-only"]).is_err());
        assert!(parse(&["--history"]).is_err());
        assert!(parse(&["--history", "lots"]).is_err());
        assert!(parse(&["--fast"]).is_err());
        assert_eq!(both.database, "slotkeeper_load_write");
        let named = parse(&["--write-only", "--database", "h5_load_write"]).unwrap();
        assert_eq!(named.database, "h5_load_write");
        assert!(parse(&["--database"]).is_err());
        assert!(parse(&["--database", "x; drop table outbox"]).is_err());
        assert!(parse(&["--database", "Load"]).is_err());
    }
}
