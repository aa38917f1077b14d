//! The host's page handlers: login and logout, the calendar dashboard, booking detail and
//! its actions, links, deals and API keys. GET never changes anything; every POST checks the
//! CSRF token first and answers with a redirect (or the form again, with its errors).

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use booking_core::accounts::{ApiKey, ApiKeyId, ApiKeySecret};
use booking_core::booking::{Booking, HostActionRefusal, Status};
use booking_core::deals::{DealActionError, DealId, DealStage, move_deal};
use booking_core::invitee::{Email, UtmParam};
use booking_core::link::BookingLink;
use booking_core::ports::{BookingStore, Clock, DashboardTab, Page, SaveLinkError, StoreError};
use booking_core::service::{HostActionError, ResendLinksError};
use booking_core::{BookingId, LinkId, TimeZoneName};
use chrono::{DateTime, Utc};
use maud::Markup;

use super::HostSide;
use super::auth::{self, LoggedIn, csrf_ok, require_host};
use super::linkform::{DAYS, LinkInput};
use super::summary::{self, StepKind, moment};
use crate::AppState;
use crate::forms::{FieldErrors, parse_reason};
use crate::present::{actor_label, slot_label};
use crate::views::host::booking::{BookingView, DealBox, HistoryLine};
use crate::views::host::calendar::{CalendarView, MeetingRow, TabView};
use crate::views::host::deals::{DealRow, DealsView};
use crate::views::host::links::{LinkFields, LinkFormView, LinkRow, LinksView};
use crate::views::host::login::LoginView;
use crate::views::host::settings::{KeyRow, KeysView};
use crate::views::host::{Viewer, booking, calendar, deals, links, login, settings};
use crate::views::message;

/// Meetings and deals per page.
const PAGE_SIZE: u32 = 20;

type Form = web::Form<HashMap<String, String>>;
type Query = web::Query<HashMap<String, String>>;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/static/host.css",
        web::get().to(|| async {
            HttpResponse::Ok()
                .content_type("text/css; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
                .body(include_str!("host.css"))
        }),
    )
    .route("/login", web::get().to(login_page))
    .route("/login", web::post().to(login_submit))
    .route("/logout", web::post().to(logout))
    .route("/calendar", web::get().to(calendar_page))
    .route("/calendar/bookings/{id}", web::get().to(booking_page))
    .route(
        "/calendar/bookings/{id}/{action}",
        web::post().to(booking_action),
    )
    .route("/links", web::get().to(links_page))
    .route("/links", web::post().to(link_create))
    .route("/links/new", web::get().to(link_new))
    .route("/links/{id}", web::get().to(link_edit))
    .route("/links/{id}", web::post().to(link_update))
    .route("/deals", web::get().to(deals_page))
    .route("/deals/{id}/stage", web::post().to(deal_stage))
    .route("/settings/api-keys", web::get().to(keys_page))
    .route("/settings/api-keys", web::post().to(key_create))
    .route("/settings/api-keys/{id}/revoke", web::post().to(key_revoke));
}

// ---------------------------------------------------------------------------------------------
// Responses

/// A host page: private, never cached.
fn page(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

pub(crate) fn not_found_page() -> HttpResponse {
    page(
        StatusCode::NOT_FOUND,
        message::message_page(
            "Not found",
            "There is nothing here, or it is not yours to see.",
            None,
        ),
    )
}

fn forbidden_page() -> HttpResponse {
    page(
        StatusCode::FORBIDDEN,
        message::message_page(
            "This form has expired",
            "The form did not come from this site, or your session changed since it was shown. \
             Nothing was changed. Go back, reload the page and try again.",
            None,
        ),
    )
}

pub(crate) fn store_failure_page(error: &StoreError) -> HttpResponse {
    tracing::error!(error = %crate::host::api::chain_of(error), "host page failed");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        message::message_page(
            "Something went wrong on our side",
            "Please try again. If it keeps happening, check the server log.",
            None,
        ),
    )
}

fn viewer(me: &LoggedIn) -> Viewer {
    Viewer {
        name: me.host.name().as_str().to_owned(),
        csrf: me.csrf.clone(),
    }
}

fn now(state: &AppState) -> DateTime<Utc> {
    state.scheduler.clock().now()
}

/// The logged-in host and the posted form, with its CSRF token checked.
async fn posted(
    req: &HttpRequest,
    state: &AppState,
    form: &HashMap<String, String>,
) -> Result<(std::sync::Arc<HostSide>, LoggedIn), HttpResponse> {
    let (side, me) = require_host(req, state).await?;
    if !csrf_ok(&me.csrf, form) {
        tracing::warn!(host = %me.host.id(), path = req.path(), "form refused: CSRF token missing or wrong");
        return Err(forbidden_page());
    }
    Ok((side, me))
}

