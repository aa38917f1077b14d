//! The landing page at `/`: which site this is, the way in for hosts, and the links of the
//! hosts who chose to list them.

use maud::{Markup, html};

use super::layout::layout;

#[derive(Debug)]
pub(crate) struct HomeView {
    /// The site's name (its public address's host).
    pub(crate) site: String,
    /// `/login`, when this deployment has host logins.
    pub(crate) login_href: Option<String>,
    pub(crate) hosts: Vec<ListedHost>,
}

/// A host who lists their links, with those links.
#[derive(Debug)]
pub(crate) struct ListedHost {
    pub(crate) name: String,
    pub(crate) links: Vec<ListedLink>,
}

#[derive(Debug)]
pub(crate) struct ListedLink {
    pub(crate) title: String,
    pub(crate) href: String,
    pub(crate) duration_minutes: i64,
}

pub(crate) fn home(vm: &HomeView) -> Markup {
    layout(
        &vm.site,
        html! {
            h1 { "Book a time at " (vm.site) }
            @if vm.hosts.is_empty() {
                p.detail { "No booking links are listed here. If someone sent you a link, open it to book a time with them." }
            }
            @for host in &vm.hosts {
                section.listed-host {
                    h2 { (host.name) }
                    ul.listed-links {
                        @for link in &host.links {
                            li { a href=(link.href) { (link.title) } " " span.meta { (link.duration_minutes) " minutes" } }
                        }
                    }
                }
            }
            @if let Some(href) = &vm.login_href {
                p.host-login { "Taking bookings here? " a #login href=(href) { "Log in" } }
            }
        },
    )
}
