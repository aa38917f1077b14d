//! Pages as functions from a view model to markup, all wrapped by [`layout::layout`].

pub(crate) mod book;
pub(crate) mod home;
pub(crate) mod host;
pub(crate) mod layout;
pub(crate) mod message;
pub(crate) mod picker;
pub(crate) mod token;

use crate::present::{HourCycle, ZoneChoice};

/// One offered slot.
#[derive(Debug, Clone)]
pub(crate) struct SlotView {
    /// RFC 3339 UTC start, the value sent back.
    pub(crate) start: String,
    /// "9:30 AM" or "09:30" in the reader's zone and clock.
    pub(crate) label: String,
}

/// The meeting as the left column shows it: who, what, how long, where.
#[derive(Debug, Clone, Default)]
pub(crate) struct MeetingView {
    pub(crate) host_name: String,
    /// Up to two letters for the photo-less avatar.
    pub(crate) initials: String,
    pub(crate) title: String,
    pub(crate) duration_minutes: i64,
    pub(crate) location: Option<LocationView>,
    /// Shown with its line breaks.
    pub(crate) description: Option<String>,
}

/// Where the meeting happens: a URL becomes a "Join" link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LocationView {
    Join(String),
    Place(String),
}

impl LocationView {
    pub(crate) fn of(location: &str) -> Self {
        let url = location.trim();
        let is_web = ["https://", "http://"]
            .iter()
            .any(|p| url.len() > p.len() && url[..p.len()].eq_ignore_ascii_case(p))
            && !url.contains(char::is_whitespace);
        if is_web {
            Self::Join(url.to_owned())
        } else {
            Self::Place(location.to_owned())
        }
    }
}

/// The zone and clock controls.
#[derive(Debug, Clone)]
pub(crate) struct DisplayView {
    /// The IANA name of the zone times are shown in.
    pub(crate) zone: String,
    /// The short first-load list (the current zone among them).
    pub(crate) zones: Vec<ZoneChoice>,
    pub(crate) clock: HourCycle,
    /// Said when the zone asked for is unknown.
    pub(crate) notice: Option<String>,
    /// Whether the browser may pick the zone (the reader named none).
    pub(crate) autodetect: bool,
}

/// A month of days, Monday first.
#[derive(Debug, Clone)]
pub(crate) struct MonthView {
    /// "March 2027".
    pub(crate) label: String,
    /// "2027-03", carried by the form.
    pub(crate) value: String,
    /// Weeks of seven cells; `None` pads before the 1st and after the last day.
    pub(crate) weeks: Vec<Vec<Option<DayCell>>>,
    /// "2027-02", when the reader may go back.
    pub(crate) previous: Option<String>,
    pub(crate) next: Option<String>,
}

/// One day of the month grid.
#[derive(Debug, Clone)]
pub(crate) struct DayCell {
    /// "2027-03-04".
    pub(crate) date: String,
    pub(crate) day: u32,
    /// It has at least one free time.
    pub(crate) open: bool,
    pub(crate) selected: bool,
    pub(crate) today: bool,
}

/// The chosen day's times.
#[derive(Debug, Clone)]
pub(crate) struct DayTimes {
    /// "Thursday, March 4".
    pub(crate) label: String,
    pub(crate) date: String,
    pub(crate) times: Vec<SlotView>,
    /// Where the day's times continue when one page did not hold them all.
    pub(crate) more: Option<String>,
}

/// The whole picker: controls, month, day.
#[derive(Debug, Clone)]
pub(crate) struct PickerView {
    pub(crate) display: DisplayView,
    pub(crate) month: MonthView,
    pub(crate) day: Option<DayTimes>,
}
