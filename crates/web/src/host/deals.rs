//! The `/deals` list (the host's deals, newest first, a page at a time) and moving a deal to
//! another stage.

use actix_web::http::StatusCode;
use actix_web::web;
use booking_core::deals::DealId;
use booking_core::ports::{Clock, Page};

use super::extract::{LoggedIn, Posted};
use super::page::{
    DELETED_LINK, ListQuery, PAGE_SIZE, PageResult, StageForm, page, see_other, stage_options,
};
use super::summary::moment;
use crate::AppState;
use crate::errors::Failure;
use crate::views::host::deals::{self, DealRow, DealsView};

pub(crate) async fn deals_page(
    me: LoggedIn,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> PageResult {
    let number = query.page_number();
    let desk = me.desk(&state);
    let list = desk
        .deals(
            me.id(),
            Page {
                offset: (number - 1) * PAGE_SIZE,
                limit: PAGE_SIZE,
            },
        )
        .await?;
    let titles = desk.link_titles(me.id()).await?;
    let zone = me.host.time_zone();
    let vm = DealsView {
        viewer: me.viewer(),
        rows: list
            .rows
            .iter()
            .map(|d| DealRow {
                id: d.id().to_string(),
                contact: d.contact_name().as_str().to_owned(),
                email: d.contact_email().as_str().to_owned(),
                link_title: titles
                    .get(&d.link())
                    .cloned()
                    .unwrap_or_else(|| DELETED_LINK.to_owned()),
                meeting_href: format!("/calendar/bookings/{}", d.booking()),
                opened: moment(d.created_at(), zone),
                stage: d.stage().as_str().to_owned(),
                action: format!("/deals/{}/stage", d.id()),
            })
            .collect(),
        stages: stage_options(),
        total: list.total,
        notice: query.notice(),
        earlier: (number > 1).then(|| format!("/deals?page={}", number - 1)),
        later: (u64::from(number) * u64::from(PAGE_SIZE) < list.total)
            .then(|| format!("/deals?page={}", number + 1)),
    };
    Ok(page(StatusCode::OK, deals::deals(&vm)))
}

pub(crate) async fn deal_stage(
    state: web::Data<AppState>,
    id: web::Path<String>,
    posted: Posted<StageForm>,
) -> PageResult {
    let Posted { me, form } = posted;
    let (Ok(id), Some(stage)) = (DealId::parse(&id), form.stage()) else {
        return Err(Failure::NotFound.into());
    };
    me.desk(&state)
        .move_deal(me.id(), id, stage, state.scheduler.clock().now())
        .await?;
    Ok(see_other("/deals?done=deal-moved"))
}
