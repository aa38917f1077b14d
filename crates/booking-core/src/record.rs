//! The flat shape a booking row is stored in, shared by every store adapter so that the
//! mapping between rows and [`Booking`] is written once and checked on the way in.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::booking::{Actor, Booking, Cancellation, Origin, ProviderEventRef, Status};
use crate::ids::{BookingId, ChainId, HostId, LinkId};
use crate::invitee::{Answers, Email, Invitee, PersonName, Phone, Reason, Tracking, UtmParam};
use crate::link::{BookingLink, LinkSettings, ReconfirmationPolicy, Slug};
use crate::time::{TimeRange, TimeZoneName};
use crate::token::RescheduleToken;

/// A booking as columns. Stores keep the token only hashed and sealed, and give it back here
/// in the clear after unsealing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct BookingRecord {
    pub id: Uuid,
    pub chain_id: Uuid,
    pub host_id: Uuid,
    pub link_id: Uuid,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub blocked_start: DateTime<Utc>,
    pub blocked_end: DateTime<Utc>,
    /// `confirmed`, `rescheduled`, `cancelled`, `no_show`.
    pub status: String,
    /// When the status last changed away from confirmed (moved, cancelled, marked).
    pub status_changed_at: Option<DateTime<Utc>>,
    pub next_id: Option<Uuid>,
    pub cancelled_by: Option<String>,
    pub cancel_reason: Option<String>,
    pub previous_id: Option<Uuid>,
    pub rescheduled_by: Option<String>,
    pub reschedule_reason: Option<String>,
    pub token: String,
    pub invitee_name: String,
    pub invitee_email: String,
    pub invitee_phone: Option<String>,
    pub invitee_time_zone: String,
    /// Question/answer pairs in order.
    pub answers: Vec<(String, String)>,
    /// `utm_*` key/value pairs.
    pub tracking: Vec<(String, String)>,
    pub provider: Option<String>,
    pub provider_event_id: Option<String>,
    pub reconfirm_by: Option<DateTime<Utc>>,
    /// When the reconfirmation request was delivered.
    pub reconfirm_requested_at: Option<DateTime<Utc>>,
    pub reconfirmed_at: Option<DateTime<Utc>>,
    pub ics_sequence: i64,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

/// A stored row that does not make a valid booking (hand-edited or corrupted data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored booking {id} is invalid: {what}")]
pub struct CorruptRecord {
    /// The row.
    pub id: Uuid,
    /// What is wrong with it.
    pub what: String,
}

impl Booking {
    /// The row as columns.
    pub fn to_record(&self) -> BookingRecord {
        let (status_changed_at, next_id, cancelled_by, cancel_reason) = match &self.status {
            Status::Confirmed => (None, None, None, None),
            Status::Rescheduled { next, at } => (Some(*at), Some(next.as_uuid()), None, None),
            Status::Cancelled(c) => (
                Some(c.at),
                None,
                Some(c.by.as_str().to_owned()),
                c.reason.as_ref().map(|r| r.as_str().to_owned()),
            ),
            Status::NoShow { marked_at } => (Some(*marked_at), None, None, None),
        };
        let (previous_id, rescheduled_by, reschedule_reason) = match &self.origin {
            Origin::Booked => (None, None, None),
            Origin::Rescheduled {
                previous,
                by,
                reason,
            } => (
                Some(previous.as_uuid()),
                Some(by.as_str().to_owned()),
                reason.as_ref().map(|r| r.as_str().to_owned()),
            ),
        };
        BookingRecord {
            id: self.id.as_uuid(),
            chain_id: self.chain.as_uuid(),
            host_id: self.host.as_uuid(),
            link_id: self.link.as_uuid(),
            start_at: self.slot.start(),
            end_at: self.slot.end(),
            blocked_start: self.blocked.start(),
            blocked_end: self.blocked.end(),
            status: self.status.name().to_owned(),
            status_changed_at,
            next_id,
            cancelled_by,
            cancel_reason,
            previous_id,
            rescheduled_by,
            reschedule_reason,
            token: self.token.expose().to_owned(),
            invitee_name: self.invitee.name().as_str().to_owned(),
            invitee_email: self.invitee.email().as_str().to_owned(),
            invitee_phone: self.invitee.phone().map(|p| p.as_str().to_owned()),
            invitee_time_zone: self.invitee.time_zone().name().to_owned(),
            answers: self.answers.pairs().to_vec(),
            tracking: UtmParam::ALL
                .iter()
                .filter_map(|p| {
                    self.tracking
                        .get(*p)
                        .map(|v| (p.key().to_owned(), v.to_owned()))
                })
                .collect(),
            provider: self.provider_event.as_ref().map(|p| p.provider.clone()),
            provider_event_id: self.provider_event.as_ref().map(|p| p.event_id.clone()),
            reconfirm_by: self.reconfirm_by,
            reconfirm_requested_at: self.reconfirm_requested_at,
            reconfirmed_at: self.reconfirmed_at,
            ics_sequence: i64::from(self.ics_sequence),
            version: i64::try_from(self.version).unwrap_or(i64::MAX),
            created_at: self.created_at,
        }
    }

