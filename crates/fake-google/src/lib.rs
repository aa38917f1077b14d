//! A local fake of Google's OAuth 2.0 endpoints and Calendar API v3 for tests: plain HTTP/1.1
//! on `127.0.0.1`, Google's real JSON shapes, and knobs to make it misbehave.
//!
//! It serves the consent page (`GET /o/oauth2/v2/auth`, which consents at once and redirects
//! back with a code), the token endpoint (`POST /token`: authorization code with PKCE S256,
//! refresh, `invalid_grant`), and under `/calendar/v3/`: `calendars/{id}` get, `events`
//! insert/get/patch/update/delete/list (sync tokens, pages, `410` for an expired token),
//! `events/watch`, `channels/stop` and `freeBusy`. Point an adapter at [`FakeGoogle::base_url`]
//! (API root), [`FakeGoogle::auth_url`] and [`FakeGoogle::token_url`].
//!
//! Unlike Google, `events.watch` accepts plain `http://` addresses, so a test can receive
//! the notifications.
//!
//! The host's own edits ("dragged the meeting in Google Calendar") are made with
//! [`FakeGoogle::host_moves`] and [`FakeGoogle::host_deletes`]; they advance the sync state like
//! any write, and [`FakeGoogle::notify`] delivers the push notification Google would send.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};

/// The OAuth client id the fake accepts.
pub const CLIENT_ID: &str = "fake-client-id.apps.googleusercontent.com";
/// The OAuth client secret the fake accepts.
pub const CLIENT_SECRET: &str = "fake-client-secret";
/// The account's email, which is also its primary calendar's id.
pub const ACCOUNT_EMAIL: &str = "host@example.com";
/// The scope the fake grants.
pub const CALENDAR_SCOPE: &str = "https://www.googleapis.com/auth/calendar";

/// How long an access token lives, as `expires_in` says.
const ACCESS_TOKEN_SECONDS: i64 = 3599;
/// Google grants watch channels at most this long on the fake unless told otherwise.
const DEFAULT_MAX_CHANNEL_TTL_SECONDS: i64 = 7 * 24 * 3600;

/// A start and an end, UTC.
pub type Span = (DateTime<Utc>, DateTime<Utc>);

/// A running fake. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeGoogle {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGoogle {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A push-notification channel registered through `events.watch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// The caller's channel id.
    pub id: String,
    /// The per-channel token the caller set.
    pub token: Option<String>,
    /// Where notifications go.
    pub address: String,
    /// Google's id for the watched resource.
    pub resource_id: String,
    /// The calendar watched.
    pub calendar: String,
    /// The granted expiration.
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct State {
    /// Every request line seen, `METHOD /path?query`.
    requests: Vec<String>,
    codes: HashMap<String, IssuedCode>,
    refresh_tokens: Vec<String>,
    access_tokens: Vec<String>,
    issued: u64,
    /// calendar id → event id → event resource, cancelled ones kept (as Google does).
    events: BTreeMap<String, BTreeMap<String, StoredEvent>>,
    /// Monotonic change counter; sync tokens name a value of it.
    version: u64,
    /// Sync tokens naming a version below this answer 410.
    oldest_valid_sync: u64,
    page_size: usize,
    inserts: usize,
    insert_send_updates: Vec<Option<String>>,
    channels: Vec<Channel>,
    stopped: Vec<Channel>,
    max_channel_ttl: TimeDelta,
    busy: HashMap<String, Vec<Span>>,
    failures: VecDeque<Failure>,
    drop_next_insert_response: bool,
    unreachable: bool,
    latency: Duration,
}

#[derive(Debug, Clone)]
struct IssuedCode {
    challenge: String,
    redirect_uri: String,
}

#[derive(Debug, Clone)]
struct StoredEvent {
    resource: Value,
    changed_at: u64,
}

#[derive(Debug, Clone, Copy)]
struct Failure {
    status: u16,
    retry_after_seconds: Option<u64>,
}

/// What the service decided: an answer, or dropping the connection without one.
enum Outcome {
    Answer(Response<Full<Bytes>>),
    Drop,
}

