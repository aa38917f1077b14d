//! Integration tests: real bookings from the core's scheduler, composed and sent to a real SMTP
//! server on localhost (mailin-embedded), parsed back as MIME (mail-parser) and iCalendar
//! (icalendar).

mod address;
mod connections;
mod details;
mod support;

use booking_core::Status;
use booking_core::effects::{EmailKind, Recipient};
use booking_core::invitee::ANSWER_MAX;
use chrono::Utc;
use icalendar::{Component, DatePerhapsTime};
use mailer_smtp::{
    Mailer, NotificationContext, SmtpMailer, compose, invite_ics, mailer_from_url, message_id,
};
use support::{Inbox, Parsed, World, hostile_text, parse};

fn ctx<'a>(
    world: &'a World,
    booking: &'a booking_core::Booking,
    previous: Option<&'a booking_core::Booking>,
) -> NotificationContext<'a> {
    NotificationContext {
        booking,
        previous,
        link: &world.link,
        host: &world.host,
        public_base_url: "http://127.0.0.1:8080/",
    }
}

fn dt(parsed: Option<DatePerhapsTime>) -> chrono::DateTime<Utc> {
    match parsed {
        Some(DatePerhapsTime::DateTime(icalendar::CalendarDateTime::Utc(t))) => t,
        other => panic!("expected a UTC date-time, got {other:?}"),
    }
}

/// A property the parser keeps either as single or as repeatable (ATTENDEE is repeatable).
fn property<'e>(event: &'e icalendar::Event, key: &str) -> &'e icalendar::Property {
    event
        .properties()
        .get(key)
        .or_else(|| {
            event
                .multi_properties()
                .get(key)
                .and_then(|all| all.first())
        })
        .unwrap_or_else(|| panic!("no {key}"))
}

async fn send_and_receive(
    inbox: &Inbox,
    mailer: &SmtpMailer,
    message: &mailer_smtp::Message,
) -> Parsed {
    let before = inbox.count();
    mailer
        .send(message)
        .await
        .expect("the SMTP server accepts the mail");
    let received = inbox.take(before);
    parse(received)
}

