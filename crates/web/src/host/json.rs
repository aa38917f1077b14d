//! What every host API answer shares: `200` with `Cache-Control: no-store`, JSON bodies read
//! after the key was checked (so a caller without a key learns nothing from body errors),
//! and paging (out-of-range numbers are refused, never clamped).

use actix_web::HttpResponse;
use actix_web::http::header;
use booking_core::ports::Page;
use serde::{Deserialize, Serialize};

use crate::errors::{Api, Error, Failure};

/// The host API's handlers: JSON, or the failure as a problem document.
pub(crate) type ApiResult = Result<HttpResponse, Error<Api>>;

/// The largest page, and the largest offset (what the OpenAPI document says, as `int32`).
pub(crate) const MAX_LIMIT: u32 = 100;
pub(crate) const MAX_OFFSET: u32 = i32::MAX as u32;

pub(crate) fn ok(body: &impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

pub(crate) use crate::reject::{json_body as required, optional_json_body as optional};

/// `offset` and `limit` as given in a query.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    pub(crate) offset: Option<String>,
    pub(crate) limit: Option<String>,
    /// The dashboard tab (bookings only).
    pub(crate) tab: Option<String>,
}

impl PageQuery {
    pub(crate) fn page(&self) -> Result<Page, Failure> {
        Ok(Page {
            offset: bounded("offset", self.offset.as_deref(), 0, 0..=MAX_OFFSET)?,
            limit: bounded("limit", self.limit.as_deref(), 20, 1..=MAX_LIMIT)?,
        })
    }
}

/// The whole number `value` of query parameter `name` (`default` when absent), refused when
/// outside `range`.
///
/// # Errors
/// [`Failure::Invalid`] naming the parameter and its range.
pub(crate) fn bounded(
    name: &str,
    value: Option<&str>,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, Failure> {
    let Some(text) = value else {
        return Ok(default);
    };
    text.parse::<u32>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            Failure::Invalid(format!(
                "`{name}` must be a whole number from {} to {}",
                range.start(),
                range.end()
            ))
        })
}

/// A whole number, also when written with a zero fraction (`30.0`), as JSON Schema's
/// `integer` allows.
pub(crate) fn whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    n.as_i64()
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                .map(|f| f as i64)
        })
        .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a whole number")))
}

/// [`whole`], or `null`.
pub(crate) fn whole_or_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole")] i64);
    Ok(Option::<Whole>::deserialize(d)?.map(|w| w.0))
}
