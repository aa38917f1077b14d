//! After the run: wait until the outbox is drained, then check the database and the sinks —
//! no overlapping confirmed bookings, every acknowledged write there as the client was told,
//! every committed mail and webhook delivered, a repeat only where a kill can explain it, and
//! nothing delivered that was never committed, pending or dead.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::sha256;
use super::traffic::{Record, Told};

/// The database the instances share, read with its own command-line client.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    Postgres(String),
    Sqlite(PathBuf),
}

impl Db {
    /// Rows of `sql`, each split on `|`.
    fn rows(&self, sql: &str) -> Result<Vec<Vec<String>>, String> {
        let out = match self {
            Self::Postgres(url) => Command::new("psql")
                .args(["-X", "-q", "-tA", "-F", "|", "-d", url, "-c", sql])
                .output(),
            Self::Sqlite(path) => Command::new("sqlite3")
                .args(["-batch", "-cmd", ".timeout 10000", "-separator", "|"])
                .arg(path)
                .arg(sql)
                .output(),
        }
        .map_err(|e| format!("running the database client: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{sql}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.split('|').map(str::to_owned).collect())
            .collect())
    }

    fn count(&self, sql: &str) -> Result<usize, String> {
        self.rows(sql)?
            .first()
            .and_then(|row| row.first())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("{sql}: no count"))
    }

    /// A uuid column as 32 lowercase hex digits.
    fn hex_id(&self, column: &str) -> String {
        match self {
            Self::Postgres(_) => format!("coalesce(replace({column}::text, '-', ''), '')"),
            Self::Sqlite(_) => format!("coalesce(lower(hex({column})), '')"),
        }
    }
}

/// Effect codes sent at a moment before the meeting (reminders, reconfirmation requests,
/// texts, a link's own steps): planned days ahead, so the run neither waits for them nor
/// expects them; one that came due meanwhile may arrive, or be skipped as the row moved on.
const TIMED: [&str; 4] = [
    "email/Reminder/",
    "email/ReconfirmationRequest/",
    "text/",
    "step/",
];

/// Entries still to deliver that the run waits for: everything but the timed kinds.
const PENDING: &str = "select count(*) from outbox where delivered_at is null and dead_at is null \
     and effect not like 'email/Reminder/%' and effect not like 'email/ReconfirmationRequest/%' \
     and effect not like 'text/%' and effect not like 'step/%'";

fn is_timed(effect: &str) -> bool {
    TIMED.iter().any(|prefix| effect.starts_with(prefix))
}

