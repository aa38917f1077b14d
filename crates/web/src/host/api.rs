//! The host JSON API under `/api/v1/`: bookings by dashboard tab, booking detail with the
//! chain's history, cancel, move (reschedule on the attendee's behalf), no-show and its undo,
//! re-sending the attendee's links, links
//! (list, create, read, replace) and deals (list, read, move stage). Every call needs
//! `Authorization: Bearer sk_…` (a key from `/settings/api-keys`, checked by the [`ApiHost`]
//! extractor); rows are read through the host's desk, so another host's rows answer 404 like
//! missing ones. Errors are RFC 9457 problem documents, as in the public API.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use booking_core::deals::{DealId, DealStage};
use booking_core::invitee::Reason;
use booking_core::ports::{BookingStore, Clock, SaveLinkError, TokenSource};
use booking_core::service::{HostMove, ResendLinksError};
use booking_core::{BookingId, HostId, LinkId};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::extract::ApiHost;
use super::fresh_links::FreshLinksError;
use super::json::{ApiResult, PageQuery, ok, optional, required};
use super::linkform::{LinkInput, ReconfirmBody, ReconfirmInput};
use super::summary::{
    DealBody, LinkBody, StageName, StepBody, deal_json, history, link_json, parse_tab, step_json,
};
use super::workflowform::{ActionName, StepInput, TriggerName, WorkflowInput};
use crate::AppState;
use crate::api::CancelBody;
use crate::errors::{Failure, Problem};
use crate::forms::{FieldErrors, parse_instant, parse_reason};
use crate::present::{BookingBody, booking_json};
use crate::reject::{Body, api_resource};

/// The host API's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        bookings,
        booking,
        cancel,
        mark_no_show,
        undo_no_show,
        send_links,
        links,
        create_link,
        link,
        replace_link,
        deals,
        deal,
        deal_stage,
        reschedule
    ),
    components(schemas(
        ReconfirmInput,
        ReconfirmBody,
        WorkflowInput,
        StepInput,
        TriggerName,
        ActionName
    ))
)]
pub(crate) struct HostApi;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(api_resource("/api/v1/bookings", "GET").route(web::get().to(bookings)))
        .service(api_resource("/api/v1/bookings/{id}", "GET").route(web::get().to(booking)))
        .service(api_resource("/api/v1/bookings/{id}/cancel", "POST").route(web::post().to(cancel)))
        .service(
            api_resource("/api/v1/bookings/{id}/no-show", "POST, DELETE")
                .route(web::post().to(mark_no_show))
                .route(web::delete().to(undo_no_show)),
        )
        .service(
            api_resource("/api/v1/bookings/{id}/send-links", "POST")
                .route(web::post().to(send_links)),
        )
        .service(
            api_resource("/api/v1/links", "GET, POST")
                .route(web::get().to(links))
                .route(web::post().to(create_link)),
        )
        .service(
            api_resource("/api/v1/links/{id}", "GET, PUT")
                .route(web::get().to(link))
                .route(web::put().to(replace_link)),
        )
        .service(api_resource("/api/v1/deals", "GET").route(web::get().to(deals)))
        .service(api_resource("/api/v1/deals/{id}", "GET").route(web::get().to(deal)))
        .service(api_resource("/api/v1/deals/{id}/stage", "POST").route(web::post().to(deal_stage)))
        .service(
            api_resource("/api/v1/bookings/{id}/reschedule", "POST")
                .route(web::post().to(reschedule)),
        );
}

fn booking_id(id: &str) -> Result<BookingId, Failure> {
    BookingId::parse(id).map_err(|_| Failure::NotFound)
}

/// How many meetings each dashboard tab holds.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TabCountsBody {
    upcoming: u64,
    past: u64,
    no_shows: u64,
    cancelled: u64,
}

/// A page of a dashboard tab.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct BookingsPage {
    /// upcoming, past, no_shows or cancelled.
    tab: String,
    counts: TabCountsBody,
    offset: u32,
    limit: u32,
    bookings: Vec<BookingBody>,
}

