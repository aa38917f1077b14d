//! Pages as functions from a view model to markup, all wrapped by [`layout::layout`].

pub(crate) mod book;
pub(crate) mod home;
pub(crate) mod host;
pub(crate) mod layout;
pub(crate) mod message;
pub(crate) mod token;

/// One day of a slot picker.
#[derive(Debug, Clone)]
pub(crate) struct DayView {
    pub(crate) label: String,
    pub(crate) slots: Vec<SlotView>,
}

/// One offered slot.
#[derive(Debug, Clone)]
pub(crate) struct SlotView {
    /// RFC 3339 UTC start, the value posted back.
    pub(crate) start: String,
    /// "09:30" in the reader's zone.
    pub(crate) label: String,
}

/// The time zone chooser and window paging shared by the pickers.
#[derive(Debug, Clone)]
pub(crate) struct PickerNav {
    pub(crate) zone: String,
    pub(crate) from: String,
    pub(crate) earlier: Option<String>,
    pub(crate) later: String,
    /// Extra query pairs to keep when the zone or window changes (UTM parameters).
    pub(crate) keep: Vec<(String, String)>,
}
