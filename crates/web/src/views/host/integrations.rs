//! `/settings/integrations`: the host's calendar connections per provider with Connect,
//! Reconnect and Disconnect, and how to set up a provider that is not configured.

use maud::{Markup, html};

use super::{Banner, Section, Viewer, csrf_field, disconnect_banner, frame};

/// One connection as listed.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionRow {
    pub(crate) id: String,
    pub(crate) account: String,
    /// "Connected", "Needs reconnecting" or "Disconnected".
    pub(crate) status: &'static str,
    /// "message (when)".
    pub(crate) last_error: Option<String>,
    /// Present unless already disconnected.
    pub(crate) disconnect_action: Option<String>,
}

/// One provider's box.
#[derive(Debug, Clone)]
pub(crate) struct ProviderBox {
    /// `google` or `microsoft`.
    pub(crate) key: &'static str,
    /// "Google" or "Microsoft".
    pub(crate) name: &'static str,
    /// (label, href) of the Connect or Reconnect link; `None` when not configured.
    pub(crate) connect: Option<(&'static str, String)>,
    pub(crate) connections: Vec<ConnectionRow>,
}

#[derive(Debug, Clone)]
pub(crate) struct IntegrationsView {
    pub(crate) viewer: Viewer,
    /// Whether calendar integrations are switched on at all.
    pub(crate) enabled: bool,
    pub(crate) banners: Vec<Banner>,
    pub(crate) providers: Vec<ProviderBox>,
    pub(crate) notice: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) base_url: String,
}

fn setup_help(key: &str, base_url: &str) -> Markup {
    let redirect = format!("{base_url}/settings/integrations/{key}/callback");
    html! {
        @if key == "google" {
            p { "Google is not set up on this server. To set it up:" }
            ol.setup {
                li { "In the Google Cloud Console, create an OAuth client of type " strong { "Web application" } "." }
                li { "Enable the " strong { "Google Calendar API" } " for its project." }
                li { "Register the redirect URI " code { (redirect) } "." }
                li { "Set " code { "GOOGLE_CLIENT_ID" } " and " code { "GOOGLE_CLIENT_SECRET" } " and restart Slotkeeper." }
            }
        } @else {
            p { "Microsoft is not set up on this server. To set it up:" }
            ol.setup {
                li { "Create an app registration in Microsoft Entra ID." }
                li { "Add the redirect URI " code { (redirect) } " (platform: Web)." }
                li { "Grant the delegated permissions " code { "offline_access Calendars.ReadWrite User.Read" } "." }
                li { "Set " code { "MICROSOFT_CLIENT_ID" } ", " code { "MICROSOFT_CLIENT_SECRET" } " and "
                    code { "MICROSOFT_TENANT" } " and restart Slotkeeper." }
            }
        }
    }
}

pub(crate) fn integrations(vm: &IntegrationsView) -> Markup {
    frame(
        "Integrations",
        Some((&vm.viewer, Section::Integrations)),
        html! {
            (disconnect_banner(&vm.banners))
            h1 { "Calendar integrations" }
            @if let Some(notice) = &vm.notice { p.notice role="status" { (notice) } }
            @if let Some(error) = &vm.error { p.error role="alert" { (error) } }
            @if !vm.enabled {
                p #calendars-off { "Calendar integrations are not set up on this server, so Slotkeeper cannot "
                    "connect to Google or Microsoft calendars. Ask whoever runs it to configure a provider." }
            }
            p { "Connect a calendar so its busy times block your booking slots and your meetings are written to it." }
            @for provider in &vm.providers {
                section.integration id={"provider-" (provider.key)} {
                    h2 { (provider.name) }
                    @if !provider.connections.is_empty() {
                        ul.connections {
                            @for c in &provider.connections {
                                li id={"connection-" (c.id)} {
                                    strong { (c.account) } " — " span.status { (c.status) }
                                    @if let Some(e) = &c.last_error { br; span.error { "Last error: " (e) } }
                                    @if let Some(action) = &c.disconnect_action {
                                        form.inline method="post" action=(action) {
                                            (csrf_field(&vm.viewer.csrf))
                                            button.danger type="submit" { "Disconnect" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if let Some((label, href)) = &provider.connect {
                        p { a.button href=(href) { (label) " " (provider.name) " Calendar" } }
                    } @else {
                        (setup_help(provider.key, &vm.base_url))
                    }
                }
            }
        },
    )
}
