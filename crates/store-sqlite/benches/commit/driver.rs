//! The store benchmark both store crates run (the Postgres bench includes this file): latency
//! of single bookings, commits, reschedules and cancels made one after another, and
//! throughput of many tasks booking distinct slots at once. Prints a small table; a benchmark, not a test.

use std::time::{Duration, Instant};

use booking_core::availability::{AvailabilityRules, DayHours, DayPeriod, RulesDraft, WeeklyHours};
use booking_core::booking::{Booking, NewBooking};
use booking_core::ids::{HostId, LinkId};
use booking_core::invitee::{Answers, Email, Invitee, PersonName, Tracking};
use booking_core::link::{BookingLink, Host, LinkSettings, Slug};
use booking_core::ports::{BookingStore, Change, Outbox, TokenSource};
use booking_core::service::BookingRequest;
use booking_core::testkit::{FixedBusy, ManualClock, SequentialTokens};
use booking_core::{Scheduler, TimeRange, TimeZoneName};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc, Weekday};
use uuid::Uuid;

/// Sequential bookings measured one by one.
const SEQUENTIAL: usize = 500;
/// Tasks booking at once, and bookings each.
const TASKS: usize = 16;
const PER_TASK: usize = 64;

fn slot_length() -> TimeDelta {
    TimeDelta::minutes(15)
}

fn base() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2027, 1, 4)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date")
        .and_utc()
}

fn fixture() -> (Host, BookingLink) {
    let zone = TimeZoneName::parse("UTC").expect("zone");
    let host = Host::new(
        HostId::from_uuid(Uuid::from_u128(1)),
        PersonName::parse("Bench Host").expect("name"),
        Email::parse("host@example.com").expect("email"),
        zone,
    );
    let mut draft = RulesDraft::weekdays(
        zone,
        DayPeriod::parse("00:00-24:00").expect("period"),
        slot_length(),
    );
    let all = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    draft.weekly = WeeklyHours::on(
        &all,
        &DayHours::new(vec![DayPeriod::parse("00:00-24:00").expect("period")]).expect("hours"),
    );
    let settings = LinkSettings {
        title: "Bench".to_owned(),
        rules: AvailabilityRules::new(draft).expect("rules"),
        reconfirmation: None,
        create_deal: false,
        questions: vec!["Topic".to_owned()],
    };
    let link = BookingLink::new(
        LinkId::from_uuid(Uuid::from_u128(2)),
        host.id(),
        Slug::parse("bench").expect("slug"),
        settings,
    )
    .expect("link");
    (host, link)
}

