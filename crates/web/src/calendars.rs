//! The machine side of calendar integrations: the providers' push endpoints (Google's channel
//! notifications, Microsoft Graph's change and lifecycle notifications) and the cron endpoint
//! that renews push channels and tokens. Every notification is checked against its channel's
//! secret through booking-core's `CalendarIntegrations` before anything happens, and a
//! verified one is only handed to `SyncRequests`: providers get their answer at once.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use booking_core::calendar::Provider;
use booking_core::connections::ConnectionId;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::errors::{Api, Error, Failure, Problem};
use crate::host::constant_time_eq;
use crate::reject::{Body, api_resource, optional_json_body};
use crate::{AppState, CalendarSide};

/// The part of the OpenAPI document for the provider and cron endpoints.
#[derive(OpenApi)]
#[openapi(paths(google_push, microsoft_push, renew))]
pub(crate) struct CalendarsApi;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        api_resource("/api/calendar-providers/webhook/google", "POST")
            .route(web::post().to(google_push)),
    )
    .service(
        api_resource("/api/calendar-providers/webhook/microsoft", "POST")
            .route(web::post().to(microsoft_push)),
    )
    .service(
        api_resource("/api/cron/calendar-subscriptions-renew", "POST").route(web::post().to(renew)),
    );
}

fn side(state: &AppState) -> Result<&CalendarSide, Failure> {
    state.calendars.as_deref().ok_or(Failure::NotFound)
}

fn header_text<'a>(req: &'a HttpRequest, name: &str) -> &'a str {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// A header every notification carries; without it the request is malformed.
fn required_header<'a>(req: &'a HttpRequest, name: &str) -> Result<&'a str, Failure> {
    match req.headers().get(name).map(|v| v.to_str()) {
        Some(Ok(text)) => Ok(text),
        _ => Err(Failure::Malformed(format!("the {name} header is missing"))),
    }
}

/// A Google channel notification (the body is empty; the headers say everything).
#[utoipa::path(post, path = "/api/calendar-providers/webhook/google", operation_id = "googleCalendarPush", tag = "calendar providers",
    params(
        ("X-Goog-Channel-ID" = String, Header, description = "The channel's id, as registered"),
        ("X-Goog-Channel-Token" = String, Header, description = "The channel's secret"),
        ("X-Goog-Resource-State" = String, Header, description = "`sync` (channel created), `exists` or `not_exists`"),
    ),
    responses(
        (status = 200, description = "Accepted; a sync of the connection is requested unless this is the `sync` handshake"),
        (status = 400, description = "A required header is missing", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The channel's secret does not match", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown or stopped channel (or calendars not configured)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The connection is no longer active", body = Problem, content_type = "application/problem+json"),
    ))]
async fn google_push(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Error<Api>> {
    let side = side(&state)?;
    let channel = required_header(&req, "X-Goog-Channel-ID")?;
    // The token is a secret: it is compared, never logged.
    let token = required_header(&req, "X-Goog-Channel-Token")?;
    let resource_state = required_header(&req, "X-Goog-Resource-State")?;
    let id = match side
        .integrations
        .verify_push(Provider::Google, channel, token)
        .await
    {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(channel, error = %e, "Google notification refused");
            return Err(e.into());
        }
    };
    if resource_state != "sync" {
        side.sync_requests.request_sync(id);
    }
    Ok(HttpResponse::Ok().finish())
}

/// The query of a Graph notification: present only on the validation handshake.
#[derive(Debug, Default, Deserialize)]
struct GraphQuery {
    #[serde(rename = "validationToken")]
    validation_token: Option<String>,
}

/// A batch of Graph notifications.
#[derive(Debug, Default, Deserialize, ToSchema)]
struct GraphNotifications {
    value: Vec<GraphNotification>,
}

/// One Graph change or lifecycle notification (other fields are ignored).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct GraphNotification {
    subscription_id: String,
    /// The subscription's secret.
    #[serde(default)]
    client_state: String,
    /// `created`, `updated` or `deleted` for a change.
    change_type: Option<String>,
    resource: Option<String>,
    /// `reauthorizationRequired`, `subscriptionRemoved` or `missed` for a lifecycle event.
    lifecycle_event: Option<String>,
}

