//! The landing page at `/`, so the site's address leads somewhere: its name, the login for
//! hosts, and the links of hosts who list theirs (a choice each host makes on `/links`).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use booking_core::HostId;
use booking_core::accounts::LinkDirectory;
use booking_core::link::BookingLink;
use booking_core::ports::BookingStore;

use super::{failure_page, ok_html};
use crate::AppState;
use crate::errors::Failure;
use crate::views::home::{HomeView, ListedHost, ListedLink, home};

pub(super) async fn home_page(state: web::Data<AppState>) -> HttpResponse {
    match home_view(&state).await {
        Ok(vm) => ok_html(home(&vm)),
        Err(failure) => failure_page(&failure),
    }
}

async fn home_view(state: &AppState) -> Result<HomeView, Failure> {
    let links = match &state.host {
        Some(side) => side.links.listed_links().await?,
        None => Vec::new(),
    };
    Ok(HomeView {
        site: site_name(&state.public_base_url),
        login_href: state.host.is_some().then(|| "/login".to_owned()),
        hosts: listed_hosts(state, links).await?,
    })
}

/// The links grouped by host, hosts by name.
async fn listed_hosts(
    state: &AppState,
    links: Vec<BookingLink>,
) -> Result<Vec<ListedHost>, Failure> {
    let mut by_host: BTreeMap<HostId, Vec<BookingLink>> = BTreeMap::new();
    for link in links {
        by_host.entry(link.host()).or_default().push(link);
    }
    let mut hosts = Vec::with_capacity(by_host.len());
    for (id, links) in by_host {
        let Some(host) = state.scheduler.store().host(id).await? else {
            continue;
        };
        hosts.push(ListedHost {
            name: host.name().as_str().to_owned(),
            links: links
                .iter()
                .map(|l| ListedLink {
                    title: l.title().to_owned(),
                    href: format!("/book/{}", l.slug()),
                    duration_minutes: l.rules().duration().num_minutes(),
                })
                .collect(),
        });
    }
    hosts.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(hosts)
}

/// `book.example.com` from `https://book.example.com`: what people know the site by.
fn site_name(base: &str) -> String {
    let rest = base.split_once("://").map_or(base, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    if host.is_empty() {
        "Slotkeeper".to_owned()
    } else {
        host.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::site_name;

    #[test]
    fn the_site_is_named_by_its_address() {
        assert_eq!(site_name("https://book.example.com"), "book.example.com");
        assert_eq!(site_name("http://127.0.0.1:8080/"), "127.0.0.1:8080");
        assert_eq!(site_name(""), "Slotkeeper");
    }
}