/// The host's meetings in one dashboard tab, with the counts of every tab
#[utoipa::path(get, path = "/api/v1/bookings", operation_id = "hostBookings", tag = "host", security(("apiKey" = [])),
    params(
        ("tab" = Option<String>, Query, pattern = "^(upcoming|past|no_shows|cancelled)$", description = "upcoming (default), past, no_shows or cancelled"),
        ("offset" = Option<u32>, Query, minimum = 0, maximum = 2147483647), ("limit" = Option<u32>, Query, maximum = 100, minimum = 1)
    ),
    responses(
        (status = 200, description = "A page of the tab", body = BookingsPage),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input", body = Problem, content_type = "application/problem+json"),
    ))]
async fn bookings(
    key: ApiHost,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> ApiResult {
    let tab = parse_tab(query.tab.as_deref()).ok_or_else(|| {
        Failure::Invalid("`tab` must be upcoming, past, no_shows or cancelled".into())
    })?;
    let page = query.page()?;
    let now = state.scheduler.clock().now();
    let d = key.desk(&state).dashboard(key.host, tab, now, page).await?;
    Ok(ok(&BookingsPage {
        tab: tab.to_string(),
        counts: TabCountsBody {
            upcoming: d.counts.upcoming,
            past: d.counts.past,
            no_shows: d.counts.no_shows,
            cancelled: d.counts.cancelled,
        },
        offset: page.offset,
        limit: page.limit,
        bookings: d
            .rows
            .iter()
            .map(|b| booking_json(&state, b, false))
            .collect(),
    }))
}

/// A meeting as the host API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MeetingBody {
    /// The chain's current row.
    booking: BookingBody,
    history: Vec<StepBody>,
    /// Every row of the chain, oldest first.
    rows: Vec<BookingBody>,
    deal: Option<DealBody>,
}

/// A meeting: its current row, the chain's history, every row, and its deal
#[utoipa::path(get, path = "/api/v1/bookings/{id}", operation_id = "hostMeeting", tag = "host", security(("apiKey" = [])),
    params(("id" = String, Path, format = "uuid")),
    responses(
        (status = 200, description = "The meeting", body = MeetingBody),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such row for this host", body = Problem, content_type = "application/problem+json"),
    ))]
async fn booking(key: ApiHost, state: web::Data<AppState>, id: web::Path<String>) -> ApiResult {
    let m = key.desk(&state).meeting(key.host, booking_id(&id)?).await?;
    Ok(ok(&MeetingBody {
        booking: booking_json(&state, &m.current, false),
        history: history(&m.chain).iter().map(step_json).collect(),
        rows: m
            .chain
            .iter()
            .map(|b| booking_json(&state, b, false))
            .collect(),
        deal: m.deal.as_ref().map(deal_json),
    }))
}

/// The key's host and the id of one of its bookings.
async fn own_booking(key: &ApiHost, state: &AppState, id: &str) -> Result<BookingId, Failure> {
    Ok(key
        .desk(state)
        .booking(key.host, booking_id(id)?)
        .await?
        .id())
}

/// Cancel as the host (mails and webhooks go out); cancelling again returns the same row
#[utoipa::path(post, path = "/api/v1/bookings/{id}/cancel", operation_id = "hostCancel", tag = "host", security(("apiKey" = [])),
    params(("id" = String, Path, format = "uuid")),
    request_body(content = Option<CancelBody>, description = "Optional: an empty body cancels without a reason"),
    responses(
        (status = 200, description = "The cancelled row", body = BookingBody),
        (status = 400, description = "Malformed body or query", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 256 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such row for this host", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused in the current state", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input", body = Problem, content_type = "application/problem+json"),
    ))]
async fn cancel(
    key: ApiHost,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Body,
) -> ApiResult {
    let id = own_booking(&key, &state, &id).await?;
    let parsed: CancelBody = optional(&body.0)?;
    let mut errors = FieldErrors::default();
    let reason = parse_reason(parsed.reason.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(Failure::Invalid(errors.summary()).into());
    }
    let done = state.scheduler.host_cancel(key.host, id, reason).await?;
    Ok(ok(&booking_json(&state, &done, false)))
}

