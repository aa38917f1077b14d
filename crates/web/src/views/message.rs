//! A page that only says what happened (errors, dead links, done states), and what the reader
//! can do next when a page refuses them.

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

/// Where a refused attendee can go from here: the link's booking page, when the link is
/// still there, and the host to write to.
#[derive(Debug, Clone)]
pub(crate) struct NextStep {
    /// `/book/{slug}`.
    pub(crate) book_again: Option<String>,
    pub(crate) host_name: String,
    pub(crate) host_email: String,
}

/// A refusal: what happened, then the next step — with a booking to point from, booking
/// again and writing to its host; without one (an unknown link), the site's home page.
pub(crate) fn refusal_page(title: &str, detail: &str, next: Option<&NextStep>) -> Markup {
    message_page(title, detail, Some(next_step(next)))
}

/// The "what now" block of a refusal or of a done state.
pub(crate) fn next_step(next: Option<&NextStep>) -> Markup {
    html! {
        section.next-step aria-label="What you can do now" {
            @match next {
                Some(next) => {
                    @if let Some(href) = &next.book_again {
                        p { a.button #book-again href=(href) { "Book a new time" } }
                    }
                    p.contact {
                        "Questions? Write to " (next.host_name) " at "
                        a #host-contact href={ "mailto:" (next.host_email) } { (next.host_email) }
                        "."
                    }
                }
                None => {
                    p { a #home href="/" { "Go to the home page" } }
                }
            }
        }
    }
}

/// A link's location as pages show it.
#[derive(Debug, Clone)]
pub(crate) enum PlaceView {
    /// A video call: a "Join" link.
    Join(String),
    /// An address or other text, as written.
    Text(String),
}

/// The meeting's place and description, for the pages that show a booking.
pub(crate) fn meeting_details(place: Option<&PlaceView>, about: Option<&str>) -> Markup {
    html! {
        @match place {
            Some(PlaceView::Join(url)) => {
                p.place { "Where: " a #join href=(url) rel="noopener" { "Join" } " " span.meta { (url) } }
            }
            Some(PlaceView::Text(text)) => p.place { "Where: " (text) },
            None => {}
        }
        @if let Some(about) = about {
            p.about { (about) }
        }
    }
}
