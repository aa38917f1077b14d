//! The confirmation page of a booking and its calendar invitation.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use booking_core::booking::Booking;
use booking_core::ports::{BookingStore, Clock};

use super::{token_failure_page, token_html};
use crate::AppState;
use crate::errors::Failure;
use crate::headers::token_page;
use crate::present::slot_label;
use crate::views::book;
use crate::views::book::ConfirmedView;

pub(super) async fn booking_of(state: &AppState, token: &str) -> Result<Booking, Failure> {
    state
        .scheduler
        .booking_by_token(token)
        .await
        .map_err(Failure::from)
}

pub(super) async fn link_title(state: &AppState, booking: &Booking) -> Result<String, Failure> {
    match state.scheduler.store().link(booking.link()).await? {
        Some(link) => Ok(link.title().to_owned()),
        None => Err(Failure::Internal),
    }
}

pub(super) async fn confirmed(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> HttpResponse {
    let result = async {
        let booking = booking_of(&state, &token).await?;
        booking
            .check_token(state.scheduler.clock().now())
            .map_err(Failure::Refused)?;
        let zone = booking.invitee().time_zone();
        let t = booking.token().expose();
        Ok(ConfirmedView {
            heading: if booking.previous().is_some() {
                "Your booking was moved".into()
            } else {
                "You are booked".into()
            },
            title: link_title(&state, &booking).await?,
            when: slot_label(booking.slot(), zone),
            invitee_email: booking.invitee().email().to_string(),
            ics_href: format!("/book/confirmed/{t}/invite.ics"),
            reschedule_href: format!("/book/reschedule/{t}"),
            cancel_href: format!("/book/cancel/{t}"),
        })
    }
    .await;
    match result {
        Ok(vm) => token_html(actix_web::http::StatusCode::OK, book::confirmed(&vm)),
        Err(failure) => token_failure_page(&failure),
    }
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
        Err(failure) => token_failure_page(&failure),
    }
}
