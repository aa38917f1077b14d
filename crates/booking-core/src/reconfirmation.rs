//! Reconfirmation beyond the row's fields: whether a request may still go out when its time
//! comes, and where a booking stands, for the host's eyes.
//!
//! The rule that keeps it honest: a booking is cancelled for want of reconfirmation only when
//! its request was actually delivered — the dispatcher records that on the row
//! ([`BookingStore::record_reconfirmation_request`](crate::ports::BookingStore::record_reconfirmation_request))
//! — and the deadline then passed ([`Booking::expire_unreconfirmed`]). A request goes out only
//! while it still leaves the attendee at least [`ReconfirmationPolicy::fair_notice`] before the
//! deadline. Later than that (the dispatcher was down, the mail server refused for hours) it is
//! dropped, and the booking counts as confirmed, like one made inside the asking window.

use chrono::{DateTime, Utc};

use crate::booking::{Actor, Booking, Status};
use crate::link::ReconfirmationPolicy;

/// Why a reconfirmation request is not sent when its time comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotAsked {
    /// Moved, cancelled or marked a no-show meanwhile.
    #[error("the booking is no longer confirmed")]
    NotConfirmed,
    /// The attendee reconfirmed already.
    #[error("the booking is already reconfirmed")]
    AlreadyReconfirmed,
    /// The meeting is under way or over.
    #[error("the meeting has started")]
    Started,
    /// The host switched reconfirmation off on the link since the booking was made.
    #[error("the link no longer asks for reconfirmation")]
    NoLongerAsked,
    /// Too close to the deadline to leave the attendee a fair time to answer.
    #[error("too late to leave the attendee a fair time before the deadline")]
    TooLate,
}

/// Whether `booking`'s reconfirmation request may be sent at `now`, under its link's current
/// `policy`. A row without a deadline may be asked (nothing is enforced on it).
///
/// # Errors
/// [`NotAsked`] naming why the request is to be dropped instead.
pub fn may_ask(
    booking: &Booking,
    policy: Option<ReconfirmationPolicy>,
    now: DateTime<Utc>,
) -> Result<(), NotAsked> {
    if !matches!(booking.status(), Status::Confirmed) {
        return Err(NotAsked::NotConfirmed);
    }
    if booking.reconfirmed_at().is_some() {
        return Err(NotAsked::AlreadyReconfirmed);
    }
    if booking.slot().start() <= now {
        return Err(NotAsked::Started);
    }
    let Some(deadline) = booking.reconfirm_by() else {
        return Ok(());
    };
    let policy = policy.ok_or(NotAsked::NoLongerAsked)?;
    if now + policy.fair_notice() > deadline {
        return Err(NotAsked::TooLate);
    }
    Ok(())
}

/// Where a booking stands with reconfirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconfirmationState {
    /// Made (or moved) when the asking moment had come: booking counted as confirmation, so
    /// it is neither asked nor auto-cancelled.
    BookedInsideWindow,
    /// The request is planned (pending in the outbox) for `at`.
    WillBeAsked {
        /// When it is due.
        at: DateTime<Utc>,
        /// The deadline it will carry.
        deadline: DateTime<Utc>,
    },
    /// The request was delivered; no answer yet.
    Asked {
        /// When it was delivered.
        at: DateTime<Utc>,
        /// Until when the attendee may answer, if a deadline applies.
        deadline: Option<DateTime<Utc>>,
    },
    /// No request went out and none is pending (too late, undeliverable, or switched off):
    /// the booking will not be cancelled automatically.
    NotAsked {
        /// The deadline that therefore does not apply.
        deadline: DateTime<Utc>,
    },
    /// The attendee reconfirmed.
    Reconfirmed {
        /// When they were asked, if they were (they may click before the request arrives).
        asked_at: Option<DateTime<Utc>>,
        /// When they clicked.
        at: DateTime<Utc>,
    },
    /// Cancelled because the deadline passed without an answer.
    AutoCancelled {
        /// When the request was delivered.
        asked_at: DateTime<Utc>,
        /// The deadline that passed.
        deadline: DateTime<Utc>,
        /// When it was cancelled.
        at: DateTime<Utc>,
    },
}

