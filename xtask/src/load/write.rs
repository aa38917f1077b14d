//! The write half of `cargo xtask load`, on Postgres: 16 HTTP clients, each on its own kept-
//! alive connection and its own host's link, book distinct slots through the public JSON API
//! for 8 s, then reschedule those bookings by their tokens, then cancel them; after each
//! phase the outbox is drained (the dispatcher's figures: effects created and delivered per
//! second, the backlog when the load stopped, the time to drain it). Then the server stops and
//! pgbench runs `xtask/load/{book,reschedule,cancel}.sql` — the statements those requests
//! send, in the same round trips, the booking limit's included — with 16 clients on the same
//! database, the bar each HTTP figure is a ratio of.

use std::path::Path;
use std::time::Duration;

use super::driver::{Figures, Request, drive};
use super::fixture::{self, SLOT_MINUTES};
use super::outbox;
use super::pgbench::{self, Bench};
use crate::chaos::fleet::{Fleet, Launch, free_ports};
use crate::chaos::http::json_str;
use crate::chaos::sinks::{self, Sink};
use crate::chaos::traffic::{rfc3339, unix_now};
use crate::root;

/// The table's head: one row per operation (HTTP, then pgbench) and the dispatcher's.
pub(crate) const HEADER: &str = "| store | half | operation | per second | p99 ms | ratio to pgbench, same SQL (target ≥ 0.50) |\n|---|---|---|---|---|---|";

/// Clients, hosts and pgbench clients alike.
const CLIENTS: usize = 16;
/// How long each phase runs at most.
const SECONDS: u64 = 8;
/// Days of slots the bookings choose from (from the day after tomorrow, so no 24-hour
/// reminder comes due during the run); the reschedules move into the days after them.
const BOOK_DAYS: i64 = 55;
/// How long a drain may take before the run fails.
const DRAIN_LIMIT: Duration = Duration::from_secs(300);
/// Rows prepared for pgbench's reschedule and cancel scripts to act on, each.
const PREPARED: u64 = 100_000;

/// The three use cases, in the order the run makes them.
const OPERATIONS: [&str; 3] = ["book", "reschedule", "cancel"];

/// The dispatcher's figures over one phase.
#[derive(Debug)]
struct Dispatch {
    /// Entries due now that the phase created.
    created: u64,
    /// Of those, delivered by the time the load stopped.
    delivered: u64,
    /// Mails and webhooks the sinks received meanwhile.
    received: usize,
    backlog: u64,
    drained: Duration,
}

/// How the run's database commits.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Commit<'a> {
    /// As configured (`synchronous_commit = on` by default): a commit waits for its WAL flush.
    Synchronous,
    /// `synchronous_commit = off` for the named database, server and pgbench alike: commits
    /// do not wait for the disk, so the figures show the CPU's bound, not the disk's.
    Async(&'a str),
}

/// Where the outbox is delivered from while the clients write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// By the server the clients talk to (2 workers, the default): the dispatcher's rows show
    /// what it delivers during the load, on the same cores.
    InServer,
    /// Not during the load: the server runs with `DISPATCH_WORKERS=0`, and after each phase
    /// another instance (2 workers) starts and drains the outbox, as a deployment that keeps
    /// delivery off the instances answering requests would. The HTTP rows show the write path
    /// alone, as pgbench's do; the drain, the dispatcher's rate with the machine to itself.
    Apart,
}

/// The write rows for the Postgres database `url`.
pub(crate) fn measure(
    url: &str,
    workdir: &Path,
    commit: Commit<'_>,
    delivery: Delivery,
) -> Result<Vec<String>, String> {
    let mut store = match commit {
        Commit::Synchronous => "Postgres".to_owned(),
        Commit::Async(database) => {
            fixture::psql(
                url,
                &format!("alter database {database} set synchronous_commit = off"),
            )?;
            "Postgres, synchronous_commit off".to_owned()
        }
    };
    if delivery == Delivery::Apart {
        store.push_str(", delivery apart");
    }
    let http = http_phases(url, workdir, delivery)?;
    let benches = benches(url, workdir)?;
    let mut rows = Vec::new();
    for ((op, (figures, dispatch)), bench) in OPERATIONS.iter().zip(&http).zip(&benches) {
        rows.extend(op_rows(op, figures, bench));
        rows.push(dispatch_row(op, figures, dispatch));
    }
    Ok(rows
        .into_iter()
        .map(|row| row.replacen("| Postgres |", &format!("| {store} |"), 1))
        .collect())
}