#[tokio::test]
async fn a_booked_rescheduled_cancelled_chain_reaches_a_real_smtp_server() {
    let world = World::new().await;
    let booked = world
        .book("Ada Lovelace", vec![("Topic".into(), "Pricing".into())], 1)
        .await;
    let moved = world
        .reschedule(&booked, 3, Some("clash with standup"))
        .await;
    let cancelled = world.cancel(&moved, Some("found another vendor")).await;
    let rows_before = world.bookings().await;
    let first_row_now = rows_before
        .iter()
        .find(|b| b.id() == booked.id())
        .unwrap()
        .clone();

    let inbox = Inbox::start();
    let mailer = SmtpMailer::from_url(
        &format!("smtp://127.0.0.1:{}", inbox.port()),
        world.sender(),
    )
    .unwrap();

    let steps = [
        (EmailKind::Booked, &booked, None, "REQUEST", 0u32),
        (
            EmailKind::Rescheduled,
            &moved,
            Some(&first_row_now),
            "REQUEST",
            1,
        ),
        (EmailKind::Cancelled, &cancelled, None, "CANCEL", 2),
    ];
    let mut uids = Vec::new();
    for (kind, row, previous, method, sequence) in steps {
        for to in [Recipient::Attendee, Recipient::Host] {
            let key = format!("{}:email:{kind:?}:{to:?}", row.id());
            let message = compose(
                kind,
                to,
                &ctx(&world, row, previous),
                world.sender_ref(),
                &key,
            )
            .unwrap();
            let mail = send_and_receive(&inbox, &mailer, &message).await;
            let (address, zone) = match to {
                Recipient::Attendee => ("ada@example.org", "America/New_York"),
                Recipient::Host => ("hana@example.com", "Europe/Berlin"),
            };
            assert_eq!(
                mail.envelope_to,
                vec![address.to_owned()],
                "{kind:?} {to:?}"
            );
            assert_eq!(mail.to, vec![address.to_owned()]);
            assert_eq!(mail.from.as_deref(), Some("noreply@slotkeeper.test"));
            assert_eq!(
                mail.message_id.as_deref(),
                Some(message_id(&key).trim_matches(['<', '>']))
            );
            assert!(
                mail.text.contains(zone),
                "{kind:?} {to:?} text names the zone: {}",
                mail.text
            );
            assert!(mail.html.contains(zone));

            let token = row.token().expose();
            let links = [
                format!("http://127.0.0.1:8080/book/reschedule/{token}"),
                format!("http://127.0.0.1:8080/book/cancel/{token}"),
            ];
            for link in &links {
                let expected = kind != EmailKind::Cancelled;
                assert_eq!(
                    mail.text.contains(link.as_str()),
                    expected,
                    "{kind:?} {to:?} link {link}"
                );
                assert_eq!(
                    mail.html.contains(link.as_str()),
                    expected,
                    "{kind:?} {to:?} link {link}"
                );
            }

            let ics = mail.calendar_part.clone().expect("a text/calendar part");
            assert_eq!(mail.calendar_method.as_deref(), Some(method));
            assert_eq!(
                mail.attachment_ics.as_deref(),
                Some(ics.as_str()),
                "invite.ics is the same invite"
            );
            let calendar: icalendar::Calendar =
                ics.parse().expect("the real parser reads the invite");
            assert_eq!(calendar.property_value("METHOD"), Some(method));
            let event = calendar.events().next().expect("one VEVENT");
            assert_eq!(event.get_sequence(), Some(sequence), "{kind:?}");
            assert_eq!(dt(event.get_start()), row.slot().start());
            assert_eq!(dt(event.get_end()), row.slot().end());
            uids.push(event.get_uid().unwrap().to_owned());
            let organizer = property(event, "ORGANIZER");
            assert_eq!(organizer.value(), "mailto:hana@example.com");
            assert_eq!(
                organizer.params().get("CN").map(|p| p.value()),
                Some("Hana Host")
            );
            let attendee = property(event, "ATTENDEE");
            assert_eq!(attendee.value(), "mailto:ada@example.org");
            let status = event
                .properties()
                .get("STATUS")
                .map(|p| p.value().to_owned());
            let expected_status = if method == "CANCEL" {
                "CANCELLED"
            } else {
                "CONFIRMED"
            };
            assert_eq!(status.as_deref(), Some(expected_status));
        }
    }
    assert!(
        uids.iter()
            .all(|u| *u == format!("{}@slotkeeper", booked.chain())),
        "{uids:?}"
    );

    // Times are in the recipient's zone: 10:00 Berlin is 04:00 in New York that day.
    let attendee_mail = compose(
        EmailKind::Booked,
        Recipient::Attendee,
        &ctx(&world, &booked, None),
        world.sender_ref(),
        "k",
    )
    .unwrap();
    let host_mail = compose(
        EmailKind::Booked,
        Recipient::Host,
        &ctx(&world, &booked, None),
        world.sender_ref(),
        "k",
    )
    .unwrap();
    let attendee = parse(support::Received::from_message(&attendee_mail));
    let host = parse(support::Received::from_message(&host_mail));
    let start = booked.slot().start();
    let ny = start
        .with_timezone(&chrono_tz::America::New_York)
        .format("%H:%M")
        .to_string();
    let berlin = start
        .with_timezone(&chrono_tz::Europe::Berlin)
        .format("%H:%M")
        .to_string();
    assert_ne!(ny, berlin);
    assert!(
        attendee.text.contains(&ny) && attendee.text.contains("EST"),
        "{}",
        attendee.text
    );
    assert!(
        host.text.contains(&berlin) && host.text.contains("CET"),
        "{}",
        host.text
    );

    // The rescheduled mail shows the old time too; the cancelled one the reason and who.
    let resched = parse(support::Received::from_message(
        &compose(
            EmailKind::Rescheduled,
            Recipient::Host,
            &ctx(&world, &moved, Some(&first_row_now)),
            world.sender_ref(),
            "r",
        )
        .unwrap(),
    ));
    let old = first_row_now
        .slot()
        .start()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .format("%H:%M")
        .to_string();
    assert!(
        resched.text.contains("Previously: ") && resched.text.contains(&old),
        "{}",
        resched.text
    );
    assert!(resched.text.contains("clash with standup"));
    let cancel = parse(support::Received::from_message(
        &compose(
            EmailKind::Cancelled,
            Recipient::Host,
            &ctx(&world, &cancelled, None),
            world.sender_ref(),
            "c",
        )
        .unwrap(),
    ));
    assert!(
        cancel
            .text
            .contains("Cancelled by: Ada Lovelace (attendee)"),
        "{}",
        cancel.text
    );
    assert!(cancel.text.contains("Reason: found another vendor"));
    assert!(
        cancel
            .text
            .contains("Ada Lovelace cancelled their meeting with you.")
    );
}

