//! `/settings/integrations`: connecting a Google or Microsoft calendar through the provider's
//! OAuth consent (authorization code with PKCE), listing and disconnecting connections, and
//! the banner shown while a connected calendar needs reconnecting.
//!
//! The sign-in's `state`, PKCE verifier, provider and host travel in a private (encrypted)
//! cookie scoped to `/settings/integrations` for ten minutes; the callback accepts a code only
//! when that cookie is there, is for this provider and host, and its state equals the one the
//! provider sent back. The rest — trading the code, storing tokens, the first sync and the
//! push channel — is booking-core's `CalendarIntegrations`.

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, CookieJar, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use booking_core::HostId;
use booking_core::calendar::{ConnectionStatus, Provider};
use booking_core::calendar_sync::CalendarSyncFailure;
use booking_core::connections::{CalendarConnection, ConnectionId};
use booking_core::ports::StoreError;
use serde::{Deserialize, Serialize};

use super::HostSide;
use super::auth::constant_time_eq;
use super::extract::LoggedIn;
use super::page::{CsrfPosted, PageResult, notice, page, see_other};
use super::summary::moment;
use crate::errors::{Error, Failure, HostPage};
use crate::views::host::Banner;
use crate::views::host::integrations::{self, ConnectionRow, IntegrationsView, ProviderBox};
use crate::{AppState, CalendarSide};

/// The cookie that carries one sign-in from the connect route to the callback.
const SIGN_IN_COOKIE: &str = "sk_oauth";
const SIGN_IN_PATH: &str = "/settings/integrations";
/// How long a host has to finish the provider's consent screen.
const SIGN_IN_MINUTES: i64 = 10;
/// How many upcoming bookings a new connection gets written to its calendar.
const WRITE_ON_CONNECT: u32 = 200;

/// The providers in the order the page lists them.
const PROVIDERS: [Provider; 2] = [Provider::Google, Provider::Microsoft];

/// "Google" or "Microsoft".
pub(crate) fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::Google => "Google",
        Provider::Microsoft => "Microsoft",
    }
}

fn connect_href(provider: Provider) -> String {
    format!("/settings/integrations/{}/connect", provider.as_str())
}

/// The host's calendar connections (none when calendars are not set up).
pub(crate) async fn host_connections(
    state: &AppState,
    host: HostId,
) -> Result<Vec<CalendarConnection>, StoreError> {
    match state.calendars.as_deref() {
        Some(side) => side.integrations.host_connections(host).await,
        None => Ok(Vec::new()),
    }
}

/// One banner per connection that needs reconnecting.
pub(crate) fn banners(connections: &[CalendarConnection]) -> Vec<Banner> {
    connections
        .iter()
        .filter(|c| c.status == ConnectionStatus::NeedsReauth)
        .map(|c| Banner {
            text: format!(
                "Your {} calendar ({}) is disconnected — bookings still work, but Slotkeeper \
                 can't see or update that calendar until you reconnect.",
                provider_name(c.provider),
                c.account
            ),
            reconnect: connect_href(c.provider),
        })
        .collect()
}

fn status_words(status: ConnectionStatus) -> &'static str {
    match status {
        ConnectionStatus::Active => "Connected",
        ConnectionStatus::NeedsReauth => "Needs reconnecting",
        ConnectionStatus::Revoked => "Disconnected",
    }
}