/// Starts the server, books, reschedules and cancels over HTTP, draining the outbox after
/// each phase; stops the server.
fn http_phases(
    url: &str,
    workdir: &Path,
    delivery: Delivery,
) -> Result<Vec<(Figures, Dispatch)>, String> {
    let smtp = sinks::smtp()?;
    let hooks = sinks::webhooks()?;
    let [port, drainer] = free_ports(2)?[..] else {
        return Err("two free ports".into());
    };
    let launch = fixture::launch(url, workdir, port, smtp.port);
    let slugs = fixture::set_up(&launch, CLIENTS, hooks.port)?;
    let mut serving = launch.clone();
    if delivery == Delivery::Apart {
        serving.env.push(("DISPATCH_WORKERS".into(), "0".into()));
    }
    let _server = Fleet::start(serving, vec![port])?;
    let drain = Drain {
        url,
        sinks: [&smtp, &hooks],
        apart: (delivery == Delivery::Apart).then_some((&launch, drainer)),
    };
    let first = (unix_now() / 86_400 + 2) * 86_400;
    let mut mark = Mark::default();
    let mut phases = Vec::new();
    let (figures, bodies) = drive(port, book_requests(&slugs, first), limit());
    phases.push((figures, drain.dispatched(&mut mark)?));
    let moved = first + BOOK_DAYS * 86_400;
    let (figures, bodies) = drive(port, reschedule_requests(&tokens(&bodies), moved), limit());
    phases.push((figures, drain.dispatched(&mut mark)?));
    let (figures, _) = drive(port, cancel_requests(&tokens(&bodies)), limit());
    phases.push((figures, drain.dispatched(&mut mark)?));
    Ok(phases)
}

fn limit() -> Duration {
    Duration::from_secs(SECONDS)
}

/// Client `c` books slot after slot of link `c`, from `first` on.
fn book_requests(slugs: &[String], first: i64) -> Vec<impl Iterator<Item = Request> + Send> {
    let slots = BOOK_DAYS * 24 * 60 / SLOT_MINUTES;
    slugs
        .iter()
        .enumerate()
        .map(|(c, slug)| {
            let path = format!("/api/v1/links/{slug}/bookings");
            (0..slots).map(move |k| Request {
                path: path.clone(),
                body: format!(
                    r#"{{"start":"{}","invitee":{{"name":"Load {c}-{k}","email":"load{c}-{k}@example.com","timezone":"UTC"}}}}"#,
                    rfc3339(first + k * SLOT_MINUTES * 60)
                ),
            })
        })
        .collect()
}

/// Each client moves its bookings, in order, to the slots from `moved` on.
fn reschedule_requests(
    tokens: &[Vec<String>],
    moved: i64,
) -> Vec<impl Iterator<Item = Request> + Send> {
    tokens
        .iter()
        .map(|mine| {
            mine.clone()
                .into_iter()
                .zip(0..)
                .map(move |(token, k): (String, i64)| Request {
                    path: format!("/api/v1/bookings/by-token/{token}/reschedule"),
                    body: format!(
                        r#"{{"start":"{}"}}"#,
                        rfc3339(moved + k * SLOT_MINUTES * 60)
                    ),
                })
        })
        .collect()
}

fn cancel_requests(tokens: &[Vec<String>]) -> Vec<impl Iterator<Item = Request> + Send> {
    tokens
        .iter()
        .map(|mine| {
            mine.clone().into_iter().map(|token| Request {
                path: format!("/api/v1/bookings/by-token/{token}/cancel"),
                body: "{}".to_owned(),
            })
        })
        .collect()
}

/// The live tokens of each client's answered bookings.
fn tokens(bodies: &[Vec<String>]) -> Vec<Vec<String>> {
    bodies
        .iter()
        .map(|mine| {
            mine.iter()
                .filter_map(|b| json_str(b, "reschedule_token"))
                .collect()
        })
        .collect()
}

