//! Turns one email effect into a MIME message: HTML and plain text, plus the invite.

use std::fmt::Write as _;

use booking_core::effects::{EmailKind, Recipient};
use booking_core::workflows::Rendered;
use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use maud::{DOCTYPE, Markup, html};
use sha2::{Digest, Sha256};

use crate::MailError;
use crate::text::{Letter, Place, letter};
use booking_core::ports::NotificationContext;
use invite_ics::{InviteMethod, render_invite};

/// `<{sha256-hex of the key}@slotkeeper>`: the same outbox row always yields the same id, and
/// the id reveals nothing about the booking.
pub fn message_id(idempotency_key: &str) -> String {
    let digest = Sha256::digest(idempotency_key.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    format!("<{hex}@slotkeeper>")
}

/// Renders the `kind` mail for `to` about `ctx.booking`, from `from`.
///
/// Booked and rescheduled mails carry a `METHOD:REQUEST` invite, cancellations a
/// `METHOD:CANCEL` one — each both as a `text/calendar` alternative (what calendar-aware
/// clients act on) and as an `invite.ics` attachment (what the rest offer to import). The
/// reconfirmation request carries none.
///
/// # Errors
/// [`MailError::Address`] when a stored address is not acceptable to lettre,
/// [`MailError::Build`] when the message cannot be assembled.
pub fn compose(
    kind: EmailKind,
    to: Recipient,
    ctx: &NotificationContext<'_>,
    from: &Mailbox,
    idempotency_key: &str,
) -> Result<Message, MailError> {
    let (recipient, reply_to) = addresses(to, ctx)?;
    let letter = letter(kind, to, ctx);
    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(plain_text(&letter)))
        .singlepart(SinglePart::html(html_page(&letter).into_string()));

    let method = match kind {
        EmailKind::Booked | EmailKind::Rescheduled => Some(InviteMethod::Request),
        EmailKind::Cancelled | EmailKind::CancelledNotReconfirmed => Some(InviteMethod::Cancel),
        EmailKind::ReconfirmationRequest | EmailKind::RescheduleLinks | EmailKind::Reminder => None,
    };

    let builder = Message::builder()
        .from(from.clone())
        .reply_to(reply_to)
        .to(recipient)
        .subject(letter.subject.clone())
        .message_id(Some(message_id(idempotency_key)));

    let message =
        match method {
            None => builder.multipart(alternative)?,
            Some(method) => {
                let ics = render_invite(ctx, method);
                let calendar_type = content_type(&format!(
                    "text/calendar; method={}; charset=UTF-8",
                    method.name()
                ));
                let attachment_type = content_type("application/ics");
                let alternative = alternative.singlepart(
                    SinglePart::builder()
                        .header(calendar_type)
                        .body(ics.clone()),
                );
                builder.multipart(MultiPart::mixed().multipart(alternative).singlepart(
                    Attachment::new("invite.ics".to_owned()).body(ics, attachment_type),
                ))?
            }
        };
    Ok(message)
}

/// Renders a message the host wrote (a workflow step's template, already filled) for `to`
/// about `ctx.booking`: its subject, and its body as plain text and as HTML (escaped, line
/// breaks kept), without an invite.
///
/// # Errors
/// As [`compose`].
pub fn compose_written(
    to: Recipient,
    ctx: &NotificationContext<'_>,
    message: &Rendered,
    from: &Mailbox,
    idempotency_key: &str,
) -> Result<Message, MailError> {
    let (recipient, reply_to) = addresses(to, ctx)?;
    let plain = format!("{}\n\n-- \nSent by Slotkeeper\n", message.body);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (message.subject) }
            }
            body style="font-family: sans-serif; line-height: 1.5; color: #1f2933; max-width: 40em;" {
                @for paragraph in message.body.split("\n\n") {
                    p style="white-space: pre-wrap;" { (paragraph) }
                }
                p style="color: #52606d; font-size: 0.8em;" { "Sent by Slotkeeper" }
            }
        }
    };
    Ok(Message::builder()
        .from(from.clone())
        .reply_to(reply_to)
        .to(recipient)
        .subject(message.subject.clone())
        .message_id(Some(message_id(idempotency_key)))
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::plain(plain))
                .singlepart(SinglePart::html(page.into_string())),
        )?)
}

/// The recipient and the reply-to of a mail for `to`: the other party answers.
fn addresses(
    to: Recipient,
    ctx: &NotificationContext<'_>,
) -> Result<(Mailbox, Mailbox), MailError> {
    let invitee = ctx.booking.invitee();
    let attendee = || mailbox(invitee.name().as_str(), invitee.email().as_str());
    let host = || mailbox(ctx.host.name().as_str(), ctx.host.email().as_str());
    Ok(match to {
        Recipient::Attendee => (attendee()?, host()?),
        Recipient::Host => (host()?, attendee()?),
    })
}

