//! The booking flow: the month picker beside the meeting's details, the invitee form, and the
//! confirmation.

use maud::{Markup, html};

use super::layout::layout;
use super::message::{NextStep, PlaceView, meeting_details, next_step};
use super::picker::{Form, day, display, kept, meeting, month};
use super::{DayTimes, MeetingView, PickerView};
use crate::forms::FieldErrors;

#[derive(Debug)]
pub(crate) struct BookingPageView {
    pub(crate) meeting: MeetingView,
    pub(crate) picker: PickerView,
    /// The page's own path, which every picker button asks again.
    pub(crate) action: String,
    /// UTM pairs to keep.
    pub(crate) keep: Vec<(String, String)>,
}

pub(crate) fn booking_page(vm: &BookingPageView) -> Markup {
    let picker = &vm.picker;
    layout(
        &vm.meeting.title,
        html! {
            div.booking {
                section.about { (meeting(&vm.meeting)) }
                form.picker method="get" action=(vm.action) {
                    (display(&picker.display, Form::Get))
                    div.cal { (month(&picker.month, Form::Get)) }
                    div.times {
                        (day(picker.day.as_ref(), Form::Get, |s| html! {
                            button name="start" value=(s.start) { (s.label) }
                        }))
                    }
                    (kept(&picker.month.value, picker.day.as_ref().map(|d| d.date.as_str()), &vm.keep))
                }
            }
        },
    )
}

#[derive(Debug, Default)]
pub(crate) struct BookingFormView {
    pub(crate) meeting: MeetingView,
    pub(crate) slug: String,
    pub(crate) when: String,
    pub(crate) start: String,
    pub(crate) zone: String,
    /// "12" or "24", kept for the page shown again.
    pub(crate) clock: String,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) phone: String,
    pub(crate) questions: Vec<QuestionField>,
    pub(crate) tracking: Vec<(String, String)>,
    pub(crate) errors: FieldErrors,
    pub(crate) back: String,
    /// Whether texts (SMS) are configured, so the phone field may promise them.
    pub(crate) texts_offered: bool,
    /// When the chosen time was taken: why, and the day's other free times to pick from in
    /// the same form (what was typed stays).
    pub(crate) retry: Option<(String, DayTimes)>,
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
        &vm.meeting.title,
        html! {
            div.booking {
                section.about {
                    (meeting(&vm.meeting))
                    @if vm.retry.is_none() && !vm.when.is_empty() { p.when { (vm.when) } }
                    p { a href=(vm.back) { "← Pick another time" } }
                }
                section.details {
                    @if !vm.errors.is_empty() {
                        p.notice role="alert" { "Please correct the fields marked below." }
                        @if let Some(m) = vm.errors.get("start") { p.error { (m) } }
                    }
                    form method="post" action={ "/book/" (vm.slug) } {
                        @match &vm.retry {
                            Some((notice, times)) => (retry_times(notice, times)),
                            None => input type="hidden" name="start" value=(vm.start);,
                        }
                        input type="hidden" name="tz" value=(vm.zone);
                        input type="hidden" name="clock" value=(vm.clock);
                        @for (k, v) in &vm.tracking { input type="hidden" name=(k) value=(v); }
                        h2 { "Your details" }
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
                }
            }
        },
    )
}

/// The other free times of the day whose chosen time was just taken, as choices of the form.
fn retry_times(notice: &str, day: &DayTimes) -> Markup {
    html! {
        p.notice role="alert" { (notice) }
        fieldset.retry {
            legend { "Free times on " (day.label) }
            @if day.times.is_empty() {
                p.empty { "No other time is free that day. Use “Pick another time” to see other days." }
            }
            div.slots {
                @for s in &day.times {
                    label.slot { input type="radio" name="start" value=(s.start) required; " " (s.label) }
                }
            }
        }
    }
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
