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
    crate::host::extend_openapi(&mut doc);
    crate::host::extend_webhooks_openapi(&mut doc);
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
