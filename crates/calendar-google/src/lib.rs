//! Google Calendar behind Slotkeeper's [`CalendarProvider`] port: OAuth 2.0 (authorization
//! code with PKCE, offline access, refresh) through the `oauth2` crate, and the Calendar API v3
//! through `google-calendar3` (busy times, write-through of booking events, push channels and
//! incremental sync).
//!
//! One HTTP stack serves both: a hyper client over rustls with the ring provider passed
//! explicitly (so it works whichever rustls backend other crates switch on), speaking HTTP/2
//! or HTTP/1.1 to `https://` and plain HTTP/1.1 to an `http://` root such as a local fake.
//!
//! Google's answers become [`ProviderError`]s in one place (`error.rs`): 5xx, 429 and rate-limit
//! 403s are transient (with `Retry-After` when given), 401 and `invalid_grant` mean the grant is
//! gone, 404/410 mean the thing is gone.

mod error;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use booking_core::TimeRange;
use booking_core::calendar::{
    CalendarEvent, CalendarProvider, ChangeBatch, OAuthTokens, Provider, ProviderError,
    PushChannel, RemoteChange, RemoteEventState, Secret,
};
use chrono::{DateTime, TimeDelta, Utc};
use google_calendar3::CalendarHub;
use google_calendar3::api::{Channel, Event, EventDateTime, FreeBusyRequest, FreeBusyRequestItem};
use google_calendar3::common;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    Scope, TokenResponse, TokenUrl,
};

use crate::error::{Capture, Seen, SeenHandle, from_api_error, from_status, transport};

/// The scope Slotkeeper asks for: read busy times, write its events, watch for changes.
pub const CALENDAR_SCOPE: &str = "https://www.googleapis.com/auth/calendar";

/// Google's consent page.
pub const DEFAULT_AUTH_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
/// Google's token endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// The Google APIs root; the Calendar API lives under `/calendar/v3/`.
pub const DEFAULT_API_ROOT: &str = "https://www.googleapis.com";

/// How long one call to Google may take by default before it counts as a transient failure.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The OAuth client and endpoints to use. The URLs default to Google's; tests and proxies
/// point them elsewhere (an `http://` URL is spoken as plain HTTP/1.1).
#[derive(Debug, Clone)]
pub struct GoogleConfig {
    /// OAuth client id from the Google Cloud console.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: Secret,
    /// Consent page.
    pub auth_url: String,
    /// Token endpoint.
    pub token_url: String,
    /// API root, without `/calendar/v3`.
    pub api_root: String,
    /// How long one call (all pages of a listing count separately) may take before it fails
    /// as transient. The booking page's busy check may want less than the default.
    pub call_timeout: Duration,
}

impl GoogleConfig {
    /// A client with Google's real endpoints.
    pub fn new(client_id: impl Into<String>, client_secret: Secret) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret,
            auth_url: DEFAULT_AUTH_URL.to_owned(),
            token_url: DEFAULT_TOKEN_URL.to_owned(),
            api_root: DEFAULT_API_ROOT.to_owned(),
            call_timeout: DEFAULT_CALL_TIMEOUT,
        }
    }
}