    /// Reads a row back, checking every field.
    ///
    /// # Errors
    /// [`CorruptRecord`] naming the first field that does not make sense.
    pub fn from_record(r: BookingRecord) -> Result<Booking, CorruptRecord> {
        let id = r.id;
        let bad = |what: &str| CorruptRecord {
            id,
            what: what.to_owned(),
        };
        let actor = |a: &Option<String>| {
            a.as_deref()
                .and_then(Actor::parse)
                .ok_or_else(|| bad("actor"))
        };
        let reason =
            |t: &Option<String>| Reason::from_stored(t.as_deref()).map_err(|_| bad("reason"));
        let changed_at = r.status_changed_at.ok_or_else(|| bad("status_changed_at"));
        let status = match r.status.as_str() {
            "confirmed" => Status::Confirmed,
            "rescheduled" => Status::Rescheduled {
                next: BookingId::from_uuid(r.next_id.ok_or_else(|| bad("next_id"))?),
                at: changed_at?,
            },
            "cancelled" => Status::Cancelled(Cancellation {
                by: actor(&r.cancelled_by)?,
                reason: reason(&r.cancel_reason)?,
                at: changed_at?,
            }),
            "no_show" => Status::NoShow {
                marked_at: changed_at?,
            },
            _ => return Err(bad("status")),
        };
        let origin = match r.previous_id {
            None => Origin::Booked,
            Some(previous) => Origin::Rescheduled {
                previous: BookingId::from_uuid(previous),
                by: actor(&r.rescheduled_by)?,
                reason: reason(&r.reschedule_reason)?,
            },
        };
        let invitee = Invitee::new(
            PersonName::parse(&r.invitee_name).map_err(|_| bad("invitee_name"))?,
            Email::from_stored(&r.invitee_email).map_err(|_| bad("invitee_email"))?,
            r.invitee_phone
                .as_deref()
                .map(Phone::from_stored)
                .transpose()
                .map_err(|_| bad("invitee_phone"))?,
            TimeZoneName::parse(&r.invitee_time_zone).map_err(|_| bad("invitee_time_zone"))?,
        );
        let provider_event = match (r.provider, r.provider_event_id) {
            (Some(provider), Some(event_id)) => Some(ProviderEventRef { provider, event_id }),
            (None, None) => None,
            _ => return Err(bad("provider event")),
        };
        Ok(Booking {
            id: BookingId::from_uuid(r.id),
            chain: ChainId::from_uuid(r.chain_id),
            host: HostId::from_uuid(r.host_id),
            link: LinkId::from_uuid(r.link_id),
            slot: TimeRange::new(r.start_at, r.end_at).map_err(|_| bad("slot"))?,
            blocked: TimeRange::new(r.blocked_start, r.blocked_end)
                .map_err(|_| bad("blocked range"))?,
            status,
            origin,
            token: RescheduleToken::parse(&r.token).map_err(|_| bad("token"))?,
            invitee,
            answers: Answers::from_stored(r.answers),
            tracking: Tracking::from_pairs(
                r.tracking.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            ),
            provider_event,
            reconfirm_by: r.reconfirm_by,
            reconfirm_requested_at: r.reconfirm_requested_at,
            reconfirmed_at: r.reconfirmed_at,
            ics_sequence: u32::try_from(r.ics_sequence).map_err(|_| bad("ics_sequence"))?,
            version: u64::try_from(r.version).map_err(|_| bad("version"))?,
            created_at: r.created_at,
        })
    }
}

/// A booking link as columns. Periods are `(start_minute, end_minute)` after local midnight;
/// durations are whole minutes. Stores keep `weekly`, `overrides` and `questions` as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct LinkRecord {
    pub id: Uuid,
    pub host_id: Uuid,
    pub slug: String,
    pub title: String,
    pub time_zone: String,
    /// Monday first, seven entries.
    pub weekly: Vec<Vec<(u16, u16)>>,
    pub overrides: Vec<(chrono::NaiveDate, Vec<(u16, u16)>)>,
    pub duration_minutes: i64,
    pub interval_minutes: i64,
    pub buffer_before_minutes: i64,
    pub buffer_after_minutes: i64,
    pub minimum_notice_minutes: i64,
    pub max_days_ahead: Option<i64>,
    pub reconfirm_ask_minutes: Option<i64>,
    pub reconfirm_cancel_minutes: Option<i64>,
    pub create_deal: bool,
    pub questions: Vec<String>,
    pub description: Option<String>,
    pub location: Option<String>,
    /// The link's own workflow; `None` runs [`crate::workflows::Workflow::standard`].
    pub workflow: Option<crate::workflows::Workflow>,
}

fn periods_of(hours: &crate::availability::DayHours) -> Vec<(u16, u16)> {
    hours
        .periods()
        .iter()
        .map(|p| (p.start_minute(), p.end_minute()))
        .collect()
}

