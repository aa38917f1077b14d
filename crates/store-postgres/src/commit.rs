//! A change committed in one statement, so in one round trip: the hosts' advisory locks, every
//! booking write and the outbox rows are common table expressions of a single statement,
//! which Postgres runs as one transaction of its own.
//!
//! Each part is gated on the one before (`where exists (select 1 from <previous>)`), which
//! fixes their order — the locks before any row is written, an old row's update before its
//! successor's insert — and skips everything after a write that matched nothing (a stale
//! version). The statement then ends with an error raised by `slotkeeper_all_written` (a
//! Postgres migration), which names the write and undoes whatever the writes before it did.
//! A commit that stands also notifies the read caches of every instance that its hosts' busy
//! ranges changed (`pg_notify` in the same statement, delivered as it commits), so the cache
//! in front of the store needs no round trip of its own to announce it. The exclusion constraint
//! `no_double_booking` is the overlap check: its violation fails the whole statement, so
//! nothing of the change remains. A row's previous version updated earlier in the same
//! statement no longer counts for the constraint, so a booking may move to a slot that
//! overlaps its old one.

use std::fmt::Write as _;

use booking_core::HostId;
use booking_core::booking::Write;
use booking_core::ports::{Change, CommitError};
use booking_core::read_cache::CacheChange;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgDatabaseError};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Postgres};
use store_common::{
    BOOKING_VALUES, EncodedBooking, INSERT_BOOKING_INTO, INSERT_OUTBOX, UPDATE_BOOKING,
    effect_chain,
};

use crate::{BOOKING_LOCK_SPACE, CHANGE_CHANNEL, PostgresStore, host_lock_key, is_double_booking};

/// The SQLSTATE `slotkeeper_all_written` (a Postgres migration) raises for a write that
/// matched no row.
const STALE_WRITE: &str = "SK409";

/// Parameters of one booking row ([`BOOKING_VALUES`]); an update binds the expected version
/// after them.
const BOOKING_PARAMS: usize = 33;

/// Parameters of one outbox row besides the shared `now`: key, effect, booking, chain, due.
const OUTBOX_PARAMS: usize = 5;

/// Writes `change` (its rows `encoded` alike) in one statement: `Ok(Err(_))` for a refusal
/// (slot taken, stale version), `Err` for a database error.
pub(crate) async fn commit(
    store: &PostgresStore,
    change: &Change,
    encoded: &[EncodedBooking],
) -> Result<Result<(), CommitError>, sqlx::Error> {
    if change.writes.is_empty() && change.effects.is_empty() {
        return Ok(Ok(()));
    }
    let locks = lock_keys(change);
    let sql = statement(change, locks.len(), hosts(change).len());
    let now = Utc::now();
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for key in locks {
        query = query.bind(key);
    }
    for (write, row) in change.writes.iter().zip(encoded) {
        query = PostgresStore::bind_booking(query, row, now);
        if let Write::Update {
            expected_version, ..
        } = write
        {
            query = query.bind(i64::try_from(*expected_version).unwrap_or(i64::MAX));
        }
    }
    let mut query = bind_effects(query, change, now);
    for host in hosts(change) {
        query = query.bind(CacheChange::Bookings(host).payload());
    }
    match query.execute(&store.pool).await {
        Ok(_) => Ok(Ok(())),
        Err(e) if is_double_booking(&e) => Ok(Err(CommitError::SlotTaken)),
        Err(e) => match stale_write(&e).and_then(|i| change.writes.get(i)) {
            Some(stale) => Ok(Err(CommitError::VersionConflict(stale.booking().id()))),
            None => Err(e),
        },
    }
}

/// The position of the write that matched no row, when `e` is `slotkeeper_all_written`'s
/// refusal (SQLSTATE `SK409`, the position in the detail).
fn stale_write(e: &sqlx::Error) -> Option<usize> {
    let db = e.as_database_error()?;
    if db.code().as_deref() != Some(STALE_WRITE) {
        return None;
    }
    db.try_downcast_ref::<PgDatabaseError>()?
        .detail()?
        .parse()
        .ok()
}

