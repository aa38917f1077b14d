//! The fake's HTTP routes: the identity platform's authorize and token endpoints, and the
//! Graph v1.0 calls the calendar adapter makes, answering in Graph's JSON shapes.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, NaiveDateTime, SubsecRound, TimeDelta, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::state::{
    DeltaCursor, FakeEvent, FakeSubscription, Grant, MAX_SUBSCRIPTION_MINUTES, PageCursor, State,
    TENANT_ID, USER_ID, wire_local,
};

pub(crate) type Shared = web::Data<Mutex<State>>;

/// Every route of the fake.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/{tenant}/oauth2/v2.0/authorize", web::get().to(authorize))
        .route("/{tenant}/oauth2/v2.0/token", web::post().to(token))
        .route("/v1.0/me", web::get().to(me))
        .route(
            "/v1.0/me/calendar/getSchedule",
            web::post().to(get_schedule),
        )
        .route("/v1.0/me/events", web::post().to(create_event))
        .route("/v1.0/me/events", web::get().to(list_events))
        .route("/v1.0/me/events/{id}", web::get().to(get_event))
        .route("/v1.0/me/events/{id}", web::patch().to(update_event))
        .route("/v1.0/me/events/{id}", web::delete().to(delete_event))
        .route("/v1.0/me/calendarView/delta", web::get().to(delta))
        .route("/v1.0/me/calendarView/delta()", web::get().to(delta))
        .route("/v1.0/subscriptions", web::post().to(create_subscription))
        .route("/v1.0/subscriptions/{id}", web::get().to(get_subscription))
        .route(
            "/v1.0/subscriptions/{id}",
            web::patch().to(update_subscription),
        )
        .route(
            "/v1.0/subscriptions/{id}",
            web::delete().to(delete_subscription),
        )
        .route(
            "/v1.0/subscriptions/{id}/reauthorize",
            web::post().to(reauthorize),
        )
        .default_service(web::to(unmatched));
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, State> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Graph's error answer.
pub(crate) fn graph_error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                "request-id": "b1f4c8a2-6b2e-4d8e-9b1a-3c2d1e0f9a8b",
                "client-request-id": "b1f4c8a2-6b2e-4d8e-9b1a-3c2d1e0f9a8b",
            },
        }
    }))
}

/// The identity platform's error answer.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "error": error,
        "error_description": description,
        "error_codes": [70000],
        "timestamp": Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
        "trace_id": "0a1b2c3d-0000-4000-8000-000000000000",
        "correlation_id": "0a1b2c3d-0000-4000-8000-000000000001",
    }))
}

/// An injected failure, if one is queued.
fn injected(state: &mut State) -> Option<HttpResponse> {
    if state.failures.is_empty() {
        return None;
    }
    let failure = state.failures.remove(0);
    let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let code = if status == StatusCode::TOO_MANY_REQUESTS {
        "TooManyRequests"
    } else {
        "ServiceNotAvailable"
    };
    let mut response = graph_error(status, code, "The service is temporarily unavailable.");
    if let Some(seconds) = failure.retry_after_seconds
        && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Some(response)
}

/// Injected failures first, then the bearer token.
#[expect(
    clippy::result_large_err,
    reason = "the refusal is the answer itself, returned at once by a handler"
)]
fn gate(req: &HttpRequest, state: &mut State) -> Result<(), HttpResponse> {
    if let Some(failure) = injected(state) {
        return Err(failure);
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if token.is_empty() {
        return Err(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        ));
    }
    if !state.access_ok(token) {
        return Err(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        ));
    }
    Ok(())
}

async fn unmatched(req: HttpRequest, shared: Shared) -> HttpResponse {
    lock(&shared)
        .unmatched
        .push(format!("{} {}", req.method(), req.uri()));
    graph_error(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        &format!("Resource not found for the segment '{}'.", req.path()),
    )
}

// ---- identity platform ----