/// Where `booking` stands, given its link's current `policy` and the due time of its pending
/// request in the outbox, if any. `None` when reconfirmation does not concern the booking.
pub fn state(
    booking: &Booking,
    policy: Option<ReconfirmationPolicy>,
    request_due: Option<DateTime<Utc>>,
) -> Option<ReconfirmationState> {
    use ReconfirmationState as S;
    let asked = booking.reconfirm_requested_at();
    let deadline = booking.reconfirm_by();
    if let (Some(c), Some(asked_at), Some(deadline)) = (booking.cancellation(), asked, deadline)
        && c.by == Actor::System
    {
        return Some(S::AutoCancelled {
            asked_at,
            deadline,
            at: c.at,
        });
    }
    if let Some(at) = booking.reconfirmed_at() {
        return Some(S::Reconfirmed {
            asked_at: asked,
            at,
        });
    }
    if let Some(at) = asked {
        return Some(S::Asked { at, deadline });
    }
    match (deadline, request_due) {
        (Some(deadline), Some(at)) => Some(S::WillBeAsked { at, deadline }),
        (Some(deadline), None) => Some(S::NotAsked { deadline }),
        (None, _) => policy
            .filter(|p| booking.created_at() >= booking.slot().start() - p.ask_before())
            .map(|_| S::BookedInsideWindow),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::NewBooking;
    use crate::ids::{BookingId, HostId, LinkId};
    use crate::invitee::{Answers, Email, Invitee, PersonName, Tracking};
    use crate::time::{TimeRange, TimeZoneName};
    use crate::token::RescheduleToken;
    use chrono::{TimeDelta, TimeZone};
    use uuid::Uuid;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 5, 10, h, 0, 0).unwrap()
    }

    /// 24 h / 2 h policy: fair notice 11 h.
    fn policy() -> ReconfirmationPolicy {
        ReconfirmationPolicy::new(TimeDelta::hours(24), TimeDelta::hours(2)).unwrap()
    }

    /// Meeting 2027-05-11 22:00 (T), deadline 20:00, booked at `created`.
    fn booking(created: DateTime<Utc>, deadline: Option<DateTime<Utc>>) -> Booking {
        let slot = TimeRange::new(t(22) + TimeDelta::days(1), t(23) + TimeDelta::days(1)).unwrap();
        Booking::confirmed(NewBooking {
            id: BookingId::from_uuid(Uuid::from_u128(1)),
            host: HostId::from_uuid(Uuid::from_u128(2)),
            link: LinkId::from_uuid(Uuid::from_u128(3)),
            slot,
            blocked: slot,
            token: RescheduleToken::from_bytes([1; 16]),
            invitee: Invitee::new(
                PersonName::parse("Ada").unwrap(),
                Email::parse("ada@example.org").unwrap(),
                None,
                TimeZoneName::parse("UTC").unwrap(),
            ),
            answers: Answers::default(),
            tracking: Tracking::default(),
            reconfirm_by: deadline,
            created_at: created,
        })
        .result
    }

    #[test]
    fn a_request_goes_out_only_while_it_leaves_a_fair_time() {
        let deadline = t(20) + TimeDelta::days(1);
        let b = booking(t(1), Some(deadline));
        assert_eq!(policy().fair_notice(), TimeDelta::hours(11));
        // Due at 22:00 the day before; ten hours late still leaves 12 hours.
        assert_eq!(may_ask(&b, Some(policy()), t(22)), Ok(()));
        assert_eq!(
            may_ask(&b, Some(policy()), deadline - TimeDelta::hours(11)),
            Ok(())
        );
        assert_eq!(
            may_ask(&b, Some(policy()), deadline - TimeDelta::minutes(659)),
            Err(NotAsked::TooLate)
        );
        assert_eq!(may_ask(&b, None, t(22)), Err(NotAsked::NoLongerAsked));
        let reconfirmed = b.reconfirm(t(21)).unwrap().result;
        assert_eq!(
            may_ask(&reconfirmed, Some(policy()), t(22)),
            Err(NotAsked::AlreadyReconfirmed)
        );
        let cancelled = b.cancel_by_host(t(21), None).unwrap().result;
        assert_eq!(
            may_ask(&cancelled, Some(policy()), t(22)),
            Err(NotAsked::NotConfirmed)
        );
        assert_eq!(
            may_ask(&b, Some(policy()), b.slot().start()),
            Err(NotAsked::Started)
        );
    }

    #[test]
    fn the_state_follows_the_request_the_answer_and_the_deadline() {
        use ReconfirmationState as S;
        let deadline = t(20) + TimeDelta::days(1);
        let b = booking(t(1), Some(deadline));
        assert_eq!(
            state(&b, Some(policy()), Some(t(22))),
            Some(S::WillBeAsked {
                at: t(22),
                deadline
            })
        );
        assert_eq!(
            state(&b, Some(policy()), None),
            Some(S::NotAsked { deadline })
        );
        let asked = b.with_reconfirmation_requested(t(22)).unwrap();
        assert_eq!(
            state(&asked, Some(policy()), None),
            Some(S::Asked {
                at: t(22),
                deadline: Some(deadline)
            })
        );
        let yes = asked.reconfirm(t(23)).unwrap().result;
        assert_eq!(
            state(&yes, Some(policy()), None),
            Some(S::Reconfirmed {
                asked_at: Some(t(22)),
                at: t(23)
            })
        );
        let gone = asked.expire_unreconfirmed(deadline).result;
        assert_eq!(
            state(&gone, Some(policy()), None),
            Some(S::AutoCancelled {
                asked_at: t(22),
                deadline,
                at: deadline
            })
        );
        let inside = booking(t(23), None);
        assert_eq!(
            state(&inside, Some(policy()), None),
            Some(S::BookedInsideWindow)
        );
        assert_eq!(state(&inside, None, None), None);
        assert_eq!(state(&booking(t(1), None), Some(policy()), None), None);
    }
}