#[tokio::test]
async fn the_message_id_is_derived_from_the_idempotency_key() {
    let world = World::new().await;
    let booked = world.book("Ada Lovelace", vec![], 1).await;
    let c = ctx(&world, &booked, None);
    let one = compose(
        EmailKind::Booked,
        Recipient::Attendee,
        &c,
        world.sender_ref(),
        "row:email:Booked:Attendee",
    )
    .unwrap();
    let again = compose(
        EmailKind::Booked,
        Recipient::Attendee,
        &c,
        world.sender_ref(),
        "row:email:Booked:Attendee",
    )
    .unwrap();
    let other = compose(
        EmailKind::Booked,
        Recipient::Host,
        &c,
        world.sender_ref(),
        "row:email:Booked:Host",
    )
    .unwrap();
    let id = |m: &mailer_smtp::Message| m.headers().get_raw("Message-ID").unwrap().to_owned();
    assert_eq!(id(&one), id(&again));
    assert_ne!(id(&one), id(&other));
    assert!(
        id(&one).ends_with("@slotkeeper>") && id(&one).len() == 64 + "<@slotkeeper>".len(),
        "{}",
        id(&one)
    );
}

#[tokio::test]
async fn host_cancel_and_reconfirmation_mails_say_who_and_what() {
    let world = World::new().await;
    let booked = world.book("Ada Lovelace", vec![], 2).await;

    // The reconfirmation request: the reconfirm link, no invite.
    let request = parse(support::Received::from_message(
        &compose(
            EmailKind::ReconfirmationRequest,
            Recipient::Attendee,
            &ctx(&world, &booked, None),
            world.sender_ref(),
            "q",
        )
        .unwrap(),
    ));
    let token = booked.token().expose();
    assert!(
        request
            .text
            .contains(&format!("http://127.0.0.1:8080/book/reconfirm/{token}")),
        "{}",
        request.text
    );
    assert!(
        request
            .html
            .contains(&format!("http://127.0.0.1:8080/book/reconfirm/{token}"))
    );
    assert!(request.calendar_part.is_none() && request.attachment_ics.is_none());
    let host_request = parse(support::Received::from_message(
        &compose(
            EmailKind::ReconfirmationRequest,
            Recipient::Host,
            &ctx(&world, &booked, None),
            world.sender_ref(),
            "q2",
        )
        .unwrap(),
    ));
    assert!(
        !host_request.text.contains("/book/reconfirm/"),
        "only the attendee reconfirms"
    );

    let cancelled = world.host_cancel(&booked, Some("I am ill")).await;
    let to_attendee = parse(support::Received::from_message(
        &compose(
            EmailKind::Cancelled,
            Recipient::Attendee,
            &ctx(&world, &cancelled, None),
            world.sender_ref(),
            "hc",
        )
        .unwrap(),
    ));
    assert!(
        to_attendee
            .text
            .contains("Hana Host cancelled your meeting."),
        "{}",
        to_attendee.text
    );
    assert!(to_attendee.text.contains("Cancelled by: Hana Host (host)"));
    assert!(to_attendee.text.contains("Reason: I am ill"));
    assert!(
        to_attendee
            .text
            .contains("http://127.0.0.1:8080/book/intro"),
        "a link to book again"
    );
    assert!(!to_attendee.text.contains(token), "no dead token links");
    let calendar: icalendar::Calendar = to_attendee.calendar_part.unwrap().parse().unwrap();
    assert_eq!(calendar.property_value("METHOD"), Some("CANCEL"));
    assert_eq!(calendar.events().next().unwrap().get_sequence(), Some(1));

    // Cancelled for not reconfirming (system), worded for both sides.
    let expired = world.expire_unreconfirmed().await;
    assert!(
        matches!(expired.status(), Status::Cancelled(c) if c.by == booking_core::Actor::System)
    );
    for (to, expect) in [
        (
            Recipient::Attendee,
            "was cancelled because it was not reconfirmed by",
        ),
        (
            Recipient::Host,
            "was cancelled automatically: they did not reconfirm by",
        ),
    ] {
        let mail = parse(support::Received::from_message(
            &compose(
                EmailKind::CancelledNotReconfirmed,
                to,
                &ctx(&world, &expired, None),
                world.sender_ref(),
                "x",
            )
            .unwrap(),
        ));
        assert!(mail.text.contains(expect), "{to:?}: {}", mail.text);
        assert!(mail.text.contains("Slotkeeper (automatic)"));
        assert_eq!(mail.calendar_method.as_deref(), Some("CANCEL"));
    }
}