/// Microsoft Graph's change and lifecycle notifications, and its validation handshake.
#[utoipa::path(post, path = "/api/calendar-providers/webhook/microsoft", operation_id = "microsoftCalendarPush", tag = "calendar providers",
    params(("validationToken" = Option<String>, Query, description = "Graph's handshake: echoed as text/plain")),
    request_body(content = Option<GraphNotifications>, description = "The notifications; none on the validation handshake (without a token, no body is an empty batch)"),
    responses(
        (status = 200, description = "The validation token, echoed", body = String, content_type = "text/plain"),
        (status = 202, description = "Accepted; syncs and channel work are under way"),
        (status = 400, description = "Malformed body or query", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 256 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A notification's clientState does not match", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown or stopped subscription (or calendars not configured)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The connection is no longer active", body = Problem, content_type = "application/problem+json"),
    ))]
async fn microsoft_push(
    state: web::Data<AppState>,
    query: web::Query<GraphQuery>,
    body: Body,
) -> Result<HttpResponse, Error<Api>> {
    let side = side(&state)?;
    // A body is read even on the handshake: one that is there must be notifications.
    let batch: GraphNotifications = optional_json_body(&body.0)?;
    if let Some(token) = &query.validation_token {
        return Ok(HttpResponse::Ok()
            .content_type("text/plain")
            .body(token.clone()));
    }
    // Every item is checked before any is acted on: one forged item refuses the batch.
    let mut verified: Vec<(ConnectionId, &GraphNotification)> = Vec::new();
    for item in &batch.value {
        match side
            .integrations
            .verify_push(
                Provider::Microsoft,
                &item.subscription_id,
                &item.client_state,
            )
            .await
        {
            Ok(id) => verified.push((id, item)),
            Err(e) => {
                tracing::warn!(subscription = %item.subscription_id, error = %e, "Graph notification refused");
                return Err(e.into());
            }
        }
    }
    for (id, item) in verified {
        let outcome = match item.lifecycle_event.as_deref() {
            Some("reauthorizationRequired") => side.integrations.reauthorize_channel(id).await,
            Some("subscriptionRemoved") => side.integrations.replace_channel(id).await,
            _ => {
                tracing::debug!(connection = %id, change = ?item.change_type, resource = ?item.resource, "Graph change");
                side.sync_requests.request_sync(id);
                Ok(())
            }
        };
        if let Err(e) = outcome {
            // The renewal cron tries again; Graph must get its answer regardless.
            tracing::warn!(connection = %id, error = %crate::errors::chain(&e), "Graph lifecycle event not handled");
        }
    }
    Ok(HttpResponse::Accepted().finish())
}

/// What one renewal run did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RenewalBody {
    /// Push channels replaced by new ones.
    channels_renewed: usize,
    /// Old channels stopped.
    channels_stopped: usize,
    /// Access tokens refreshed.
    tokens_refreshed: usize,
    /// Connections that now need their host to reconnect.
    needs_reauth: usize,
    /// Connections whose renewal failed for now (retried on the next run).
    #[schema(value_type = Vec<String>)]
    failed: Vec<String>,
}

/// Renews push channels and tokens that expire soon (called by a scheduler).
#[utoipa::path(post, path = "/api/cron/calendar-subscriptions-renew", operation_id = "renewCalendarSubscriptions", tag = "calendar providers",
    security(("cronSecret" = [])),
    responses(
        (status = 200, description = "What the run did", body = RenewalBody),
        (status = 401, description = "No or wrong cron secret (or none configured)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Calendars are not configured", body = Problem, content_type = "application/problem+json"),
    ))]
async fn renew(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, Error<Api>> {
    let side = side(&state)?;
    let expected = side
        .cron_secret
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(Failure::CronUnauthorized)?;
    let given = header_text(&req, header::AUTHORIZATION.as_str())
        .trim()
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .unwrap_or_default();
    if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return Err(Failure::CronUnauthorized.into());
    }
    let report = side.integrations.renew().await?;
    tracing::info!(?report, "calendar subscriptions renewed");
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(RenewalBody {
            channels_renewed: report.channels_renewed,
            channels_stopped: report.channels_stopped,
            tokens_refreshed: report.tokens_refreshed,
            needs_reauth: report.needs_reauth,
            failed: report.failed.iter().map(ToString::to_string).collect(),
        }))
}
