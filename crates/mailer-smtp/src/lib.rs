//! Slotkeeper's notification mails: what a booking change tells the attendee and the host,
//! the calendar invite that travels with it, and the transports that deliver it.
//!
//! The crate turns one outbox email effect into one [`lettre::Message`] and sends it:
//!
//! - [`compose`] renders a template ([`EmailKind`] × [`Recipient`]) from a
//!   [`NotificationContext`] into HTML with a plain-text alternative, in the recipient's own
//!   time zone, with the reschedule and cancel links for both attendee and host. Its
//!   `Message-ID` is derived from the outbox idempotency key, so a retried send carries the
//!   same id and receivers (and the `.eml` file mailer) recognise it.
//! - [`invite_ics`] writes the RFC 5545/5546 invite: `METHOD:REQUEST` for booked and
//!   rescheduled rows, `METHOD:CANCEL` for cancelled ones, one `UID` per chain and the row's
//!   `SEQUENCE`, so calendar clients move or remove the existing event instead of adding one.
//! - [`Mailer`] delivers: [`SmtpMailer`] over SMTP (plain, STARTTLS or TLS, with
//!   authentication) and [`FileMailer`] into a directory of `.eml` files for development;
//!   [`mailer_from_url`] picks one from `MAILER_URL`.
//!
//! Nothing here reads the clock: every date in a message comes from the booking rows, so the
//! same outbox row always produces the same message (apart from the transport's `Date`).
//!
//! **Architecture Invariant:** user text (names, answers, reasons) never reaches a header
//! unencoded: names are free of control characters by construction ([`booking_core::invitee::PersonName`]),
//! lettre encodes header values, free text only goes into bodies (escaped by maud in HTML) and
//! into the invite (escaped and folded).

mod compose;
mod error;
mod invite;
mod text;
mod transport;

use booking_core::Booking;
use booking_core::link::{BookingLink, Host};

pub use booking_core::effects::{EmailKind, Recipient};
pub use compose::{compose, message_id};
pub use error::MailError;
pub use invite::invite_ics;
pub use lettre::Message;
pub use lettre::message::Mailbox;
pub use transport::{FileMailer, Mailer, SmtpMailer, mailer_from_url};

/// Everything a notification is rendered from. The caller loads the rows; nothing here does
/// I/O.
#[derive(Debug, Clone, Copy)]
pub struct NotificationContext<'a> {
    /// The row the effect is about, as it is now (its token via `booking.token().expose()`).
    pub booking: &'a Booking,
    /// The row it replaced, for a reschedule (its time is shown as the old time).
    pub previous: Option<&'a Booking>,
    /// The link it was booked through.
    pub link: &'a BookingLink,
    /// The link's host.
    pub host: &'a Host,
    /// Where the public pages live, e.g. `http://127.0.0.1:8080` (a trailing `/` is ignored).
    pub public_base_url: &'a str,
}

impl NotificationContext<'_> {
    fn base(&self) -> &str {
        self.public_base_url.trim_end_matches('/')
    }

    /// `{base}/book/reschedule/{token}`
    pub fn reschedule_url(&self) -> String {
        format!(
            "{}/book/reschedule/{}",
            self.base(),
            self.booking.token().expose()
        )
    }

    /// `{base}/book/cancel/{token}`
    pub fn cancel_url(&self) -> String {
        format!(
            "{}/book/cancel/{}",
            self.base(),
            self.booking.token().expose()
        )
    }

    /// `{base}/book/reconfirm/{token}`
    pub fn reconfirm_url(&self) -> String {
        format!(
            "{}/book/reconfirm/{}",
            self.base(),
            self.booking.token().expose()
        )
    }

    /// `{base}/book/{slug}`: where to book again after a cancellation.
    pub fn booking_page_url(&self) -> String {
        format!("{}/book/{}", self.base(), self.link.slug())
    }
}
