//! Row shapes read by both stores (`#[derive(FromRow)]`, generic over the driver) and the
//! values they bind when writing, with the mapping to and from the domain's records.

use std::collections::BTreeMap;

use booking_core::booking::{Booking, Write};
use booking_core::effects::Effect;
use booking_core::ids::{BookingId, ChainId, HostId};
use booking_core::invitee::{Email, PersonName};
use booking_core::link::{BookingLink, Host};
use booking_core::ports::{Change, DeadEntry, OutboxEntry, PendingEntry, StoreError};
use booking_core::record::{BookingRecord, LinkRecord};
use booking_core::time::TimeZoneName;
use booking_core::workflows::{StepText, Workflow};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::seal::TokenSeal;

/// A row of `scheduling_calendar_events` as read (see [`crate::booking_columns`]).
#[derive(Debug, Clone, sqlx::FromRow)]
#[allow(missing_docs)]
pub struct BookingRow {
    pub id: Uuid,
    pub chain_id: Uuid,
    pub host_id: Uuid,
    pub link_id: Uuid,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub blocked_start: DateTime<Utc>,
    pub blocked_end: DateTime<Utc>,
    pub status: String,
    pub status_changed_at: Option<DateTime<Utc>>,
    pub next_id: Option<Uuid>,
    pub cancelled_by: Option<String>,
    pub cancel_reason: Option<String>,
    pub previous_id: Option<Uuid>,
    pub rescheduled_by: Option<String>,
    pub reschedule_reason: Option<String>,
    pub token_sealed: Vec<u8>,
    pub invitee_name: String,
    pub invitee_email: String,
    pub invitee_phone: Option<String>,
    pub invitee_time_zone: String,
    pub answers: String,
    pub tracking: String,
    pub provider: Option<String>,
    pub provider_event_id: Option<String>,
    pub reconfirm_by: Option<DateTime<Utc>>,
    pub reconfirmed_at: Option<DateTime<Utc>>,
    pub ics_sequence: i64,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub reconfirm_requested_at: Option<DateTime<Utc>>,
}

fn corrupt(id: Uuid, what: &str) -> StoreError {
    StoreError::msg(format!("stored row {id} is invalid: {what}"))
}

impl BookingRow {
    /// The domain booking, with its token unsealed.
    ///
    /// # Errors
    /// [`StoreError`] when the token does not open or a column is invalid.
    pub fn into_booking(self, seal: &TokenSeal) -> Result<Booking, StoreError> {
        let id = self.id;
        let token = seal
            .open(id, &self.token_sealed)
            .map_err(|e| StoreError::new(format!("booking {id}: token"), e))?;
        let answers: Vec<(String, String)> = serde_json::from_str(&self.answers)
            .map_err(|e| StoreError::new(format!("booking {id}: answers"), e))?;
        let tracking: BTreeMap<String, String> = serde_json::from_str(&self.tracking)
            .map_err(|e| StoreError::new(format!("booking {id}: tracking"), e))?;
        let record = BookingRecord {
            id,
            chain_id: self.chain_id,
            host_id: self.host_id,
            link_id: self.link_id,
            start_at: self.start_at,
            end_at: self.end_at,
            blocked_start: self.blocked_start,
            blocked_end: self.blocked_end,
            status: self.status,
            status_changed_at: self.status_changed_at,
            next_id: self.next_id,
            cancelled_by: self.cancelled_by,
            cancel_reason: self.cancel_reason,
            previous_id: self.previous_id,
            rescheduled_by: self.rescheduled_by,
            reschedule_reason: self.reschedule_reason,
            token: token.expose().to_owned(),
            invitee_name: self.invitee_name,
            invitee_email: self.invitee_email,
            invitee_phone: self.invitee_phone,
            invitee_time_zone: self.invitee_time_zone,
            answers,
            tracking: tracking.into_iter().collect(),
            provider: self.provider,
            provider_event_id: self.provider_event_id,
            reconfirm_by: self.reconfirm_by,
            reconfirm_requested_at: self.reconfirm_requested_at,
            reconfirmed_at: self.reconfirmed_at,
            ics_sequence: self.ics_sequence,
            version: self.version,
            created_at: self.created_at,
        };
        Booking::from_record(record).map_err(|e| StoreError::new("corrupt booking row", e))
    }
}

/// A booking ready to bind: its record, the token's lookup hash and sealed copy (never the
/// token itself), and the JSON columns.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct EncodedBooking {
    pub record: BookingRecord,
    pub token_hash: Vec<u8>,
    pub token_sealed: Vec<u8>,
    pub answers: String,
    pub tracking: String,
}

