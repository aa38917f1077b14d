//! A page that only says what happened (errors, dead links, done states).

use maud::{Markup, html};

use super::layout::layout;

pub(crate) fn message_page(title: &str, detail: &str, extra: Option<Markup>) -> Markup {
    layout(
        title,
        html! {
            h1 { (title) }
            p.detail { (detail) }
            @if let Some(extra) = extra { (extra) }
        },
    )
}
