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
            @if vm.rows.is_empty() {
                p.empty { "No links yet." }
            } @else {
                table.links {
                    thead { tr { th { "Link" } th { "Settings" } th { "" } } }
                    tbody {
                        @for row in &vm.rows {
                            tr {
                                td { strong { (row.title) } br; a href=(row.public_url) { (row.public_url) } }
                                td.meta { (row.summary) }
                                td { a href=(row.edit_href) { "Edit" } }
                            }
                        }
                    }
                }
            }
        },
    )
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
    pub(crate) reconfirm_ask_hours: String,
    pub(crate) reconfirm_cancel_hours: String,
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
        input id=(name) type=(kind) name=(name) value=(value);
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
                    p.meta { "Reconfirmation: ask the attendee N hours before, cancel M hours before if they did not confirm. Leave both empty for none." }
                    (text_field("Ask … hours before", "reconfirm_ask_hours", &f.reconfirm_ask_hours, e, "number"))
                    (text_field("Cancel … hours before", "reconfirm_cancel_hours", &f.reconfirm_cancel_hours, e, "number"))
                    (field_error(e, "reconfirmation"))
                }
                button type="submit" { "Save link" }
            }
        },
    )
}
