//! The host JSON API for outbound webhook subscriptions under `/api/v1/webhooks`: list,
//! create (the `whsec_…` secret is shown in that answer only), read, delete, switch on and
//! off, the delivery log, and a signed test event sent at once. API-key authentication and
//! problem documents as in the rest of the host API; another host's subscription answers 404
//! like a missing one.
//!
//! Target URLs are checked for form ([`TargetUrl`]) and against the host side's
//! [`TargetCheck`](booking_core::ports::TargetCheck) port (no private or loopback addresses
//! unless allowed) when a subscription is made and again before a test event goes out; test
//! events go through the same [`WebhookSender`](booking_core::ports::WebhookSender) port and
//! `webhook-id` scheme as the dispatcher's deliveries ([`send_test_event`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use booking_core::HostId;
use booking_core::effects::WebhookEvent;
use booking_core::ports::Clock;
use booking_core::subscriptions::{
    ALL_EVENTS, DeliveryAttempt, InvalidSubscription, SubscriptionId, SubscriptionSecret,
    TargetUrl, TestEvent, WebhookSubscription, event_by_name, send_test_event,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::extract::ApiHost;
use super::json::{ApiResult, bounded, ok, required};
use super::{HostSide, Webhooks};
use crate::AppState;
use crate::errors::{Api, Error, Failure, Problem};
use crate::reject::{Body, api_resource};

/// Default and largest page of the delivery log.
const DEFAULT_DELIVERIES: u32 = 50;
const MAX_DELIVERIES: u32 = 100;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        api_resource("/api/v1/webhooks", "GET, POST")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        api_resource("/api/v1/webhooks/{id}", "GET, PATCH, DELETE")
            .route(web::get().to(read))
            .route(web::patch().to(set_active))
            .route(web::delete().to(delete)),
    )
    .service(
        api_resource("/api/v1/webhooks/{id}/active", "POST").route(web::post().to(set_active_post)),
    )
    .service(
        api_resource("/api/v1/webhooks/{id}/deliveries", "GET").route(web::get().to(deliveries)),
    )
    .service(api_resource("/api/v1/webhooks/{id}/test", "POST").route(web::post().to(test)));
}

/// The key's host and the webhook ports, or the problem to answer with (404 when the host
/// side has no subscriptions configured).
fn authorised_hooks(key: ApiHost) -> Result<(Arc<HostSide>, HostId), Error<Api>> {
    if key.side.webhooks.is_none() {
        return Err(Failure::NotFound.into());
    }
    Ok((key.side, key.host))
}

fn hooks(side: &HostSide) -> &Webhooks {
    // `authorised_hooks` made sure they are there.
    side.webhooks
        .as_ref()
        .unwrap_or_else(|| unreachable!("checked by authorised_hooks"))
}

/// The webhook API's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(
    list,
    create,
    read,
    set_active,
    delete,
    set_active_post,
    deliveries,
    test
))]
pub(crate) struct WebhooksApi;

/// An event a subscription can receive.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[allow(clippy::enum_variant_names)]
enum EventName {
    #[serde(rename = "callBooked")]
    CallBooked,
    #[serde(rename = "callRescheduled")]
    CallRescheduled,
    #[serde(rename = "callCancelled")]
    CallCancelled,
    /// A booking link's workflow step with the webhook action (only when named).
    #[serde(rename = "workflowStep")]
    WorkflowStep,
}

/// A subscription; the secret only in the answer that created it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WebhookSubscription)]
struct SubscriptionBody {
    #[schema(format = "uuid")]
    id: String,
    url: String,
    #[schema(value_type = Vec<EventName>)]
    events: Vec<&'static str>,
    active: bool,
    #[schema(format = DateTime)]
    created_at: String,
    /// The signing secret (`whsec_…`), shown only when the subscription is made.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^whsec_")]
    secret: Option<String>,
}

