//! The read half of `cargo xtask load`: wrk against `/healthz` (the baseline), the booking
//! page, the reschedule page and the slots API (7 days), then the server's memory under 64
//! connections; and the seeding of a host's history by SQL, so a run can show whether a
//! request's cost grows with it.

use std::path::Path;
use std::process::Command;

use super::{Store, start};
use crate::run;

/// The table's head: one row per store, history size and endpoint.
pub(crate) const HEADER: &str = "| store | past bookings | endpoint | requests/s | p99 ms | ratio to /healthz (target ≥ 0.50) |\n|---|---|---|---|---|---|";

/// What a run asks for, with the `wrk` connections.
const CONNECTIONS: &str = "16";
/// The connections the memory figures are taken under.
const MEMORY_CONNECTIONS: &str = "64";

/// One store's rows: the baseline, each page and the API, and the memory figures.
pub(crate) fn measure(store: &Store, workdir: &Path, history: u64) -> Result<Vec<String>, String> {
    let demo = start(workdir, store)?;
    if history > 0 {
        seed_history(store, workdir, history)?;
    }
    let name = store.name();
    let base = &demo.base;
    let (base_rps, base_p99) = wrk(&format!("{base}/healthz"), CONNECTIONS)?;
    let mut rows = vec![format!(
        "| {name} | {history} | `/healthz` (baseline) | {base_rps:.0} | {base_p99:.2} | 1.00 |"
    )];
    for (endpoint, path) in [
        ("booking page", "/book/intro"),
        ("reschedule page", demo.reschedule.as_str()),
        ("slots API (7 days)", "/api/v1/links/intro/slots"),
    ] {
        let (rps, p99) = wrk(&format!("{base}{path}"), CONNECTIONS)?;
        let ratio = rps / base_rps;
        let mark = if ratio >= 0.5 { "" } else { " (short)" };
        rows.push(format!(
            "| {name} | {history} | {endpoint} | {rps:.0} | {p99:.2} | {ratio:.2}{mark} |"
        ));
    }
    let (rps, _) = wrk(&format!("{base}{}", demo.reschedule), MEMORY_CONNECTIONS)?;
    let (peak, now) = memory(demo.server.pid())?;
    rows.push(format!(
        "| {name} | {history} | RSS after the reschedule page under {MEMORY_CONNECTIONS} connections ({rps:.0} requests/s) | peak {peak} MB | now {now} MB | (≤ 64 MB) |"
    ));
    Ok(rows)
}

/// (requests/s, p99 in ms) from wrk's output; an answer other than 2xx fails the run.
fn wrk(url: &str, connections: &str) -> Result<(f64, f64), String> {
    let out = Command::new("wrk")
        .args(["-t1", "-c", connections, "-d8s", "--latency", url])
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
    if text.lines().any(|l| l.contains("Non-2xx")) {
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

/// (peak, current) resident memory in MB, from `/proc/PID/status` (`VmHWM`, `VmRSS`).
fn memory(pid: u32) -> Result<(u64, u64), String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("reading the server's memory: {e}"))?;
    let kb = |field: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .ok_or_else(|| format!("no {field} in /proc/{pid}/status"))
    };
    Ok((kb("VmHWM:")? / 1024, kb("VmRSS:")? / 1024))
}

/// Gives the demo's host `count` confirmed bookings in the past, back to back one buffered
/// meeting length apart (at least an hour) from yesterday backwards, copied from the demo's
/// sample booking with fresh ids and token hashes. Written by SQL, so 100,000 rows take
/// seconds; the server keeps running meanwhile.
fn seed_history(store: &Store, workdir: &Path, count: u64) -> Result<(), String> {
    match store {
        Store::Postgres(url) => run(
            "seed the host's history (Postgres)",
            Command::new("psql").args([
                url.as_str(),
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                &postgres_history(count),
            ]),
        ),
        Store::Sqlite => run(
            "seed the host's history (SQLite)",
            Command::new("sqlite3")
                .arg(workdir.join("data/slotkeeper.db"))
                .arg(".timeout 10000")
                .arg(sqlite_history(count)),
        ),
    }
}

pub(super) const COLUMNS: &str = "id, chain_id, host_id, link_id, start_at, end_at, blocked_start, blocked_end, \
     status, status_changed_at, token_hash, token_sealed, invitee_name, invitee_email, invitee_phone, \
     invitee_time_zone, answers, tracking, ics_sequence, version, created_at, updated_at";

fn postgres_history(count: u64) -> String {
    format!(
        "insert into scheduling_calendar_events ({COLUMNS}) \
         select gen_random_uuid(), gen_random_uuid(), e.host_id, e.link_id, \
         b.s + (e.start_at - e.blocked_start), b.s + (e.end_at - e.blocked_start), \
         b.s, b.s + (e.blocked_end - e.blocked_start), 'confirmed', b.s, \
         sha256(convert_to('history ' || g, 'UTF8')), e.token_sealed, e.invitee_name, e.invitee_email, \
         e.invitee_phone, e.invitee_time_zone, e.answers, e.tracking, 0, 1, b.s, b.s \
         from (select * from scheduling_calendar_events order by created_at limit 1) e \
         cross join generate_series(1, {count}) g \
         cross join lateral (select date_trunc('hour', now()) - interval '1 day' \
           - g * greatest(e.blocked_end - e.blocked_start, interval '1 hour') as s) b; \
         analyze scheduling_calendar_events;"
    )
}

fn sqlite_history(count: u64) -> String {
    let at = |seconds: &str| format!("strftime('%Y-%m-%dT%H:%M:%S+00:00', {seconds}, 'unixepoch')");
    let from_s = |column: &str| {
        at(&format!(
            "s + unixepoch({column}) - unixepoch(blocked_start)"
        ))
    };
    format!(
        "with recursive g(n) as (select 1 union all select n + 1 from g where n < {count}), \
         e as (select * from scheduling_calendar_events order by created_at limit 1), \
         r as (select e.*, unixepoch('now', 'start of day', '-1 day') \
           - n * max(unixepoch(blocked_end) - unixepoch(blocked_start), 3600) as s from e, g) \
         insert into scheduling_calendar_events ({COLUMNS}) \
         select randomblob(16), randomblob(16), host_id, link_id, {start}, {end}, {bstart}, {bend}, \
         'confirmed', {bstart}, randomblob(32), token_sealed, invitee_name, invitee_email, \
         invitee_phone, invitee_time_zone, answers, tracking, 0, 1, {bstart}, {bstart} from r; analyze;",
        start = from_s("start_at"),
        end = from_s("end_at"),
        bstart = at("s"),
        bend = from_s("blocked_end"),
    )
}