async fn integrations_view(
    state: &AppState,
    me: &LoggedIn,
) -> Result<IntegrationsView, Error<HostPage>> {
    let side = state.calendars.as_deref();
    let connections = host_connections(state, me.id()).await?;
    let configured = side.map(|s| s.integrations.providers()).unwrap_or_default();
    let zone = me.host.time_zone();
    let providers = PROVIDERS
        .iter()
        .map(|&provider| {
            let mine: Vec<&CalendarConnection> = connections
                .iter()
                .filter(|c| c.provider == provider)
                .collect();
            let reconnect = mine
                .iter()
                .any(|c| c.status == ConnectionStatus::NeedsReauth);
            ProviderBox {
                key: provider.as_str(),
                name: provider_name(provider),
                connect: configured.contains(&provider).then(|| {
                    (
                        if reconnect { "Reconnect" } else { "Connect" },
                        connect_href(provider),
                    )
                }),
                connections: mine
                    .iter()
                    .map(|c| ConnectionRow {
                        id: c.id.to_string(),
                        account: c.account.clone(),
                        status: status_words(c.status),
                        last_error: c
                            .last_error
                            .as_ref()
                            .map(|e| format!("{} ({})", e.message, moment(e.at, zone))),
                        disconnect_action: (c.status != ConnectionStatus::Revoked)
                            .then(|| format!("/settings/integrations/{}/disconnect", c.id)),
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(IntegrationsView {
        viewer: me.viewer(),
        enabled: side.is_some(),
        banners: banners(&connections),
        providers,
        notice: None,
        error: None,
        base_url: state.public_base_url.clone(),
    })
}

/// The `done` query of the page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

pub(crate) async fn integrations_page(
    me: LoggedIn,
    state: web::Data<AppState>,
    query: web::Query<DoneQuery>,
) -> PageResult {
    let mut vm = integrations_view(&state, &me).await?;
    vm.notice = notice(query.done.as_deref());
    Ok(page(StatusCode::OK, integrations::integrations(&vm)))
}

fn calendars(state: &AppState) -> Result<&CalendarSide, Failure> {
    state.calendars.as_deref().ok_or(Failure::NotFound)
}

fn provider_of(text: &str) -> Result<Provider, Failure> {
    text.parse().map_err(|_| Failure::NotFound)
}

fn redirect_uri(state: &AppState, provider: Provider) -> String {
    state.url(&format!(
        "/settings/integrations/{}/callback",
        provider.as_str()
    ))
}

/// What the sign-in cookie holds.
#[derive(Debug, Serialize, Deserialize)]
struct SignIn {
    provider: String,
    state: String,
    verifier: String,
    host: String,
}

fn sign_in_cookie(state: &AppState, side: &HostSide, sign_in: &SignIn) -> Cookie<'static> {
    let cookie = Cookie::build(
        SIGN_IN_COOKIE,
        serde_json::to_string(sign_in).unwrap_or_default(),
    )
    .path(SIGN_IN_PATH)
    .http_only(true)
    // The callback is a top-level GET coming from the provider's site.
    .same_site(SameSite::Lax)
    .secure(state.public_base_url.starts_with("https://"))
    .max_age(CookieDuration::minutes(SIGN_IN_MINUTES))
    .finish();
    let mut jar = CookieJar::new();
    jar.private_mut(&side.cookie_key).add(cookie);
    jar.get(SIGN_IN_COOKIE)
        .cloned()
        .unwrap_or_else(|| Cookie::new(SIGN_IN_COOKIE, ""))
}

fn sign_in_removal() -> Cookie<'static> {
    let mut cookie = Cookie::build(SIGN_IN_COOKIE, "")
        .path(SIGN_IN_PATH)
        .http_only(true)
        .same_site(SameSite::Lax)
        .finish();
    cookie.make_removal();
    cookie
}

fn read_sign_in(req: &HttpRequest, side: &HostSide) -> Option<SignIn> {
    let raw = req.cookie(SIGN_IN_COOKIE)?;
    let mut jar = CookieJar::new();
    jar.add_original(raw);
    let cookie = jar.private(&side.cookie_key).get(SIGN_IN_COOKIE)?;
    serde_json::from_str(cookie.value()).ok()
}

/// The integrations page again, with an error.
async fn page_with_error(
    state: &AppState,
    me: &LoggedIn,
    status: StatusCode,
    error: String,
) -> PageResult {
    let mut vm = integrations_view(state, me).await?;
    vm.error = Some(error);
    Ok(page(status, integrations::integrations(&vm)))
}

/// Starts a sign-in: the state and PKCE verifier into the cookie, then off to the provider.
pub(crate) async fn connect(
    me: LoggedIn,
    state: web::Data<AppState>,
    provider: web::Path<String>,
) -> PageResult {
    let side = calendars(&state)?;
    let provider = provider_of(&provider)?;
    let name = provider_name(provider);
    let Some(verifier) = side.integrations.pkce_verifier(provider) else {
        return page_with_error(
            &state,
            &me,
            StatusCode::CONFLICT,
            format!(
                "{name} calendars are not set up on this server yet; see below how to set them up."
            ),
        )
        .await;
    };
    let oauth_state = me.side.ids.new_token().expose().to_owned();
    let redirect = redirect_uri(&state, provider);
    let url = match side
        .integrations
        .authorize_url(provider, &oauth_state, &verifier, &redirect)
    {
        Ok(url) => url,
        Err(e) => {
            tracing::error!(provider = provider.as_str(), error = %crate::errors::chain(&e), "consent URL not made");
            return page_with_error(
                &state,
                &me,
                StatusCode::BAD_GATEWAY,
                format!("The {name} sign-in could not be started. Check the server's {name} settings and try again."),
            )
            .await;
        }
    };
    let cookie = sign_in_cookie(
        &state,
        &me.side,
        &SignIn {
            provider: provider.as_str().to_owned(),
            state: oauth_state,
            verifier: verifier.expose().to_owned(),
            host: me.id().to_string(),
        },
    );
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cookie)
        .finish())
}

/// What the provider sends back to the callback.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Finishes a sign-in: checks it is the one this browser started, then connects.
pub(crate) async fn callback(
    me: LoggedIn,
    state: web::Data<AppState>,
    provider: web::Path<String>,
    query: web::Query<CallbackQuery>,
    req: HttpRequest,
) -> PageResult {
    let side = calendars(&state)?;
    let provider = provider_of(&provider)?;
    let name = provider_name(provider);
    if let Some(error) = &query.error {
        tracing::info!(host = %me.id(), provider = provider.as_str(), error, "calendar sign-in not granted");
        let done = if error == "access_denied" {
            "denied"
        } else {
            "sign-in-failed"
        };
        let mut resp = see_other(&format!("/settings/integrations?done={done}"));
        resp.add_cookie(&sign_in_removal())
            .map_err(|e| Failure::internal(&e))?;
        return Ok(resp);
    }
    let sign_in = read_sign_in(&req, &me.side).ok_or(Failure::SignInExpired)?;
    let given_state = query.state.as_deref().unwrap_or_default();
    let valid = sign_in.provider == provider.as_str()
        && sign_in.host == me.id().to_string()
        && !sign_in.state.is_empty()
        && constant_time_eq(sign_in.state.as_bytes(), given_state.as_bytes());
    let code = query.code.as_deref().filter(|c| !c.is_empty());
    let (true, Some(code)) = (valid, code) else {
        tracing::warn!(host = %me.id(), provider = provider.as_str(), "calendar sign-in refused: no matching sign-in");
        return Err(Failure::SignInExpired.into());
    };
    let verifier = booking_core::calendar::Secret::new(sign_in.verifier);
    let connection = match side
        .integrations
        .connect(
            me.id(),
            provider,
            code,
            &verifier,
            &redirect_uri(&state, provider),
        )
        .await
    {
        Ok(c) => c,
        Err(CalendarSyncFailure::Store(e)) => return Err(Failure::from(e).into()),
        Err(e) => {
            tracing::warn!(host = %me.id(), provider = provider.as_str(), error = %crate::errors::chain(&e), "calendar connection failed");
            return Err(Failure::ProviderFailed(format!(
                "{name} did not complete the connection, so nothing was connected. \
                 Try again from Settings → Integrations in a few minutes."
            ))
            .into());
        }
    };
    tracing::info!(host = %me.id(), connection = %connection.id, provider = provider.as_str(), "calendar connected");
    if let Err(e) = side
        .integrations
        .write_upcoming(me.id(), WRITE_ON_CONNECT)
        .await
    {
        // The outbox writes bookings from now on; older ones wait for the next connect.
        tracing::warn!(connection = %connection.id, error = %crate::errors::chain(&e), "upcoming bookings not written to the new calendar");
    }
    let mut resp = see_other("/settings/integrations?done=connected");
    resp.add_cookie(&sign_in_removal())
        .map_err(|e| Failure::internal(&e))?;
    Ok(resp)
}

/// Disconnects one of the host's connections.
pub(crate) async fn disconnect(
    state: web::Data<AppState>,
    id: web::Path<String>,
    posted: CsrfPosted,
) -> PageResult {
    let me = posted.me;
    let side = calendars(&state)?;
    let id = ConnectionId::parse(&id).map_err(|_| Failure::NotFound)?;
    if !side.integrations.disconnect(me.id(), id).await? {
        return Err(Failure::NotFound.into());
    }
    tracing::info!(host = %me.id(), connection = %id, "calendar disconnected");
    Ok(see_other("/settings/integrations?done=disconnected"))
}
