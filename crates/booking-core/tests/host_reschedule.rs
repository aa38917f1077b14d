//! The host's move of a meeting (`Scheduler::host_reschedule`) on the in-memory store: the
//! move recorded as the host's with the note as reason, its effects, the link's hours and the
//! override, and the no-overlap rule that the override never lifts.

use booking_core::availability::{AvailabilityRules, DayPeriod, RulesDraft};
use booking_core::booking::{HostActionRefusal, Origin};
use booking_core::invitee::{Answers, Email, Invitee, PersonName, Reason, Tracking};
use booking_core::link::{BookingLink, Host, LinkSettings, Slug};
use booking_core::ports::BookingStore;
use booking_core::service::{BookingRequest, HostMove, HostRescheduleError};
use booking_core::testkit::{FixedBusy, InMemoryStore, ManualClock, SequentialTokens};
use booking_core::{Actor, Booking, HostId, LinkId, Scheduler, Status, TimeRange, TimeZoneName};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use uuid::Uuid;

type Sched = Scheduler<InMemoryStore, ManualClock, SequentialTokens, FixedBusy>;

struct World {
    store: InMemoryStore,
    clock: ManualClock,
    scheduler: Sched,
    host: HostId,
}

/// Monday 2027-03-01 at `h`:`m` UTC.
fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, h, m, 0).unwrap()
}

/// A UTC host with link `intro` (weekdays 09:00–17:00, 30 minutes), the clock at 07:00, and
/// `busy` in the host's calendar.
async fn world(busy: Vec<TimeRange>) -> World {
    let store = InMemoryStore::new();
    let zone = TimeZoneName::parse("UTC").unwrap();
    let host = Host::new(
        HostId::from_uuid(Uuid::from_u128(1)),
        PersonName::parse("Hana Host").unwrap(),
        Email::parse("hana@example.com").unwrap(),
        zone,
    );
    store.save_host(&host).await.unwrap();
    let rules = AvailabilityRules::new(RulesDraft::weekdays(
        zone,
        DayPeriod::parse("09:00-17:00").unwrap(),
        TimeDelta::minutes(30),
    ))
    .unwrap();
    let link = BookingLink::new(
        LinkId::from_uuid(Uuid::from_u128(2)),
        host.id(),
        Slug::parse("intro").unwrap(),
        LinkSettings {
            title: "Intro call".into(),
            rules,
            reconfirmation: None,
            create_deal: false,
            questions: vec![],
        },
    )
    .unwrap();
    store.save_link(&link).await.unwrap();
    let clock = ManualClock::at(at(7, 0));
    let scheduler = Scheduler::new(
        store.clone(),
        clock.clone(),
        SequentialTokens::new(),
        FixedBusy(busy),
    );
    World {
        store,
        clock,
        scheduler,
        host: host.id(),
    }
}

async fn book(w: &World, start: DateTime<Utc>, name: &str) -> Booking {
    let invitee = Invitee::new(
        PersonName::parse(name).unwrap(),
        Email::parse("ada@example.org").unwrap(),
        None,
        TimeZoneName::parse("Europe/Berlin").unwrap(),
    );
    w.scheduler
        .book(
            &Slug::parse("intro").unwrap(),
            BookingRequest {
                start,
                invitee,
                answers: Answers::default(),
                tracking: Tracking::default(),
            },
        )
        .await
        .unwrap()
}

fn to(start: DateTime<Utc>, note: Option<&str>, allow_outside_hours: bool) -> HostMove {
    HostMove {
        start,
        note: Reason::parse_optional(note).unwrap(),
        allow_outside_hours,
    }
}

fn codes_since(w: &World, before: usize) -> Vec<String> {
    w.store.outbox()[before..]
        .iter()
        .map(|e| e.effect.code())
        .collect()
}

