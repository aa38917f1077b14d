//! The attendee's token pages: reschedule, cancel and reconfirm.

use actix_web::{HttpResponse, web};
use booking_core::TimeRange;
use booking_core::ports::Clock;
use booking_core::service::TokenActionError;

use super::confirmation::{booking_of, link_title};
use super::picker::{day_views, picker_nav, picker_window, zone_from};
use super::{PageFields, Query, see_other, token_failure_page, token_html};
use crate::AppState;
use crate::errors::Failure;
use crate::forms::{FieldErrors, parse_instant, parse_reason};
use crate::present::{actor_label, slot_label};
use crate::views::token;
use crate::views::token::{CancelState, CancelView, ReconfirmView, RescheduleView};

pub(super) async fn reschedule_view(
    state: &AppState,
    token: &str,
    query: &PageFields,
    notice: Option<String>,
    errors: FieldErrors,
    reason: String,
) -> Result<RescheduleView, Failure> {
    let booking = booking_of(state, token).await?;
    let zone = zone_from(query, booking.invitee().time_zone());
    let now = state.scheduler.clock().now();
    let (from, window) = picker_window(query, zone, now);
    let page = state.scheduler.reschedule_page(token, window).await?;
    let slots: Vec<TimeRange> = page
        .slots
        .into_iter()
        .filter(|s| *s != booking.slot())
        .collect();
    let path = format!("/book/reschedule/{token}");
    Ok(RescheduleView {
        title: page.link.title().to_owned(),
        original: slot_label(booking.slot(), zone),
        invitee_name: booking.invitee().name().as_str().to_owned(),
        days: day_views(&slots, zone),
        nav: picker_nav(
            &path,
            zone,
            from,
            now.with_timezone(&zone.tz()).date_naive(),
            Vec::new(),
            page.next,
        ),
        action: path,
        reason,
        notice,
        errors,
    })
}

pub(super) async fn reschedule_page(
    state: web::Data<AppState>,
    token: web::Path<String>,
    query: Query,
) -> HttpResponse {
    match reschedule_view(
        &state,
        &token,
        &query,
        None,
        FieldErrors::default(),
        String::new(),
    )
    .await
    {
        Ok(vm) => token_html(actix_web::http::StatusCode::OK, token::reschedule(&vm)),
        Err(failure) => token_failure_page(&state, &token, &failure).await,
    }
}

pub(super) async fn reschedule_submit(
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<PageFields>,
) -> HttpResponse {
    let form = form.into_inner();
    let mut errors = FieldErrors::default();
    let reason = parse_reason(form.get("reason").map(String::as_str), &mut errors);
    let start = match form.get("start") {
        Some(s) => parse_instant(s, "start", &mut errors),
        None => {
            errors.add("start", "Pick a new time.");
            None
        }
    };
    let reason_text = form.get("reason").cloned().unwrap_or_default();
    let again = |notice: Option<String>, errors: FieldErrors, status| {
        let (state, token, form, reason_text) = (
            state.clone(),
            token.clone(),
            form.clone(),
            reason_text.clone(),
        );
        async move {
            match reschedule_view(&state, &token, &form, notice, errors, reason_text).await {
                Ok(vm) => token_html(status, token::reschedule(&vm)),
                Err(failure) => token_failure_page(&state, &token, &failure).await,
            }
        }
    };
    let (Some(start), true) = (start, errors.is_empty()) else {
        return again(
            None,
            errors,
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    match state.scheduler.reschedule(&token, start, reason).await {
        Ok(new) => see_other(&format!("/book/confirmed/{}", new.token().expose())),
        Err(TokenActionError::SlotUnavailable) => {
            let notice =
                "Sorry, that time was just taken. Here are the times still free.".to_owned();
            again(
                Some(notice),
                FieldErrors::default(),
                actix_web::http::StatusCode::CONFLICT,
            )
            .await
        }
        Err(TokenActionError::SameSlot) => {
            let notice = Failure::SameSlot.detail();
            again(
                Some(notice),
                FieldErrors::default(),
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => token_failure_page(&state, &token, &e.into()).await,
    }
}

pub(super) async fn cancel_view(
    state: &AppState,
    token: &str,
    errors: FieldErrors,
    reason: String,
) -> Result<CancelView, Failure> {
    let booking = booking_of(state, token).await?;
    let zone = booking.invitee().time_zone();
    let title = link_title(state, &booking).await?;
    let when = slot_label(booking.slot(), zone);
    if let Some(c) = booking.cancellation() {
        let at =
            c.at.with_timezone(&zone.tz())
                .format("%B %-d, %Y at %H:%M")
                .to_string();
        let state = CancelState::Cancelled {
            by: actor_label(c.by).to_owned(),
            reason: c.reason.as_ref().map(|r| r.as_str().to_owned()),
            at,
        };
        return Ok(CancelView { title, when, state });
    }
    booking
        .check_token(state.scheduler.clock().now())
        .map_err(Failure::Refused)?;
    Ok(CancelView {
        title,
        when,
        state: CancelState::Confirm {
            action: format!("/book/cancel/{token}"),
            errors,
            reason,
        },
    })
}

pub(super) async fn cancel_page(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> HttpResponse {
    match cancel_view(&state, &token, FieldErrors::default(), String::new()).await {
        Ok(vm) => token_html(actix_web::http::StatusCode::OK, token::cancel(&vm)),
        Err(failure) => token_failure_page(&state, &token, &failure).await,
    }
}

pub(super) async fn cancel_submit(
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<PageFields>,
) -> HttpResponse {
    let mut errors = FieldErrors::default();
    let text = form.get("reason").cloned().unwrap_or_default();
    let reason = parse_reason(Some(&text), &mut errors);
    if !errors.is_empty() {
        return match cancel_view(&state, &token, errors, text).await {
            Ok(vm) => token_html(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                token::cancel(&vm),
            ),
            Err(failure) => token_failure_page(&state, &token, &failure).await,
        };
    }
    match state.scheduler.cancel(&token, reason).await {
        Ok(_) => see_other(&format!("/book/cancel/{token}")),
        Err(e) => token_failure_page(&state, &token, &e.into()).await,
    }
}

pub(super) async fn reconfirm_view(
    state: &AppState,
    token: &str,
) -> Result<ReconfirmView, Failure> {
    let booking = booking_of(state, token).await?;
    booking
        .check_token(state.scheduler.clock().now())
        .map_err(Failure::Refused)?;
    let title = link_title(state, &booking).await?;
    let action = booking
        .reconfirmed_at()
        .is_none()
        .then(|| format!("/book/reconfirm/{token}"));
    Ok(ReconfirmView {
        title,
        when: slot_label(booking.slot(), booking.invitee().time_zone()),
        action,
    })
}

pub(super) async fn reconfirm_page(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> HttpResponse {
    match reconfirm_view(&state, &token).await {
        Ok(vm) => token_html(actix_web::http::StatusCode::OK, token::reconfirm(&vm)),
        Err(failure) => token_failure_page(&state, &token, &failure).await,
    }
}

pub(super) async fn reconfirm_submit(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> HttpResponse {
    match state.scheduler.reconfirm(&token).await {
        Ok(_) => see_other(&format!("/book/reconfirm/{token}")),
        Err(e) => token_failure_page(&state, &token, &e.into()).await,
    }
}
