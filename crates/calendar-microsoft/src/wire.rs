//! The parts of Graph's JSON this adapter writes and reads (graph-rs-sdk hands out untyped
//! JSON): events, getSchedule answers, subscriptions, delta pages and error bodies.

use booking_core::calendar::{CalendarEvent, ProviderError, RemoteEventState};
use booking_core::time::TimeRange;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

/// An instant as Graph's `dateTimeTimeZone.dateTime` (no offset; the zone travels beside it).
pub fn graph_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Graph's `dateTimeTimeZone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DateTimeTimeZone {
    /// Local time in `time_zone`, e.g. `2026-12-01T09:00:00.0000000`.
    pub date_time: String,
    /// The zone; Slotkeeper writes and asks for `UTC`.
    pub time_zone: String,
}

impl DateTimeTimeZone {
    /// `at` in UTC.
    pub fn utc(at: DateTime<Utc>) -> Self {
        Self {
            date_time: graph_time(at),
            time_zone: "UTC".to_owned(),
        }
    }

    /// The instant, when the zone is UTC (what the `Prefer: outlook.timezone` header asks for).
    ///
    /// # Errors
    /// [`ProviderError::Permanent`] for another zone or an unreadable time.
    pub fn instant(&self) -> Result<DateTime<Utc>, ProviderError> {
        let zone = self.time_zone.to_ascii_lowercase();
        if !matches!(zone.as_str(), "utc" | "etc/utc" | "tzone://microsoft/utc") {
            return Err(ProviderError::Permanent(format!(
                "Graph answered in time zone {:?} instead of UTC",
                self.time_zone
            )));
        }
        let text = self.date_time.trim_end_matches('Z');
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .map(|local| local.and_utc())
            .map_err(|_| ProviderError::Permanent(format!("unreadable time {:?}", self.date_time)))
    }
}

/// An event's body text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemBody {
    /// `html` or `text`.
    pub content_type: String,
    /// The body.
    pub content: String,
}

/// A location by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// What the calendar shows.
    pub display_name: String,
}

/// The event Slotkeeper writes (`POST /me/events`, `PATCH /me/events/{id}`). It has no
/// `attendees`: Exchange mails every attendee an invitation, and the attendee already gets
/// Slotkeeper's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventBody {
    /// Title.
    pub subject: String,
    /// HTML body naming the attendee.
    pub body: ItemBody,
    /// Start, UTC.
    pub start: DateTimeTimeZone,
    /// End, UTC.
    pub end: DateTimeTimeZone,
    /// Where, if anywhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Shown as busy, like any meeting.
    pub show_as: &'static str,
    /// Idempotency key of a create: Graph answers a repeated create with the same
    /// `transactionId` with the event it already made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
}

impl EventBody {
    /// The Graph event for `event`, without a transaction id.
    pub fn of(event: &CalendarEvent) -> Self {
        Self {
            subject: event.title.clone(),
            body: ItemBody {
                content_type: "html".to_owned(),
                content: html_body(event),
            },
            start: DateTimeTimeZone::utc(event.when.start()),
            end: DateTimeTimeZone::utc(event.when.end()),
            location: event
                .location
                .as_ref()
                .filter(|l| !l.trim().is_empty())
                .map(|l| Location {
                    display_name: l.clone(),
                }),
            show_as: "busy",
            transaction_id: None,
        }
    }
}

/// The description and the attendee, escaped, line breaks kept.
fn html_body(event: &CalendarEvent) -> String {
    let mut html = String::new();
    for line in event.description.lines() {
        html.push_str(&escape_html(line));
        html.push_str("<br>");
    }
    if !event.description.is_empty() {
        html.push_str("<br>");
    }
    html.push_str(&format!(
        "Attendee: {} &lt;{}&gt; (time zone {})",
        escape_html(event.attendee_name.as_str()),
        escape_html(event.attendee_email.as_str()),
        escape_html(event.attendee_time_zone.name()),
    ));
    html
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What `@removed` says about a delta entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Removed {
    /// `deleted`, or `changed` (moved out of the window or the view: maybe still there).
    #[serde(default)]
    pub reason: String,
}

/// An event as Graph answers it (only what the adapter reads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphEvent {
    /// Graph's event id.
    pub id: String,
    /// The organizer cancelled the meeting.
    #[serde(default)]
    pub is_cancelled: bool,
    /// An all-day event has no usable times.
    #[serde(default)]
    pub is_all_day: bool,
    /// Start.
    pub start: Option<DateTimeTimeZone>,
    /// End.
    pub end: Option<DateTimeTimeZone>,
    /// Present on delta entries for events that left the view.
    #[serde(rename = "@removed")]
    pub removed: Option<Removed>,
}

