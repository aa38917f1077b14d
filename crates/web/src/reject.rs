//! Input that cannot even be read: the extractor settings that answer malformed JSON, queries,
//! forms and paths with a 400 problem document (a body over [`BODY_LIMIT`] with 413), JSON
//! bodies read by hand (after an API key was checked, or because they may be empty), and the
//! 405 answer of the API resources to a method they do not serve.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, Resource, ResponseError, web};

use crate::errors::{Api, Error, Failure};

/// The largest request body read (JSON and forms), in bytes.
pub(crate) const BODY_LIMIT: usize = 256 * 1024;

fn reject(failure: Failure) -> actix_web::Error {
    InternalError::from_response(failure.title(), failure.problem()).into()
}

/// What an unreadable body is: too large (413) or malformed (400).
fn unreadable(status: StatusCode, what: String) -> Failure {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        Failure::TooLarge(BODY_LIMIT / 1024)
    } else {
        Failure::Malformed(what)
    }
}

pub(crate) fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(BODY_LIMIT)
        .error_handler(|e, _| {
            let what = format!("the JSON body could not be read: {e}");
            reject(unreadable(e.status_code(), what))
        })
}

pub(crate) fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|e, _| reject(Failure::Malformed(format!("invalid query parameters: {e}"))))
}

pub(crate) fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(BODY_LIMIT)
        .error_handler(|e, _| {
            reject(Failure::Malformed(format!(
                "the form could not be read: {e}"
            )))
        })
}

pub(crate) fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|e, _| reject(Failure::Malformed(format!("invalid path: {e}"))))
}

/// A JSON body read by hand (after the caller was authorised, or because it may be empty).
///
/// # Errors
/// [`Failure::Malformed`] when it is not the expected JSON.
pub(crate) fn json_body<T: for<'de> serde::Deserialize<'de>>(bytes: &[u8]) -> Result<T, Failure> {
    // serde reads a struct from a JSON array too (`[null]` as `{"reason": null}`); a body
    // documented as an object must be one.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(Failure::Malformed(
            "the JSON body must be an object, not an array".into(),
        ));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| Failure::Malformed(format!("the JSON body could not be read: {e}")))
}

/// An optional JSON body: empty (or only whitespace) or JSON `null` means `T::default()`.
///
/// # Errors
/// As [`json_body`].
pub(crate) fn optional_json_body<T: for<'de> serde::Deserialize<'de> + Default>(
    bytes: &[u8],
) -> Result<T, Failure> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    Ok(json_body::<Option<T>>(bytes)?.unwrap_or_default())
}

/// A request body read whole for a JSON API handler (at most [`BODY_LIMIT`] bytes): one that
/// cannot be read answers as a problem document, 413 when it is too large.
#[derive(Debug)]
pub(crate) struct Body(pub(crate) web::Bytes);

impl FromRequest for Body {
    type Error = Error<Api>;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            bytes.await.map(Body).map_err(|e| {
                let status = e.as_response_error().status_code();
                unreadable(status, format!("the body could not be read: {e}")).into()
            })
        })
    }
}

/// A resource of the JSON APIs at `path`: a method it does not serve answers 405 with
/// `Allow: allow` as a problem document.
pub(crate) fn api_resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move || async move {
        Failure::MethodNotAllowed(allow).problem()
    }))
}
