//! `/settings/api-keys`: the host's API keys, a form for a new one (its secret shown once),
//! and revoke buttons.

use maud::{Markup, html};

use super::{Section, Viewer, csrf_field, frame};

#[derive(Debug, Clone)]
pub(crate) struct KeyRow {
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) prefix: String,
    pub(crate) created: String,
    pub(crate) revoked: Option<String>,
    pub(crate) revoke_action: String,
}

#[derive(Debug, Clone)]
pub(crate) struct KeysView {
    pub(crate) viewer: Viewer,
    pub(crate) keys: Vec<KeyRow>,
    /// A key just made: shown this once.
    pub(crate) new_secret: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) notice: Option<String>,
    pub(crate) base_url: String,
}

pub(crate) fn api_keys(vm: &KeysView) -> Markup {
    frame(
        "API keys",
        Some((&vm.viewer, Section::Settings)),
        html! {
            h1 { "API keys" }
            p { "Keys act for you in the host API under " code { (vm.base_url) "/api/v1/" } ": send "
                code { "Authorization: Bearer sk_…" } ". See the "
                a href="/api/v1/openapi.json" { "OpenAPI document" } "." }
            @if let Some(secret) = &vm.new_secret {
                section.notice role="status" {
                    p { strong { "Your new key — copy it now, it is not shown again:" } }
                    p { code #new-key { (secret) } }
                }
            }
            @if let Some(notice) = &vm.notice { p.notice role="status" { (notice) } }
            @if let Some(error) = &vm.error { p.error role="alert" { (error) } }
            form method="post" action="/settings/api-keys" {
                (csrf_field(&vm.viewer.csrf))
                label for="label" { "Name of the new key (what uses it)" }
                input #label type="text" name="label" maxlength="100" required;
                button type="submit" { "Create key" }
            }
            @if !vm.keys.is_empty() {
                table.cards.keys {
                    thead { tr { th { "Name" } th { "Key" } th { "Created" } th { "" } } }
                    tbody {
                        @for key in &vm.keys {
                            tr id={"key-" (key.id)} {
                                td data-label="Name" { (key.label) }
                                td data-label="Key" { code { (key.prefix) "…" } }
                                td.meta data-label="Created" { (key.created) }
                                td {
                                    @if let Some(r) = &key.revoked {
                                        span.meta { "Revoked " (r) }
                                    } @else {
                                        form.inline method="post" action=(key.revoke_action) {
                                            (csrf_field(&vm.viewer.csrf))
                                            button.danger type="submit" { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}
