//! The booking page of a link: the month picker beside the meeting's details, the booking
//! form and its submission.

use actix_web::http::{StatusCode, header};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use booking_core::invitee::Tracking;
use booking_core::link::{BookingLink, Slug};
use booking_core::ports::{BookingStore, Clock};
use booking_core::read_cache::answers::whole_second;
use booking_core::service::BookingRequest;
use booking_core::{TimeRange, TimeZoneName};
use chrono::{DateTime, Utc};

use super::picker::{PickerQuery, Source, build_picker, query_string, slot_views, utm_pairs};
use super::{PageFields, Query, failure_page, html, html_body, see_other};
use crate::AppState;
use crate::answers::{AnswerKey, build_and_keep, kept, links_epoch};
use crate::errors::Failure;
use crate::forms::{FieldErrors, InviteeInput, parse_answers, parse_instant, parse_invitee};
use crate::present::{rfc3339, search_zones, slot_label};
use crate::views::book::{BookingFormView, BookingPageView, QuestionField};
use crate::views::{DayTimes, LocationView, MeetingView, book};

/// Who and what a link is about, for the pages' details column.
pub(super) async fn meeting_of(
    state: &AppState,
    link: &BookingLink,
) -> Result<MeetingView, Failure> {
    let host = state
        .scheduler
        .store()
        .host(link.host())
        .await?
        .ok_or(Failure::Internal)?;
    let host_name = host.name().as_str().to_owned();
    Ok(MeetingView {
        initials: initials(&host_name),
        host_name,
        title: link.title().to_owned(),
        duration_minutes: link.rules().duration().num_minutes(),
        location: link.location().map(LocationView::of),
        description: link.description().map(str::to_owned),
    })
}

/// "HH" for "Hana Host": the first letters of the first and last words.
fn initials(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    let letter = |w: Option<&&str>| {
        w.and_then(|w| w.chars().next())
            .into_iter()
            .flat_map(char::to_uppercase)
    };
    let mut out: String = letter(words.first()).collect();
    if words.len() > 1 {
        out.extend(letter(words.last()));
    }
    out
}

pub(super) fn accept_language(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
}

async fn link_of(state: &AppState, slug: &str) -> Result<BookingLink, Failure> {
    let slug = Slug::parse(slug).map_err(|_| Failure::NotFound)?;
    state
        .scheduler
        .store()
        .link_by_slug(&slug)
        .await?
        .ok_or(Failure::NotFound)
}

pub(super) async fn link_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: Query,
) -> HttpResponse {
    // Built as of the whole second, so the picker can be kept for that second (`answers.rs`).
    let now = whole_second(state.scheduler.clock().now());
    let key = query
        .get("start")
        .is_none()
        .then(|| AnswerKey::BookingPage {
            slug: slug.as_str().to_owned(),
            query: req.query_string().to_owned(),
            clock: PickerQuery::clock_of(&query, accept_language(&req)).param(),
        });
    if let Some(body) = key.as_ref().and_then(|key| kept(&state, now, key)) {
        return html_body(StatusCode::OK, body);
    }
    let epoch = links_epoch(&state);
    let link = match link_of(&state, &slug).await {
        Ok(link) => link,
        Err(failure) => return failure_page(&failure),
    };
    let ask = PickerQuery::read(&query, link.rules().zone(), accept_language(&req), now);
    let result = match (key, query.get("start")) {
        (Some(key), _) => {
            let build = async {
                let page = picker_page(&state, &link, &query, &ask, now).await?;
                Ok(Bytes::from(page.into_string()))
            };
            build_and_keep(&state, now, key, (link.host(), epoch), build).await
        }
        (None, start) => {
            let start = start.map_or("", String::as_str);
            booking_form_page(&state, &link, &query, &ask, start)
                .await
                .map(|page| Bytes::from(page.into_string()))
        }
    };
    match result {
        Ok(page) => html_body(StatusCode::OK, page),
        Err(failure) => failure_page(&failure),
    }
}

async fn picker_page(
    state: &AppState,
    link: &BookingLink,
    query: &PageFields,
    ask: &PickerQuery,
    now: DateTime<Utc>,
) -> Result<maud::Markup, Failure> {
    let source = Source { link, moving: None };
    let mut picker = build_picker(state, source, ask, now).await?;
    if query.get("zones").is_some_and(|z| z == "all") {
        picker.display.zones = search_zones("", now);
    }
    let vm = BookingPageView {
        meeting: meeting_of(state, link).await?,
        picker,
        action: format!("/book/{}", link.slug()),
        keep: utm_pairs(query),
    };
    Ok(book::booking_page(&vm))
}

/// The way back from the form to the picker, on the chosen day.
fn back_href(
    slug: &Slug,
    zone: TimeZoneName,
    clock: &str,
    date: Option<String>,
    keep: &[(String, String)],
) -> String {
    let mut pairs = vec![
        ("tz".to_owned(), zone.name().to_owned()),
        ("clock".to_owned(), clock.to_owned()),
    ];
    if let Some(date) = date {
        pairs.push(("date".to_owned(), date));
    }
    pairs.extend(keep.iter().cloned());
    format!("/book/{slug}{}", query_string(&pairs))
}