#[tokio::test]
async fn hostile_input_is_escaped_in_mail_and_invite() {
    let world = World::new().await;
    let hostile = hostile_text();
    let booked = world
        .book(
            "Zoë <script>alert(1)</script> O'Brien, \"the\"; Tester: x",
            // Questions are the link's own (one line each, checked by the domain); the answer
            // is as long as an answer may be.
            vec![(
                "Anything else?".into(),
                hostile.chars().take(ANSWER_MAX).collect(),
            )],
            1,
        )
        .await;
    let cancelled = world.cancel(&booked, Some(&hostile)).await;

    let inbox = Inbox::start();
    let mailer = SmtpMailer::from_url(
        &format!("smtp://127.0.0.1:{}", inbox.port()),
        world.sender(),
    )
    .unwrap();
    for (kind, row) in [
        (EmailKind::Booked, &booked),
        (EmailKind::Cancelled, &cancelled),
    ] {
        for to in [Recipient::Attendee, Recipient::Host] {
            let message = compose(
                kind,
                to,
                &ctx(&world, row, None),
                world.sender_ref(),
                "hostile",
            )
            .unwrap();
            let mail = send_and_receive(&inbox, &mailer, &message).await;
            assert_eq!(mail.envelope_to.len(), 1, "no injected recipients");
            assert!(
                mail.header_names
                    .iter()
                    .all(|h| !h.eq_ignore_ascii_case("bcc")),
                "{:?}",
                mail.header_names
            );
            assert!(!mail.html.contains("<script>"), "HTML is escaped");
            assert!(mail.html.contains("&lt;script&gt;"));
            assert!(mail.text.contains("Zoë"), "non-ASCII survives");
            assert!(
                mail.text.contains("Bcc: evil@example.test"),
                "the text is kept verbatim in the body"
            );

            let ics = mail.calendar_part.expect("invite");
            for line in ics.split("\r\n") {
                assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
            }
            assert!(
                ics.lines().all(|l| !l.starts_with("Bcc:")),
                "no line break survives unescaped"
            );
            let calendar: icalendar::Calendar = ics.parse().expect("still parses");
            let event = calendar.events().next().unwrap();
            let description = event.get_description().unwrap();
            assert!(
                description.contains("ÄÖÜ 日本語 🙂"),
                "{}",
                &description[..200.min(description.len())]
            );
            let attendee = property(event, "ATTENDEE");
            assert!(attendee.params().get("CN").is_some());
        }
    }
    // The subject carries the name encoded, and stays one header.
    let message = compose(
        EmailKind::Booked,
        Recipient::Host,
        &ctx(&world, &booked, None),
        world.sender_ref(),
        "s",
    )
    .unwrap();
    let mail = parse(support::Received::from_message(&message));
    assert!(mail.subject.contains("Zoë <script>"), "{}", mail.subject);
}