#[tokio::test]
async fn the_host_moves_a_meeting_to_an_offered_slot_as_the_host_with_the_note() {
    let w = world(vec![]).await;
    let first = book(&w, at(10, 0), "Ada").await;
    let before = w.store.outbox().len();
    let moved = w
        .scheduler
        .host_reschedule(
            w.host,
            first.id(),
            to(at(14, 0), Some("Sorry, a clash"), false),
        )
        .await
        .unwrap();
    assert_eq!(moved.slot().start(), at(14, 0));
    assert_eq!(moved.slot().length(), TimeDelta::minutes(30));
    assert_ne!(
        moved.token(),
        first.token(),
        "the attendee gets fresh links"
    );
    assert_eq!(moved.ics_sequence(), first.ics_sequence() + 1);
    assert!(matches!(
        moved.origin(),
        Origin::Rescheduled { by: Actor::Host, reason: Some(r), previous }
            if r.as_str() == "Sorry, a clash" && *previous == first.id()
    ));
    let old = w.store.booking(first.id()).await.unwrap().unwrap();
    assert!(matches!(old.status(), Status::Rescheduled { next, .. } if *next == moved.id()));
    assert_eq!(
        codes_since(&w, before),
        [
            "email/Rescheduled/Attendee",
            "email/Rescheduled/Host",
            "calendar/UpdateInPlace",
            "webhook/callRescheduled"
        ]
    );
    // The effects are about the new row, whose token the mail carries.
    assert!(
        w.store.outbox()[before..]
            .iter()
            .all(|e| e.effect.booking() == moved.id())
    );
}

#[tokio::test]
async fn a_time_outside_the_links_hours_needs_the_override() {
    let w = world(vec![]).await;
    let first = book(&w, at(10, 0), "Ada").await;
    let before = w.store.outbox().len();
    let refused = w
        .scheduler
        .host_reschedule(w.host, first.id(), to(at(18, 0), None, false))
        .await;
    assert!(
        matches!(refused, Err(HostRescheduleError::OutsideHours)),
        "{refused:?}"
    );
    // Off the link's grid counts as outside its rules too.
    let off_grid = w
        .scheduler
        .host_reschedule(w.host, first.id(), to(at(11, 10), None, false))
        .await;
    assert!(matches!(off_grid, Err(HostRescheduleError::OutsideHours)));
    assert_eq!(w.store.outbox().len(), before, "nothing was written");
    let moved = w
        .scheduler
        .host_reschedule(
            w.host,
            first.id(),
            to(at(18, 0), Some("Evening it is"), true),
        )
        .await
        .unwrap();
    assert_eq!(moved.slot().start(), at(18, 0));
    assert_eq!(codes_since(&w, before).len(), 4);
}

#[tokio::test]
async fn a_slot_within_hours_that_another_meeting_holds_is_taken_not_outside_hours() {
    let w = world(vec![]).await;
    let first = book(&w, at(10, 0), "Ada").await;
    book(&w, at(14, 0), "Bob").await;
    for allow in [false, true] {
        let got = w
            .scheduler
            .host_reschedule(w.host, first.id(), to(at(14, 0), None, allow))
            .await;
        assert!(
            matches!(got, Err(HostRescheduleError::SlotTaken)),
            "{got:?}"
        );
    }
}

#[tokio::test]
async fn the_override_never_lifts_the_no_overlap_rule_nor_the_calendars_busy_times() {
    let busy = TimeRange::new(at(19, 0), at(20, 0)).unwrap();
    let w = world(vec![busy]).await;
    let first = book(&w, at(10, 0), "Ada").await;
    book(&w, at(16, 30), "Bob").await;
    // 16:45 is off the grid (so outside the rules) and overlaps Bob's 16:30–17:00.
    let got = w
        .scheduler
        .host_reschedule(w.host, first.id(), to(at(16, 45), None, true))
        .await;
    assert!(
        matches!(got, Err(HostRescheduleError::SlotTaken)),
        "{got:?}"
    );
    let got = w
        .scheduler
        .host_reschedule(w.host, first.id(), to(at(19, 15), None, true))
        .await;
    assert!(
        matches!(got, Err(HostRescheduleError::SlotTaken)),
        "{got:?}"
    );
    // Right after the busy time is free.
    let moved = w
        .scheduler
        .host_reschedule(w.host, first.id(), to(at(20, 0), None, true))
        .await
        .unwrap();
    assert_eq!(moved.slot().start(), at(20, 0));
}