async fn authorize(shared: Shared, query: web::Query<HashMap<String, String>>) -> HttpResponse {
    let query = query.into_inner();
    let mut state = lock(&shared);
    state.last_authorize_query = Some(query.clone());
    let Some(redirect_uri) = query.get("redirect_uri") else {
        return HttpResponse::BadRequest().body(
            "AADSTS900144: The request body must contain the following parameter: 'redirect_uri'.",
        );
    };
    if query.get("client_id") != Some(&state.client_id) {
        return HttpResponse::BadRequest()
            .body("AADSTS700016: Application not found in the directory.");
    }
    let challenge = query.get("code_challenge").cloned().unwrap_or_default();
    if query.get("code_challenge_method").map(String::as_str) != Some("S256")
        || challenge.is_empty()
    {
        return HttpResponse::BadRequest()
            .body("AADSTS9002325: Proof Key for Code Exchange is required.");
    }
    let code = state.fresh("0.AXoAcode");
    let scope = query.get("scope").cloned().unwrap_or_default();
    state.codes.insert(
        code.clone(),
        Grant {
            redirect_uri: redirect_uri.clone(),
            code_challenge: challenge,
            scope,
        },
    );
    let mut location = match url::Url::parse(redirect_uri) {
        Ok(url) => url,
        Err(_) => return HttpResponse::BadRequest().body("AADSTS50011: invalid redirect URI"),
    };
    location.query_pairs_mut().append_pair("code", &code);
    if let Some(s) = query.get("state") {
        location.query_pairs_mut().append_pair("state", s);
    }
    location
        .query_pairs_mut()
        .append_pair("session_state", "00000000-0000-0000-0000-000000000000");
    HttpResponse::Found()
        .insert_header((header::LOCATION, location.as_str()))
        .finish()
}

/// Client credentials from the form body or a Basic header.
fn client_credentials(
    req: &HttpRequest,
    form: &HashMap<String, String>,
) -> (Option<String>, Option<String>) {
    if let Some(basic) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        && let Some((id, secret)) = STANDARD
            .decode(basic)
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|text| {
                text.split_once(':')
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
            })
    {
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        return (decode(&id), decode(&secret));
    }
    (
        form.get("client_id").cloned(),
        form.get("client_secret").cloned(),
    )
}

async fn token(
    req: HttpRequest,
    shared: Shared,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let form = form.into_inner();
    let mut state = lock(&shared);
    state.token_requests.push(
        form.iter()
            .filter(|(k, _)| !k.contains("secret"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    );
    if let Some(failure) = injected(&mut state) {
        return failure;
    }
    let (client_id, client_secret) = client_credentials(&req, &form);
    if client_id.as_deref() != Some(state.client_id.as_str())
        || client_secret.as_deref() != Some(state.client_secret.as_str())
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided.",
        );
    }
    let scope = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let code = form.get("code").cloned().unwrap_or_default();
            let Some(grant) = state.codes.remove(&code) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.",
                );
            };
            if form.get("redirect_uri") != Some(&grant.redirect_uri) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "AADSTS70000: The redirect URI does not match the one of the authorization request.",
                );
            }
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.code_challenge {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.",
                );
            }
            state.grant_revoked = false;
            grant.scope
        }
        Some("refresh_token") => {
            let refresh = form.get("refresh_token").cloned().unwrap_or_default();
            if state.grant_revoked || !state.refresh_tokens.contains(&refresh) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed.",
                );
            }
            form.get("scope").cloned().unwrap_or_default()
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "AADSTS70003: The app requested an unsupported grant type.",
            );
        }
    };
    let (access, refresh) = state.issue_tokens();
    let scope: Vec<&str> = scope
        .split(' ')
        .filter(|s| !s.is_empty() && *s != "offline_access")
        .collect();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "token_type": "Bearer",
            "scope": scope.join(" "),
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": access,
            "refresh_token": refresh,
        }))
}

// ---- Graph ----

