//! The clients: threads that book (a share of them racing for a few hot slots), reschedule and
//! cancel through the public token API, each request to a random instance, and write down in
//! the ledger what they were told — or that no answer came, which leaves that booking in doubt.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::http::{Answer, Reply, json_str, request};

/// A small, seedable PRNG (splitmix64): the run is replayable from its printed seed, up to
/// the timing of kills and answers.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

/// The links the clients book and how their slots lie: every link offers a slot every 15
/// minutes around the clock (UTC), from `first_day` on.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) slugs: Vec<String>,
    /// Unix seconds of the first offered day's midnight (UTC).
    pub(crate) first_day: i64,
    /// Slots per link the clients choose from.
    pub(crate) slots: usize,
    /// The first `hot` slots of each link are the contended ones.
    pub(crate) hot: usize,
}

/// Minutes between slots (and each meeting's length).
pub(crate) const SLOT_MINUTES: i64 = 15;

impl Plan {
    fn start(&self, slot: usize) -> String {
        let offset = i64::try_from(slot).unwrap_or(0) * SLOT_MINUTES * 60;
        rfc3339(self.first_day + offset)
    }
}

/// What a client was last told about a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Told {
    Confirmed,
    /// Moved; the new booking's id.
    Rescheduled(String),
    Cancelled,
}

/// One acknowledged booking: what its client was told and whether a later request about it
/// went unanswered (then any state is possible, but the row must exist).
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) told: Told,
    pub(crate) in_doubt: bool,
    pub(crate) link: usize,
}

/// Every booking id (32 hex digits) a client learned, with what it was told.
pub(crate) type Ledger = Mutex<HashMap<String, Record>>;

/// The operations, for the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Book,
    Reschedule,
    Cancel,
}

impl Op {
    pub(crate) const ALL: [Self; 3] = [Self::Book, Self::Reschedule, Self::Cancel];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Book => "book",
            Self::Reschedule => "reschedule",
            Self::Cancel => "cancel",
        }
    }
}

/// Per operation: latencies of answered requests and how they ended.
#[derive(Debug, Default, Clone)]
pub(crate) struct OpStats {
    pub(crate) latencies: Vec<Duration>,
    pub(crate) ok: usize,
    /// 409: the slot was taken (a lost race) — expected under contention.
    pub(crate) conflict: usize,
    pub(crate) unanswered: usize,
    /// Any other status: each is a violation, kept with its text.
    pub(crate) unexpected: Vec<String>,
}

/// The figures of every client.
pub(crate) type Stats = Mutex<HashMap<&'static str, OpStats>>;

/// What every client thread shares.
#[derive(Debug)]
pub(crate) struct Shared<'a> {
    pub(crate) ports: &'a [u16],
    pub(crate) plan: &'a Plan,
    pub(crate) ledger: &'a Ledger,
    pub(crate) stats: &'a Stats,
    pub(crate) until: Instant,
}

/// A booking this client holds the live token of.
#[derive(Debug)]
struct Held {
    id: String,
    token: String,
    link: usize,
}

/// One client: book half of the time, else move or cancel one of its bookings, until `until`.
pub(crate) fn client(number: usize, seed: u64, shared: &Shared<'_>) {
    let mut rng = Rng::new(seed);
    let mut held: Vec<Held> = Vec::new();
    let mut serial = 0;
    while Instant::now() < shared.until {
        let roll = rng.below(100);
        if roll < 50 || held.is_empty() {
            serial += 1;
            book(&mut rng, shared, &mut held, &format!("c{number}-{serial}"));
        } else {
            let pick = held.swap_remove(rng.below(held.len()));
            if roll < 78 {
                reschedule(&mut rng, shared, &mut held, pick);
            } else {
                cancel(&mut rng, shared, pick);
            }
        }
    }
}

fn book(rng: &mut Rng, shared: &Shared<'_>, held: &mut Vec<Held>, who: &str) {
    let plan = shared.plan;
    let link = rng.below(plan.slugs.len());
    // A third of the bookings race for the few hot slots every client wants.
    let slot = if rng.below(3) == 0 {
        rng.below(plan.hot)
    } else {
        plan.hot + rng.below(plan.slots - plan.hot)
    };
    let body = format!(
        r#"{{"start":"{}","invitee":{{"name":"Client {who}","email":"{who}@example.com","timezone":"UTC"}}}}"#,
        plan.start(slot)
    );
    let path = format!("/api/v1/links/{}/bookings", plan.slugs[link]);
    let Some(answer) = send(rng, shared, Op::Book, &path, &body) else {
        return;
    };
    if answer.status == 201
        && let (Some(id), Some(token)) = (
            json_str(&answer.body, "id"),
            json_str(&answer.body, "reschedule_token"),
        )
    {
        let id = id.replace('-', "");
        tell(shared, &id, Told::Confirmed, link);
        held.push(Held { id, token, link });
    }
}