async fn booking_form_page(
    state: &AppState,
    link: &BookingLink,
    query: &PageFields,
    ask: &PickerQuery,
    start: &str,
) -> Result<maud::Markup, Failure> {
    let mut errors = FieldErrors::default();
    let Some(start) = parse_instant(start, "start", &mut errors) else {
        return Err(Failure::Invalid(errors.summary()));
    };
    let slot =
        TimeRange::starting_at(start, link.rules().duration()).map_err(|_| Failure::Internal)?;
    let zone = ask.zone;
    let keep = utm_pairs(query);
    let date = start.with_timezone(&zone.tz()).date_naive().to_string();
    let vm = BookingFormView {
        meeting: meeting_of(state, link).await?,
        slug: link.slug().to_string(),
        when: slot_label(slot, zone),
        start: rfc3339(start, None),
        zone: zone.name().to_owned(),
        clock: ask.clock.param().to_owned(),
        questions: link
            .form_questions()
            .map(|q| QuestionField::of(q, String::new()))
            .collect(),
        back: back_href(link.slug(), zone, ask.clock.param(), Some(date), &keep),
        tracking: keep,
        texts_offered: state.texts.is_some(),
        ..BookingFormView::default()
    };
    Ok(book::booking_form(&vm))
}

pub(super) async fn book_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    form: web::Form<PageFields>,
) -> HttpResponse {
    let link = match link_of(&state, &slug).await {
        Ok(link) => link,
        Err(failure) => return failure_page(&failure),
    };
    let form = form.into_inner();
    let now = state.scheduler.clock().now();
    let ask = PickerQuery::read(&form, link.rules().zone(), accept_language(&req), now);
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let mut errors = FieldErrors::default();
    let zone = ask.zone;
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
    let start = match form.get("start") {
        Some(s) => parse_instant(s, "start", &mut errors),
        None => {
            errors.add("start", "Pick a time.");
            None
        }
    };
    let tracking = Tracking::from_pairs(form.tracking());
    let keep = utm_pairs(&form);
    let date = start.map(|s| s.with_timezone(&zone.tz()).date_naive().to_string());
    let again = BookingFormView {
        meeting: MeetingView::default(),
        slug: link.slug().to_string(),
        when: start
            .and_then(|s| TimeRange::starting_at(s, link.rules().duration()).ok())
            .map(|slot| slot_label(slot, zone))
            .unwrap_or_default(),
        start: field("start"),
        zone: zone.name().to_owned(),
        clock: ask.clock.param().to_owned(),
        name: input.name.clone(),
        email: input.email.clone(),
        phone: input.phone.clone().unwrap_or_default(),
        questions: fields,
        back: back_href(link.slug(), zone, ask.clock.param(), date, &keep),
        tracking: keep,
        errors: FieldErrors::default(),
        texts_offered: state.texts.is_some(),
        retry: None,
    };
    let (Some(invitee), Some(start), true) = (invitee, start, errors.is_empty()) else {
        let vm = BookingFormView { errors, ..again };
        return form_again(&state, &link, vm, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    if let Err(failure) = state.admit_booking(&req).await {
        return failure_page(&failure);
    }
    let request = BookingRequest {
        start,
        invitee,
        answers,
        tracking,
    };
    match state.scheduler.book(link.slug(), request).await {
        Ok(booking) => see_other(&format!("/book/confirmed/{}", booking.token().expose())),
        Err(e) => match Failure::from(e) {
            Failure::SlotUnavailable => {
                let times = match free_that_day(&state, &link, start, &ask).await {
                    Ok(times) => times,
                    Err(failure) => return failure_page(&failure),
                };
                let notice = "Sorry, that time was just taken. Pick another time below; \
                              what you typed is kept."
                    .to_owned();
                let vm = BookingFormView {
                    retry: Some((notice, times)),
                    ..again
                };
                form_again(&state, &link, vm, StatusCode::CONFLICT).await
            }
            other => failure_page(&other),
        },
    }
}

/// The form again with what was typed, the meeting's details filled in.
async fn form_again(
    state: &AppState,
    link: &BookingLink,
    vm: BookingFormView,
    status: StatusCode,
) -> HttpResponse {
    match meeting_of(state, link).await {
        Ok(meeting) => html(
            status,
            book::booking_form(&BookingFormView { meeting, ..vm }),
        ),
        Err(failure) => failure_page(&failure),
    }
}

/// The free times left on the local day of `start`.
async fn free_that_day(
    state: &AppState,
    link: &BookingLink,
    start: DateTime<Utc>,
    ask: &PickerQuery,
) -> Result<DayTimes, Failure> {
    let zone = ask.zone;
    let date = start.with_timezone(&zone.tz()).date_naive();
    let from = super::picker::local_midnight(date, zone).max(state.scheduler.clock().now());
    let end = super::picker::local_midnight(date + chrono::Days::new(1), zone);
    let times = match TimeRange::new(from, end) {
        Ok(window) => state.scheduler.slot_page(link.slug(), window).await?.slots,
        Err(_) => Vec::new(),
    };
    Ok(DayTimes {
        label: date.format("%A, %B %-d").to_string(),
        date: date.to_string(),
        times: slot_views(&times, zone, ask.clock),
        more: None,
    })
}

#[cfg(test)]
mod tests {
    use super::initials;

    #[test]
    fn initials_take_the_first_and_last_names() {
        assert_eq!(initials("Hana Host"), "HH");
        assert_eq!(initials("ada"), "A");
        assert_eq!(initials("Jean Paul Sartre"), "JS");
        assert_eq!(initials("  "), "");
    }
}