async fn me(req: HttpRequest, shared: Shared) -> HttpResponse {
    let mut state = lock(&shared);
    if let Err(refused) = gate(&req, &mut state) {
        return refused;
    }
    HttpResponse::Ok().json(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
        "businessPhones": ["+1 412 555 0109"],
        "displayName": "Megan Bowen",
        "givenName": "Megan",
        "jobTitle": "Marketing Manager",
        "mail": state.mail,
        "mobilePhone": null,
        "officeLocation": "12/1110",
        "preferredLanguage": "en-US",
        "surname": "Bowen",
        "userPrincipalName": state.user_principal_name,
        "id": USER_ID,
    }))
}

/// A `dateTimeTimeZone` in UTC (the only zone the fake speaks).
fn utc_time(value: &Value) -> Option<DateTime<Utc>> {
    let zone = value.get("timeZone")?.as_str()?;
    if !zone.eq_ignore_ascii_case("utc") {
        return None;
    }
    let text = value.get("dateTime")?.as_str()?.trim_end_matches('Z');
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// Availability digit of a getSchedule status.
fn availability_digit(status: &str) -> u8 {
    match status {
        "tentative" => 1,
        "busy" => 2,
        "oof" => 3,
        "workingElsewhere" => 4,
        _ => 0,
    }
}

async fn get_schedule(req: HttpRequest, shared: Shared, body: web::Json<Value>) -> HttpResponse {
    let mut state = lock(&shared);
    if let Err(refused) = gate(&req, &mut state) {
        return refused;
    }
    let (Some(start), Some(end)) = (
        body.get("startTime").and_then(utc_time),
        body.get("endTime").and_then(utc_time),
    ) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidParameter",
            "startTime and endTime must be dateTimeTimeZone values in UTC.",
        );
    };
    let interval = body
        .get("availabilityViewInterval")
        .and_then(Value::as_i64)
        .unwrap_or(30)
        .clamp(5, 1440);
    let schedules: Vec<String> = body
        .get("schedules")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if schedules.is_empty() || end <= start {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidParameter",
            "schedules must not be empty.",
        );
    }
    let mut value = Vec::new();
    for schedule in schedules {
        if !schedule.eq_ignore_ascii_case(state.address()) {
            value.push(json!({
                "scheduleId": schedule,
                "error": { "message": "The requested user is not found.", "responseCode": "ErrorMailRecipientNotFound" },
            }));
            continue;
        }
        if let Some(code) = &state.schedule_error {
            value.push(json!({
                "scheduleId": schedule,
                "error": { "message": "The free/busy information could not be retrieved.", "responseCode": code },
            }));
            continue;
        }
        let mut items: Vec<(DateTime<Utc>, DateTime<Utc>, String, String)> = state
            .busy
            .iter()
            .filter(|b| b.start < end && start < b.end)
            .map(|b| (b.start, b.end, b.status.clone(), String::new()))
            .collect();
        items.extend(
            state
                .events
                .values()
                .filter(|e| !e.deleted && !e.is_cancelled && e.overlaps(start, end))
                .map(|e| (e.start, e.end, e.show_as.clone(), e.subject.clone())),
        );
        items.sort_by_key(|i| i.0);
        let mut view = String::new();
        let mut slot = start;
        while slot < end {
            let slot_end = slot + TimeDelta::minutes(interval);
            let digit = items
                .iter()
                .filter(|i| i.0 < slot_end && slot < i.1)
                .map(|i| availability_digit(&i.2))
                .max()
                .unwrap_or(0);
            view.push(char::from(b'0' + digit));
            slot = slot_end;
        }
        let schedule_items: Vec<Value> = items
            .iter()
            .map(|(s, e, status, subject)| {
                json!({
                    "isPrivate": false,
                    "status": status,
                    "subject": subject,
                    "location": "",
                    "isMeeting": false,
                    "isRecurring": false,
                    "isException": false,
                    "isReminderSet": false,
                    "start": { "dateTime": wire_local(*s), "timeZone": "UTC" },
                    "end": { "dateTime": wire_local(*e), "timeZone": "UTC" },
                })
            })
            .collect();
        value.push(json!({
            "scheduleId": schedule,
            "availabilityView": view,
            "scheduleItems": schedule_items,
            "workingHours": {
                "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                "startTime": "08:00:00.0000000",
                "endTime": "17:00:00.0000000",
                "timeZone": { "name": "UTC" },
            },
        }));
    }
    HttpResponse::Ok().json(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.scheduleInformation)",
        "value": value,
    }))
}