/// Parses one of the constant content types above; they are covered by the tests.
fn content_type(text: &str) -> ContentType {
    ContentType::parse(text).expect("constant content types are valid")
}

fn mailbox(name: &str, email: &str) -> Result<Mailbox, MailError> {
    let address = email
        .parse()
        .map_err(|_| MailError::Address(email.to_owned()))?;
    Ok(Mailbox::new(Some(name.to_owned()), address))
}

fn plain_text(letter: &Letter) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}\n\n{}\n", letter.greeting, letter.lead);
    for (label, value) in &letter.facts {
        let _ = writeln!(out, "{label}: {value}");
    }
    match &letter.place {
        Some(Place::Join(url)) => {
            let _ = writeln!(out, "Join: {url}");
        }
        Some(Place::Text(place)) => {
            let _ = writeln!(out, "Where: {place}");
        }
        None => {}
    }
    if let Some(about) = &letter.about {
        let _ = writeln!(out, "\nAbout this meeting\n{about}");
    }
    if !letter.answers.is_empty() {
        out.push_str("\nAnswers\n");
        for (question, answer) in &letter.answers {
            let _ = writeln!(out, "{question}: {answer}");
        }
    }
    if !letter.actions.is_empty() {
        out.push('\n');
        for (label, url) in &letter.actions {
            let _ = writeln!(out, "{label}: {url}");
        }
    }
    if !letter.footer.is_empty() {
        let _ = writeln!(out, "\n{}", letter.footer);
    }
    out.push_str("\n-- \nSent by Slotkeeper\n");
    out
}

