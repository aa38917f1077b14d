//! `/links`: the host's booking links, and the form that creates or edits one.

use maud::{Markup, html};

use super::{Section, Viewer, csrf_field, field_error, frame};
use crate::forms::FieldErrors;

#[derive(Debug, Clone)]
pub(crate) struct LinkRow {
    pub(crate) title: String,
    pub(crate) public_url: String,
    pub(crate) edit_href: String,
    pub(crate) summary: String,
}

#[derive(Debug, Clone)]
pub(crate) struct LinksView {
    pub(crate) viewer: Viewer,
    /// Whether the host lists their links on the site's home page.
    pub(crate) listed: bool,
    pub(crate) rows: Vec<LinkRow>,
    pub(crate) notice: Option<String>,
}

pub(crate) fn list(vm: &LinksView) -> Markup {
    frame(
        "Links",
        Some((&vm.viewer, Section::Links)),
        html! {
            h1 { "Booking links" }
            @if let Some(notice) = &vm.notice { p.notice role="status" { (notice) } }
            p { a.button #new-link href="/links/new" { "New link" } }
            (listing_form(vm))
            @if vm.rows.is_empty() {
                p.empty { "No links yet." }
            } @else {
                table.cards.links {
                    thead { tr { th { "Link" } th { "Settings" } th { "" } } }
                    tbody {
                        @for row in &vm.rows {
                            tr {
                                td data-label="Link" { strong { (row.title) } br; a.wrap href=(row.public_url) { (row.public_url) } }
                                td.meta data-label="Settings" { (row.summary) }
                                td { a href=(row.edit_href) { "Edit" } }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The home-page listing switch (a checkbox, saved with its own button).
fn listing_form(vm: &LinksView) -> Markup {
    html! {
        form.listing method="post" action="/settings/home-listing" {
            (csrf_field(&vm.viewer.csrf))
            label for="listed" {
                input #listed type="checkbox" name="listed" value="on" checked[vm.listed];
                " Show my links on the home page"
            }
            " "
            button type="submit" { "Save" }
        }
    }
}

/// The form's fields as typed (strings), so a refused form comes back exactly as sent.
#[derive(Debug, Clone, Default)]
pub(crate) struct LinkFields {
    pub(crate) slug: String,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) location: String,
    pub(crate) time_zone: String,
    pub(crate) duration_minutes: String,
    pub(crate) interval_minutes: String,
    pub(crate) buffer_before_minutes: String,
    pub(crate) buffer_after_minutes: String,
    pub(crate) minimum_notice_minutes: String,
    pub(crate) max_days_ahead: String,
    /// `(key, label, text)` Monday first.
    pub(crate) hours: Vec<(&'static str, &'static str, String)>,
    pub(crate) date_overrides: String,
    pub(crate) questions: String,
    pub(crate) create_deal: bool,
    pub(crate) reconfirm_ask_minutes: String,
    pub(crate) reconfirm_cancel_minutes: String,
    /// The link has a workflow of its own (else: the standard one, shown as rows).
    pub(crate) workflow_custom: bool,
    pub(crate) reconfirm_by_email: bool,
    pub(crate) reconfirm_by_text: bool,
    /// The matrix's rows: the steps, then blank rows to add one.
    pub(crate) steps: Vec<StepFields>,
}

/// One row of the workflow matrix, as typed.
#[derive(Debug, Clone, Default)]
pub(crate) struct StepFields {
    pub(crate) trigger: String,
    pub(crate) minutes: String,
    pub(crate) action: String,
    pub(crate) subject: String,
    pub(crate) body: String,
}

const TRIGGERS: [(&str, &str); 7] = [
    ("booked", "Booked"),
    ("rescheduled", "Rescheduled"),
    ("cancelled", "Cancelled"),
    ("before_start", "N minutes before the start"),
    ("after_end", "N minutes after the end"),
    ("no_show", "Marked a no-show"),
    ("not_reconfirmed", "Not reconfirmed by the deadline"),
];

const ACTIONS: [(&str, &str); 4] = [
    ("email_attendee", "Email the attendee"),
    ("email_host", "Email the host"),
    ("text_attendee", "Text (SMS) the attendee"),
    ("webhook", "Call the webhook (workflowStep event)"),
];

fn workflow_fields(f: &LinkFields, e: &FieldErrors) -> Markup {
    html! {
        fieldset #workflow {
            legend { "Workflow: reminders and follow-ups" }
            p.meta {
                "Besides the booked, rescheduled and cancelled mails (to both) and webhooks, which always go out. "
                "Without a workflow of its own a link sends a reminder 24 hours before by email and, to attendees who gave a phone number, by text. "
                "Steps before the start whose moment has passed when someone books are skipped; a reminder falling on the reconfirmation request's moment is that request."
            }
            label.check {
                input #workflow_custom type="checkbox" name="workflow_custom" checked[f.workflow_custom];
                " Use the steps below (unticked: the standard workflow)"
            }
            label.check {
                input #reconfirm_by_email type="checkbox" name="reconfirm_by_email" checked[f.reconfirm_by_email];
                " Ask for reconfirmation by email"
            }
            label.check {
                input #reconfirm_by_text type="checkbox" name="reconfirm_by_text" checked[f.reconfirm_by_text];
                " Ask for reconfirmation by text (SMS)"
            }
            p.meta {
                "Wording may use {attendee_name}, {start} (in the attendee's zone), {host_name}, {title}, {reschedule_url}, {cancel_url}, {reconfirm_url} and {book_again_url}. "
                "Leave it empty on a step before the start for the built-in reminder; webhooks take none. Choose no trigger to remove a step."
            }
            table.workflow-steps {
                thead { tr { th { "When" } th { "Minutes" } th { "Do" } th { "Subject (mail)" } th { "Wording" } } }
                tbody {
                    @for (i, step) in f.steps.iter().enumerate() {
                        tr {
                            td {
                                select name=(format!("step{i}_trigger")) aria-label="When" {
                                    option value="" { "—" }
                                    @for (name, label) in TRIGGERS { option value=(name) selected[step.trigger == name] { (label) } }
                                }
                            }
                            td { input type="number" name=(format!("step{i}_minutes")) value=(step.minutes) aria-label="Minutes"; }
                            td {
                                select name=(format!("step{i}_action")) aria-label="Do" {
                                    option value="" { "—" }
                                    @for (name, label) in ACTIONS { option value=(name) selected[step.action == name] { (label) } }
                                }
                            }
                            td { input type="text" name=(format!("step{i}_subject")) value=(step.subject) aria-label="Subject"; }
                            td { textarea name=(format!("step{i}_body")) aria-label="Wording" { (step.body) } }
                        }
                    }
                }
            }
            label for="add_preset" { "Add a preset step" }
            select #add_preset name="add_preset" {
                option value="" { "—" }
                @for (name, label) in booking_core::workflows::PRESETS { option value=(name) { (label) } }
            }
            (field_error(e, "workflow"))
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct LinkFormView {
    pub(crate) viewer: Viewer,
    pub(crate) heading: String,
    pub(crate) action: String,
    pub(crate) fields: LinkFields,
    pub(crate) errors: FieldErrors,
    pub(crate) public_url: Option<String>,
    pub(crate) zones: Vec<&'static str>,
}

fn text_field(label: &str, name: &str, value: &str, errors: &FieldErrors, kind: &str) -> Markup {
    html! {
        label for=(name) { (label) }
        @let wrong = errors.get(name).is_some();
        input id=(name) type=(kind) name=(name) value=(value)
            aria-invalid=[wrong.then_some("true")] aria-describedby=[wrong.then(|| format!("{name}-error"))];
        (field_error(errors, name))
    }
}

pub(crate) fn form(vm: &LinkFormView) -> Markup {
    let f = &vm.fields;
    let e = &vm.errors;
    frame(
        &vm.heading,
        Some((&vm.viewer, Section::Links)),
        html! {
            p { a href="/links" { "← All links" } }
            h1 { (vm.heading) }
            @if let Some(url) = &vm.public_url { p { "Public page: " a href=(url) { (url) } } }
            @if !e.is_empty() {
                p.notice role="alert" { "Please correct the fields marked below." }
            }
            form.link-form method="post" action=(vm.action) {
                (csrf_field(&vm.viewer.csrf))
                fieldset {
                    legend { "What" }
                    (text_field("URL name (slug)", "slug", &f.slug, e, "text"))
                    (text_field("Title", "title", &f.title, e, "text"))
                    label for="description" { "Description (shown on the booking page)" }
                    textarea #description name="description" maxlength="5000" { (f.description) }
                    (field_error(e, "description"))
                    (text_field("Location (address or call URL)", "location", &f.location, e, "text"))
                }
                fieldset {
                    legend { "When" }
                    label for="time_zone" { "Time zone of the hours" }
                    select #time_zone name="time_zone" {
                        @for z in &vm.zones { option value=(z) selected[*z == f.time_zone] { (z) } }
                    }
                    (field_error(e, "time_zone"))
                    (text_field("Duration (minutes)", "duration_minutes", &f.duration_minutes, e, "number"))
                    (text_field("Slot interval (minutes; empty: the duration)", "interval_minutes", &f.interval_minutes, e, "number"))
                    (text_field("Buffer before (minutes)", "buffer_before_minutes", &f.buffer_before_minutes, e, "number"))
                    (text_field("Buffer after (minutes)", "buffer_after_minutes", &f.buffer_after_minutes, e, "number"))
                    (text_field("Minimum notice (minutes)", "minimum_notice_minutes", &f.minimum_notice_minutes, e, "number"))
                    (text_field("Maximum days ahead (empty: no limit)", "max_days_ahead", &f.max_days_ahead, e, "number"))
                    p.meta { "Weekly hours: periods like 09:00-12:00, 13:00-17:00; empty means closed." }
                    @for (key, label, value) in &f.hours {
                        @let name = format!("hours_{key}");
                        (text_field(label, &name, value, e, "text"))
                    }
                    (field_error(e, "weekly_hours"))
                    label for="date_overrides" { "Date overrides, one per line: 2027-12-24 closed, or 2027-12-23 09:00-12:00" }
                    textarea #date_overrides name="date_overrides" { (f.date_overrides) }
                    (field_error(e, "date_overrides"))
                }
                fieldset {
                    legend { "Booking form and follow-up" }
                    label for="questions" { "Questions, one per line (end one with * to require an answer)" }
                    textarea #questions name="questions" { (f.questions) }
                    (field_error(e, "questions"))
                    label.check {
                        input #create_deal type="checkbox" name="create_deal" checked[f.create_deal];
                        " Open a CRM deal for every booking"
                    }
                    p.meta { "Reconfirmation: ask the attendee N minutes before, cancel M minutes before if they did not confirm (60 = 1 hour, 1440 = 24 hours). Leave both empty for none. Bookings made after the asking moment count as confirmed." }
                    (text_field("Ask … minutes before", "reconfirm_ask_minutes", &f.reconfirm_ask_minutes, e, "number"))
                    @if let Some(hint) = hours_hint(&f.reconfirm_ask_minutes) { p.meta #reconfirm-ask-hint { (hint) } }
                    (text_field("Cancel … minutes before", "reconfirm_cancel_minutes", &f.reconfirm_cancel_minutes, e, "number"))
                    @if let Some(hint) = hours_hint(&f.reconfirm_cancel_minutes) { p.meta #reconfirm-cancel-hint { (hint) } }
                    (field_error(e, "reconfirmation"))
                }
                (workflow_fields(f, e))
                button type="submit" { "Save link" }
            }
        },
    )
}

/// `1530` → `= 25 h 30 min before the meeting`, for minutes typed into the form.
fn hours_hint(minutes: &str) -> Option<String> {
    let m: i64 = minutes.trim().parse().ok().filter(|m| *m >= 60)?;
    Some(match m % 60 {
        0 => format!("= {} h before the meeting", m / 60),
        rest => format!("= {} h {rest} min before the meeting", m / 60),
    })
}
