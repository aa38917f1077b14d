//! The fake's routes: the Messages resource, answered in Twilio's JSON shapes.

use std::sync::Mutex;

use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use serde_json::json;

use crate::{ACCOUNT_SID, AUTH_TOKEN, Failure, FakeMessage, State};

type Shared = web::Data<Mutex<State>>;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/2010-04-01/Accounts/{account}/Messages.json",
        web::post().to(create_message),
    )
    .default_service(web::to(unmatched));
}

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn unmatched(state: Shared, req: HttpRequest) -> HttpResponse {
    lock(&state)
        .unmatched
        .push(format!("{} {}", req.method(), req.path()));
    error(
        StatusCode::NOT_FOUND,
        20404,
        "The requested resource was not found",
    )
}

/// Twilio's error body.
fn error(status: StatusCode, code: u32, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    }))
}

/// The user and password of a `Basic` authorization header.
fn basic_auth(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

async fn create_message(
    state: Shared,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut message = FakeMessage {
        sid: None,
        path_account: path.into_inner(),
        to: field("To"),
        from: field("From"),
        body: field("Body"),
        auth: basic_auth(&req),
        content_type: req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    };
    let mut state = lock(&state);
    let answer = answer(&mut state, &mut message);
    state.messages.push(message);
    answer
}

/// Checks the request as Twilio would, then either fails it as told or accepts it.
fn answer(state: &mut State, message: &mut FakeMessage) -> HttpResponse {
    let signed_in = message
        .auth
        .as_ref()
        .is_some_and(|(user, password)| user == ACCOUNT_SID && password == AUTH_TOKEN);
    if !signed_in || message.path_account != ACCOUNT_SID {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    if let Some(failure) = state.failures.pop_front() {
        return failed(failure, &message.to);
    }
    if message.to.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            21604,
            "A 'To' phone number is required.",
        );
    }
    if message.body.is_empty() {
        return error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
    }
    state.counter += 1;
    let sid = format!("SM{:032x}", state.counter);
    message.sid = Some(sid.clone());
    let now = chrono::Utc::now().to_rfc2822();
    HttpResponse::Created().json(json!({
        "account_sid": ACCOUNT_SID,
        "api_version": "2010-04-01",
        "body": message.body,
        "date_created": now,
        "date_sent": null,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": message.from,
        "messaging_service_sid": null,
        "num_media": "0",
        "num_segments": segments(&message.body).to_string(),
        "price": null,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json")},
        "to": message.to,
        "uri": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"),
    }))
}

fn failed(failure: Failure, to: &str) -> HttpResponse {
    match failure {
        Failure::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            20500,
            "An internal server error has occurred",
        ),
        Failure::Throttled {
            retry_after_seconds,
        } => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests");
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(retry_after_seconds),
            );
            response
        }
        Failure::InvalidNumber => error(
            StatusCode::BAD_REQUEST,
            21211,
            &format!("The 'To' number {to} is not a valid phone number."),
        ),
    }
}

/// How many SMS segments a body takes: 160 GSM-7 characters (153 each when split), or 70
/// UCS-2 characters (67 each) once any character is outside the basic ASCII range.
fn segments(body: &str) -> usize {
    let count = body.chars().count();
    let (single, part) = if body.is_ascii() {
        (160, 153)
    } else {
        (70, 67)
    };
    if count <= single {
        1
    } else {
        count.div_ceil(part)
    }
}
