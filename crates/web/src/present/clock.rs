//! The time of day as a reader reads it: a 12- or 24-hour clock, chosen from their language
//! (`Accept-Language`) unless they pick one, and written without format strings per slot.

use chrono::{NaiveTime, Timelike};

/// A 12-hour ("9:30 AM") or 24-hour ("09:30") clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HourCycle {
    H12,
    H24,
}

/// Regions whose people read a 12-hour clock by default (CLDR's `h` time formats).
const TWELVE_HOUR_REGIONS: &[&str] = &[
    "US", "CA", "AU", "NZ", "IN", "PH", "PK", "BD", "EG", "SA", "MY", "CO", "MX", "KR", "TW", "HK",
    "JO", "IQ", "SY", "PR", "SV", "HN", "NI", "VE",
];
/// Languages read with a 12-hour clock when no region is given.
const TWELVE_HOUR_LANGUAGES: &[&str] = &["en", "ko", "hi", "ar", "bn", "ur", "fil"];

impl HourCycle {
    /// `clock=12` or `clock=24`.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "12" => Some(Self::H12),
            "24" => Some(Self::H24),
            _ => None,
        }
    }

    /// The query value naming this clock.
    pub(crate) fn param(self) -> &'static str {
        match self {
            Self::H12 => "12",
            Self::H24 => "24",
        }
    }

    /// The clock of the first language of an `Accept-Language` header (24-hour without one).
    pub(crate) fn from_accept_language(header: Option<&str>) -> Self {
        let Some(tag) = header.and_then(first_language) else {
            return Self::H24;
        };
        let mut parts = tag.split(['-', '_']);
        let language = parts.next().unwrap_or_default().to_ascii_lowercase();
        let region = parts
            .find(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_alphabetic()))
            .map(str::to_ascii_uppercase);
        let twelve = match region {
            // English outside the 12-hour regions (en-GB, en-IE, en-DE…) reads 24 hours.
            Some(region) => TWELVE_HOUR_REGIONS.contains(&region.as_str()),
            None => TWELVE_HOUR_LANGUAGES.contains(&language.as_str()),
        };
        if twelve { Self::H12 } else { Self::H24 }
    }

    /// `time` on this clock: "9:05 AM" or "09:05".
    pub(crate) fn write(self, time: NaiveTime, out: &mut String) {
        let (hour, minute) = (time.hour(), time.minute());
        match self {
            Self::H24 => push_two(out, hour),
            Self::H12 => {
                let h = match hour % 12 {
                    0 => 12,
                    h => h,
                };
                if h >= 10 {
                    out.push(char::from(b'1'));
                }
                out.push(digit(h % 10));
            }
        }
        out.push(':');
        push_two(out, minute);
        if self == Self::H12 {
            out.push_str(if hour < 12 { " AM" } else { " PM" });
        }
    }

    /// `time` on this clock, as a new string.
    pub(crate) fn label(self, time: NaiveTime) -> String {
        let mut out = String::with_capacity(8);
        self.write(time, &mut out);
        out
    }
}

/// The highest-weighted language of the header (the first of equal ones), not `*`.
fn first_language(header: &str) -> Option<&str> {
    let mut best: Option<(&str, f32)> = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        let weight = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if tag.is_empty() || tag == "*" || weight <= 0.0 {
            continue;
        }
        if best.is_none_or(|(_, w)| weight > w) {
            best = Some((tag, weight));
        }
    }
    best.map(|(tag, _)| tag)
}

fn digit(n: u32) -> char {
    char::from_digit(n, 10).unwrap_or('0')
}

fn push_two(out: &mut String, n: u32) {
    out.push(digit(n / 10 % 10));
    out.push(digit(n % 10));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn both_clocks_write_every_hour_right() {
        let twelve: Vec<String> = [0, 1, 9, 11, 12, 13, 23]
            .iter()
            .map(|h| HourCycle::H12.label(t(*h, 5)))
            .collect();
        assert_eq!(
            twelve,
            [
                "12:05 AM", "1:05 AM", "9:05 AM", "11:05 AM", "12:05 PM", "1:05 PM", "11:05 PM"
            ]
        );
        assert_eq!(HourCycle::H24.label(t(0, 0)), "00:00");
        assert_eq!(HourCycle::H24.label(t(9, 30)), "09:30");
        assert_eq!(HourCycle::H24.label(t(23, 55)), "23:55");
    }

    #[test]
    fn the_clock_follows_the_first_language() {
        let of = |h: &str| HourCycle::from_accept_language(Some(h));
        assert_eq!(of("en-US,en;q=0.9"), HourCycle::H12);
        assert_eq!(of("en-GB,en;q=0.9"), HourCycle::H24);
        assert_eq!(of("de-DE,de;q=0.9,en;q=0.8"), HourCycle::H24);
        assert_eq!(of("fr;q=0.5, en-US;q=0.9"), HourCycle::H12);
        assert_eq!(of("en"), HourCycle::H12);
        assert_eq!(of("zh-Hant-TW"), HourCycle::H12);
        assert_eq!(of("*"), HourCycle::H24);
        assert_eq!(HourCycle::from_accept_language(None), HourCycle::H24);
    }
}
