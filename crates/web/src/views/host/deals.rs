//! `/deals`: the host's pipeline, one row per meeting, each with a stage selector.

use maud::{Markup, html};

use super::{Section, Viewer, csrf_field, frame};

#[derive(Debug, Clone)]
pub(crate) struct DealRow {
    pub(crate) id: String,
    pub(crate) contact: String,
    pub(crate) email: String,
    pub(crate) link_title: String,
    pub(crate) meeting_href: String,
    pub(crate) opened: String,
    pub(crate) stage: String,
    pub(crate) action: String,
}

#[derive(Debug, Clone)]
pub(crate) struct DealsView {
    pub(crate) viewer: Viewer,
    pub(crate) rows: Vec<DealRow>,
    pub(crate) stages: Vec<(String, String)>,
    pub(crate) total: u64,
    pub(crate) notice: Option<String>,
    pub(crate) earlier: Option<String>,
    pub(crate) later: Option<String>,
}

pub(crate) fn deals(vm: &DealsView) -> Markup {
    frame(
        "Deals",
        Some((&vm.viewer, Section::Deals)),
        html! {
            h1 { "Deals " span.count { (vm.total) } }
            @if let Some(notice) = &vm.notice { p.notice role="status" { (notice) } }
            @if vm.rows.is_empty() {
                p.empty { "No deals yet. Links with “Open a CRM deal” create one for every booking." }
            } @else {
                table.cards.deals {
                    thead { tr { th { "Contact" } th { "Link" } th { "Opened" } th { "Stage" } } }
                    tbody {
                        @for row in &vm.rows {
                            tr id={"deal-" (row.id)} {
                                td data-label="Contact" { a href=(row.meeting_href) { (row.contact) } br; span.meta { (row.email) } }
                                td data-label="Link" { (row.link_title) }
                                td.meta data-label="Opened" { (row.opened) }
                                td {
                                    form.inline method="post" action=(row.action) {
                                        (csrf_field(&vm.viewer.csrf))
                                        select name="stage" aria-label="Stage" {
                                            @for (value, label) in &vm.stages {
                                                option value=(value) selected[*value == row.stage] { (label) }
                                            }
                                        }
                                        button type="submit" { "Move" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            nav.window {
                @if let Some(e) = &vm.earlier { a href=(e) { "← Previous page" } } @else { span {} }
                @if let Some(l) = &vm.later { a href=(l) { "Next page →" } } @else { span {} }
            }
        },
    )
}
