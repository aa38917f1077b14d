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

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use booking_core::HostId;
use booking_core::effects::WebhookEvent;
use booking_core::ports::Clock;
use booking_core::subscriptions::{
    ALL_EVENTS, DeliveryAttempt, InvalidSubscription, SubscriptionError, SubscriptionId,
    SubscriptionSecret, TargetUrl, TestEvent, WebhookSubscription, event_by_name, send_test_event,
};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::api::{authorised, internal, ok, required};
use super::{HostSide, Webhooks};
use crate::AppState;
use crate::errors::Failure;

/// Default and largest page of the delivery log.
const DEFAULT_DELIVERIES: u32 = 50;
const MAX_DELIVERIES: u32 = 100;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/webhooks")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/api/v1/webhooks/{id}")
            .route(web::get().to(read))
            .route(web::patch().to(set_active))
            .route(web::delete().to(delete)),
    )
    .service(web::resource("/api/v1/webhooks/{id}/active").route(web::post().to(set_active)))
    .service(web::resource("/api/v1/webhooks/{id}/deliveries").route(web::get().to(deliveries)))
    .service(web::resource("/api/v1/webhooks/{id}/test").route(web::post().to(test)));
}

/// The key's host and the webhook ports, or the problem to answer with (404 when the host
/// side has no subscriptions configured).
async fn authorised_hooks(
    req: &HttpRequest,
    state: &AppState,
) -> Result<(Arc<HostSide>, HostId), HttpResponse> {
    let (side, host) = authorised(req, state).await?;
    if side.webhooks.is_none() {
        return Err(Failure::NotFound.problem());
    }
    Ok((side, host))
}

fn hooks(side: &HostSide) -> &Webhooks {
    // `authorised_hooks` made sure they are there.
    side.webhooks
        .as_ref()
        .unwrap_or_else(|| unreachable!("checked by authorised_hooks"))
}

