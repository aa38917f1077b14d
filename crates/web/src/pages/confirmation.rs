//! The confirmation page of a booking and its calendar invitation.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use booking_core::Status;
use booking_core::booking::Booking;
use booking_core::ports::{BookingStore, Clock};

use super::refusal::{link_and_host, next_step_of, place_of};
use super::{token_failure_page, token_html};
use crate::AppState;
use crate::errors::Failure;
use crate::headers::token_page;
use crate::present::{actor_label, slot_label};
use crate::views::book;
use crate::views::book::{ConfirmedState, ConfirmedView};

pub(super) async fn booking_of(state: &AppState, token: &str) -> Result<Booking, Failure> {
    state
        .scheduler
        .booking_to_show(token)
        .await
        .map_err(Failure::from)
}

pub(super) async fn link_title(state: &AppState, booking: &Booking) -> Result<String, Failure> {
    match state.scheduler.store().link(booking.link()).await? {
        Some(link) => Ok(link.title().to_owned()),
        None => Err(Failure::Internal),
    }
}

/// The confirmation page of a booking, in whatever state it is now: live (the invite and
/// the token links), cancelled (who, when, why, and booking again) or moved (the time it has
/// now, without the new row's links). Only a started meeting's or an unknown token is refused.
pub(super) async fn confirmed(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> HttpResponse {
    match confirmed_view(&state, &token).await {
        Ok(vm) => token_html(actix_web::http::StatusCode::OK, book::confirmed(&vm)),
        Err(failure) => token_failure_page(&state, &token, &failure).await,
    }
}

async fn confirmed_view(state: &AppState, token: &str) -> Result<ConfirmedView, Failure> {
    let booking = booking_of(state, token).await?;
    let (link, host) = link_and_host(state, &booking).await?;
    let zone = booking.invitee().time_zone();
    let current = match booking.status() {
        Status::Rescheduled { .. } => current_of(state, &booking).await?,
        _ => booking.clone(),
    };
    let (heading, state_view) = match (booking.status(), current.cancellation()) {
        (_, Some(c)) => (
            "This booking was cancelled",
            ConfirmedState::Cancelled {
                by: actor_label(c.by).to_owned(),
                at: c
                    .at
                    .with_timezone(&zone.tz())
                    .format("%B %-d, %Y at %H:%M")
                    .to_string(),
                reason: c.reason.as_ref().map(|r| r.as_str().to_owned()),
                next: next_step_of(&link, &host),
            },
        ),
        (Status::Rescheduled { .. }, None) => (
            "This booking was moved",
            ConfirmedState::Moved {
                now: slot_label(current.slot(), zone),
                next: next_step_of(&link, &host),
            },
        ),
        _ => {
            booking
                .check_token(state.scheduler.clock().now())
                .map_err(Failure::Refused)?;
            let t = booking.token().expose();
            let heading = if booking.previous().is_some() {
                "Your booking was moved"
            } else {
                "You are booked"
            };
            (
                heading,
                ConfirmedState::Live {
                    invitee_email: booking.invitee().email().to_string(),
                    ics_href: format!("/book/confirmed/{t}/invite.ics"),
                    reschedule_href: format!("/book/reschedule/{t}"),
                    cancel_href: format!("/book/cancel/{t}"),
                },
            )
        }
    };
    Ok(ConfirmedView {
        heading: heading.to_owned(),
        title: link.title().to_owned(),
        host_name: host.name().as_str().to_owned(),
        when: slot_label(booking.slot(), zone),
        place: place_of(&link),
        about: link.description().map(str::to_owned),
        state: state_view,
    })
}

/// The row a moved booking's chain ends in (moved again and again, perhaps cancelled since).
async fn current_of(state: &AppState, booking: &Booking) -> Result<Booking, Failure> {
    let chain = state.scheduler.store().chain(booking.chain()).await?;
    chain
        .into_iter()
        .find(|row| !matches!(row.status(), Status::Rescheduled { .. }))
        .ok_or(Failure::Internal)
}

/// The booking's calendar invitation, for "add to calendar". Only a live token gets it: a
/// moved, cancelled or started booking's token answers like its confirmation page (the
/// refusal, with none of the attendee's details).
pub(super) async fn invite(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    let result = async {
        let booking = booking_of(&state, &token).await?;
        booking
            .check_token(state.scheduler.clock().now())
            .map_err(Failure::Refused)?;
        let store = state.scheduler.store();
        let link = store.link(booking.link()).await?.ok_or(Failure::Internal)?;
        let host = store.host(link.host()).await?.ok_or(Failure::Internal)?;
        let previous = match booking.previous() {
            Some(id) => store.booking(id).await?,
            None => None,
        };
        let ctx = booking_core::ports::NotificationContext {
            booking: &booking,
            previous: previous.as_ref(),
            link: &link,
            host: &host,
            public_base_url: &state.public_base_url,
        };
        Ok::<_, Failure>(invite_ics::invite_ics(&ctx))
    }
    .await;
    match result {
        Ok(ics) => {
            let mut builder = HttpResponse::Ok();
            token_page(&mut builder)
                .content_type("text/calendar; charset=utf-8")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"invite.ics\"",
                ))
                .body(ics)
        }
        Err(failure) => token_failure_page(&state, &token, &failure).await,
    }
}