/// The configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum GoogleConfigError {
    /// One of the URLs does not parse.
    #[error("invalid {which} URL {value:?}: {source}")]
    Url {
        /// Which setting.
        which: &'static str,
        /// Its value.
        value: String,
        /// Why it does not parse.
        source: url::ParseError,
    },
    /// TLS could not be set up with the ring provider.
    #[error("TLS setup failed: {0}")]
    Tls(#[from] rustls::Error),
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
type HttpClient = Client<Connector, common::Body>;
type OAuthClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Google Calendar for one OAuth client; each call acts for the account whose token it gets.
#[derive(Clone)]
pub struct GoogleCalendar {
    config: GoogleConfig,
    oauth: OAuthClient,
    http: HttpClient,
    /// `{api_root}/calendar/v3/`.
    base_url: String,
    /// `{api_root}/`.
    root_url: String,
}

impl std::fmt::Debug for GoogleCalendar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleCalendar")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl GoogleCalendar {
    /// Builds the adapter.
    ///
    /// # Errors
    /// [`GoogleConfigError`] when a URL does not parse or TLS cannot be set up.
    pub fn new(config: GoogleConfig) -> Result<Self, GoogleConfigError> {
        let url = |which: &'static str, value: &str| {
            url::Url::parse(value).map_err(|source| GoogleConfigError::Url {
                which,
                value: value.to_owned(),
                source,
            })
        };
        let auth = url("OAuth authorization", &config.auth_url)?;
        let token = url("OAuth token", &config.token_url)?;
        url("Calendar API", &config.api_root)?;
        let oauth = BasicClient::new(ClientId::new(config.client_id.clone()))
            .set_client_secret(ClientSecret::new(config.client_secret.expose().to_owned()))
            .set_auth_uri(AuthUrl::from_url(auth))
            .set_token_uri(TokenUrl::from_url(token))
            // Google documents the client credentials in the form body.
            .set_auth_type(AuthType::RequestBody);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        let http = Client::builder(TokioExecutor::new()).build(connector);
        let root = config.api_root.trim_end_matches('/');
        Ok(Self {
            base_url: format!("{root}/calendar/v3/"),
            root_url: format!("{root}/"),
            config,
            oauth,
            http,
        })
    }

    /// `oauth2`'s HTTP client for one request.
    fn oauth_http(&self) -> OAuthHttp {
        OAuthHttp {
            http: self.http.clone(),
            timeout: self.config.call_timeout,
            seen: SeenHandle::default(),
        }
    }

    /// Runs one Calendar API call with `capture` as its delegate and maps its failure.
    async fn call<'a, T, F>(
        &self,
        capture: &'a mut Capture,
        what: &'static str,
        make: impl FnOnce(&'a mut Capture) -> F,
    ) -> Result<T, ProviderError>
    where
        F: Future<Output = google_calendar3::Result<T>> + 'a,
    {
        // The delegate is borrowed by the call for its whole life; what it saw is read back
        // through a shared handle.
        let seen = capture.seen();
        let outcome = tokio::time::timeout(self.config.call_timeout, make(capture)).await;
        match outcome {
            Err(_) => Err(ProviderError::Transient {
                message: format!("{what}: timed out"),
                retry_after: None,
            }),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(from_api_error(what, e, &seen.get())),
        }
    }

    /// A Calendar API hub acting with `access`.
    fn hub(&self, access: &Secret) -> CalendarHub<Connector> {
        let mut hub = CalendarHub::new(self.http.clone(), access.expose().to_owned());
        hub.base_url(self.base_url.clone());
        hub.root_url(self.root_url.clone());
        hub
    }

    /// The account's email: its primary calendar's id.
    async fn account_email(&self, access: &Secret) -> Result<String, ProviderError> {
        let hub = self.hub(access);
        let mut capture = Capture::default();
        let (_, calendar) = self
            .call(&mut capture, "calendars.get", |d| {
                hub.calendars().get("primary").delegate(d).doit()
            })
            .await?;
        calendar
            .id
            .ok_or_else(|| ProviderError::Permanent("the primary calendar has no id".to_owned()))
    }
}

/// The token endpoint could not be reached or its answer was cut off.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct OAuthTransportError(String);

/// `oauth2`'s HTTP client: the adapter's own hyper client.
struct OAuthHttp {
    http: HttpClient,
    timeout: Duration,
    /// The status and `Retry-After` of the answer, which `oauth2` does not pass on.
    seen: SeenHandle,
}

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp {
    type Error = OAuthTransportError;
    type Future = Pin<
        Box<dyn Future<Output = Result<oauth2::HttpResponse, OAuthTransportError>> + Send + 'c>,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let request = self
                .http
                .request(google_calendar3::hyper::Request::from_parts(
                    parts,
                    common::to_body(Some(body)),
                ));
            let response = tokio::time::timeout(self.timeout, request)
                .await
                .map_err(|_| OAuthTransportError("timed out".to_owned()))?
                .map_err(|e| OAuthTransportError(e.to_string()))?;
            let (parts, body) = response.into_parts();
            self.seen.record(&parts.status, &parts.headers);
            let bytes = tokio::time::timeout(self.timeout, common::to_bytes(body))
                .await
                .map_err(|_| OAuthTransportError("timed out".to_owned()))?
                .ok_or_else(|| OAuthTransportError("the answer was cut off".to_owned()))?;
            Ok(oauth2::HttpResponse::from_parts(parts, bytes.to_vec()))
        })
    }
}