impl FakeGoogle {
    /// Starts the fake on `127.0.0.1` on a free port.
    ///
    /// # Panics
    /// When no local port can be bound (the test cannot run anyway).
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State {
            page_size: 250,
            max_channel_ttl: TimeDelta::seconds(DEFAULT_MAX_CHANNEL_TTL_SECONDS),
            version: 1,
            ..State::default()
        }));
        let shared = Arc::clone(&state);
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                if lock(&shared).unreachable {
                    drop(stream);
                    continue;
                }
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = Arc::clone(&state);
                        async move {
                            match handle(&state, req).await {
                                Outcome::Answer(response) => Ok(response),
                                Outcome::Drop => Err(DroppedResponse),
                            }
                        }
                    });
                    // A dropped response ends the connection with an error; nothing to report.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            state,
            server,
        }
    }

    /// The API root (`http://127.0.0.1:PORT`); the Calendar API is under `/calendar/v3/`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The consent page URL.
    pub fn auth_url(&self) -> String {
        format!("{}/o/oauth2/v2/auth", self.base_url())
    }

    /// The token endpoint URL.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.base_url())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    // ---- inspection ----

    /// Every request received, as `METHOD /path?query`, oldest first.
    pub fn requests(&self) -> Vec<String> {
        self.state().requests.clone()
    }

    /// The event resource as `events.get` would return it (cancelled ones included).
    pub fn event(&self, calendar: &str, event_id: &str) -> Option<Value> {
        let state = self.state();
        state
            .events
            .get(calendar)?
            .get(event_id)
            .map(|e| e.resource.clone())
    }

    /// The events of `calendar` that are not cancelled.
    pub fn live_events(&self, calendar: &str) -> Vec<Value> {
        self.state()
            .events
            .get(calendar)
            .map(|events| {
                events
                    .values()
                    .filter(|e| !is_cancelled(&e.resource))
                    .map(|e| e.resource.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many `events.insert` calls created an event.
    pub fn insert_count(&self) -> usize {
        self.state().inserts
    }

    /// The `sendUpdates` parameter of every `events.insert` call, in order.
    pub fn insert_send_updates(&self) -> Vec<Option<String>> {
        self.state().insert_send_updates.clone()
    }

    /// Channels registered and not stopped.
    pub fn channels(&self) -> Vec<Channel> {
        self.state().channels.clone()
    }

    /// Channels stopped through `channels.stop`.
    pub fn stopped_channels(&self) -> Vec<Channel> {
        self.state().stopped.clone()
    }

    // ---- controls ----

    /// The host drags the event to new times in Google Calendar.
    ///
    /// # Panics
    /// When the event does not exist (a mistake in the test).
    pub fn host_moves(
        &self,
        calendar: &str,
        event_id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) {
        let mut state = self.state();
        let version = state.bump();
        let event = state
            .events
            .get_mut(calendar)
            .and_then(|events| events.get_mut(event_id))
            .expect("host_moves: no such event");
        event.resource["start"] = json!({ "dateTime": rfc3339(start) });
        event.resource["end"] = json!({ "dateTime": rfc3339(end) });
        touch(event, version);
    }

    /// The host deletes the event in Google Calendar.
    ///
    /// # Panics
    /// When the event does not exist (a mistake in the test).
    pub fn host_deletes(&self, calendar: &str, event_id: &str) {
        let mut state = self.state();
        let version = state.bump();
        let event = state
            .events
            .get_mut(calendar)
            .and_then(|events| events.get_mut(event_id))
            .expect("host_deletes: no such event");
        event.resource["status"] = json!("cancelled");
        touch(event, version);
    }

    /// The host creates an event of their own (not Slotkeeper's) in Google Calendar.
    pub fn host_creates(
        &self,
        calendar: &str,
        event_id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) {
        let mut state = self.state();
        let version = state.bump();
        let resource = json!({
            "kind": "calendar#event",
            "id": event_id,
            "status": "confirmed",
            "summary": "Dentist",
            "start": { "dateTime": rfc3339(start) },
            "end": { "dateTime": rfc3339(end) },
        });
        let mut event = StoredEvent {
            resource,
            changed_at: version,
        };
        touch(&mut event, version);
        state
            .events
            .entry(calendar.to_owned())
            .or_default()
            .insert(event_id.to_owned(), event);
    }

    /// The user revokes Slotkeeper's access: every refresh and access token stops working.
    pub fn revoke_grant(&self) {
        let mut state = self.state();
        state.refresh_tokens.clear();
        state.access_tokens.clear();
    }

    /// The next `n` requests (any endpoint) answer `status` with Google's error JSON and, if
    /// given, a `Retry-After` header in seconds.
    pub fn fail_next(&self, n: usize, status: u16, retry_after_seconds: Option<u64>) {
        let mut state = self.state();
        state.failures.extend(std::iter::repeat_n(
            Failure {
                status,
                retry_after_seconds,
            },
            n,
        ));
    }

    /// The next `events.insert` stores the event, then drops the connection unanswered (a
    /// response lost on the way back).
    pub fn drop_next_insert_response(&self) {
        self.state().drop_next_insert_response = true;
    }

    /// Every sync token issued so far answers `410 Gone` (a full sync is required).
    pub fn expire_sync_tokens(&self) {
        let mut state = self.state();
        state.oldest_valid_sync = state.version + 1;
        state.bump();
    }

    /// Busy ranges `freeBusy` reports for `calendar`, on top of its events.
    pub fn set_busy(&self, calendar: &str, ranges: Vec<Span>) {
        self.state().busy.insert(calendar.to_owned(), ranges);
    }

    /// At most `n` items per `events.list` page (Google's default is 250).
    pub fn set_page_size(&self, n: usize) {
        self.state().page_size = n.max(1);
    }

    /// Watch channels are granted at most `ttl`.
    pub fn set_max_channel_ttl(&self, ttl: TimeDelta) {
        self.state().max_channel_ttl = ttl;
    }

    /// Every request waits this long before it is handled (a slow Google).
    pub fn set_latency(&self, latency: Duration) {
        self.state().latency = latency;
    }

    /// While `true`, every connection is dropped without an answer.
    pub fn set_unreachable(&self, unreachable: bool) {
        self.state().unreachable = unreachable;
    }

    /// Sends the push notification Google sends for channel `channel_id` (to its address, with
    /// its id, token and resource id, `X-Goog-Resource-State: {resource_state}`) and returns
    /// the receiver's status code. A stopped channel can be notified too, to test how a
    /// receiver treats a stale notification.
    ///
    /// # Errors
    /// [`NotifyError`] when the channel was never registered, its address is not a plain
    /// `http://` URL, or the receiver cannot be reached.
    pub async fn notify(&self, channel_id: &str, resource_state: &str) -> Result<u16, NotifyError> {
        let (channel, number) = {
            let mut state = self.state();
            let channel = state
                .channels
                .iter()
                .chain(&state.stopped)
                .find(|c| c.id == channel_id)
                .cloned()
                .ok_or_else(|| NotifyError::UnknownChannel(channel_id.to_owned()))?;
            (channel, state.bump())
        };
        let bad_address = || NotifyError::Address(channel.address.clone());
        let url = url::Url::parse(&channel.address).map_err(|_| bad_address())?;
        if url.scheme() != "http" {
            return Err(bad_address());
        }
        let host = url.host_str().ok_or_else(bad_address)?.to_owned();
        let port = url.port_or_known_default().ok_or_else(bad_address)?;
        let stream = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| NotifyError::Send(e.to_string()))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| NotifyError::Send(e.to_string()))?;
        tokio::spawn(connection);
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("host", format!("{host}:{port}"))
            .header("x-goog-channel-id", &channel.id)
            .header("x-goog-message-number", number.to_string())
            .header("x-goog-resource-id", &channel.resource_id)
            .header("x-goog-resource-state", resource_state)
            .header(
                "x-goog-resource-uri",
                format!(
                    "{}/calendar/v3/calendars/{}/events?alt=json",
                    self.base_url(),
                    channel.calendar
                ),
            )
            .header("x-goog-channel-expiration", channel.expires_at.to_rfc2822())
            .header("content-length", "0");
        if let Some(token) = &channel.token {
            request = request.header("x-goog-channel-token", token);
        }
        let request = request
            .body(Full::new(Bytes::new()))
            .map_err(|e| NotifyError::Send(e.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| NotifyError::Send(e.to_string()))?;
        Ok(response.status().as_u16())
    }
}

/// A push notification could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// No channel with that id was ever registered.
    #[error("no channel {0} was registered")]
    UnknownChannel(String),
    /// The channel's address is not a plain `http://` URL the fake can reach.
    #[error("the fake notifies only plain http:// addresses, not {0:?}")]
    Address(String),
    /// Connecting or sending failed.
    #[error("sending the notification failed: {0}")]
    Send(String),
}

/// The service's error that makes hyper close the connection without an answer.
#[derive(Debug, thiserror::Error)]
#[error("response dropped on purpose")]
struct DroppedResponse;

impl State {
    fn bump(&mut self) -> u64 {
        self.version += 1;
        self.version
    }

    fn next_number(&mut self) -> u64 {
        self.issued += 1;
        self.issued
    }

    fn issue_access_token(&mut self) -> String {
        let token = format!("ya29.fake-access-{}", self.next_number());
        self.access_tokens.push(token.clone());
        token
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn touch(event: &mut StoredEvent, version: u64) {
    event.changed_at = version;
    let sequence = event.resource["sequence"].as_i64().unwrap_or(0);
    event.resource["sequence"] = json!(sequence + 1);
    event.resource["etag"] = json!(format!("\"{version}\""));
    event.resource["updated"] = json!(rfc3339(Utc::now()));
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn is_cancelled(event: &Value) -> bool {
    event["status"] == "cancelled"
}

fn answer(status: StatusCode, body: &Value) -> Outcome {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    Outcome::Answer(response)
}

fn empty(status: StatusCode) -> Outcome {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    Outcome::Answer(response)
}

/// Google's error body: `{"error": {"code", "message", "errors": [{domain, reason, message}]}}`.
fn google_error(status: StatusCode, reason: &str, message: &str) -> Outcome {
    answer(
        status,
        &json!({
            "error": {
                "code": status.as_u16(),
                "message": message,
                "errors": [{ "domain": "global", "reason": reason, "message": message }],
            }
        }),
    )
}

/// The OAuth token endpoint's error body.
fn oauth_error(error: &str, description: &str) -> Outcome {
    let status = if error == "invalid_client" {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    };
    answer(
        status,
        &json!({ "error": error, "error_description": description }),
    )
}

fn not_found() -> Outcome {
    google_error(StatusCode::NOT_FOUND, "notFound", "Not Found")
}

fn deleted() -> Outcome {
    google_error(StatusCode::GONE, "deleted", "Resource has been deleted")
}

async fn handle(state: &Mutex<State>, req: Request<Incoming>) -> Outcome {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let query: HashMap<String, String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let latency = lock(state).latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Outcome::Drop,
    };
    let segments: Vec<String> = uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();

    let mut state = lock(state);
    state.requests.push(format!(
        "{method} {}",
        uri.path_and_query().map_or("/", |p| p.as_str())
    ));
    if state.unreachable {
        return Outcome::Drop;
    }
    if let Some(failure) = state.failures.pop_front() {
        let status =
            StatusCode::from_u16(failure.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let mut outcome = google_error(
            status,
            "backendError",
            "The service is currently unavailable.",
        );
        if let (Outcome::Answer(response), Some(seconds)) =
            (&mut outcome, failure.retry_after_seconds)
        {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(seconds));
        }
        return outcome;
    }

    match (&method, segments.as_slice()) {
        (&Method::GET, ["o", "oauth2", "v2", "auth"]) => consent(&mut state, &query),
        (&Method::POST, ["token"]) => token(&mut state, &body),
        (_, ["calendar", "v3", rest @ ..]) => {
            let bearer = authorization
                .as_deref()
                .and_then(|a| a.strip_prefix("Bearer "));
            if !bearer.is_some_and(|t| state.access_tokens.iter().any(|known| known == t)) {
                return google_error(
                    StatusCode::UNAUTHORIZED,
                    "authError",
                    "Request had invalid authentication credentials.",
                );
            }
            let json: Option<Value> = if body.is_empty() {
                None
            } else {
                serde_json::from_slice(&body).ok()
            };
            calendar_api(&mut state, &method, rest, &query, json)
        }
        _ => not_found(),
    }
}

/// The consent page: consents at once and sends the browser back with a code.
fn consent(state: &mut State, query: &HashMap<String, String>) -> Outcome {
    let get = |k: &str| query.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != CLIENT_ID {
        return answer(
            StatusCode::BAD_REQUEST,
            &json!({ "error": "invalid_client" }),
        );
    }
    if get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || get("code_challenge").is_empty()
    {
        return answer(
            StatusCode::BAD_REQUEST,
            &json!({ "error": "invalid_request" }),
        );
    }
    let Ok(mut redirect) = url::Url::parse(get("redirect_uri")) else {
        return answer(
            StatusCode::BAD_REQUEST,
            &json!({ "error": "redirect_uri_mismatch" }),
        );
    };
    let code = format!("4/fake-code-{}", state.next_number());
    state.codes.insert(
        code.clone(),
        IssuedCode {
            challenge: get("code_challenge").to_owned(),
            redirect_uri: get("redirect_uri").to_owned(),
        },
    );
    redirect
        .query_pairs_mut()
        .append_pair("state", get("state"))
        .append_pair("code", &code)
        .append_pair("scope", CALENDAR_SCOPE);
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::FOUND;
    response.headers_mut().insert(
        "location",
        HeaderValue::from_str(redirect.as_str()).unwrap_or(HeaderValue::from_static("/")),
    );
    Outcome::Answer(response)
}

/// `POST /token`, form-encoded: `authorization_code` (with PKCE) and `refresh_token` grants.
fn token(state: &mut State, body: &[u8]) -> Outcome {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != CLIENT_ID || get("client_secret") != CLIENT_SECRET {
        return oauth_error("invalid_client", "The OAuth client was not found.");
    }
    match get("grant_type") {
        "authorization_code" => {
            let Some(issued) = state.codes.remove(get("code")) else {
                return oauth_error("invalid_grant", "Malformed auth code.");
            };
            if issued.redirect_uri != get("redirect_uri") {
                return oauth_error("redirect_uri_mismatch", "Bad Request");
            }
            let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier").as_bytes()));
            if challenge != issued.challenge {
                return oauth_error("invalid_grant", "Invalid code verifier.");
            }
            let access = state.issue_access_token();
            let refresh = format!("1//fake-refresh-{}", state.next_number());
            state.refresh_tokens.push(refresh.clone());
            answer(
                StatusCode::OK,
                &json!({
                    "access_token": access,
                    "expires_in": ACCESS_TOKEN_SECONDS,
                    "refresh_token": refresh,
                    "scope": CALENDAR_SCOPE,
                    "token_type": "Bearer",
                }),
            )
        }
        "refresh_token" => {
            if !state
                .refresh_tokens
                .iter()
                .any(|t| t == get("refresh_token"))
            {
                return oauth_error("invalid_grant", "Token has been expired or revoked.");
            }
            let access = state.issue_access_token();
            answer(
                StatusCode::OK,
                &json!({
                    "access_token": access,
                    "expires_in": ACCESS_TOKEN_SECONDS,
                    "scope": CALENDAR_SCOPE,
                    "token_type": "Bearer",
                }),
            )
        }
        _ => oauth_error("unsupported_grant_type", "Invalid grant_type."),
    }
}

fn calendar_api(
    state: &mut State,
    method: &Method,
    path: &[&str],
    query: &HashMap<String, String>,
    body: Option<Value>,
) -> Outcome {
    match (method, path) {
        (&Method::GET, ["calendars", calendar])
        | (&Method::GET, ["users", "me", "calendarList", calendar]) => {
            if *calendar == "primary" || *calendar == ACCOUNT_EMAIL {
                answer(
                    StatusCode::OK,
                    &json!({
                        "kind": "calendar#calendar",
                        "etag": "\"1\"",
                        "id": ACCOUNT_EMAIL,
                        "summary": ACCOUNT_EMAIL,
                        "timeZone": "Europe/Berlin",
                    }),
                )
            } else {
                not_found()
            }
        }
        (&Method::POST, ["calendars", calendar, "events"]) => {
            insert(state, &canonical(calendar), query, body)
        }
        (&Method::GET, ["calendars", calendar, "events"]) => {
            list(state, &canonical(calendar), query)
        }
        (&Method::POST, ["calendars", calendar, "events", "watch"]) => {
            watch(state, &canonical(calendar), body)
        }
        (&Method::GET, ["calendars", calendar, "events", id]) => {
            match state
                .events
                .get(&canonical(calendar))
                .and_then(|e| e.get(*id))
            {
                Some(event) => answer(StatusCode::OK, &event.resource),
                None => not_found(),
            }
        }
        (&Method::PATCH | &Method::PUT, ["calendars", calendar, "events", id]) => {
            let replace = method == Method::PUT;
            let version = state.bump();
            let Some(event) = state
                .events
                .get_mut(&canonical(calendar))
                .and_then(|e| e.get_mut(*id))
            else {
                return not_found();
            };
            if is_cancelled(&event.resource) {
                return deleted();
            }
            let Some(Value::Object(fields)) = body else {
                return google_error(StatusCode::BAD_REQUEST, "invalid", "Invalid event body.");
            };
            let kept = ["kind", "id", "status", "created", "iCalUID", "sequence"]
                .map(|k| (k, event.resource.get(k).cloned()));
            if replace {
                event.resource = json!({});
            }
            for (key, value) in fields {
                event.resource[key] = value;
            }
            for (key, value) in kept {
                if let Some(value) = value {
                    event.resource[key] = value;
                }
            }
            touch(event, version);
            answer(StatusCode::OK, &event.resource)
        }
        (&Method::DELETE, ["calendars", calendar, "events", id]) => {
            let version = state.bump();
            let Some(event) = state
                .events
                .get_mut(&canonical(calendar))
                .and_then(|e| e.get_mut(*id))
            else {
                return not_found();
            };
            if is_cancelled(&event.resource) {
                return deleted();
            }
            event.resource["status"] = json!("cancelled");
            touch(event, version);
            empty(StatusCode::NO_CONTENT)
        }
        (&Method::POST, ["channels", "stop"]) => {
            let id = body
                .as_ref()
                .and_then(|b| b["id"].as_str())
                .unwrap_or_default()
                .to_owned();
            let resource = body
                .as_ref()
                .and_then(|b| b["resourceId"].as_str())
                .unwrap_or_default()
                .to_owned();
            match state
                .channels
                .iter()
                .position(|c| c.id == id && c.resource_id == resource)
            {
                Some(at) => {
                    let channel = state.channels.remove(at);
                    state.stopped.push(channel);
                    empty(StatusCode::NO_CONTENT)
                }
                None => google_error(
                    StatusCode::NOT_FOUND,
                    "notFound",
                    &format!("Channel '{id}' not found for project '000000000000'"),
                ),
            }
        }
        (&Method::POST, ["freeBusy"]) => free_busy(state, body),
        _ => not_found(),
    }
}

/// `primary` is the account's calendar.
fn canonical(calendar: &str) -> String {
    if calendar == "primary" {
        ACCOUNT_EMAIL.to_owned()
    } else {
        calendar.to_owned()
    }
}

fn valid_event_id(id: &str) -> bool {
    (5..=1024).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b))
}

fn insert(
    state: &mut State,
    calendar: &str,
    query: &HashMap<String, String>,
    body: Option<Value>,
) -> Outcome {
    state
        .insert_send_updates
        .push(query.get("sendUpdates").cloned());
    let Some(mut resource @ Value::Object(_)) = body else {
        return google_error(StatusCode::BAD_REQUEST, "invalid", "Invalid event body.");
    };
    let id = match resource["id"].as_str() {
        Some(id) => id.to_owned(),
        None => format!("fake{}", state.next_number()),
    };
    if !valid_event_id(&id) {
        return google_error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "Invalid resource id value.",
        );
    }
    if state
        .events
        .get(calendar)
        .is_some_and(|e| e.contains_key(&id))
    {
        return google_error(
            StatusCode::CONFLICT,
            "duplicate",
            "The requested identifier already exists.",
        );
    }
    if resource["start"]["dateTime"].is_null() && resource["start"]["date"].is_null() {
        return google_error(StatusCode::BAD_REQUEST, "required", "Missing start time.");
    }
    let now = rfc3339(Utc::now());
    resource["kind"] = json!("calendar#event");
    resource["id"] = json!(id);
    resource["status"] = json!("confirmed");
    resource["created"] = json!(now);
    resource["iCalUID"] = json!(format!("{id}@google.com"));
    resource["htmlLink"] = json!(format!("https://www.google.com/calendar/event?eid={id}"));
    resource["organizer"] = json!({ "email": calendar, "self": true });
    resource["creator"] = json!({ "email": calendar, "self": true });
    resource["sequence"] = json!(-1);
    let version = state.bump();
    let mut event = StoredEvent {
        resource,
        changed_at: version,
    };
    touch(&mut event, version);
    let shown = event.resource.clone();
    state
        .events
        .entry(calendar.to_owned())
        .or_default()
        .insert(id, event);
    state.inserts += 1;
    if std::mem::take(&mut state.drop_next_insert_response) {
        return Outcome::Drop;
    }
    answer(StatusCode::OK, &shown)
}

