//! Who is asking, as actix extractors: [`LoggedIn`] (a host page's session), [`Posted`] (a
//! host form: origin, typed fields, session and CSRF token checked, in that order) and
//! [`ApiHost`] (a host API key). Each refuses with the one [`Error`](crate::errors::Error)
//! type: a redirect to the login page or an HTML page for pages, a problem document for the
//! API.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use booking_core::accounts::{ApiKey, ApiKeySecret};
use booking_core::desk::HostDesk;
use booking_core::link::Host;
use booking_core::ports::{BookingStore, Clock};
use booking_core::sessions::SessionId;
use booking_core::{HostId, accounts::LinkDirectory, deals::DealStore};
use serde::de::DeserializeOwned;

use super::HostSide;
use super::auth::{csrf_ok, read_session, removal_cookie, same_origin};
use crate::AppState;
use crate::errors::{Api, Error, Failure, HostPage};
use crate::views::host::Viewer;

type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

/// The host's desk over the state's ports: every host-side read keyed by host.
pub(crate) type Desk = HostDesk<Arc<dyn BookingStore>, Arc<dyn DealStore>, Arc<dyn LinkDirectory>>;

/// The desk of the host side `side` on the state's booking store.
pub(crate) fn desk(state: &AppState, side: &HostSide) -> Desk {
    HostDesk::new(
        state.scheduler.store().clone(),
        side.deals.clone(),
        side.links.clone(),
    )
}

fn app_state(req: &HttpRequest) -> Option<web::Data<AppState>> {
    req.app_data::<web::Data<AppState>>().cloned()
}

/// A logged-in host, with the session's id and CSRF token.
#[derive(Debug, Clone)]
pub(crate) struct LoggedIn {
    pub(crate) side: Arc<HostSide>,
    pub(crate) host: Host,
    pub(crate) session: SessionId,
    pub(crate) csrf: String,
}

impl LoggedIn {
    /// The host id everything on the page is keyed by.
    pub(crate) fn id(&self) -> HostId {
        self.host.id()
    }

    /// Who the page is rendered for.
    pub(crate) fn viewer(&self) -> Viewer {
        Viewer {
            name: self.host.name().as_str().to_owned(),
            csrf: self.csrf.clone(),
        }
    }

    /// The host's desk.
    pub(crate) fn desk(&self, state: &AppState) -> Desk {
        desk(state, &self.side)
    }

    async fn from_session(req: &HttpRequest) -> Result<Self, Error<HostPage>> {
        let state = app_state(req).ok_or(Failure::NotFound)?;
        let Some(side) = state.host.clone() else {
            return Err(Failure::NotFound.into());
        };
        let login = || Failure::LoginRequired {
            wanted: req
                .uri()
                .path_and_query()
                .map_or("/calendar", |p| p.as_str())
                .to_owned(),
            removal: Box::new(removal_cookie(&state)),
        };
        let now = state.scheduler.clock().now();
        // The store decides: a session ended on any instance (logout, a password change) or
        // expired is gone for all of them.
        let session = read_session(req, &side, now).await?.ok_or_else(login)?;
        let host = state
            .scheduler
            .store()
            .host(session.host)
            .await?
            .ok_or_else(login)?;
        Ok(Self {
            side,
            host,
            session: session.id,
            csrf: session.csrf,
        })
    }
}

impl FromRequest for LoggedIn {
    type Error = Error<HostPage>;
    type Future = Boxed<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Self::from_session(&req).await })
    }
}

/// A host form: its fields carry the session's CSRF token.
pub(crate) trait HostForm: DeserializeOwned + 'static {
    /// The posted `csrf` field.
    fn csrf(&self) -> &str;
}

/// A posted host form of type `T` from this site (`Origin`/`Referer`), of a logged-in host,
/// whose CSRF token matched.
#[derive(Debug)]
pub(crate) struct Posted<T> {
    pub(crate) me: LoggedIn,
    pub(crate) form: T,
}

impl<T: HostForm> FromRequest for Posted<T> {
    type Error = actix_web::Error;
    type Future = Boxed<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = web::Form::<T>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            if let Some(state) = app_state(&req)
                && !same_origin(&req, &state)
            {
                tracing::warn!(path = req.path(), "form refused: posted from another site");
                return Err(Error::<HostPage>::from(Failure::FormExpired).into());
            }
            let form = form.await?.into_inner();
            let me = LoggedIn::from_session(&req).await?;
            if !csrf_ok(&me.csrf, form.csrf()) {
                tracing::warn!(host = %me.id(), path = req.path(), "form refused: CSRF token missing or wrong");
                return Err(Error::<HostPage>::from(Failure::FormExpired).into());
            }
            Ok(Self { me, form })
        })
    }
}

/// The host an API key (`Authorization: Bearer sk_…`, live, of an existing host) acts for.
#[derive(Debug, Clone)]
pub(crate) struct ApiHost {
    pub(crate) side: Arc<HostSide>,
    pub(crate) host: HostId,
}

impl ApiHost {
    /// The host's desk.
    pub(crate) fn desk(&self, state: &AppState) -> Desk {
        desk(state, &self.side)
    }

    async fn from_key(req: &HttpRequest) -> Result<Self, Error<Api>> {
        const MISSING: &str =
            "Send an API key as `Authorization: Bearer sk_…`; create one under /settings/api-keys.";
        const INVALID: &str = "The API key is unknown or was revoked.";
        let state = app_state(req).ok_or(Failure::NotFound)?;
        let side = state.host.clone().ok_or(Failure::NotFound)?;
        let value = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(Failure::Unauthorized(MISSING))?;
        let (scheme, token) = value
            .trim()
            .split_once(' ')
            .ok_or(Failure::Unauthorized(MISSING))?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Failure::Unauthorized(MISSING).into());
        }
        let secret =
            ApiKeySecret::parse(token.trim()).map_err(|_| Failure::Unauthorized(INVALID))?;
        let key = side
            .accounts
            .api_key_by_hash(&secret.hash())
            .await?
            .filter(ApiKey::is_live)
            .ok_or(Failure::Unauthorized(INVALID))?;
        let host = state
            .scheduler
            .store()
            .host(key.host())
            .await?
            .ok_or(Failure::Unauthorized(INVALID))?;
        Ok(Self {
            side,
            host: host.id(),
        })
    }
}

impl FromRequest for ApiHost {
    type Error = Error<Api>;
    type Future = Boxed<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Self::from_key(&req).await })
    }
}
