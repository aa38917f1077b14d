//! Slotkeeper's booking domain: bookings and their state machine, reschedule tokens,
//! availability, and the use cases that run them behind ports.
//!
//! The crate does no I/O: time comes through [`ports::Clock`], randomness through
//! [`ports::TokenSource`], storage through [`ports::BookingStore`] and external busy times
//! through [`ports::BusyCalendar`]. A use case returns the state change plus the effects it
//! implies ([`effects::Effect`]); the store commits both atomically and the binary's workers
//! deliver the effects.

pub mod availability;
pub mod booking;
pub mod effects;
pub mod ids;
pub mod invitee;
pub mod link;
pub mod ports;
pub mod record;
pub mod service;
pub mod slots;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod time;
pub mod token;

pub use booking::{Actor, Booking, Status, TokenRefusal, Transition};
pub use ids::{BookingId, ChainId, HostId, LinkId};
pub use service::Scheduler;
pub use time::{TimeRange, TimeZoneName};
pub use token::RescheduleToken;
