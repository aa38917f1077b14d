//! Slotkeeper's notification mails: what a booking change tells the attendee and the host,
//! the calendar invite that travels with it, and the transports that deliver it.
//!
//! The crate is the mail adapter of booking-core's [`Notifier`](booking_core::ports::Notifier)
//! port ([`MailNotifier`]): it turns one outbox email effect into one [`lettre::Message`] and
//! sends it:
//!
//! - [`compose`] renders a template ([`EmailKind`] × [`Recipient`]) from booking-core's
//!   [`NotificationContext`] into HTML with a plain-text alternative, in the recipient's own
//!   time zone, with the reschedule and cancel links for both attendee and host. Its
//!   `Message-ID` is derived from the outbox idempotency key, so a retried send carries the
//!   same id and receivers (and the `.eml` file mailer) recognise it.
//! - the attached invite comes from the `invite-ics` crate (re-exported as [`invite_ics()`]):
//!   `METHOD:REQUEST` for booked and rescheduled rows, `METHOD:CANCEL` for cancelled ones,
//!   one `UID` per chain and the row's `SEQUENCE`, so calendar clients move or remove the
//!   existing event instead of adding one.
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
mod connections;
mod error;
mod text;
mod transport;

pub use booking_core::effects::{EmailKind, Recipient};
pub use booking_core::ports::NotificationContext;
pub use compose::{compose, compose_written, message_id};
pub use error::MailError;
pub use invite_ics::invite_ics;
pub use lettre::Message;
pub use lettre::message::Mailbox;
pub use transport::{FileMailer, MailNotifier, Mailer, SmtpMailer, mailer_from_url};