/// Waits until no outbox entry is pending (delivered or dead), at most `limit`.
pub(crate) fn drain(db: &Db, limit: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    loop {
        let pending = db.count(PENDING)?;
        if pending == 0 {
            return Ok(started.elapsed());
        }
        if started.elapsed() > limit {
            return Err(format!(
                "{pending} outbox entries still pending after {limit:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// What the audit counted; `violations` empty means the run passed.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub(crate) rows: usize,
    pub(crate) acknowledged: usize,
    pub(crate) in_doubt: usize,
    pub(crate) overlaps: usize,
    pub(crate) mails: usize,
    pub(crate) mail_repeats: usize,
    pub(crate) webhooks: usize,
    pub(crate) webhook_repeats: usize,
    pub(crate) pending: usize,
    pub(crate) dead: usize,
    pub(crate) violations: Vec<String>,
}

/// What the sinks received, per id.
#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) mails: HashMap<String, usize>,
    pub(crate) webhooks: HashMap<String, usize>,
}

pub(crate) fn audit(
    db: &Db,
    ledger: &HashMap<String, Record>,
    received: &Received,
) -> Result<Findings, String> {
    let mut f = Findings {
        overlaps: overlaps(db)?,
        pending: db.count(PENDING)?,
        dead: db.count("select count(*) from outbox where dead_at is not null")?,
        ..Findings::default()
    };
    if f.overlaps > 0 {
        f.violations.push(format!(
            "{} pairs of overlapping confirmed bookings",
            f.overlaps
        ));
    }
    if f.pending + f.dead > 0 {
        f.violations
            .push(format!("outbox: {} pending, {} dead", f.pending, f.dead));
    }
    check_bookings(db, ledger, &mut f)?;
    check_deliveries(db, received, &mut f)?;
    Ok(f)
}

fn overlaps(db: &Db) -> Result<usize, String> {
    db.count(
        "select count(*) from scheduling_calendar_events a join scheduling_calendar_events b \
         on a.host_id = b.host_id and a.id < b.id \
         and a.status = 'confirmed' and b.status = 'confirmed' \
         and a.blocked_start < b.blocked_end and b.blocked_start < a.blocked_end",
    )
}

/// Every acknowledged booking is in the database, in the state its client was told.
fn check_bookings(
    db: &Db,
    ledger: &HashMap<String, Record>,
    f: &mut Findings,
) -> Result<(), String> {
    let sql = format!(
        "select {}, status, {} from scheduling_calendar_events",
        db.hex_id("id"),
        db.hex_id("next_id")
    );
    let stored: HashMap<String, (String, String)> = db
        .rows(&sql)?
        .into_iter()
        .filter_map(|row| match row.as_slice() {
            [id, status, next] => Some((id.clone(), (status.clone(), next.clone()))),
            _ => None,
        })
        .collect();
    f.rows = stored.len();
    compare(ledger, &stored, f);
    Ok(())
}

/// The ledger against the stored `(status, next_id)` of every row.
fn compare(
    ledger: &HashMap<String, Record>,
    stored: &HashMap<String, (String, String)>,
    f: &mut Findings,
) {
    for (id, record) in ledger {
        f.acknowledged += 1;
        let Some((status, next)) = stored.get(id) else {
            f.violations
                .push(format!("acknowledged booking {id} is missing"));
            continue;
        };
        if record.in_doubt {
            f.in_doubt += 1;
            continue;
        }
        let as_told = match &record.told {
            Told::Confirmed => status == "confirmed",
            Told::Cancelled => status == "cancelled",
            Told::Rescheduled(to) => status == "rescheduled" && next == to,
        };
        if !as_told {
            f.violations.push(format!(
                "booking {id}: told {:?}, stored {status} (next {next:?})",
                record.told
            ));
        }
    }
}

/// Mails (by `Message-ID`) and webhooks (by `webhook-id`) against the outbox: each committed
/// one received, repeats counted, none received that was not committed.
fn check_deliveries(db: &Db, received: &Received, f: &mut Findings) -> Result<(), String> {
    let rows = db.rows("select key, effect from outbox")?;
    let mut mails = HashSet::new();
    let mut timed = HashSet::new();
    let mut hooks = HashSet::new();
    for row in &rows {
        let [key, effect] = row.as_slice() else {
            continue;
        };
        let message_id = format!("<{}@slotkeeper>", sha256::hex(key.as_bytes()));
        if is_timed(effect) {
            timed.insert(message_id);
        } else if effect.starts_with("email/") {
            mails.insert(message_id);
        } else if effect.starts_with("webhook/") {
            hooks.insert(key.clone());
        }
    }
    // A timed mail that came due during the run is committed too: not expected, not foreign.
    let on_time: HashMap<String, usize> = received
        .mails
        .iter()
        .filter(|(id, _)| !timed.contains(*id))
        .map(|(id, n)| (id.clone(), *n))
        .collect();
    (f.mails, f.mail_repeats) = tally("mail", &mails, &on_time, &mut f.violations);
    (f.webhooks, f.webhook_repeats) =
        tally("webhook", &hooks, &received.webhooks, &mut f.violations);
    Ok(())
}

/// (received at least once, repeats) of `expected`; a missing or an uncommitted one is a
/// violation.
fn tally(
    kind: &str,
    expected: &HashSet<String>,
    received: &HashMap<String, usize>,
    violations: &mut Vec<String>,
) -> (usize, usize) {
    let (mut delivered, mut repeats) = (0, 0);
    for id in expected {
        match received.get(id).copied().unwrap_or(0) {
            0 => violations.push(format!("{kind} {id} committed but never delivered")),
            n => {
                delivered += 1;
                repeats += n - 1;
            }
        }
    }
    for id in received.keys().filter(|id| !expected.contains(*id)) {
        violations.push(format!("{kind} {id} delivered but not in the outbox"));
    }
    (delivered, repeats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timed_kinds_are_told_apart() {
        assert!(is_timed("email/Reminder/Attendee"));
        assert!(is_timed("text/ReconfirmationRequest"));
        assert!(is_timed("step/3"));
        assert!(!is_timed("email/Booked/Attendee"));
        assert!(!is_timed("webhook/callBooked"));
    }

    fn set(ids: &[&str]) -> HashSet<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_missing_or_uncommitted_delivery_is_a_violation_and_repeats_are_counted() {
        let received: HashMap<String, usize> = [
            ("a".to_owned(), 1),
            ("b".to_owned(), 3),
            ("x".to_owned(), 1),
        ]
        .into();
        let mut violations = Vec::new();
        let (delivered, repeats) =
            tally("mail", &set(&["a", "b", "c"]), &received, &mut violations);
        assert_eq!((delivered, repeats), (2, 2));
        violations.sort();
        assert_eq!(
            violations,
            [
                "mail c committed but never delivered",
                "mail x delivered but not in the outbox"
            ]
        );
    }

    #[test]
    fn bookings_must_be_stored_as_told_unless_in_doubt() {
        let record = |told: Told, in_doubt: bool| Record {
            told,
            in_doubt,
            link: 0,
        };
        let ledger: HashMap<String, Record> = [
            ("ok".to_owned(), record(Told::Confirmed, false)),
            (
                "moved".to_owned(),
                record(Told::Rescheduled("new".into()), false),
            ),
            ("lost".to_owned(), record(Told::Cancelled, false)),
            ("wrong".to_owned(), record(Told::Cancelled, false)),
            ("doubt".to_owned(), record(Told::Confirmed, true)),
        ]
        .into();
        let row = |status: &str, next: &str| (status.to_owned(), next.to_owned());
        let stored: HashMap<String, (String, String)> = [
            ("ok".to_owned(), row("confirmed", "")),
            ("moved".to_owned(), row("rescheduled", "new")),
            ("wrong".to_owned(), row("confirmed", "")),
            ("doubt".to_owned(), row("cancelled", "")),
        ]
        .into();
        let mut f = Findings::default();
        compare(&ledger, &stored, &mut f);
        f.violations.sort();
        assert_eq!((f.acknowledged, f.in_doubt), (5, 1));
        assert_eq!(f.violations.len(), 2, "{:?}", f.violations);
        assert!(f.violations[0].contains("lost is missing"));
        assert!(f.violations[1].starts_with("booking wrong: told Cancelled, stored confirmed"));
    }
}