/// What the `done` query parameter of a redirect says happened.
fn notice(query: &HashMap<String, String>) -> Option<String> {
    let text = match query.get("done")?.as_str() {
        "cancelled" => "The meeting is cancelled; the attendee is being told by email.",
        "no-show" => "Marked as a no-show.",
        "undone" => "The no-show mark is taken back.",
        "links-sent" => "The attendee is being sent their reschedule and cancel links.",
        "deal-moved" => "The deal was moved.",
        "link-saved" => "The link was saved.",
        "key-revoked" => "The key was revoked; it no longer opens the API.",
        "logged-out" => "You are logged out.",
        _ => return None,
    };
    Some(text.to_owned())
}

/// `next` after login: a local path only, never another site.
fn local_path(next: Option<&String>) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .cloned()
        .unwrap_or_else(|| "/calendar".to_owned())
}

fn client_of(req: &HttpRequest) -> String {
    req.peer_addr()
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string())
}

// ---------------------------------------------------------------------------------------------
// Login and logout

async fn login_page(req: HttpRequest, state: web::Data<AppState>, query: Query) -> HttpResponse {
    let Some(side) = state.host.clone() else {
        return not_found_page();
    };
    let now = now(&state);
    if auth::read_session(&req, &side, now).is_some_and(|s| s.host.is_some())
        && require_host(&req, &state).await.is_ok()
    {
        return see_other(&local_path(query.get("next")));
    }
    let first_run = match side.accounts.account_count().await {
        Ok(n) => n == 0,
        Err(e) => return store_failure_page(&e),
    };
    let (cookie, csrf) = auth::session_cookie(&state, &side, None, now);
    let vm = LoginView {
        csrf,
        next: local_path(query.get("next")),
        first_run,
        notice: notice(&query),
        ..LoginView::default()
    };
    let mut resp = page(StatusCode::OK, login::login(&vm));
    let _ = resp.add_cookie(&cookie);
    resp
}

async fn login_submit(req: HttpRequest, state: web::Data<AppState>, form: Form) -> HttpResponse {
    let Some(side) = state.host.clone() else {
        return not_found_page();
    };
    let now = now(&state);
    let Some(session) = auth::read_session(&req, &side, now) else {
        return forbidden_page();
    };
    if !csrf_ok(&session.csrf, &form) {
        return forbidden_page();
    }
    let email_text = form.get("email").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let next = local_path(form.get("next"));
    let login_key = email_text.trim().to_ascii_lowercase();
    let client = client_of(&req);
    let again = |status: StatusCode, error: &str| {
        let vm = LoginView {
            csrf: session.csrf.clone(),
            email: email_text.clone(),
            next: next.clone(),
            error: Some(error.to_owned()),
            ..LoginView::default()
        };
        page(status, login::login(&vm))
    };
    // Password checks are bounded before anything is counted: a burst beyond them is told
    // at once, spends no argon2 memory and burns none of the login's attempts.
    let Some(slot) = side.hash_slots.try_take() else {
        tracing::warn!(client = %client, "login refused: password checks all busy");
        let mut resp = again(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is busy. Try again in a moment.",
        );
        resp.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from_static("1"),
        );
        return resp;
    };
    // Counted before the password is checked, atomically, so racing attempts cannot slip past.
    if !side.limiter.allows(&login_key, &client, now).await {
        tracing::warn!(client = %client, "login refused: too many failed attempts");
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed attempts. Wait 15 minutes and try again.",
        );
    }
    let account = match Email::parse(&email_text) {
        Ok(email) => match side.accounts.account_by_login(&email).await {
            Ok(account) => account,
            Err(e) => return store_failure_page(&e),
        },
        Err(_) => None,
    };
    // argon2 takes a while by design: keep it off the request threads.
    let passwords = side.passwords.clone();
    let stored = account.as_ref().map(|a| a.password().clone());
    let verified = web::block(move || {
        let _slot = slot;
        match stored {
            Some(hash) => passwords.verify(&password, &hash),
            None => {
                passwords.verify_decoy(&password);
                false
            }
        }
    })
    .await
    .unwrap_or(false);
    let Some(account) = account.filter(|_| verified) else {
        tracing::info!(client = %client, "login failed");
        return again(StatusCode::UNAUTHORIZED, "Email or password is wrong.");
    };
    side.limiter.succeeded(&login_key, &client).await;
    tracing::info!(host = %account.host(), "host logged in");
    // A fresh session (and CSRF token) on login: a token planted before login is worthless.
    let (cookie, _) = auth::session_cookie(&state, &side, Some(&account), now);
    let mut resp = see_other(&next);
    let _ = resp.add_cookie(&cookie);
    resp
}

