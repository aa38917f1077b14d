//! A reference-model test of the booking state machine, runnable against any store.
//!
//! [`ops`] generates random sequences of attendee, host, calendar and clock operations;
//! [`run_case`] applies them through a [`Scheduler`] on the given store and, after every step,
//! compares the store with a small independent model of the transition table and checks the
//! invariants: at most one confirmed row per chain; a token is accepted iff its row is
//! confirmed and the meeting has not started; tokens never repeat; no two confirmed bookings
//! of the host overlap (buffers included); a cancelled row never changes again; every accepted
//! change emits exactly the effects the spec names and a no-op emits none; and no booking is
//! ever auto-cancelled unless its reconfirmation request was delivered to it (the model's
//! [`Op::DeliverDue`] plays the dispatcher, sending a due request only while it leaves the
//! attendee a fair time) and its deadline then passed.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, TimeDelta, TimeZone, Utc, Weekday};
use proptest::prelude::*;

use super::{FixedBusy, ManualClock, SequentialTokens};
use crate::availability::{AvailabilityRules, DayHours, DayPeriod, RulesDraft, WeeklyHours};
use crate::booking::{Booking, HostActionRefusal, Status, TokenRefusal};
use crate::effects::{CalendarOp, Effect, EmailKind, Recipient, WebhookEvent};
use crate::ids::{BookingId, ChainId, HostId, LinkId};
use crate::invitee::{Answers, Email, Invitee, PersonName, Reason, Tracking};
use crate::link::{BookingLink, Host, LinkSettings, ReconfirmationPolicy, Slug};
use crate::ports::{BookingStore, Change, Clock, Outbox};
use crate::service::{
    BookingRequest, CalendarChange, HostActionError, Scheduler, TokenActionError,
};
use crate::time::{TimeRange, TimeZoneName};

/// One step of a generated scenario. Indices pick among the rows created so far (modulo
/// their number); `pick` chooses a target time among offered slots or on a 15-minute grid.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub enum Op {
    Book {
        pick: u16,
        offered: bool,
    },
    Reschedule {
        row: u8,
        pick: u16,
        offered: bool,
    },
    Cancel {
        row: u8,
    },
    Reconfirm {
        row: u8,
    },
    HostCancel {
        row: u8,
    },
    MarkNoShow {
        row: u8,
    },
    UndoNoShow {
        row: u8,
    },
    CalendarDelete {
        row: u8,
    },
    CalendarMove {
        row: u8,
        pick: u16,
    },
    UnknownToken,
    Advance {
        minutes: u16,
    },
    ExpireUnreconfirmed,
    /// Delivers the reconfirmation requests due now, as the dispatcher does.
    DeliverDue,
    /// Moves the clock to `minutes` after a row's reconfirmation request is due (or, with
    /// `deadline`, after its deadline), if that is still ahead: random advances alone seldom
    /// land in the two hours between a deadline and the meeting.
    JumpTo {
        row: u8,
        deadline: bool,
        minutes: u8,
    },
}

/// Random scenarios of 1–40 steps.
pub fn ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        4 => (any::<u16>(), prop::bool::weighted(0.8)).prop_map(|(pick, offered)| Op::Book { pick, offered }),
        3 => (any::<u8>(), any::<u16>(), prop::bool::weighted(0.8))
            .prop_map(|(row, pick, offered)| Op::Reschedule { row, pick, offered }),
        2 => any::<u8>().prop_map(|row| Op::Cancel { row }),
        2 => any::<u8>().prop_map(|row| Op::Reconfirm { row }),
        1 => any::<u8>().prop_map(|row| Op::HostCancel { row }),
        2 => any::<u8>().prop_map(|row| Op::MarkNoShow { row }),
        1 => any::<u8>().prop_map(|row| Op::UndoNoShow { row }),
        1 => any::<u8>().prop_map(|row| Op::CalendarDelete { row }),
        1 => (any::<u8>(), any::<u16>()).prop_map(|(row, pick)| Op::CalendarMove { row, pick }),
        1 => Just(Op::UnknownToken),
        3 => (1u16..3000).prop_map(|minutes| Op::Advance { minutes }),
        1 => Just(Op::ExpireUnreconfirmed),
        2 => Just(Op::DeliverDue),
        2 => (any::<u8>(), any::<bool>(), 0u8..150)
            .prop_map(|(row, deadline, minutes)| Op::JumpTo { row, deadline, minutes }),
    ];
    prop::collection::vec(op, 1..40)
}

