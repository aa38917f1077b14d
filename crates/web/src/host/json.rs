//! What every host API answer shares: `200` with `Cache-Control: no-store`, JSON bodies read
//! after the key was checked (so a caller without a key learns nothing from body errors),
//! and paging.

use actix_web::HttpResponse;
use actix_web::http::header;
use booking_core::ports::Page;
use serde::{Deserialize, Serialize};

use crate::errors::{Api, Error, Failure};

/// The host API's handlers: JSON, or the failure as a problem document.
pub(crate) type ApiResult = Result<HttpResponse, Error<Api>>;

const MAX_LIMIT: u32 = 100;

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
        let number = |k: &str, v: Option<&str>, default: u32| -> Result<u32, Failure> {
            match v {
                None => Ok(default),
                Some(v) => v.parse::<u32>().map_err(|_| {
                    Failure::Invalid(format!("`{k}` must be a non-negative whole number"))
                }),
            }
        };
        Ok(Page {
            offset: number("offset", self.offset.as_deref(), 0)?,
            limit: number("limit", self.limit.as_deref(), 20)?.clamp(1, MAX_LIMIT),
        })
    }
}
