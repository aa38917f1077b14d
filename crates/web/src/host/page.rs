//! What every host page shares: the private HTML response, redirects, the `done` notices,
//! paging, and the typed query and form fields several pages read.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use booking_core::deals::DealStage;
use maud::Markup;
use serde::Deserialize;

use super::extract::{HostForm, Posted};

/// Meetings and deals per page.
pub(crate) const PAGE_SIZE: u32 = 20;

/// The host pages' handlers: a page, or the failure rendered as a host page.
pub(crate) type PageResult = Result<HttpResponse, crate::errors::Error<crate::errors::HostPage>>;

/// A host page: private, never cached.
pub(crate) fn page(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

pub(crate) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The query of a list page: which tab and page, and what a redirect says was done.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    pub(crate) tab: Option<String>,
    pub(crate) page: Option<String>,
    pub(crate) done: Option<String>,
}

impl ListQuery {
    /// The 1-based page number; anything unreadable is the first page.
    pub(crate) fn page_number(&self) -> u32 {
        self.page
            .as_deref()
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|p| (1..=100_000).contains(p))
            .unwrap_or(1)
    }

    pub(crate) fn notice(&self) -> Option<String> {
        notice(self.done.as_deref())
    }
}

/// What the `done` query parameter of a redirect says happened.
pub(crate) fn notice(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "cancelled" => "The meeting is cancelled; the attendee is being told by email.",
        "no-show" => "Marked as a no-show.",
        "undone" => "The no-show mark is taken back.",
        "links-sent" => "The attendee is being sent their reschedule and cancel links.",
        "deal-moved" => "The deal was moved.",
        "link-saved" => "The link was saved.",
        "key-revoked" => "The key was revoked; it no longer opens the API.",
        "logged-out" => "You are logged out.",
        "listed" => "Your links are listed on the home page.",
        "unlisted" => "Your links are no longer listed on the home page.",
        "connected" => "Your calendar is connected.",
        "disconnected" => "The calendar is disconnected; Slotkeeper no longer reads or writes it.",
        "denied" => "Access was not granted, so no calendar was connected.",
        "sign-in-failed" => {
            "The calendar's sign-in did not complete, so no calendar was connected."
        }
        _ => return None,
    };
    Some(text.to_owned())
}

/// The deal stages as (value, label) pairs for a select box.
pub(crate) fn stage_options() -> Vec<(String, String)> {
    DealStage::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), s.label().to_owned()))
        .collect()
}

/// The title shown for a row whose link is gone.
pub(crate) const DELETED_LINK: &str = "(deleted link)";

/// A form that carries nothing but its CSRF token (logout, the booking buttons).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    pub(crate) csrf: String,
}

impl HostForm for CsrfForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A posted form with nothing but its CSRF token.
pub(crate) type CsrfPosted = Posted<CsrfForm>;

/// A form that moves a deal.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct StageForm {
    #[serde(default)]
    pub(crate) csrf: String,
    pub(crate) stage: Option<String>,
}

impl HostForm for StageForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl StageForm {
    pub(crate) fn stage(&self) -> Option<DealStage> {
        self.stage.as_deref().and_then(DealStage::parse)
    }
}