fn reschedule(rng: &mut Rng, shared: &Shared<'_>, held: &mut Vec<Held>, booking: Held) {
    let plan = shared.plan;
    let slot = plan.hot + rng.below(plan.slots - plan.hot);
    let body = format!(r#"{{"start":"{}"}}"#, plan.start(slot));
    let path = format!("/api/v1/bookings/by-token/{}/reschedule", booking.token);
    match send(rng, shared, Op::Reschedule, &path, &body) {
        Some(answer) if answer.status == 200 => {
            let new_id = json_str(&answer.body, "id").map(|id| id.replace('-', ""));
            let token = json_str(&answer.body, "reschedule_token");
            if let (Some(id), Some(token)) = (new_id, token) {
                tell(
                    shared,
                    &booking.id,
                    Told::Rescheduled(id.clone()),
                    booking.link,
                );
                tell(shared, &id, Told::Confirmed, booking.link);
                held.push(Held {
                    id,
                    token,
                    link: booking.link,
                });
            }
        }
        // Taken (or the same slot): the booking stays as it was.
        Some(answer) if answer.status == 409 || answer.status == 422 => held.push(booking),
        Some(_) => {}
        None => doubt(shared, &booking.id),
    }
}

fn cancel(rng: &mut Rng, shared: &Shared<'_>, booking: Held) {
    let path = format!("/api/v1/bookings/by-token/{}/cancel", booking.token);
    match send(rng, shared, Op::Cancel, &path, "") {
        Some(answer) if answer.status == 200 => {
            tell(shared, &booking.id, Told::Cancelled, booking.link);
        }
        Some(_) => {}
        None => doubt(shared, &booking.id),
    }
}

fn tell(shared: &Shared<'_>, id: &str, told: Told, link: usize) {
    let mut ledger = shared.ledger.lock().expect("ledger");
    ledger.insert(
        id.to_owned(),
        Record {
            told,
            in_doubt: false,
            link,
        },
    );
}

fn doubt(shared: &Shared<'_>, id: &str) {
    if let Some(record) = shared.ledger.lock().expect("ledger").get_mut(id) {
        record.in_doubt = true;
    }
}

/// POSTs to a random instance, trying the others while it is down; `None` when the request
/// went unanswered (in doubt) or no instance came back in time. Every answer is counted.
fn send(rng: &mut Rng, shared: &Shared<'_>, op: Op, path: &str, body: &str) -> Option<Answer> {
    let give_up = shared.until + Duration::from_secs(30);
    let headers = [("Content-Type", "application/json")];
    let mut port = shared.ports[rng.below(shared.ports.len())];
    loop {
        let started = Instant::now();
        match request(port, "POST", path, &headers, body) {
            Reply::Answer(answer) => {
                record(shared, op, started.elapsed(), &answer);
                return Some(answer);
            }
            Reply::NoAnswer => {
                let mut stats = shared.stats.lock().expect("stats");
                stats.entry(op.name()).or_default().unanswered += 1;
                return None;
            }
            Reply::Down if Instant::now() > give_up => return None,
            Reply::Down => {
                port = shared.ports[rng.below(shared.ports.len())];
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

fn record(shared: &Shared<'_>, op: Op, took: Duration, answer: &Answer) {
    let mut stats = shared.stats.lock().expect("stats");
    let entry = stats.entry(op.name()).or_default();
    entry.latencies.push(took);
    match answer.status {
        200 | 201 => entry.ok += 1,
        409 => entry.conflict += 1,
        // The same slot drawn for a move: the client's own doing, not the server's.
        422 if op == Op::Reschedule => entry.conflict += 1,
        other => entry.unexpected.push(format!(
            "{} answered {other}: {}",
            op.name(),
            answer.body.chars().take(200).collect::<String>()
        )),
    }
}

/// Unix seconds now.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix seconds (days to civil date after H. Hinnant).
pub(crate) fn rfc3339(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_written_as_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3661), "2000-02-29T01:01:01Z");
        assert_eq!(rfc3339(1_796_083_200), "2026-12-01T00:00:00Z");
    }

    #[test]
    fn the_rng_repeats_from_its_seed_and_stays_in_range() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let first: Vec<u64> = (0..5).map(|_| a.next()).collect();
        assert_eq!(first, (0..5).map(|_| b.next()).collect::<Vec<_>>());
        assert!((0..1000).all(|_| a.below(3) < 3));
    }
}
