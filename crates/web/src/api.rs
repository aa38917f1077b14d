//! The public JSON API under `/api/v1`: the same flows as the pages, for other services and
//! front ends. Errors are RFC 9457 problem documents. Each handler's `#[utoipa::path]` is its
//! entry in the OpenAPI document (`openapi.rs`).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use booking_core::TimeRange;
use booking_core::invitee::Tracking;
use booking_core::link::Slug;
use booking_core::ports::{BookingStore, Clock};
use booking_core::read_cache::answers::whole_second;
use booking_core::service::BookingRequest;
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::AppState;
use crate::answers::{AnswerKey, build_and_keep, kept, links_epoch};
use crate::errors::{Api, Error, Failure, Problem};
use crate::forms::{
    FieldErrors, InviteeInput, ZoneName, parse_answers, parse_instant, parse_invitee, parse_reason,
};
use crate::headers::token_page;
use crate::present::{AnswerBody, BookingBody, SlotBody, booking_json, rfc3339};
use crate::reject::{Body, api_resource};

/// The public API's handlers: JSON, or the failure as a problem document.
type ApiResult = Result<HttpResponse, Error<Api>>;

/// The public API's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(slots, create_booking, by_token, reschedule, cancel, reconfirm))]
pub(crate) struct PublicApi;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    let (get, post) = (web::get, web::post);
    cfg.service(
        web::scope("/api/v1")
            .service(api_resource("/links/{slug}/slots", "GET").route(get().to(slots)))
            .service(
                api_resource("/links/{slug}/bookings", "POST").route(post().to(create_booking)),
            )
            .service(api_resource("/bookings/by-token/{token}", "GET").route(get().to(by_token)))
            .service(
                api_resource("/bookings/by-token/{token}/reschedule", "POST")
                    .route(post().to(reschedule)),
            )
            .service(
                api_resource("/bookings/by-token/{token}/cancel", "POST").route(post().to(cancel)),
            )
            .service(
                api_resource("/bookings/by-token/{token}/reconfirm", "POST")
                    .route(post().to(reconfirm)),
            )
            .default_service(web::to(|| async { Failure::NotFound.problem() })),
    );
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SlotsQuery {
    /// Default: now. To read the next page, pass the previous answer's `next` here (with the
    /// same `to`). Years 1970 to 8999.
    #[param(format = DateTime)]
    from: Option<String>,
    /// Default: from + 7 days; at most 62 days after from.
    #[param(format = DateTime)]
    to: Option<String>,
    /// IANA zone for the offsets of the returned times; default UTC.
    #[param(value_type = Option<ZoneName>)]
    tz: Option<String>,
}

/// Free slots, earliest first: one page, at most 500 slots from at most 20,160 of the link's
/// slot intervals after `from` (two weeks for a slot every minute).
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SlotsBody {
    #[schema(max_items = 500)]
    slots: Vec<SlotBody>,
    /// Present when the page stops before `to`: ask again with this as `from` for the rest
    /// (always in UTC, `…Z`, so it needs no escaping in a query string).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    next: Option<String>,
}

/// Free slots of a booking link
#[utoipa::path(get, path = "/api/v1/links/{slug}/slots", operation_id = "freeSlots", tag = "public",
    params(("slug" = String, Path, description = "The link's slug"), SlotsQuery),
    responses(
        (status = 200, description = "One page of slots, earliest first, with the cursor to the next page", body = SlotsBody),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such link", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid zone, `to` not after `from`, a window too long (more than 62 days, or too many of the link's intervals), or outside the years 1970 to 8999", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The host's calendar cannot be read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn slots(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<SlotsQuery>,
) -> ApiResult {
    let slug = Slug::parse(&slug).map_err(|_| Failure::NotFound)?;
    let mut errors = FieldErrors::default();
    // The answer is built as of the current whole second (so it can be kept for that second:
    // `answers.rs`); "now", the default start, is that second too.
    let now = whole_second(state.scheduler.clock().now());
    let from = query
        .from
        .as_deref()
        .map_or(Some(now), |f| parse_instant(f, "from", &mut errors));
    let to = match (from, query.to.as_deref()) {
        (_, Some(t)) => parse_instant(t, "to", &mut errors),
        (Some(from), None) => Some(from + TimeDelta::days(7)),
        (None, None) => None,
    };
    let zone = match query.tz.as_deref() {
        None => None,
        Some(z) => match booking_core::TimeZoneName::parse(z) {
            Ok(zone) => Some(zone),
            Err(e) => {
                errors.add("tz", e.to_string());
                None
            }
        },
    };
    let (Some(from), Some(to), true) = (from, to, errors.is_empty()) else {
        return Err(Failure::Invalid(errors.summary()).into());
    };
    let window = TimeRange::new(from, to)
        .map_err(|_| Failure::Invalid("`to` must be after `from`".into()))?;
    let key = AnswerKey::Slots {
        slug: slug.to_string(),
        from,
        to,
        zone: zone.map(|z| z.name().to_owned()),
    };
    if let Some(body) = kept(&state, now, &key) {
        return Ok(json_body(body));
    }
    let epoch = links_epoch(&state);
    let link = state
        .scheduler
        .store()
        .link_by_slug(&slug)
        .await?
        .ok_or(Failure::NotFound)?;
    let build = async {
        let page = state
            .scheduler
            .slot_page_at(&link, window, None, now)
            .await?;
        let body = SlotsBody {
            slots: page.slots.iter().map(|s| SlotBody::of(*s, zone)).collect(),
            next: page.next.map(|next| rfc3339(next, None)),
        };
        serde_json::to_vec(&body)
            .map(Bytes::from)
            .map_err(|_| Failure::Internal)
    };
    let body = build_and_keep(&state, now, key, (link.host(), epoch), build).await?;
    Ok(json_body(body))
}

