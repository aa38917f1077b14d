//! The full time-zone list, only on demand: `GET /book/zones.json?q=york` answers the zones
//! whose name, city or offset holds `q` (all of them without one), for the zone box's list.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use booking_core::ports::Clock;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::present::search_zones;

#[derive(Debug, Deserialize)]
pub(super) struct ZoneQuery {
    q: Option<String>,
}

/// One zone: its IANA name and "(UTC−05:00) New York".
#[derive(Debug, Serialize)]
struct ZoneItem {
    name: &'static str,
    label: String,
}

pub(super) async fn zones_json(
    state: web::Data<AppState>,
    query: web::Query<ZoneQuery>,
) -> HttpResponse {
    let now = state.scheduler.clock().now();
    let items: Vec<ZoneItem> = search_zones(query.q.as_deref().unwrap_or_default(), now)
        .into_iter()
        .map(|z| ZoneItem {
            name: z.name,
            label: z.label,
        })
        .collect();
    HttpResponse::Ok()
        // Offsets change with the seasons; an hour old is fine.
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .json(items)
}