fn request(start: DateTime<Utc>) -> BookingRequest {
    BookingRequest {
        start,
        invitee: Invitee::new(
            PersonName::parse("Ann Example").expect("name"),
            Email::parse("ann@example.org").expect("email"),
            None,
            TimeZoneName::parse("Europe/Berlin").expect("zone"),
        ),
        answers: Answers::new(vec![("Topic".to_owned(), "Benchmarks".to_owned())])
            .expect("answers"),
        tracking: Tracking::from_pairs([("utm_source", "bench")]),
    }
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Runs the benchmark on an empty `store` and prints its figures under `name`.
pub async fn run<S: BookingStore + Outbox + Clone + 'static>(name: &str, store: S) {
    let (host, link) = fixture();
    store.save_host(&host).await.expect("host");
    store.save_link(&link).await.expect("link");
    let clock = ManualClock::at(base() - TimeDelta::days(3));
    let tokens = SequentialTokens::new();
    let scheduler = Scheduler::new(
        store.clone(),
        clock.clone(),
        tokens.clone(),
        FixedBusy::default(),
    );
    let slug = link.slug().clone();
    let at = |i: usize| base() + slot_length() * i32::try_from(i).expect("small");

    // Warm-up: connections, prepared statements, caches.
    for i in 0..20 {
        scheduler
            .book(&slug, request(at(i)))
            .await
            .expect("warm-up booking");
    }

    let mut book = Vec::with_capacity(SEQUENTIAL);
    let mut booked = Vec::with_capacity(SEQUENTIAL);
    for i in 0..SEQUENTIAL {
        let started = Instant::now();
        let b = scheduler
            .book(&slug, request(at(1_000 + i)))
            .await
            .expect("booking");
        book.push(started.elapsed());
        booked.push(b);
    }
    book.sort();

    // Each of those moved once (by its token), then the moved one cancelled.
    let mut reschedule = Vec::with_capacity(SEQUENTIAL);
    let mut moved = Vec::with_capacity(SEQUENTIAL);
    for (i, b) in booked.iter().enumerate() {
        let started = Instant::now();
        let m = scheduler
            .reschedule(b.token().expose(), at(3_000 + i), None)
            .await
            .expect("reschedule");
        reschedule.push(started.elapsed());
        moved.push(m);
    }
    reschedule.sort();
    let mut cancel = Vec::with_capacity(SEQUENTIAL);
    for m in &moved {
        let started = Instant::now();
        scheduler
            .cancel(m.token().expose(), None)
            .await
            .expect("cancel");
        cancel.push(started.elapsed());
    }
    cancel.sort();

    // The commit alone: a booking built by hand, no availability query.
    let mut commit = Vec::with_capacity(SEQUENTIAL);
    for i in 0..SEQUENTIAL {
        let slot = TimeRange::starting_at(at(2_000 + i), slot_length()).expect("slot");
        let t = Booking::confirmed(NewBooking {
            id: tokens.new_booking_id(),
            host: host.id(),
            link: link.id(),
            slot,
            blocked: slot,
            token: tokens.new_token(),
            invitee: request(slot.start()).invitee,
            answers: Answers::default(),
            tracking: Tracking::default(),
            reconfirm_by: None,
            created_at: base(),
        });
        let started = Instant::now();
        store
            .commit(Change {
                writes: t.writes,
                effects: t.effects,
            })
            .await
            .expect("commit");
        commit.push(started.elapsed());
    }
    commit.sort();

    let started = Instant::now();
    let handles: Vec<_> = (0..TASKS)
        .map(|task| {
            let scheduler = scheduler.clone();
            let slug = slug.clone();
            tokio::spawn(async move {
                for j in 0..PER_TASK {
                    let start = base()
                        + slot_length()
                            * i32::try_from(10_000 + task * PER_TASK + j).expect("small");
                    scheduler
                        .book(&slug, request(start))
                        .await
                        .expect("concurrent booking");
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("task");
    }
    let elapsed = started.elapsed();
    #[allow(clippy::cast_precision_loss)]
    let rate = (TASKS * PER_TASK) as f64 / elapsed.as_secs_f64();

    println!();
    println!(
        "{name} store, {SEQUENTIAL} sequential operations, then {TASKS} tasks x {PER_TASK} bookings"
    );
    println!("| measure                                   | p50        | p99        |");
    println!("|-------------------------------------------|------------|------------|");
    println!(
        "| Scheduler::book (availability + commit)   | {:>10} | {:>10} |",
        ms(percentile(&book, 50)),
        ms(percentile(&book, 99))
    );
    println!(
        "| BookingStore::commit (1 row + 4 effects)  | {:>10} | {:>10} |",
        ms(percentile(&commit, 50)),
        ms(percentile(&commit, 99))
    );
    println!(
        "| Scheduler::reschedule (by token)          | {:>10} | {:>10} |",
        ms(percentile(&reschedule, 50)),
        ms(percentile(&reschedule, 99))
    );
    println!(
        "| Scheduler::cancel (by token)              | {:>10} | {:>10} |",
        ms(percentile(&cancel, 50)),
        ms(percentile(&cancel, 99))
    );
    println!(
        "| concurrent Scheduler::book, {TASKS} tasks      | {rate:>7.0} bookings/s ({} in {:.2} s) |",
        TASKS * PER_TASK,
        elapsed.as_secs_f64()
    );
}
