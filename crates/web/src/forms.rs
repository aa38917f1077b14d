//! Request input: the checks that turn raw fields into domain values, collecting every message
//! for the form. (Input that cannot even be read is refused in `reject`.)

use booking_core::TimeZoneName;
use booking_core::invitee::{Answers, Email, Invitee, PersonName, Phone, Reason};
use chrono::{DateTime, Utc};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// Messages per form field, in the order found.
#[derive(Debug, Default, Clone)]
pub(crate) struct FieldErrors(pub(crate) Vec<(&'static str, String)>);

impl FieldErrors {
    pub(crate) fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// All messages as one sentence list, for the API.
    pub(crate) fn summary(&self) -> String {
        self.0
            .iter()
            .map(|(f, m)| format!("{f}: {m}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Raw invitee fields, as typed.
#[derive(Debug, Clone, Default)]
pub(crate) struct InviteeInput {
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) phone: Option<String>,
    pub(crate) timezone: String,
}

pub(crate) fn parse_invitee(input: &InviteeInput, errors: &mut FieldErrors) -> Option<Invitee> {
    let name = PersonName::parse(&input.name)
        .map_err(|e| errors.add("name", e.to_string()))
        .ok();
    let email = Email::parse(&input.email)
        .map_err(|e| errors.add("email", e.to_string()))
        .ok();
    let phone = match input.phone.as_deref().map(str::trim) {
        None | Some("") => Some(None),
        Some(p) => Phone::parse(p)
            .map(Some)
            .map_err(|e| errors.add("phone", e.to_string()))
            .ok(),
    };
    let zone = TimeZoneName::parse(&input.timezone)
        .map_err(|e| errors.add("timezone", e.to_string()))
        .ok();
    Some(Invitee::new(name?, email?, phone?, zone?))
}

pub(crate) fn parse_answers(pairs: Vec<(String, String)>, errors: &mut FieldErrors) -> Answers {
    Answers::new(pairs).unwrap_or_else(|e| {
        errors.add("answers", e.to_string());
        Answers::default()
    })
}

pub(crate) fn parse_reason(text: Option<&str>, errors: &mut FieldErrors) -> Option<Reason> {
    Reason::parse_optional(text).unwrap_or_else(|e| {
        errors.add("reason", e.to_string());
        None
    })
}

/// An RFC 3339 instant with an offset (`2027-03-01T09:00:00+01:00` or `…Z`).
pub(crate) fn parse_instant(
    text: &str,
    field: &'static str,
    errors: &mut FieldErrors,
) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            errors.add(
                field,
                "expected an RFC 3339 date-time with offset, e.g. 2027-03-01T09:00:00Z",
            )
        })
        .ok()
}

/// An IANA time zone name (e.g. `Europe/Berlin`): the document lists every zone the server
/// knows, so a client (or a test generator) can tell a valid one from a typo.
pub(crate) struct ZoneName;

impl PartialSchema for ZoneName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("An IANA time zone name, e.g. Europe/Berlin."))
            .enum_values(Some(chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name())))
            .into()
    }
}

impl ToSchema for ZoneName {}