/// A subscription without its secret.
fn subscription_json(s: &WebhookSubscription) -> SubscriptionBody {
    SubscriptionBody {
        id: s.id.to_string(),
        url: s.url.as_str().to_owned(),
        events: s.events.iter().map(|e| e.name()).collect(),
        active: s.active,
        created_at: s
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        secret: None,
    }
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AttemptBody {
    /// The `webhook-id` header sent.
    webhook_id: String,
    attempt: u32,
    /// The target's HTTP status, if it answered.
    status: Option<u16>,
    latency_ms: u64,
    delivered: bool,
    error: Option<String>,
    #[schema(format = DateTime)]
    at: String,
}

fn attempt_json(a: &DeliveryAttempt) -> AttemptBody {
    AttemptBody {
        webhook_id: a.effect_key.clone(),
        attempt: a.attempt,
        status: a.status,
        latency_ms: a.latency_ms,
        delivered: a.delivered,
        error: a.error.clone(),
        at: a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// The host's subscriptions.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SubscriptionsBody {
    webhooks: Vec<SubscriptionBody>,
}

/// A subscription's delivery log.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DeliveriesBody {
    deliveries: Vec<AttemptBody>,
}

/// What happened to a test event. (The `test` handler still writes this shape with `json!`,
/// while the test event's delivery is being moved behind the outbound port; the OpenAPI test
/// holds that answer to this schema.)
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TestReportBody {
    webhook_id: String,
    delivered: bool,
    status: Option<u16>,
    latency_ms: u64,
    error: Option<String>,
}

/// One of the host's subscriptions (the port answers per host: another host's is `None`).
async fn own_subscription(
    hooks: &Webhooks,
    host: HostId,
    id: &str,
) -> Result<WebhookSubscription, Error<Api>> {
    let id = SubscriptionId::parse(id).map_err(|_| Failure::NotFound)?;
    Ok(hooks
        .subscriptions
        .subscription(host, id)
        .await?
        .ok_or(Failure::NotFound)?)
}

/// The host's webhook subscriptions, oldest first (secrets are never listed)
#[utoipa::path(get, path = "/api/v1/webhooks", operation_id = "listWebhooks", tag = "webhooks", security(("apiKey" = [])),
    responses(
        (status = 200, description = "Subscriptions", body = SubscriptionsBody),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription for this host (or no webhooks configured)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list(key: ApiHost) -> ApiResult {
    let (side, host) = authorised_hooks(key)?;
    let all = hooks(&side).subscriptions.subscriptions(host).await?;
    Ok(ok(&SubscriptionsBody {
        webhooks: all.iter().map(subscription_json).collect(),
    }))
}

/// A new subscription.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    #[schema(format = "uri", max_length = 2048)]
    url: String,
    /// Default: all three.
    #[schema(value_type = Option<Vec<EventName>>, min_items = 1)]
    events: Option<Vec<String>>,
    /// Default: true.
    active: Option<bool>,
}

fn events_of(names: Option<&[String]>) -> Result<BTreeSet<WebhookEvent>, InvalidSubscription> {
    let Some(names) = names else {
        return Ok(ALL_EVENTS.into_iter().collect());
    };
    let mut events = BTreeSet::new();
    for name in names {
        events.insert(
            event_by_name(name.trim()).ok_or_else(|| InvalidSubscription::Event(name.clone()))?,
        );
    }
    if events.is_empty() {
        return Err(InvalidSubscription::NoEvents);
    }
    Ok(events)
}

/// A fresh `whsec_…` secret: 32 bytes from two tokens of the host side's token source (the
/// OS CSPRNG in production, as for API keys), in the webhook sender's form.
fn fresh_secret(side: &HostSide, hooks: &Webhooks) -> SubscriptionSecret {
    let mut hash = Sha256::new();
    hash.update(side.ids.new_token().expose().as_bytes());
    hash.update(side.ids.new_token().expose().as_bytes());
    let bytes: [u8; 32] = hash.finalize().into();
    hooks.sender.new_secret(bytes)
}

/// What a host asks to subscribe (the API's body, the dashboard's form).
pub(crate) struct NewSubscription<'a> {
    pub(crate) url: &'a str,
    /// `None`: every booking event.
    pub(crate) events: Option<&'a [String]>,
    pub(crate) active: bool,
}

