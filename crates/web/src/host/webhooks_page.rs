//! `/settings/webhooks`: the dashboard's side of the webhook subscriptions — the list, a new
//! one (its secret shown once, in that answer), switching one off and on, deleting it, a test
//! event (answered by a redirect to the subscription's page, which finds the attempt in the
//! delivery log) and the delivery log with where each delivery stands in the outbox.
//!
//! Everything goes through the same functions as the JSON API ([`subscribe`],
//! [`send_test_event`]) and the per-host port, so another host's subscription answers 404.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

use actix_web::http::StatusCode;
use actix_web::web;
use booking_core::BookingId;
use booking_core::TimeZoneName;
use booking_core::effects::WebhookEvent;
use booking_core::ports::{BookingStore, Clock, Outbox, PendingEntry};
use booking_core::subscriptions::{
    ALL_EVENTS, DeliveryAttempt, SubscriptionId, TestEvent, WebhookSubscription, send_test_event,
};
use serde::Deserialize;

use super::extract::{HostForm, LoggedIn, Posted};
use super::page::{CsrfPosted, PageResult, page, see_other};
use super::summary::moment;
use super::webhooks::{NewSubscription, NotSubscribed, subscribe};
use super::{HostSide, Webhooks};
use crate::AppState;
use crate::errors::{Error, Failure, HostPage};
use crate::forms::FieldErrors;
use crate::views::host::webhooks::{self, DeliveryRow, HookFields, HookRow, HookView, HooksView};

/// Attempts read for a subscription's page.
const LOG_LENGTH: u32 = 100;

/// The webhook ports, or 404 when the host side has none.
fn hooks_of(side: &HostSide) -> Result<&Webhooks, Error<HostPage>> {
    side.webhooks
        .as_ref()
        .ok_or_else(|| Failure::NotFound.into())
}

/// The label of an event's checkbox.
fn event_label(event: WebhookEvent) -> &'static str {
    match event {
        WebhookEvent::CallBooked => "Booked (callBooked)",
        WebhookEvent::CallRescheduled => "Rescheduled (callRescheduled)",
        WebhookEvent::CallCancelled => "Cancelled (callCancelled)",
        _ => event.name(),
    }
}

fn row_of(s: &WebhookSubscription, zone: TimeZoneName) -> HookRow {
    HookRow {
        id: s.id.to_string(),
        url: s.url.as_str().to_owned(),
        events: s
            .events
            .iter()
            .map(|e| e.name())
            .collect::<Vec<_>>()
            .join(", "),
        active: s.active,
        created: moment(s.created_at, zone),
        href: format!("/settings/webhooks/{}", s.id),
    }
}

/// The form with every event ticked (a new subscription's default).
fn blank_fields() -> HookFields {
    HookFields {
        url: String::new(),
        events: ALL_EVENTS
            .iter()
            .map(|e| (e.name(), event_label(*e), true))
            .collect(),
    }
}

async fn list_view(me: &LoggedIn, hooks: &Webhooks) -> Result<HooksView, Error<HostPage>> {
    let zone = me.host.time_zone();
    let all = hooks.subscriptions.subscriptions(me.id()).await?;
    Ok(HooksView {
        viewer: me.viewer(),
        rows: all.iter().map(|s| row_of(s, zone)).collect(),
        fields: blank_fields(),
        errors: FieldErrors::default(),
        new_secret: None,
        notice: None,
    })
}

/// What the `done` parameter of this page's redirects says.
fn notice(done: Option<&str>) -> Option<String> {
    Some(
        match done? {
            "on" => "The webhook is switched on.",
            "off" => "The webhook is switched off: nothing is delivered to it.",
            "deleted" => "The webhook and its delivery log are deleted.",
            _ => return None,
        }
        .to_owned(),
    )
}

/// The query of this page: what a redirect says was done, and which test event was sent.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct HookQuery {
    done: Option<String>,
    tested: Option<String>,
}

pub(crate) async fn hooks_page(me: LoggedIn, query: web::Query<HookQuery>) -> PageResult {
    let hooks = hooks_of(&me.side)?;
    let mut vm = list_view(&me, hooks).await?;
    vm.notice = notice(query.done.as_deref());
    Ok(page(StatusCode::OK, webhooks::list(&vm)))
}

/// The new-subscription form: the URL and one checkbox per event (named by the event).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct HookForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    url: String,
    #[serde(rename = "callBooked")]
    booked: Option<String>,
    #[serde(rename = "callRescheduled")]
    rescheduled: Option<String>,
    #[serde(rename = "callCancelled")]
    cancelled: Option<String>,
}