#[tokio::test]
async fn the_same_time_a_past_time_and_a_finished_meeting_are_refused() {
    let w = world(vec![]).await;
    let first = book(&w, at(10, 0), "Ada").await;
    let same = w
        .scheduler
        .host_reschedule(w.host, first.id(), to(at(10, 0), None, true))
        .await;
    assert!(
        matches!(same, Err(HostRescheduleError::SameSlot)),
        "{same:?}"
    );
    let past = w
        .scheduler
        .host_reschedule(w.host, first.id(), to(at(6, 0), None, true))
        .await;
    assert!(
        matches!(past, Err(HostRescheduleError::InThePast)),
        "{past:?}"
    );
    w.clock.set(at(10, 5));
    let started = w
        .scheduler
        .host_reschedule(w.host, first.id(), to(at(15, 0), None, false))
        .await;
    assert!(
        matches!(
            started,
            Err(HostRescheduleError::Refused(HostActionRefusal::Started))
        ),
        "{started:?}"
    );
}

#[tokio::test]
async fn a_cancelled_meeting_is_refused_and_another_hosts_looks_missing() {
    let w = world(vec![]).await;
    let first = book(&w, at(10, 0), "Ada").await;
    let stranger = HostId::from_uuid(Uuid::from_u128(99));
    let got = w
        .scheduler
        .host_reschedule(stranger, first.id(), to(at(14, 0), None, false))
        .await;
    assert!(matches!(got, Err(HostRescheduleError::NotFound)), "{got:?}");
    w.scheduler
        .host_cancel(w.host, first.id(), None)
        .await
        .unwrap();
    let got = w
        .scheduler
        .host_reschedule(w.host, first.id(), to(at(14, 0), None, false))
        .await;
    assert!(
        matches!(
            got,
            Err(HostRescheduleError::Refused(HostActionRefusal::Cancelled))
        ),
        "{got:?}"
    );
}

#[tokio::test]
async fn an_old_rows_id_moves_the_meeting_as_it_is_now() {
    let w = world(vec![]).await;
    let first = book(&w, at(10, 0), "Ada").await;
    let second = w
        .scheduler
        .host_reschedule(w.host, first.id(), to(at(11, 0), None, false))
        .await
        .unwrap();
    let third = w
        .scheduler
        .host_reschedule(w.host, first.id(), to(at(12, 0), None, false))
        .await
        .unwrap();
    assert_eq!(third.previous(), Some(second.id()));
    assert_eq!(third.ics_sequence(), 2);
}

#[tokio::test]
async fn the_offered_times_leave_the_meeting_itself_free_and_others_blocked() {
    let w = world(vec![]).await;
    let first = book(&w, at(10, 0), "Ada").await;
    book(&w, at(14, 0), "Bob").await;
    let day = TimeRange::new(at(0, 0), at(23, 59)).unwrap();
    let page = w
        .scheduler
        .host_move_slots(w.host, first.id(), day)
        .await
        .unwrap();
    let starts: Vec<_> = page.slots.iter().map(TimeRange::start).collect();
    assert!(
        starts.contains(&at(10, 0)),
        "its own time does not block it"
    );
    assert!(!starts.contains(&at(14, 0)), "Bob's time is not offered");
    assert_eq!(starts.len(), 15);
    assert_eq!(page.booking.id(), first.id());
    let stranger = HostId::from_uuid(Uuid::from_u128(99));
    assert!(matches!(
        w.scheduler.host_move_slots(stranger, first.id(), day).await,
        Err(HostRescheduleError::NotFound)
    ));
}