async fn logout(req: HttpRequest, state: web::Data<AppState>, form: Form) -> HttpResponse {
    let (_side, me) = match posted(&req, &state, &form).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    tracing::info!(host = %me.host.id(), "host logged out");
    let mut resp = see_other("/login?done=logged-out");
    let _ = resp.add_cookie(&auth::removal_cookie(&state));
    resp
}

// ---------------------------------------------------------------------------------------------
// Calendar

pub(crate) fn parse_tab(text: Option<&str>) -> Option<DashboardTab> {
    Some(match text.unwrap_or("upcoming") {
        "upcoming" => DashboardTab::Upcoming,
        "past" => DashboardTab::Past,
        "no_shows" | "no-shows" => DashboardTab::NoShows,
        "cancelled" => DashboardTab::Cancelled,
        _ => return None,
    })
}

fn page_number(query: &HashMap<String, String>) -> u32 {
    query
        .get("page")
        .and_then(|p| p.parse::<u32>().ok())
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1)
}

/// Titles of links by id, loaded once per page.
async fn link_titles(
    state: &AppState,
    ids: impl Iterator<Item = LinkId>,
) -> Result<HashMap<LinkId, String>, StoreError> {
    let mut titles = HashMap::new();
    for id in ids {
        if let std::collections::hash_map::Entry::Vacant(e) = titles.entry(id) {
            let title = state
                .scheduler
                .store()
                .link(id)
                .await?
                .map_or_else(|| "(deleted link)".to_owned(), |l| l.title().to_owned());
            e.insert(title);
        }
    }
    Ok(titles)
}