fn json_body(body: Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body)
}

/// Who books.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = InviteeInput)]
struct InviteeRequest {
    /// Not blank; no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    name: String,
    #[schema(format = Email)]
    email: String,
    /// IANA zone, e.g. Europe/Berlin.
    #[schema(value_type = ZoneName)]
    timezone: String,
    /// In international form: `+`, the country code and the number, with spaces, dashes,
    /// dots or parentheses as you like (`+49 (30) 123-4567`); it must exist in that country's
    /// numbering plan, and is kept and returned in E.164 (`+49301234567`). Blank means none.
    #[schema(max_length = 32, pattern = r"^ *$|^ *\+[0-9 ().-]*[0-9][0-9 ().-]*$")]
    phone: Option<String>,
}

/// What booking a slot takes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = BookingRequest)]
struct BookingRequestBody {
    #[schema(format = DateTime)]
    start: String,
    invitee: InviteeRequest,
    /// Answers to the link's own questions (by their text; a question the host marked with
    /// `*` must be answered). An answer to another question is refused.
    #[serde(default)]
    #[schema(max_items = 20)]
    answers: Vec<AnswerBody>,
    /// utm_source, utm_medium, utm_campaign, utm_term, utm_content.
    #[serde(default)]
    tracking: HashMap<String, String>,
}

fn token_json(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    token_page(&mut builder).json(body)
}

/// Book a slot
#[utoipa::path(post, path = "/api/v1/links/{slug}/bookings", operation_id = "book", tag = "public",
    params(("slug" = String, Path, description = "The link's slug")),
    request_body = BookingRequestBody,
    responses(
        (status = 201, description = "The booking, with its reschedule token and links", body = BookingBody),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 256 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such link", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slot is not offered (any more)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input, an answer to a question the link does not ask, or a required question unanswered", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many bookings from this client address; retry after the given seconds", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = i64, description = "Seconds until bookings are accepted again"))),
        (status = 503, description = "The host's calendar cannot be read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_booking(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Json<BookingRequestBody>,
) -> ApiResult {
    let slug = Slug::parse(&slug).map_err(|_| Failure::NotFound)?;
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    let start = parse_instant(&body.start, "start", &mut errors);
    let input = InviteeInput {
        name: body.invitee.name,
        email: body.invitee.email,
        phone: body.invitee.phone,
        timezone: body.invitee.timezone,
    };
    let invitee = parse_invitee(&input, &mut errors);
    let answers = parse_answers(
        body.answers
            .into_iter()
            .map(|a| (a.question, a.answer))
            .collect(),
        &mut errors,
    );
    let tracking =
        Tracking::from_pairs(body.tracking.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let (Some(start), Some(invitee), true) = (start, invitee, errors.is_empty()) else {
        return Err(Failure::Invalid(errors.summary()).into());
    };
    state.admit_booking(&req).await?;
    let b = state
        .scheduler
        .book(
            &slug,
            BookingRequest {
                start,
                invitee,
                answers,
                tracking,
            },
        )
        .await?;
    let location = format!("/api/v1/bookings/by-token/{}", b.token().expose());
    let mut builder = HttpResponse::Created();
    Ok(token_page(&mut builder)
        .insert_header(("Location", location))
        .json(booking_json(&state, &b, true)))
}

/// The booking a token belongs to
#[utoipa::path(get, path = "/api/v1/bookings/by-token/{token}", operation_id = "bookingByToken", tag = "public",
    params(("token" = String, Path, pattern = "^[0-9a-f]{32}$", description = "The booking's reschedule token (treat it like a password)")),
    responses(
        (status = 200, description = "The booking; token and links only while the token is live", body = BookingBody),
        (status = 404, description = "Unknown or malformed token", body = Problem, content_type = "application/problem+json"),
    ))]