/// `events.list`: a full listing, or the changes since a sync token, in pages.
///
/// Page tokens carry the listing's baseline and snapshot, so pages of one run stay
/// consistent while writes go on.
fn list(state: &mut State, calendar: &str, query: &HashMap<String, String>) -> Outcome {
    let show_deleted = query.get("showDeleted").is_some_and(|v| v == "true");
    let (since, snapshot, offset, incremental) = if let Some(page) = query.get("pageToken") {
        let parts: Vec<u64> = page
            .split('.')
            .skip(1)
            .filter_map(|p| p.parse().ok())
            .collect();
        let [since, snapshot, offset, incremental] = parts[..] else {
            return google_error(
                StatusCode::BAD_REQUEST,
                "invalid",
                "Invalid page token value.",
            );
        };
        (
            since,
            snapshot,
            usize::try_from(offset).unwrap_or(usize::MAX),
            incremental == 1,
        )
    } else if let Some(sync) = query.get("syncToken") {
        let Some(since) = sync
            .strip_prefix("fakesync.")
            .and_then(|v| v.parse::<u64>().ok())
        else {
            return google_error(
                StatusCode::BAD_REQUEST,
                "invalid",
                "Invalid sync token value.",
            );
        };
        if since < state.oldest_valid_sync {
            return google_error(
                StatusCode::GONE,
                "fullSyncRequired",
                "Sync token is no longer valid, a full sync is required.",
            );
        }
        (since, state.version, 0, true)
    } else {
        (0, state.version, 0, false)
    };
    let mut items: Vec<&StoredEvent> = state
        .events
        .get(calendar)
        .map(|events| {
            events
                .values()
                .filter(|e| e.changed_at > since && e.changed_at <= snapshot)
                .filter(|e| incremental || show_deleted || !is_cancelled(&e.resource))
                .collect()
        })
        .unwrap_or_default();
    items.sort_by_key(|e| e.changed_at);
    let page: Vec<Value> = items
        .iter()
        .skip(offset)
        .take(state.page_size)
        .map(|e| e.resource.clone())
        .collect();
    let mut body = json!({
        "kind": "calendar#events",
        "etag": format!("\"{snapshot}\""),
        "summary": calendar,
        "updated": rfc3339(Utc::now()),
        "timeZone": "Europe/Berlin",
        "accessRole": "owner",
        "defaultReminders": [],
        "items": page,
    });
    let next = offset + state.page_size;
    if next < items.len() {
        body["nextPageToken"] = json!(format!(
            "fakepage.{since}.{snapshot}.{next}.{}",
            u8::from(incremental)
        ));
    } else {
        body["nextSyncToken"] = json!(format!("fakesync.{snapshot}"));
    }
    answer(StatusCode::OK, &body)
}