async fn calendar_page(req: HttpRequest, state: web::Data<AppState>, query: Query) -> HttpResponse {
    let (_side, me) = match require_host(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let Some(tab) = parse_tab(query.get("tab").map(String::as_str)) else {
        return not_found_page();
    };
    let number = page_number(&query);
    let zone = me.host.time_zone();
    let dashboard = match state
        .scheduler
        .store()
        .dashboard(
            me.host.id(),
            tab,
            now(&state),
            Page {
                offset: (number - 1) * PAGE_SIZE,
                limit: PAGE_SIZE,
            },
        )
        .await
    {
        Ok(d) => d,
        Err(e) => return store_failure_page(&e),
    };
    let titles = match link_titles(&state, dashboard.rows.iter().map(Booking::link)).await {
        Ok(t) => t,
        Err(e) => return store_failure_page(&e),
    };
    let counts = dashboard.counts;
    let tabs = [
        (
            DashboardTab::Upcoming,
            "upcoming",
            "Upcoming",
            counts.upcoming,
        ),
        (DashboardTab::Past, "past", "Past", counts.past),
        (
            DashboardTab::NoShows,
            "no_shows",
            "No-shows",
            counts.no_shows,
        ),
        (
            DashboardTab::Cancelled,
            "cancelled",
            "Cancelled",
            counts.cancelled,
        ),
    ];
    let in_tab = tabs.iter().find(|t| t.0 == tab).map_or(0, |t| t.3);
    let href = |n: u32| format!("/calendar?tab={tab}&page={n}");
    let rows = dashboard
        .rows
        .iter()
        .map(|b| MeetingRow {
            href: format!("/calendar/bookings/{}", b.id()),
            when: slot_label(b.slot(), zone),
            invitee: b.invitee().name().as_str().to_owned(),
            email: b.invitee().email().as_str().to_owned(),
            link_title: titles.get(&b.link()).cloned().unwrap_or_default(),
            cancelled: b.cancellation().map(|c| {
                format!(
                    "Cancelled by {} on {}",
                    actor_label(c.by),
                    moment(c.at, zone)
                )
            }),
            reason: b
                .cancellation()
                .and_then(|c| c.reason.as_ref())
                .map(|r| r.as_str().to_owned()),
            marked: match b.status() {
                Status::NoShow { marked_at } => {
                    Some(format!("Marked no-show on {}", moment(*marked_at, zone)))
                }
                _ => None,
            },
        })
        .collect();
    let vm = CalendarView {
        viewer: viewer(&me),
        zone: zone.name().to_owned(),
        tabs: tabs
            .iter()
            .map(|(t, key, label, count)| TabView {
                key,
                label,
                count: *count,
                href: format!("/calendar?tab={key}"),
                current: *t == tab,
            })
            .collect(),
        rows,
        empty: match tab {
            DashboardTab::Upcoming => "No upcoming meetings.",
            DashboardTab::Past => "No past meetings.",
            DashboardTab::NoShows => "No no-shows.",
            DashboardTab::Cancelled => "No cancelled meetings.",
        },
        disconnect_banner: None,
        notice: notice(&query),
        earlier: (number > 1).then(|| href(number - 1)),
        later: (u64::from(number) * u64::from(PAGE_SIZE) < in_tab).then(|| href(number + 1)),
        page: number,
    };
    page(StatusCode::OK, calendar::calendar(&vm))
}

// ---------------------------------------------------------------------------------------------
// Booking detail and actions

/// The booking `id` if it is the host's (another host's answers like a missing one).
async fn own_booking(state: &AppState, me: &LoggedIn, id: &str) -> Result<Booking, HttpResponse> {
    let Ok(id) = BookingId::parse(id) else {
        return Err(not_found_page());
    };
    match state.scheduler.store().booking(id).await {
        Ok(Some(b)) if b.host() == me.host.id() => Ok(b),
        Ok(_) => Err(not_found_page()),
        Err(e) => Err(store_failure_page(&e)),
    }
}

fn step_text(step: &summary::Step, zone: TimeZoneName) -> String {
    let who = actor_label(step.by);
    match step.kind {
        StepKind::Booked => format!("Booked for {}", slot_label(step.slot, zone)),
        StepKind::Rescheduled => match step.from {
            Some(from) => format!(
                "Moved by {who} from {} to {}",
                slot_label(from, zone),
                slot_label(step.slot, zone)
            ),
            None => format!("Moved by {who} to {}", slot_label(step.slot, zone)),
        },
        StepKind::Cancelled => format!("Cancelled by {who}"),
        StepKind::NoShow => "Marked as a no-show".to_owned(),
    }
}

async fn booking_view(
    state: &AppState,
    side: &HostSide,
    me: &LoggedIn,
    booking: &Booking,
    query: &HashMap<String, String>,
) -> Result<BookingView, HttpResponse> {
    let store = state.scheduler.store();
    let chain = store
        .chain(booking.chain())
        .await
        .map_err(|e| store_failure_page(&e))?;
    let current = summary::current(&chain).unwrap_or(booking).clone();
    let link = store
        .link(current.link())
        .await
        .map_err(|e| store_failure_page(&e))?;
    let deal = side
        .deals
        .deal(DealId::for_chain(current.chain()))
        .await
        .map_err(|e| store_failure_page(&e))?
        .filter(|d| d.host() == me.host.id());
    let zone = me.host.time_zone();
    let now = now(state);
    let base = format!("/calendar/bookings/{}", current.id());
    let status = match current.status() {
        Status::Confirmed if now >= current.slot().end() => "Confirmed (took place)".to_owned(),
        Status::Confirmed if now >= current.slot().start() => "Confirmed (in progress)".to_owned(),
        Status::Confirmed => "Confirmed".to_owned(),
        Status::Rescheduled { .. } => "Rescheduled".to_owned(),
        Status::Cancelled(c) => format!(
            "Cancelled by {} on {}",
            actor_label(c.by),
            moment(c.at, zone)
        ),
        Status::NoShow { .. } => "No-show".to_owned(),
    };
    let confirmed = matches!(current.status(), Status::Confirmed);
    let invitee = current.invitee();
    let mut facts = vec![
        ("Name", invitee.name().as_str().to_owned()),
        ("Email", invitee.email().as_str().to_owned()),
    ];
    if let Some(phone) = invitee.phone() {
        facts.push(("Phone", phone.as_str().to_owned()));
    }
    facts.push(("Time zone", invitee.time_zone().name().to_owned()));
    facts.push((
        "Their time",
        slot_label(current.slot(), invitee.time_zone()),
    ));
    Ok(BookingView {
        viewer: viewer(me),
        title: link.map_or_else(
            || "Meeting".to_owned(),
            |l| format!("{} with {}", l.title(), invitee.name().as_str()),
        ),
        when: slot_label(current.slot(), zone),
        status,
        zone: zone.name().to_owned(),
        invitee: facts,
        answers: current.answers().pairs().to_vec(),
        tracking: UtmParam::ALL
            .iter()
            .filter_map(|p| {
                current
                    .tracking()
                    .get(*p)
                    .map(|v| (p.key().to_owned(), v.to_owned()))
            })
            .collect(),
        history: summary::history(&chain)
            .iter()
            .map(|s| HistoryLine {
                at: moment(s.at, zone),
                text: step_text(s, zone),
                reason: s.reason.clone(),
            })
            .collect(),
        deal: deal.map(|d| DealBox {
            stage: d.stage().as_str().to_owned(),
            stage_label: d.stage().label().to_owned(),
            action: format!("{base}/deal-stage"),
            stages: stage_options(),
        }),
        cancel_action: (confirmed && now < current.slot().end()).then(|| format!("{base}/cancel")),
        no_show_action: (confirmed && now >= current.slot().start())
            .then(|| format!("{base}/no-show")),
        undo_no_show_action: matches!(current.status(), Status::NoShow { .. })
            .then(|| format!("{base}/undo-no-show")),
        send_links_action: current
            .token_is_live(now)
            .then(|| format!("{base}/send-links")),
        notice: notice(query),
        error: None,
    })
}

fn stage_options() -> Vec<(String, String)> {
    DealStage::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), s.label().to_owned()))
        .collect()
}