/// Encodes a booking for writing.
///
/// # Errors
/// [`StoreError`] when the token cannot be sealed.
pub fn encode_booking(seal: &TokenSeal, booking: &Booking) -> Result<EncodedBooking, StoreError> {
    let mut record = booking.to_record();
    let token_sealed = seal
        .seal(record.id, booking.token())
        .map_err(|e| StoreError::new("sealing a token", e))?;
    // The plaintext must not travel further than this function.
    record.token.clear();
    let tracking: BTreeMap<&str, &str> = record
        .tracking
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    Ok(EncodedBooking {
        token_hash: booking.token().lookup_hash().to_vec(),
        token_sealed,
        answers: json(&record.answers),
        tracking: json(&tracking),
        record,
    })
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // Serialising strings, numbers, tuples and maps with string keys cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// A row of `hosts`.
#[derive(Debug, Clone, sqlx::FromRow)]
#[allow(missing_docs)]
pub struct HostRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub time_zone: String,
}

impl HostRow {
    /// The domain host.
    ///
    /// # Errors
    /// [`StoreError`] for an invalid column.
    pub fn into_host(self) -> Result<Host, StoreError> {
        let id = self.id;
        Ok(Host::new(
            HostId::from_uuid(id),
            PersonName::parse(&self.name).map_err(|_| corrupt(id, "host name"))?,
            Email::from_stored(&self.email).map_err(|_| corrupt(id, "host email"))?,
            TimeZoneName::parse(&self.time_zone).map_err(|_| corrupt(id, "host time zone"))?,
        ))
    }
}

/// A row of `booking_links` as read (see [`crate::link_columns`]).
#[derive(Debug, Clone, sqlx::FromRow)]
#[allow(missing_docs)]
pub struct LinkRow {
    pub id: Uuid,
    pub host_id: Uuid,
    pub slug: String,
    pub title: String,
    pub time_zone: String,
    pub weekly_hours: String,
    pub date_overrides: String,
    pub duration_minutes: i64,
    pub interval_minutes: i64,
    pub buffer_before_minutes: i64,
    pub buffer_after_minutes: i64,
    pub minimum_notice_minutes: i64,
    pub max_days_ahead: Option<i64>,
    pub reconfirm_ask_minutes: Option<i64>,
    pub reconfirm_cancel_minutes: Option<i64>,
    pub create_deal: bool,
    pub questions: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub workflow: Option<String>,
}

type Periods = Vec<(u16, u16)>;

/// The `workflow` column of `booking_links`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct WorkflowColumn {
    steps: Vec<StepColumn>,
    reconfirm_by_email: bool,
    reconfirm_by_text: bool,
}

/// One step in the `workflow` column ([`StepText`]).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct StepColumn {
    trigger: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    minutes: Option<i64>,
    action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<String>,
}

fn encode_workflow(workflow: &Workflow) -> String {
    let steps = workflow
        .steps()
        .iter()
        .map(|s| {
            let t = s.to_text();
            StepColumn {
                trigger: t.trigger.to_owned(),
                minutes: t.minutes,
                action: t.action.to_owned(),
                subject: t.subject.map(str::to_owned),
                body: t.body.map(str::to_owned),
            }
        })
        .collect();
    json(&WorkflowColumn {
        steps,
        reconfirm_by_email: workflow.reconfirm_by_email(),
        reconfirm_by_text: workflow.reconfirm_by_text(),
    })
}

fn decode_workflow(id: Uuid, text: &str) -> Result<Workflow, StoreError> {
    let column: WorkflowColumn = serde_json::from_str(text).map_err(|_| corrupt(id, "workflow"))?;
    let steps: Vec<StepText<'_>> = column
        .steps
        .iter()
        .map(|s| StepText {
            trigger: &s.trigger,
            minutes: s.minutes,
            action: &s.action,
            subject: s.subject.as_deref(),
            body: s.body.as_deref(),
        })
        .collect();
    Workflow::parse(&steps, column.reconfirm_by_email, column.reconfirm_by_text)
        .map_err(|_| corrupt(id, "workflow"))
}

impl LinkRow {
    /// The domain link.
    ///
    /// # Errors
    /// [`StoreError`] for an invalid column.
    pub fn into_link(self) -> Result<BookingLink, StoreError> {
        let id = self.id;
        let weekly: Vec<Periods> =
            serde_json::from_str(&self.weekly_hours).map_err(|_| corrupt(id, "weekly_hours"))?;
        let by_date: BTreeMap<String, Periods> = serde_json::from_str(&self.date_overrides)
            .map_err(|_| corrupt(id, "date_overrides"))?;
        let mut overrides = Vec::with_capacity(by_date.len());
        for (date, periods) in by_date {
            let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                .map_err(|_| corrupt(id, "date_overrides"))?;
            overrides.push((date, periods));
        }
        let questions: Vec<String> =
            serde_json::from_str(&self.questions).map_err(|_| corrupt(id, "questions"))?;
        let workflow = self
            .workflow
            .as_deref()
            .map(|text| decode_workflow(id, text))
            .transpose()?;
        BookingLink::from_record(LinkRecord {
            id,
            host_id: self.host_id,
            slug: self.slug,
            title: self.title,
            time_zone: self.time_zone,
            weekly,
            overrides,
            duration_minutes: self.duration_minutes,
            interval_minutes: self.interval_minutes,
            buffer_before_minutes: self.buffer_before_minutes,
            buffer_after_minutes: self.buffer_after_minutes,
            minimum_notice_minutes: self.minimum_notice_minutes,
            max_days_ahead: self.max_days_ahead,
            reconfirm_ask_minutes: self.reconfirm_ask_minutes,
            reconfirm_cancel_minutes: self.reconfirm_cancel_minutes,
            create_deal: self.create_deal,
            questions,
            description: self.description,
            location: self.location,
            workflow,
        })
        .map_err(|e| StoreError::new("corrupt link row", e))
    }
}