/// The fixed host and link every scenario runs on: New York, every day 08:00–20:00, 30-minute
/// meetings every 15 minutes, 10 minutes' buffer after, 30 minutes' notice, 3 days ahead,
/// reconfirmation asked 24 h before and enforced 2 h before. The clock starts two days before
/// the 2027 spring-forward change.
pub fn fixture() -> (Host, BookingLink, DateTime<Utc>) {
    let zone = TimeZoneName::parse("America/New_York").expect("known zone");
    let host = Host::new(
        HostId::from_uuid(uuid::Uuid::from_u128(0x4057)),
        PersonName::parse("Model Host").expect("valid"),
        Email::parse("host@example.com").expect("valid"),
        zone,
    );
    let all_days = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    let hours =
        DayHours::new(vec![DayPeriod::parse("08:00-20:00").expect("valid")]).expect("valid");
    let mut draft = RulesDraft::weekdays(
        zone,
        DayPeriod::parse("08:00-20:00").expect("valid"),
        TimeDelta::minutes(30),
    );
    draft.weekly = WeeklyHours::on(&all_days, &hours);
    draft.interval = TimeDelta::minutes(15);
    draft.buffer_after = TimeDelta::minutes(10);
    draft.minimum_notice = TimeDelta::minutes(30);
    draft.max_days_ahead = Some(3);
    let settings = LinkSettings {
        title: "Model call".into(),
        rules: AvailabilityRules::new(draft).expect("valid rules"),
        reconfirmation: Some(
            ReconfirmationPolicy::new(TimeDelta::hours(24), TimeDelta::hours(2)).expect("valid"),
        ),
        create_deal: true,
        questions: vec![],
    };
    let link = BookingLink::new(
        LinkId::from_uuid(uuid::Uuid::from_u128(0x1171)),
        host.id(),
        Slug::parse("model").expect("valid"),
        settings,
    )
    .expect("valid link");
    (
        host,
        link,
        Utc.with_ymd_and_hms(2027, 3, 12, 12, 0, 0)
            .single()
            .expect("valid"),
    )
}

/// The model's view of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    status: &'static str,
    slot: TimeRange,
    blocked: TimeRange,
    chain: ChainId,
    token: String,
    reconfirmed: bool,
    /// Set only when a reconfirmation request was planned for the row: a booking made (or
    /// moved) inside the 24-hour asking window counts as confirmed and is never auto-cancelled.
    reconfirm_by: Option<DateTime<Utc>>,
    /// When the model's dispatcher delivered the row's reconfirmation request.
    asked: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
struct Model {
    rows: BTreeMap<BookingId, Row>,
    order: Vec<BookingId>,
    cancelled: BTreeMap<BookingId, Booking>,
    tokens_seen: HashSet<String>,
    /// Keys of the reconfirmation requests already reported as emitted (they stay queued
    /// until [`Op::DeliverDue`] delivers them).
    requests_seen: HashSet<String>,
}

impl Model {
    fn pick(&self, i: u8) -> Option<BookingId> {
        (!self.order.is_empty()).then(|| self.order[usize::from(i) % self.order.len()])
    }

    /// The chain's current row: the one with no successor.
    fn current(&self, id: BookingId) -> BookingId {
        let chain = self.rows[&id].chain;
        self.order
            .iter()
            .rev()
            .copied()
            .find(|r| self.rows[r].chain == chain && self.rows[r].status != "rescheduled")
            .unwrap_or(id)
    }

