//! A meeting seen by its host: the chain's history, the invitee, answers, tracking, the deal,
//! and the actions that still make sense for it.

use maud::{Markup, html};

use super::{Section, Viewer, csrf_field, frame};

/// The reconfirmation box: one sentence and the times it rests on.
#[derive(Debug, Clone)]
pub(crate) struct ReconfirmationLines {
    pub(crate) summary: String,
    pub(crate) facts: Vec<(&'static str, String)>,
}

/// One planned action.
#[derive(Debug, Clone)]
pub(crate) struct PlannedLine {
    pub(crate) due: String,
    pub(crate) what: String,
    /// The stored code, shown as is when the kind is not one the page knows.
    pub(crate) code: Option<String>,
    pub(crate) state: String,
}

#[derive(Debug, Clone)]
pub(crate) struct HistoryLine {
    pub(crate) at: String,
    pub(crate) text: String,
    pub(crate) reason: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct DealBox {
    pub(crate) stage: String,
    pub(crate) stage_label: String,
    pub(crate) action: String,
    pub(crate) stages: Vec<(String, String)>,
}

/// The fields of the "Move this meeting" form, as posted (kept when a move is refused).
#[derive(Debug, Clone, Default)]
pub(crate) struct MoveInput {
    /// The chosen slot's start (RFC 3339, UTC).
    pub(crate) start: String,
    /// A typed `datetime-local` start, in the host's zone.
    pub(crate) custom_start: String,
    pub(crate) note: String,
    pub(crate) allow_outside_hours: bool,
}

/// One day of offered times: its label and its (value, "09:30") options.
#[derive(Debug, Clone)]
pub(crate) struct MoveDay {
    pub(crate) label: String,
    pub(crate) times: Vec<(String, String)>,
}

/// The "Move this meeting" form: a week of the link's free times, the override and the note.
#[derive(Debug, Clone)]
pub(crate) struct MoveForm {
    pub(crate) action: String,
    /// "Week of Monday, March 1, 2027".
    pub(crate) week: String,
    pub(crate) days: Vec<MoveDay>,
    /// Why no times are listed, when it is not simply a full week.
    pub(crate) unlisted: Option<String>,
    pub(crate) earlier: Option<String>,
    pub(crate) later: Option<String>,
    pub(crate) kept: MoveInput,
}

/// The link's description and location; a location that is a web address gets a "Join" link.
#[derive(Debug, Clone, Default)]
pub(crate) struct MeetingDetails {
    pub(crate) description: Option<String>,
    pub(crate) location: Option<String>,
    pub(crate) join: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct BookingView {
    pub(crate) viewer: Viewer,
    pub(crate) title: String,
    pub(crate) when: String,
    pub(crate) status: String,
    pub(crate) zone: String,
    pub(crate) invitee: Vec<(&'static str, String)>,
    pub(crate) answers: Vec<(String, String)>,
    pub(crate) tracking: Vec<(String, String)>,
    /// Where the meeting stands in the host's connected calendar, if one is connected.
    pub(crate) calendar: Option<String>,
    /// Mails and other deliveries about the meeting that failed for good, one line each.
    pub(crate) undelivered: Vec<String>,
    /// Where the meeting stands with reconfirmation, when it concerns it.
    pub(crate) reconfirmation: Option<ReconfirmationLines>,
    /// What is still to be delivered, soonest first.
    pub(crate) planned: Vec<PlannedLine>,
    pub(crate) history: Vec<HistoryLine>,
    pub(crate) deal: Option<DealBox>,
    /// Form actions, present only when the action is possible now.
    pub(crate) cancel_action: Option<String>,
    pub(crate) no_show_action: Option<String>,
    pub(crate) undo_no_show_action: Option<String>,
    pub(crate) send_links_action: Option<String>,
    /// Present while the meeting can still be moved.
    pub(crate) move_form: Option<MoveForm>,
    pub(crate) details: MeetingDetails,
    pub(crate) notice: Option<String>,
    pub(crate) error: Option<String>,
}

pub(crate) fn booking(vm: &BookingView) -> Markup {
    let csrf = &vm.viewer.csrf;
    frame(
        &vm.title,
        Some((&vm.viewer, Section::Calendar)),
        html! {
            p { a href="/calendar" { "← All meetings" } }
            h1 { (vm.title) }
            p.when { (vm.when) }
            (details(&vm.details))
            p #status { "Status: " strong { (vm.status) } }
            @if let Some(calendar) = &vm.calendar { p #calendar-line { "Calendar: " (calendar) } }
            @if !vm.undelivered.is_empty() {
                section #undelivered.error role="alert" {
                    h2 { "Not delivered" }
                    ul { @for line in &vm.undelivered { li { (line) } } }
                }
            }
            @if let Some(r) = &vm.reconfirmation {
                section #reconfirmation {
                    h2 { "Reconfirmation" }
                    p #reconfirmation-state { (r.summary) }
                    @if !r.facts.is_empty() {
                        dl.facts { @for (k, v) in &r.facts { dt { (k) } dd { (v) } } }
                    }
                }
            }
            @if !vm.planned.is_empty() {
                section #planned {
                    h2 { "Planned" }
                    table.planned {
                        thead { tr { th { "When" } th { "What" } th { "State" } } }
                        tbody {
                            @for line in &vm.planned {
                                tr {
                                    td { (line.due) }
                                    td {
                                        (line.what)
                                        @if let Some(code) = &line.code { " " code { (code) } }
                                    }
                                    td { (line.state) }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(notice) = &vm.notice { p.notice role="status" { (notice) } }
            @if let Some(error) = &vm.error { p.error role="alert" { (error) } }
            section.actions {
                @if let Some(action) = &vm.cancel_action {
                    form #cancel-form method="post" action=(action) {
                        (csrf_field(csrf))
                        label for="reason" { "Cancel with a reason (sent to the attendee)" }
                        textarea #reason name="reason" maxlength="10000" {}
                        button.danger type="submit" { "Cancel the meeting" }
                    }
                }
                @if let Some(action) = &vm.no_show_action {
                    form #no-show-form method="post" action=(action) {
                        (csrf_field(csrf))
                        button type="submit" { "Mark as no-show" }
                    }
                }
                @if let Some(action) = &vm.undo_no_show_action {
                    form #undo-no-show-form method="post" action=(action) {
                        (csrf_field(csrf))
                        button type="submit" { "Undo no-show" }
                    }
                }
                @if let Some(action) = &vm.send_links_action {
                    form #send-links-form method="post" action=(action) {
                        (csrf_field(csrf))
                        button type="submit" { "Email the attendee their reschedule link" }
                    }
                }
            }
            @if let Some(form) = &vm.move_form { (move_form(form, csrf, &vm.zone)) }
            h2 { "History" }
            ol.history {
                @for line in &vm.history {
                    li {
                        span.meta { (line.at) } " — " (line.text)
                        @if let Some(r) = &line.reason { br; "Reason: " q.reason { (r) } }
                    }
                }
            }
            p.meta { "Times in " (vm.zone) "." }
            h2 { "Invitee" }
            dl.facts {
                @for (k, v) in &vm.invitee { dt { (k) } dd { (v) } }
            }
            @if !vm.answers.is_empty() {
                h2 { "Answers" }
                dl.facts { @for (q, a) in &vm.answers { dt { (q) } dd { (a) } } }
            }
            @if !vm.tracking.is_empty() {
                h2 { "Tracking" }
                dl.facts { @for (k, v) in &vm.tracking { dt { (k) } dd { (v) } } }
            }
            @if let Some(deal) = &vm.deal {
                h2 { "Deal" }
                form #deal-form method="post" action=(deal.action) {
                    (csrf_field(csrf))
                    p { "Stage: " strong #deal-stage { (deal.stage_label) } }
                    label for="stage" { "Move to" }
                    select #stage name="stage" {
                        @for (value, label) in &deal.stages {
                            option value=(value) selected[*value == deal.stage] { (label) }
                        }
                    }
                    button type="submit" { "Move deal" }
                }
            }
        },
    )
}

fn details(d: &MeetingDetails) -> Markup {
    html! {
        @if let Some(location) = &d.location {
            p #location {
                "Where: "
                @if let Some(href) = &d.join {
                    a.join href=(href) rel="noopener noreferrer" target="_blank" { "Join" }
                    " " span.meta { (location) }
                } @else {
                    (location)
                }
            }
        }
        @if let Some(description) = &d.description { p #description.description { (description) } }
    }
}

fn move_form(f: &MoveForm, csrf: &str, zone: &str) -> Markup {
    let kept = &f.kept;
    html! {
        section #move {
            h2 { "Move this meeting" }
            p.meta {
                "Pick one of the link's free times, or allow a time outside your hours and type one. "
                "The attendee gets the new time by email, with a new invite and fresh links."
            }
            nav.week aria-label="Weeks" {
                @if let Some(href) = &f.earlier { a #move-earlier href=(href) { "← Earlier" } }
                " " strong { (f.week) } " "
                @if let Some(href) = &f.later { a #move-later href=(href) { "Later →" } }
            }
            form #move-form method="post" action=(f.action) {
                (csrf_field(csrf))
                @if f.days.is_empty() {
                    p #move-none.meta {
                        (f.unlisted.as_deref().unwrap_or("No free times this week in this link's hours."))
                    }
                } @else {
                    label for="move-start" { "New time (" (zone) ")" }
                    select #move-start name="start" {
                        @for day in &f.days {
                            optgroup label=(day.label) {
                                @for (value, time) in &day.times {
                                    option value=(value) selected[*value == kept.start] {
                                        (day.label) ", " (time)
                                    }
                                }
                            }
                        }
                    }
                }
                label.check for="allow-outside-hours" {
                    input #allow-outside-hours type="checkbox" name="allow_outside_hours" value="on"
                        checked[kept.allow_outside_hours];
                    " Allow a time outside my hours"
                }
                label for="custom-start" { "Or type a time (" (zone) "; used instead of the list)" }
                input #custom-start type="datetime-local" name="custom_start" value=(kept.custom_start);
                label for="move-note" { "Note to the attendee (in the email)" }
                textarea #move-note name="note" maxlength="10000" { (kept.note) }
                button type="submit" { "Move the meeting" }
            }
        }
    }
}