/// Why no subscription was made.
pub(crate) enum NotSubscribed {
    /// The URL is malformed.
    Url(String),
    /// The target check refused the URL (e.g. a private address).
    Refused(String),
    /// An unknown event, or none.
    Events(String),
    /// Storage failed.
    Store(booking_core::subscriptions::SubscriptionError),
}

/// Checks and stores `host`'s new subscription with a fresh secret (which only the returned
/// value holds in the clear): the one way both the API and the dashboard subscribe.
pub(crate) async fn subscribe(
    side: &HostSide,
    hooks: &Webhooks,
    host: HostId,
    asked: NewSubscription<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<WebhookSubscription, NotSubscribed> {
    let url = TargetUrl::parse(asked.url).map_err(|e| NotSubscribed::Url(e.to_string()))?;
    let events = events_of(asked.events).map_err(|e| NotSubscribed::Events(e.to_string()))?;
    if let Err(e) = hooks.targets.check(url.as_str()).await {
        return Err(NotSubscribed::Refused(e.to_string()));
    }
    let subscription = WebhookSubscription {
        id: SubscriptionId::from_uuid(side.ids.new_booking_id().as_uuid()),
        host,
        url,
        secret: fresh_secret(side, hooks),
        events,
        active: asked.active,
        created_at: now,
    };
    hooks
        .subscriptions
        .create_subscription(&subscription)
        .await
        .map_err(NotSubscribed::Store)?;
    Ok(subscription)
}

/// Subscribe a URL to booking events; the answer holds the signing secret, shown only this once
#[utoipa::path(post, path = "/api/v1/webhooks", operation_id = "createWebhook", tag = "webhooks", security(("apiKey" = [])),
    request_body = CreateBody,
    responses(
        (status = 201, description = "The subscription with its secret", body = SubscriptionBody),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 256 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription for this host (or no webhooks configured)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input, or a refused target", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create(key: ApiHost, state: web::Data<AppState>, body: Body) -> ApiResult {
    let (side, host) = authorised_hooks(key)?;
    let hooks = hooks(&side);
    let input: CreateBody = required(&body.0)?;
    let asked = NewSubscription {
        url: &input.url,
        events: input.events.as_deref(),
        active: input.active.unwrap_or(true),
    };
    let subscription =
        match subscribe(&side, hooks, host, asked, state.scheduler.clock().now()).await {
            Ok(s) => s,
            Err(NotSubscribed::Url(e) | NotSubscribed::Refused(e)) => {
                return Err(Failure::Invalid(format!("url: {e}")).into());
            }
            Err(NotSubscribed::Events(e)) => {
                return Err(Failure::Invalid(format!("events: {e}")).into());
            }
            Err(NotSubscribed::Store(e)) => return Err(e.into()),
        };
    let mut body = subscription_json(&subscription);
    body.secret = Some(subscription.secret.expose().to_owned());
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/webhooks/{}", subscription.id),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}

/// One subscription
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", operation_id = "getWebhook", tag = "webhooks", security(("apiKey" = [])),
    params(("id" = String, Path, format = "uuid")),
    responses(
        (status = 200, description = "The subscription", body = SubscriptionBody),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription for this host (or no webhooks configured)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn read(key: ApiHost, id: web::Path<String>) -> ApiResult {
    let (side, host) = authorised_hooks(key)?;
    let s = own_subscription(hooks(&side), host, &id).await?;
    Ok(ok(&subscription_json(&s)))
}

/// Delete a subscription and its delivery log
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", operation_id = "deleteWebhook", tag = "webhooks", security(("apiKey" = [])),
    params(("id" = String, Path, format = "uuid")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription for this host (or no webhooks configured)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete(key: ApiHost, id: web::Path<String>) -> ApiResult {
    let (side, host) = authorised_hooks(key)?;
    let hooks = hooks(&side);
    let existing = own_subscription(hooks, host, &id).await?;
    hooks
        .subscriptions
        .delete_subscription(host, existing.id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Switch a subscription on or off.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ActiveBody {
    active: bool,
}

/// Switch a subscription on or off
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", operation_id = "switchWebhook", tag = "webhooks", security(("apiKey" = [])),
    params(("id" = String, Path, format = "uuid")),
    request_body = ActiveBody,
    responses(
        (status = 200, description = "The subscription", body = SubscriptionBody),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 256 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription for this host (or no webhooks configured)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_active(key: ApiHost, id: web::Path<String>, body: Body) -> ApiResult {
    let (side, host) = authorised_hooks(key)?;
    let hooks = hooks(&side);
    let mut existing = own_subscription(hooks, host, &id).await?;
    let input: ActiveBody = required(&body.0)?;
    hooks
        .subscriptions
        .set_subscription_active(host, existing.id, input.active)
        .await?;
    existing.active = input.active;
    Ok(ok(&subscription_json(&existing)))
}

/// Switch a subscription on or off (as PATCH)
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/active", operation_id = "switchWebhookByPost", tag = "webhooks", security(("apiKey" = [])),
    params(("id" = String, Path, format = "uuid")),
    request_body = ActiveBody,
    responses(
        (status = 200, description = "The subscription", body = SubscriptionBody),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 256 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription for this host (or no webhooks configured)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_active_post(key: ApiHost, id: web::Path<String>, body: Body) -> ApiResult {
    set_active(key, id, body).await
}

/// The delivery log's query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DeliveriesQuery {
    /// 1 to 100; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// The subscription's delivery log, newest first
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", operation_id = "webhookDeliveries", tag = "webhooks", security(("apiKey" = [])),
    params(("id" = String, Path, format = "uuid"), DeliveriesQuery),
    responses(
        (status = 200, description = "Attempts", body = DeliveriesBody),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription for this host (or no webhooks configured)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` out of range", body = Problem, content_type = "application/problem+json"),
    ))]
async fn deliveries(
    key: ApiHost,
    id: web::Path<String>,
    query: web::Query<DeliveriesQuery>,
) -> ApiResult {
    let (side, host) = authorised_hooks(key)?;
    let hooks = hooks(&side);
    let existing = own_subscription(hooks, host, &id).await?;
    let limit = bounded(
        "limit",
        query.limit.as_deref(),
        DEFAULT_DELIVERIES,
        1..=MAX_DELIVERIES,
    )?;
    let log = hooks
        .subscriptions
        .deliveries(host, existing.id, limit)
        .await?;
    Ok(ok(&DeliveriesBody {
        deliveries: log.iter().map(attempt_json).collect(),
    }))
}

/// Send a signed test event now (one attempt, 5 s timeout) and report the answer
///
/// The event is logged in the subscription's delivery log. A target the policy refuses
/// answers 422 and sends nothing.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", operation_id = "testWebhook", tag = "webhooks", security(("apiKey" = [])),
    params(("id" = String, Path, format = "uuid")),
    responses(
        (status = 200, description = "What happened", body = TestReportBody),
        (status = 401, description = "No usable API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription for this host (or no webhooks configured)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input, or a refused target", body = Problem, content_type = "application/problem+json"),
    ))]
async fn test(key: ApiHost, state: web::Data<AppState>, id: web::Path<String>) -> ApiResult {
    let (side, host) = authorised_hooks(key)?;
    let hooks = hooks(&side);
    let subscription = own_subscription(hooks, host, &id).await?;
    let now = state.scheduler.clock().now();
    let sent = send_test_event(
        hooks.subscriptions.as_ref(),
        hooks.targets.as_ref(),
        hooks.sender.as_ref(),
        &subscription,
        side.ids.as_ref(),
        now,
    )
    .await?;
    let (webhook_id, report) = match sent {
        TestEvent::Sent { webhook_id, report } => (webhook_id, report),
        TestEvent::Refused(e) => return Err(Failure::Invalid(format!("url: {e}")).into()),
    };
    Ok(ok(&json!({
        "webhook_id": webhook_id,
        "delivered": report.delivered,
        "status": report.status,
        "latency_ms": report.latency_ms,
        "error": report.error,
    })))
}