/// A link ready to bind: its record and the JSON columns.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct EncodedLink {
    pub record: LinkRecord,
    pub weekly_hours: String,
    pub date_overrides: String,
    pub questions: String,
    pub workflow: Option<String>,
}

/// Encodes a link for writing. Weekly hours are seven lists of `[start_minute, end_minute]`
/// (Monday first); overrides an object keyed by `YYYY-MM-DD`; questions a list of strings.
pub fn encode_link(link: &BookingLink) -> EncodedLink {
    let record = link.to_record();
    let overrides: BTreeMap<String, &Periods> = record
        .overrides
        .iter()
        .map(|(d, p)| (d.format("%Y-%m-%d").to_string(), p))
        .collect();
    EncodedLink {
        weekly_hours: json(&record.weekly),
        date_overrides: json(&overrides),
        questions: json(&record.questions),
        workflow: record.workflow.as_ref().map(encode_workflow),
        record,
    }
}

/// An outbox row as handed to a worker (see [`crate::outbox_columns`]).
#[derive(Debug, Clone, sqlx::FromRow)]
#[allow(missing_docs)]
pub struct OutboxRow {
    pub key: String,
    pub effect: String,
    pub booking_id: Uuid,
    pub chain_id: Option<Uuid>,
    pub attempts: i64,
    pub due_at: DateTime<Utc>,
}

impl OutboxRow {
    /// The domain entry.
    ///
    /// # Errors
    /// [`StoreError`] for an unknown effect code.
    pub fn into_entry(self) -> Result<OutboxEntry, StoreError> {
        let booking = BookingId::from_uuid(self.booking_id);
        let chain = ChainId::from_uuid(self.chain_id.unwrap_or(self.booking_id));
        let effect = Effect::from_code(&self.effect, booking, chain).ok_or_else(|| {
            StoreError::msg(format!(
                "outbox entry {} has unknown effect {:?}",
                self.key, self.effect
            ))
        })?;
        Ok(OutboxEntry {
            key: self.key,
            effect,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            due_at: self.due_at,
        })
    }
}

/// An outbox row still to be delivered, listed for the host (its code is kept as stored, so
/// codes this build does not know are shown rather than refused).
#[derive(Debug, Clone, sqlx::FromRow)]
#[allow(missing_docs)]
pub struct PendingRow {
    pub key: String,
    pub effect: String,
    pub booking_id: Uuid,
    pub attempts: i64,
    pub due_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub leased_until: Option<DateTime<Utc>>,
}

impl PendingRow {
    /// The domain entry.
    pub fn into_pending(self) -> PendingEntry {
        PendingEntry {
            key: self.key,
            code: self.effect,
            booking: BookingId::from_uuid(self.booking_id),
            due_at: self.due_at,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            last_error: self.last_error,
            leased_until: self.leased_until,
        }
    }
}

/// A dead outbox row.
#[derive(Debug, Clone, sqlx::FromRow)]
#[allow(missing_docs)]
pub struct DeadRow {
    #[sqlx(flatten)]
    pub entry: OutboxRow,
    pub last_error: Option<String>,
    pub dead_at: DateTime<Utc>,
}

impl DeadRow {
    /// The domain entry.
    ///
    /// # Errors
    /// [`StoreError`] for an unknown effect code.
    pub fn into_dead(self) -> Result<DeadEntry, StoreError> {
        Ok(DeadEntry {
            entry: self.entry.into_entry()?,
            last_error: self.last_error.unwrap_or_default(),
            died_at: self.dead_at,
        })
    }
}

/// The chain an effect's booking belongs to, for the outbox's `chain_id` column: a deal names
/// it; otherwise it is the chain of the written row the effect is about, if the change has it.
pub fn effect_chain(effect: &Effect, change: &Change) -> Option<Uuid> {
    if let Effect::CreateDeal { chain, .. } = effect {
        return Some(chain.as_uuid());
    }
    change
        .writes
        .iter()
        .map(Write::booking)
        .find(|b| b.id() == effect.booking())
        .map(|b| b.chain().as_uuid())
}