/// Mails and webhooks the sinks have received so far.
fn received(sinks: &[&Sink]) -> usize {
    sinks
        .iter()
        .map(|s| s.snapshot().values().sum::<usize>())
        .sum()
}

/// Where the outbox and the sinks stood before a phase (after the previous one's drain).
#[derive(Debug, Default)]
struct Mark {
    created: u64,
    delivered: u64,
    received: usize,
}

/// How the outbox is drained after a phase: by the server itself, or by an instance of
/// `launch` started on the port for the drain alone (`Delivery::Apart`).
struct Drain<'a> {
    url: &'a str,
    sinks: [&'a Sink; 2],
    apart: Option<(&'a Launch, u16)>,
}

impl Drain<'_> {
    /// The dispatcher's figures of the phase that just stopped, then the drain; `mark` moves
    /// to where things stand after it.
    fn dispatched(&self, mark: &mut Mark) -> Result<Dispatch, String> {
        let received_by_end = received(&self.sinks);
        let at_end = outbox::counts(self.url)?;
        // Started after the counts, so nothing it delivers counts as delivered meanwhile; its
        // start-up counts in the drain's time.
        let started = std::time::Instant::now();
        let _drainer = match self.apart {
            Some((launch, port)) => Some(Fleet::start(launch.clone(), vec![port])?),
            None => None,
        };
        outbox::drain(self.url, DRAIN_LIMIT)?;
        let drained = started.elapsed();
        let dispatch = Dispatch {
            created: at_end.created - mark.created,
            delivered: at_end.delivered - mark.delivered,
            received: received_by_end - mark.received,
            backlog: at_end.pending,
            drained,
        };
        let after = outbox::counts(self.url)?;
        *mark = Mark {
            created: after.created,
            delivered: after.delivered,
            received: received(&self.sinks),
        };
        Ok(dispatch)
    }
}

/// Prepares the rows the reschedule and cancel scripts act on, then runs the three scripts.
fn benches(url: &str, workdir: &Path) -> Result<Vec<Bench>, String> {
    fixture::psql(url, &prepare_rows(PREPARED * 2))?;
    OPERATIONS
        .iter()
        .map(|op| {
            let script = root().join("xtask/load").join(format!("{op}.sql"));
            let vars = [("rows", PREPARED.to_string()), ("k", "0".to_owned())];
            pgbench::run(url, &script, SECONDS, &vars, &workdir.join("pgbench"))
        })
        .collect()
}

/// The HTTP row and the pgbench row of one operation.
fn op_rows(op: &str, http: &Figures, bench: &Bench) -> [String; 2] {
    let rate = http.per_second();
    let ratio = rate / bench.tps.max(1e-9);
    let mut marks = Vec::new();
    if ratio < 0.5 {
        marks.push("short");
    }
    if http.quantile_ms(0.99) >= 50.0 {
        marks.push("p99 ≥ 50 ms");
    }
    let mark = if marks.is_empty() {
        String::new()
    } else {
        format!(" ({})", marks.join(", "))
    };
    if let Some(failure) = &http.first_failure {
        eprintln!(
            "xtask: {op} over HTTP: {} not 2xx, first: {failure}",
            http.failed
        );
    }
    [
        format!(
            "| Postgres | write | {op} (HTTP, {CLIENTS} clients; {} ok, {} not 2xx, p50 {:.2} ms) | {rate:.0} | {:.2} | {ratio:.2}{mark} |",
            http.ok,
            http.failed,
            http.quantile_ms(0.5),
            http.quantile_ms(0.99),
        ),
        format!(
            "| Postgres | write | pgbench `{op}.sql` ({}{CLIENTS} clients, prepared; {} transactions, {} failed) | {:.0} | {:.2} | 1.00 |",
            script_extras(op),
            bench.transactions,
            bench.failed,
            bench.tps,
            bench.p99_ms,
        ),
    ]
}

/// What a script sends besides the use case's own statements, for its row's label: the
/// booking limit's upsert and prune, which web runs before every booking.
fn script_extras(op: &str) -> &'static str {
    if op == "book" {
        "with the booking limit's upsert and prune; "
    } else {
        ""
    }
}

