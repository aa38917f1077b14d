//! Logging in and out: the login form (first-run hint included), the password check with its
//! rate limit, and logout. A fresh session (and CSRF token) is started in the store on login;
//! logout ends it there.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use booking_core::invitee::Email;
use booking_core::ports::Clock;
use booking_core::sessions::HostSessions;
use serde::Deserialize;

use super::auth;
use super::extract::LoggedIn;
use super::landing::after_login;
use super::page::{CsrfPosted, PageResult, notice, page, see_other};
use crate::AppState;
use crate::errors::Failure;
use crate::views::host::login::{self, LoginView};

/// The login page's query.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
    done: Option<String>,
}

/// The posted login form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

fn client_of(req: &HttpRequest) -> String {
    req.peer_addr()
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string())
}

pub(crate) async fn login_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<LoginQuery>,
) -> PageResult {
    let side = state.host.clone().ok_or(Failure::NotFound)?;
    let now = state.scheduler.clock().now();
    if <LoggedIn as actix_web::FromRequest>::extract(&req)
        .await
        .is_ok()
    {
        return Ok(see_other(&after_login(query.next.as_deref())));
    }
    let first_run = side.accounts.account_count().await? == 0;
    let (cookie, csrf) = auth::login_form_cookie(&state, &side, now);
    let vm = LoginView {
        csrf,
        next: after_login(query.next.as_deref()),
        first_run,
        notice: notice(query.done.as_deref()),
        ..LoginView::default()
    };
    let mut resp = page(StatusCode::OK, login::login(&vm));
    let _ = resp.add_cookie(&cookie);
    Ok(resp)
}

pub(crate) async fn login_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> PageResult {
    let side = state.host.clone().ok_or(Failure::NotFound)?;
    let now = state.scheduler.clock().now();
    if !auth::same_origin(&req, &state) {
        tracing::warn!("login refused: posted from another site");
        return Err(Failure::FormExpired.into());
    }
    let form_csrf = auth::login_form_csrf(&req, &side, now).ok_or(Failure::FormExpired)?;
    if !auth::csrf_ok(&form_csrf, &form.csrf) {
        return Err(Failure::FormExpired.into());
    }
    let LoginForm {
        email: email_text,
        password,
        next,
        ..
    } = form.into_inner();
    let next = after_login(next.as_deref());
    let login_key = email_text.trim().to_ascii_lowercase();
    let client = client_of(&req);
    let again = |status: StatusCode, error: &str| {
        let vm = LoginView {
            csrf: form_csrf.clone(),
            email: email_text.clone(),
            next: next.clone(),
            error: Some(error.to_owned()),
            ..LoginView::default()
        };
        page(status, login::login(&vm))
    };
    // Password checks are bounded before anything is counted: a burst beyond them is told
    // at once, spends no argon2 memory and burns none of the login's attempts.
    let Some(slot) = side.hash_slots.try_take() else {
        tracing::warn!(client = %client, "login refused: password checks all busy");
        let mut resp = again(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is busy. Try again in a moment.",
        );
        resp.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from_static("1"),
        );
        return Ok(resp);
    };
    // Counted before the password is checked, atomically, so racing attempts cannot slip past.
    if !side.limiter.allows(&login_key, &client, now).await? {
        tracing::warn!(client = %client, "login refused: too many failed attempts");
        return Ok(again(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed attempts. Wait 15 minutes and try again.",
        ));
    }
    let account = match Email::parse(&email_text) {
        Ok(email) => side.accounts.account_by_login(&email).await?,
        Err(_) => None,
    };
    // argon2 takes a while by design: keep it off the request threads.
    let passwords = side.passwords.clone();
    let stored = account.as_ref().map(|a| a.password().clone());
    let verified = web::block(move || {
        let _slot = slot;
        match stored {
            Some(hash) => passwords.verify(&password, &hash),
            None => {
                passwords.verify_decoy(&password);
                false
            }
        }
    })
    .await
    .unwrap_or(false);
    let Some(account) = account.filter(|_| verified) else {
        tracing::info!(client = %client, "login failed");
        return Ok(again(
            StatusCode::UNAUTHORIZED,
            "Email or password is wrong.",
        ));
    };
    side.limiter.succeeded(&login_key, &client).await;
    tracing::info!(host = %account.host(), "host logged in");
    // A fresh session (and CSRF token) on login: a token planted before login is worthless.
    let cookie = auth::start_session(&state, &side, account.host(), now).await?;
    let mut resp = see_other(&next);
    let _ = resp.add_cookie(&cookie);
    Ok(resp)
}

/// Ends the session in the store, so a copy of the cookie opens nothing on any instance, and
/// removes the cookie.
pub(crate) async fn logout(state: web::Data<AppState>, posted: CsrfPosted) -> PageResult {
    posted
        .me
        .side
        .sessions
        .end_session(&posted.me.session)
        .await?;
    tracing::info!(host = %posted.me.id(), "host logged out");
    let mut resp = see_other("/login?done=logged-out");
    let _ = resp.add_cookie(&auth::removal_cookie(&state));
    Ok(resp)
}