/// Mark a started meeting as a no-show
#[utoipa::path(post, path = "/api/v1/bookings/{id}/no-show", operation_id = "markNoShow", tag = "host", security(("apiKey" = [])),
    params(("id" = String, Path, format = "uuid")),
    responses(
        (status = 200, description = "The row", body = BookingBody),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such row for this host", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused in the current state", body = Problem, content_type = "application/problem+json"),
    ))]
async fn mark_no_show(
    key: ApiHost,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult {
    let done = state
        .scheduler
        .mark_no_show(key.host, booking_id(&id)?)
        .await?;
    Ok(ok(&booking_json(&state, &done, false)))
}

/// Take the no-show mark back
#[utoipa::path(delete, path = "/api/v1/bookings/{id}/no-show", operation_id = "undoNoShow", tag = "host", security(("apiKey" = [])),
    params(("id" = String, Path, format = "uuid")),
    responses(
        (status = 200, description = "The row", body = BookingBody),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such row for this host", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused in the current state", body = Problem, content_type = "application/problem+json"),
    ))]
async fn undo_no_show(
    key: ApiHost,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult {
    let done = state
        .scheduler
        .undo_no_show(key.host, booking_id(&id)?)
        .await?;
    Ok(ok(&booking_json(&state, &done, false)))
}

/// Who the links were sent to.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LinksSentBody {
    /// The chain's current row.
    #[schema(format = "uuid")]
    booking_id: String,
    #[schema(format = Email)]
    sent_to: String,
}

/// Email the attendee their reschedule and cancel links again
#[utoipa::path(post, path = "/api/v1/bookings/{id}/send-links", operation_id = "resendLinks", tag = "host", security(("apiKey" = [])),
    params(("id" = String, Path, format = "uuid")),
    responses(
        (status = 202, description = "Queued", body = LinksSentBody),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such row for this host", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused in the current state", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The meeting got fresh links too often in the last hour", body = Problem, content_type = "application/problem+json"),
    ))]
async fn send_links(key: ApiHost, state: web::Data<AppState>, id: web::Path<String>) -> ApiResult {
    let side = state.host.as_ref().ok_or(Failure::NotFound)?;
    match side
        .fresh_links
        .send(&state.scheduler, key.host, booking_id(&id)?)
        .await
    {
        Ok(current) => Ok(HttpResponse::Accepted().json(LinksSentBody {
            booking_id: current.id().to_string(),
            sent_to: current.invitee().email().as_str().to_owned(),
        })),
        Err(FreshLinksError::TooMany) => {
            Err(Failure::TooManyRequests(FreshLinksError::limit_message()).into())
        }
        Err(FreshLinksError::Resend(ResendLinksError::NotFound)) => Err(Failure::NotFound.into()),
        Err(FreshLinksError::Resend(ResendLinksError::Refused(r))) => {
            Err(Failure::HostRefused(format!("The links no longer work: {r}.")).into())
        }
        Err(FreshLinksError::Resend(ResendLinksError::Store(e))) => Err(e.into()),
    }
}

/// The host's links.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LinksBody {
    links: Vec<LinkBody>,
}

/// The host's booking links
#[utoipa::path(get, path = "/api/v1/links", operation_id = "listLinks", tag = "host", security(("apiKey" = [])),
    responses(
        (status = 200, description = "Links", body = LinksBody),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
    ))]
async fn links(key: ApiHost, state: web::Data<AppState>) -> ApiResult {
    let links = key.desk(&state).links(key.host).await?;
    Ok(ok(&LinksBody {
        links: links
            .iter()
            .map(|l| link_json(l, &state.public_base_url))
            .collect(),
    }))
}

async fn own_link(key: &ApiHost, state: &AppState, id: &str) -> Result<LinkId, Failure> {
    let id = LinkId::parse(id).map_err(|_| Failure::NotFound)?;
    Ok(key.desk(state).link(key.host, id).await?.id())
}