async fn by_token(state: web::Data<AppState>, token: web::Path<String>) -> ApiResult {
    let b = state.scheduler.booking_to_show(&token).await?;
    let live = b.token_is_live(state.scheduler.clock().now());
    Ok(token_json(StatusCode::OK, &booking_json(&state, &b, live)))
}

/// Where to move a booking.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RescheduleBody {
    #[schema(format = DateTime)]
    start: String,
    /// Line breaks and tabs are kept; other control characters are refused.
    #[schema(
        max_length = 10000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    reason: Option<String>,
}

/// Move the booking; the old token dies, the new booking has a new one
#[utoipa::path(post, path = "/api/v1/bookings/by-token/{token}/reschedule", operation_id = "rescheduleByToken", tag = "public",
    params(("token" = String, Path, pattern = "^[0-9a-f]{32}$", description = "The booking's reschedule token")),
    request_body = RescheduleBody,
    responses(
        (status = 200, description = "The new booking", body = BookingBody),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 256 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown or malformed token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already moved or cancelled, or the slot is taken or not offered", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The meeting has started", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input, the same time, or a time outside the years 1970 to 8999", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The host's calendar cannot be read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn reschedule(
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: web::Json<RescheduleBody>,
) -> ApiResult {
    let mut errors = FieldErrors::default();
    let start = parse_instant(&body.start, "start", &mut errors);
    let reason = parse_reason(body.reason.as_deref(), &mut errors);
    let (Some(start), true) = (start, errors.is_empty()) else {
        return Err(Failure::Invalid(errors.summary()).into());
    };
    let b = state.scheduler.reschedule(&token, start, reason).await?;
    Ok(token_json(StatusCode::OK, &booking_json(&state, &b, true)))
}

/// Why a booking is cancelled (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelBody {
    /// Line breaks and tabs are kept; other control characters are refused.
    #[schema(
        max_length = 10000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub(crate) reason: Option<String>,
}

/// Cancel the booking (idempotent: cancelling again returns the same row)
#[utoipa::path(post, path = "/api/v1/bookings/by-token/{token}/cancel", operation_id = "cancelByToken", tag = "public",
    params(("token" = String, Path, pattern = "^[0-9a-f]{32}$", description = "The booking's reschedule token")),
    request_body(content = Option<CancelBody>, description = "Optional: an empty body (or `null`) cancels without a reason"),
    responses(
        (status = 200, description = "The cancelled booking", body = BookingBody),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 256 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown or malformed token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already moved", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The meeting has started", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid reason", body = Problem, content_type = "application/problem+json"),
    ))]
async fn cancel(state: web::Data<AppState>, token: web::Path<String>, body: Body) -> ApiResult {
    // The body is optional: an empty one (or `null`) cancels without a reason.
    let body: CancelBody = crate::reject::optional_json_body(&body.0)?;
    let mut errors = FieldErrors::default();
    let reason = parse_reason(body.reason.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(Failure::Invalid(errors.summary()).into());
    }
    let b = state.scheduler.cancel(&token, reason).await?;
    Ok(token_json(StatusCode::OK, &booking_json(&state, &b, false)))
}

/// Record that the attendee will attend (idempotent)
#[utoipa::path(post, path = "/api/v1/bookings/by-token/{token}/reconfirm", operation_id = "reconfirmByToken", tag = "public",
    params(("token" = String, Path, pattern = "^[0-9a-f]{32}$", description = "The booking's reschedule token")),
    responses(
        (status = 200, description = "The booking", body = BookingBody),
        (status = 404, description = "Unknown or malformed token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Moved or cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The meeting has started", body = Problem, content_type = "application/problem+json"),
    ))]
async fn reconfirm(state: web::Data<AppState>, token: web::Path<String>) -> ApiResult {
    let b = state.scheduler.reconfirm(&token).await?;
    Ok(token_json(StatusCode::OK, &booking_json(&state, &b, true)))
}
