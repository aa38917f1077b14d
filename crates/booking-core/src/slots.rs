//! The slot engine: which start times a link offers in a window, given what is already busy.

use chrono::{DateTime, Utc};

use crate::availability::AvailabilityRules;
use crate::time::TimeRange;

/// The slots `rules` offer inside `window`, earliest first.
///
/// `busy` holds ranges the host cannot be booked in, in any order, possibly overlapping:
/// the buffered ranges of other confirmed bookings and external busy times. A slot is offered
/// when it lies within working hours in the rules' zone, its start is within `window`, at least
/// the minimum notice after `now` and inside the horizon, and the slot grown by its buffers
/// overlaps nothing busy.
pub fn offered_slots(
    rules: &AvailabilityRules,
    window: &TimeRange,
    now: DateTime<Utc>,
    busy: &[TimeRange],
) -> Vec<TimeRange> {
    let _ = (rules, window, now, busy);
    Vec::new() // being written: see the availability helper's task
}
