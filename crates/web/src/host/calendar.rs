//! The `/calendar` dashboard: the host's meetings by tab (upcoming, past, no-shows,
//! cancelled), a page at a time, each row linking to its detail.

use actix_web::http::StatusCode;
use actix_web::web;
use booking_core::booking::Status;
use booking_core::ports::{Clock, DashboardTab, Page};

use super::extract::LoggedIn;
use super::integrations;
use super::page::{DELETED_LINK, ListQuery, PAGE_SIZE, PageResult, page};
use super::planned::reconfirmation_badge;
use super::summary::{moment, parse_tab};
use crate::AppState;
use crate::errors::Failure;
use crate::present::{actor_label, slot_label};
use crate::views::host::calendar::{self, CalendarView, MeetingRow, TabView};

pub(crate) async fn calendar_page(
    me: LoggedIn,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> PageResult {
    let tab = parse_tab(query.tab.as_deref()).ok_or(Failure::NotFound)?;
    let number = query.page_number();
    let zone = me.host.time_zone();
    let desk = me.desk(&state);
    let dashboard = desk
        .dashboard(
            me.id(),
            tab,
            state.scheduler.clock().now(),
            Page {
                offset: (number - 1) * PAGE_SIZE,
                limit: PAGE_SIZE,
            },
        )
        .await?;
    let titles = desk.link_titles(me.id()).await?;
    let counts = dashboard.counts;
    let tabs = [
        (
            DashboardTab::Upcoming,
            "upcoming",
            "Upcoming",
            counts.upcoming,
        ),
        (DashboardTab::Past, "past", "Past", counts.past),
        (
            DashboardTab::NoShows,
            "no_shows",
            "No-shows",
            counts.no_shows,
        ),
        (
            DashboardTab::Cancelled,
            "cancelled",
            "Cancelled",
            counts.cancelled,
        ),
    ];
    let in_tab = tabs.iter().find(|t| t.0 == tab).map_or(0, |t| t.3);
    let href = |n: u32| format!("/calendar?tab={tab}&page={n}");
    let rows = dashboard
        .rows
        .iter()
        .map(|b| MeetingRow {
            href: format!("/calendar/bookings/{}", b.id()),
            when: slot_label(b.slot(), zone),
            invitee: b.invitee().name().as_str().to_owned(),
            email: b.invitee().email().as_str().to_owned(),
            link_title: titles
                .get(&b.link())
                .cloned()
                .unwrap_or_else(|| DELETED_LINK.to_owned()),
            cancelled: b.cancellation().map(|c| {
                format!(
                    "Cancelled by {} on {}",
                    actor_label(c.by),
                    moment(c.at, zone)
                )
            }),
            reason: b
                .cancellation()
                .and_then(|c| c.reason.as_ref())
                .map(|r| r.as_str().to_owned()),
            reconfirmation: reconfirmation_badge(b),
            marked: match b.status() {
                Status::NoShow { marked_at } => {
                    Some(format!("Marked no-show on {}", moment(*marked_at, zone)))
                }
                _ => None,
            },
        })
        .collect();
    let vm = CalendarView {
        viewer: me.viewer(),
        zone: zone.name().to_owned(),
        tabs: tabs
            .iter()
            .map(|(t, key, label, count)| TabView {
                key,
                label,
                count: *count,
                href: format!("/calendar?tab={key}"),
                current: *t == tab,
            })
            .collect(),
        rows,
        empty: match tab {
            DashboardTab::Upcoming => "No upcoming meetings.",
            DashboardTab::Past => "No past meetings.",
            DashboardTab::NoShows => "No no-shows.",
            DashboardTab::Cancelled => "No cancelled meetings.",
        },
        banners: integrations::banners(&integrations::host_connections(&state, me.id()).await?),
        notice: query.notice(),
        earlier: (number > 1).then(|| href(number - 1)),
        later: (u64::from(number) * u64::from(PAGE_SIZE) < in_tab).then(|| href(number + 1)),
        page: number,
    };
    Ok(page(StatusCode::OK, calendar::calendar(&vm)))
}
