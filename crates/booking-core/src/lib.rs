//! Slotkeeper's booking domain: bookings and their state machine, reschedule tokens,
//! availability, and the use cases that run them behind ports.

pub mod availability;
pub mod slots;
pub mod time;