/// A subscription without its secret.
fn subscription_json(s: &WebhookSubscription) -> Value {
    json!({
        "id": s.id.to_string(),
        "url": s.url.as_str(),
        "events": s.events.iter().map(|e| e.name()).collect::<Vec<_>>(),
        "active": s.active,
        "created_at": s.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

fn attempt_json(a: &DeliveryAttempt) -> Value {
    json!({
        "webhook_id": a.effect_key,
        "attempt": a.attempt,
        "status": a.status,
        "latency_ms": a.latency_ms,
        "delivered": a.delivered,
        "error": a.error,
        "at": a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

async fn own_subscription(
    hooks: &Webhooks,
    host: HostId,
    id: &str,
) -> Result<WebhookSubscription, HttpResponse> {
    let Ok(id) = SubscriptionId::parse(id) else {
        return Err(Failure::NotFound.problem());
    };
    match hooks.subscriptions.subscription(host, id).await {
        Ok(Some(s)) if s.host == host => Ok(s),
        Ok(_) => Err(Failure::NotFound.problem()),
        Err(e) => Err(internal(&e)),
    }
}

fn subscription_problem(e: &SubscriptionError) -> HttpResponse {
    match e {
        SubscriptionError::NotFound | SubscriptionError::UnknownHost => Failure::NotFound.problem(),
        SubscriptionError::Store(e) => internal(e),
    }
}

async fn list(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let (side, host) = match authorised_hooks(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    match hooks(&side).subscriptions.subscriptions(host).await {
        Ok(all) => ok(json!({
            "webhooks": all.iter().map(subscription_json).collect::<Vec<_>>(),
        })),
        Err(e) => internal(&e),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    url: String,
    events: Option<Vec<String>>,
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

async fn create(req: HttpRequest, state: web::Data<AppState>, bytes: web::Bytes) -> HttpResponse {
    let (side, host) = match authorised_hooks(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let hooks = hooks(&side);
    let input: CreateBody = match required(&bytes) {
        Ok(i) => i,
        Err(resp) => return resp,
    };
    let url = match TargetUrl::parse(&input.url) {
        Ok(u) => u,
        Err(e) => return Failure::Invalid(format!("url: {e}")).problem(),
    };
    if let Err(e) = hooks.targets.check(url.as_str()).await {
        return Failure::Invalid(format!("url: {e}")).problem();
    }
    let events = match events_of(input.events.as_deref()) {
        Ok(e) => e,
        Err(e) => return Failure::Invalid(format!("events: {e}")).problem(),
    };
    let secret = fresh_secret(&side, hooks);
    let subscription = WebhookSubscription {
        id: SubscriptionId::from_uuid(side.ids.new_booking_id().as_uuid()),
        host,
        url,
        secret,
        events,
        active: input.active.unwrap_or(true),
        created_at: state.scheduler.clock().now(),
    };
    if let Err(e) = hooks.subscriptions.create_subscription(&subscription).await {
        return subscription_problem(&e);
    }
    let mut body = subscription_json(&subscription);
    body["secret"] = json!(subscription.secret.expose());
    HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/webhooks/{}", subscription.id),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

async fn read(req: HttpRequest, state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    let (side, host) = match authorised_hooks(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    match own_subscription(hooks(&side), host, &id).await {
        Ok(s) => ok(subscription_json(&s)),
        Err(resp) => resp,
    }
}

async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    let (side, host) = match authorised_hooks(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let hooks = hooks(&side);
    let existing = match own_subscription(hooks, host, &id).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    match hooks
        .subscriptions
        .delete_subscription(host, existing.id)
        .await
    {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => subscription_problem(&e),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActiveBody {
    active: bool,
}

async fn set_active(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    bytes: web::Bytes,
) -> HttpResponse {
    let (side, host) = match authorised_hooks(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let hooks = hooks(&side);
    let mut existing = match own_subscription(hooks, host, &id).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let input: ActiveBody = match required(&bytes) {
        Ok(i) => i,
        Err(resp) => return resp,
    };
    match hooks
        .subscriptions
        .set_subscription_active(host, existing.id, input.active)
        .await
    {
        Ok(()) => {
            existing.active = input.active;
            ok(subscription_json(&existing))
        }
        Err(e) => subscription_problem(&e),
    }
}

async fn deliveries(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let (side, host) = match authorised_hooks(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let hooks = hooks(&side);
    let existing = match own_subscription(hooks, host, &id).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let limit = match query.get("limit").map(|v| v.parse::<u32>()) {
        None => DEFAULT_DELIVERIES,
        Some(Ok(n)) => n.clamp(1, MAX_DELIVERIES),
        Some(Err(_)) => {
            return Failure::Invalid("`limit` must be a non-negative whole number".into())
                .problem();
        }
    };
    match hooks
        .subscriptions
        .deliveries(host, existing.id, limit)
        .await
    {
        Ok(log) => ok(json!({
            "deliveries": log.iter().map(attempt_json).collect::<Vec<_>>(),
        })),
        Err(e) => internal(&e),
    }
}

/// Sends a signed test event now (one attempt, 5-second timeout) and logs it in the
/// subscription's delivery log. A target the policy refuses answers 422 and sends nothing.
async fn test(req: HttpRequest, state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    let (side, host) = match authorised_hooks(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let hooks = hooks(&side);
    let subscription = match own_subscription(hooks, host, &id).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let now = state.scheduler.clock().now();
    let sent = send_test_event(
        hooks.subscriptions.as_ref(),
        hooks.targets.as_ref(),
        hooks.sender.as_ref(),
        &subscription,
        side.ids.as_ref(),
        now,
    )
    .await;
    let (webhook_id, report) = match sent {
        Ok(TestEvent::Sent { webhook_id, report }) => (webhook_id, report),
        Ok(TestEvent::Refused(e)) => return Failure::Invalid(format!("url: {e}")).problem(),
        Err(e) => return internal(&e),
    };
    ok(json!({
        "webhook_id": webhook_id,
        "delivered": report.delivered,
        "status": report.status,
        "latency_ms": report.latency_ms,
        "error": report.error,
    }))
}

/// Adds the webhook subscription API to the OpenAPI document.
pub(crate) fn extend_openapi(doc: &mut Value) {
    let problems = |ok: (&str, Value)| {
        let mut r = json!({
            "401": {"$ref": "#/components/responses/Problem"},
            "404": {"$ref": "#/components/responses/Problem"},
            "422": {"$ref": "#/components/responses/Problem"}
        });
        r[ok.0] = ok.1;
        r
    };
    let json_ok = |description: &str, schema: Value| json!({"description": description, "content": {"application/json": {"schema": schema}}});
    let sub = json!({"$ref": "#/components/schemas/WebhookSubscription"});
    let id = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}]);
    let secured = json!([{"apiKey": []}]);
    let events = json!({"type": "array", "minItems": 1, "items": {"type": "string",
        "enum": ["callBooked", "callRescheduled", "callCancelled"]}});
    let active_body = json!({"required": true, "content": {"application/json": {"schema": {"type": "object",
        "required": ["active"], "additionalProperties": false, "properties": {"active": {"type": "boolean"}}}}}});
    let paths = json!({
        "/api/v1/webhooks": {
            "get": {"summary": "The host's webhook subscriptions, oldest first (secrets are never listed)",
                    "security": secured,
                    "responses": problems(("200", json_ok("Subscriptions", json!({"type": "object", "properties": {
                        "webhooks": {"type": "array", "items": sub}}}))))},
            "post": {"summary": "Subscribe a URL to booking events; the answer holds the signing secret, shown only this once",
                     "security": secured,
                     "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
                        "required": ["url"], "additionalProperties": false, "properties": {
                            "url": {"type": "string", "format": "uri", "maxLength": 2048},
                            "events": {"description": "Default: all three", "allOf": [events.clone()]},
                            "active": {"type": "boolean", "default": true}}}}}},
                     "responses": problems(("201", json_ok("The subscription with its secret", json!({"allOf": [sub.clone(),
                        {"type": "object", "required": ["secret"], "properties": {"secret": {"type": "string", "pattern": "^whsec_"}}}]}))))}
        },
        "/api/v1/webhooks/{id}": {
            "get": {"summary": "One subscription", "security": secured, "parameters": id,
                    "responses": problems(("200", json_ok("The subscription", sub.clone())))},
            "patch": {"summary": "Switch a subscription on or off", "security": secured, "parameters": id,
                      "requestBody": active_body.clone(),
                      "responses": problems(("200", json_ok("The subscription", sub.clone())))},
            "delete": {"summary": "Delete a subscription and its delivery log", "security": secured, "parameters": id,
                       "responses": problems(("204", json!({"description": "Deleted"})))}
        },
        "/api/v1/webhooks/{id}/active": {"post": {
            "summary": "Switch a subscription on or off (as PATCH)", "security": secured, "parameters": id,
            "requestBody": active_body,
            "responses": problems(("200", json_ok("The subscription", sub.clone())))
        }},
        "/api/v1/webhooks/{id}/deliveries": {"get": {
            "summary": "The subscription's delivery log, newest first", "security": secured,
            "parameters": [id[0].clone(), {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}}],
            "responses": problems(("200", json_ok("Attempts", json!({"type": "object", "properties": {"deliveries": {"type": "array", "items": {
                "type": "object", "properties": {"webhook_id": {"type": "string"}, "attempt": {"type": "integer"},
                "status": {"type": ["integer", "null"]}, "latency_ms": {"type": "integer"}, "delivered": {"type": "boolean"},
                "error": {"type": ["string", "null"]}, "at": {"type": "string", "format": "date-time"}}}}}}))))
        }},
        "/api/v1/webhooks/{id}/test": {"post": {
            "summary": "Send a signed test event now (one attempt, 5 s timeout) and report the answer",
            "security": secured, "parameters": id,
            "responses": problems(("200", json_ok("What happened", json!({"type": "object", "properties": {
                "webhook_id": {"type": "string"}, "delivered": {"type": "boolean"}, "status": {"type": ["integer", "null"]},
                "latency_ms": {"type": "integer"}, "error": {"type": ["string", "null"]}}}))))
        }}
    });
    let schemas = json!({
        "WebhookSubscription": {"type": "object", "required": ["id", "url", "events", "active", "created_at"], "properties": {
            "id": {"type": "string", "format": "uuid"}, "url": {"type": "string"}, "events": events,
            "active": {"type": "boolean"}, "created_at": {"type": "string", "format": "date-time"}}}
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
}