/// A body whose stream breaks: the client gets no complete answer (a lost response).
struct Broken;

impl MessageBody for Broken {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::other(
            "the fake drops this response",
        ))))
    }
}

/// Applies the writable fields of an event JSON to `event`.
#[expect(
    clippy::result_large_err,
    reason = "the refusal is the answer itself, returned at once by a handler"
)]
fn apply(event: &mut FakeEvent, body: &Value) -> Result<(), HttpResponse> {
    if let Some(subject) = body.get("subject").and_then(Value::as_str) {
        subject.clone_into(&mut event.subject);
    }
    if let Some(item) = body.get("body") {
        event.body_type = item
            .get("contentType")
            .and_then(Value::as_str)
            .unwrap_or("text")
            .to_owned();
        event.body = item
            .get("content")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
    }
    for (field, slot) in [("start", &mut event.start), ("end", &mut event.end)] {
        if let Some(value) = body.get(field) {
            *slot = utc_time(value).ok_or_else(|| {
                graph_error(
                    StatusCode::BAD_REQUEST,
                    "ErrorInvalidRequest",
                    &format!("{field} must be a dateTimeTimeZone in UTC."),
                )
            })?;
        }
    }
    if let Some(location) = body.get("location") {
        event.location = location
            .get("displayName")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
    }
    if let Some(show_as) = body.get("showAs").and_then(Value::as_str) {
        show_as.clone_into(&mut event.show_as);
    }
    if let Some(attendees) = body.get("attendees").and_then(Value::as_array) {
        event.attendees.clone_from(attendees);
    }
    if event.end <= event.start {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidRequest",
            "The end must be after the start.",
        ));
    }
    Ok(())
}

fn event_answer(status: StatusCode, state: &State, event: &FakeEvent) -> HttpResponse {
    let mut json = event.to_json(&state.base_url);
    if let Some(map) = json.as_object_mut() {
        map.insert(
            "@odata.context".into(),
            json!(format!(
                "https://graph.microsoft.com/v1.0/$metadata#users('{USER_ID}')/events/$entity"
            )),
        );
    }
    HttpResponse::build(status).json(json)
}

async fn create_event(req: HttpRequest, shared: Shared, body: web::Json<Value>) -> HttpResponse {
    let mut state = lock(&shared);
    if let Err(refused) = gate(&req, &mut state) {
        return refused;
    }
    state.create_requests += 1;
    let transaction_id = body
        .get("transactionId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(tid) = &transaction_id
        && let Some(existing) = state
            .events
            .values()
            .find(|e| !e.deleted && e.transaction_id.as_ref() == Some(tid))
    {
        if state.conflict_on_repeated_transaction {
            return graph_error(
                StatusCode::CONFLICT,
                "ErrorDuplicateTransactionId",
                "An item with this transactionId already exists.",
            );
        }
        return event_answer(StatusCode::CREATED, &state, existing);
    }
    if body.get("start").is_none() || body.get("end").is_none() {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidRequest",
            "An event needs a start and an end.",
        );
    }
    let now = Utc::now();
    let id = state.event_id();
    let mut event = FakeEvent {
        id: id.clone(),
        subject: String::new(),
        body_type: "text".into(),
        body: String::new(),
        start: now,
        end: now + TimeDelta::minutes(30),
        location: None,
        show_as: "busy".into(),
        transaction_id,
        attendees: Vec::new(),
        is_cancelled: false,
        is_all_day: false,
        deleted: false,
        seq: 0,
        version: 0,
        created: now,
        modified: now,
    };
    if let Err(refused) = apply(&mut event, &body) {
        return refused;
    }
    state.events.insert(id.clone(), event);
    state.touch(&id);
    state.creates += 1;
    if std::mem::take(&mut state.drop_next_create) {
        return HttpResponse::Created()
            .content_type("application/json")
            .body(Broken);
    }
    match state.events.get(&id) {
        Some(event) => event_answer(StatusCode::CREATED, &state, event),
        None => graph_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "lost the event",
        ),
    }
}