fn oauth_error<RE: std::error::Error + 'static>(
    what: &str,
    error: RequestTokenError<RE, oauth2::basic::BasicErrorResponse>,
    seen: &Seen,
) -> ProviderError {
    match error {
        RequestTokenError::ServerResponse(response) => {
            let message = format!(
                "{what}: {}{}",
                response.error(),
                response
                    .error_description()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            );
            match response.error() {
                BasicErrorResponseType::InvalidGrant => ProviderError::Unauthorized(message),
                _ => ProviderError::Permanent(message),
            }
        }
        RequestTokenError::Request(e) => transport(what, &e.to_string()),
        // Not an OAuth answer: a 5xx or throttling page, or something stranger. The body is
        // left out of the message: a misread success would carry tokens.
        RequestTokenError::Parse(..) | RequestTokenError::Other(_) => match seen.status {
            Some(status) => from_status(what, status, "", "unreadable answer", seen.retry_after),
            None => transport(what, "unreadable answer"),
        },
    }
}

fn tokens_from(response: &oauth2::basic::BasicTokenResponse) -> OAuthTokens {
    OAuthTokens {
        access_token: Secret::new(response.access_token().secret().clone()),
        refresh_token: response
            .refresh_token()
            .map(|t| Secret::new(t.secret().clone())),
        expires_at: response
            .expires_in()
            .and_then(|d| TimeDelta::from_std(d).ok())
            .map(|d| Utc::now() + d),
    }
}

fn event_body(event_id: Option<&str>, event: &CalendarEvent) -> Event {
    let when = |t: DateTime<Utc>| EventDateTime {
        date_time: Some(t),
        time_zone: Some("UTC".to_owned()),
        date: None,
    };
    let mut description = event.description.trim_end().to_owned();
    if !description.is_empty() {
        description.push_str("\n\n");
    }
    description.push_str(&format!(
        "Booked by {} <{}> (time zone {})",
        event.attendee_name.as_str(),
        event.attendee_email.as_str(),
        event.attendee_time_zone
    ));
    Event {
        id: event_id.map(str::to_owned),
        summary: Some(event.title.clone()),
        description: Some(description),
        location: event.location.clone(),
        start: Some(when(event.when.start())),
        end: Some(when(event.when.end())),
        ..Event::default()
    }
}

/// Sorted, with overlapping and touching ranges joined.
fn merged(mut ranges: Vec<TimeRange>) -> Vec<TimeRange> {
    ranges.sort_by_key(TimeRange::start);
    let mut out: Vec<TimeRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match out.last_mut() {
            Some(last) if range.start() <= last.end() => {
                if let Ok(joined) = TimeRange::new(last.start(), range.end().max(last.end())) {
                    *last = joined;
                }
            }
            _ => out.push(range),
        }
    }
    out
}

fn remote_state(event: &Event) -> RemoteEventState {
    if event.status.as_deref() == Some("cancelled") {
        return RemoteEventState::Deleted;
    }
    let start = event.start.as_ref().and_then(|s| s.date_time);
    let end = event.end.as_ref().and_then(|e| e.date_time);
    match (start, end) {
        (Some(start), Some(end)) => {
            TimeRange::new(start, end).map_or(RemoteEventState::Untimed, RemoteEventState::Timed)
        }
        _ => RemoteEventState::Untimed,
    }
}

impl GoogleCalendar {
    /// Every page of `events.list`, incremental from `sync_token` when given. `None` when
    /// Google refuses the sync token as expired (410): only a full listing helps then.
    async fn list_all(
        &self,
        access: &Secret,
        calendar: &str,
        sync_token: Option<&str>,
    ) -> Result<Option<ChangeBatch>, ProviderError> {
        let hub = self.hub(access);
        let mut changes = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut capture = Capture::default();
            let page = self
                .call(&mut capture, "events.list", |d| {
                    let mut request = hub.events().list(calendar).show_deleted(true).delegate(d);
                    if let Some(token) = sync_token {
                        request = request.sync_token(token);
                    }
                    if let Some(page) = &page_token {
                        request = request.page_token(page);
                    }
                    request.doit()
                })
                .await;
            let (_, page) = match page {
                Ok(page) => page,
                Err(ProviderError::NotFound(_))
                    if sync_token.is_some() && capture.seen().get().status == Some(410) =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            for event in page.items.unwrap_or_default() {
                if let Some(id) = event.id.clone() {
                    changes.push(RemoteChange {
                        event_id: id,
                        state: remote_state(&event),
                    });
                }
            }
            match (page.next_page_token, page.next_sync_token) {
                (Some(next), _) => page_token = Some(next),
                (None, Some(next_sync_token)) => {
                    return Ok(Some(ChangeBatch {
                        changes,
                        next_sync_token,
                        full_resync: sync_token.is_none(),
                    }));
                }
                (None, None) => {
                    return Err(ProviderError::Permanent(
                        "events.list ended without a sync token".to_owned(),
                    ));
                }
            }
        }
    }
}

