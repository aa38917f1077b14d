//! Replies to our text messages: `POST /sms/inbound`, where the SMS provider (Twilio or a
//! compatible one) posts each message a person sends to our number. The request's signature
//! is checked first (a refused one records nothing); then STOP-like words opt the sender out
//! of texts and START-like words back in ([`booking_core::text_replies`]). The provider gets
//! an empty TwiML answer, so it sends no reply of its own from us.

use actix_web::{HttpRequest, HttpResponse, web};
use booking_core::invitee::Phone;
use booking_core::text_replies::{ReplySignature, record_reply};
use utoipa::OpenApi;

use crate::errors::{Api, Error, Failure, Problem};
use crate::reject::{Body, api_resource};
use crate::{AppState, TextSide};

/// Where the provider posts replies (the URL to paste into its console, after the site's
/// public base URL).
pub(crate) const INBOUND_PATH: &str = "/sms/inbound";

/// TwiML that asks the provider to do nothing more.
const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

/// The part of the OpenAPI document for the SMS provider's callback.
#[derive(OpenApi)]
#[openapi(paths(inbound))]
pub(crate) struct SmsApi;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(api_resource(INBOUND_PATH, "POST").route(web::post().to(inbound)));
}

/// The text side and its signature check, when replies can come back at all.
fn replies(state: &AppState) -> Result<(&TextSide, &dyn ReplySignature), Failure> {
    let side = state.texts.as_deref().ok_or(Failure::NotFound)?;
    let check = side.replies.as_deref().ok_or(Failure::NotFound)?;
    Ok((side, check))
}

/// A text someone sent to our number, posted by the SMS provider (Twilio's inbound message
/// webhook). STOP, STOPALL, UNSUBSCRIBE, CANCEL, END or QUIT opts the sender out of texts;
/// START, UNSTOP or YES opts back in.
#[utoipa::path(post, path = "/sms/inbound", operation_id = "smsInbound", tag = "sms provider",
    params(("X-Twilio-Signature" = String, Header, description = "Base64 HMAC-SHA1 of the public URL and the sorted form fields, keyed with the auth token")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "Twilio's inbound message fields: `From`, `To`, `Body`, `MessageSid`, `AccountSid`, …"),
    responses(
        (status = 200, description = "Taken (an opt-out recorded if the text asked for one); empty TwiML", body = String, content_type = "text/xml"),
        (status = 403, description = "The signature is missing or does not match; nothing was recorded", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Replies are not taken (no twilio:// SMS_URL)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 256 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The opt-out could not be recorded; the provider should retry", body = Problem, content_type = "application/problem+json"),
    ))]
async fn inbound(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Body,
) -> Result<HttpResponse, Error<Api>> {
    let (side, check) = replies(&state)?;
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body.0).into_owned().collect();
    // The provider signs the public URL it was given, query included.
    let signed_url = state.url(
        req.uri()
            .path_and_query()
            .map_or(INBOUND_PATH, |p| p.as_str()),
    );
    let signature = req
        .headers()
        .get("X-Twilio-Signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if signature.is_empty() || !check.verify(&signed_url, &params, signature) {
        tracing::warn!(url = %signed_url, "inbound text refused: signature does not match");
        return Err(Failure::SignatureRefused.into());
    }
    let field = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let message_sid = field("MessageSid");
    match Phone::parse(field("From")) {
        Ok(from) => {
            let now = state.scheduler.clock().now();
            let change = record_reply(side.opt_outs.as_ref(), &from, field("Body"), now)
                .await
                .map_err(Failure::from)?;
            if let Some(change) = change {
                tracing::info!(message_sid, ?change, "text opt-out recorded");
            }
        }
        // A short code or an alphanumeric sender is never one we text.
        Err(_) => {
            tracing::info!(
                message_sid,
                "inbound text from a number we never text; ignored"
            );
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/xml; charset=utf-8")
        .body(EMPTY_TWIML))
}
