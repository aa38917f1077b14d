//! Public page handlers: build view models from the use cases' answers. GET never changes
//! state (mail scanners prefetch links); every change is a POST answered with a redirect.

mod confirmation;
mod home;
mod link_page;
mod picker;
mod refusal;
mod token_pages;
mod zones;

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use booking_core::invitee::UtmParam;
use maud::Markup;
use serde::Deserialize;

use crate::errors::Failure;
use crate::headers::token_page;

use confirmation::{confirmed, invite};
use link_page::{book_submit, link_page};
use token_pages::{
    cancel_page, cancel_submit, reconfirm_page, reconfirm_submit, reschedule_page,
    reschedule_submit,
};

type Query = web::Query<PageFields>;

/// What the public pages read from a query or a posted form: the reader's zone, the picker's
/// first day, the chosen start, the booking and reason fields, UTM tracking, and the answers
/// to a link's questions (`q0`, `q1`, … — as many as the link asks).
#[derive(Debug, Default, Clone, Deserialize)]
struct PageFields {
    tz: Option<String>,
    from: Option<String>,
    /// Where the picker's page continues inside its week (a slot page's cursor).
    after: Option<String>,
    start: Option<String>,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    reason: Option<String>,
    /// The picker's state: the month and day shown, the clock, and the buttons that change
    /// them (`show` a month, `day` a day, `zones=all` for the full zone list).
    month: Option<String>,
    date: Option<String>,
    day: Option<String>,
    show: Option<String>,
    clock: Option<String>,
    zones: Option<String>,
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    utm_term: Option<String>,
    utm_content: Option<String>,
    /// Everything else; only `q<n>` is read.
    #[serde(flatten)]
    answers: BTreeMap<String, String>,
}

impl PageFields {
    /// A field by its name.
    fn get(&self, key: &str) -> Option<&String> {
        match key {
            "tz" => self.tz.as_ref(),
            "from" => self.from.as_ref(),
            "after" => self.after.as_ref(),
            "start" => self.start.as_ref(),
            "name" => self.name.as_ref(),
            "email" => self.email.as_ref(),
            "phone" => self.phone.as_ref(),
            "reason" => self.reason.as_ref(),
            "month" => self.month.as_ref(),
            "date" => self.date.as_ref(),
            "day" => self.day.as_ref(),
            "show" => self.show.as_ref(),
            "clock" => self.clock.as_ref(),
            "zones" => self.zones.as_ref(),
            "utm_source" => self.utm_source.as_ref(),
            "utm_medium" => self.utm_medium.as_ref(),
            "utm_campaign" => self.utm_campaign.as_ref(),
            "utm_term" => self.utm_term.as_ref(),
            "utm_content" => self.utm_content.as_ref(),
            answer => self.answers.get(answer),
        }
    }

    /// The UTM fields given, as (key, value).
    fn tracking(&self) -> impl Iterator<Item = (&str, &str)> {
        UtmParam::ALL
            .iter()
            .filter_map(|p| self.get(p.key()).map(|v| (p.key(), v.as_str())))
    }
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/healthz",
        web::get().to(|| async { HttpResponse::Ok().content_type("text/plain").body("ok") }),
    )
    .route(
        "/static/app.css",
        web::get().to(|| async {
            asset(
                "text/css; charset=utf-8",
                include_str!("../../static/app.css"),
            )
        }),
    )
    .route(
        "/static/tz.js",
        web::get().to(|| async {
            asset(
                "text/javascript; charset=utf-8",
                include_str!("../../static/tz.js"),
            )
        }),
    )
    .route("/book/confirmed/{token}", web::get().to(confirmed))
    .route("/book/confirmed/{token}/invite.ics", web::get().to(invite))
    .route("/book/reschedule/{token}", web::get().to(reschedule_page))
    .route(
        "/book/reschedule/{token}",
        web::post().to(reschedule_submit),
    )
    .route("/book/cancel/{token}", web::get().to(cancel_page))
    .route("/book/cancel/{token}", web::post().to(cancel_submit))
    .route("/book/reconfirm/{token}", web::get().to(reconfirm_page))
    .route("/book/reconfirm/{token}", web::post().to(reconfirm_submit))
    .route("/book/zones.json", web::get().to(zones::zones_json))
    .route("/book/{slug}", web::get().to(link_page))
    .route("/book/{slug}", web::post().to(book_submit))
    .route("/", web::get().to(home::home_page));
}

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

fn html(status: actix_web::http::StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

/// A page already rendered (a kept answer).
fn html_body(status: actix_web::http::StatusCode, body: actix_web::web::Bytes) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

fn ok_html(markup: Markup) -> HttpResponse {
    html(actix_web::http::StatusCode::OK, markup)
}

/// A page for a failure, with its status (rendered in `errors`, the one mapping).
fn failure_page(failure: &Failure) -> HttpResponse {
    failure.page()
}

/// The same for a token page, with the next step from the token's booking.
async fn token_failure_page(
    state: &crate::AppState,
    token: &str,
    failure: &Failure,
) -> HttpResponse {
    refusal::token_refusal(state, token, failure).await
}

fn token_html(status: actix_web::http::StatusCode, markup: Markup) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    token_page(&mut builder)
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

/// A token page already rendered (a kept answer).
fn token_html_body(
    status: actix_web::http::StatusCode,
    body: actix_web::web::Bytes,
) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    token_page(&mut builder)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

fn see_other(location: &str) -> HttpResponse {
    let mut builder = HttpResponse::SeeOther();
    token_page(&mut builder)
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}
