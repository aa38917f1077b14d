//! The frame every page shares.

use maud::{DOCTYPE, Markup, html};

pub(crate) fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · Slotkeeper" }
                link rel="stylesheet" href="/static/app.css";
                script src="/static/tz.js" defer {}
            }
            body {
                main { (body) }
                footer { "Scheduling by Slotkeeper" }
            }
        }
    }
}

/// The zone selector: a GET form that keeps the other query parameters.
pub(crate) fn zone_picker(nav: &super::PickerNav) -> Markup {
    html! {
        form.zone method="get" {
            label for="tz" { "Times shown in " }
            select #tz name="tz" data-autodetect="1" {
                @for zone in chrono_tz::TZ_VARIANTS.iter() {
                    option value=(zone.name()) selected[zone.name() == nav.zone] { (zone.name()) }
                }
            }
            input type="hidden" name="from" value=(nav.from);
            @for (k, v) in &nav.keep {
                input type="hidden" name=(k) value=(v);
            }
            button type="submit" { "Show" }
        }
    }
}

/// Earlier / later window links.
pub(crate) fn window_nav(nav: &super::PickerNav) -> Markup {
    html! {
        nav.window {
            @if let Some(earlier) = &nav.earlier {
                a href=(earlier) { "← Earlier" }
            }
            a href=(nav.later) { "Later →" }
        }
    }
}
