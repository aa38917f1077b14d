//! The OpenAPI 3.1 description of the public JSON API, served at `/api/v1/openapi.json`.

use serde_json::{Value, json};

fn problem_responses() -> Value {
    json!({
        "400": {"$ref": "#/components/responses/Problem"},
        "404": {"$ref": "#/components/responses/Problem"},
        "409": {"$ref": "#/components/responses/Problem"},
        "410": {"$ref": "#/components/responses/Problem"},
        "422": {"$ref": "#/components/responses/Problem"},
        "503": {"$ref": "#/components/responses/Problem"}
    })
}

fn with_problems(ok: (&str, Value)) -> Value {
    let mut responses = problem_responses();
    responses[ok.0] = ok.1;
    responses
}

fn booking_ok(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Booking"}}}})
}

fn token_param() -> Value {
    json!({"name": "token", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
           "description": "The booking's reschedule token (treat it like a password)."})
}

/// The document.
pub(crate) fn document() -> Value {
    let mut doc = public_document();
    extend_host(&mut doc);
    extend_webhooks(&mut doc);
    doc
}

fn public_document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Slotkeeper public API", "version": "1",
                 "description": "Book, reschedule, cancel and reconfirm bookings. Errors are RFC 9457 problem documents."},
        "paths": {
            "/api/v1/links/{slug}/slots": {"get": {
                "summary": "Free slots of a booking link",
                "parameters": [
                    {"name": "slug", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "Default: now"},
                    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "Default: from + 7 days; at most 62 days after from"},
                    {"name": "tz", "in": "query", "schema": {"type": "string"}, "description": "IANA zone for the offsets of the returned times; default UTC"}
                ],
                "responses": with_problems(("200", json!({"description": "Slots, earliest first", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["slots"], "properties": {"slots": {"type": "array", "items": {
                        "type": "object", "required": ["start", "end"],
                        "properties": {"start": {"type": "string", "format": "date-time"}, "end": {"type": "string", "format": "date-time"}}}}}}}}})))
            }},
            "/api/v1/links/{slug}/bookings": {"post": {
                "summary": "Book a slot",
                "parameters": [{"name": "slug", "in": "path", "required": true, "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BookingRequest"}}}},
                "responses": with_problems(("201", booking_ok("The booking, with its reschedule token and links")))
            }},
            "/api/v1/bookings/by-token/{token}": {"get": {
                "summary": "The booking a token belongs to",
                "parameters": [token_param()],
                "responses": with_problems(("200", booking_ok("The booking; token and links only while the token is live")))
            }},
            "/api/v1/bookings/by-token/{token}/reschedule": {"post": {
                "summary": "Move the booking; the old token dies, the new booking has a new one",
                "parameters": [token_param()],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["start"], "additionalProperties": false,
                    "properties": {"start": {"type": "string", "format": "date-time"}, "reason": {"type": "string", "maxLength": 10000}}}}}},
                "responses": with_problems(("200", booking_ok("The new booking")))
            }},
            "/api/v1/bookings/by-token/{token}/cancel": {"post": {
                "summary": "Cancel the booking (idempotent: cancelling again returns the same row)",
                "parameters": [token_param()],
                "requestBody": {"required": false, "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": false, "properties": {"reason": {"type": "string", "maxLength": 10000}}}}}},
                "responses": with_problems(("200", booking_ok("The cancelled booking")))
            }},
            "/api/v1/bookings/by-token/{token}/reconfirm": {"post": {
                "summary": "Record that the attendee will attend (idempotent)",
                "parameters": [token_param()],
                "responses": with_problems(("200", booking_ok("The booking")))
            }}
        },
        "components": {
            "responses": {"Problem": {"description": "RFC 9457 problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}},
            "schemas": {
                "Problem": {"type": "object", "required": ["type", "title", "status"], "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}},
                "BookingRequest": {"type": "object", "required": ["start", "invitee"], "additionalProperties": false, "properties": {
                    "start": {"type": "string", "format": "date-time"},
                    "invitee": {"type": "object", "required": ["name", "email", "timezone"], "properties": {
                        "name": {"type": "string", "maxLength": 200}, "email": {"type": "string", "format": "email"},
                        "timezone": {"type": "string", "description": "IANA zone, e.g. Europe/Berlin"}, "phone": {"type": "string"}}},
                    "answers": {"type": "array", "items": {"type": "object", "required": ["question", "answer"], "properties": {
                        "question": {"type": "string"}, "answer": {"type": "string", "maxLength": 10000}}}},
                    "tracking": {"type": "object", "additionalProperties": {"type": "string"}, "description": "utm_source, utm_medium, utm_campaign, utm_term, utm_content"}}},
                "Booking": {"type": "object", "required": ["id", "chain_id", "status", "start", "end", "invitee"], "properties": {
                    "id": {"type": "string", "format": "uuid"}, "chain_id": {"type": "string", "format": "uuid"},
                    "status": {"type": "string", "enum": ["confirmed", "rescheduled", "cancelled", "no_show"]},
                    "start": {"type": "string", "format": "date-time"}, "end": {"type": "string", "format": "date-time"},
                    "invitee": {"type": "object"}, "answers": {"type": "array"}, "tracking": {"type": "object"},
                    "previous_id": {"type": ["string", "null"]}, "next_id": {"type": ["string", "null"]},
                    "cancellation": {"type": ["object", "null"]}, "reconfirmed_at": {"type": ["string", "null"]},
                    "created_at": {"type": "string", "format": "date-time"},
                    "reschedule_token": {"type": "string"}, "reschedule_url": {"type": "string"},
                    "cancel_url": {"type": "string"}, "reconfirm_url": {"type": "string"}}}
            }
        }
    })
}

/// Adds the host API to the OpenAPI document.
fn extend_host(doc: &mut Value) {
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

/// Adds the webhook subscription API to the OpenAPI document.
fn extend_webhooks(doc: &mut Value) {
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