/// One link
#[utoipa::path(get, path = "/api/v1/links/{id}", operation_id = "getLink", tag = "host", security(("apiKey" = [])),
    params(("id" = String, Path, format = "uuid")),
    responses(
        (status = 200, description = "The link", body = LinkBody),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such row for this host", body = Problem, content_type = "application/problem+json"),
    ))]
async fn link(key: ApiHost, state: web::Data<AppState>, id: web::Path<String>) -> ApiResult {
    let id = LinkId::parse(&id).map_err(|_| Failure::NotFound)?;
    let l = key.desk(&state).link(key.host, id).await?;
    Ok(ok(&link_json(&l, &state.public_base_url)))
}

async fn save_link(
    state: &AppState,
    host: HostId,
    id: LinkId,
    bytes: &[u8],
    created: bool,
) -> ApiResult {
    let input: LinkInput = required(bytes)?;
    let mut errors = FieldErrors::default();
    let Some(checked) = input.check(&mut errors) else {
        return Err(Failure::Invalid(errors.summary()).into());
    };
    let link = checked
        .build(id, host)
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    match state.scheduler.store().save_link(&link).await {
        Ok(()) => {
            let body = link_json(&link, &state.public_base_url);
            Ok(if created {
                HttpResponse::Created()
                    .insert_header((header::LOCATION, format!("/api/v1/links/{id}")))
                    .json(body)
            } else {
                ok(&body)
            })
        }
        Err(SaveLinkError::SlugTaken) => Err(Failure::SlugTaken.into()),
        Err(SaveLinkError::UnknownHost) => Err(Failure::NotFound.into()),
        Err(SaveLinkError::Store(e)) => Err(e.into()),
    }
}

/// Create a booking link
#[utoipa::path(post, path = "/api/v1/links", operation_id = "createLink", tag = "host", security(("apiKey" = [])),
    request_body = LinkInput,
    responses(
        (status = 201, description = "The link", body = LinkBody),
        (status = 400, description = "Malformed body or query", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 256 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such row for this host", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused in the current state", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input (e.g. hours that end before they start, or a reconfirmation asked after its deadline)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_link(key: ApiHost, state: web::Data<AppState>, body: Body) -> ApiResult {
    let id = LinkId::from_uuid(key.side.ids.new_booking_id().as_uuid());
    save_link(&state, key.host, id, &body.0, true).await
}

/// Replace a link's settings
#[utoipa::path(put, path = "/api/v1/links/{id}", operation_id = "replaceLink", tag = "host", security(("apiKey" = [])),
    params(("id" = String, Path, format = "uuid")),
    request_body = LinkInput,
    responses(
        (status = 200, description = "The link", body = LinkBody),
        (status = 400, description = "Malformed body or query", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 256 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such row for this host", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused in the current state", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input (e.g. hours that end before they start, or a reconfirmation asked after its deadline)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn replace_link(
    key: ApiHost,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Body,
) -> ApiResult {
    let id = own_link(&key, &state, &id).await?;
    save_link(&state, key.host, id, &body.0, false).await
}

/// A page of the host's deals.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DealsPage {
    total: u64,
    offset: u32,
    limit: u32,
    deals: Vec<DealBody>,
}

/// The host's deals, newest first
#[utoipa::path(get, path = "/api/v1/deals", operation_id = "listDeals", tag = "host", security(("apiKey" = [])),
    params(("offset" = Option<u32>, Query, minimum = 0, maximum = 2147483647), ("limit" = Option<u32>, Query, maximum = 100, minimum = 1)),
    responses(
        (status = 200, description = "Deals", body = DealsPage),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input", body = Problem, content_type = "application/problem+json"),
    ))]
async fn deals(
    key: ApiHost,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> ApiResult {
    let page = query.page()?;
    let list = key.desk(&state).deals(key.host, page).await?;
    Ok(ok(&DealsPage {
        total: list.total,
        offset: page.offset,
        limit: page.limit,
        deals: list.rows.iter().map(deal_json).collect(),
    }))
}

fn deal_id(id: &str) -> Result<DealId, Failure> {
    DealId::parse(id).map_err(|_| Failure::NotFound)
}

/// One deal
#[utoipa::path(get, path = "/api/v1/deals/{id}", operation_id = "getDeal", tag = "host", security(("apiKey" = [])),
    params(("id" = String, Path, format = "uuid")),
    responses(
        (status = 200, description = "The deal", body = DealBody),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such row for this host", body = Problem, content_type = "application/problem+json"),
    ))]
