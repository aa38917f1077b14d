//! The one place where domain errors become HTTP statuses: problem+json (RFC 9457) for the API,
//! and the same classification for pages. Internal causes are logged, never shown.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use booking_core::TokenRefusal;
use booking_core::service::{BookError, SlotsError, TokenActionError};
use serde_json::json;

/// What went wrong, in terms a client can act on.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No such link or booking (unknown and malformed tokens look the same).
    NotFound,
    /// The token no longer works for this.
    Refused(TokenRefusal),
    /// The chosen time is not offered (any more).
    SlotUnavailable,
    /// Rescheduling to the time it already has.
    SameSlot,
    /// Input that cannot even be read (malformed JSON, wrong types).
    Malformed(String),
    /// Input that does not make sense, with a message fit to show.
    Invalid(String),
    /// The host's calendar could not be read, so no slot can be promised.
    CalendarUnavailable,
    /// A bug or an outage; the cause has been logged.
    Internal,
}

impl Failure {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::Refused(TokenRefusal::Expired) => StatusCode::GONE,
            Self::Refused(_) | Self::SlotUnavailable => StatusCode::CONFLICT,
            Self::SameSlot | Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::CalendarUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable, machine-readable name (the problem `type` ends with it).
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not-found",
            Self::Refused(TokenRefusal::AlreadyRescheduled) => "already-rescheduled",
            Self::Refused(TokenRefusal::Cancelled) => "already-cancelled",
            Self::Refused(TokenRefusal::Expired) => "meeting-started",
            Self::SlotUnavailable => "slot-unavailable",
            Self::SameSlot => "same-slot",
            Self::Malformed(_) => "malformed-request",
            Self::Invalid(_) => "invalid-input",
            Self::CalendarUnavailable => "calendar-unavailable",
            Self::Internal => "internal",
        }
    }

    pub(crate) fn title(&self) -> &'static str {
        match self {
            Self::NotFound => "Not found",
            Self::Refused(TokenRefusal::AlreadyRescheduled) => "Booking already rescheduled",
            Self::Refused(TokenRefusal::Cancelled) => "Booking already cancelled",
            Self::Refused(TokenRefusal::Expired) => "The meeting has already started",
            Self::SlotUnavailable => "That time is no longer available",
            Self::SameSlot => "The booking is already at that time",
            Self::Malformed(_) => "Malformed request",
            Self::Invalid(_) => "Invalid input",
            Self::CalendarUnavailable => "Availability cannot be checked right now",
            Self::Internal => "Something went wrong on our side",
        }
    }

    pub(crate) fn detail(&self) -> String {
        match self {
            Self::NotFound => "There is nothing here. Check that the link was copied completely.".into(),
            Self::Refused(TokenRefusal::AlreadyRescheduled) => {
                "This booking was moved to another time. The new reschedule and cancel links were sent to the attendee by email.".into()
            }
            Self::Refused(TokenRefusal::Cancelled) => "This booking was cancelled.".into(),
            Self::Refused(TokenRefusal::Expired) => "Bookings can be changed only until the meeting starts.".into(),
            Self::SlotUnavailable => "Someone else may have just taken it. Please pick another time.".into(),
            Self::SameSlot => "Pick a different time to reschedule.".into(),
            Self::Malformed(message) | Self::Invalid(message) => message.clone(),
            Self::CalendarUnavailable => "The host's calendar could not be read. Please try again in a few minutes.".into(),
            Self::Internal => "Please try again. If it keeps happening, contact the host.".into(),
        }
    }

    /// An RFC 9457 problem document.
    pub(crate) fn problem(&self) -> HttpResponse {
        let body = json!({
            "type": format!("https://slotkeeper.dev/problems/{}", self.code()),
            "title": self.title(),
            "status": self.status().as_u16(),
            "detail": self.detail(),
        });
        HttpResponse::build(self.status())
            .content_type("application/problem+json")
            .body(body.to_string())
    }

    fn internal(error: &dyn std::error::Error) -> Self {
        tracing::error!(error = %chain(error), "request failed");
        Self::Internal
    }
}

/// "outer: inner: innermost", for logs.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<SlotsError> for Failure {
    fn from(e: SlotsError) -> Self {
        match e {
            SlotsError::LinkNotFound => Self::NotFound,
            SlotsError::WindowTooLong => Self::Invalid(e.to_string()),
            SlotsError::Calendar(ref c) => {
                tracing::warn!(error = %c, "calendar unavailable");
                Self::CalendarUnavailable
            }
            SlotsError::Store(ref s) => Self::internal(s),
        }
    }
}

impl From<BookError> for Failure {
    fn from(e: BookError) -> Self {
        match e {
            BookError::LinkNotFound => Self::NotFound,
            BookError::SlotUnavailable => Self::SlotUnavailable,
            BookError::Calendar(ref c) => {
                tracing::warn!(error = %c, "calendar unavailable");
                Self::CalendarUnavailable
            }
            BookError::Store(ref s) => Self::internal(s),
        }
    }
}

impl From<TokenActionError> for Failure {
    fn from(e: TokenActionError) -> Self {
        match e {
            TokenActionError::NotFound => Self::NotFound,
            TokenActionError::Refused(r) => Self::Refused(r),
            TokenActionError::SlotUnavailable => Self::SlotUnavailable,
            TokenActionError::SameSlot => Self::SameSlot,
            TokenActionError::Calendar(ref c) => {
                tracing::warn!(error = %c, "calendar unavailable");
                Self::CalendarUnavailable
            }
            TokenActionError::Store(ref s) => Self::internal(s),
        }
    }
}

impl From<booking_core::ports::StoreError> for Failure {
    fn from(e: booking_core::ports::StoreError) -> Self {
        Self::internal(&e)
    }
}
