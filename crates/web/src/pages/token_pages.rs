//! The attendee's token pages: reschedule, cancel and reconfirm.

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use booking_core::booking::Booking;
use booking_core::link::BookingLink;
use booking_core::ports::{BookingStore, Clock};
use booking_core::read_cache::answers::whole_second;
use booking_core::service::TokenActionError;
use chrono::{DateTime, Utc};

use super::confirmation::{booking_of, link_title};
use super::link_page::{accept_language, meeting_of};
use super::picker::{PickerQuery, Source, build_picker};
use super::{PageFields, Query, see_other, token_failure_page, token_html, token_html_body};
use crate::AppState;
use crate::answers::{AnswerKey, build_and_keep, kept, links_epoch};
use crate::errors::Failure;
use crate::forms::{FieldErrors, parse_instant, parse_reason};
use crate::present::{HourCycle, actor_label, search_zones, slot_label};
use crate::views::token::{CancelState, CancelView, ReconfirmView, RescheduleView};
use crate::views::{MeetingView, SlotView, token};

/// What the reschedule page shows again after a refused or checked submission.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    notice: Option<String>,
    errors: FieldErrors,
}

/// The booking a live token moves, looked up once per page, and its link.
#[derive(Debug, Clone, Copy)]
struct Moving<'a> {
    token: &'a str,
    booking: &'a Booking,
    link: &'a BookingLink,
}

/// The live booking of `token` (one lookup by token), refused when the token is dead.
async fn live_booking(state: &AppState, token: &str) -> Result<Booking, Failure> {
    let booking = booking_of(state, token).await?;
    booking
        .check_token(state.scheduler.clock().now())
        .map_err(Failure::Refused)?;
    Ok(booking)
}

async fn link_of_booking(state: &AppState, booking: &Booking) -> Result<BookingLink, Failure> {
    state
        .scheduler
        .store()
        .link(booking.link())
        .await?
        .ok_or(Failure::Internal)
}

pub(super) async fn reschedule_view(
    state: &AppState,
    token: &str,
    query: &PageFields,
    accept_language: Option<&str>,
    outcome: Outcome,
) -> Result<RescheduleView, Failure> {
    let booking = live_booking(state, token).await?;
    let link = link_of_booking(state, &booking).await?;
    let now = whole_second(state.scheduler.clock().now());
    let ask = PickerQuery::read(query, booking.invitee().time_zone(), accept_language, now);
    let moving = Moving {
        token,
        booking: &booking,
        link: &link,
    };
    view_of(state, moving, query, &ask, now, outcome).await
}

/// The reschedule page's view as of `now`, for a booking already looked up.
async fn view_of(
    state: &AppState,
    moving: Moving<'_>,
    query: &PageFields,
    ask: &PickerQuery,
    now: DateTime<Utc>,
    outcome: Outcome,
) -> Result<RescheduleView, Failure> {
    let Moving {
        token,
        booking,
        link,
    } = moving;
    let source = Source {
        link,
        moving: Some(booking),
    };
    let mut picker = build_picker(state, source, ask, now).await?;
    if query.get("zones").is_some_and(|z| z == "all") {
        picker.display.zones = search_zones("", now);
    }
    let chosen = query
        .get("start")
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|s| s.with_timezone(&Utc));
    let on_the_day = |start: &str| {
        picker
            .day
            .as_ref()
            .is_some_and(|d| d.times.iter().any(|t| t.start == start))
    };
    let chosen_elsewhere = chosen
        .map(|c| chosen_label(c, ask.zone, ask.clock))
        .filter(|s| !on_the_day(&s.start));
    Ok(RescheduleView {
        meeting: meeting_of(state, link).await?,
        original: slot_label(booking.slot(), ask.zone),
        invitee_name: booking.invitee().name().as_str().to_owned(),
        action: format!("/book/reschedule/{token}"),
        chosen: chosen.map(|c| crate::present::rfc3339(c, None)),
        chosen_elsewhere,
        picker,
        reason: query.get("reason").cloned().unwrap_or_default(),
        notice: outcome.notice,
        errors: outcome.errors,
    })
}

