//! The token pages: reschedule, cancel and reconfirm a booking.

use maud::{Markup, html};

use super::book::days;
use super::layout::{layout, window_nav, zone_picker};
use super::{DayView, PickerNav};
use crate::forms::FieldErrors;

#[derive(Debug)]
pub(crate) struct RescheduleView {
    pub(crate) title: String,
    pub(crate) original: String,
    pub(crate) invitee_name: String,
    pub(crate) action: String,
    pub(crate) days: Vec<DayView>,
    pub(crate) nav: PickerNav,
    pub(crate) reason: String,
    pub(crate) notice: Option<String>,
    pub(crate) errors: FieldErrors,
}

pub(crate) fn reschedule(vm: &RescheduleView) -> Markup {
    layout(
        "Reschedule",
        html! {
            h1 { "Reschedule " (vm.title) }
            section.original {
                p { "You are moving the booking of " strong { (vm.invitee_name) } " currently at:" }
                p.when { del { (vm.original) } }
            }
            @if let Some(notice) = &vm.notice { p.notice role="alert" { (notice) } }
            (zone_picker(&vm.nav))
            form method="post" action=(vm.action) {
                input type="hidden" name="tz" value=(vm.nav.zone);
                (days(&vm.days, |slot| html! {
                    label.slot {
                        input type="radio" name="start" value=(slot.start) required;
                        " " (slot.label)
                    }
                }))
                @if let Some(m) = vm.errors.get("start") { p.error { (m) } }
                label for="reason" { "Reason (optional, shared with the host)" }
                textarea #reason name="reason" maxlength="10000" { (vm.reason) }
                @if let Some(m) = vm.errors.get("reason") { p.error { (m) } }
                @if !vm.days.is_empty() { button type="submit" { "Reschedule to the selected time" } }
            }
            (window_nav(&vm.nav))
        },
    )
}

#[derive(Debug)]
pub(crate) enum CancelState {
    /// Ask for confirmation and an optional reason.
    Confirm {
        action: String,
        errors: FieldErrors,
        reason: String,
    },
    /// Already cancelled.
    Cancelled {
        by: String,
        reason: Option<String>,
        at: String,
    },
}

#[derive(Debug)]
pub(crate) struct CancelView {
    pub(crate) title: String,
    pub(crate) when: String,
    pub(crate) state: CancelState,
}

pub(crate) fn cancel(vm: &CancelView) -> Markup {
    match &vm.state {
        CancelState::Confirm {
            action,
            errors,
            reason,
        } => layout(
            "Cancel booking",
            html! {
                h1 { "Cancel " (vm.title) "?" }
                p.when { (vm.when) }
                form method="post" action=(action) {
                    label for="reason" { "Reason (optional, shared with the host)" }
                    textarea #reason name="reason" maxlength="10000" { (reason) }
                    @if let Some(m) = errors.get("reason") { p.error { (m) } }
                    button.danger type="submit" { "Cancel the booking" }
                }
            },
        ),
        CancelState::Cancelled { by, reason, at } => layout(
            "Booking cancelled",
            html! {
                h1 { "This booking is cancelled" }
                p.when { del { (vm.title) ", " (vm.when) } }
                p { "Cancelled by " (by) " on " (at) "." }
                @if let Some(reason) = reason { p { "Reason: " q.reason { (reason) } } }
            },
        ),
    }
}

#[derive(Debug)]
pub(crate) struct ReconfirmView {
    pub(crate) title: String,
    pub(crate) when: String,
    /// `None` once reconfirmed.
    pub(crate) action: Option<String>,
}

pub(crate) fn reconfirm(vm: &ReconfirmView) -> Markup {
    layout(
        "Reconfirm booking",
        html! {
            @match &vm.action {
                Some(action) => {
                    h1 { "Are you still attending?" }
                    p.when { strong { (vm.title) } br; (vm.when) }
                    form method="post" action=(action) {
                        button type="submit" { "Yes, I will attend" }
                    }
                }
                None => {
                    h1 { "Thanks, your booking is reconfirmed" }
                    p.when { strong { (vm.title) } br; (vm.when) }
                }
            }
        },
    )
}