impl GraphEvent {
    /// The port's view of this event as the entry reads (a removal of any kind reads as
    /// deleted; the adapter double-checks removals that are not `deleted`).
    pub fn state(&self) -> RemoteEventState {
        if self.removed.is_some() || self.is_cancelled {
            return RemoteEventState::Deleted;
        }
        if self.is_all_day {
            return RemoteEventState::Untimed;
        }
        let (Some(start), Some(end)) = (&self.start, &self.end) else {
            return RemoteEventState::Untimed;
        };
        match (start.instant(), end.instant()) {
            (Ok(start), Ok(end)) => TimeRange::new(start, end)
                .map_or(RemoteEventState::Untimed, RemoteEventState::Timed),
            _ => RemoteEventState::Untimed,
        }
    }
}

/// A list of events (`GET /me/events?$filter=…`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EventList {
    /// The events on this page.
    #[serde(default)]
    pub value: Vec<EventId>,
}

/// An event reduced to its id (`$select=id`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EventId {
    /// Graph's event id.
    pub id: String,
}

/// `GET /me`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// The primary SMTP address, when the account has a mailbox.
    pub mail: Option<String>,
    /// The sign-in name.
    pub user_principal_name: Option<String>,
}

/// `POST /me/calendar/getSchedule`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ScheduleAnswer {
    /// One entry per asked schedule.
    pub value: Vec<ScheduleInformation>,
}

/// One schedule's answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleInformation {
    /// The address asked for.
    pub schedule_id: String,
    /// The items in the asked window.
    #[serde(default)]
    pub schedule_items: Vec<ScheduleItem>,
    /// Why this schedule could not be read.
    pub error: Option<FreeBusyError>,
}

/// A per-schedule error of getSchedule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreeBusyError {
    /// What went wrong.
    #[serde(default)]
    pub message: String,
    /// Exchange's code, e.g. `ErrorMailRecipientNotFound`.
    #[serde(default)]
    pub response_code: String,
}

/// One item on a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleItem {
    /// `free`, `tentative`, `busy`, `oof`, `workingElsewhere` or `unknown`.
    pub status: String,
    /// Start.
    pub start: DateTimeTimeZone,
    /// End.
    pub end: DateTimeTimeZone,
}

impl ScheduleItem {
    /// Whether the host counts as unavailable during this item.
    pub fn blocks_time(&self) -> bool {
        matches!(
            self.status.to_ascii_lowercase().as_str(),
            "busy" | "tentative" | "oof" | "workingelsewhere"
        )
    }

    /// The item's time range.
    ///
    /// # Errors
    /// [`ProviderError::Permanent`] for unreadable or empty times.
    pub fn range(&self) -> Result<TimeRange, ProviderError> {
        TimeRange::new(self.start.instant()?, self.end.instant()?)
            .map_err(|_| ProviderError::Permanent("an empty schedule item".into()))
    }
}

/// A subscription as Graph granted it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Graph's subscription id.
    pub id: String,
    /// The granted expiry.
    pub expiration_date_time: DateTime<Utc>,
}

/// One page of a delta query.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeltaPage {
    /// Changed events (or every event, on the first round).
    #[serde(default)]
    pub value: Vec<GraphEvent>,
    /// The next page, if any.
    #[serde(rename = "@odata.nextLink")]
    pub next_link: Option<String>,
    /// On the last page: where the next round starts.
    #[serde(rename = "@odata.deltaLink")]
    pub delta_link: Option<String>,
}

/// Graph's error body: `{"error": {"code": …, "message": …}}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GraphErrorBody {
    /// The error.
    pub error: GraphError,
}

/// The inner error object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GraphError {
    /// Machine-readable code, e.g. `ErrorItemNotFound`.
    #[serde(default)]
    pub code: String,
    /// Human-readable text.
    #[serde(default)]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_graphs_seven_digit_fractions_in_utc_only() {
        let t = DateTimeTimeZone {
            date_time: "2026-12-01T09:30:00.0000000".into(),
            time_zone: "UTC".into(),
        };
        assert_eq!(
            t.instant().ok().map(|t| t.to_rfc3339()),
            Some("2026-12-01T09:30:00+00:00".into())
        );
        let paris = DateTimeTimeZone {
            time_zone: "Europe/Paris".into(),
            ..t
        };
        assert!(paris.instant().is_err());
    }

    #[test]
    fn html_escaping_covers_markup_characters() {
        assert_eq!(
            escape_html(r#"<b>"A" & 'B'</b>"#),
            "&lt;b&gt;&quot;A&quot; &amp; &#39;B&#39;&lt;/b&gt;"
        );
    }

    #[test]
    fn removed_and_cancelled_events_are_deleted() {
        let json = r#"{"id":"a","@removed":{"reason":"deleted"}}"#;
        let event: GraphEvent = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(event.state(), RemoteEventState::Deleted);
        let json = r#"{"id":"b","isCancelled":true,"start":{"dateTime":"2026-12-01T09:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-12-01T10:00:00","timeZone":"UTC"}}"#;
        let event: GraphEvent = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(event.state(), RemoteEventState::Deleted);
        let json = r#"{"id":"c","isAllDay":true,"start":{"dateTime":"2026-12-01T00:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-12-02T00:00:00","timeZone":"UTC"}}"#;
        let event: GraphEvent = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(event.state(), RemoteEventState::Untimed);
    }
}
