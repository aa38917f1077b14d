//! The login page, with the first-run hint when no host account exists yet.

use maud::{Markup, html};

use super::{csrf_field, frame};

#[derive(Debug, Default)]
pub(crate) struct LoginView {
    pub(crate) csrf: String,
    pub(crate) email: String,
    pub(crate) next: String,
    pub(crate) error: Option<String>,
    /// No account exists yet: say how to make one.
    pub(crate) first_run: bool,
    pub(crate) notice: Option<String>,
}

pub(crate) fn login(vm: &LoginView) -> Markup {
    frame(
        "Log in",
        None,
        html! {
            h1 { "Host login" }
            @if let Some(notice) = &vm.notice { p.notice role="status" { (notice) } }
            @if vm.first_run {
                section.first-run {
                    p { strong { "No host account exists yet." } " Create one on the server with:" }
                    pre { "slotkeeper host add --name \"Your Name\" --email you@example.com \\\n    --timezone Europe/Berlin --password '…'" }
                    p.meta { "The password can also come from SLOTKEEPER_HOST_PASSWORD, or be typed when asked." }
                }
            }
            @if let Some(error) = &vm.error { p.error #login-error role="alert" { (error) } }
            form method="post" action="/login" {
                (csrf_field(&vm.csrf))
                input type="hidden" name="next" value=(vm.next);
                label for="email" { "Email" }
                input #email type="email" name="email" value=(vm.email) autocomplete="username" required;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                button type="submit" { "Log in" }
            }
        },
    )
}
