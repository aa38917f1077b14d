//! A database outage answers 503 with `Retry-After`, as problem+json on the API and as a page
//! on the public pages, never 500: the store double says its database is unavailable, the way
//! the real stores classify a refused connection, a full disk or a pool timeout.

use std::sync::Arc;

use actix_web::test::{TestRequest, call_service};
use async_trait::async_trait;
use booking_core::booking::Booking;
use booking_core::ids::{BookingId, ChainId, HostId, LinkId};
use booking_core::link::{BookingLink, Host, Slug};
use booking_core::ports::{
    BookingStore, Change, CommitError, DashboardPage, DashboardTab, DeadEntry, Page, PendingEntry,
    SaveLinkError, StoreError,
};
use booking_core::testkit::{FixedBusy, ManualClock, SequentialTokens};
use booking_core::token::RescheduleToken;
use booking_core::{Scheduler, TimeRange};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::*;

/// A store whose database cannot be reached.
struct DownStore;

fn down() -> StoreError {
    StoreError::unavailable(
        "loading from the database",
        std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
    )
}

#[async_trait]
impl BookingStore for DownStore {
    async fn save_host(&self, _: &Host) -> Result<(), StoreError> {
        Err(down())
    }
    async fn host(&self, _: HostId) -> Result<Option<Host>, StoreError> {
        Err(down())
    }
    async fn save_link(&self, _: &BookingLink) -> Result<(), SaveLinkError> {
        Err(down().into())
    }
    async fn link_by_slug(&self, _: &Slug) -> Result<Option<BookingLink>, StoreError> {
        Err(down())
    }
    async fn link(&self, _: LinkId) -> Result<Option<BookingLink>, StoreError> {
        Err(down())
    }
    async fn booking(&self, _: BookingId) -> Result<Option<Booking>, StoreError> {
        Err(down())
    }
    async fn booking_by_token(&self, _: &RescheduleToken) -> Result<Option<Booking>, StoreError> {
        Err(down())
    }
    async fn booking_by_token_to_show(
        &self,
        _: &RescheduleToken,
    ) -> Result<Option<Booking>, StoreError> {
        Err(down())
    }
    async fn booking_by_provider_event(
        &self,
        _: &str,
        _: &str,
    ) -> Result<Option<Booking>, StoreError> {
        Err(down())
    }
    async fn chain(&self, _: ChainId) -> Result<Vec<Booking>, StoreError> {
        Err(down())
    }
    async fn blocked_ranges(
        &self,
        _: HostId,
        _: TimeRange,
        _: Option<ChainId>,
    ) -> Result<Vec<TimeRange>, StoreError> {
        Err(down())
    }
    async fn dashboard(
        &self,
        _: HostId,
        _: DashboardTab,
        _: DateTime<Utc>,
        _: Page,
    ) -> Result<DashboardPage, StoreError> {
        Err(down())
    }
    async fn reconfirmation_overdue(
        &self,
        _: DateTime<Utc>,
        _: u32,
    ) -> Result<Vec<Booking>, StoreError> {
        Err(down())
    }
    async fn dead_effects(&self, _: BookingId) -> Result<Vec<DeadEntry>, StoreError> {
        Err(down())
    }
    async fn pending_effects(&self, _: BookingId) -> Result<Vec<PendingEntry>, StoreError> {
        Err(down())
    }
    async fn record_reconfirmation_request(
        &self,
        _: BookingId,
        _: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Err(down())
    }
    async fn commit(&self, _: Change) -> Result<(), CommitError> {
        Err(down().into())
    }
}

fn state() -> ::web::AppState {
    let scheduler = Scheduler::new(
        Arc::new(DownStore) as Arc<dyn BookingStore>,
        Arc::new(ManualClock::at(now())) as _,
        Arc::new(SequentialTokens::new()) as _,
        Arc::new(FixedBusy::default()) as _,
    );
    ::web::AppState::new(scheduler, "http://book.test")
}

#[actix_web::test]
async fn an_unavailable_database_answers_503_problem_with_retry_after() {
    let app = actix_web::test::init_service(
        actix_web::App::new()
            .app_data(actix_web::web::Data::new(state()))
            .configure(::web::configure),
    )
    .await;
    let booking = json!({"start": rfc(at(9, 0)),
        "invitee": {"name": "Ada", "email": "ada@example.org", "timezone": "UTC"}});
    let resp = call_service(
        &app,
        TestRequest::post()
            .uri("/api/v1/links/intro/bookings")
            .set_json(booking)
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 503);
    assert_eq!(header(&resp, "retry-after"), "5");
    assert_eq!(header(&resp, "content-type"), "application/problem+json");
    let problem: Value = serde_json::from_str(&body(resp).await).unwrap();
    assert_eq!(problem["status"], 503);
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("/temporarily-unavailable"),
        "{problem}"
    );
}

#[actix_web::test]
async fn an_unavailable_database_answers_a_503_page_with_retry_after() {
    let app = actix_web::test::init_service(
        actix_web::App::new()
            .app_data(actix_web::web::Data::new(state()))
            .configure(::web::configure),
    )
    .await;
    let resp = call_service(&app, TestRequest::get().uri("/book/intro").to_request()).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(header(&resp, "retry-after"), "5");
    assert!(header(&resp, "content-type").starts_with("text/html"));
    assert!(body(resp).await.contains("Temporarily unavailable"));
}
