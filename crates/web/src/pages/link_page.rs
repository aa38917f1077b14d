//! The booking page of a link: the slot picker, the booking form and its submission.

use actix_web::{HttpResponse, web};
use booking_core::invitee::Tracking;
use booking_core::link::Slug;
use booking_core::ports::{BookingStore, Clock};
use booking_core::service::BookingRequest;
use booking_core::{TimeRange, TimeZoneName};

use super::picker::{
    MORE_TIMES, day_views, picker_nav, picker_window, query_string, utm_pairs, zone_from,
};
use super::{PageFields, Query, failure_page, html, ok_html, see_other};
use crate::AppState;
use crate::errors::Failure;
use crate::forms::{FieldErrors, InviteeInput, parse_answers, parse_instant, parse_invitee};
use crate::present::{rfc3339, slot_label};
use crate::views::book;
use crate::views::book::{BookingFormView, QuestionField, SlotPickerView};

pub(super) async fn link_page(
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

pub(super) async fn picker(
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

pub(super) async fn book_submit(
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
