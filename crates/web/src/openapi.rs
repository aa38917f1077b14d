//! The OpenAPI 3.1 description of the JSON APIs (public, host, webhook subscriptions), served
//! at `/api/v1/openapi.json`. It is generated from the handlers' `#[utoipa::path]` attributes
//! and the request and response types (`ToSchema`), so it describes what the code sends; a
//! test in `tests/web/openapi.rs` checks real answers of every endpoint against it.

use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

use crate::errors::Problem;
use crate::forms::ZoneName;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Slotkeeper API",
        version = "1",
        description = "Book, reschedule, cancel and reconfirm bookings; the host's bookings, links, deals and webhook subscriptions (with an API key). Errors are RFC 9457 problem documents."
    ),
    components(schemas(Problem, ZoneName)),
    modifiers(&ApiKey)
)]
struct Document;

/// Adds the host API key scheme.
struct ApiKey;

impl utoipa::Modify for ApiKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some("A host API key (sk_…) from /settings/api-keys".to_owned());
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("apiKey", SecurityScheme::Http(scheme));
        let mut cron = Http::new(HttpAuthScheme::Bearer);
        cron.description = Some("The server's CRON_SECRET".to_owned());
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("cronSecret", SecurityScheme::Http(cron));
    }
}

/// Serves the document at `/api/v1/openapi.json` (registered before the public API's scope).
pub(crate) fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.route(
        "/api/v1/openapi.json",
        actix_web::web::get().to(|| async { actix_web::HttpResponse::Ok().json(document()) }),
    );
}

/// The document.
pub(crate) fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Document::openapi();
    doc.merge(crate::api::PublicApi::openapi());
    doc.merge(crate::host::HostApi::openapi());
    doc.merge(crate::host::WebhooksApi::openapi());
    doc.merge(crate::calendars::CalendarsApi::openapi());
    doc.merge(crate::sms::SmsApi::openapi());
    doc
}