/// `GET /me/events`, with `$filter=transactionId eq '…'` as the one filter the fake knows.
async fn list_events(
    req: HttpRequest,
    shared: Shared,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let mut state = lock(&shared);
    if let Err(refused) = gate(&req, &mut state) {
        return refused;
    }
    let wanted = match query.get("$filter") {
        None => None,
        Some(filter) => match filter
            .trim()
            .strip_prefix("transactionId eq '")
            .and_then(|rest| rest.strip_suffix('\''))
        {
            Some(value) => Some(value.replace("''", "'")),
            None => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "ErrorInvalidUrlQueryFilter",
                    "The query filter contains one or more invalid nodes.",
                );
            }
        },
    };
    let value: Vec<Value> = state
        .events
        .values()
        .filter(|e| !e.deleted)
        .filter(|e| wanted.is_none() || e.transaction_id == wanted)
        .map(|e| e.to_json(&state.base_url))
        .collect();
    HttpResponse::Ok().json(json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#users('{USER_ID}')/events"),
        "value": value,
    }))
}

fn not_found() -> HttpResponse {
    graph_error(
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

async fn get_event(req: HttpRequest, shared: Shared, id: web::Path<String>) -> HttpResponse {
    let mut state = lock(&shared);
    if let Err(refused) = gate(&req, &mut state) {
        return refused;
    }
    match state.events.get(id.as_str()).filter(|e| !e.deleted) {
        Some(event) => event_answer(StatusCode::OK, &state, event),
        None => not_found(),
    }
}

async fn update_event(
    req: HttpRequest,
    shared: Shared,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let mut state = lock(&shared);
    if let Err(refused) = gate(&req, &mut state) {
        return refused;
    }
    let Some(event) = state.events.get_mut(id.as_str()).filter(|e| !e.deleted) else {
        return not_found();
    };
    let mut changed = event.clone();
    if let Err(refused) = apply(&mut changed, &body) {
        return refused;
    }
    *event = changed;
    state.touch(&id);
    match state.events.get(id.as_str()) {
        Some(event) => event_answer(StatusCode::OK, &state, event),
        None => not_found(),
    }
}

async fn delete_event(req: HttpRequest, shared: Shared, id: web::Path<String>) -> HttpResponse {
    let mut state = lock(&shared);
    if let Err(refused) = gate(&req, &mut state) {
        return refused;
    }
    match state.events.get_mut(id.as_str()).filter(|e| !e.deleted) {
        Some(event) => {
            event.deleted = true;
            state.touch(&id);
            HttpResponse::NoContent().finish()
        }
        None => not_found(),
    }
}

/// The answer to an unknown or expired delta token (410 `SyncStateNotFound` unless the test
/// chose another).
fn sync_state_gone(state: &State) -> HttpResponse {
    let (status, code) = &state.expired_delta_answer;
    graph_error(
        StatusCode::from_u16(*status).unwrap_or(StatusCode::GONE),
        code,
        "The sync state generation is not found. Please restart synchronization.",
    )
}

fn query_time(query: &HashMap<String, String>, key: &str) -> Option<DateTime<Utc>> {
    let text = query.get(key)?;
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

async fn delta(
    req: HttpRequest,
    shared: Shared,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let mut state = lock(&shared);
    if let Err(refused) = gate(&req, &mut state) {
        return refused;
    }
    state.delta_requests += 1;
    let page = if let Some(skip) = query.get("$skiptoken") {
        match state.skip_tokens.get(skip) {
            Some(page) => *page,
            None => return sync_state_gone(&state),
        }
    } else if let Some(token) = query.get("$deltatoken") {
        match state.delta_tokens.get(token) {
            Some(cursor) => PageCursor {
                cursor: *cursor,
                upto: state.seq,
                offset: 0,
                initial: false,
            },
            None => return sync_state_gone(&state),
        }
    } else {
        let (Some(start), Some(end)) = (
            query_time(&query, "startDateTime"),
            query_time(&query, "endDateTime"),
        ) else {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidParameter",
                "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
            );
        };
        PageCursor {
            cursor: DeltaCursor {
                since: 0,
                window: Some((start, end)),
            },
            upto: state.seq,
            offset: 0,
            initial: true,
        }
    };
    let base = state.base_url.clone();
    let entries: Vec<Value> = state
        .events
        .values()
        .filter(|e| e.seq > page.cursor.since && e.seq <= page.upto)
        .filter_map(|e| {
            let in_window = page.cursor.window.is_none_or(|(s, t)| e.overlaps(s, t));
            if e.deleted || !in_window {
                if page.initial {
                    return None;
                }
                let reason = if e.deleted { "deleted" } else { "changed" };
                return Some(json!({ "@odata.type": "#microsoft.graph.event", "id": e.id, "@removed": { "reason": reason } }));
            }
            let mut json = e.to_json(&base);
            if let Some(map) = json.as_object_mut() {
                map.insert("@odata.type".into(), json!("#microsoft.graph.event"));
            }
            Some(json)
        })
        .collect();
    let size = state.page_size.max(1);
    let chunk: Vec<Value> = entries
        .iter()
        .skip(page.offset)
        .take(size)
        .cloned()
        .collect();
    let mut answer = json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#Collection(event)"),
        "value": chunk,
    });
    let link = if page.offset + size < entries.len() {
        let skip = state.fresh("skip");
        state.skip_tokens.insert(
            skip.clone(),
            PageCursor {
                offset: page.offset + size,
                ..page
            },
        );
        (
            "@odata.nextLink",
            format!("{base}/v1.0/me/calendarView/delta?$skiptoken={skip}"),
        )
    } else {
        let token = state.fresh("dt");
        state.delta_tokens.insert(
            token.clone(),
            DeltaCursor {
                since: page.upto,
                window: page.cursor.window,
            },
        );
        (
            "@odata.deltaLink",
            format!("{base}/v1.0/me/calendarView/delta?$deltatoken={token}"),
        )
    };
    if let Some(map) = answer.as_object_mut() {
        map.insert(link.0.into(), json!(link.1));
    }
    HttpResponse::Ok().json(answer)
}