impl HostForm for HookForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl HookForm {
    /// The ticked events, by name.
    fn events(&self) -> Vec<String> {
        [
            (&self.booked, WebhookEvent::CallBooked),
            (&self.rescheduled, WebhookEvent::CallRescheduled),
            (&self.cancelled, WebhookEvent::CallCancelled),
        ]
        .into_iter()
        .filter(|(ticked, _)| ticked.is_some())
        .map(|(_, e)| e.name().to_owned())
        .collect()
    }
}

pub(crate) async fn hook_create(
    state: web::Data<AppState>,
    posted: Posted<HookForm>,
) -> PageResult {
    let Posted { me, form } = posted;
    let hooks = hooks_of(&me.side)?;
    let events = form.events();
    let asked = NewSubscription {
        url: form.url.trim(),
        events: Some(events.as_slice()),
        active: true,
    };
    let now = state.scheduler.clock().now();
    let mut errors = FieldErrors::default();
    match subscribe(&me.side, hooks, me.id(), asked, now).await {
        Ok(made) => {
            tracing::info!(host = %me.id(), subscription = %made.id, "webhook subscribed");
            let mut vm = list_view(&me, hooks).await?;
            vm.new_secret = Some((
                made.url.as_str().to_owned(),
                made.secret.expose().to_owned(),
            ));
            return Ok(page(StatusCode::CREATED, webhooks::list(&vm)));
        }
        Err(NotSubscribed::Refused(e)) => errors.add("url", format!("{e}.")),
        Err(NotSubscribed::Url(e)) => errors.add(
            "url",
            format!("{e}. Write the full address, e.g. https://example.com/hooks."),
        ),
        Err(NotSubscribed::Events(_)) => errors.add("events", "Tick at least one event."),
        Err(NotSubscribed::Store(e)) => return Err(Failure::from(e).into()),
    }
    let mut vm = list_view(&me, hooks).await?;
    let ticked: BTreeSet<String> = events.into_iter().collect();
    vm.fields = HookFields {
        url: form.url,
        events: ALL_EVENTS
            .iter()
            .map(|e| (e.name(), event_label(*e), ticked.contains(e.name())))
            .collect(),
    };
    vm.errors = errors;
    Ok(page(StatusCode::UNPROCESSABLE_ENTITY, webhooks::list(&vm)))
}

/// One of the host's subscriptions (another host's is 404 like a missing one).
async fn own(
    hooks: &Webhooks,
    me: &LoggedIn,
    id: &str,
) -> Result<WebhookSubscription, Error<HostPage>> {
    let id = SubscriptionId::parse(id).map_err(|_| Failure::NotFound)?;
    Ok(hooks
        .subscriptions
        .subscription(me.id(), id)
        .await?
        .ok_or(Failure::NotFound)?)
}

/// The delivery log grouped by outbox entry (newest first), each with where it stands.
async fn delivery_rows(
    state: &AppState,
    me: &LoggedIn,
    s: &WebhookSubscription,
    log: &[DeliveryAttempt],
) -> Result<Vec<DeliveryRow>, Error<HostPage>> {
    let zone = me.host.time_zone();
    let dead: BTreeSet<String> = match &me.side.outbox {
        Some(outbox) => outbox
            .dead_entries_of_host(me.id(), 500)
            .await?
            .into_iter()
            .map(|d| d.entry.key)
            .collect(),
        None => BTreeSet::new(),
    };
    let mut pending: HashMap<BookingId, Vec<PendingEntry>> = HashMap::new();
    let test_prefix = format!("{}:webhook:test:", s.id);
    let mut rows = Vec::new();
    let mut seen = BTreeSet::new();
    for newest in log {
        if !seen.insert(newest.effect_key.as_str()) {
            continue;
        }
        let attempts: Vec<&DeliveryAttempt> = log
            .iter()
            .filter(|a| a.effect_key == newest.effect_key)
            .collect();
        let tries = attempts.iter().map(|a| a.attempt).max().unwrap_or(1);
        let key = &newest.effect_key;
        let (text, is_dead) = if attempts.iter().any(|a| a.delivered) {
            ("Delivered".to_owned(), false)
        } else if key.starts_with(&test_prefix) {
            ("Test event: not retried".to_owned(), false)
        } else if dead.contains(key) {
            (format!("Given up after {tries} attempts"), true)
        } else {
            let next = match booking_of(key) {
                Some(booking) => {
                    if let Entry::Vacant(slot) = pending.entry(booking) {
                        slot.insert(state.scheduler.store().pending_effects(booking).await?);
                    }
                    pending[&booking]
                        .iter()
                        .find(|p| &p.key == key)
                        .map(|p| p.due_at)
                }
                None => None,
            };
            match next {
                Some(due) => (format!("Next retry {}", moment(due, zone)), false),
                None => ("No retry planned".to_owned(), false),
            }
        };
        rows.push(DeliveryRow {
            webhook_id: key.clone(),
            attempts: tries,
            last: answer(newest),
            at: moment(newest.at, zone),
            state: text,
            dead: is_dead,
        });
    }
    Ok(rows)
}