    fn token_refusal(&self, id: BookingId, now: DateTime<Utc>) -> Option<TokenRefusal> {
        let row = &self.rows[&id];
        match row.status {
            "rescheduled" => Some(TokenRefusal::AlreadyRescheduled),
            "cancelled" => Some(TokenRefusal::Cancelled),
            "no_show" => Some(TokenRefusal::Expired),
            _ if now >= row.slot.start() => Some(TokenRefusal::Expired),
            _ => None,
        }
    }

    fn overlaps_confirmed(&self, blocked: TimeRange, except_chain: ChainId) -> bool {
        self.rows.values().any(|r| {
            r.status == "confirmed" && r.chain != except_chain && r.blocked.overlaps(&blocked)
        })
    }
}

fn notify(
    booking: BookingId,
    mail: EmailKind,
    calendar: Option<CalendarOp>,
    hook: WebhookEvent,
) -> BTreeSet<Effect> {
    let mut set = BTreeSet::from([
        Effect::Email {
            kind: mail,
            to: Recipient::Attendee,
            booking,
        },
        Effect::Email {
            kind: mail,
            to: Recipient::Host,
            booking,
        },
        Effect::Webhook {
            event: hook,
            booking,
        },
    ]);
    set.extend(calendar.map(|op| Effect::Calendar { op, booking }));
    set
}

fn is_request(effect: &Effect) -> bool {
    matches!(
        effect,
        Effect::Email {
            kind: EmailKind::ReconfirmationRequest,
            ..
        }
    )
}

fn reconfirm_request(booking: BookingId) -> Effect {
    Effect::Email {
        kind: EmailKind::ReconfirmationRequest,
        to: Recipient::Attendee,
        booking,
    }
}

type Svc<S> = Scheduler<S, ManualClock, SequentialTokens, FixedBusy>;

/// Runs one scenario on a fresh `store` and checks the model after every step.
///
/// # Errors
/// A description of the first divergence from the model or broken invariant.
pub async fn run_case<S>(store: S, ops: &[Op]) -> Result<(), String>
where
    S: BookingStore + Outbox + Clone,
{
    let (host, link, start) = fixture();
    store.save_host(&host).await.map_err(|e| e.to_string())?;
    store.save_link(&link).await.map_err(|e| e.to_string())?;
    let clock = ManualClock::at(start);
    let svc = Scheduler::new(
        store.clone(),
        clock.clone(),
        SequentialTokens::new(),
        FixedBusy::default(),
    );
    let mut model = Model::default();
    for (step, op) in ops.iter().enumerate() {
        let expected = apply(&svc, &store, &link, &mut model, op)
            .await
            .map_err(|e| format!("step {step} {op:?}: {e}"))?;
        let emitted = drain_outbox(&store, &mut model.requests_seen).await?;
        if emitted != expected {
            return Err(format!(
                "step {step} {op:?}: effects {emitted:?}, expected {expected:?}"
            ));
        }
        check_invariants(&svc, &store, &model)
            .await
            .map_err(|e| format!("after step {step} {op:?}: {e}"))?;
    }
    Ok(())
}

/// Every effect queued since the last call. Reconfirmation requests are given back to the
/// queue (reported once), for [`Op::DeliverDue`] to deliver when they are due.
async fn drain_outbox<S: Outbox>(
    store: &S,
    requests_seen: &mut HashSet<String>,
) -> Result<BTreeSet<Effect>, String> {
    let far = Utc
        .with_ymd_and_hms(2100, 1, 1, 0, 0, 0)
        .single()
        .expect("valid");
    let entries = store
        .claim_due(far, TimeDelta::minutes(5), 10_000)
        .await
        .map_err(|e| e.to_string())?;
    let mut set = BTreeSet::new();
    for entry in entries {
        if is_request(&entry.effect) {
            store.release(&entry.key).await.map_err(|e| e.to_string())?;
            if !requests_seen.insert(entry.key) {
                continue;
            }
        } else {
            store
                .mark_delivered(&entry.key, far)
                .await
                .map_err(|e| e.to_string())?;
        }
        if !set.insert(entry.effect) {
            return Err(format!("effect {} emitted twice", entry.effect));
        }
    }
    Ok(set)
}

