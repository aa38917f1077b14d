//! `cargo xtask chaos`: several `slotkeeper serve` processes on one Postgres database (or one
//! on a SQLite file), concurrent clients booking, rescheduling and cancelling across them while
//! a random instance is `kill -9`ed and restarted every few seconds; then the outbox is drained
//! and the result audited (see `chaos/audit.rs`). Prints one summary line; any violation makes
//! it fail. Mails go to a counting SMTP sink rather than the `.eml` file sink, which
//! overwrites a repeated message and so could not show a redelivery.

mod audit;
pub(crate) mod fleet;
pub(crate) mod http;
mod session;
mod sha256;
pub(crate) mod sinks;
pub(crate) mod traffic;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use audit::{Db, Findings, Received};
use fleet::{Fleet, Launch};
use traffic::{Ledger, Op, Plan, Rng, Shared, Stats, Told};

use crate::{cargo, postgres, run, target_dir};

/// Outbox workers per instance unless `--workers` says otherwise; a kill can repeat at most
/// one delivery per worker.
const WORKERS: usize = 2;
/// Hosts, each with one link and one webhook subscription.
const HOSTS: usize = 3;
/// The first host's login, for the session check.
const PASSWORD: &str = "chaos-password-1";

/// One run's settings.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) instances: usize,
    pub(crate) seconds: u64,
    pub(crate) sqlite: bool,
    pub(crate) release: bool,
    pub(crate) clients: usize,
    pub(crate) workers: usize,
    pub(crate) seed: u64,
}

impl Options {
    /// From `[--instances N] [--seconds S] [--sqlite] [--release] [--clients C] [--workers W]
    /// [--seed X]`.
    pub(crate) fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            instances: 3,
            seconds: 60,
            sqlite: false,
            release: false,
            clients: 8,
            workers: WORKERS,
            seed: seed_from_clock(),
        };
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            let mut number = |name: &str| -> Result<u64, String> {
                rest.next()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| format!("{name} needs a number"))
            };
            match arg.as_str() {
                "--instances" => options.instances = count(number("--instances")?)?,
                "--seconds" => options.seconds = number("--seconds")?.max(1),
                "--clients" => options.clients = count(number("--clients")?)?,
                "--workers" => options.workers = count(number("--workers")?)?,
                "--seed" => options.seed = number("--seed")?,
                "--sqlite" => options.sqlite = true,
                "--release" => options.release = true,
                other => return Err(format!("unknown chaos option {other}")),
            }
        }
        if options.sqlite {
            options.instances = 1;
        }
        Ok(options)
    }
}

fn count(n: u64) -> Result<usize, String> {
    usize::try_from(n)
        .ok()
        .filter(|n| (1..=64).contains(n))
        .ok_or_else(|| "a count from 1 to 64".to_owned())
}

fn seed_from_clock() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    u64::try_from(nanos % u128::from(u64::MAX)).unwrap_or(0) ^ u64::from(std::process::id())
}

/// `cargo xtask chaos [OPTIONS]`.
pub(crate) fn chaos(args: &[String]) -> Result<(), String> {
    let options = Options::parse(args)?;
    build(options.release)?;
    run_once(&options)
}

/// The short runs `cargo xtask test` makes: 3 instances on Postgres for 15 s, then one on
/// SQLite for 6 s (the debug binary its tests built).
pub(crate) fn short() -> Result<(), String> {
    build(false)?;
    let seed = seed_from_clock();
    let postgres = Options {
        instances: 3,
        seconds: 15,
        sqlite: false,
        release: false,
        clients: 4,
        workers: WORKERS,
        seed,
    };
    run_once(&postgres)?;
    // SQLite delivers about a hundred entries a second (a synced commit each): few clients,
    // so the drain stays short.
    run_once(&Options {
        instances: 1,
        seconds: 6,
        sqlite: true,
        clients: 2,
        seed: seed ^ 1,
        ..postgres
    })
}

fn build(release: bool) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args(["build", "-p", "app"]);
    if release {
        cmd.arg("--release");
    }
    run("build slotkeeper", &mut cmd)
}

