//! The `/calendar` dashboard: tabs with counts, one page of meetings, paging, and the slot
//! where the calendar-disconnect banner goes.

use maud::{Markup, html};

use super::{Banner, Section, Viewer, disconnect_banner, frame};

#[derive(Debug, Clone)]
pub(crate) struct TabView {
    /// `upcoming`, `past`, `no_shows`, `cancelled`.
    pub(crate) key: &'static str,
    pub(crate) label: &'static str,
    pub(crate) count: u64,
    pub(crate) href: String,
    pub(crate) current: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct MeetingRow {
    pub(crate) href: String,
    pub(crate) when: String,
    pub(crate) invitee: String,
    pub(crate) email: String,
    pub(crate) link_title: String,
    /// For cancelled rows: "Cancelled by the attendee on …".
    pub(crate) cancelled: Option<String>,
    pub(crate) reason: Option<String>,
    /// For no-shows: when it was marked.
    pub(crate) marked: Option<String>,
    /// "awaiting reconfirmation", "reconfirmed" or "not reconfirmed", when it applies.
    pub(crate) reconfirmation: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub(crate) struct CalendarView {
    pub(crate) viewer: Viewer,
    pub(crate) zone: String,
    pub(crate) tabs: Vec<TabView>,
    pub(crate) rows: Vec<MeetingRow>,
    pub(crate) empty: &'static str,
    /// One per connected calendar that needs reconnecting.
    pub(crate) banners: Vec<Banner>,
    pub(crate) notice: Option<String>,
    pub(crate) earlier: Option<String>,
    pub(crate) later: Option<String>,
    pub(crate) page: u32,
}

pub(crate) fn calendar(vm: &CalendarView) -> Markup {
    frame(
        "Calendar",
        Some((&vm.viewer, Section::Calendar)),
        html! {
            div #calendar-banner { (disconnect_banner(&vm.banners)) }
            h1 { "Your meetings" }
            @if let Some(notice) = &vm.notice { p.notice role="status" { (notice) } }
            p.meta { "Times in " (vm.zone) "." }
            nav.tabs {
                @for tab in &vm.tabs {
                    a #{"tab-" (tab.key)} href=(tab.href) aria-current=[tab.current.then_some("page")] {
                        (tab.label) " " span.count { (tab.count) }
                    }
                }
            }
            @if vm.rows.is_empty() {
                p.empty { (vm.empty) }
            } @else {
                table.cards.meetings {
                    thead { tr { th { "When" } th { "Who" } th { "Link" } th { "" } } }
                    tbody {
                        @for row in &vm.rows {
                            tr {
                                td data-label="When" { a href=(row.href) { (row.when) } }
                                td data-label="Who" { (row.invitee) br; span.meta { (row.email) } }
                                td data-label="Link" { (row.link_title) }
                                td {
                                    @if let Some(c) = &row.cancelled { span.cancelled { (c) } }
                                    @if let Some(r) = &row.reason { br; q.reason { (r) } }
                                    @if let Some(m) = &row.marked { span.meta { (m) } }
                                    @if let Some(r) = row.reconfirmation {
                                        " " span.badge.reconfirmation { (r) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            nav.window {
                @if let Some(e) = &vm.earlier { a href=(e) { "← Previous page" } } @else { span {} }
                span.meta { "Page " (vm.page) }
                @if let Some(l) = &vm.later { a href=(l) { "Next page →" } } @else { span {} }
            }
        },
    )
}