/// The booking an outbox key is about: keys start with the booking's id
/// (`Effect::idempotency_key`).
fn booking_of(key: &str) -> Option<BookingId> {
    BookingId::parse(key.split(':').next()?).ok()
}

/// An attempt's answer in words.
fn answer(a: &DeliveryAttempt) -> String {
    match (&a.status, &a.error) {
        (Some(status), None) => format!("HTTP {status} in {} ms", a.latency_ms),
        (Some(status), Some(e)) => format!("HTTP {status}: {e}"),
        (None, Some(e)) => e.clone(),
        (None, None) => "no answer".to_owned(),
    }
}

async fn detail_view(
    state: &AppState,
    me: &LoggedIn,
    hooks: &Webhooks,
    s: &WebhookSubscription,
) -> Result<(HookView, Vec<DeliveryAttempt>), Error<HostPage>> {
    let log = hooks
        .subscriptions
        .deliveries(me.id(), s.id, LOG_LENGTH)
        .await?;
    let vm = HookView {
        viewer: me.viewer(),
        row: row_of(s, me.host.time_zone()),
        deliveries: delivery_rows(state, me, s, &log).await?,
        tested: None,
        notice: None,
        error: None,
    };
    Ok((vm, log))
}

pub(crate) async fn hook_page(
    me: LoggedIn,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<HookQuery>,
) -> PageResult {
    let hooks = hooks_of(&me.side)?;
    let s = own(hooks, &me, &id).await?;
    let (mut vm, log) = detail_view(&state, &me, hooks, &s).await?;
    vm.notice = notice(query.done.as_deref());
    vm.tested = query
        .tested
        .as_deref()
        .and_then(|key| log.iter().find(|a| a.effect_key == key))
        .map(|a| {
            if a.delivered {
                format!("The test event was delivered: {}.", answer(a))
            } else {
                format!("The test event was not delivered: {}.", answer(a))
            }
        });
    Ok(page(StatusCode::OK, webhooks::detail(&vm)))
}

/// The switch's form: `active=on` or `off`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SwitchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    active: String,
}

impl HostForm for SwitchForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub(crate) async fn hook_switch(id: web::Path<String>, posted: Posted<SwitchForm>) -> PageResult {
    let Posted { me, form } = posted;
    let hooks = hooks_of(&me.side)?;
    let s = own(hooks, &me, &id).await?;
    let active = match form.active.as_str() {
        "on" => true,
        "off" => false,
        _ => return Err(Failure::Invalid("active must be on or off".to_owned()).into()),
    };
    hooks
        .subscriptions
        .set_subscription_active(me.id(), s.id, active)
        .await
        .map_err(Failure::from)?;
    let done = if active { "on" } else { "off" };
    Ok(see_other(&format!(
        "/settings/webhooks/{}?done={done}",
        s.id
    )))
}

pub(crate) async fn hook_delete(id: web::Path<String>, posted: CsrfPosted) -> PageResult {
    let me = posted.me;
    let hooks = hooks_of(&me.side)?;
    let s = own(hooks, &me, &id).await?;
    hooks
        .subscriptions
        .delete_subscription(me.id(), s.id)
        .await
        .map_err(Failure::from)?;
    tracing::info!(host = %me.id(), subscription = %s.id, "webhook deleted");
    Ok(see_other("/settings/webhooks?done=deleted"))
}

pub(crate) async fn hook_test(
    state: web::Data<AppState>,
    id: web::Path<String>,
    posted: CsrfPosted,
) -> PageResult {
    let me = posted.me;
    let hooks = hooks_of(&me.side)?;
    let s = own(hooks, &me, &id).await?;
    let now = state.scheduler.clock().now();
    let sent = send_test_event(
        hooks.subscriptions.as_ref(),
        hooks.targets.as_ref(),
        hooks.sender.as_ref(),
        &s,
        me.side.ids.as_ref(),
        now,
    )
    .await?;
    match sent {
        TestEvent::Sent { webhook_id, .. } => {
            let key = percent_encoding::utf8_percent_encode(
                &webhook_id,
                percent_encoding::NON_ALPHANUMERIC,
            );
            Ok(see_other(&format!(
                "/settings/webhooks/{}?tested={key}",
                s.id
            )))
        }
        TestEvent::Refused(e) => {
            let (mut vm, _) = detail_view(&state, &me, hooks, &s).await?;
            vm.error = Some(format!("Nothing was sent: {e}."));
            Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                webhooks::detail(&vm),
            ))
        }
    }
}
