//! No dead ends: what a refused token page offers next (book a new time, write to the host),
//! and the meeting details every page about a booking shows. Built here, once, from the
//! booking; the token pages call [`token_refusal`].

use actix_web::HttpResponse;
use booking_core::booking::Booking;
use booking_core::link::{BookingLink, Host};
use booking_core::ports::BookingStore;

use super::confirmation::booking_of;
use crate::AppState;
use crate::errors::Failure;
use crate::views::message::{NextStep, PlaceView};

/// The link and host of a booking (both must exist: a booking row names them).
pub(super) async fn link_and_host(
    state: &AppState,
    booking: &Booking,
) -> Result<(BookingLink, Host), Failure> {
    let store = state.scheduler.store();
    let link = store.link(booking.link()).await?.ok_or(Failure::Internal)?;
    let host = store.host(link.host()).await?.ok_or(Failure::Internal)?;
    Ok((link, host))
}

/// The next step from a booking of `link` by `host`: its booking page and the host's address.
pub(super) fn next_step_of(link: &BookingLink, host: &Host) -> NextStep {
    NextStep {
        book_again: Some(format!("/book/{}", link.slug())),
        host_name: host.name().as_str().to_owned(),
        host_email: host.email().to_string(),
    }
}

/// A link's location as pages show it: a web address as a "Join" link, anything else as text.
pub(super) fn place_of(link: &BookingLink) -> Option<PlaceView> {
    match (link.location_url(), link.location()) {
        (Some(url), _) => Some(PlaceView::Join(url.to_owned())),
        (None, Some(text)) => Some(PlaceView::Text(text.to_owned())),
        (None, None) => None,
    }
}

/// The answer of a token page that cannot do what was asked: the failure's page (status,
/// title, detail, token-page headers) with the next step of the token's booking when the
/// failure is about that booking. Unknown tokens and outages get no booking details.
pub(super) async fn token_refusal(
    state: &AppState,
    token: &str,
    failure: &Failure,
) -> HttpResponse {
    let about_the_booking = matches!(
        failure,
        Failure::Refused(_)
            | Failure::SlotUnavailable
            | Failure::SameSlot
            | Failure::CalendarUnavailable
            | Failure::Invalid(_)
    );
    let next = if about_the_booking {
        next_step_for_token(state, token).await
    } else {
        None
    };
    failure.token_page_with(next.as_ref())
}

async fn next_step_for_token(state: &AppState, token: &str) -> Option<NextStep> {
    let booking = booking_of(state, token).await.ok()?;
    let (link, host) = link_and_host(state, &booking).await.ok()?;
    Some(next_step_of(&link, &host))
}