fn watch(state: &mut State, calendar: &str, body: Option<Value>) -> Outcome {
    let Some(body) = body else {
        return google_error(StatusCode::BAD_REQUEST, "required", "Required");
    };
    let (Some(id), Some(address)) = (body["id"].as_str(), body["address"].as_str()) else {
        return google_error(StatusCode::BAD_REQUEST, "required", "Required");
    };
    if body["type"] != "web_hook" && body["type"] != "webhook" {
        return google_error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "Invalid value for: type",
        );
    }
    if state.channels.iter().any(|c| c.id == id) {
        return google_error(
            StatusCode::BAD_REQUEST,
            "channelIdNotUnique",
            "Channel id not unique",
        );
    }
    let asked = body["params"]["ttl"]
        .as_str()
        .and_then(|s| s.parse::<i64>().ok())
        .map_or(
            TimeDelta::seconds(DEFAULT_MAX_CHANNEL_TTL_SECONDS),
            TimeDelta::seconds,
        );
    let expires_at = Utc::now() + asked.min(state.max_channel_ttl);
    let resource_id = format!("fakeresource{}", state.next_number());
    let channel = Channel {
        id: id.to_owned(),
        token: body["token"].as_str().map(str::to_owned),
        address: address.to_owned(),
        resource_id: resource_id.clone(),
        calendar: calendar.to_owned(),
        expires_at,
    };
    let mut shown = json!({
        "kind": "api#channel",
        "id": id,
        "resourceId": resource_id,
        "resourceUri": format!("https://www.googleapis.com/calendar/v3/calendars/{calendar}/events?alt=json"),
        "expiration": expires_at.timestamp_millis().to_string(),
    });
    if let Some(token) = &channel.token {
        shown["token"] = json!(token);
    }
    state.channels.push(channel);
    answer(StatusCode::OK, &shown)
}

