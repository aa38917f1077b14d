//! The host's pages: the frame with the navigation, and one module per page group. Every
//! form that changes something carries the session's CSRF token as a hidden `csrf` field.

use maud::{DOCTYPE, Markup, html};

pub(crate) mod booking;
pub(crate) mod calendar;
pub(crate) mod deals;
pub(crate) mod deliveries;
pub(crate) mod integrations;
pub(crate) mod links;
pub(crate) mod login;
pub(crate) mod settings;
pub(crate) mod webhooks;

/// Who is logged in, for the frame.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub(crate) name: String,
    pub(crate) csrf: String,
}

/// Which section the navigation highlights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Calendar,
    Links,
    Deals,
    Integrations,
    Settings,
    Webhooks,
    Deliveries,
}

/// The navigation: where each entry goes, its label, and its section.
const NAV: [(&str, &str, Section); 7] = [
    ("/calendar", "Calendar", Section::Calendar),
    ("/links", "Links", Section::Links),
    ("/deals", "Deals", Section::Deals),
    (
        "/settings/integrations",
        "Integrations",
        Section::Integrations,
    ),
    ("/settings/webhooks", "Webhooks", Section::Webhooks),
    ("/settings/deliveries", "Deliveries", Section::Deliveries),
    ("/settings/api-keys", "API keys", Section::Settings),
];

/// A connected calendar that needs reconnecting: what to say, and where to reconnect.
#[derive(Debug, Clone)]
pub(crate) struct Banner {
    pub(crate) text: String,
    pub(crate) reconnect: String,
}

/// The calendar-disconnect banner (empty when every calendar works).
pub(crate) fn disconnect_banner(banners: &[Banner]) -> Markup {
    html! {
        @if !banners.is_empty() {
            section #calendar-disconnect-banner.notice role="alert" {
                @for b in banners {
                    p { (b.text) " " a.button href=(b.reconnect) { "Reconnect" } }
                }
            }
        }
    }
}

/// The hidden CSRF field.
pub(crate) fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// A whole host page: head, navigation with the logout button, the content.
pub(crate) fn frame(title: &str, viewer: Option<(&Viewer, Section)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // Same-origin referrers only: a browser then sends the real `Origin` with the
                // host's forms (with `no-referrer` it sends `Origin: null`, which is refused).
                meta name="referrer" content="same-origin";
                title { (title) " · Slotkeeper" }
                link rel="stylesheet" href="/static/app.css";
                link rel="stylesheet" href="/static/host.css";
            }
            body.host {
                a.skip href="#main" { "Skip to content" }
                @if let Some((viewer, section)) = viewer {
                    header.hostbar {
                        nav aria-label="Dashboard" {
                            @for (href, label, s) in NAV {
                                a href=(href) aria-current=[(s == section).then_some("page")] { (label) }
                            }
                        }
                        form.logout method="post" action="/logout" {
                            (csrf_field(&viewer.csrf))
                            span.who { (viewer.name) }
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main #main tabindex="-1" { (body) }
                footer { "Slotkeeper" }
            }
        }
    }
}

/// A field's error message, if any (`{field}-error`, for the control's `aria-describedby`).
pub(crate) fn field_error(errors: &crate::forms::FieldErrors, field: &str) -> Markup {
    html! {
        @if let Some(m) = errors.get(field) { span.error id={(field) "-error"} role="alert" { (m) } }
    }
}
