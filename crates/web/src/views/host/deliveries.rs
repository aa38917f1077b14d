//! `/settings/deliveries`: what never reached its recipient (the host's dead outbox entries),
//! each with a button that puts it back in the queue.

use maud::{Markup, html};

use super::{Section, Viewer, csrf_field, frame};

/// One dead entry.
#[derive(Debug, Clone)]
pub(crate) struct DeadRow {
    pub(crate) key: String,
    pub(crate) kind: String,
    pub(crate) booking_href: String,
    pub(crate) last_error: String,
    pub(crate) died: String,
    pub(crate) attempts: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct DeliveriesView {
    pub(crate) viewer: Viewer,
    pub(crate) rows: Vec<DeadRow>,
    pub(crate) notice: Option<String>,
}

pub(crate) fn dead(vm: &DeliveriesView) -> Markup {
    frame(
        "Deliveries",
        Some((&vm.viewer, Section::Deliveries)),
        html! {
            h1 { "Failed deliveries" }
            p { "Mails, webhooks, calendar updates and texts about your meetings that failed on every attempt. "
                "Retry puts one back in the queue: it is sent again within a minute, with the same id, so a receiver that already has it can tell." }
            @if let Some(notice) = &vm.notice { p.notice role="status" { (notice) } }
            @if vm.rows.is_empty() {
                p.empty #no-dead { "Nothing failed: every delivery went through or is still being tried." }
            } @else {
                table.cards.dead {
                    thead { tr { th { "What" } th { "Meeting" } th { "Last error" } th { "Given up" } th { "" } } }
                    tbody {
                        @for row in &vm.rows {
                            tr {
                                td data-label="What" { code.wrap { (row.kind) } br; span.meta { (row.attempts) " attempts" } }
                                td data-label="Meeting" { a href=(row.booking_href) { "Open the meeting" } }
                                td.wrap data-label="Last error" { (row.last_error) }
                                td.meta data-label="Given up" { (row.died) }
                                td {
                                    form.inline method="post" action="/settings/deliveries/retry" {
                                        (csrf_field(&vm.viewer.csrf))
                                        input type="hidden" name="key" value=(row.key);
                                        button type="submit" aria-label={"Retry " (row.kind)} { "Retry" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}
