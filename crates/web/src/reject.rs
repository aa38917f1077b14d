//! Input that cannot even be read: the extractor settings that answer malformed JSON, queries,
//! forms and paths with a 400 problem document, and JSON bodies read by hand (after an API key
//! was checked, or because they may be empty).

use actix_web::error::InternalError;
use actix_web::web;

use crate::errors::Failure;

fn reject(message: String) -> actix_web::Error {
    InternalError::from_response(message.clone(), Failure::Malformed(message).problem()).into()
}

pub(crate) fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(256 * 1024)
        .error_handler(|e, _| reject(format!("the JSON body could not be read: {e}")))
}

pub(crate) fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|e, _| reject(format!("invalid query parameters: {e}")))
}

pub(crate) fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(256 * 1024)
        .error_handler(|e, _| reject(format!("the form could not be read: {e}")))
}

pub(crate) fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|e, _| reject(format!("invalid path: {e}")))
}

/// A JSON body read by hand (after the caller was authorised, or because it may be empty).
///
/// # Errors
/// [`Failure::Malformed`] when it is not the expected JSON.
pub(crate) fn json_body<T: for<'de> serde::Deserialize<'de>>(bytes: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(bytes)
        .map_err(|e| Failure::Malformed(format!("the JSON body could not be read: {e}")))
}

/// An optional JSON body: empty (or only whitespace) means `T::default()`.
///
/// # Errors
/// As [`json_body`].
pub(crate) fn optional_json_body<T: for<'de> serde::Deserialize<'de> + Default>(
    bytes: &[u8],
) -> Result<T, Failure> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    json_body(bytes)
}
