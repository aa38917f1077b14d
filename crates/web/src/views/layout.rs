//! The frame every public page shares: a skip link to the content, the stylesheet and the
//! small script.

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
                a.skip href="#main" { "Skip to content" }
                main #main tabindex="-1" { (body) }
                footer { "Scheduling by Slotkeeper" }
            }
        }
    }
}