async fn booking_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: Query,
) -> HttpResponse {
    let (side, me) = match require_host(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let booking = match own_booking(&state, &me, &id).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    match booking_view(&state, &side, &me, &booking, &query).await {
        Ok(vm) => page(StatusCode::OK, booking::booking(&vm)),
        Err(resp) => resp,
    }
}

fn refusal_text(refusal: HostActionRefusal) -> String {
    format!("That is not possible now: {refusal}.")
}

async fn booking_action(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: Form,
) -> HttpResponse {
    let (side, me) = match posted(&req, &state, &form).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let (id, action) = path.into_inner();
    let booking = match own_booking(&state, &me, &id).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let host = me.host.id();
    let scheduler = &state.scheduler;
    let outcome: Result<(BookingId, &str), String> = match action.as_str() {
        "cancel" => {
            let mut errors = FieldErrors::default();
            let reason = parse_reason(form.get("reason").map(String::as_str), &mut errors);
            if !errors.is_empty() {
                Err(errors.summary())
            } else {
                match scheduler.host_cancel(host, booking.id(), reason).await {
                    Ok(b) => Ok((b.id(), "cancelled")),
                    Err(e) => match host_error(e) {
                        Ok(outcome) => outcome,
                        Err(resp) => return resp,
                    },
                }
            }
        }
        "no-show" => match scheduler.mark_no_show(host, booking.id()).await {
            Ok(b) => Ok((b.id(), "no-show")),
            Err(e) => match host_error(e) {
                Ok(outcome) => outcome,
                Err(resp) => return resp,
            },
        },
        "undo-no-show" => match scheduler.undo_no_show(host, booking.id()).await {
            Ok(b) => Ok((b.id(), "undone")),
            Err(e) => match host_error(e) {
                Ok(outcome) => outcome,
                Err(resp) => return resp,
            },
        },
        "send-links" => match scheduler.resend_links(host, booking.id()).await {
            Ok(b) => Ok((b.id(), "links-sent")),
            Err(ResendLinksError::NotFound) => return not_found_page(),
            Err(ResendLinksError::Refused(r)) => {
                Err(format!("The attendee's links no longer work: {r}."))
            }
            Err(ResendLinksError::Store(e)) => return store_failure_page(&e),
        },
        "deal-stage" => {
            let Some(stage) = form.get("stage").and_then(|s| DealStage::parse(s)) else {
                return not_found_page();
            };
            match move_deal(
                &*side.deals,
                host,
                DealId::for_chain(booking.chain()),
                stage,
                now(&state),
            )
            .await
            {
                Ok(_) => Ok((booking.id(), "deal-moved")),
                Err(DealActionError::NotFound) => return not_found_page(),
                Err(DealActionError::Store(e)) => return store_failure_page(&e),
            }
        }
        _ => return not_found_page(),
    };
    match outcome {
        Ok((id, done)) => see_other(&format!("/calendar/bookings/{id}?done={done}")),
        Err(message) => match booking_view(&state, &side, &me, &booking, &HashMap::new()).await {
            Ok(mut vm) => {
                vm.error = Some(message);
                page(StatusCode::CONFLICT, booking::booking(&vm))
            }
            Err(resp) => resp,
        },
    }
}

/// A host action's error: a refusal becomes a message on the page, the rest a response.
fn host_error(
    e: HostActionError,
) -> Result<Result<(BookingId, &'static str), String>, HttpResponse> {
    match e {
        HostActionError::NotFound => Err(not_found_page()),
        HostActionError::Refused(r) => Ok(Err(refusal_text(r))),
        HostActionError::Store(e) => Err(store_failure_page(&e)),
    }
}

// ---------------------------------------------------------------------------------------------
// Links

fn link_summary(link: &BookingLink) -> String {
    let r = link.rules();
    let days: Vec<&str> = DAYS
        .iter()
        .filter(|(_, d)| !r.weekly().day(*d).is_closed())
        .map(|(k, _)| *k)
        .collect();
    let mut text = format!(
        "{} min, every {} min, {} ({})",
        r.duration().num_minutes(),
        r.interval().num_minutes(),
        if days.is_empty() {
            "no weekly hours".to_owned()
        } else {
            days.join(" ")
        },
        r.zone().name()
    );
    if link.create_deal() {
        text.push_str(", opens deals");
    }
    if link.reconfirmation().is_some() {
        text.push_str(", asks for reconfirmation");
    }
    text
}

async fn links_page(req: HttpRequest, state: web::Data<AppState>, query: Query) -> HttpResponse {
    let (side, me) = match require_host(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let links = match side.links.links_of(me.host.id()).await {
        Ok(l) => l,
        Err(e) => return store_failure_page(&e),
    };
    let vm = LinksView {
        viewer: viewer(&me),
        rows: links
            .iter()
            .map(|l| LinkRow {
                title: l.title().to_owned(),
                public_url: state.url(&format!("/book/{}", l.slug())),
                edit_href: format!("/links/{}", l.id()),
                summary: link_summary(l),
            })
            .collect(),
        notice: notice(&query),
    };
    page(StatusCode::OK, links::list(&vm))
}

fn fields_of(input: &LinkInput) -> LinkFields {
    let labels = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    LinkFields {
        slug: input.slug.clone(),
        title: input.title.clone(),
        description: input.description.clone().unwrap_or_default(),
        location: input.location.clone().unwrap_or_default(),
        time_zone: input.time_zone.clone(),
        duration_minutes: input.duration_minutes.to_string(),
        interval_minutes: input
            .interval_minutes
            .map(|i| i.to_string())
            .unwrap_or_default(),
        buffer_before_minutes: input.buffer_before_minutes.to_string(),
        buffer_after_minutes: input.buffer_after_minutes.to_string(),
        minimum_notice_minutes: input.minimum_notice_minutes.to_string(),
        max_days_ahead: input
            .max_days_ahead
            .map(|d| d.to_string())
            .unwrap_or_default(),
        hours: DAYS
            .iter()
            .zip(labels)
            .map(|((k, _), label)| {
                (
                    *k,
                    label,
                    input
                        .weekly_hours
                        .get(*k)
                        .map(|p| p.join(", "))
                        .unwrap_or_default(),
                )
            })
            .collect(),
        date_overrides: input
            .date_overrides
            .iter()
            .map(|(d, p)| {
                if p.is_empty() {
                    format!("{d} closed")
                } else {
                    format!("{d} {}", p.join(", "))
                }
            })
            .collect::<Vec<_>>()
            .join("\n"),
        questions: input.questions.join("\n"),
        create_deal: input.create_deal,
        reconfirm_ask_hours: input
            .reconfirmation
            .as_ref()
            .map(|r| r.ask_hours_before.to_string())
            .unwrap_or_default(),
        reconfirm_cancel_hours: input
            .reconfirmation
            .as_ref()
            .map(|r| r.cancel_hours_before.to_string())
            .unwrap_or_default(),
    }
}

/// The form's fields exactly as posted, so nothing typed is lost when it comes back.
fn fields_as_posted(form: &HashMap<String, String>, parsed: &LinkInput) -> LinkFields {
    let raw = |k: &str| form.get(k).cloned().unwrap_or_default();
    let mut fields = fields_of(parsed);
    fields.duration_minutes = raw("duration_minutes");
    fields.interval_minutes = raw("interval_minutes");
    fields.buffer_before_minutes = raw("buffer_before_minutes");
    fields.buffer_after_minutes = raw("buffer_after_minutes");
    fields.minimum_notice_minutes = raw("minimum_notice_minutes");
    fields.max_days_ahead = raw("max_days_ahead");
    fields.date_overrides = raw("date_overrides");
    fields.questions = raw("questions");
    fields.reconfirm_ask_hours = raw("reconfirm_ask_hours");
    fields.reconfirm_cancel_hours = raw("reconfirm_cancel_hours");
    for (key, _, value) in &mut fields.hours {
        *value = raw(&format!("hours_{key}"));
    }
    fields
}

fn zones() -> Vec<&'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect()
}

fn link_form_page(
    status: StatusCode,
    me: &LoggedIn,
    heading: &str,
    action: String,
    fields: LinkFields,
    errors: FieldErrors,
    public_url: Option<String>,
) -> HttpResponse {
    let vm = LinkFormView {
        viewer: viewer(me),
        heading: heading.to_owned(),
        action,
        fields,
        errors,
        public_url,
        zones: zones(),
    };
    page(status, links::form(&vm))
}

async fn link_new(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let (_side, me) = match require_host(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let blank = LinkInput::blank(me.host.time_zone());
    link_form_page(
        StatusCode::OK,
        &me,
        "New booking link",
        "/links".to_owned(),
        fields_of(&blank),
        FieldErrors::default(),
        None,
    )
}

async fn own_link(state: &AppState, me: &LoggedIn, id: &str) -> Result<BookingLink, HttpResponse> {
    let Ok(id) = LinkId::parse(id) else {
        return Err(not_found_page());
    };
    match state.scheduler.store().link(id).await {
        Ok(Some(l)) if l.host() == me.host.id() => Ok(l),
        Ok(_) => Err(not_found_page()),
        Err(e) => Err(store_failure_page(&e)),
    }
}

async fn link_edit(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    let (_side, me) = match require_host(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let link = match own_link(&state, &me, &id).await {
        Ok(l) => l,
        Err(resp) => return resp,
    };
    link_form_page(
        StatusCode::OK,
        &me,
        &format!("Edit “{}”", link.title()),
        format!("/links/{}", link.id()),
        fields_of(&LinkInput::of(&link)),
        FieldErrors::default(),
        Some(state.url(&format!("/book/{}", link.slug()))),
    )
}

/// Checks and saves the posted link under `id`; the form again (422) when it is refused.
async fn save_posted_link(
    state: &AppState,
    me: &LoggedIn,
    form: &HashMap<String, String>,
    id: LinkId,
    heading: &str,
    action: String,
) -> HttpResponse {
    let mut errors = FieldErrors::default();
    let input = LinkInput::from_form(form, &mut errors);
    let refused = |errors: FieldErrors| {
        link_form_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            me,
            heading,
            action.clone(),
            fields_as_posted(form, &input),
            errors,
            None,
        )
    };
    let Some(checked) = input.check(&mut errors) else {
        return refused(errors);
    };
    let link = match checked.build(id, me.host.id()) {
        Ok(l) => l,
        Err(e) => {
            errors.add("title", e.to_string());
            return refused(errors);
        }
    };
    match state.scheduler.store().save_link(&link).await {
        Ok(()) => {
            tracing::info!(host = %me.host.id(), link = %link.id(), "link saved");
            see_other("/links?done=link-saved")
        }
        Err(SaveLinkError::SlugTaken) => {
            errors.add("slug", "this URL name is already taken; pick another");
            refused(errors)
        }
        Err(SaveLinkError::UnknownHost) => not_found_page(),
        Err(SaveLinkError::Store(e)) => store_failure_page(&e),
    }
}

async fn link_create(req: HttpRequest, state: web::Data<AppState>, form: Form) -> HttpResponse {
    let (side, me) = match posted(&req, &state, &form).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let id = LinkId::from_uuid(side.ids.new_booking_id().as_uuid());
    save_posted_link(
        &state,
        &me,
        &form,
        id,
        "New booking link",
        "/links".to_owned(),
    )
    .await
}

async fn link_update(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: Form,
) -> HttpResponse {
    let (_side, me) = match posted(&req, &state, &form).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let link = match own_link(&state, &me, &id).await {
        Ok(l) => l,
        Err(resp) => return resp,
    };
    save_posted_link(
        &state,
        &me,
        &form,
        link.id(),
        &format!("Edit “{}”", link.title()),
        format!("/links/{}", link.id()),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Deals

async fn deals_page(req: HttpRequest, state: web::Data<AppState>, query: Query) -> HttpResponse {
    let (side, me) = match require_host(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let number = page_number(&query);
    let list = match side
        .deals
        .deals(
            me.host.id(),
            Page {
                offset: (number - 1) * PAGE_SIZE,
                limit: PAGE_SIZE,
            },
        )
        .await
    {
        Ok(l) => l,
        Err(e) => return store_failure_page(&e),
    };
    let titles = match link_titles(&state, list.rows.iter().map(|d| d.link())).await {
        Ok(t) => t,
        Err(e) => return store_failure_page(&e),
    };
    let zone = me.host.time_zone();
    let vm = DealsView {
        viewer: viewer(&me),
        rows: list
            .rows
            .iter()
            .map(|d| DealRow {
                id: d.id().to_string(),
                contact: d.contact_name().as_str().to_owned(),
                email: d.contact_email().as_str().to_owned(),
                link_title: titles.get(&d.link()).cloned().unwrap_or_default(),
                meeting_href: format!("/calendar/bookings/{}", d.booking()),
                opened: moment(d.created_at(), zone),
                stage: d.stage().as_str().to_owned(),
                action: format!("/deals/{}/stage", d.id()),
            })
            .collect(),
        stages: stage_options(),
        total: list.total,
        notice: notice(&query),
        earlier: (number > 1).then(|| format!("/deals?page={}", number - 1)),
        later: (u64::from(number) * u64::from(PAGE_SIZE) < list.total)
            .then(|| format!("/deals?page={}", number + 1)),
    };
    page(StatusCode::OK, deals::deals(&vm))
}

async fn deal_stage(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: Form,
) -> HttpResponse {
    let (side, me) = match posted(&req, &state, &form).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let (Ok(id), Some(stage)) = (
        DealId::parse(&id),
        form.get("stage").and_then(|s| DealStage::parse(s)),
    ) else {
        return not_found_page();
    };
    match move_deal(&*side.deals, me.host.id(), id, stage, now(&state)).await {
        Ok(_) => see_other("/deals?done=deal-moved"),
        Err(DealActionError::NotFound) => not_found_page(),
        Err(DealActionError::Store(e)) => store_failure_page(&e),
    }
}

// ---------------------------------------------------------------------------------------------
// API keys

async fn keys_view(
    state: &AppState,
    side: &HostSide,
    me: &LoggedIn,
) -> Result<KeysView, HttpResponse> {
    let keys = side
        .accounts
        .api_keys(me.host.id())
        .await
        .map_err(|e| store_failure_page(&e))?;
    let zone = me.host.time_zone();
    Ok(KeysView {
        viewer: viewer(me),
        keys: keys
            .iter()
            .map(|k| KeyRow {
                id: k.id().to_string(),
                label: k.label().to_owned(),
                prefix: k.prefix().to_owned(),
                created: moment(k.created_at(), zone),
                revoked: k.revoked_at().map(|t| moment(t, zone)),
                revoke_action: format!("/settings/api-keys/{}/revoke", k.id()),
            })
            .collect(),
        new_secret: None,
        error: None,
        notice: None,
        base_url: state.public_base_url.clone(),
    })
}

async fn keys_page(req: HttpRequest, state: web::Data<AppState>, query: Query) -> HttpResponse {
    let (side, me) = match require_host(&req, &state).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    match keys_view(&state, &side, &me).await {
        Ok(mut vm) => {
            vm.notice = notice(&query);
            page(StatusCode::OK, settings::api_keys(&vm))
        }
        Err(resp) => resp,
    }
}

async fn key_create(req: HttpRequest, state: web::Data<AppState>, form: Form) -> HttpResponse {
    let (side, me) = match posted(&req, &state, &form).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let label = form.get("label").cloned().unwrap_or_default();
    let Ok(secret) = ApiKeySecret::parse(&format!("sk_{}", side.ids.new_token().expose())) else {
        return store_failure_page(&StoreError::msg("the token source made a malformed key"));
    };
    let id = ApiKeyId::from_uuid(side.ids.new_booking_id().as_uuid());
    let (status, new_secret, error) =
        match ApiKey::new(id, me.host.id(), &label, &secret, now(&state)) {
            Ok(key) => match side.accounts.add_api_key(&key).await {
                Ok(()) => {
                    tracing::info!(host = %me.host.id(), key = %key.id(), "API key created");
                    (StatusCode::CREATED, Some(secret.expose().to_owned()), None)
                }
                Err(e) => return store_failure_page(&e),
            },
            Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, None, Some(e.to_string())),
        };
    match keys_view(&state, &side, &me).await {
        Ok(mut vm) => {
            vm.new_secret = new_secret;
            vm.error = error;
            page(status, settings::api_keys(&vm))
        }
        Err(resp) => resp,
    }
}

async fn key_revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: Form,
) -> HttpResponse {
    let (side, me) = match posted(&req, &state, &form).await {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let Ok(id) = ApiKeyId::parse(&id) else {
        return not_found_page();
    };
    match side
        .accounts
        .revoke_api_key(me.host.id(), id, now(&state))
        .await
    {
        Ok(true) => {
            tracing::info!(host = %me.host.id(), key = %id, "API key revoked");
            see_other("/settings/api-keys?done=key-revoked")
        }
        Ok(false) => not_found_page(),
        Err(e) => store_failure_page(&e),
    }
}
