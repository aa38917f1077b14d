//! The host's choice to list their links on the site's home page (off until they turn it on).

use actix_web::web;
use booking_core::ports::Clock;
use serde::Deserialize;

use super::extract::{HostForm, Posted};
use super::page::{PageResult, see_other};
use crate::AppState;

/// The `/links` page's listing form: a checkbox, sent only when ticked.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    listed: Option<String>,
}

impl HostForm for ListingForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub(crate) async fn listing_submit(
    state: web::Data<AppState>,
    posted: Posted<ListingForm>,
) -> PageResult {
    let me = posted.me;
    let listed = posted.form.listed.is_some();
    me.side
        .links
        .set_lists_links(me.id(), listed, state.scheduler.clock().now())
        .await?;
    tracing::info!(host = %me.id(), listed, "home page listing changed");
    let done = if listed { "listed" } else { "unlisted" };
    Ok(see_other(&format!("/links?done={done}")))
}
