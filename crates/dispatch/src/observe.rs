//! The dispatcher's metrics, through the `metrics` facade (the binary installs the recorder
//! and renders `/metrics`; without one, recording costs next to nothing). Names and labels are
//! listed in docs/OPERATIONS.md; every label takes a value from a small fixed set.

use booking_core::effects::Effect;
use booking_core::ports::FailureOutcome;

/// Deliveries by effect kind and result (`delivered`, `skipped`, `failed`).
pub const DELIVERIES: &str = "slotkeeper_outbox_deliveries_total";
/// Failed attempts that will be tried again, by effect kind.
pub const RETRIES: &str = "slotkeeper_outbox_retries_total";
/// Entries that died (their last attempt failed) in this process, by effect kind.
pub const DIED: &str = "slotkeeper_outbox_dead_total";
/// Failed calendar jobs (`sync`, `poll`, `renewal`).
pub const CALENDAR_SYNC_ERRORS: &str = "slotkeeper_calendar_sync_errors_total";

/// The effect's family: `email`, `text`, `step` (a link's own workflow step), `calendar`,
/// `webhook` or `deal` (the first part of its code, never anything about the booking).
pub(crate) fn kind_of(effect: &Effect) -> &'static str {
    match effect {
        Effect::Email { .. } | Effect::ResendLinks { .. } => "email",
        Effect::Calendar { .. } => "calendar",
        Effect::Webhook { .. } => "webhook",
        Effect::CreateDeal { .. } => "deal",
        Effect::Text { .. } => "text",
        Effect::Step { .. } => "step",
    }
}

/// Counts one delivery attempt's result.
pub(crate) fn delivery(kind: &'static str, result: &'static str) {
    metrics::counter!(DELIVERIES, "kind" => kind, "result" => result).increment(1);
}

/// Counts a failed attempt by what follows it.
pub(crate) fn failure(kind: &'static str, outcome: FailureOutcome) {
    delivery(kind, "failed");
    match outcome {
        FailureOutcome::RetryAt(_) => metrics::counter!(RETRIES, "kind" => kind).increment(1),
        FailureOutcome::Dead => metrics::counter!(DIED, "kind" => kind).increment(1),
    }
}

/// Counts a failed calendar job.
pub(crate) fn calendar_sync_failed(job: &'static str) {
    metrics::counter!(CALENDAR_SYNC_ERRORS, "job" => job).increment(1);
}
