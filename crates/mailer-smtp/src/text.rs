//! The wording of every mail, as a view model both the HTML and the plain-text template render.

use booking_core::booking::{Actor, Origin};
use booking_core::effects::{EmailKind, Recipient};
use booking_core::{Status, TimeRange, TimeZoneName};
use chrono::{DateTime, Utc};

use booking_core::ports::NotificationContext;
use invite_ics::canceller;

/// One mail's content, independent of its format.
#[derive(Debug)]
pub(crate) struct Letter {
    pub subject: String,
    pub greeting: String,
    pub lead: String,
    /// Label and value; values may span lines (reasons).
    pub facts: Vec<(&'static str, String)>,
    /// Label and URL.
    pub actions: Vec<(&'static str, String)>,
    /// The booking form's questions and answers.
    pub answers: Vec<(String, String)>,
    /// Where the meeting takes place, if the link says.
    pub place: Option<Place>,
    /// What the meeting is about (the link's description), if the host wrote one.
    pub about: Option<String>,
    pub footer: String,
}

/// A link's location as a mail shows it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// A video call's address, offered as a "Join" link (the plain text shows the URL).
    Join(String),
    /// An address or any other text, shown as written (a cancelled meeting's call URL too:
    /// nobody should be invited to join it).
    Text(String),
}

impl Place {
    fn of(ctx: &NotificationContext<'_>) -> Option<Self> {
        let live = !matches!(ctx.booking.status(), Status::Cancelled(_));
        match (ctx.link.location_url(), ctx.link.location()) {
            (Some(url), _) if live => Some(Self::Join(url.to_owned())),
            (_, Some(text)) => Some(Self::Text(text.to_owned())),
            (_, None) => None,
        }
    }
}

/// `Monday, 1 March 2027, 09:30–10:00 (America/New_York, EST)`; the end repeats the date when
/// the meeting crosses midnight in that zone.
pub(crate) fn when(range: TimeRange, zone: TimeZoneName) -> String {
    let start = range.start().with_timezone(&zone.tz());
    let end = range.end().with_timezone(&zone.tz());
    let end_text = if end.date_naive() == start.date_naive() {
        end.format("%H:%M").to_string()
    } else {
        end.format("%A, %-d %B %Y, %H:%M").to_string()
    };
    format!(
        "{}–{end_text} ({}, {})",
        start.format("%A, %-d %B %Y, %H:%M"),
        zone.name(),
        start.format("%Z")
    )
}

/// `Mon 1 Mar 2027 09:30 EST`, for subjects.
pub(crate) fn when_short(instant: DateTime<Utc>, zone: TimeZoneName) -> String {
    instant
        .with_timezone(&zone.tz())
        .format("%a %-d %b %Y %H:%M %Z")
        .to_string()
}

/// `Sunday, 28 February 2027, 09:30 (America/New_York, EST)`
pub(crate) fn instant(instant: DateTime<Utc>, zone: TimeZoneName) -> String {
    let local = instant.with_timezone(&zone.tz());
    format!(
        "{} ({}, {})",
        local.format("%A, %-d %B %Y, %H:%M"),
        zone.name(),
        local.format("%Z")
    )
}

pub(crate) fn letter(kind: EmailKind, to: Recipient, ctx: &NotificationContext<'_>) -> Letter {
    let booking = ctx.booking;
    let invitee = booking.invitee();
    let host_name = ctx.host.name().as_str();
    let invitee_name = invitee.name().as_str();
    let title = ctx.link.title();
    let zone = match to {
        Recipient::Attendee => invitee.time_zone(),
        Recipient::Host => ctx.host.time_zone(),
    };
    let at = when_short(booking.slot().start(), zone);
    let deadline = booking.reconfirm_by().map(|d| instant(d, zone));
    let attendee = to == Recipient::Attendee;

    let mut facts = vec![
        ("What", title.to_owned()),
        ("When", when(booking.slot(), zone)),
    ];
    if attendee {
        facts.push(("With", format!("{host_name} <{}>", ctx.host.email())));
    } else {
        let mut who = format!("{invitee_name} <{}>", invitee.email());
        if let Some(phone) = invitee.phone() {
            who.push_str(&format!(", {}", phone.as_str()));
        }
        facts.push(("With", who));
        facts.push(("Their time zone", invitee.time_zone().name().to_owned()));
    }

    let live_links = vec![
        ("Reschedule", ctx.reschedule_url()),
        ("Cancel", ctx.cancel_url()),
    ];
    let (subject, lead, actions) = match kind {
        EmailKind::Booked => {
            let (subject, lead) = if attendee {
                (
                    format!("Confirmed: {title} with {host_name} on {at}"),
                    format!("Your meeting with {host_name} is booked."),
                )
            } else {
                (
                    format!("New booking: {title} with {invitee_name} on {at}"),
                    format!("{invitee_name} booked “{title}” with you."),
                )
            };
            (subject, lead, live_links)
        }
        EmailKind::Rescheduled => {
            if let Some(previous) = ctx.previous {
                facts.insert(2, ("Previously", when(previous.slot(), zone)));
            }
            let (by, reason) = match booking.origin() {
                Origin::Rescheduled { by, reason, .. } => (*by, reason.as_ref()),
                Origin::Booked => (Actor::System, None),
            };
            if let Some(reason) = reason {
                facts.push(("Reason", reason.as_str().to_owned()));
            }
            let lead = match (by, attendee) {
                (Actor::Attendee, true) => {
                    format!("You moved your meeting with {host_name} to a new time.")
                }
                (Actor::Attendee, false) => {
                    format!("{invitee_name} moved their meeting with you to a new time.")
                }
                (Actor::Host | Actor::Calendar, true) => {
                    format!("{host_name} moved your meeting to a new time.")
                }
                (Actor::Host, false) => {
                    format!("You moved your meeting with {invitee_name} to a new time.")
                }
                (Actor::Calendar, false) => {
                    format!(
                        "You moved your meeting with {invitee_name} in your calendar; {invitee_name} has been told."
                    )
                }
                (Actor::System, _) => "The meeting has moved to a new time.".to_owned(),
            };
            let with = if attendee { host_name } else { invitee_name };
            (
                format!("Rescheduled: {title} with {with}, now {at}"),
                lead,
                live_links,
            )
        }
        EmailKind::Cancelled | EmailKind::CancelledNotReconfirmed => {
            let cancellation = booking.cancellation();
            let by = cancellation.map_or(Actor::System, |c| c.by);
            facts.push(("Cancelled by", canceller(by, ctx)));
            if let Some(c) = cancellation {
                facts.push(("Cancelled at", instant(c.at, zone)));
                if let Some(reason) = &c.reason {
                    facts.push(("Reason", reason.as_str().to_owned()));
                }
            }
            let with = if attendee { host_name } else { invitee_name };
            let lead = if kind == EmailKind::CancelledNotReconfirmed {
                let by_when = deadline
                    .clone()
                    .unwrap_or_else(|| "the deadline".to_owned());
                if attendee {
                    format!(
                        "Your meeting with {host_name} was cancelled because it was not reconfirmed by {by_when}."
                    )
                } else {
                    format!(
                        "Your meeting with {invitee_name} was cancelled automatically: they did not reconfirm by {by_when}."
                    )
                }
            } else {
                match (by, attendee) {
                    (Actor::Attendee, true) => {
                        format!("You cancelled your meeting with {host_name}.")
                    }
                    (Actor::Attendee, false) => {
                        format!("{invitee_name} cancelled their meeting with you.")
                    }
                    (Actor::Host, true) => format!("{host_name} cancelled your meeting."),
                    (Actor::Host, false) => {
                        format!("You cancelled your meeting with {invitee_name}.")
                    }
                    (Actor::Calendar, true) => format!("{host_name} cancelled your meeting."),
                    (Actor::Calendar, false) => {
                        format!(
                            "Your meeting with {invitee_name} was cancelled because you deleted it from your calendar."
                        )
                    }
                    (Actor::System, _) => "The meeting was cancelled.".to_owned(),
                }
            };
            let subject = if kind == EmailKind::CancelledNotReconfirmed {
                format!("Cancelled (not reconfirmed): {title} with {with} on {at}")
            } else {
                format!("Cancelled: {title} with {with} on {at}")
            };
            let actions = if attendee {
                vec![("Book a new time", ctx.booking_page_url())]
            } else {
                Vec::new()
            };
            (subject, lead, actions)
        }
        EmailKind::RescheduleLinks => {
            if attendee {
                (
                    format!("Your links for {title} with {host_name} on {at}"),
                    format!(
                        "{host_name} sent you the links to reschedule or cancel your meeting, in case you need them."
                    ),
                    live_links,
                )
            } else {
                (
                    format!("Links sent: {title} with {invitee_name} on {at}"),
                    format!("{invitee_name} was sent the links to reschedule or cancel."),
                    live_links,
                )
            }
        }
        EmailKind::Reminder => {
            let (subject, lead) = if attendee {
                (
                    format!("Reminder: {title} with {host_name} on {at}"),
                    format!("A reminder of your meeting with {host_name}."),
                )
            } else {
                (
                    format!("Reminder: {title} with {invitee_name} on {at}"),
                    format!("A reminder of your meeting with {invitee_name}."),
                )
            };
            (subject, lead, live_links)
        }
        EmailKind::ReconfirmationRequest => {
            let by_when = deadline
                .clone()
                .unwrap_or_else(|| "before the meeting".to_owned());
            if attendee {
                facts.push(("Confirm by", by_when.clone()));
                let mut actions = vec![("Yes, I will attend", ctx.reconfirm_url())];
                actions.extend(live_links);
                (
                    format!("Please confirm: {title} with {host_name} on {at}"),
                    format!(
                        "Are you still attending? Please confirm by {by_when}, or the meeting will be cancelled."
                    ),
                    actions,
                )
            } else {
                (
                    format!("Reconfirmation requested: {title} with {invitee_name} on {at}"),
                    format!(
                        "We asked {invitee_name} to confirm they are still attending. If they do not by {by_when}, the meeting is cancelled."
                    ),
                    live_links,
                )
            }
        }
    };
    // A cancelled row's links are dead: never offer them, whatever the template.
    let actions = if matches!(booking.status(), Status::Cancelled(_)) {
        actions
            .into_iter()
            .filter(|(label, _)| *label == "Book a new time")
            .collect()
    } else {
        actions
    };

    let greeting = format!("Hi {},", if attendee { invitee_name } else { host_name });
    let footer = if !actions.iter().any(|(label, _)| *label == "Reschedule") {
        String::new()
    } else if attendee {
        "You can reschedule or cancel with the links above until the meeting starts. Treat them like a password: anyone with them can change the meeting.".to_owned()
    } else {
        "The links above act for your attendee; they work until the meeting starts.".to_owned()
    };
    Letter {
        subject,
        greeting,
        lead,
        facts,
        actions,
        answers: booking.answers().pairs().to_vec(),
        place: Place::of(ctx),
        about: ctx.link.description().map(str::to_owned),
        footer,
    }
}
