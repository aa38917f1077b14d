//! The booking flow: slot picker, the invitee form, and the confirmation.

use maud::{Markup, html};

use super::layout::{layout, window_nav, zone_picker};
use super::message::{NextStep, PlaceView, meeting_details, next_step};
use super::{DayView, PickerNav};
use crate::forms::FieldErrors;

#[derive(Debug)]
pub(crate) struct SlotPickerView {
    pub(crate) title: String,
    pub(crate) duration_minutes: i64,
    pub(crate) days: Vec<DayView>,
    pub(crate) nav: PickerNav,
    /// Base of each slot's link; the slot start is appended as `start=`.
    pub(crate) slot_href: String,
    pub(crate) notice: Option<String>,
}

pub(crate) fn slot_picker(vm: &SlotPickerView) -> Markup {
    layout(
        &vm.title,
        html! {
            h1 { (vm.title) }
            p.meta { (vm.duration_minutes) " minutes" }
            @if let Some(notice) = &vm.notice { p.notice role="alert" { (notice) } }
            (zone_picker(&vm.nav))
            (days(&vm.days, |start| html! {
                a.slot href={ (vm.slot_href) "&start=" (start.start) } { (start.label) }
            }))
            (window_nav(&vm.nav))
        },
    )
}

/// Days with their slots, or a message when there are none.
pub(crate) fn days(days: &[DayView], slot: impl Fn(&super::SlotView) -> Markup) -> Markup {
    html! {
        @if days.is_empty() {
            p.empty { "No free times in this period. Try later dates." }
        }
        @for day in days {
            section.day {
                h2 { (day.label) }
                ul.slots {
                    @for s in &day.slots { li { (slot(s)) } }
                }
            }
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct BookingFormView {
    pub(crate) title: String,
    pub(crate) slug: String,
    pub(crate) when: String,
    pub(crate) start: String,
    pub(crate) zone: String,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) phone: String,
    pub(crate) questions: Vec<QuestionField>,
    pub(crate) tracking: Vec<(String, String)>,
    pub(crate) errors: FieldErrors,
    pub(crate) back: String,
    /// Whether texts (SMS) are configured, so the phone field may promise them.
    pub(crate) texts_offered: bool,
}

/// One of the link's questions on the form, with the answer typed so far.
#[derive(Debug, Clone)]
pub(crate) struct QuestionField {
    pub(crate) text: String,
    pub(crate) required: bool,
    pub(crate) answer: String,
}

impl QuestionField {
    pub(crate) fn of(question: booking_core::link::Question<'_>, answer: String) -> Self {
        Self {
            text: question.text.to_owned(),
            required: question.required,
            answer,
        }
    }
}

fn field_error(errors: &FieldErrors, field: &str) -> Markup {
    html! {
        @if let Some(message) = errors.get(field) {
            span.error id={ (field) "-error" } { (message) }
        }
    }
}

pub(crate) fn booking_form(vm: &BookingFormView) -> Markup {
    layout(
        &vm.title,
        html! {
            h1 { (vm.title) }
            p.when { (vm.when) }
            @if !vm.errors.is_empty() {
                p.notice role="alert" { "Please correct the fields marked below." }
                @if let Some(m) = vm.errors.get("start") { p.error { (m) } }
            }
            form method="post" action={ "/book/" (vm.slug) } {
                input type="hidden" name="start" value=(vm.start);
                input type="hidden" name="tz" value=(vm.zone);
                @for (k, v) in &vm.tracking { input type="hidden" name=(k) value=(v); }
                label for="name" { "Your name" }
                input #name name="name" required maxlength="200" value=(vm.name) autocomplete="name";
                (field_error(&vm.errors, "name"))
                label for="email" { "Email" }
                input #email type="email" name="email" required value=(vm.email) autocomplete="email";
                (field_error(&vm.errors, "email"))
                (phone_field(vm))
                @for (i, q) in vm.questions.iter().enumerate() {
                    label for={ "q" (i) } { (q.text) @if q.required { " *" } }
                    textarea id={ "q" (i) } name={ "q" (i) } maxlength="2000" required[q.required] { (q.answer) }
                }
                (field_error(&vm.errors, "answers"))
                (field_error(&vm.errors, "timezone"))
                button type="submit" { "Confirm booking" }
            }
            p { a href=(vm.back) { "← Pick another time" } }
        },
    )
}

/// The phone field: it promises text messages only when they can be sent.
fn phone_field(vm: &BookingFormView) -> Markup {
    html! {
        label for="phone" { "Phone (optional, with + and country code)" }
        input #phone type="tel" name="phone" value=(vm.phone) autocomplete="tel"
            placeholder="+44 20 7946 0958" aria-describedby="phone-hint";
        @if vm.texts_offered {
            small #phone-hint { "We may text you about this booking. Reply STOP to any text to stop them." }
        } @else {
            small #phone-hint { "For the host to reach you; no text messages are sent." }
        }
        (field_error(&vm.errors, "phone"))
    }
}

#[derive(Debug)]
pub(crate) struct ConfirmedView {
    pub(crate) heading: String,
    pub(crate) title: String,
    pub(crate) host_name: String,
    pub(crate) when: String,
    pub(crate) place: Option<PlaceView>,
    pub(crate) about: Option<String>,
    pub(crate) state: ConfirmedState,
}

/// Where the booking a confirmation link names stands now.
#[derive(Debug)]
pub(crate) enum ConfirmedState {
    /// On: the invite and the token links.
    Live {
        invitee_email: String,
        ics_href: String,
        reschedule_href: String,
        cancel_href: String,
    },
    /// Called off: by whom, when, why, and what now.
    Cancelled {
        by: String,
        at: String,
        reason: Option<String>,
        next: NextStep,
    },
    /// Moved: the time it has now (this link's token no longer acts, and the new one is only
    /// in the attendee's mail).
    Moved { now: String, next: NextStep },
}

pub(crate) fn confirmed(vm: &ConfirmedView) -> Markup {
    layout(
        &vm.heading,
        html! {
            h1 { (vm.heading) }
            p.when { strong { (vm.title) } " with " (vm.host_name) br; (vm.when) }
            (meeting_details(vm.place.as_ref(), vm.about.as_deref()))
            @match &vm.state {
                ConfirmedState::Live { invitee_email, ics_href, reschedule_href, cancel_href } => {
                    p { "A confirmation with a calendar invitation is on its way to " (invitee_email) "." }
                    p { a.button href=(ics_href) download="invite.ics" { "Add to calendar (.ics)" } }
                    p.manage {
                        "Need a change? "
                        a #reschedule href=(reschedule_href) { "Reschedule" }
                        " or "
                        a #cancel href=(cancel_href) { "cancel" }
                        " — these links work until the meeting starts, so keep them private."
                    }
                }
                ConfirmedState::Cancelled { by, at, reason, next } => {
                    p.state #cancelled { "This booking was cancelled by " (by) " on " (at) "." }
                    @if let Some(reason) = reason {
                        p.about { "Reason: " (reason) }
                    }
                    (next_step(Some(next)))
                }
                ConfirmedState::Moved { now, next } => {
                    p.state #moved { "This booking was moved. It is now on " strong { (now) } "." }
                    p { "The new confirmation, with its own links to reschedule or cancel, was sent to the attendee by email." }
                    (next_step(Some(next)))
                }
            }
        },
    )
}