impl BookingLink {
    /// The link as columns.
    pub fn to_record(&self) -> LinkRecord {
        use chrono::Weekday;
        let rules = self.rules();
        let days = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        LinkRecord {
            id: self.id().as_uuid(),
            host_id: self.host().as_uuid(),
            slug: self.slug().as_str().to_owned(),
            title: self.title().to_owned(),
            time_zone: rules.zone().name().to_owned(),
            weekly: days
                .iter()
                .map(|d| periods_of(rules.weekly().day(*d)))
                .collect(),
            overrides: rules
                .overrides()
                .iter()
                .map(|(d, h)| (*d, periods_of(h)))
                .collect(),
            duration_minutes: rules.duration().num_minutes(),
            interval_minutes: rules.interval().num_minutes(),
            buffer_before_minutes: rules.buffer_before().num_minutes(),
            buffer_after_minutes: rules.buffer_after().num_minutes(),
            minimum_notice_minutes: rules.minimum_notice().num_minutes(),
            max_days_ahead: rules.max_days_ahead().map(i64::from),
            reconfirm_ask_minutes: self.reconfirmation().map(|p| p.ask_before().num_minutes()),
            reconfirm_cancel_minutes: self
                .reconfirmation()
                .map(|p| p.cancel_before().num_minutes()),
            create_deal: self.create_deal(),
            questions: self.questions().to_vec(),
            description: self.description().map(str::to_owned),
            location: self.location().map(str::to_owned),
            workflow: self.workflow().cloned(),
        }
    }

    /// Reads a link back, checking every field.
    ///
    /// # Errors
    /// [`CorruptRecord`] naming the first field that does not make sense.
    pub fn from_record(r: LinkRecord) -> Result<BookingLink, CorruptRecord> {
        use crate::availability::{
            AvailabilityRules, DayHours, DayPeriod, RulesDraft, WeeklyHours,
        };
        use chrono::{TimeDelta, Weekday};
        let id = r.id;
        let bad = |what: &str| CorruptRecord {
            id,
            what: what.to_owned(),
        };
        let day = |periods: &[(u16, u16)]| -> Result<DayHours, CorruptRecord> {
            let periods = periods
                .iter()
                .map(|(a, b)| DayPeriod::from_minutes(*a, *b))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| bad("period"))?;
            DayHours::new(periods).map_err(|_| bad("periods overlap"))
        };
        if r.weekly.len() != 7 {
            return Err(bad("weekly hours need seven days"));
        }
        let days = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        let mut weekly = WeeklyHours::default();
        for (d, periods) in days.iter().zip(&r.weekly) {
            weekly = weekly.with_day(*d, day(periods)?);
        }
        let mut overrides = std::collections::BTreeMap::new();
        for (date, periods) in &r.overrides {
            overrides.insert(*date, day(periods)?);
        }
        let rules = AvailabilityRules::new(RulesDraft {
            zone: TimeZoneName::parse(&r.time_zone).map_err(|_| bad("time_zone"))?,
            weekly,
            overrides,
            duration: TimeDelta::minutes(r.duration_minutes),
            interval: TimeDelta::minutes(r.interval_minutes),
            buffer_before: TimeDelta::minutes(r.buffer_before_minutes),
            buffer_after: TimeDelta::minutes(r.buffer_after_minutes),
            minimum_notice: TimeDelta::minutes(r.minimum_notice_minutes),
            max_days_ahead: r
                .max_days_ahead
                .map(u32::try_from)
                .transpose()
                .map_err(|_| bad("max_days_ahead"))?,
        })
        .map_err(|e| bad(&e.to_string()))?;
        let reconfirmation = match (r.reconfirm_ask_minutes, r.reconfirm_cancel_minutes) {
            (Some(ask), Some(cancel)) => Some(
                ReconfirmationPolicy::new(TimeDelta::minutes(ask), TimeDelta::minutes(cancel))
                    .map_err(|_| bad("reconfirmation"))?,
            ),
            (None, None) => None,
            _ => return Err(bad("reconfirmation")),
        };
        // Rows written before the control-character rule are read with those characters
        // dropped, not lost.
        let settings = LinkSettings {
            title: crate::text::scrubbed(&r.title).replace(['\n', '\t'], " "),
            rules,
            reconfirmation,
            create_deal: r.create_deal,
            questions: r
                .questions
                .iter()
                .map(|q| crate::text::scrubbed(q).replace(['\n', '\t'], " "))
                .collect(),
        };
        BookingLink::new(
            LinkId::from_uuid(r.id),
            HostId::from_uuid(r.host_id),
            Slug::parse(&r.slug).map_err(|_| bad("slug"))?,
            settings,
        )
        .and_then(|l| {
            let description = r.description.as_deref().map(crate::text::scrubbed);
            l.with_details(description.as_deref(), r.location.as_deref())
        })
        .map(|l| l.with_workflow(r.workflow))
        .map_err(|e| bad(&e.to_string()))
    }
}
