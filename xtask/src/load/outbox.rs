//! The dispatcher's side of the write load: how many outbox entries the load created, how
//! many were delivered by the time it stopped, the backlog then, and how long the backlog
//! takes to drain, read by SQL. Entries planned for a moment before a meeting (reminders,
//! reconfirmation requests, texts, a link's own steps) are due days later and left out.

use std::time::{Duration, Instant};

use super::fixture::numbers;

/// The entries due now: everything but the timed kinds.
const DUE_NOW: &str = "effect not like 'email/Reminder/%' \
     and effect not like 'email/ReconfirmationRequest/%' \
     and effect not like 'text/%' and effect not like 'step/%'";

/// Entries due now: created, delivered and still pending (neither delivered nor dead).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counts {
    pub(crate) created: u64,
    pub(crate) delivered: u64,
    pub(crate) pending: u64,
}

pub(crate) fn counts(url: &str) -> Result<Counts, String> {
    let sql = format!(
        "select count(*), count(delivered_at), \
         count(*) filter (where delivered_at is null and dead_at is null) \
         from outbox where {DUE_NOW}"
    );
    match numbers(url, &sql)?[..] {
        [created, delivered, pending] => Ok(Counts {
            created,
            delivered,
            pending,
        }),
        _ => Err(format!("{sql}: not three counts")),
    }
}

/// Waits until nothing due now is pending; how long that took. Fails after `limit`.
pub(crate) fn drain(url: &str, limit: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    loop {
        let pending = counts(url)?.pending;
        if pending == 0 {
            return Ok(started.elapsed());
        }
        if started.elapsed() > limit {
            return Err(format!(
                "{pending} outbox entries still pending after {limit:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