/// One run: set up, drive traffic under kills, prove sessions, drain, audit, summarise.
fn run_once(options: &Options) -> Result<(), String> {
    let store = if options.sqlite { "sqlite" } else { "postgres" };
    eprintln!(
        "xtask: chaos on {store}: {} instance(s), {} s, {} clients, seed {}",
        options.instances, options.seconds, options.clients, options.seed
    );
    let dir = target_dir().join("chaos").join(store);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (db, url) = database(options, &dir)?;
    let smtp = sinks::smtp()?;
    let hooks = sinks::webhooks()?;
    let ports = fleet::free_ports(options.instances)?;
    let launch = launch(options, &dir, &url, &ports, smtp.port)?;
    let plan = set_up(&launch, hooks.port)?;
    let fleet = Fleet::start(launch, ports)?;
    let (ledger, stats) = (Ledger::default(), Stats::default());
    let kills = drive(options, &fleet, &plan, &ledger, &stats)?;
    let mut ledger = ledger.into_inner().map_err(|_| "ledger poisoned")?;
    let session = prove_sessions(fleet.ports(), &mut ledger);
    let drain_limit = Duration::from_secs(300);
    let drained = audit::drain(&db, drain_limit);
    drop(fleet);
    let received = Received {
        mails: smtp.snapshot(),
        webhooks: hooks.snapshot(),
    };
    let mut findings = audit::audit(&db, &ledger, &received)?;
    let stats = stats.into_inner().map_err(|_| "stats poisoned")?;
    let sessions_ok = session.is_ok();
    let drained_in = *drained.as_ref().unwrap_or(&drain_limit);
    judge(
        options,
        kills,
        &stats,
        [session, drained.map(drop)],
        &mut findings,
    );
    println!(
        "{}",
        summary(
            options,
            store,
            (kills, sessions_ok),
            drained_in,
            &stats,
            &findings
        )
    );
    if findings.violations.is_empty() {
        if let Db::Postgres(_) = db {
            drop_database(&url);
        }
        Ok(())
    } else {
        for violation in findings.violations.iter().take(30) {
            eprintln!("chaos violation: {violation}");
        }
        Err(format!(
            "chaos on {store}: {} violation(s); logs in {}",
            findings.violations.len(),
            dir.display()
        ))
    }
}

/// A fresh database: a new Postgres database named for this process, or a SQLite file.
fn database(options: &Options, dir: &std::path::Path) -> Result<(Db, String), String> {
    if options.sqlite {
        let file = dir.join("chaos.db");
        return Ok((
            Db::Sqlite(file.clone()),
            format!("sqlite://{}", file.display()),
        ));
    }
    let admin = postgres::ensure_postgres(&target_dir())?;
    let name = format!("slotkeeper_chaos_{}", std::process::id());
    for sql in [
        format!("drop database if exists {name} with (force)"),
        format!("create database {name}"),
    ] {
        run(
            &sql,
            Command::new("psql")
                .args(["-X", "-q", admin.as_str(), "-c", sql.as_str()])
                .env("PGOPTIONS", "-c client_min_messages=warning"),
        )?;
    }
    let url = match admin.rfind('/') {
        Some(i) if i > "postgres://".len() => format!("{}/{name}", &admin[..i]),
        _ => format!("{admin}/{name}"),
    };
    Ok((Db::Postgres(url.clone()), url))
}

fn drop_database(url: &str) {
    if let Some((admin_base, name)) = url.rsplit_once('/') {
        let admin = format!("{admin_base}/postgres");
        let _ = Command::new("psql")
            .args(["-X", "-q", &admin, "-c"])
            .arg(format!("drop database if exists {name} with (force)"))
            .output();
    }
}