fn target(
    offered: &[TimeRange],
    now: DateTime<Utc>,
    pick: u16,
    from_offered: bool,
) -> DateTime<Utc> {
    if from_offered && !offered.is_empty() {
        offered[usize::from(pick) % offered.len()].start()
    } else {
        // A 15-minute grid over the next four days, on or off working hours.
        let base = now - TimeDelta::minutes(now.timestamp() / 60 % 15);
        base + TimeDelta::minutes(15 * i64::from(pick % 400))
    }
}

fn window(now: DateTime<Utc>) -> TimeRange {
    TimeRange::new(now, now + TimeDelta::days(5)).expect("non-empty")
}

async fn apply<S>(
    svc: &Svc<S>,
    store: &S,
    link: &BookingLink,
    model: &mut Model,
    op: &Op,
) -> Result<BTreeSet<Effect>, String>
where
    S: BookingStore + Outbox + Clone,
{
    let now = svc.clock().now();
    let none = BTreeSet::new();
    match *op {
        Op::Book { pick, offered } => {
            let slots = svc
                .available_slots(link.slug(), window(now))
                .await
                .map_err(|e| e.to_string())?;
            let start = target(&slots, now, pick, offered);
            let accept = slots.iter().any(|s| s.start() == start);
            let request = BookingRequest {
                start,
                invitee: Invitee::new(
                    PersonName::parse("Ada").expect("valid"),
                    Email::parse("ada@example.org").expect("valid"),
                    None,
                    TimeZoneName::parse("Europe/Berlin").expect("valid"),
                ),
                answers: Answers::default(),
                tracking: Tracking::default(),
            };
            match (svc.book(link.slug(), request).await, accept) {
                (Ok(b), true) => {
                    let mut fx = notify(
                        b.id(),
                        EmailKind::Booked,
                        Some(CalendarOp::Create),
                        WebhookEvent::CallBooked,
                    );
                    fx.insert(Effect::CreateDeal {
                        chain: b.chain(),
                        booking: b.id(),
                    });
                    if asked_at_booking(&b, now) {
                        fx.insert(reconfirm_request(b.id()));
                    }
                    // The calendar worker would record the provider's event id.
                    let write = b.with_provider_event(crate::booking::ProviderEventRef {
                        provider: "google".into(),
                        event_id: format!("evt-{}", b.chain()),
                    });
                    let stored = write.booking().clone();
                    store
                        .commit(Change {
                            writes: vec![write],
                            effects: vec![],
                        })
                        .await
                        .map_err(|e| e.to_string())?;
                    insert_row(model, &stored, now)?;
                    Ok(fx)
                }
                (Err(crate::service::BookError::SlotUnavailable), false) => Ok(none),
                (got, _) => Err(format!("book {start}: got {got:?}, offered: {accept}")),
            }
        }
        Op::Reschedule { row, pick, offered } => {
            let Some(id) = model.pick(row) else {
                return Ok(none);
            };
            let token = model.rows[&id].token.clone();
            let refusal = model.token_refusal(id, now);
            let slots = match svc.reschedule_page(&token, window(now)).await {
                Ok(page) => page.slots,
                Err(_) => Vec::new(),
            };
            let start = target(&slots, now, pick, offered);
            let got = svc
                .reschedule(
                    &token,
                    start,
                    Reason::parse_optional(Some("conflict")).expect("valid"),
                )
                .await;
            match (got, refusal) {
                (Err(TokenActionError::Refused(r)), Some(want)) if r == want => Ok(none),
                (Err(TokenActionError::SameSlot), None)
                    if model.rows[&id].slot.start() == start =>
                {
                    Ok(none)
                }
                (Err(TokenActionError::SlotUnavailable | TokenActionError::NotOffered), None)
                    if !slots.iter().any(|s| s.start() == start) =>
                {
                    Ok(none)
                }
                (Ok(new), None) if slots.iter().any(|s| s.start() == start) => {
                    model.rows.get_mut(&id).ok_or("row")?.status = "rescheduled";
                    insert_row(model, &new, now)?;
                    let mut fx = notify(
                        new.id(),
                        EmailKind::Rescheduled,
                        Some(CalendarOp::UpdateInPlace),
                        WebhookEvent::CallRescheduled,
                    );
                    if asked_at_booking(&new, now) {
                        fx.insert(reconfirm_request(new.id()));
                    }
                    Ok(fx)
                }
                (got, want) => Err(format!("reschedule: got {got:?}, model refusal {want:?}")),
            }
        }
        Op::Cancel { row } => {
            let Some(id) = model.pick(row) else {
                return Ok(none);
            };
            let token = model.rows[&id].token.clone();
            let was_cancelled = model.rows[&id].status == "cancelled";
            let refusal = if was_cancelled {
                None
            } else {
                model.token_refusal(id, now)
            };
            match (svc.cancel(&token, None).await, refusal) {
                (Ok(b), None) if was_cancelled => {
                    same_row(model, &b)?;
                    Ok(none)
                }
                (Ok(b), None) => {
                    cancel_row(model, id, &b)?;
                    Ok(notify(
                        id,
                        EmailKind::Cancelled,
                        Some(CalendarOp::Delete),
                        WebhookEvent::CallCancelled,
                    ))
                }
                (Err(TokenActionError::Refused(r)), Some(want)) if r == want => Ok(none),
                (got, want) => Err(format!("cancel: got {got:?}, model refusal {want:?}")),
            }
        }
        Op::Reconfirm { row } => {
            let Some(id) = model.pick(row) else {
                return Ok(none);
            };
            let token = model.rows[&id].token.clone();
            match (svc.reconfirm(&token).await, model.token_refusal(id, now)) {
                (Ok(b), None) => {
                    if b.reconfirmed_at().is_none() {
                        return Err("reconfirm left reconfirmed_at empty".into());
                    }
                    model.rows.get_mut(&id).ok_or("row")?.reconfirmed = true;
                    Ok(none)
                }
                (Err(TokenActionError::Refused(r)), Some(want)) if r == want => Ok(none),
                (got, want) => Err(format!("reconfirm: got {got:?}, model refusal {want:?}")),
            }
        }
        Op::HostCancel { row } => {
            let Some(picked) = model.pick(row) else {
                return Ok(none);
            };
            let id = model.current(picked);
            let r = model.rows[&id].clone();
            let got = svc
                .host_cancel(
                    HostId::from_uuid(uuid::Uuid::from_u128(0x4057)),
                    picked,
                    None,
                )
                .await;
            match (r.status, got) {
                ("cancelled", Ok(b)) => same_row(model, &b).map(|()| none),
                ("no_show", Err(HostActionError::Refused(HostActionRefusal::NoShow))) => Ok(none),
                ("confirmed", Err(HostActionError::Refused(HostActionRefusal::MeetingOver)))
                    if now >= r.slot.end() =>
                {
                    Ok(none)
                }
                ("confirmed", Ok(b)) if now < r.slot.end() => {
                    cancel_row(model, id, &b)?;
                    Ok(notify(
                        id,
                        EmailKind::Cancelled,
                        Some(CalendarOp::Delete),
                        WebhookEvent::CallCancelled,
                    ))
                }
                (status, got) => Err(format!("host cancel of {status} row: got {got:?}")),
            }
        }
        Op::MarkNoShow { row } => {
            let Some(picked) = model.pick(row) else {
                return Ok(none);
            };
            let id = model.current(picked);
            let r = model.rows[&id].clone();
            let got = svc
                .mark_no_show(HostId::from_uuid(uuid::Uuid::from_u128(0x4057)), picked)
                .await;
            match (r.status, got) {
                ("no_show", Ok(_)) => Ok(none),
                ("cancelled", Err(HostActionError::Refused(HostActionRefusal::Cancelled))) => {
                    Ok(none)
                }
                ("confirmed", Err(HostActionError::Refused(HostActionRefusal::NotStarted)))
                    if now < r.slot.start() =>
                {
                    Ok(none)
                }
                ("confirmed", Ok(b)) if now >= r.slot.start() && b.status().name() == "no_show" => {
                    model.rows.get_mut(&id).ok_or("row")?.status = "no_show";
                    Ok(none)
                }
                (status, got) => Err(format!("no-show of {status} row: got {got:?}")),
            }
        }
        Op::UndoNoShow { row } => {
            let Some(picked) = model.pick(row) else {
                return Ok(none);
            };
            let id = model.current(picked);
            let r = model.rows[&id].clone();
            let got = svc
                .undo_no_show(HostId::from_uuid(uuid::Uuid::from_u128(0x4057)), picked)
                .await;
            match (r.status, got) {
                ("no_show", Ok(_)) if !model.overlaps_confirmed(r.blocked, r.chain) => {
                    model.rows.get_mut(&id).ok_or("row")?.status = "confirmed";
                    Ok(none)
                }
                ("no_show", Err(HostActionError::Store(_)))
                    if model.overlaps_confirmed(r.blocked, r.chain) =>
                {
                    Ok(none)
                }
                ("confirmed", Err(HostActionError::Refused(HostActionRefusal::NotNoShow))) => {
                    Ok(none)
                }
                ("cancelled", Err(HostActionError::Refused(HostActionRefusal::Cancelled))) => {
                    Ok(none)
                }
                (status, got) => Err(format!("undo no-show of {status} row: got {got:?}")),
            }
        }
        Op::CalendarDelete { row } => {
            let Some(picked) = model.pick(row) else {
                return Ok(none);
            };
            let id = model.current(picked);
            let chain = model.rows[&id].chain;
            let got = svc
                .apply_calendar_change("google", &format!("evt-{chain}"), CalendarChange::Deleted)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("calendar event not found")?;
            if model.rows[&id].status == "confirmed" {
                cancel_row(model, id, &got)?;
                Ok(notify(
                    id,
                    EmailKind::Cancelled,
                    None,
                    WebhookEvent::CallCancelled,
                ))
            } else {
                same_row(model, &got).map(|()| none)
            }
        }
        Op::CalendarMove { row, pick } => {
            let Some(picked) = model.pick(row) else {
                return Ok(none);
            };
            let id = model.current(picked);
            let r = model.rows[&id].clone();
            let start = target(&[], now - TimeDelta::days(1), pick, false);
            let slot =
                TimeRange::starting_at(start, TimeDelta::minutes(30)).map_err(|e| e.to_string())?;
            let blocked = slot.padded(TimeDelta::zero(), TimeDelta::minutes(10));
            let got = svc
                .apply_calendar_change(
                    "google",
                    &format!("evt-{}", r.chain),
                    CalendarChange::Moved(slot),
                )
                .await
                .map_err(|e| e.to_string())?
                .ok_or("calendar event not found")?;
            let moves = r.status == "confirmed"
                && slot != r.slot
                && !model.overlaps_confirmed(blocked, r.chain);
            if moves {
                if got.slot() != slot || got.id() == id {
                    return Err(format!("calendar move: got {got:?}"));
                }
                model.rows.get_mut(&id).ok_or("row")?.status = "rescheduled";
                insert_row(model, &got, now)?;
                let mut fx = notify(
                    got.id(),
                    EmailKind::Rescheduled,
                    None,
                    WebhookEvent::CallRescheduled,
                );
                if asked_at_booking(&got, now) {
                    fx.insert(reconfirm_request(got.id()));
                }
                Ok(fx)
            } else {
                same_row(model, &got).map(|()| none)
            }
        }
        Op::UnknownToken => match svc.cancel("ffffffffffffffffffffffffffffffff", None).await {
            Err(TokenActionError::NotFound) => Ok(none),
            got => Err(format!("unknown token: got {got:?}")),
        },
        Op::Advance { minutes } => {
            svc.clock().advance(TimeDelta::minutes(i64::from(minutes)));
            Ok(none)
        }
        Op::ExpireUnreconfirmed => {
            let due: Vec<BookingId> = model
                .rows
                .iter()
                .filter(|(_, r)| {
                    r.status == "confirmed"
                        && !r.reconfirmed
                        && r.reconfirm_by.is_some_and(|deadline| {
                            deadline <= now && r.asked.is_some_and(|asked| asked < deadline)
                        })
                        && now < r.slot.start()
                })
                .map(|(id, _)| *id)
                .collect();
            let n = svc
                .expire_unreconfirmed(1000)
                .await
                .map_err(|e| e.to_string())?;
            if n != due.len() {
                return Err(format!("expired {n}, model expected {}", due.len()));
            }
            let mut fx = BTreeSet::new();
            for id in due {
                let b = store
                    .booking(id)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or("row vanished")?;
                cancel_row(model, id, &b)?;
                fx.extend(notify(
                    id,
                    EmailKind::CancelledNotReconfirmed,
                    Some(CalendarOp::Delete),
                    WebhookEvent::CallCancelled,
                ));
            }
            Ok(fx)
        }
        Op::DeliverDue => deliver_due(store, link, model, now).await.map(|()| none),
        Op::JumpTo {
            row,
            deadline,
            minutes,
        } => {
            let Some(id) = model.pick(row) else {
                return Ok(none);
            };
            let r = &model.rows[&id];
            let target = if deadline {
                r.reconfirm_by
            } else {
                Some(r.slot.start() - TimeDelta::hours(24))
            };
            if let Some(at) = target.map(|t| t + TimeDelta::minutes(i64::from(minutes)))
                && at > now
            {
                svc.clock().set(at);
            }
            Ok(none)
        }
    }
}

