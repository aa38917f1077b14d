//! The texts (SMS) of timed messages: within two segments, with their link whole.

use chrono::{DateTime, Utc};

use crate::effects::TextKind;
use crate::ports::NotificationContext;
use crate::time::TimeZoneName;

use super::template::{Template, cut};

/// Most SMS segments a text may take (two concatenated segments: 306 GSM-7 characters, or
/// 134 UTF-16 units of anything else).
pub const MAX_TEXT_SEGMENTS: usize = 2;

/// The text (SMS) of a timed message to the attendee, within [`MAX_TEXT_SEGMENTS`] segments
/// with its link whole: the link's title and the host's name are shortened until it fits.
pub fn text_body(kind: TextKind, ctx: &NotificationContext<'_>) -> String {
    let booking = ctx.booking;
    let zone = booking.invitee().time_zone();
    let when = short_time(booking.slot().start(), zone, true);
    let title = ctx.link.title();
    let host = ctx.host.name().as_str();
    let compose = |budget: usize| {
        let about = if budget == 0 {
            "your meeting".to_owned()
        } else {
            format!("{} with {}", cut(title, budget), cut(host, budget))
        };
        match kind {
            TextKind::Reminder => format!(
                "Reminder: {about} on {when}. Reschedule or cancel: {}",
                ctx.reschedule_url()
            ),
            TextKind::ReconfirmationRequest => {
                let by = booking.reconfirm_by().map_or_else(
                    || "before it starts".to_owned(),
                    |d| format!("by {}", short_time(d, zone, false)),
                );
                format!(
                    "Still coming to {about} on {when}? Please confirm {by} or it is cancelled: {}",
                    ctx.reconfirm_url()
                )
            }
        }
    };
    let mut budget = 60;
    loop {
        let body = compose(budget);
        if budget == 0 || text_segments(&body) <= MAX_TEXT_SEGMENTS {
            return body;
        }
        budget = budget.saturating_sub(6);
    }
}

/// A step's own text (SMS) for the booking of `ctx`, kept within [`MAX_TEXT_SEGMENTS`] by
/// shortening the names it shows (links stay whole).
pub fn step_text_body(template: &Template, ctx: &NotificationContext<'_>) -> String {
    let mut budget = 60;
    loop {
        let body = template.render(ctx, budget).body;
        if budget <= 3 || text_segments(&body) <= MAX_TEXT_SEGMENTS {
            return body;
        }
        budget = budget.saturating_sub(6);
    }
}

/// `Mon 1 Mar 09:30 EST` (the zone's abbreviation only when `zone_name`).
fn short_time(instant: DateTime<Utc>, zone: TimeZoneName, zone_name: bool) -> String {
    let local = instant.with_timezone(&zone.tz());
    if zone_name {
        local.format("%a %-d %b %H:%M %Z").to_string()
    } else {
        local.format("%a %-d %b %H:%M").to_string()
    }
}

/// The GSM 03.38 basic character set (one septet each).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The GSM 03.38 extension table (an escape plus one septet each).
const GSM_EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// How many SMS segments `body` takes: GSM-7 when every character is in its tables (160 in
/// one segment, 153 per segment of several), UCS-2 otherwise (70, then 67 UTF-16 units).
pub fn text_segments(body: &str) -> usize {
    let septets: Option<usize> = body.chars().try_fold(0usize, |n, c| {
        if GSM_BASIC.contains(c) {
            Some(n + 1)
        } else if GSM_EXTENDED.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    });
    let (units, single, each) = match septets {
        Some(n) => (n, 160, 153),
        None => (body.encode_utf16().count(), 70, 67),
    };
    if units <= single {
        1
    } else {
        units.div_ceil(each)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invitee::{Email, PersonName};
    use crate::link::Host;
    use crate::workflows::tests::{at, booking, link};

    /// `render` of a booking on a link titled `title`, its host Hana Host, pages at `base`.
    fn rendered<R>(title: &str, base: &str, render: impl FnOnce(&NotificationContext) -> R) -> R {
        let l = link(title, Some((24 * 60, 120)));
        let b = booking(&l, true, at(1, 9));
        let host = Host::new(
            l.host(),
            PersonName::parse("Hana Host").unwrap(),
            Email::parse("hana@example.com").unwrap(),
            TimeZoneName::parse("UTC").unwrap(),
        );
        render(&NotificationContext {
            booking: &b,
            previous: None,
            link: &l,
            host: &host,
            public_base_url: base,
        })
    }

    fn text_of(kind: TextKind, title: &str, base: &str) -> String {
        rendered(title, base, |ctx| text_body(kind, ctx))
    }

    #[test]
    fn texts_carry_the_link_in_the_attendees_zone_within_two_segments() {
        let base = "https://book.example.com";
        let reminder = text_of(TextKind::Reminder, "Intro", base);
        assert_eq!(
            reminder,
            format!(
                "Reminder: Intro with Hana Host on Wed 12 May 11:00 BST. Reschedule or cancel: \
                 {base}/book/reschedule/{}",
                "05".repeat(16)
            )
        );
        assert_eq!(text_segments(&reminder), 1);
        let ask = text_of(TextKind::ReconfirmationRequest, "Intro", base);
        assert!(ask.contains("confirm by Wed 12 May 09:00"), "{ask}");
        assert!(ask.ends_with(&format!("{base}/book/reconfirm/{}", "05".repeat(16))));
        // A long title, even one outside GSM-7, is cut so the link still fits.
        for title in ["A".repeat(200), "会議".repeat(100)] {
            for kind in [TextKind::Reminder, TextKind::ReconfirmationRequest] {
                let body = text_of(kind, &title, base);
                assert!(text_segments(&body) <= MAX_TEXT_SEGMENTS, "{body}");
                assert!(body.contains("/book/re"), "{body}");
            }
        }
    }

    #[test]
    fn a_steps_text_fills_its_fields_and_fits_two_segments() {
        let t = Template::text(
            "{attendee_name}: {title} with {host_name} at {start}. Book again: {book_again_url}",
        )
        .unwrap();
        let body = rendered(
            &"Very long title ".repeat(10),
            "https://book.example.com",
            |ctx| step_text_body(&t, ctx),
        );
        assert!(text_segments(&body) <= MAX_TEXT_SEGMENTS, "{body}");
        assert!(body.starts_with("Ada: Very long"), "{body}");
        assert!(
            body.contains("with Hana Host at Wed 12 May 2027 11:00 BST."),
            "{body}"
        );
        assert!(
            body.ends_with("https://book.example.com/book/intro"),
            "{body}"
        );
    }

    #[test]
    fn segments_follow_gsm7_and_ucs2_sizes() {
        assert_eq!(text_segments(&"a".repeat(160)), 1);
        assert_eq!(text_segments(&"a".repeat(161)), 2);
        assert_eq!(text_segments(&"a".repeat(306)), 2);
        assert_eq!(text_segments(&"a".repeat(307)), 3);
        // Extension characters take two septets.
        assert_eq!(text_segments(&"€".repeat(80)), 1);
        assert_eq!(text_segments(&"€".repeat(81)), 2);
        assert_eq!(text_segments(&"é".repeat(160)), 1);
        assert_eq!(text_segments(&"ê".repeat(70)), 1);
        assert_eq!(text_segments(&"ê".repeat(71)), 2);
        assert_eq!(text_segments(&"ê".repeat(135)), 3);
    }
}