fn free_busy(state: &State, body: Option<Value>) -> Outcome {
    let Some(body) = body else {
        return google_error(StatusCode::BAD_REQUEST, "required", "Required");
    };
    let parse = |v: &Value| {
        v.as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let (Some(min), Some(max)) = (parse(&body["timeMin"]), parse(&body["timeMax"])) else {
        return google_error(
            StatusCode::BAD_REQUEST,
            "required",
            "Missing timeMin or timeMax.",
        );
    };
    let mut calendars = serde_json::Map::new();
    for item in body["items"].as_array().into_iter().flatten() {
        let Some(asked) = item["id"].as_str() else {
            continue;
        };
        let id = canonical(asked);
        let known =
            id == ACCOUNT_EMAIL || state.busy.contains_key(&id) || state.events.contains_key(&id);
        if !known {
            calendars.insert(
                asked.to_owned(),
                json!({ "errors": [{ "domain": "global", "reason": "notFound" }], "busy": [] }),
            );
            continue;
        }
        let mut ranges: Vec<Span> = state.busy.get(&id).cloned().unwrap_or_default();
        for event in state.events.get(&id).into_iter().flat_map(BTreeMap::values) {
            let e = &event.resource;
            if is_cancelled(e) || e["transparency"] == "transparent" {
                continue;
            }
            if let (Some(s), Some(t)) =
                (parse(&e["start"]["dateTime"]), parse(&e["end"]["dateTime"]))
            {
                ranges.push((s, t));
            }
        }
        ranges.retain(|(s, e)| *s < max && *e > min);
        ranges.sort();
        let busy: Vec<Value> = ranges
            .into_iter()
            .map(|(s, e)| json!({ "start": rfc3339(s.max(min)), "end": rfc3339(e.min(max)) }))
            .collect();
        calendars.insert(asked.to_owned(), json!({ "busy": busy }));
    }
    answer(
        StatusCode::OK,
        &json!({
            "kind": "calendar#freeBusy",
            "timeMin": rfc3339(min),
            "timeMax": rfc3339(max),
            "calendars": calendars,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_follow_googles_alphabet() {
        assert!(valid_event_id("slotkeeper0123456789abcdef"));
        assert!(!valid_event_id("abcd"));
        assert!(!valid_event_id("0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f"));
        assert!(!valid_event_id("UPPER12345"));
        assert!(!valid_event_id("wxyz12345"));
    }

    #[tokio::test]
    async fn unauthenticated_api_calls_get_googles_401() {
        let fake = FakeGoogle::start().await;
        let stream = TcpStream::connect(fake.addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let request = Request::get("/calendar/v3/calendars/primary")
            .header("host", "127.0.0.1")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"]["code"], 401);
        assert_eq!(json["error"]["errors"][0]["reason"], "authError");
        assert_eq!(
            fake.requests(),
            vec!["GET /calendar/v3/calendars/primary".to_owned()]
        );
    }

    #[tokio::test]
    async fn notify_sends_googles_push_headers_to_the_channel_address() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let receiver = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!(
            "http://{}/api/calendar-providers/webhook/google",
            receiver.local_addr().unwrap()
        );
        let fake = FakeGoogle::start().await;
        fake.state().channels.push(Channel {
            id: "channel-1".to_owned(),
            token: Some("secret-1".to_owned()),
            address,
            resource_id: "fakeresource1".to_owned(),
            calendar: ACCOUNT_EMAIL.to_owned(),
            expires_at: Utc::now() + TimeDelta::days(1),
        });
        let received = tokio::spawn(async move {
            let (mut stream, _) = receiver.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buf).await.unwrap();
                seen.extend_from_slice(&buf[..n]);
            }
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8(seen).unwrap().to_ascii_lowercase()
        });
        assert_eq!(fake.notify("channel-1", "exists").await.unwrap(), 204);
        let request = received.await.unwrap();
        assert!(
            request.starts_with("post /api/calendar-providers/webhook/google http/1.1"),
            "{request}"
        );
        for header in [
            "x-goog-channel-id: channel-1",
            "x-goog-channel-token: secret-1",
            "x-goog-resource-id: fakeresource1",
            "x-goog-resource-state: exists",
        ] {
            assert!(request.contains(header), "{header} missing in {request}");
        }
        assert!(
            fake.notify("channel-2", "exists").await.is_err(),
            "unknown channels are not notified"
        );
    }

    /// Sends one request with a valid bearer token and returns the status and JSON body.
    async fn send(
        fake: &FakeGoogle,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let token = fake.state().issue_access_token();
        let stream = TcpStream::connect(fake.addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(bytes)))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn update_replaces_the_event_but_keeps_its_identity() {
        let fake = FakeGoogle::start().await;
        let events = "/calendar/v3/calendars/primary/events";
        let created = json!({
            "id": "slotkeeper00000000000000000000000000000001",
            "summary": "Intro",
            "location": "Room 1",
            "start": { "dateTime": "2027-03-01T09:00:00Z" },
            "end": { "dateTime": "2027-03-01T09:30:00Z" },
        });
        let (status, first) = send(&fake, Method::POST, events, Some(created)).await;
        assert_eq!(status, StatusCode::OK);
        let path = format!("{events}/slotkeeper00000000000000000000000000000001");
        let replacement = json!({
            "summary": "Intro, moved",
            "start": { "dateTime": "2027-03-01T11:00:00Z" },
            "end": { "dateTime": "2027-03-01T11:30:00Z" },
        });
        let (status, updated) = send(&fake, Method::PUT, &path, Some(replacement)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(updated["id"], first["id"]);
        assert_eq!(updated["status"], "confirmed");
        assert_eq!(updated["summary"], "Intro, moved");
        assert!(
            updated.get("location").is_none(),
            "update replaces, unlike patch"
        );
        assert!(updated["sequence"].as_i64() > first["sequence"].as_i64());

        let (status, error) = send(
            &fake,
            Method::PUT,
            &format!("{events}/unknown00001"),
            Some(json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(error["error"]["errors"][0]["reason"], "notFound");
    }

    #[tokio::test]
    async fn insert_refuses_ids_outside_googles_alphabet() {
        let fake = FakeGoogle::start().await;
        let event = json!({
            "id": "0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f",
            "start": { "dateTime": "2027-03-01T09:00:00Z" },
            "end": { "dateTime": "2027-03-01T09:30:00Z" },
        });
        let (status, error) = send(
            &fake,
            Method::POST,
            "/calendar/v3/calendars/primary/events",
            Some(event),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error["error"]["message"], "Invalid resource id value.");
        assert_eq!(fake.insert_count(), 0);
    }
}
