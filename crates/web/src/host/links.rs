//! The host's booking links: the `/links` list, and the form that creates a link or edits
//! one of the host's own (availability, questions, deals, reconfirmation).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use booking_core::LinkId;
use booking_core::accounts::LinkDirectory;
use booking_core::link::BookingLink;
use booking_core::ports::{BookingStore, SaveLinkError, TokenSource};

use super::extract::{LoggedIn, Posted};
use super::linkform::{DAYS, LinkForm, LinkInput};
use super::page::{ListQuery, PageResult, page, see_other};
use super::workflowform;
use crate::AppState;
use crate::errors::Failure;
use crate::forms::FieldErrors;
use crate::views::host::links::{self, LinkFields, LinkFormView, LinkRow, LinksView, StepFields};

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
    if let Some(p) = link.reconfirmation() {
        text.push_str(&format!(
            ", asks for reconfirmation {} min before",
            p.ask_before().num_minutes()
        ));
    }
    match link.workflow() {
        Some(w) => text.push_str(&format!(", own workflow ({} steps)", w.steps().len())),
        None => text.push_str(", standard reminders"),
    }
    text
}

pub(crate) async fn links_page(
    me: LoggedIn,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> PageResult {
    let links = me.desk(&state).links(me.id()).await?;
    let listed = me.side.links.lists_links(me.id()).await?;
    let vm = LinksView {
        listed,
        viewer: me.viewer(),
        rows: links
            .iter()
            .map(|l| LinkRow {
                title: l.title().to_owned(),
                public_url: state.url(&format!("/book/{}", l.slug())),
                edit_href: format!("/links/{}", l.id()),
                summary: link_summary(l),
            })
            .collect(),
        notice: query.notice(),
    };
    Ok(page(StatusCode::OK, links::list(&vm)))
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
        reconfirm_ask_minutes: input
            .reconfirmation
            .as_ref()
            .and_then(|r| r.ask_minutes_before)
            .map(|m| m.to_string())
            .unwrap_or_default(),
        reconfirm_cancel_minutes: input
            .reconfirmation
            .as_ref()
            .and_then(|r| r.cancel_minutes_before)
            .map(|m| m.to_string())
            .unwrap_or_default(),
        workflow_custom: input.workflow.is_some(),
        reconfirm_by_email: input.workflow.as_ref().is_none_or(|w| w.reconfirm_by_email),
        reconfirm_by_text: input.workflow.as_ref().is_none_or(|w| w.reconfirm_by_text),
        steps: workflowform::rows(input.workflow.as_ref())
            .into_iter()
            .map(|r| StepFields {
                trigger: r.trigger,
                minutes: r.minutes,
                action: r.action,
                subject: r.subject,
                body: r.body,
            })
            .collect(),
    }
}

/// The form's fields exactly as posted, so nothing typed is lost when it comes back.
fn fields_as_posted(form: &LinkForm, parsed: &LinkInput) -> LinkFields {
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
    fields.reconfirm_ask_minutes = raw("reconfirm_ask_minutes");
    fields.reconfirm_cancel_minutes = raw("reconfirm_cancel_minutes");
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
        viewer: me.viewer(),
        heading: heading.to_owned(),
        action,
        fields,
        errors,
        public_url,
        zones: zones(),
    };
    page(status, links::form(&vm))
}

pub(crate) async fn link_new(me: LoggedIn) -> HttpResponse {
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

async fn own_link(state: &AppState, me: &LoggedIn, id: &str) -> Result<BookingLink, Failure> {
    let id = LinkId::parse(id).map_err(|_| Failure::NotFound)?;
    Ok(me.desk(state).link(me.id(), id).await?)
}

pub(crate) async fn link_edit(
    me: LoggedIn,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> PageResult {
    let link = own_link(&state, &me, &id).await?;
    Ok(link_form_page(
        StatusCode::OK,
        &me,
        &format!("Edit “{}”", link.title()),
        format!("/links/{}", link.id()),
        fields_of(&LinkInput::of(&link)),
        FieldErrors::default(),
        Some(state.url(&format!("/book/{}", link.slug()))),
    ))
}

/// Checks and saves the posted link under `id`; the form again (422) when it is refused.
async fn save_posted_link(
    state: &AppState,
    me: &LoggedIn,
    form: &LinkForm,
    id: LinkId,
    heading: &str,
    action: String,
) -> PageResult {
    let mut errors = FieldErrors::default();
    let input = LinkInput::from_form(form, &mut errors);
    let refused = |errors: FieldErrors| {
        Ok(link_form_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            me,
            heading,
            action.clone(),
            fields_as_posted(form, &input),
            errors,
            None,
        ))
    };
    let Some(checked) = input.check(&mut errors) else {
        return refused(errors);
    };
    let link = match checked.build(id, me.id()) {
        Ok(l) => l,
        Err(e) => {
            errors.add("title", e.to_string());
            return refused(errors);
        }
    };
    match state.scheduler.store().save_link(&link).await {
        Ok(()) => {
            tracing::info!(host = %me.id(), link = %link.id(), "link saved");
            Ok(see_other("/links?done=link-saved"))
        }
        Err(SaveLinkError::SlugTaken) => {
            errors.add("slug", "this URL name is already taken; pick another");
            refused(errors)
        }
        Err(SaveLinkError::UnknownHost) => Err(Failure::NotFound.into()),
        Err(SaveLinkError::Store(e)) => Err(e.into()),
    }
}

pub(crate) async fn link_create(
    state: web::Data<AppState>,
    posted: Posted<LinkForm>,
) -> PageResult {
    let Posted { me, form } = posted;
    let id = LinkId::from_uuid(me.side.ids.new_booking_id().as_uuid());
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

pub(crate) async fn link_update(
    state: web::Data<AppState>,
    id: web::Path<String>,
    posted: Posted<LinkForm>,
) -> PageResult {
    let Posted { me, form } = posted;
    let link = own_link(&state, &me, &id).await?;
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