#[tokio::test]
async fn the_file_mailer_writes_one_parseable_eml_per_message() {
    let world = World::new().await;
    let booked = world.book("Ada Lovelace", vec![], 1).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("data").join("mail");
    let mailer = mailer_from_url(
        &format!("file://{}", target.display()),
        "Slotkeeper <noreply@slotkeeper.test>",
    )
    .unwrap();
    let c = ctx(&world, &booked, None);
    mailer
        .notify(
            EmailKind::Booked,
            Recipient::Attendee,
            &c,
            "row:email:Booked:Attendee",
        )
        .await
        .unwrap();
    mailer
        .notify(
            EmailKind::Booked,
            Recipient::Attendee,
            &c,
            "row:email:Booked:Attendee",
        )
        .await
        .unwrap();
    mailer
        .notify(
            EmailKind::Booked,
            Recipient::Host,
            &c,
            "row:email:Booked:Host",
        )
        .await
        .unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        2,
        "a retried send overwrites its own file: {files:?}"
    );
    for file in files {
        assert_eq!(file.extension().and_then(|e| e.to_str()), Some("eml"));
        let mail = parse(support::Received {
            envelope_to: vec![],
            data: std::fs::read(&file).unwrap(),
        });
        assert!(mail.subject.starts_with("Confirmed") || mail.subject.starts_with("New booking"));
        let name = file.file_stem().unwrap().to_str().unwrap();
        assert_eq!(Some(name), mail.message_id.as_deref());
        let ics: icalendar::Calendar = mail.calendar_part.unwrap().parse().unwrap();
        assert_eq!(ics.property_value("METHOD"), Some("REQUEST"));
    }
}

#[tokio::test]
async fn the_download_invite_follows_the_row_state() {
    let world = World::new().await;
    let booked = world.book("Ada Lovelace", vec![], 1).await;
    let request = invite_ics(&ctx(&world, &booked, None));
    assert!(
        request.contains("METHOD:REQUEST\r\n") && request.contains("SEQUENCE:0\r\n"),
        "{request}"
    );
    assert!(request.contains(&format!("UID:{}@slotkeeper\r\n", booked.chain())));
    assert!(request.contains(&format!(
        "DTSTART:{}\r\n",
        booked.slot().start().format("%Y%m%dT%H%M%SZ")
    )));
    let cancelled = world.cancel(&booked, None).await;
    let cancel = invite_ics(&ctx(&world, &cancelled, None));
    assert!(
        cancel.contains("METHOD:CANCEL\r\n")
            && cancel.contains("STATUS:CANCELLED\r\n")
            && cancel.contains("SEQUENCE:1\r\n")
    );
    // A late REQUEST for the cancelled row does not claim the cancel's sequence.
    let late = compose(
        EmailKind::Booked,
        Recipient::Attendee,
        &ctx(&world, &cancelled, None),
        world.sender_ref(),
        "late",
    )
    .unwrap();
    let late = parse(support::Received::from_message(&late));
    assert!(late.calendar_part.unwrap().contains("SEQUENCE:0\r\n"));
}