fn subscription_not_found() -> HttpResponse {
    graph_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        "The object was not found.",
    )
}

/// The expiry a create or update asks for, checked against Graph's ceiling; granted as asked
/// or at the fake's (possibly lower) cap.
#[expect(
    clippy::result_large_err,
    reason = "the refusal is the answer itself, returned at once by a handler"
)]
fn granted_expiry(state: &State, body: &Value) -> Result<DateTime<Utc>, HttpResponse> {
    let asked = body
        .get("expirationDateTime")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            graph_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "expirationDateTime is missing or invalid.",
            )
        })?;
    let now = Utc::now();
    if asked <= now {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Subscription expiration must be in the future.",
        ));
    }
    if asked > now + TimeDelta::minutes(MAX_SUBSCRIPTION_MINUTES) {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            &format!(
                "Subscription expiration can only be {MAX_SUBSCRIPTION_MINUTES} minutes in the future."
            ),
        ));
    }
    // Graph keeps seven fraction digits.
    Ok(asked.min(now + state.subscription_cap).trunc_subsecs(7))
}

async fn create_subscription(
    req: HttpRequest,
    shared: Shared,
    body: web::Json<Value>,
) -> HttpResponse {
    let (subscription, validate) = {
        let mut state = lock(&shared);
        if let Err(refused) = gate(&req, &mut state) {
            return refused;
        }
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
        let (Some(resource), Some(change_type), Some(notification_url)) = (
            text("resource"),
            text("changeType"),
            text("notificationUrl"),
        ) else {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "resource, changeType and notificationUrl are required.",
            );
        };
        let watched = resource.trim_start_matches('/').to_ascii_lowercase();
        if watched != "me/events" && watched != format!("users/{USER_ID}/events") {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                &format!("Unsupported resource '{resource}'."),
            );
        }
        let expires_at = match granted_expiry(&state, &body) {
            Ok(at) => at,
            Err(refused) => return refused,
        };
        let id = format!("7f105c7d-2dc5-4530-97cd-{}", &state.fresh("")[..10]);
        let subscription = FakeSubscription {
            id,
            resource,
            change_type,
            notification_url,
            lifecycle_notification_url: text("lifecycleNotificationUrl"),
            client_state: text("clientState"),
            expires_at,
            reauthorizations: 0,
        };
        (subscription, state.validate_notification_urls)
    };
    if validate {
        let mut urls = vec![subscription.notification_url.clone()];
        if let Some(lifecycle) = &subscription.lifecycle_notification_url
            && !urls.contains(lifecycle)
        {
            urls.push(lifecycle.clone());
        }
        for url in urls {
            if !crate::validation_handshake(&url).await {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequest",
                    "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.",
                );
            }
        }
    }
    let json = subscription.to_json();
    lock(&shared)
        .subscriptions
        .insert(subscription.id.clone(), subscription);
    HttpResponse::Created().json(json)
}

