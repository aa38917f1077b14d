//! What the SQLite and Postgres stores share: sealing reschedule tokens at rest, the row
//! shapes both schemas have in common, and their mapping to and from the domain.
//!
//! The stores differ in SQL dialect and in how they keep two writers apart (SQLite serialises
//! writers and checks overlaps itself; Postgres has an exclusion constraint), but not in what
//! a row holds. Keeping the row types here means a column added to one store is added to the
//! other by the compiler's insistence, and the conformance suite checks both.

mod rows;
mod seal;

pub use rows::{
    BookingRow, DeadRow, EncodedBooking, EncodedLink, HostRow, LinkRow, OutboxRow, effect_chain,
    encode_booking, encode_link,
};
pub use seal::{SealError, TokenSeal};

use booking_core::ports::StoreError;

/// Wraps a database error with what the store was doing, for [`StoreError`]'s cause chain.
pub fn db_error(context: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| StoreError::new(context, e)
}

/// The columns of `scheduling_calendar_events` that [`BookingRow`] reads, in one list so every
/// select of both stores reads the same shape.
#[macro_export]
macro_rules! booking_columns {
    () => {
        "id, chain_id, host_id, link_id, start_at, end_at, blocked_start, blocked_end, status, \
         status_changed_at, next_id, cancelled_by, cancel_reason, previous_id, rescheduled_by, \
         reschedule_reason, token_sealed, invitee_name, invitee_email, invitee_phone, \
         invitee_time_zone, answers, tracking, provider, provider_event_id, reconfirm_by, \
         reconfirmed_at, ics_sequence, version, created_at"
    };
}

/// The columns of `booking_links` that [`LinkRow`] reads.
#[macro_export]
macro_rules! link_columns {
    () => {
        "id, host_id, slug, title, time_zone, weekly_hours, date_overrides, duration_minutes, \
         interval_minutes, buffer_before_minutes, buffer_after_minutes, minimum_notice_minutes, \
         max_days_ahead, reconfirm_ask_minutes, reconfirm_cancel_minutes, create_deal, questions, \
         description, location"
    };
}

/// The columns of `outbox` that [`OutboxRow`] reads.
#[macro_export]
macro_rules! outbox_columns {
    () => {
        "key, effect, booking_id, chain_id, attempts, due_at"
    };
}
