//! `/settings/webhooks`: the host's webhook subscriptions with a form for a new one (its
//! signing secret shown once), and one subscription's page: switch, test event, delete and
//! the delivery log with where each delivery stands.

use maud::{Markup, html};

use super::{Section, Viewer, csrf_field, field_error, frame};
use crate::forms::FieldErrors;

/// One subscription in the list.
#[derive(Debug, Clone)]
pub(crate) struct HookRow {
    pub(crate) id: String,
    pub(crate) url: String,
    pub(crate) events: String,
    pub(crate) active: bool,
    pub(crate) created: String,
    pub(crate) href: String,
}

/// The new-subscription form as typed, so a refused form comes back as sent.
#[derive(Debug, Clone, Default)]
pub(crate) struct HookFields {
    pub(crate) url: String,
    /// `(event name, label, checked)`.
    pub(crate) events: Vec<(&'static str, &'static str, bool)>,
}

#[derive(Debug, Clone)]
pub(crate) struct HooksView {
    pub(crate) viewer: Viewer,
    pub(crate) rows: Vec<HookRow>,
    pub(crate) fields: HookFields,
    pub(crate) errors: FieldErrors,
    /// A subscription just made, and its secret: shown this once.
    pub(crate) new_secret: Option<(String, String)>,
    pub(crate) notice: Option<String>,
}

pub(crate) fn list(vm: &HooksView) -> Markup {
    frame(
        "Webhooks",
        Some((&vm.viewer, Section::Webhooks)),
        html! {
            h1 { "Webhooks" }
            p { "Slotkeeper posts a signed JSON event (Standard Webhooks) to each URL below when one of your meetings is booked, rescheduled or cancelled. Deliveries that failed for good are listed under "
                a href="/settings/deliveries" { "Deliveries" } "." }
            @if let Some((url, secret)) = &vm.new_secret {
                section.notice #new-webhook role="status" {
                    p { strong { "Subscribed " (url) ". Its signing secret — copy it now, it is not shown again:" } }
                    p { code #new-secret { (secret) } }
                }
            }
            @if let Some(notice) = &vm.notice { p.notice role="status" { (notice) } }
            @if vm.rows.is_empty() {
                p.empty { "No webhooks yet." }
            } @else {
                table.cards.hooks {
                    thead { tr { th { "URL" } th { "Events" } th { "State" } th { "Created" } } }
                    tbody {
                        @for row in &vm.rows {
                            tr id={"hook-" (row.id)} {
                                td data-label="URL" { a.wrap href=(row.href) { (row.url) } }
                                td data-label="Events" { (row.events) }
                                td data-label="State" {
                                    @if row.active { span.badge { "on" } } @else { span.badge.off { "off" } }
                                }
                                td.meta data-label="Created" { (row.created) }
                            }
                        }
                    }
                }
            }
            h2 #add { "Add a webhook" }
            (form(vm))
        },
    )
}

fn form(vm: &HooksView) -> Markup {
    let f = &vm.fields;
    let e = &vm.errors;
    html! {
        form.hook-form method="post" action="/settings/webhooks" novalidate {
            (csrf_field(&vm.viewer.csrf))
            label for="url" { "URL to post events to (https://…)" }
            input #url type="url" name="url" value=(f.url) maxlength="2048" required
                aria-invalid=[e.get("url").map(|_| "true")] aria-describedby=[e.get("url").map(|_| "url-error")];
            @if let Some(m) = e.get("url") { span.error #url-error role="alert" { (m) } }
            fieldset {
                legend { "Events" }
                @for (name, label, checked) in &f.events {
                    label.check {
                        input id={"event-" (name)} type="checkbox" name=(name) value="on" checked[*checked];
                        " " (label)
                    }
                }
                (field_error(e, "events"))
            }
            button type="submit" { "Add webhook" }
        }
    }
}

/// Where one delivery (one outbox entry to this subscription) stands.
#[derive(Debug, Clone)]
pub(crate) struct DeliveryRow {
    pub(crate) webhook_id: String,
    pub(crate) attempts: u32,
    /// The last answer: status, or the error.
    pub(crate) last: String,
    pub(crate) at: String,
    /// Delivered, next retry at …, given up, or a test event.
    pub(crate) state: String,
    pub(crate) dead: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct HookView {
    pub(crate) viewer: Viewer,
    pub(crate) row: HookRow,
    pub(crate) deliveries: Vec<DeliveryRow>,
    /// What a test event just sent came to.
    pub(crate) tested: Option<String>,
    pub(crate) notice: Option<String>,
    pub(crate) error: Option<String>,
}

pub(crate) fn detail(vm: &HookView) -> Markup {
    let r = &vm.row;
    html! {
        (frame("Webhook", Some((&vm.viewer, Section::Webhooks)), html! {
            p { a href="/settings/webhooks" { "← All webhooks" } }
            h1.wrap { (r.url) }
            @if let Some(notice) = &vm.notice { p.notice role="status" { (notice) } }
            @if let Some(t) = &vm.tested { p.notice #test-result role="status" { (t) } }
            @if let Some(error) = &vm.error { p.error role="alert" { (error) } }
            dl.facts {
                dt { "Events" } dd { (r.events) }
                dt { "State" } dd #hook-state { @if r.active { "on" } @else { "off: nothing is delivered to it" } }
                dt { "Created" } dd { (r.created) }
            }
            section.actions.row {
                form method="post" action={(r.href) "/active"} {
                    (csrf_field(&vm.viewer.csrf))
                    input type="hidden" name="active" value=(if r.active { "off" } else { "on" });
                    button #switch type="submit" { @if r.active { "Switch off" } @else { "Switch on" } }
                }
                form method="post" action={(r.href) "/test"} {
                    (csrf_field(&vm.viewer.csrf))
                    button #send-test type="submit" { "Send test event" }
                }
                form method="post" action={(r.href) "/delete"} {
                    (csrf_field(&vm.viewer.csrf))
                    button.danger #delete type="submit" { "Delete" }
                }
            }
            h2 { "Delivery log" }
            @if vm.deliveries.is_empty() {
                p.empty { "Nothing delivered yet." }
            } @else {
                table.cards.deliveries {
                    thead { tr { th { "Event" } th { "Attempts" } th { "Last answer" } th { "When" } th { "State" } } }
                    tbody {
                        @for d in &vm.deliveries {
                            tr {
                                td data-label="Event" { code.wrap { (d.webhook_id) } }
                                td data-label="Attempts" { (d.attempts) }
                                td data-label="Last answer" { (d.last) }
                                td.meta data-label="When" { (d.at) }
                                td data-label="State" {
                                    @if d.dead { span.cancelled { (d.state) } " " a href="/settings/deliveries" { "Retry…" } }
                                    @else { (d.state) }
                                }
                            }
                        }
                    }
                }
            }
        }))
    }
}