/// The dispatcher's row of one phase: delivered against created effects per second over the
/// load, the backlog when it stopped and how long that took to drain.
fn dispatch_row(op: &str, http: &Figures, d: &Dispatch) -> String {
    let seconds = http.elapsed.as_secs_f64().max(1e-9);
    let (created, delivered) = (d.created as f64 / seconds, d.delivered as f64 / seconds);
    format!(
        "| Postgres | write | dispatcher under the {op} load ({} effects due now created, {} delivered meanwhile; the sinks received {} mails and webhooks) | delivered {delivered:.0} vs created {created:.0} | backlog {} at the end, drained in {:.1} s | {:.2} delivered/created |",
        d.created,
        d.delivered,
        d.received,
        d.backlog,
        d.drained.as_secs_f64(),
        delivered / created.max(1e-9),
    )
}

/// Inserts `count` confirmed bookings for the scripts to reschedule and cancel, spread over
/// the hosts (row `n` on host `n % hosts`), copied from the run's first booking of each host
/// at 5-minute slots from the year 3000, with the token hash `sha256('load ' || n)` the
/// scripts look them up by.
fn prepare_rows(count: u64) -> String {
    format!(
        "insert into scheduling_calendar_events ({columns}) \
         select gen_random_uuid(), gen_random_uuid(), t.host_id, t.link_id, s.at, \
         s.at + (t.end_at - t.start_at), s.at, s.at + (t.end_at - t.start_at), 'confirmed', now(), \
         sha256(convert_to('load ' || g, 'UTF8')), t.token_sealed, t.invitee_name, t.invitee_email, \
         t.invitee_phone, t.invitee_time_zone, t.answers, t.tracking, 0, 1, now(), now() \
         from generate_series(1, {count}) g \
         join (select d.*, row_number() over (order by d.host_id) - 1 as k from \
           (select distinct on (host_id) * from scheduling_calendar_events \
            order by host_id, created_at) d) t on t.k = g % {CLIENTS} \
         cross join lateral (select timestamptz '3000-01-01 00:00Z' \
           + g * interval '{SLOT_MINUTES} minutes' as at) s; \
         analyze scheduling_calendar_events;",
        columns = super::read::COLUMNS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SQL lines of a script run on every transaction: one statement a line, so one
    /// round trip each; comments, meta-commands and the `\if` block run once are left out.
    fn statements(script: &str) -> Vec<&str> {
        let mut once = false;
        script
            .lines()
            .filter(|line| {
                once = (once || line.starts_with("\\if")) && !line.starts_with("\\endif");
                !once && !line.starts_with("--") && !line.starts_with('\\') && !line.is_empty()
            })
            .collect()
    }

    /// Each script sends what `docs/PERFORMANCE.md`'s round-trip table counts for its
    /// request over HTTP: 4 for a booking (the booking limit's two included), 3 for a
    /// reschedule, 2 for a cancel, the last one the commit statement of store-postgres.
    #[test]
    fn the_scripts_make_the_requests_round_trips() {
        let expected: [(&str, &[&str]); 3] = [
            (
                "book",
                &[
                    "insert into login_attempts",
                    "delete from login_attempts",
                    "select blocked_start",
                ],
            ),
            (
                "reschedule",
                &["select id, chain_id", "select blocked_start"],
            ),
            ("cancel", &["select id, chain_id"]),
        ];
        for (op, before) in expected {
            let path = root().join("xtask/load").join(format!("{op}.sql"));
            let script = std::fs::read_to_string(&path).unwrap();
            let sent = statements(&script);
            assert_eq!(sent.len(), before.len() + 1, "{op}: {sent:#?}");
            for (line, start) in sent.iter().zip(before) {
                assert!(line.starts_with(start), "{op}: {line}");
            }
            let commit = sent[before.len()];
            for part in [
                "with l0 as (select pg_advisory_xact_lock(",
                "where exists (select 1 from w0)",
                "select slotkeeper_all_written(array[",
                "pg_notify('slotkeeper_busy'",
            ] {
                assert!(commit.contains(part), "{op}: no {part} in {commit}");
            }
        }
    }
}
