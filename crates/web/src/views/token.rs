//! The token pages: reschedule, cancel and reconfirm a booking.

use maud::{Markup, html};

use super::layout::layout;
use super::picker::{Form, day, display, kept, meeting};
use super::{LocationView, MeetingView, PickerView, SlotView};
use crate::forms::FieldErrors;

#[derive(Debug)]
pub(crate) struct RescheduleView {
    pub(crate) meeting: MeetingView,
    pub(crate) original: String,
    pub(crate) invitee_name: String,
    pub(crate) action: String,
    pub(crate) picker: PickerView,
    /// The start chosen so far (kept while the reader looks at other days).
    pub(crate) chosen: Option<String>,
    /// The chosen time when it is not on the day shown: "Thursday, March 4, 10:00 AM".
    pub(crate) chosen_elsewhere: Option<SlotView>,
    pub(crate) reason: String,
    pub(crate) notice: Option<String>,
    pub(crate) errors: FieldErrors,
}

pub(crate) fn reschedule(vm: &RescheduleView) -> Markup {
    let picker = &vm.picker;
    let chosen = vm.chosen.as_deref();
    layout(
        "Reschedule",
        html! {
            div.booking.reschedule {
                section.about {
                    (meeting(&vm.meeting))
                    div.original {
                        p { "Moving the booking of " strong { (vm.invitee_name) } ", now at:" }
                        p.when { del { (vm.original) } }
                    }
                }
                form.picker method="post" action=(vm.action) {
                    @if let Some(notice) = &vm.notice { p.notice role="alert" { (notice) } }
                    (display(&picker.display, Form::Post))
                    div.cal { (super::picker::month(&picker.month, Form::Post)) }
                    div.times {
                        (day(picker.day.as_ref(), Form::Post, |s| html! {
                            label.slot {
                                input type="radio" name="start" value=(s.start) required checked[chosen == Some(s.start.as_str())];
                                " " (s.label)
                            }
                        }))
                    }
                    div.send {
                        @if let Some(s) = &vm.chosen_elsewhere {
                            p.chosen {
                                label.slot {
                                    input type="radio" name="start" value=(s.start) required checked;
                                    " " (s.label)
                                }
                            }
                        }
                        @if let Some(m) = vm.errors.get("start") { p.error { (m) } }
                        label for="reason" { "Reason (optional, shared with the host)" }
                        textarea #reason name="reason" maxlength="10000" { (vm.reason) }
                        @if let Some(m) = vm.errors.get("reason") { p.error { (m) } }
                        button type="submit" { "Reschedule to the selected time" }
                    }
                    (kept(&picker.month.value, picker.day.as_ref().map(|d| d.date.as_str()), &[]))
                }
            }
        },
    )
}

/// Where and what, under a token page's heading: the host, the place and the description.
pub(crate) fn meeting_facts(vm: &MeetingView) -> Markup {
    html! {
        ul.facts {
            @if !vm.host_name.is_empty() { li { "With " (vm.host_name) } }
            @match &vm.location {
                Some(LocationView::Join(url)) => li {
                    a.join href=(url) rel="noopener noreferrer" { "Join online" }
                    " " span.where { (url) }
                },
                Some(LocationView::Place(place)) => li.where { (place) },
                None => {}
            }
        }
        @if let Some(text) = &vm.description { p.description { (text) } }
    }
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
    pub(crate) meeting: MeetingView,
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
                (meeting_facts(&vm.meeting))
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
                (meeting_facts(&vm.meeting))
                p { "Cancelled by " (by) " on " (at) "." }
                @if let Some(reason) = reason { p { "Reason: " q.reason { (reason) } } }
            },
        ),
    }
}

#[derive(Debug)]
pub(crate) struct ReconfirmView {
    pub(crate) title: String,
    pub(crate) meeting: MeetingView,
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
                    (meeting_facts(&vm.meeting))
                    form method="post" action=(action) {
                        button type="submit" { "Yes, I will attend" }
                    }
                }
                None => {
                    h1 { "Thanks, your booking is reconfirmed" }
                    p.when { strong { (vm.title) } br; (vm.when) }
                    (meeting_facts(&vm.meeting))
                }
            }
        },
    )
}
