//! The host JSON API under `/api/v1/`: bookings by dashboard tab, booking detail with the
//! chain's history, cancel, no-show and its undo, re-sending the attendee's links, links
//! (list, create, read, replace) and deals (list, read, move stage). Every call needs
//! `Authorization: Bearer sk_…` (a key from `/settings/api-keys`); another host's rows answer
//! 404 like missing ones. Errors are RFC 9457 problem documents, as in the public API.

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use booking_core::booking::Booking;
use booking_core::deals::{DealActionError, DealId, DealStage, move_deal};
use booking_core::link::BookingLink;
use booking_core::ports::{BookingStore, Clock, Page, SaveLinkError, StoreError};
use booking_core::service::{HostActionError, ResendLinksError};
use booking_core::{BookingId, HostId, LinkId};
use serde::Deserialize;
use serde_json::{Value, json};

use super::HostSide;
use super::auth::{KeyRefusal, api_host};
use super::linkform::LinkInput;
use super::summary::{deal_json, history, link_json, step_json};
use crate::AppState;
use crate::errors::Failure;
use crate::forms::{FieldErrors, parse_reason};
use crate::present::booking_json;

const MAX_LIMIT: u32 = 100;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/bookings").route(web::get().to(bookings)))
        .service(web::resource("/api/v1/bookings/{id}").route(web::get().to(booking)))
        .service(web::resource("/api/v1/bookings/{id}/cancel").route(web::post().to(cancel)))
        .service(
            web::resource("/api/v1/bookings/{id}/no-show")
                .route(web::post().to(mark_no_show))
                .route(web::delete().to(undo_no_show)),
        )
        .service(
            web::resource("/api/v1/bookings/{id}/send-links").route(web::post().to(send_links)),
        )
        .service(
            web::resource("/api/v1/links")
                .route(web::get().to(links))
                .route(web::post().to(create_link)),
        )
        .service(
            web::resource("/api/v1/links/{id}")
                .route(web::get().to(link))
                .route(web::put().to(replace_link)),
        )
        .service(web::resource("/api/v1/deals").route(web::get().to(deals)))
        .service(web::resource("/api/v1/deals/{id}").route(web::get().to(deal)))
        .service(web::resource("/api/v1/deals/{id}/stage").route(web::post().to(deal_stage)));
}

