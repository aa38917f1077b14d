//! The picker's parts: the meeting's details column, the zone and clock controls, the month
//! grid (the WAI-ARIA date grid, server-rendered) and the chosen day's times. Everything is a
//! button of one form, so it works without JavaScript; `tz.js` adds arrow keys and detection.

use maud::{Markup, html};

use super::{DayCell, DayTimes, DisplayView, LocationView, MeetingView, MonthView, SlotView};
use crate::present::HourCycle;

/// Whether the picker's form is a GET form (the booking page) or one that posts (the
/// reschedule page), whose picker buttons then ask with GET themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    Get,
    Post,
}

impl Form {
    fn method(self) -> Option<&'static str> {
        (self == Self::Post).then_some("get")
    }
}

/// The column saying who and what: host, title, length, place, description.
pub(crate) fn meeting(vm: &MeetingView) -> Markup {
    html! {
        div.organiser {
            span.avatar aria-hidden="true" { (vm.initials) }
            span.host-name { (vm.host_name) }
        }
        h1 { (vm.title) }
        ul.facts {
            li { (vm.duration_minutes) " minutes" }
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

/// The zone box (searchable through its datalist), the clock toggle and the button applying
/// them; the first submit button of its form, so Enter in the zone box applies it.
pub(crate) fn display(vm: &DisplayView, form: Form) -> Markup {
    let current = vm
        .zones
        .iter()
        .find(|z| z.name == vm.zone)
        .map_or(vm.zone.as_str(), |z| z.label.as_str());
    html! {
        @if let Some(notice) = &vm.notice { p.notice role="alert" { (notice) } }
        div.display {
            label for="tz" { "Time zone" }
            input #tz name="tz" list="zones" value=(vm.zone) autocomplete="off" spellcheck="false"
                aria-describedby="tz-now" data-autodetect[vm.autodetect];
            datalist #zones {
                @for z in &vm.zones { option value=(z.name) { (z.label) } }
            }
            span #tz-now { (current) }
            fieldset.clock {
                legend { "Clock" }
                (clock_choice(vm.clock, HourCycle::H12, "1:30 PM"))
                (clock_choice(vm.clock, HourCycle::H24, "13:30"))
            }
            button.show formmethod=[form.method()] formnovalidate[form == Form::Post] { "Show" }
            button.all name="zones" value="all" formmethod=[form.method()] formnovalidate[form == Form::Post] { "All time zones" }
        }
    }
}

fn clock_choice(current: HourCycle, this: HourCycle, sample: &str) -> Markup {
    html! {
        label {
            input type="radio" name="clock" value=(this.param()) checked[current == this];
            " " (sample)
        }
    }
}

/// The month as a date grid: a cell per day, the days with free times as buttons.
pub(crate) fn month(vm: &MonthView, form: Form) -> Markup {
    const WEEKDAYS: [(&str, &str); 7] = [
        ("Mo", "Monday"),
        ("Tu", "Tuesday"),
        ("We", "Wednesday"),
        ("Th", "Thursday"),
        ("Fr", "Friday"),
        ("Sa", "Saturday"),
        ("Su", "Sunday"),
    ];
    html! {
        div.month-head {
            (month_step(vm.previous.as_deref(), "‹", "Previous month", form))
            h2 #month aria-live="polite" { (vm.label) }
            (month_step(vm.next.as_deref(), "›", "Next month", form))
        }
        table.grid role="grid" aria-labelledby="month" {
            thead { tr { @for (short, long) in WEEKDAYS { th scope="col" abbr=(long) { (short) } } } }
            tbody {
                @for week in &vm.weeks {
                    tr { @for cell in week { (day_cell(cell.as_ref(), form)) } }
                }
            }
        }
    }
}

fn month_step(target: Option<&str>, sign: &str, label: &str, form: Form) -> Markup {
    html! {
        @match target {
            Some(month) => button.step name="show" value=(month) aria-label=(label)
                formmethod=[form.method()] formnovalidate[form == Form::Post] { (sign) },
            None => span.step aria-hidden="true" { (sign) },
        }
    }
}

fn day_cell(cell: Option<&DayCell>, form: Form) -> Markup {
    html! {
        @match cell {
            None => td {},
            Some(d) if d.open => td role="gridcell" aria-selected=(d.selected) {
                button name="day" value=(d.date) aria-current=[d.today.then_some("date")]
                    formmethod=[form.method()] formnovalidate[form == Form::Post] { (d.day) }
            },
            Some(d) => td role="gridcell" aria-disabled="true" { (d.day) },
        }
    }
}

/// The chosen day's heading, its times as `slot` renders each, and "Later times" when a page
/// did not hold the whole day.
pub(crate) fn day(vm: Option<&DayTimes>, form: Form, slot: impl Fn(&SlotView) -> Markup) -> Markup {
    html! {
        @match vm {
            None => p.empty { "No free times this month. Try the next month." },
            Some(day) => {
                h2 #day { (day.label) }
                @if day.times.is_empty() {
                    p.empty { "No free times on this day. Pick another day." }
                }
                div.slots role="group" aria-labelledby="day" {
                    @for s in &day.times { (slot(s)) }
                }
                @if let Some(after) = &day.more {
                    button.step name="after" value=(after)
                        formmethod=[form.method()] formnovalidate[form == Form::Post] { "Later times" }
                }
            }
        }
    }
}

/// Hidden fields carrying the month and day shown, and the UTM pairs.
pub(crate) fn kept(month: &str, date: Option<&str>, keep: &[(String, String)]) -> Markup {
    html! {
        input type="hidden" name="month" value=(month);
        @if let Some(date) = date { input type="hidden" name="date" value=(date); }
        @for (k, v) in keep { input type="hidden" name=(k) value=(v); }
    }
}