fn launch(
    options: &Options,
    dir: &std::path::Path,
    url: &str,
    ports: &[u16],
    smtp: u16,
) -> Result<Launch, String> {
    let profile = if options.release { "release" } else { "debug" };
    let exe = target_dir().join(profile).join("slotkeeper");
    let secret = format!(
        "chaos-secret-{:016x}-{:016x}",
        options.seed,
        Rng::new(options.seed).next()
    );
    let env = [
        ("DATABASE_URL", url.to_owned()),
        ("DATA_DIR", dir.display().to_string()),
        ("SECRET_KEY", secret),
        ("PUBLIC_BASE_URL", format!("http://127.0.0.1:{}", ports[0])),
        ("MAILER_URL", format!("smtp://127.0.0.1:{smtp}")),
        ("DISPATCH_WORKERS", options.workers.to_string()),
        // A killed worker's claimed entries come back after this, which keeps the drain short;
        // long enough that a live worker's batch of ten never outlasts it on a busy machine.
        ("DISPATCH_LEASE_SECONDS", "20".to_owned()),
        ("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
        ("BOOKINGS_PER_CLIENT_PER_HOUR", "1000000".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ];
    Ok(Launch {
        exe,
        env: env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        dir: dir.to_path_buf(),
    })
}

/// Hosts, links (a slot every 15 minutes, around the clock, 60 days ahead) and webhook
/// subscriptions, through the binary's CLI.
fn set_up(launch: &Launch, hooks: u16) -> Result<Plan, String> {
    launch.cli(&["migrate"])?;
    let mut slugs = Vec::new();
    for h in 0..HOSTS {
        let email = format!("host{h}@example.com");
        let host = launch.cli(&[
            "host",
            "add",
            "--name",
            &format!("Chaos Host {h}"),
            "--email",
            &email,
            "--timezone",
            "UTC",
            "--password",
            PASSWORD,
        ])?;
        let slug = format!("chaos-{h}");
        let minutes = traffic::SLOT_MINUTES.to_string();
        launch.cli(&[
            "link",
            "add",
            "--host",
            &host,
            "--slug",
            &slug,
            "--title",
            "Chaos call",
            "--duration",
            &minutes,
            "--interval",
            &minutes,
            "--hours",
            "00:00-24:00",
            "--days",
            "mon,tue,wed,thu,fri,sat,sun",
            "--timezone",
            "UTC",
            "--max-days-ahead",
            "60",
        ])?;
        launch.cli(&[
            "webhook",
            "add",
            "--host",
            &host,
            "--url",
            &format!("http://127.0.0.1:{hooks}/hooks/{h}"),
        ])?;
        slugs.push(slug);
    }
    Ok(Plan {
        slugs,
        // The day after tomorrow: a run started just before midnight UTC must not find its
        // first slots under way (a reschedule then answers 410, a violation).
        first_day: (traffic::unix_now() / 86_400 + 2) * 86_400,
        slots: 55 * 24 * 60 / usize::try_from(traffic::SLOT_MINUTES).unwrap_or(15),
        hot: 4,
    })
}

/// Runs the clients until the time is up while killing and restarting instances; returns
/// the number of kills.
fn drive(
    options: &Options,
    fleet: &Fleet,
    plan: &Plan,
    ledger: &Ledger,
    stats: &Stats,
) -> Result<usize, String> {
    let until = Instant::now() + Duration::from_secs(options.seconds);
    let shared = Shared {
        ports: fleet.ports(),
        plan,
        ledger,
        stats,
        until,
    };
    std::thread::scope(|scope| {
        for c in 0..options.clients {
            let seed = options.seed.wrapping_add(c as u64 + 1);
            let shared = &shared;
            scope.spawn(move || traffic::client(c, seed, shared));
        }
        killer(options.seed, fleet, until)
    })
}

/// Every 2.5 to 4.5 seconds: `kill -9` a random instance and start it again.
fn killer(seed: u64, fleet: &Fleet, until: Instant) -> Result<usize, String> {
    let mut rng = Rng::new(seed ^ 0x6b69_6c6c);
    let mut kills = 0;
    loop {
        let wait = Duration::from_millis(2500 + rng.below(2000) as u64);
        if Instant::now() + wait >= until {
            return Ok(kills);
        }
        std::thread::sleep(wait);
        let victim = rng.below(fleet.ports().len());
        fleet.kill(victim);
        kills += 1;
        std::thread::sleep(Duration::from_millis(200));
        fleet.restart(victim)?;
    }
}

/// The session round on a confirmed booking of the first host's that no client is unsure
/// of; on success the ledger expects it cancelled.
fn prove_sessions(
    ports: &[u16],
    ledger: &mut HashMap<String, traffic::Record>,
) -> Result<(), String> {
    let (id, record) = ledger
        .iter_mut()
        .find(|(_, r)| r.link == 0 && r.told == Told::Confirmed && !r.in_doubt)
        .ok_or("no confirmed booking of the first host to cancel from the dashboard")?;
    session::prove(ports, "host0@example.com", PASSWORD, id)
        .map_err(|e| format!("sessions: {e}"))?;
    record.told = Told::Cancelled;
    Ok(())
}

/// Deliveries an outbox worker has in flight at once (`dispatch::IN_FLIGHT`): what one killed
/// worker can at most deliver again.
const IN_FLIGHT: usize = 32;

/// Adds the run's own violations: server errors, a failed session round or drain, too few
/// kills, more repeats than killed workers can explain.
fn judge(
    options: &Options,
    kills: usize,
    stats: &HashMap<&'static str, traffic::OpStats>,
    checks: [Result<(), String>; 2],
    findings: &mut Findings,
) {
    for op in stats.values() {
        findings.violations.extend(op.unexpected.iter().cloned());
    }
    findings
        .violations
        .extend(checks.into_iter().filter_map(Result::err));
    let repeats = findings.mail_repeats + findings.webhook_repeats;
    if repeats > kills * options.workers * IN_FLIGHT {
        findings.violations.push(format!(
            "{repeats} repeated deliveries for {kills} kills of {} workers each, {IN_FLIGHT} deliveries in flight per worker",
            options.workers
        ));
    }
    let wanted = if options.seconds >= 10 { 2 } else { 1 };
    if kills < wanted {
        findings
            .violations
            .push(format!("only {kills} kills in {} s", options.seconds));
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    millis(sorted[rank.min(sorted.len() - 1)])
}

/// The one line: settings, throughput, latency per op kind, kills and the audit's counts.
fn summary(
    options: &Options,
    store: &str,
    (kills, sessions_ok): (usize, bool),
    drained: Duration,
    stats: &HashMap<&'static str, traffic::OpStats>,
    f: &Findings,
) -> String {
    let answered: usize = stats.values().map(|s| s.latencies.len()).sum();
    let mut line = format!(
        "chaos {store}: instances={} seconds={} clients={} seed={} kills={kills} ops/s={:.1}",
        options.instances,
        options.seconds,
        options.clients,
        options.seed,
        answered as f64 / options.seconds as f64
    );
    for op in Op::ALL {
        let s = stats.get(op.name()).cloned().unwrap_or_default();
        let mut sorted = s.latencies.clone();
        sorted.sort();
        let _ = write!(
            line,
            " | {} n={} ok={} conflict={} unanswered={} p50={:.1}ms p99={:.1}ms",
            op.name(),
            sorted.len(),
            s.ok,
            s.conflict,
            s.unanswered,
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.99)
        );
    }
    let _ = write!(
        line,
        " | audit: rows={} acknowledged={} in_doubt={} overlaps={} mails={} mail_repeats={} \
         webhooks={} webhook_repeats={} pending={} dead={} drained_in={:.1}s sessions={} \
         violations={} => {}",
        f.rows,
        f.acknowledged,
        f.in_doubt,
        f.overlaps,
        f.mails,
        f.mail_repeats,
        f.webhooks,
        f.webhook_repeats,
        f.pending,
        f.dead,
        drained.as_secs_f64(),
        if sessions_ok { "shared" } else { "FAILED" },
        f.violations.len(),
        if f.violations.is_empty() {
            "PASS"
        } else {
            "FAIL"
        }
    );
    line
}
