//! `/settings/deliveries`: the host's dead outbox entries (every attempt failed) and the
//! retry that puts one back in the queue for the dispatcher. Both go through the outbox's
//! per-host methods, so another host's entry answers 404 like a missing one.

use actix_web::http::StatusCode;
use actix_web::web;
use booking_core::ports::{Clock, Outbox};
use serde::Deserialize;

use super::extract::{HostForm, LoggedIn, Posted};
use super::page::{ListQuery, PageResult, page, see_other};
use super::summary::moment;
use crate::AppState;
use crate::errors::{Error, Failure, HostPage};
use crate::views::host::deliveries::{self, DeadRow, DeliveriesView};

/// Dead entries listed at most.
const LISTED: u32 = 200;

/// The outbox, or 404 when the host side was given none.
fn outbox_of(me: &LoggedIn) -> Result<&dyn Outbox, Error<HostPage>> {
    me.side
        .outbox
        .as_deref()
        .ok_or_else(|| Failure::NotFound.into())
}

pub(crate) async fn deliveries_page(me: LoggedIn, query: web::Query<ListQuery>) -> PageResult {
    let outbox = outbox_of(&me)?;
    let zone = me.host.time_zone();
    let dead = outbox.dead_entries_of_host(me.id(), LISTED).await?;
    let vm = DeliveriesView {
        viewer: me.viewer(),
        rows: dead
            .iter()
            .map(|d| DeadRow {
                key: d.entry.key.clone(),
                kind: d.entry.effect.code(),
                booking_href: format!("/calendar/bookings/{}", d.entry.effect.booking()),
                last_error: d.last_error.chars().take(300).collect(),
                died: moment(d.died_at, zone),
                attempts: d.entry.attempts,
            })
            .collect(),
        notice: match query.done.as_deref() {
            Some("retried") => {
                Some("Put back in the queue: it is sent again within a minute.".to_owned())
            }
            _ => None,
        },
    };
    Ok(page(StatusCode::OK, deliveries::dead(&vm)))
}

/// The retry button's form: the entry's key.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RetryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
}

impl HostForm for RetryForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub(crate) async fn retry(state: web::Data<AppState>, posted: Posted<RetryForm>) -> PageResult {
    let Posted { me, form } = posted;
    let outbox = outbox_of(&me)?;
    let now = state.scheduler.clock().now();
    if !outbox.retry_dead(me.id(), &form.key, now).await? {
        return Err(Failure::NotFound.into());
    }
    tracing::info!(host = %me.id(), key = %form.key, "dead outbox entry put back in the queue");
    Ok(see_other("/settings/deliveries?done=retried"))
}
