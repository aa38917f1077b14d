//! The production adapters of the small ports: the system clock, the OS CSPRNG (tokens, ids
//! and the dispatcher's retry jitter), and the external-calendar port for hosts with no
//! calendar connected.

use async_trait::async_trait;
use booking_core::ports::{BusyCalendar, BusyCalendarError, Clock, TokenSource};
use booking_core::{BookingId, HostId, RescheduleToken, TimeRange};
use chrono::{DateTime, Utc};

/// Reads the system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Tokens and ids from the operating system's CSPRNG.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // Without the OS's randomness no safe token can be made: stop rather than go on weakly.
    if let Err(e) = getrandom::fill(&mut bytes) {
        panic!("the OS random source failed: {e}");
    }
    bytes
}

impl TokenSource for OsRandom {
    fn new_token(&self) -> RescheduleToken {
        RescheduleToken::from_bytes(random())
    }

    fn new_booking_id(&self) -> BookingId {
        BookingId::from_uuid(uuid::Builder::from_random_bytes(random()).into_uuid())
    }
}

/// This process's name among the instances on one database (for job leases): the host name
/// and process id, with a random suffix so a restarted process is a new holder.
pub fn instance_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    let suffix: [u8; 4] = random_bytes();
    format!(
        "{host}:{}:{:02x}{:02x}{:02x}{:02x}",
        std::process::id(),
        suffix[0],
        suffix[1],
        suffix[2],
        suffix[3]
    )
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // A failing OS random source only makes the suffix less unique; the pid still is.
    let _ = getrandom::fill(&mut bytes);
    bytes
}

/// A uniform number in `[0, 1)` from the OS CSPRNG, to spread the dispatcher's retries.
pub fn os_jitter() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    // 53 random bits make every f64 in [0, 1) with equal spacing.
    #[allow(clippy::cast_precision_loss, reason = "53 bits fit an f64 exactly")]
    let value = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
    value
}

/// The busy times of a host with no Google or Microsoft calendar connected: none beyond their
/// Slotkeeper bookings, which the store already supplies.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoConnectedCalendars;

#[async_trait]
impl BusyCalendar for NoConnectedCalendars {
    async fn busy(
        &self,
        _host: HostId,
        _within: TimeRange,
    ) -> Result<Vec<TimeRange>, BusyCalendarError> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_tokens_parse_and_do_not_repeat() {
        let tokens: std::collections::HashSet<String> = (0..1000)
            .map(|_| OsRandom.new_token().expose().to_owned())
            .collect();
        assert_eq!(tokens.len(), 1000);
        assert!(tokens.iter().all(|t| RescheduleToken::parse(t).is_ok()));
        assert_eq!(OsRandom.new_booking_id().as_uuid().get_version_num(), 4);
    }

    #[test]
    fn jitter_stays_in_range_and_varies() {
        let values: Vec<f64> = (0..100).map(|_| os_jitter()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        assert!(values.iter().any(|v| (v - values[0]).abs() > f64::EPSILON));
    }
}
