//! A link's description and location reach every mail, both formats, and every invite: a
//! call URL as a "Join" link, a place as written, the texts escaped per RFC 5545.

use booking_core::Booking;
use booking_core::effects::{EmailKind, Recipient};
use booking_core::link::BookingLink;
use icalendar::{Component, EventLike};
use mailer_smtp::{NotificationContext, compose};

use crate::support::{Received, World, parse};

const ABOUT: &str = "Bring notes, slides; questions.\nSecond line \\ with a backslash";
const CALL: &str = "https://meet.example.com/abc-defg-hij?pwd=x1";
const ROOM: &str = "Room 4, Floor 2; Main Street 1";

const EVERY_KIND: [EmailKind; 7] = [
    EmailKind::Booked,
    EmailKind::Rescheduled,
    EmailKind::Cancelled,
    EmailKind::CancelledNotReconfirmed,
    EmailKind::Reminder,
    EmailKind::ReconfirmationRequest,
    EmailKind::RescheduleLinks,
];

fn detailed(world: &World, location: &str) -> BookingLink {
    world
        .link
        .clone()
        .with_details(Some(ABOUT), Some(location))
        .unwrap()
}

fn ctx<'a>(world: &'a World, link: &'a BookingLink, row: &'a Booking) -> NotificationContext<'a> {
    NotificationContext {
        booking: row,
        previous: None,
        link,
        host: &world.host,
        public_base_url: "http://127.0.0.1:8080/",
    }
}

/// The booking row each kind of mail is written about.
fn row_for<'a>(
    kind: EmailKind,
    live: &'a Booking,
    moved: &'a Booking,
    gone: &'a Booking,
) -> &'a Booking {
    match kind {
        EmailKind::Rescheduled => moved,
        EmailKind::Cancelled | EmailKind::CancelledNotReconfirmed => gone,
        _ => live,
    }
}

#[tokio::test]
async fn every_mail_names_the_place_and_what_the_meeting_is_about() {
    let world = World::new().await;
    let live = world.book("Ada Lovelace", vec![], 1).await;
    let before_move = world.book("Ada Lovelace", vec![], 3).await;
    let moved = world.reschedule(&before_move, 5, None).await;
    let to_cancel = world.book("Ada Lovelace", vec![], 7).await;
    let gone = world.cancel(&to_cancel, None).await;
    let call = detailed(&world, CALL);
    let room = detailed(&world, ROOM);

    for kind in EVERY_KIND {
        let row = row_for(kind, &live, &moved, &gone);
        let cancelled = matches!(
            kind,
            EmailKind::Cancelled | EmailKind::CancelledNotReconfirmed
        );
        for to in [Recipient::Attendee, Recipient::Host] {
            let at = format!("{kind:?} to {to:?}");
            let message =
                compose(kind, to, &ctx(&world, &call, row), world.sender_ref(), "d").unwrap();
            let mail = parse(Received::from_message(&message));
            // The plain part travels with CRLF line ends.
            let text = mail.text.replace("\r\n", "\n");
            assert!(text.contains(ABOUT), "{at}: {text}");
            assert!(mail.html.contains("About this meeting"), "{at}");
            assert!(
                mail.html.contains("Bring notes, slides; questions."),
                "{at}"
            );
            if cancelled {
                // A cancelled meeting is not one to join: the address is only mentioned.
                assert!(
                    mail.text.contains(&format!("Where: {CALL}")),
                    "{at}: {}",
                    mail.text
                );
                assert!(!mail.html.contains(">Join<"), "{at}: {}", mail.html);
            } else {
                assert!(
                    mail.text.contains(&format!("Join: {CALL}")),
                    "{at}: {}",
                    mail.text
                );
                let href = format!("href=\"{}\"", CALL.replace('&', "&amp;"));
                assert!(mail.html.contains(&href), "{at}: {}", mail.html);
                assert!(mail.html.contains(">Join</a>"), "{at}: {}", mail.html);
            }

            let message =
                compose(kind, to, &ctx(&world, &room, row), world.sender_ref(), "d").unwrap();
            let mail = parse(Received::from_message(&message));
            assert!(
                mail.text.contains(&format!("Where: {ROOM}")),
                "{at}: {}",
                mail.text
            );
            assert!(mail.html.contains(ROOM), "{at}");
            assert!(!mail.text.contains("Join:"), "{at}: a place is no call");
        }
    }
}

#[tokio::test]
async fn every_invite_carries_location_and_description_escaped() {
    let world = World::new().await;
    let live = world.book("Ada Lovelace", vec![], 1).await;
    let before_move = world.book("Ada Lovelace", vec![], 3).await;
    let moved = world.reschedule(&before_move, 5, None).await;
    let to_cancel = world.book("Ada Lovelace", vec![], 7).await;
    let gone = world.cancel(&to_cancel, None).await;
    let room = detailed(&world, ROOM);
    let call = detailed(&world, CALL);

    for kind in [
        EmailKind::Booked,
        EmailKind::Rescheduled,
        EmailKind::Cancelled,
    ] {
        let row = row_for(kind, &live, &moved, &gone);
        let message = compose(
            kind,
            Recipient::Attendee,
            &ctx(&world, &room, row),
            world.sender_ref(),
            "i",
        )
        .unwrap();
        let mail = parse(Received::from_message(&message));
        let ics = mail.calendar_part.expect("an invite");
        let unfolded = ics.replace("\r\n ", "");
        assert!(
            unfolded.contains("LOCATION:Room 4\\, Floor 2\\; Main Street 1\r\n"),
            "{kind:?}: {ics}"
        );
        assert!(
            unfolded.contains(
                "Bring notes\\, slides\\; questions.\\nSecond line \\\\ with a backslash"
            ),
            "{kind:?}: {ics}"
        );
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        }
        let calendar: icalendar::Calendar = ics.parse().expect("parses");
        let event = calendar.events().next().unwrap();
        assert_eq!(event.get_location(), Some(ROOM), "{kind:?}");
        let description = event.get_description().unwrap();
        assert!(description.starts_with(ABOUT), "{kind:?}: {description}");
        if kind != EmailKind::Cancelled {
            // The row's own links stay in the description.
            let token = row.token().expose();
            assert!(
                description.contains(&format!(
                    "Reschedule: http://127.0.0.1:8080/book/reschedule/{token}"
                )),
                "{description}"
            );
            assert!(
                description.contains(&format!(
                    "Cancel: http://127.0.0.1:8080/book/cancel/{token}"
                )),
                "{description}"
            );
        }
    }

    let message = compose(
        EmailKind::Booked,
        Recipient::Host,
        &ctx(&world, &call, &live),
        world.sender_ref(),
        "j",
    )
    .unwrap();
    let ics = parse(Received::from_message(&message))
        .calendar_part
        .unwrap();
    let calendar: icalendar::Calendar = ics.parse().unwrap();
    let event = calendar.events().next().unwrap();
    assert_eq!(event.get_location(), Some(CALL));
    assert!(
        event
            .get_description()
            .unwrap()
            .contains(&format!("Join: {CALL}"))
    );
}