/// "outer: inner: innermost", for logs.
pub(crate) fn chain_of(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A problem document with the public API's shape.
pub(super) fn problem(status: StatusCode, code: &str, title: &str, detail: &str) -> HttpResponse {
    let body = json!({
        "type": format!("https://slotkeeper.dev/problems/{code}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    HttpResponse::build(status)
        .content_type("application/problem+json")
        .body(body.to_string())
}

pub(super) fn internal(e: &StoreError) -> HttpResponse {
    tracing::error!(error = %chain_of(e), "host API request failed");
    Failure::Internal.problem()
}

fn unauthorized(detail: &str) -> HttpResponse {
    let mut resp = problem(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "API key required",
        detail,
    );
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"slotkeeper\""),
    );
    resp
}

fn refused(detail: &str) -> HttpResponse {
    problem(
        StatusCode::CONFLICT,
        "host-action-refused",
        "Not possible in the booking's current state",
        detail,
    )
}

pub(super) fn ok(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// The key's host, or the problem to answer with.
pub(super) async fn authorised(
    req: &HttpRequest,
    state: &AppState,
) -> Result<(std::sync::Arc<HostSide>, HostId), HttpResponse> {
    match api_host(req, state).await {
        Ok((side, host, _key)) => Ok((side, host.id())),
        Err(KeyRefusal::Off) => Err(Failure::NotFound.problem()),
        Err(KeyRefusal::Missing) => Err(unauthorized(
            "Send an API key as `Authorization: Bearer sk_…`; create one under /settings/api-keys.",
        )),
        Err(KeyRefusal::Invalid) => Err(unauthorized("The API key is unknown or was revoked.")),
        Err(KeyRefusal::Store(e)) => Err(internal(&e)),
    }
}

/// Reads an optional JSON body after authorisation (so that a caller without a key learns
/// nothing from body errors).
fn body<T: for<'de> Deserialize<'de> + Default>(bytes: &[u8]) -> Result<T, HttpResponse> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| Failure::Malformed(format!("the JSON body could not be read: {e}")).problem())
}

pub(super) fn required<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, HttpResponse> {
    serde_json::from_slice(bytes)
        .map_err(|e| Failure::Malformed(format!("the JSON body could not be read: {e}")).problem())
}

fn paging(query: &HashMap<String, String>) -> Result<Page, HttpResponse> {
    let number = |k: &str, default: u32| -> Result<u32, HttpResponse> {
        match query.get(k) {
            None => Ok(default),
            Some(v) => v.parse::<u32>().map_err(|_| {
                Failure::Invalid(format!("`{k}` must be a non-negative whole number")).problem()
            }),
        }
    };
    Ok(Page {
        offset: number("offset", 0)?,
        limit: number("limit", 20)?.clamp(1, MAX_LIMIT),
    })
}

/// The API key's host and one of its bookings, or the response refusing the request.
async fn authorised_booking(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    id: &str,
) -> Result<(HostId, Booking), HttpResponse> {
    let (_side, host) = authorised(req, state).await?;
    Ok((host, own_booking(state, host, id).await?))
}

async fn own_booking(state: &AppState, host: HostId, id: &str) -> Result<Booking, HttpResponse> {
    let Ok(id) = BookingId::parse(id) else {
        return Err(Failure::NotFound.problem());
    };
    match state.scheduler.store().booking(id).await {
        Ok(Some(b)) if b.host() == host => Ok(b),
        Ok(_) => Err(Failure::NotFound.problem()),
        Err(e) => Err(internal(&e)),
    }
}

async fn bookings(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let (_side, host) = match authorised(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let Some(tab) = super::pages::parse_tab(query.get("tab").map(String::as_str)) else {
        return Failure::Invalid("`tab` must be upcoming, past, no_shows or cancelled".into())
            .problem();
    };
    let page = match paging(&query) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let now = state.scheduler.clock().now();
    match state
        .scheduler
        .store()
        .dashboard(host, tab, now, page)
        .await
    {
        Ok(d) => ok(json!({
            "tab": tab.to_string(),
            "counts": {
                "upcoming": d.counts.upcoming,
                "past": d.counts.past,
                "no_shows": d.counts.no_shows,
                "cancelled": d.counts.cancelled,
            },
            "offset": page.offset,
            "limit": page.limit,
            "bookings": d.rows.iter().map(|b| booking_json(&state, b, false)).collect::<Vec<_>>(),
        })),
        Err(e) => internal(&e),
    }
}

async fn detail(state: &AppState, side: &HostSide, booking: &Booking) -> Result<Value, StoreError> {
    let chain = state.scheduler.store().chain(booking.chain()).await?;
    let current = super::summary::current(&chain).unwrap_or(booking);
    let deal = side
        .deals
        .deal(DealId::for_chain(booking.chain()))
        .await?
        .filter(|d| d.host() == booking.host());
    Ok(json!({
        "booking": booking_json(state, current, false),
        "history": history(&chain).iter().map(step_json).collect::<Vec<_>>(),
        "rows": chain.iter().map(|b| booking_json(state, b, false)).collect::<Vec<_>>(),
        "deal": deal.as_ref().map(deal_json),
    }))
}

async fn booking(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    let (side, host) = match authorised(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let b = match own_booking(&state, host, &id).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    match detail(&state, &side, &b).await {
        Ok(body) => ok(body),
        Err(e) => internal(&e),
    }
}

fn host_action_problem(e: HostActionError) -> HttpResponse {
    match e {
        HostActionError::NotFound => Failure::NotFound.problem(),
        HostActionError::Refused(r) => refused(&format!("{r}.")),
        HostActionError::Store(e) => internal(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    reason: Option<String>,
}

async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    bytes: web::Bytes,
) -> HttpResponse {
    let (host, b) = match authorised_booking(&req, &state, &id).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let parsed: CancelBody = match body(&bytes) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let mut errors = FieldErrors::default();
    let reason = parse_reason(parsed.reason.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Failure::Invalid(errors.summary()).problem();
    }
    match state.scheduler.host_cancel(host, b.id(), reason).await {
        Ok(done) => ok(booking_json(&state, &done, false)),
        Err(e) => host_action_problem(e),
    }
}

async fn mark_no_show(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    let (host, b) = match authorised_booking(&req, &state, &id).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    match state.scheduler.mark_no_show(host, b.id()).await {
        Ok(done) => ok(booking_json(&state, &done, false)),
        Err(e) => host_action_problem(e),
    }
}

async fn undo_no_show(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    let (host, b) = match authorised_booking(&req, &state, &id).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    match state.scheduler.undo_no_show(host, b.id()).await {
        Ok(done) => ok(booking_json(&state, &done, false)),
        Err(e) => host_action_problem(e),
    }
}

async fn send_links(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    let (host, b) = match authorised_booking(&req, &state, &id).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    match state.scheduler.resend_links(host, b.id()).await {
        Ok(current) => HttpResponse::Accepted().json(json!({
            "booking_id": current.id().to_string(),
            "sent_to": current.invitee().email().as_str(),
        })),
        Err(ResendLinksError::NotFound) => Failure::NotFound.problem(),
        Err(ResendLinksError::Refused(r)) => refused(&format!("The links no longer work: {r}.")),
        Err(ResendLinksError::Store(e)) => internal(&e),
    }
}

async fn links(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let (side, host) = match authorised(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    match side.links.links_of(host).await {
        Ok(links) => ok(json!({
            "links": links.iter().map(|l| link_json(l, &state.public_base_url)).collect::<Vec<_>>(),
        })),
        Err(e) => internal(&e),
    }
}

async fn own_link(state: &AppState, host: HostId, id: &str) -> Result<BookingLink, HttpResponse> {
    let Ok(id) = LinkId::parse(id) else {
        return Err(Failure::NotFound.problem());
    };
    match state.scheduler.store().link(id).await {
        Ok(Some(l)) if l.host() == host => Ok(l),
        Ok(_) => Err(Failure::NotFound.problem()),
        Err(e) => Err(internal(&e)),
    }
}

async fn link(req: HttpRequest, state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    let (_side, host) = match authorised(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    match own_link(&state, host, &id).await {
        Ok(l) => ok(link_json(&l, &state.public_base_url)),
        Err(resp) => resp,
    }
}

async fn save_link(
    state: &AppState,
    host: HostId,
    id: LinkId,
    bytes: &[u8],
    created: bool,
) -> HttpResponse {
    let input: LinkInput = match required(bytes) {
        Ok(i) => i,
        Err(resp) => return resp,
    };
    let mut errors = FieldErrors::default();
    let Some(checked) = input.check(&mut errors) else {
        return Failure::Invalid(errors.summary()).problem();
    };
    let link = match checked.build(id, host) {
        Ok(l) => l,
        Err(e) => return Failure::Invalid(e.to_string()).problem(),
    };
    match state.scheduler.store().save_link(&link).await {
        Ok(()) => {
            let body = link_json(&link, &state.public_base_url);
            if created {
                HttpResponse::Created()
                    .insert_header((header::LOCATION, format!("/api/v1/links/{id}")))
                    .json(body)
            } else {
                ok(body)
            }
        }
        Err(SaveLinkError::SlugTaken) => problem(
            StatusCode::CONFLICT,
            "slug-taken",
            "The slug is already taken",
            "Another link uses this slug; pick another.",
        ),
        Err(SaveLinkError::UnknownHost) => Failure::NotFound.problem(),
        Err(SaveLinkError::Store(e)) => internal(&e),
    }
}

async fn create_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    bytes: web::Bytes,
) -> HttpResponse {
    let (side, host) = match authorised(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let id = LinkId::from_uuid(side.ids.new_booking_id().as_uuid());
    save_link(&state, host, id, &bytes, true).await
}

async fn replace_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    bytes: web::Bytes,
) -> HttpResponse {
    let (_side, host) = match authorised(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let existing = match own_link(&state, host, &id).await {
        Ok(l) => l,
        Err(resp) => return resp,
    };
    save_link(&state, host, existing.id(), &bytes, false).await
}

async fn deals(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let (side, host) = match authorised(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let page = match paging(&query) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    match side.deals.deals(host, page).await {
        Ok(list) => ok(json!({
            "total": list.total,
            "offset": page.offset,
            "limit": page.limit,
            "deals": list.rows.iter().map(deal_json).collect::<Vec<_>>(),
        })),
        Err(e) => internal(&e),
    }
}

async fn own_deal(
    side: &HostSide,
    host: HostId,
    id: &str,
) -> Result<booking_core::deals::Deal, HttpResponse> {
    let Ok(id) = DealId::parse(id) else {
        return Err(Failure::NotFound.problem());
    };
    match side.deals.deal(id).await {
        Ok(Some(d)) if d.host() == host => Ok(d),
        Ok(_) => Err(Failure::NotFound.problem()),
        Err(e) => Err(internal(&e)),
    }
}

async fn deal(req: HttpRequest, state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    let (side, host) = match authorised(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    match own_deal(&side, host, &id).await {
        Ok(d) => ok(deal_json(&d)),
        Err(resp) => resp,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StageBody {
    stage: String,
}

async fn deal_stage(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    bytes: web::Bytes,
) -> HttpResponse {
    let (side, host) = match authorised(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let existing = match own_deal(&side, host, &id).await {
        Ok(d) => d,
        Err(resp) => return resp,
    };
    let parsed: StageBody = match required(&bytes) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let Some(stage) = DealStage::parse(&parsed.stage) else {
        let names: Vec<&str> = DealStage::ALL.iter().map(|s| s.as_str()).collect();
        return Failure::Invalid(format!("stage: must be one of {}", names.join(", "))).problem();
    };
    let now = state.scheduler.clock().now();
    match move_deal(&*side.deals, host, existing.id(), stage, now).await {
        Ok(d) => ok(deal_json(&d)),
        Err(DealActionError::NotFound) => Failure::NotFound.problem(),
        Err(DealActionError::Store(e)) => internal(&e),
    }
}

/// Adds the host API to the OpenAPI document.
pub(crate) fn extend_openapi(doc: &mut Value) {
    let problems = |ok: (&str, Value)| {
        let mut r = json!({
            "401": {"$ref": "#/components/responses/Problem"},
            "404": {"$ref": "#/components/responses/Problem"},
            "409": {"$ref": "#/components/responses/Problem"},
            "422": {"$ref": "#/components/responses/Problem"}
        });
        r[ok.0] = ok.1;
        r
    };
    let json_ok = |description: &str, schema: Value| json!({"description": description, "content": {"application/json": {"schema": schema}}});
    let booking = json!({"$ref": "#/components/schemas/Booking"});
    let link = json!({"$ref": "#/components/schemas/Link"});
    let deal = json!({"$ref": "#/components/schemas/Deal"});
    let id = |name: &str| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}});
    let secured = json!([{"apiKey": []}]);
    let paths = json!({
        "/api/v1/bookings": {"get": {
            "summary": "The host's meetings in one dashboard tab, with the counts of every tab",
            "security": secured,
            "parameters": [
                {"name": "tab", "in": "query", "schema": {"type": "string", "enum": ["upcoming", "past", "no_shows", "cancelled"]}},
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}
            ],
            "responses": problems(("200", json_ok("A page of the tab", json!({"type": "object", "properties": {
                "tab": {"type": "string"}, "counts": {"type": "object"}, "offset": {"type": "integer"},
                "limit": {"type": "integer"}, "bookings": {"type": "array", "items": booking}}}))))
        }},
        "/api/v1/bookings/{id}": {"get": {
            "summary": "A meeting: its current row, the chain's history, every row, and its deal",
            "security": secured, "parameters": [id("id")],
            "responses": problems(("200", json_ok("The meeting", json!({"type": "object", "properties": {
                "booking": booking, "history": {"type": "array"}, "rows": {"type": "array"}, "deal": {"type": ["object", "null"]}}}))))
        }},
        "/api/v1/bookings/{id}/cancel": {"post": {
            "summary": "Cancel as the host (mails and webhooks go out); cancelling again returns the same row",
            "security": secured, "parameters": [id("id")],
            "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
                "properties": {"reason": {"type": "string", "maxLength": 10000}}}}}},
            "responses": problems(("200", json_ok("The cancelled row", booking.clone())))
        }},
        "/api/v1/bookings/{id}/no-show": {
            "post": {"summary": "Mark a started meeting as a no-show", "security": secured, "parameters": [id("id")],
                     "responses": problems(("200", json_ok("The row", booking.clone())))},
            "delete": {"summary": "Take the no-show mark back", "security": secured, "parameters": [id("id")],
                       "responses": problems(("200", json_ok("The row", booking.clone())))}
        },
        "/api/v1/bookings/{id}/send-links": {"post": {
            "summary": "Email the attendee their reschedule and cancel links again",
            "security": secured, "parameters": [id("id")],
            "responses": problems(("202", json_ok("Queued", json!({"type": "object", "properties": {
                "booking_id": {"type": "string"}, "sent_to": {"type": "string"}}}))))
        }},
        "/api/v1/links": {
            "get": {"summary": "The host's booking links", "security": secured,
                    "responses": problems(("200", json_ok("Links", json!({"type": "object", "properties": {"links": {"type": "array", "items": link}}}))))},
            "post": {"summary": "Create a booking link", "security": secured,
                     "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LinkInput"}}}},
                     "responses": problems(("201", json_ok("The link", link.clone())))}
        },
        "/api/v1/links/{id}": {
            "get": {"summary": "One link", "security": secured, "parameters": [id("id")],
                    "responses": problems(("200", json_ok("The link", link.clone())))},
            "put": {"summary": "Replace a link's settings", "security": secured, "parameters": [id("id")],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LinkInput"}}}},
                    "responses": problems(("200", json_ok("The link", link.clone())))}
        },
        "/api/v1/deals": {"get": {
            "summary": "The host's deals, newest first", "security": secured,
            "parameters": [
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}
            ],
            "responses": problems(("200", json_ok("Deals", json!({"type": "object", "properties": {
                "total": {"type": "integer"}, "deals": {"type": "array", "items": deal}}}))))
        }},
        "/api/v1/deals/{id}": {"get": {
            "summary": "One deal", "security": secured, "parameters": [id("id")],
            "responses": problems(("200", json_ok("The deal", deal.clone())))
        }},
        "/api/v1/deals/{id}/stage": {"post": {
            "summary": "Move a deal to another stage (closed_won and closed_lost included)",
            "security": secured, "parameters": [id("id")],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["stage"],
                "additionalProperties": false, "properties": {"stage": {"type": "string",
                "enum": ["new", "qualified", "proposal", "negotiation", "closed_won", "closed_lost"]}}}}}},
            "responses": problems(("200", json_ok("The deal", deal.clone())))
        }}
    });
    let schemas = json!({
        "Link": {"type": "object", "required": ["id", "slug", "title", "time_zone", "duration_minutes"], "properties": {
            "id": {"type": "string", "format": "uuid"}, "slug": {"type": "string"}, "url": {"type": "string"},
            "title": {"type": "string"}, "description": {"type": ["string", "null"]}, "location": {"type": ["string", "null"]},
            "time_zone": {"type": "string"}, "duration_minutes": {"type": "integer"}, "interval_minutes": {"type": "integer"},
            "buffer_before_minutes": {"type": "integer"}, "buffer_after_minutes": {"type": "integer"},
            "minimum_notice_minutes": {"type": "integer"}, "max_days_ahead": {"type": ["integer", "null"]},
            "weekly_hours": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            "date_overrides": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            "questions": {"type": "array", "items": {"type": "string"}}, "create_deal": {"type": "boolean"},
            "reconfirmation": {"type": ["object", "null"]}}},
        "LinkInput": {"type": "object", "required": ["slug", "title", "time_zone", "duration_minutes"], "additionalProperties": false, "properties": {
            "slug": {"type": "string", "pattern": "^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"}, "title": {"type": "string", "maxLength": 200},
            "description": {"type": "string", "maxLength": 5000}, "location": {"type": "string", "maxLength": 500},
            "time_zone": {"type": "string", "description": "IANA zone of the hours"},
            "duration_minutes": {"type": "integer"}, "interval_minutes": {"type": "integer"},
            "buffer_before_minutes": {"type": "integer"}, "buffer_after_minutes": {"type": "integer"},
            "minimum_notice_minutes": {"type": "integer"}, "max_days_ahead": {"type": "integer"},
            "weekly_hours": {"type": "object", "description": "mon … sun: periods like 09:00-17:00; a missing day is closed",
                             "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            "date_overrides": {"type": "object", "description": "YYYY-MM-DD: periods; an empty list closes the day",
                               "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            "questions": {"type": "array", "items": {"type": "string"}}, "create_deal": {"type": "boolean"},
            "reconfirmation": {"type": "object", "required": ["ask_hours_before", "cancel_hours_before"], "properties": {
                "ask_hours_before": {"type": "integer"}, "cancel_hours_before": {"type": "integer"}}}}},
        "Deal": {"type": "object", "required": ["id", "chain_id", "stage"], "properties": {
            "id": {"type": "string", "format": "uuid"}, "chain_id": {"type": "string", "format": "uuid"},
            "booking_id": {"type": "string", "format": "uuid"}, "link_id": {"type": "string", "format": "uuid"},
            "contact": {"type": "object"}, "stage": {"type": "string"},
            "stage_changed_at": {"type": "string", "format": "date-time"}, "created_at": {"type": "string", "format": "date-time"}}}
    });
    if let (Some(all), Some(new)) = (doc["paths"].as_object_mut(), paths.as_object()) {
        all.extend(new.clone());
    }
    if let (Some(all), Some(new)) = (
        doc["components"]["schemas"].as_object_mut(),
        schemas.as_object(),
    ) {
        all.extend(new.clone());
    }
    doc["components"]["securitySchemes"] = json!({"apiKey": {"type": "http", "scheme": "bearer",
        "description": "A host API key (sk_…) from /settings/api-keys"}});
}