/// The reschedule page as first shown, rendered: one lookup of the token, the rest from the
/// read cache, and the page kept for the second it is asked in (`answers.rs`).
async fn reschedule_body(
    req: &HttpRequest,
    state: &AppState,
    token: &str,
    query: &PageFields,
) -> Result<Bytes, Failure> {
    let booking = live_booking(state, token).await?;
    let now = whole_second(state.scheduler.clock().now());
    let language = accept_language(req);
    let key = AnswerKey::Reschedule {
        booking: booking.id(),
        version: booking.version(),
        token: token.to_owned(),
        query: req.query_string().to_owned(),
        clock: PickerQuery::clock_of(query, language).param(),
    };
    if let Some(body) = kept(state, now, &key) {
        return Ok(body);
    }
    let epoch = links_epoch(state);
    let link = link_of_booking(state, &booking).await?;
    let ask = PickerQuery::read(query, booking.invitee().time_zone(), language, now);
    let moving = Moving {
        token,
        booking: &booking,
        link: &link,
    };
    let build = async {
        let vm = view_of(state, moving, query, &ask, now, Outcome::default()).await?;
        Ok(Bytes::from(token::reschedule(&vm).into_string()))
    };
    build_and_keep(state, now, key, (link.host(), epoch), build).await
}

/// "Thursday, March 4, 10:00 AM" for a chosen start shown beside another day.
fn chosen_label(
    start: DateTime<Utc>,
    zone: booking_core::TimeZoneName,
    clock: HourCycle,
) -> SlotView {
    let local = start.with_timezone(&zone.tz());
    SlotView {
        start: crate::present::rfc3339(start, None),
        label: format!(
            "{}, {}",
            local.format("%A, %B %-d"),
            clock.label(local.time())
        ),
    }
}

pub(super) async fn reschedule_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    query: Query,
) -> HttpResponse {
    match reschedule_body(&req, &state, &token, &query).await {
        Ok(body) => token_html_body(StatusCode::OK, body),
        Err(failure) => token_failure_page(&state, &token, &failure).await,
    }
}

pub(super) async fn reschedule_submit(
    req: HttpRequest,
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
    let again = |outcome: Outcome, status| {
        let (state, token, form) = (state.clone(), token.clone(), form.clone());
        let language = accept_language(&req).map(str::to_owned);
        async move {
            match reschedule_view(&state, &token, &form, language.as_deref(), outcome).await {
                Ok(vm) => token_html(status, token::reschedule(&vm)),
                Err(failure) => token_failure_page(&state, &token, &failure).await,
            }
        }
    };
    let (Some(start), true) = (start, errors.is_empty()) else {
        return again(
            Outcome {
                notice: None,
                errors,
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    match state.scheduler.reschedule(&token, start, reason).await {
        Ok(new) => see_other(&format!("/book/confirmed/{}", new.token().expose())),
        Err(TokenActionError::SlotUnavailable) => {
            let notice = "Sorry, that time was just taken. Here are the times still free.";
            again(refused(notice.to_owned()), StatusCode::CONFLICT).await
        }
        Err(TokenActionError::NotOffered) => {
            let notice = "That time is outside the host's hours or not one of this link's \
                          times — nobody took it. Please pick one of the times shown.";
            again(refused(notice.to_owned()), StatusCode::CONFLICT).await
        }
        Err(TokenActionError::SameSlot) => {
            let notice = Failure::SameSlot.detail();
            again(refused(notice), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => token_failure_page(&state, &token, &e.into()).await,
    }
}

fn refused(notice: String) -> Outcome {
    Outcome {
        notice: Some(notice),
        errors: FieldErrors::default(),
    }
}

/// The details column's contents for a token page's booking (empty when its link is gone).
async fn meeting_for(state: &AppState, booking: &Booking) -> Result<MeetingView, Failure> {
    match state.scheduler.store().link(booking.link()).await? {
        Some(link) => meeting_of(state, &link).await,
        None => Ok(MeetingView::default()),
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
    let meeting = meeting_for(state, &booking).await?;
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
        return Ok(CancelView {
            title,
            meeting,
            when,
            state,
        });
    }
    booking
        .check_token(state.scheduler.clock().now())
        .map_err(Failure::Refused)?;
    Ok(CancelView {
        title,
        meeting,
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
        meeting: meeting_for(state, &booking).await?,
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
