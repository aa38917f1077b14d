//! Slotkeeper's booking domain: bookings and their state machine, reschedule tokens,
//! availability, and the use cases that run them behind ports.
//!
//! The crate does no I/O. Time comes through [`ports::Clock`], randomness through
//! [`ports::TokenSource`], storage through [`ports::BookingStore`] and external busy times
//! through [`ports::BusyCalendar`]. A use case returns the state change plus the effects it
//! implies ([`effects::Effect`]: emails, calendar operations, webhooks, CRM deals); the store
//! commits both in one transaction (the outbox) and the application's workers deliver them.
//!
//! # Map
//!
//! - [`booking`]: a booking row and the transition table (confirmed, rescheduled, cancelled,
//!   no-show); every transition returns a [`Transition`] or a typed refusal.
//! - [`slots`]: the slot engine over [`availability::AvailabilityRules`] (IANA zones, DST).
//! - [`service::Scheduler`]: the use cases — slots, book, reschedule/cancel/reconfirm by
//!   token, host cancel, no-show, calendar-side changes, reconfirmation expiry.
//! - [`reconfirmation`]: when a reconfirmation request may still go out, and where a booking
//!   stands with it (a booking is auto-cancelled only after a delivered request).
//! - [`ports`]: the traits adapters implement; [`record`]: the flat rows stores keep.
//! - [`accounts`]: host logins (password hashes as PHC strings) and API keys (stored hashed);
//!   [`deals`]: the CRM deal a booking opens, one per meeting, never touched by cancel;
//!   [`sessions`]: host sessions in the store (ended by logout and password changes).
//! - [`text_replies`]: replies to text messages — STOP/START opt-outs, callback signatures.
//! - `testkit` (feature): an in-memory store, a manual clock, sequential tokens, the
//!   reference-model test and the store conformance suite.
//!
//! # Embedding
//!
//! Book, reschedule and cancel on the in-memory store (with a real store, pass
//! `store_sqlite::SqliteStore` or `store_postgres::PostgresStore` instead):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use booking_core::availability::{AvailabilityRules, DayPeriod, RulesDraft};
//! use booking_core::invitee::{Answers, Email, Invitee, PersonName, Reason, Tracking};
//! use booking_core::link::{BookingLink, Host, LinkSettings, Slug};
//! use booking_core::ports::BookingStore;
//! use booking_core::service::BookingRequest;
//! use booking_core::testkit::{FixedBusy, InMemoryStore, ManualClock, SequentialTokens};
//! use booking_core::{HostId, LinkId, Scheduler, Status, TimeRange, TimeZoneName};
//! use chrono::{TimeDelta, TimeZone, Utc};
//!
//! let zone = TimeZoneName::parse("Europe/Berlin")?;
//! let store = InMemoryStore::new();
//! let host = Host::new(HostId::from_uuid(uuid::Uuid::from_u128(1)), PersonName::parse("Hana")?, Email::parse("hana@example.com")?, zone);
//! store.save_host(&host).await?;
//! let rules = AvailabilityRules::new(RulesDraft::weekdays(zone, DayPeriod::parse("09:00-17:00")?, TimeDelta::minutes(30)))?;
//! let settings = LinkSettings { title: "Intro call".into(), rules, reconfirmation: None, create_deal: false, questions: vec![] };
//! let slug = Slug::parse("intro")?;
//! store.save_link(&BookingLink::new(LinkId::from_uuid(uuid::Uuid::from_u128(2)), host.id(), slug.clone(), settings)?).await?;
//!
//! // Monday 2027-03-01, 08:00 UTC.
//! let clock = ManualClock::at(Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap());
//! let scheduler = Scheduler::new(store.clone(), clock, SequentialTokens::new(), FixedBusy::default());
//!
//! let today = TimeRange::new(Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap(), Utc.with_ymd_and_hms(2027, 3, 2, 0, 0, 0).unwrap())?;
//! let slots = scheduler.available_slots(&slug, today).await?;
//! // 09:00 in Berlin is 08:00 UTC in winter: the first of 16 slots that day.
//! assert_eq!(slots[0].start(), Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap());
//! assert_eq!(slots.len(), 16);
//!
//! let invitee = Invitee::new(PersonName::parse("Ada")?, Email::parse("ada@example.org")?, None, TimeZoneName::parse("America/New_York")?);
//! let request = BookingRequest { start: slots[1].start(), invitee, answers: Answers::default(), tracking: Tracking::default() };
//! let booked = scheduler.book(&slug, request).await?;
//!
//! let token = booked.token().expose().to_owned(); // goes into the attendee's email link
//! let moved = scheduler.reschedule(&token, slots[3].start(), Reason::parse_optional(Some("clash"))?).await?;
//! assert_eq!(moved.chain(), booked.chain());
//! assert!(scheduler.reschedule(&token, slots[4].start(), None).await.is_err()); // the old token is dead
//!
//! let cancelled = scheduler.cancel(moved.token().expose(), None).await?;
//! assert!(matches!(cancelled.status(), Status::Cancelled(_)));
//! assert_eq!(store.outbox().len(), 4 + 4 + 4); // booked, rescheduled, cancelled: 2 mails, calendar, webhook each
//! # Ok(()) }
//! ```

pub mod accounts;
pub mod availability;
pub mod booking;
pub mod calendar;
pub mod calendar_sync;
pub mod connections;
pub mod deals;
pub mod desk;
pub mod effects;
pub mod ids;
pub mod invitee;
pub mod leases;
pub mod link;
pub mod ports;
pub mod read_cache;
pub mod reconfirmation;
pub mod record;
pub mod service;
pub mod sessions;
pub mod slots;
pub mod subscriptions;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod text;
pub mod text_replies;
pub mod time;
pub mod token;
pub mod workflows;

pub use booking::{Actor, Booking, Status, TokenRefusal, Transition};
pub use ids::{BookingId, ChainId, HostId, LinkId};
pub use service::Scheduler;
pub use time::{TimeRange, TimeZoneName};
pub use token::RescheduleToken;