fn html_page(letter: &Letter) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (letter.subject) }
            }
            body style="font-family: sans-serif; line-height: 1.5; color: #1f2933; max-width: 40em;" {
                p { (letter.greeting) }
                p { (letter.lead) }
                table style="border-collapse: collapse;" {
                    @for (label, value) in &letter.facts {
                        tr {
                            th style="text-align: left; vertical-align: top; padding: 0.2em 1em 0.2em 0;" { (label) }
                            td style="white-space: pre-wrap; padding: 0.2em 0;" { (value) }
                        }
                    }
                    @if let Some(place) = &letter.place {
                        tr {
                            th style="text-align: left; vertical-align: top; padding: 0.2em 1em 0.2em 0;" { "Where" }
                            td style="white-space: pre-wrap; padding: 0.2em 0;" {
                                @match place {
                                    Place::Join(url) => {
                                        a href=(url) style="color: #1f2933; font-weight: bold;" { "Join" }
                                        " " span style="color: #52606d;" { (url) }
                                    }
                                    Place::Text(text) => (text),
                                }
                            }
                        }
                    }
                }
                @if let Some(about) = &letter.about {
                    h2 style="font-size: 1em; margin-top: 1.5em;" { "About this meeting" }
                    p style="white-space: pre-wrap;" { (about) }
                }
                @if !letter.answers.is_empty() {
                    h2 style="font-size: 1em; margin-top: 1.5em;" { "Answers" }
                    dl {
                        @for (question, answer) in &letter.answers {
                            dt style="font-weight: bold;" { (question) }
                            dd style="white-space: pre-wrap; margin: 0 0 0.5em 0;" { (answer) }
                        }
                    }
                }
                @if !letter.actions.is_empty() {
                    p style="margin-top: 1.5em;" {
                        @for (label, url) in &letter.actions {
                            a href=(url) style="display: inline-block; margin: 0 1em 0.5em 0; padding: 0.4em 0.9em; border: 1px solid #1f2933; border-radius: 4px; color: #1f2933; text-decoration: none;" { (label) }
                            " "
                        }
                    }
                }
                @if !letter.footer.is_empty() {
                    p style="color: #52606d; font-size: 0.9em;" { (letter.footer) }
                }
                p style="color: #52606d; font-size: 0.8em;" { "Sent by Slotkeeper" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use booking_core::availability::{AvailabilityRules, DayPeriod, RulesDraft};
    use booking_core::booking::{Booking, NewBooking};
    use booking_core::invitee::{Answers, Email, Invitee, PersonName, Tracking};
    use booking_core::link::{BookingLink, Host, LinkSettings, Slug};
    use booking_core::{BookingId, HostId, LinkId, RescheduleToken, TimeRange, TimeZoneName};
    use chrono::{TimeDelta, TimeZone, Utc};

    use super::*;

    #[test]
    fn the_resent_links_mail_carries_the_live_links_and_no_invite() {
        let zone = TimeZoneName::parse("Europe/Berlin").unwrap();
        let host = Host::new(
            HostId::from_uuid(uuid::Uuid::from_u128(1)),
            PersonName::parse("Hana Host").unwrap(),
            Email::parse("hana@example.com").unwrap(),
            zone,
        );
        let rules = RulesDraft::weekdays(
            zone,
            DayPeriod::parse("09:00-17:00").unwrap(),
            TimeDelta::minutes(30),
        );
        let link = BookingLink::new(
            LinkId::from_uuid(uuid::Uuid::from_u128(2)),
            host.id(),
            Slug::parse("intro").unwrap(),
            LinkSettings {
                title: "Intro call".into(),
                rules: AvailabilityRules::new(rules).unwrap(),
                reconfirmation: None,
                create_deal: false,
                questions: vec![],
            },
        )
        .unwrap();
        let start = Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap();
        let slot = TimeRange::new(start, start + TimeDelta::minutes(30)).unwrap();
        let booking = Booking::confirmed(NewBooking {
            id: BookingId::from_uuid(uuid::Uuid::from_u128(3)),
            host: host.id(),
            link: link.id(),
            slot,
            blocked: slot,
            token: RescheduleToken::from_bytes([0xab; 16]),
            invitee: Invitee::new(
                PersonName::parse("Ada").unwrap(),
                Email::parse("ada@example.org").unwrap(),
                None,
                zone,
            ),
            answers: Answers::default(),
            tracking: Tracking::default(),
            reconfirm_by: None,
            created_at: start - TimeDelta::days(1),
        })
        .result;
        let ctx = NotificationContext {
            booking: &booking,
            previous: None,
            link: &link,
            host: &host,
            public_base_url: "http://book.test/",
        };
        let from: Mailbox = "Slotkeeper <no-reply@book.test>".parse().unwrap();
        check_reminder_and_written(&ctx, &from);
        let message = compose(
            EmailKind::RescheduleLinks,
            Recipient::Attendee,
            &ctx,
            &from,
            "key-1",
        )
        .unwrap();
        let raw = message.formatted();
        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(
            parsed.subject(),
            Some("Your links for Intro call with Hana Host on Mon 1 Mar 2027 10:00 CET")
        );
        let text = parsed.body_text(0).unwrap();
        let token = "ab".repeat(16);
        assert!(
            text.contains(&format!("http://book.test/book/reschedule/{token}")),
            "{text}"
        );
        assert!(
            text.contains(&format!("http://book.test/book/cancel/{token}")),
            "{text}"
        );
        let raw = String::from_utf8_lossy(&raw);
        assert!(
            !raw.contains("text/calendar"),
            "no invite: the meeting did not change"
        );
    }

    /// The reminder carries the live links and no invite; a host's own wording is escaped in
    /// the HTML part and kept as written in the plain one, replies going to the host.
    fn check_reminder_and_written(ctx: &NotificationContext<'_>, from: &Mailbox) {
        let reminder = compose(EmailKind::Reminder, Recipient::Attendee, ctx, from, "k").unwrap();
        let raw = reminder.formatted();
        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(
            parsed.subject(),
            Some("Reminder: Intro call with Hana Host on Mon 1 Mar 2027 10:00 CET")
        );
        let text = parsed.body_text(0).unwrap();
        assert!(text.contains("http://book.test/book/reschedule/"), "{text}");
        assert!(!String::from_utf8_lossy(&raw).contains("text/calendar"));

        let written = Rendered {
            subject: "See you, Ada".into(),
            body: "<script>x</script> & \"quotes\"\n\nSecond paragraph".into(),
        };
        let message = compose_written(Recipient::Attendee, ctx, &written, from, "k2").unwrap();
        let raw = message.formatted();
        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(parsed.subject(), Some("See you, Ada"));
        assert!(
            parsed
                .body_text(0)
                .unwrap()
                .contains("<script>x</script> & \"quotes\"")
        );
        let html = parsed.body_html(0).unwrap();
        assert!(
            html.contains("&lt;script&gt;x&lt;/script&gt; &amp; &quot;quotes&quot;"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
        let reply_to = String::from_utf8_lossy(&raw);
        assert!(
            reply_to.contains("Reply-To: \"Hana Host\" <hana@example.com>")
                || reply_to.contains("Reply-To: Hana Host <hana@example.com>"),
            "{reply_to}"
        );
    }
}