async fn deal(key: ApiHost, state: web::Data<AppState>, id: web::Path<String>) -> ApiResult {
    let d = key.desk(&state).deal(key.host, deal_id(&id)?).await?;
    Ok(ok(&deal_json(&d)))
}

/// The stage to move a deal to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StageBody {
    #[schema(value_type = StageName)]
    stage: String,
}

/// Move a deal to another stage (closed_won and closed_lost included)
#[utoipa::path(post, path = "/api/v1/deals/{id}/stage", operation_id = "moveDeal", tag = "host", security(("apiKey" = [])),
    params(("id" = String, Path, format = "uuid")),
    request_body = StageBody,
    responses(
        (status = 200, description = "The deal", body = DealBody),
        (status = 400, description = "Malformed body or query", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 256 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such row for this host", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input", body = Problem, content_type = "application/problem+json"),
    ))]
async fn deal_stage(
    key: ApiHost,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Body,
) -> ApiResult {
    let desk = key.desk(&state);
    let existing = desk.deal(key.host, deal_id(&id)?).await?;
    let parsed: StageBody = required(&body.0)?;
    let Some(stage) = DealStage::parse(&parsed.stage) else {
        let names: Vec<&str> = DealStage::ALL.iter().map(|s| s.as_str()).collect();
        return Err(Failure::Invalid(format!("stage: must be one of {}", names.join(", "))).into());
    };
    let now = state.scheduler.clock().now();
    let d = desk.move_deal(key.host, existing.id(), stage, now).await?;
    Ok(ok(&deal_json(&d)))
}

/// Where the host moves a meeting.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct HostRescheduleBody {
    /// The new start, RFC 3339 with an offset; the meeting keeps its link's duration.
    #[schema(format = DateTime)]
    start: String,
    /// A note for the attendee, sent in the rescheduled mail and kept in the history. Line
    /// breaks and tabs are kept; other control characters are refused.
    #[schema(
        max_length = 10000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    #[serde(default)]
    note: Option<String>,
    /// Accept a start the link would not offer (outside its hours, notice or reach). Another
    /// meeting or a busy time in the host's calendar still refuses it.
    #[serde(default)]
    allow_outside_hours: bool,
}

/// Move a meeting on the attendee's behalf: they get the new time by email with a new invite and fresh links; the history says "moved by the host"
#[utoipa::path(post, path = "/api/v1/bookings/{id}/reschedule", operation_id = "hostReschedule", tag = "host", security(("apiKey" = [])),
    params(("id" = String, Path, format = "uuid")),
    request_body = HostRescheduleBody,
    responses(
        (status = 200, description = "The meeting's new row", body = BookingBody),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 256 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such row for this host", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The meeting cannot be moved (cancelled, no-show, started), or the time is taken by another meeting or a busy time", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input: a time outside the link's hours without allow_outside_hours, the meeting's own time, a past time", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The host's calendar cannot be read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn reschedule(
    key: ApiHost,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Body,
) -> ApiResult {
    let id = own_booking(&key, &state, &id).await?;
    let parsed: HostRescheduleBody = required(&body.0)?;
    let mut errors = FieldErrors::default();
    let start = parse_instant(&parsed.start, "start", &mut errors);
    let note = Reason::parse_optional(parsed.note.as_deref()).unwrap_or_else(|e| {
        errors.add("note", e.to_string());
        None
    });
    let Some(start) = start.filter(|_| errors.is_empty()) else {
        return Err(Failure::Invalid(errors.summary()).into());
    };
    let request = HostMove {
        start,
        note,
        allow_outside_hours: parsed.allow_outside_hours,
    };
    let moved = state
        .scheduler
        .host_reschedule(key.host, id, request)
        .await?;
    Ok(ok(&booking_json(&state, &moved, false)))
}
