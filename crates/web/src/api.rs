//! The public JSON API under `/api/v1`: the same flows as the pages, for other services and
//! front ends. Errors are RFC 9457 problem documents.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use booking_core::TimeRange;
use booking_core::invitee::Tracking;
use booking_core::link::Slug;
use booking_core::ports::Clock;
use booking_core::service::BookingRequest;
use chrono::TimeDelta;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::errors::Failure;
use crate::forms::{
    FieldErrors, InviteeInput, parse_answers, parse_instant, parse_invitee, parse_reason,
};
use crate::headers::token_page;
use crate::present::{booking_json, rfc3339};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .route(
                "/openapi.json",
                web::get().to(|| async { HttpResponse::Ok().json(crate::openapi::document()) }),
            )
            .route("/links/{slug}/slots", web::get().to(slots))
            .route("/links/{slug}/bookings", web::post().to(create_booking))
            .route("/bookings/by-token/{token}", web::get().to(by_token))
            .route(
                "/bookings/by-token/{token}/reschedule",
                web::post().to(reschedule),
            )
            .route("/bookings/by-token/{token}/cancel", web::post().to(cancel))
            .route(
                "/bookings/by-token/{token}/reconfirm",
                web::post().to(reconfirm),
            )
            .default_service(web::to(|| async { Failure::NotFound.problem() })),
    );
}

#[derive(Debug, Deserialize)]
struct SlotsQuery {
    from: Option<String>,
    to: Option<String>,
    tz: Option<String>,
}

async fn slots(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<SlotsQuery>,
) -> HttpResponse {
    let Ok(slug) = Slug::parse(&slug) else {
        return Failure::NotFound.problem();
    };
    let mut errors = FieldErrors::default();
    let now = state.scheduler.clock().now();
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
        return Failure::Invalid(errors.summary()).problem();
    };
    let Ok(window) = TimeRange::new(from, to) else {
        return Failure::Invalid("`to` must be after `from`".into()).problem();
    };
    match state.scheduler.available_slots(&slug, window).await {
        Ok(slots) => {
            let slots: Vec<_> = slots
                .iter()
                .map(|s| json!({"start": rfc3339(s.start(), zone), "end": rfc3339(s.end(), zone)}))
                .collect();
            HttpResponse::Ok().json(json!({ "slots": slots }))
        }
        Err(e) => Failure::from(e).problem(),
    }
}

#[derive(Debug, Deserialize)]
struct InviteeBody {
    name: String,
    email: String,
    timezone: String,
    phone: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AnswerBody {
    question: String,
    answer: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BookingBody {
    start: String,
    invitee: InviteeBody,
    #[serde(default)]
    answers: Vec<AnswerBody>,
    #[serde(default)]
    tracking: HashMap<String, String>,
}

fn token_json(status: actix_web::http::StatusCode, body: serde_json::Value) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    token_page(&mut builder).json(body)
}

async fn create_booking(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Json<BookingBody>,
) -> HttpResponse {
    let Ok(slug) = Slug::parse(&slug) else {
        return Failure::NotFound.problem();
    };
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
        return Failure::Invalid(errors.summary()).problem();
    };
    match state
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
        .await
    {
        Ok(b) => {
            let location = format!("/api/v1/bookings/by-token/{}", b.token().expose());
            let mut builder = HttpResponse::Created();
            token_page(&mut builder)
                .insert_header(("Location", location))
                .json(booking_json(&state, &b, true))
        }
        Err(e) => Failure::from(e).problem(),
    }
}

async fn by_token(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    match state.scheduler.booking_by_token(&token).await {
        Ok(b) => {
            let live = b.token_is_live(state.scheduler.clock().now());
            token_json(
                actix_web::http::StatusCode::OK,
                booking_json(&state, &b, live),
            )
        }
        Err(e) => Failure::from(e).problem(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RescheduleBody {
    start: String,
    reason: Option<String>,
}

async fn reschedule(
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: web::Json<RescheduleBody>,
) -> HttpResponse {
    let mut errors = FieldErrors::default();
    let start = parse_instant(&body.start, "start", &mut errors);
    let reason = parse_reason(body.reason.as_deref(), &mut errors);
    let (Some(start), true) = (start, errors.is_empty()) else {
        return Failure::Invalid(errors.summary()).problem();
    };
    match state.scheduler.reschedule(&token, start, reason).await {
        Ok(b) => token_json(
            actix_web::http::StatusCode::OK,
            booking_json(&state, &b, true),
        ),
        Err(e) => Failure::from(e).problem(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    reason: Option<String>,
}

async fn cancel(
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    // The body is optional: an empty one cancels without a reason.
    let body: CancelBody = if body.iter().all(u8::is_ascii_whitespace) {
        CancelBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(e) => {
                return Failure::Malformed(format!("the JSON body could not be read: {e}"))
                    .problem();
            }
        }
    };
    let mut errors = FieldErrors::default();
    let reason = parse_reason(body.reason.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Failure::Invalid(errors.summary()).problem();
    }
    match state.scheduler.cancel(&token, reason).await {
        Ok(b) => token_json(
            actix_web::http::StatusCode::OK,
            booking_json(&state, &b, false),
        ),
        Err(e) => Failure::from(e).problem(),
    }
}

async fn reconfirm(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    match state.scheduler.reconfirm(&token).await {
        Ok(b) => token_json(
            actix_web::http::StatusCode::OK,
            booking_json(&state, &b, true),
        ),
        Err(e) => Failure::from(e).problem(),
    }
}