#[async_trait]
impl CalendarProvider for GoogleCalendar {
    fn provider(&self) -> Provider {
        Provider::Google
    }

    fn pkce_verifier(&self) -> Secret {
        let (_, verifier) = PkceCodeChallenge::new_random_sha256();
        Secret::new(verifier.secret().clone())
    }

    fn authorize_url(
        &self,
        state: &str,
        pkce_verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<String, ProviderError> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| ProviderError::Permanent(format!("redirect URI {redirect_uri:?}: {e}")))?;
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            pkce_verifier.expose().to_owned(),
        ));
        let state = state.to_owned();
        let (url, _) = self
            .oauth
            .clone()
            .set_redirect_uri(redirect)
            .authorize_url(move || CsrfToken::new(state))
            .add_scope(Scope::new(CALENDAR_SCOPE.to_owned()))
            .set_pkce_challenge(challenge)
            // A refresh token, and a fresh one on every connect (Google sends it only on consent).
            .add_extra_param("access_type", "offline")
            .add_extra_param("prompt", "consent")
            .url();
        Ok(url.into())
    }

    async fn exchange_code(
        &self,
        code: &str,
        pkce_verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<(OAuthTokens, String), ProviderError> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| ProviderError::Permanent(format!("redirect URI {redirect_uri:?}: {e}")))?;
        let http = self.oauth_http();
        let response = self
            .oauth
            .clone()
            .set_redirect_uri(redirect)
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.expose().to_owned()))
            .request_async(&http)
            .await
            .map_err(|e| oauth_error("code exchange", e, &http.seen.get()))?;
        let tokens = tokens_from(&response);
        let email = self.account_email(&tokens.access_token).await?;
        Ok((tokens, email))
    }

    async fn refresh(&self, refresh_token: &Secret) -> Result<OAuthTokens, ProviderError> {
        let http = self.oauth_http();
        let token = RefreshToken::new(refresh_token.expose().to_owned());
        let response = self
            .oauth
            .exchange_refresh_token(&token)
            .request_async(&http)
            .await
            .map_err(|e| oauth_error("token refresh", e, &http.seen.get()))?;
        Ok(tokens_from(&response))
    }

    async fn busy(
        &self,
        access: &Secret,
        calendars: &[String],
        within: TimeRange,
    ) -> Result<Vec<TimeRange>, ProviderError> {
        if calendars.is_empty() {
            return Ok(Vec::new());
        }
        let hub = self.hub(access);
        let request = FreeBusyRequest {
            time_min: Some(within.start()),
            time_max: Some(within.end()),
            items: Some(
                calendars
                    .iter()
                    .map(|id| FreeBusyRequestItem {
                        id: Some(id.clone()),
                    })
                    .collect(),
            ),
            ..FreeBusyRequest::default()
        };
        let mut capture = Capture::default();
        let (_, answer) = self
            .call(&mut capture, "freeBusy.query", |d| {
                hub.freebusy().query(request).delegate(d).doit()
            })
            .await?;
        let answered: HashMap<String, _> = answer.calendars.unwrap_or_default();
        let mut busy = Vec::new();
        for id in calendars {
            let Some(calendar) = answered.get(id) else {
                return Err(ProviderError::Transient {
                    message: format!("freeBusy said nothing about {id}"),
                    retry_after: None,
                });
            };
            if let Some(error) = calendar.errors.as_ref().and_then(|e| e.first()) {
                let reason = error.reason.clone().unwrap_or_default();
                let message = format!("freeBusy for {id}: {reason}");
                return Err(match reason.as_str() {
                    "notFound" => ProviderError::NotFound(message),
                    _ => ProviderError::Transient {
                        message,
                        retry_after: None,
                    },
                });
            }
            for period in calendar.busy.iter().flatten() {
                if let (Some(start), Some(end)) = (period.start, period.end)
                    && let Ok(range) = TimeRange::new(start, end)
                {
                    busy.push(range);
                }
            }
        }
        Ok(merged(busy))
    }

    async fn create_event(
        &self,
        access: &Secret,
        calendar: &str,
        event_id: &str,
        event: &CalendarEvent,
    ) -> Result<String, ProviderError> {
        let hub = self.hub(access);
        let body = event_body(Some(event_id), event);
        let mut capture = Capture::default();
        let seen = capture.seen();
        match self
            .call(&mut capture, "events.insert", |d| {
                hub.events()
                    .insert(body, calendar)
                    .send_updates("none")
                    .delegate(d)
                    .doit()
            })
            .await
        {
            // Google keeps the id we chose: it is the provider's id too.
            Ok(_) => Ok(event_id.to_owned()),
            // Our id already exists: a previous attempt got through and lost its answer.
            Err(ProviderError::Permanent(_)) if seen.get().status == Some(409) => {
                Ok(event_id.to_owned())
            }
            Err(e) => Err(e),
        }
    }

    async fn update_event(
        &self,
        access: &Secret,
        calendar: &str,
        event_id: &str,
        event: &CalendarEvent,
    ) -> Result<(), ProviderError> {
        let hub = self.hub(access);
        let body = event_body(None, event);
        let mut capture = Capture::default();
        self.call(&mut capture, "events.patch", |d| {
            hub.events()
                .patch(body, calendar, event_id)
                .send_updates("none")
                .delegate(d)
                .doit()
        })
        .await
        .map(drop)
    }

    async fn delete_event(
        &self,
        access: &Secret,
        calendar: &str,
        event_id: &str,
    ) -> Result<(), ProviderError> {
        let hub = self.hub(access);
        let mut capture = Capture::default();
        match self
            .call(&mut capture, "events.delete", |d| {
                hub.events()
                    .delete(calendar, event_id)
                    .send_updates("none")
                    .delegate(d)
                    .doit()
            })
            .await
        {
            Ok(_) | Err(ProviderError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn event_state(
        &self,
        access: &Secret,
        calendar: &str,
        event_id: &str,
    ) -> Result<RemoteEventState, ProviderError> {
        let hub = self.hub(access);
        let mut capture = Capture::default();
        match self
            .call(&mut capture, "events.get", |d| {
                hub.events().get(calendar, event_id).delegate(d).doit()
            })
            .await
        {
            Ok((_, event)) => Ok(remote_state(&event)),
            Err(ProviderError::NotFound(_)) => Ok(RemoteEventState::Deleted),
            Err(e) => Err(e),
        }
    }

    async fn watch(
        &self,
        access: &Secret,
        calendar: &str,
        channel_id: &str,
        channel_token: &Secret,
        address: &str,
        ttl: TimeDelta,
    ) -> Result<PushChannel, ProviderError> {
        let hub = self.hub(access);
        let request = Channel {
            id: Some(channel_id.to_owned()),
            token: Some(channel_token.expose().to_owned()),
            type_: Some("web_hook".to_owned()),
            address: Some(address.to_owned()),
            params: Some(HashMap::from([(
                "ttl".to_owned(),
                ttl.num_seconds().max(1).to_string(),
            )])),
            ..Channel::default()
        };
        let mut capture = Capture::default();
        let (_, granted) = self
            .call(&mut capture, "events.watch", |d| {
                hub.events().watch(request, calendar).delegate(d).doit()
            })
            .await?;
        let resource_id = granted.resource_id.ok_or_else(|| {
            ProviderError::Permanent("events.watch answered without a resourceId".to_owned())
        })?;
        let expires_at = granted
            .expiration
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .ok_or_else(|| {
                ProviderError::Permanent("events.watch answered without an expiration".to_owned())
            })?;
        Ok(PushChannel {
            id: channel_id.to_owned(),
            token: channel_token.clone(),
            resource_id,
            expires_at,
        })
    }

    async fn stop(&self, access: &Secret, channel: &PushChannel) -> Result<(), ProviderError> {
        let hub = self.hub(access);
        let request = Channel {
            id: Some(channel.id.clone()),
            resource_id: Some(channel.resource_id.clone()),
            ..Channel::default()
        };
        let mut capture = Capture::default();
        match self
            .call(&mut capture, "channels.stop", |d| {
                hub.channels().stop(request).delegate(d).doit()
            })
            .await
        {
            Ok(_) | Err(ProviderError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn changes(
        &self,
        access: &Secret,
        calendar: &str,
        sync_token: Option<&str>,
    ) -> Result<ChangeBatch, ProviderError> {
        if let Some(token) = sync_token
            && let Some(batch) = self.list_all(access, calendar, Some(token)).await?
        {
            return Ok(batch);
        }
        self.list_all(access, calendar, None).await?.ok_or_else(|| {
            ProviderError::Permanent("a full events.list was refused as expired".to_owned())
        })
    }
}
