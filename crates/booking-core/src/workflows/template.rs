//! The host's own wording of a workflow step: a subject (mails) and a body with a few named
//! fields in braces, checked when the link is saved so an unknown field never reaches an
//! attendee. Output formats escape the rendered text themselves (the mailer's HTML does).

use chrono::{DateTime, Utc};

use super::InvalidWorkflow;
use crate::ports::NotificationContext;
use crate::text;
use crate::time::TimeZoneName;

/// The fields a template may name, `{attendee_name}` and so on.
pub const FIELDS: [&str; 8] = [
    "attendee_name",
    "start",
    "host_name",
    "title",
    "reschedule_url",
    "cancel_url",
    "reconfirm_url",
    "book_again_url",
];

/// Longest subject, in characters.
pub const SUBJECT_MAX: usize = 200;
/// Longest mail body as written, in characters.
pub const BODY_MAX: usize = 5000;
/// Longest text (SMS) body as written, in characters; fields and links come on top, and the
/// rendered text is kept within two segments by shortening names.
pub const TEXT_BODY_MAX: usize = 200;

/// A checked template: fixed text and named fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    subject: Option<String>,
    body: String,
}

/// A template rendered for one booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The mail's subject (empty for a text).
    pub subject: String,
    /// The body, plain text.
    pub body: String,
}

impl Template {
    /// A mail template: a one-line subject and a body, both with fields.
    ///
    /// # Errors
    /// [`InvalidWorkflow::Subject`], [`InvalidWorkflow::Body`] for empty, over-long texts or
    /// control characters; [`InvalidWorkflow::UnknownField`] naming the first unknown field;
    /// [`InvalidWorkflow::UnclosedField`] for a `{` without its `}`.
    pub fn mail(subject: &str, body: &str) -> Result<Self, InvalidWorkflow> {
        let subject = subject.trim();
        if subject.is_empty()
            || subject.chars().count() > SUBJECT_MAX
            || !text::is_single_line(subject)
        {
            return Err(InvalidWorkflow::Subject);
        }
        check_fields(subject)?;
        let body = checked_body(body, BODY_MAX)?;
        Ok(Self {
            subject: Some(subject.to_owned()),
            body,
        })
    }

    /// A text (SMS) template: a body with fields, at most [`TEXT_BODY_MAX`] characters.
    ///
    /// # Errors
    /// As [`Template::mail`] for the body.
    pub fn text(body: &str) -> Result<Self, InvalidWorkflow> {
        Ok(Self {
            subject: None,
            body: checked_body(body, TEXT_BODY_MAX)?,
        })
    }

    /// The subject as written (mail templates only).
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The body as written.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// Fills the fields from `ctx`; names longer than `name_budget` characters are cut (texts
    /// shorten them to fit their segments).
    pub fn render(&self, ctx: &NotificationContext<'_>, name_budget: usize) -> Rendered {
        let fill = |written: &str| fill(written, ctx, name_budget);
        Rendered {
            subject: self.subject.as_deref().map(fill).unwrap_or_default(),
            body: fill(&self.body),
        }
    }
}

fn checked_body(body: &str, max: usize) -> Result<String, InvalidWorkflow> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > max {
        return Err(InvalidWorkflow::Body);
    }
    let body = text::multiline(body).ok_or(InvalidWorkflow::Body)?;
    check_fields(&body)?;
    Ok(body)
}

/// Every `{name}` of `written` is one of [`FIELDS`].
fn check_fields(written: &str) -> Result<(), InvalidWorkflow> {
    for piece in pieces(written) {
        if let Piece::Field(name) = piece?
            && !FIELDS.contains(&name)
        {
            return Err(InvalidWorkflow::UnknownField(
                name.chars().take(40).collect(),
            ));
        }
    }
    Ok(())
}

enum Piece<'a> {
    Text(&'a str),
    Field(&'a str),
}

/// Splits `written` into fixed text and `{field}` names.
fn pieces(written: &str) -> impl Iterator<Item = Result<Piece<'_>, InvalidWorkflow>> {
    let mut rest = written;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.find('{') {
            Some(0) => match rest.find('}') {
                Some(end) => {
                    let name = rest[1..end].trim();
                    rest = &rest[end + 1..];
                    Some(Ok(Piece::Field(name)))
                }
                None => {
                    rest = "";
                    Some(Err(InvalidWorkflow::UnclosedField))
                }
            },
            Some(open) => {
                let (text, after) = rest.split_at(open);
                rest = after;
                Some(Ok(Piece::Text(text)))
            }
            None => {
                let text = rest;
                rest = "";
                Some(Ok(Piece::Text(text)))
            }
        }
    })
}

fn fill(written: &str, ctx: &NotificationContext<'_>, name_budget: usize) -> String {
    let booking = ctx.booking;
    let mut out = String::with_capacity(written.len() + 64);
    for piece in pieces(written).flatten() {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Field(name) => out.push_str(&match name {
                "attendee_name" => cut(booking.invitee().name().as_str(), name_budget),
                "start" => when(booking.slot().start(), booking.invitee().time_zone()),
                "host_name" => cut(ctx.host.name().as_str(), name_budget),
                "title" => cut(ctx.link.title(), name_budget),
                "reschedule_url" => ctx.reschedule_url(),
                "cancel_url" => ctx.cancel_url(),
                "reconfirm_url" => ctx.reconfirm_url(),
                "book_again_url" => ctx.booking_page_url(),
                // Checked on save; a field unknown here renders as nothing.
                _ => String::new(),
            }),
        }
    }
    out
}

/// `Thu 4 Mar 2027 04:00 EST`.
fn when(instant: DateTime<Utc>, zone: TimeZoneName) -> String {
    instant
        .with_timezone(&zone.tz())
        .format("%a %-d %b %Y %H:%M %Z")
        .to_string()
}

/// At most `max` characters of `text`, marked with `...` when cut (GSM-7 has no ellipsis).
pub(super) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max.saturating_sub(3)).collect();
    format!("{}...", kept.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked_when_written() {
        assert!(Template::mail("See you, {attendee_name}", "At {start}: {reschedule_url}").is_ok());
        assert_eq!(
            Template::mail("Hi {name}", "x"),
            Err(InvalidWorkflow::UnknownField("name".into()))
        );
        assert_eq!(
            Template::text("Book again {book_again_url"),
            Err(InvalidWorkflow::UnclosedField)
        );
        assert_eq!(Template::mail("", "x"), Err(InvalidWorkflow::Subject));
        assert_eq!(Template::mail("a\nb", "x"), Err(InvalidWorkflow::Subject));
        assert_eq!(Template::text(" "), Err(InvalidWorkflow::Body));
        assert_eq!(Template::text(&"a".repeat(201)), Err(InvalidWorkflow::Body));
        assert_eq!(Template::text("bell\u{7}"), Err(InvalidWorkflow::Body));
        assert_eq!(Template::text("a } b").unwrap().body(), "a } b");
    }

    #[test]
    fn names_are_cut_to_the_budget() {
        assert_eq!(cut("Intro", 10), "Intro");
        assert_eq!(cut("A very long title", 10), "A very...");
    }
}
