//! Time zones as people pick them: "(UTC−05:00) New York", a short list of common zones for the
//! first page load, and a search over every zone for when the reader asks for it.

use booking_core::TimeZoneName;
use chrono::{DateTime, Offset, Utc};
use chrono_tz::Tz;

/// Zones offered before the reader asks for more: one or two per populated offset.
const COMMON: &[&str] = &[
    "Pacific/Honolulu",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Athens",
    "Africa/Lagos",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
];

/// Areas of the IANA names people live in (not the `Etc/…` or legacy `US/…` aliases).
const AREAS: &[&str] = &[
    "Africa/",
    "America/",
    "Antarctica/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
];

/// A zone to choose: its IANA name (the value sent) and "(UTC+01:00) Berlin".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZoneChoice {
    pub(crate) name: &'static str,
    pub(crate) label: String,
}

impl ZoneChoice {
    pub(crate) fn of(zone: Tz, now: DateTime<Utc>) -> Self {
        Self {
            name: zone.name(),
            label: format!("({}) {}", utc_offset(zone, now), city(zone.name())),
        }
    }
}

/// "UTC+05:30" / "UTC−05:00" (a real minus sign) at `now`.
pub(crate) fn utc_offset(zone: Tz, now: DateTime<Utc>) -> String {
    let seconds = now.with_timezone(&zone).offset().fix().local_minus_utc();
    let sign = if seconds < 0 { '−' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// "New York" for America/New_York, "Buenos Aires" for America/Argentina/Buenos_Aires.
pub(crate) fn city(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).replace('_', " ")
}

/// The first load's list: the common zones plus the reader's own, by offset.
pub(crate) fn common_zones(current: TimeZoneName, now: DateTime<Utc>) -> Vec<ZoneChoice> {
    let mut zones: Vec<Tz> = COMMON.iter().filter_map(|n| n.parse().ok()).collect();
    if !zones.contains(&current.tz()) {
        zones.push(current.tz());
    }
    sorted(zones.into_iter(), now)
}

/// Every listed zone whose name, city or offset contains `query` (all of them for an empty
/// one), by offset then city.
pub(crate) fn search_zones(query: &str, now: DateTime<Utc>) -> Vec<ZoneChoice> {
    let needle = fold(query);
    let all = chrono_tz::TZ_VARIANTS
        .iter()
        .copied()
        .filter(|z| z.name() == "UTC" || AREAS.iter().any(|a| z.name().starts_with(a)));
    sorted(all, now)
        .into_iter()
        .filter(|c| {
            needle.is_empty() || fold(c.name).contains(&needle) || fold(&c.label).contains(&needle)
        })
        .collect()
}

/// A zone named by the reader: an IANA name, or a city ("new york", "(UTC−05:00) New York")
/// when exactly one listed zone has it.
pub(crate) fn zone_named(text: &str, now: DateTime<Utc>) -> Option<TimeZoneName> {
    if let Ok(zone) = TimeZoneName::parse(text) {
        return Some(zone);
    }
    let wanted = fold(text.rsplit(')').next().unwrap_or(text));
    if wanted.is_empty() {
        return None;
    }
    let mut found = search_zones("", now)
        .into_iter()
        .filter(|c| fold(&city(c.name)) == wanted);
    match (found.next(), found.next()) {
        (Some(only), None) => TimeZoneName::parse(only.name).ok(),
        _ => None,
    }
}

fn sorted(zones: impl Iterator<Item = Tz>, now: DateTime<Utc>) -> Vec<ZoneChoice> {
    let mut keyed: Vec<(i32, String, Tz)> = zones
        .map(|z| {
            (
                now.with_timezone(&z).offset().fix().local_minus_utc(),
                city(z.name()),
                z,
            )
        })
        .collect();
    keyed.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    keyed.dedup_by(|a, b| a.2 == b.2);
    keyed
        .into_iter()
        .map(|(_, _, z)| ZoneChoice::of(z, now))
        .collect()
}

/// Lower case with `_` as a space, for matching what people type.
fn fold(text: &str) -> String {
    text.trim().to_lowercase().replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn winter() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, 15, 12, 0, 0).unwrap()
    }

    #[test]
    fn labels_carry_the_offset_of_the_moment_and_the_city() {
        let ny: Tz = "America/New_York".parse().unwrap();
        assert_eq!(ZoneChoice::of(ny, winter()).label, "(UTC−05:00) New York");
        let summer = Utc.with_ymd_and_hms(2027, 7, 1, 12, 0, 0).unwrap();
        assert_eq!(ZoneChoice::of(ny, summer).label, "(UTC−04:00) New York");
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        assert_eq!(
            ZoneChoice::of(kolkata, winter()).label,
            "(UTC+05:30) Kolkata"
        );
        assert_eq!(city("America/Argentina/Buenos_Aires"), "Buenos Aires");
    }

    #[test]
    fn the_search_finds_cities_and_offsets_and_leaves_out_aliases() {
        let found = search_zones("york", winter());
        assert_eq!(
            found.iter().map(|c| c.name).collect::<Vec<_>>(),
            ["America/New_York"]
        );
        let all = search_zones("", winter());
        assert!(all.len() > 300, "{}", all.len());
        assert!(
            all.iter()
                .all(|c| !c.name.starts_with("US/") && !c.name.starts_with("Etc/"))
        );
        assert!(
            search_zones("UTC+05:30", winter())
                .iter()
                .any(|c| c.name == "Asia/Kolkata")
        );
        let common = common_zones(TimeZoneName::parse("Asia/Kathmandu").unwrap(), winter());
        assert!(common.len() < 20 && common.iter().any(|c| c.name == "Asia/Kathmandu"));
    }

    #[test]
    fn a_city_names_its_zone() {
        let ny = zone_named("new york", winter()).unwrap();
        assert_eq!(ny.name(), "America/New_York");
        assert_eq!(zone_named("(UTC−05:00) New York", winter()), Some(ny));
        assert_eq!(
            zone_named("Europe/Berlin", winter()).unwrap().name(),
            "Europe/Berlin"
        );
        assert_eq!(zone_named("Atlantis", winter()), None);
    }
}