/// The dispatcher's part for reconfirmation requests: each one due at `now` is sent (and its
/// delivery recorded on the row) if the row is still confirmed, unreconfirmed and not started,
/// and the request still leaves the attendee 11 hours (half of the fixture's 22-hour reply
/// window) before the deadline; otherwise it is dropped.
async fn deliver_due<S>(
    store: &S,
    link: &BookingLink,
    model: &mut Model,
    now: DateTime<Utc>,
) -> Result<(), String>
where
    S: BookingStore + Outbox,
{
    let due = store
        .claim_due(now, TimeDelta::minutes(5), 10_000)
        .await
        .map_err(|e| e.to_string())?;
    for entry in due {
        let id = entry.effect.booking();
        if !is_request(&entry.effect) {
            return Err(format!("{} left undelivered", entry.key));
        }
        let row = model.rows.get(&id).ok_or("request for an unknown row")?;
        if entry.due_at != row.slot.start() - TimeDelta::hours(24) {
            return Err(format!(
                "request due {}, meeting at {}",
                entry.due_at, row.slot
            ));
        }
        let fair = row.status == "confirmed"
            && !row.reconfirmed
            && now < row.slot.start()
            && row
                .reconfirm_by
                .is_some_and(|deadline| now + TimeDelta::hours(11) <= deadline);
        let stored = store
            .booking(id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("row vanished")?;
        let sends = crate::reconfirmation::may_ask(&stored, link.reconfirmation(), now).is_ok();
        if sends != fair {
            return Err(format!(
                "request for {id} at {now}: sent {sends}, model says {fair}"
            ));
        }
        if sends {
            store
                .record_reconfirmation_request(id, now)
                .await
                .map_err(|e| e.to_string())?;
            model.rows.get_mut(&id).ok_or("row")?.asked = Some(now);
        }
        store
            .mark_delivered(&entry.key, now)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Whether a booking made (or moved) at `now` is asked to reconfirm: only when `now` is before
/// the fixture's asking window (24 hours before the start).
fn asked_at_booking(b: &Booking, now: DateTime<Utc>) -> bool {
    now < b.slot().start() - TimeDelta::hours(24)
}

fn insert_row(model: &mut Model, b: &Booking, now: DateTime<Utc>) -> Result<(), String> {
    let token = b.token().expose().to_owned();
    if !model.tokens_seen.insert(token.clone()) {
        return Err("a token was handed out twice".into());
    }
    let row = Row {
        status: "confirmed",
        slot: b.slot(),
        blocked: b.blocked(),
        chain: b.chain(),
        token,
        reconfirmed: false,
        reconfirm_by: b.reconfirm_by(),
        asked: None,
    };
    let expected = asked_at_booking(b, now).then(|| b.slot().start() - TimeDelta::hours(2));
    if row.reconfirm_by != expected {
        return Err(format!(
            "reconfirmation deadline {:?} for a booking made at {now} for {}, expected {expected:?}",
            row.reconfirm_by,
            b.slot().start()
        ));
    }
    model.rows.insert(b.id(), row);
    model.order.push(b.id());
    Ok(())
}

fn cancel_row(model: &mut Model, id: BookingId, b: &Booking) -> Result<(), String> {
    if b.id() != id || b.status().name() != "cancelled" {
        return Err(format!("expected row {id} cancelled, got {b:?}"));
    }
    model.rows.get_mut(&id).ok_or("row")?.status = "cancelled";
    model.cancelled.insert(id, b.clone());
    Ok(())
}

fn same_row(model: &Model, b: &Booking) -> Result<(), String> {
    match model.rows.get(&b.id()) {
        Some(r) if r.status == b.status().name() => Ok(()),
        _ => Err(format!("expected the unchanged row, got {b:?}")),
    }
}

async fn check_invariants<S>(svc: &Svc<S>, store: &S, model: &Model) -> Result<(), String>
where
    S: BookingStore + Outbox + Clone,
{
    let now = svc.clock().now();
    let mut confirmed_per_chain: BTreeMap<ChainId, usize> = BTreeMap::new();
    let mut confirmed: Vec<Booking> = Vec::new();
    let mut tokens = HashSet::new();
    for (id, row) in &model.rows {
        let stored = store
            .booking(*id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("row missing")?;
        if stored.status().name() != row.status || stored.slot() != row.slot {
            return Err(format!(
                "row {id}: stored {} {}, model {} {}",
                stored.status().name(),
                stored.slot(),
                row.status,
                row.slot
            ));
        }
        if !tokens.insert(stored.token().expose().to_owned()) {
            return Err("two rows share a token".into());
        }
        if let Some(before) = model.cancelled.get(id)
            && *before != stored
        {
            return Err(format!("cancelled row {id} changed"));
        }
        if stored.reconfirm_requested_at() != row.asked {
            return Err(format!(
                "row {id}: request recorded {:?}, delivered {:?}",
                stored.reconfirm_requested_at(),
                row.asked
            ));
        }
        // Auto-cancelled only after a delivered request and then the deadline.
        if let Some(c) = stored.cancellation()
            && c.by == crate::booking::Actor::System
        {
            let deadline = row
                .reconfirm_by
                .ok_or("auto-cancelled without a deadline")?;
            let asked = row
                .asked
                .ok_or("auto-cancelled without a delivered request")?;
            if !(asked < deadline && deadline <= c.at) {
                return Err(format!(
                    "row {id} auto-cancelled at {}: asked {asked}, deadline {deadline}",
                    c.at
                ));
            }
        }
        if matches!(stored.status(), Status::Confirmed) {
            *confirmed_per_chain.entry(stored.chain()).or_default() += 1;
            confirmed.push(stored.clone());
        }
        // The token works iff the row is confirmed and the meeting has not started.
        let live = row.status == "confirmed" && now < row.slot.start();
        let probe = TimeRange::new(now, now + TimeDelta::hours(1)).expect("non-empty");
        let accepted = svc.reschedule_page(&row.token, probe).await.is_ok();
        if accepted != live {
            return Err(format!(
                "token of {} row {id} accepted: {accepted}, should be {live}",
                row.status
            ));
        }
    }
    if let Some((chain, n)) = confirmed_per_chain.iter().find(|(_, n)| **n > 1) {
        return Err(format!("chain {chain} has {n} confirmed rows"));
    }
    for (i, a) in confirmed.iter().enumerate() {
        if let Some(b) = confirmed[i + 1..]
            .iter()
            .find(|b| b.blocked().overlaps(&a.blocked()))
        {
            return Err(format!(
                "confirmed rows overlap: {} and {}",
                a.blocked(),
                b.blocked()
            ));
        }
    }
    Ok(())
}