/// The advisory lock keys of every host whose bookings `change` writes, in one order so two
/// commits never wait for each other's locks crosswise.
fn lock_keys(change: &Change) -> Vec<i32> {
    let mut keys: Vec<i32> = change
        .writes
        .iter()
        .map(|w| host_lock_key(w.booking().host()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The hosts whose bookings `change` writes, each once.
fn hosts(change: &Change) -> Vec<HostId> {
    let mut hosts: Vec<HostId> = change.writes.iter().map(|w| w.booking().host()).collect();
    hosts.sort_unstable();
    hosts.dedup();
    hosts
}

/// Binds the outbox part: `now`, then each effect's key, code, booking, chain and due time.
fn bind_effects<'q>(
    mut query: Query<'q, Postgres, PgArguments>,
    change: &'q Change,
    now: DateTime<Utc>,
) -> Query<'q, Postgres, PgArguments> {
    if change.effects.is_empty() {
        return query;
    }
    query = query.bind(now);
    for planned in &change.effects {
        let effect = &planned.effect;
        query = query
            .bind(effect.idempotency_key())
            .bind(effect.code())
            .bind(effect.booking().as_uuid())
            .bind(effect_chain(effect, change))
            .bind(planned.due_at);
    }
    query
}

/// The statement's text for `change`'s shape (its writes' kinds, its number of effects) and
/// `locks` host locks and `hosts` hosts to announce; parameters are numbered in the order
/// [`commit`] binds them. It fails with [`STALE_WRITE`] when a write touched no row, and
/// otherwise notifies [`CHANGE_CHANNEL`] of each host's changed bookings (sent as it commits).
fn statement(change: &Change, locks: usize, hosts: usize) -> String {
    let mut parts = Vec::new();
    let mut next = 1;
    let mut previous: Option<String> = None;
    for i in 0..locks {
        let name = format!("l{i}");
        parts.push(format!(
            "{name} as (select pg_advisory_xact_lock({BOOKING_LOCK_SPACE}, ${next}){})",
            previous
                .as_ref()
                .map_or_else(String::new, |p| format!(" from {p}"))
        ));
        next += 1;
        previous = Some(name);
    }
    let mut writes = Vec::new();
    for (i, write) in change.writes.iter().enumerate() {
        let name = format!("w{i}");
        let body = match write {
            Write::Insert(_) => format!(
                "{INSERT_BOOKING_INTO} select {}{} returning 1",
                shift_params(BOOKING_VALUES, next - 1),
                previous
                    .as_ref()
                    .map_or_else(String::new, |p| gate("where", p))
            ),
            Write::Update { .. } => format!(
                "{}{} returning 1",
                shift_params(UPDATE_BOOKING, next - 1),
                previous
                    .as_ref()
                    .map_or_else(String::new, |p| gate("and", p))
            ),
        };
        next += BOOKING_PARAMS + usize::from(matches!(write, Write::Update { .. }));
        parts.push(format!("{name} as ({body})"));
        writes.push(format!("(select count(*) from {name})"));
        previous = Some(name);
    }
    if !change.effects.is_empty() {
        parts.push(format!(
            "o as ({INSERT_OUTBOX}select * from (values {}) v{})",
            outbox_rows(change.effects.len(), next),
            previous
                .as_ref()
                .map_or_else(String::new, |p| gate(" where", p))
        ));
        next += 1 + change.effects.len() * OUTBOX_PARAMS;
    }
    let notify: String = (next..next + hosts)
        .map(|p| format!(", pg_notify('{CHANGE_CHANNEL}', ${p})"))
        .collect();
    format!(
        "with {} select slotkeeper_all_written(array[{}]::int8[]){notify}",
        parts.join(", "),
        writes.join(", ")
    )
}

/// ` <keyword> exists (select 1 from <previous>)`: runs only after `previous` wrote its row.
fn gate(keyword: &str, previous: &str) -> String {
    format!(" {} exists (select 1 from {previous})", keyword.trim())
}

/// `count` outbox value tuples; `$first` is `now`, each row's own five parameters follow.
fn outbox_rows(count: usize, first: usize) -> String {
    let mut rows = String::new();
    for r in 0..count {
        let p = first + 1 + r * OUTBOX_PARAMS;
        if r > 0 {
            rows.push_str(", ");
        }
        // Writing to a String cannot fail.
        let _ = write!(
            rows,
            "(${p}, ${}, ${}, ${}, ${}, 0, ${first}, ${first})",
            p + 1,
            p + 2,
            p + 3,
            p + 4
        );
    }
    rows
}

/// `sql` with every parameter `$n` renumbered `$(n + by)`.
fn shift_params(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + sql.len() / 8);
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut number = String::new();
        while let Some((_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
            number.push(*d);
            chars.next();
        }
        match number.parse::<usize>() {
            Ok(n) => out.push_str(&(n + by).to_string()),
            Err(_) => out.push_str(&number),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_renumbered_whole() {
        assert_eq!(
            shift_params("a = $1, b = $12 and $3 is not null", 33),
            "a = $34, b = $45 and $36 is not null"
        );
        assert_eq!(shift_params("$1", 0), "$1");
    }

    #[test]
    fn outbox_rows_share_now_and_number_their_own_parameters() {
        assert_eq!(
            outbox_rows(2, 35),
            "($36, $37, $38, $39, $40, 0, $35, $35), ($41, $42, $43, $44, $45, 0, $35, $35)"
        );
    }

    #[test]
    fn each_part_is_gated_on_the_one_before() {
        assert_eq!(gate("where", "l0"), " where exists (select 1 from l0)");
        assert_eq!(gate(" and", "w0"), " and exists (select 1 from w0)");
    }
}