async fn get_subscription(req: HttpRequest, shared: Shared, id: web::Path<String>) -> HttpResponse {
    let mut state = lock(&shared);
    if let Err(refused) = gate(&req, &mut state) {
        return refused;
    }
    match state.subscriptions.get(id.as_str()) {
        Some(s) => HttpResponse::Ok().json(s.to_json()),
        None => subscription_not_found(),
    }
}

async fn update_subscription(
    req: HttpRequest,
    shared: Shared,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let mut state = lock(&shared);
    if let Err(refused) = gate(&req, &mut state) {
        return refused;
    }
    if !state.subscriptions.contains_key(id.as_str()) {
        return subscription_not_found();
    }
    let expires_at = match granted_expiry(&state, &body) {
        Ok(at) => at,
        Err(refused) => return refused,
    };
    match state.subscriptions.get_mut(id.as_str()) {
        Some(s) => {
            s.expires_at = expires_at;
            HttpResponse::Ok().json(s.to_json())
        }
        None => subscription_not_found(),
    }
}

async fn delete_subscription(
    req: HttpRequest,
    shared: Shared,
    id: web::Path<String>,
) -> HttpResponse {
    let mut state = lock(&shared);
    if let Err(refused) = gate(&req, &mut state) {
        return refused;
    }
    match state.subscriptions.remove(id.as_str()) {
        Some(_) => {
            state.deleted_subscriptions.push(id.into_inner());
            HttpResponse::NoContent().finish()
        }
        None => subscription_not_found(),
    }
}

async fn reauthorize(req: HttpRequest, shared: Shared, id: web::Path<String>) -> HttpResponse {
    let mut state = lock(&shared);
    if let Err(refused) = gate(&req, &mut state) {
        return refused;
    }
    match state.subscriptions.get_mut(id.as_str()) {
        Some(s) => {
            s.reauthorizations += 1;
            HttpResponse::Ok().finish()
        }
        None => subscription_not_found(),
    }
}

/// The tenant id the fake's notifications carry.
pub(crate) const fn tenant_id() -> &'static str {
    TENANT_ID
}
