//! Public page handlers: build view models from the use cases' answers. GET never changes
//! state (mail scanners prefetch links); every change is a POST answered with a redirect.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use booking_core::booking::Booking;
use booking_core::invitee::{Tracking, UtmParam};
use booking_core::link::Slug;
use booking_core::ports::{BookingStore, Clock};
use booking_core::service::{BookingRequest, TokenActionError};
use booking_core::{TimeRange, TimeZoneName};
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use maud::Markup;
use serde::Deserialize;

use crate::AppState;
use crate::errors::Failure;
use crate::forms::{
    FieldErrors, InviteeInput, parse_answers, parse_instant, parse_invitee, parse_reason,
};
use crate::headers::{encode, token_page};
use crate::present::{actor_label, day_label, group_by_day, rfc3339, slot_label};
use crate::views::book::{BookingFormView, ConfirmedView, QuestionField, SlotPickerView};
use crate::views::token::{CancelState, CancelView, ReconfirmView, RescheduleView};
use crate::views::{DayView, PickerNav, SlotView, book, token};

/// Days shown per page of a slot picker.
const PICKER_DAYS: u64 = 7;
/// Said above a picker whose week holds more free times than one page shows.
const MORE_TIMES: &str =
    "Only the first free times of this week are shown; “Later →” shows the next ones.";

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
        web::get()
            .to(|| async { asset("text/css; charset=utf-8", include_str!("../static/app.css")) }),
    )
    .route(
        "/static/tz.js",
        web::get().to(|| async {
            asset(
                "text/javascript; charset=utf-8",
                include_str!("../static/tz.js"),
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
    .route("/book/{slug}", web::get().to(link_page))
    .route("/book/{slug}", web::post().to(book_submit));
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

fn ok_html(markup: Markup) -> HttpResponse {
    html(actix_web::http::StatusCode::OK, markup)
}

/// A page for a failure, with its status (rendered in `errors`, the one mapping).
fn failure_page(failure: &Failure) -> HttpResponse {
    failure.page()
}

/// The same with the token-page headers.
fn token_failure_page(failure: &Failure) -> HttpResponse {
    failure.token_page()
}

fn token_html(status: actix_web::http::StatusCode, markup: Markup) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    token_page(&mut builder)
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

fn see_other(location: &str) -> HttpResponse {
    let mut builder = HttpResponse::SeeOther();
    token_page(&mut builder)
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

/// The reader's zone: `tz` if valid, else the fallback.
fn zone_from(query: &PageFields, fallback: TimeZoneName) -> TimeZoneName {
    query
        .get("tz")
        .and_then(|z| TimeZoneName::parse(z).ok())
        .unwrap_or(fallback)
}

/// The picker's window: `PICKER_DAYS` local days from `from` (default: today) in `zone`,
/// starting at `after` instead when that lies inside them (the next page of a busy week).
fn picker_window(
    query: &PageFields,
    zone: TimeZoneName,
    now: DateTime<Utc>,
) -> (NaiveDate, TimeRange) {
    let today = now.with_timezone(&zone.tz()).date_naive();
    let from = query
        .get("from")
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .filter(|d| *d >= today && *d <= today + Days::new(400))
        .unwrap_or(today);
    let midnight = local_midnight(from, zone);
    let end = local_midnight(from + Days::new(PICKER_DAYS), zone);
    let start = query
        .get("after")
        .and_then(|a| DateTime::parse_from_rfc3339(a).ok())
        .map(|a| a.with_timezone(&Utc))
        .filter(|a| *a > midnight && *a < end)
        .unwrap_or(midnight);
    let window = TimeRange::new(start.max(now), end)
        .unwrap_or_else(|_| TimeRange::new(start, end).expect("a week is not empty"));
    (from, window)
}

fn local_midnight(date: NaiveDate, zone: TimeZoneName) -> DateTime<Utc> {
    let naive = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    // A zone may skip midnight on a DST day; then the day starts an hour later.
    zone.tz()
        .from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            zone.tz()
                .from_local_datetime(&(naive + chrono::TimeDelta::hours(1)))
                .earliest()
        })
        .map_or_else(|| Utc.from_utc_datetime(&naive), |t| t.with_timezone(&Utc))
}

fn utm_pairs(query: &PageFields) -> Vec<(String, String)> {
    UtmParam::ALL
        .iter()
        .filter_map(|p| {
            query
                .get(p.key())
                .filter(|v| !v.trim().is_empty())
                .map(|v| (p.key().to_owned(), v.clone()))
        })
        .collect()
}

fn query_string(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        out.push(if out.is_empty() { '?' } else { '&' });
        out.push_str(&encode(k));
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

fn day_views(slots: &[TimeRange], zone: TimeZoneName) -> Vec<DayView> {
    group_by_day(slots, zone)
        .into_iter()
        .map(|(date, slots)| DayView {
            label: day_label(date),
            slots: slots
                .iter()
                .map(|s| SlotView {
                    start: rfc3339(s.start(), None),
                    label: crate::present::clock_label(s.start(), zone),
                })
                .collect(),
        })
        .collect()
}

/// The picker's links to the zone picker and to earlier and later slots. `next` is where a
/// cut page of slots continues: "Later" then goes on from there rather than a week on.
fn picker_nav(
    path: &str,
    zone: TimeZoneName,
    from: NaiveDate,
    today: NaiveDate,
    keep: Vec<(String, String)>,
    next: Option<DateTime<Utc>>,
) -> PickerNav {
    let link_after = |date: NaiveDate, after: Option<DateTime<Utc>>| {
        let mut pairs = vec![
            ("tz".to_owned(), zone.name().to_owned()),
            ("from".to_owned(), date.to_string()),
        ];
        if let Some(after) = after {
            pairs.push(("after".to_owned(), rfc3339(after, None)));
        }
        pairs.extend(keep.iter().cloned());
        format!("{path}{}", query_string(&pairs))
    };
    let link = |date: NaiveDate| link_after(date, None);
    let later = match next {
        Some(next) => link_after(next.with_timezone(&zone.tz()).date_naive(), Some(next)),
        None => link(from + Days::new(PICKER_DAYS)),
    };
    let earlier = (from > today).then(|| {
        link(
            from.checked_sub_days(Days::new(PICKER_DAYS))
                .unwrap_or(today)
                .max(today),
        )
    });
    PickerNav {
        zone: zone.name().to_owned(),
        from: from.to_string(),
        earlier,
        later,
        keep,
    }
}

async fn link_page(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: Query,
) -> HttpResponse {
    let Ok(slug) = Slug::parse(&slug) else {
        return failure_page(&Failure::NotFound);
    };
    let link = match state.scheduler.store().link_by_slug(&slug).await {
        Ok(Some(link)) => link,
        Ok(None) => return failure_page(&Failure::NotFound),
        Err(e) => return failure_page(&e.into()),
    };
    let zone = zone_from(&query, link.rules().zone());
    if let Some(start) = query.get("start") {
        let mut errors = FieldErrors::default();
        let Some(start) = parse_instant(start, "start", &mut errors) else {
            return failure_page(&Failure::Invalid(errors.summary()));
        };
        let Ok(slot) = TimeRange::starting_at(start, link.rules().duration()) else {
            return failure_page(&Failure::Internal);
        };
        let vm = BookingFormView {
            title: link.title().to_owned(),
            slug: slug.to_string(),
            when: slot_label(slot, zone),
            start: rfc3339(start, None),
            zone: zone.name().to_owned(),
            questions: link
                .form_questions()
                .map(|q| QuestionField::of(q, String::new()))
                .collect(),
            tracking: utm_pairs(&query),
            back: format!(
                "/book/{slug}{}",
                query_string(&[("tz".into(), zone.name().into())])
            ),
            texts_offered: state.texts.is_some(),
            ..BookingFormView::default()
        };
        return ok_html(book::booking_form(&vm));
    }
    picker(
        &state,
        &link,
        zone,
        &query,
        None,
        actix_web::http::StatusCode::OK,
    )
    .await
}

async fn picker(
    state: &AppState,
    link: &booking_core::link::BookingLink,
    zone: TimeZoneName,
    query: &PageFields,
    notice: Option<String>,
    status: actix_web::http::StatusCode,
) -> HttpResponse {
    let now = state.scheduler.clock().now();
    let (from, window) = picker_window(query, zone, now);
    let page = match state.scheduler.slot_page(link.slug(), window).await {
        Ok(page) => page,
        Err(e) => return failure_page(&e.into()),
    };
    let slots = page.slots;
    let notice = notice.or_else(|| page.next.map(|_| MORE_TIMES.to_owned()));
    let keep = utm_pairs(query);
    let path = format!("/book/{}", link.slug());
    let nav = picker_nav(
        &path,
        zone,
        from,
        now.with_timezone(&zone.tz()).date_naive(),
        keep.clone(),
        page.next,
    );
    let mut base = vec![("tz".to_owned(), zone.name().to_owned())];
    base.extend(keep);
    let vm = SlotPickerView {
        title: link.title().to_owned(),
        duration_minutes: link.rules().duration().num_minutes(),
        days: day_views(&slots, zone),
        nav,
        slot_href: format!("{path}{}", query_string(&base)),
        notice,
    };
    html(status, book::slot_picker(&vm))
}

async fn book_submit(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    form: web::Form<PageFields>,
) -> HttpResponse {
    let Ok(slug) = Slug::parse(&slug) else {
        return failure_page(&Failure::NotFound);
    };
    let link = match state.scheduler.store().link_by_slug(&slug).await {
        Ok(Some(link)) => link,
        Ok(None) => return failure_page(&Failure::NotFound),
        Err(e) => return failure_page(&e.into()),
    };
    let form = form.into_inner();
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let mut errors = FieldErrors::default();
    let zone = zone_from(&form, link.rules().zone());
    let input = InviteeInput {
        name: field("name"),
        email: field("email"),
        phone: form.get("phone").cloned(),
        timezone: zone.name().to_owned(),
    };
    let invitee = parse_invitee(&input, &mut errors);
    let fields: Vec<QuestionField> = link
        .form_questions()
        .enumerate()
        .map(|(i, q)| QuestionField::of(q, form.get(&format!("q{i}")).cloned().unwrap_or_default()))
        .collect();
    let pairs = fields
        .iter()
        .map(|f| (f.text.clone(), f.answer.clone()))
        .collect();
    let answers = parse_answers(pairs, &mut errors);
    if let Err(e) = link.check_answers(&answers) {
        errors.add("answers", e.to_string());
    }
    let start = parse_instant(&field("start"), "start", &mut errors);
    let tracking = Tracking::from_pairs(form.tracking());
    let (Some(invitee), Some(start), true) = (invitee, start, errors.is_empty()) else {
        let when = start
            .and_then(|s| TimeRange::starting_at(s, link.rules().duration()).ok())
            .map(|slot| slot_label(slot, zone))
            .unwrap_or_default();
        let vm = BookingFormView {
            title: link.title().to_owned(),
            slug: slug.to_string(),
            when,
            start: field("start"),
            zone: zone.name().to_owned(),
            name: input.name,
            email: input.email,
            phone: input.phone.unwrap_or_default(),
            questions: fields,
            tracking: utm_pairs(&form),
            errors,
            back: format!("/book/{slug}"),
            texts_offered: state.texts.is_some(),
        };
        return html(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            book::booking_form(&vm),
        );
    };
    if let Err(failure) = state.admit_booking(&req).await {
        return failure_page(&failure);
    }
    match state
        .scheduler
        .book(
            &slug,
            BookingRequest {
                start,
                invitee,
                answers,
                tracking,
            },
        )
        .await
    {
        Ok(booking) => see_other(&format!("/book/confirmed/{}", booking.token().expose())),
        Err(e) => match Failure::from(e) {
            Failure::SlotUnavailable => {
                let notice =
                    "Sorry, that time was just taken. Here are the times still free.".to_owned();
                picker(
                    &state,
                    &link,
                    zone,
                    &form,
                    Some(notice),
                    actix_web::http::StatusCode::CONFLICT,
                )
                .await
            }
            other => failure_page(&other),
        },
    }
}

async fn booking_of(state: &AppState, token: &str) -> Result<Booking, Failure> {
    state
        .scheduler
        .booking_by_token(token)
        .await
        .map_err(Failure::from)
}

async fn link_title(state: &AppState, booking: &Booking) -> Result<String, Failure> {
    match state.scheduler.store().link(booking.link()).await? {
        Some(link) => Ok(link.title().to_owned()),
        None => Err(Failure::Internal),
    }
}

async fn confirmed(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
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
async fn invite(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
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

async fn reschedule_view(
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

async fn reschedule_page(
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
        Err(failure) => token_failure_page(&failure),
    }
}

async fn reschedule_submit(
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
                Err(failure) => token_failure_page(&failure),
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
        Err(e) => token_failure_page(&e.into()),
    }
}

async fn cancel_view(
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

async fn cancel_page(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    match cancel_view(&state, &token, FieldErrors::default(), String::new()).await {
        Ok(vm) => token_html(actix_web::http::StatusCode::OK, token::cancel(&vm)),
        Err(failure) => token_failure_page(&failure),
    }
}

async fn cancel_submit(
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
            Err(failure) => token_failure_page(&failure),
        };
    }
    match state.scheduler.cancel(&token, reason).await {
        Ok(_) => see_other(&format!("/book/cancel/{token}")),
        Err(e) => token_failure_page(&e.into()),
    }
}

async fn reconfirm_view(state: &AppState, token: &str) -> Result<ReconfirmView, Failure> {
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

async fn reconfirm_page(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    match reconfirm_view(&state, &token).await {
        Ok(vm) => token_html(actix_web::http::StatusCode::OK, token::reconfirm(&vm)),
        Err(failure) => token_failure_page(&failure),
    }
}

async fn reconfirm_submit(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    match state.scheduler.reconfirm(&token).await {
        Ok(_) => see_other(&format!("/book/reconfirm/{token}")),
        Err(e) => token_failure_page(&e.into()),
    }
}
