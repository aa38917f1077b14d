//! A fake Microsoft identity platform + Microsoft Graph on 127.0.0.1, for tests of the
//! Microsoft calendar adapter and of the binary end to end.
//!
//! [`FakeGraph::start`] serves, on one port, the identity platform's
//! `/{tenant}/oauth2/v2.0/authorize` (consents at once and redirects back with a code) and
//! `/token` (authorization code with PKCE S256, refresh), and the Graph v1.0 calls a calendar
//! connection makes: `/me`, `/me/calendar/getSchedule`, `/me/events`, the `calendarView` delta
//! query, and `/subscriptions`. Requests and answers use Graph's real JSON shapes (camelCase,
//! `@odata.*` annotations, `{"error":{"code","message"}}` errors; the identity platform's
//! `{"error":"invalid_grant","error_description":…}`). Point the adapter's authority and Graph
//! URLs at [`FakeGraph::base_url`].
//!
//! The test inspects what the adapter did ([`FakeGraph::events`], [`FakeGraph::creates`],
//! [`FakeGraph::subscriptions`] …), plays the host or Microsoft ([`FakeGraph::host_moves_event`],
//! [`FakeGraph::revoke_grant`], [`FakeGraph::fail_next`], [`FakeGraph::expire_delta_tokens`] …)
//! and sends notifications in Graph's shape ([`FakeGraph::notify`]).

mod http;
mod state;

use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

pub use state::{BusyBlock, FakeEvent, FakeSubscription};
use state::{Failure, State, USER_ID, wire_instant};

/// The application (client) id the fake's identity platform accepts.
pub const CLIENT_ID: &str = "5f0c3a9e-8d1b-4c2a-9e7f-6b5a4d3c2b1a";
/// The client secret that goes with [`CLIENT_ID`].
pub const CLIENT_SECRET: &str = "fake~client~secret";

/// A running fake. Dropping it leaves the server running until the test's runtime ends;
/// [`FakeGraph::stop`] ends it at once.
#[derive(Debug)]
pub struct FakeGraph {
    base_url: String,
    state: Arc<Mutex<State>>,
    server: ServerHandle,
}

/// Graph's lifecycle notification kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// The subscription's access must be renewed (`POST …/reauthorize`).
    ReauthorizationRequired,
    /// Graph removed the subscription: create a new one.
    SubscriptionRemoved,
    /// Notifications were lost: resync with a delta query.
    Missed,
}

impl Lifecycle {
    /// The `lifecycleEvent` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ReauthorizationRequired => "reauthorizationRequired",
            Self::SubscriptionRemoved => "subscriptionRemoved",
            Self::Missed => "missed",
        }
    }
}

/// A notification body in Graph's shape, ready to POST.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification(Value);

impl Notification {
    /// The JSON that will be sent.
    pub fn json(&self) -> &Value {
        &self.0
    }

    /// The same notification with another `clientState` (a forged or stale one).
    #[must_use]
    pub fn with_client_state(mut self, client_state: &str) -> Self {
        if let Some(items) = self.0.get_mut("value").and_then(Value::as_array_mut) {
            for item in items {
                item["clientState"] = json!(client_state);
            }
        }
        self
    }
}

impl FakeGraph {
    /// Starts the fake on a free port of 127.0.0.1.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State::new(base_url.clone())));
        let shared = web::Data::from(Arc::clone(&state));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .configure(http::configure)
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self {
            base_url,
            state,
            server: handle,
        })
    }

    /// Stops the server.
    pub async fn stop(self) {
        self.server.stop(false).await;
    }

    /// `http://127.0.0.1:PORT`: both the authority URL and the Graph URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // ---- the account and its grant ----

    /// The account's address (`mail`, or the sign-in name when `mail` is unset).
    pub fn account_email(&self) -> String {
        self.state().address().to_owned()
    }

    /// Sets or clears the account's `mail` (without it, `/me` only has `userPrincipalName`).
    pub fn set_mail(&self, mail: Option<&str>) {
        self.state().mail = mail.map(str::to_owned);
    }

    /// The account's `userPrincipalName`.
    pub fn user_principal_name(&self) -> String {
        self.state().user_principal_name.clone()
    }

    /// Issues an access and a refresh token directly, as if the host had connected.
    pub fn issue_tokens(&self) -> (String, String) {
        let mut state = self.state();
        state.grant_revoked = false;
        state.issue_tokens()
    }

    /// The host (or an admin) revokes the grant: refresh answers `invalid_grant` and access
    /// tokens answer 401, until the host consents again.
    pub fn revoke_grant(&self) {
        self.state().grant_revoked = true;
    }

    /// Every access token issued so far stops working (refresh still works).
    pub fn expire_access_tokens(&self) {
        let past = Utc::now() - TimeDelta::seconds(1);
        for expiry in self.state().access_tokens.values_mut() {
            *expiry = past;
        }
    }

    /// The query of the last authorize request (scopes, PKCE method, state …).
    pub fn last_authorize_query(&self) -> Option<std::collections::HashMap<String, String>> {
        self.state().last_authorize_query.clone()
    }

    /// The token requests so far, form fields without secrets.
    pub fn token_requests(&self) -> Vec<std::collections::HashMap<String, String>> {
        self.state().token_requests.clone()
    }

    // ---- events ----

    /// Every event still there.
    pub fn events(&self) -> Vec<FakeEvent> {
        self.state()
            .events
            .values()
            .filter(|e| !e.deleted)
            .cloned()
            .collect()
    }

    /// One event, if still there.
    pub fn event(&self, id: &str) -> Option<FakeEvent> {
        self.state().events.get(id).filter(|e| !e.deleted).cloned()
    }

    /// How many creates made a new event (a create repeated with a known `transactionId`
    /// makes none).
    pub fn creates(&self) -> usize {
        self.state().creates
    }

    /// Every `POST /me/events`, repeats included.
    pub fn create_requests(&self) -> usize {
        self.state().create_requests
    }

    /// The host puts an event on the calendar in Outlook; returns its id.
    pub fn host_creates_event(
        &self,
        subject: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> String {
        let mut state = self.state();
        let id = state.event_id();
        let now = Utc::now();
        state.events.insert(
            id.clone(),
            FakeEvent {
                id: id.clone(),
                subject: subject.to_owned(),
                body_type: "text".into(),
                body: String::new(),
                start,
                end,
                location: None,
                show_as: "busy".into(),
                transaction_id: None,
                attendees: Vec::new(),
                is_cancelled: false,
                is_all_day: false,
                deleted: false,
                seq: 0,
                version: 0,
                created: now,
                modified: now,
            },
        );
        state.touch(&id);
        id
    }

    /// The host drags the event to new times. Returns false when there is no such event.
    pub fn host_moves_event(&self, id: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.change_event(id, |e| {
            e.start = start;
            e.end = end;
        })
    }

    /// The host deletes the event. Returns false when there is no such event.
    pub fn host_deletes_event(&self, id: &str) -> bool {
        self.change_event(id, |e| e.deleted = true)
    }

    /// The event is cancelled (`isCancelled`) but stays. Returns false when there is none.
    pub fn host_cancels_event(&self, id: &str) -> bool {
        self.change_event(id, |e| e.is_cancelled = true)
    }

    fn change_event(&self, id: &str, change: impl FnOnce(&mut FakeEvent)) -> bool {
        let mut state = self.state();
        let Some(event) = state.events.get_mut(id).filter(|e| !e.deleted) else {
            return false;
        };
        change(event);
        state.touch(id);
        true
    }

    /// Whether a create repeating a known `transactionId` is refused with 409 instead of
    /// answered with the event already made (default: answered). The adapter then finds the
    /// event with `GET /me/events?$filter=transactionId eq '…'`.
    pub fn conflict_on_repeated_transaction(&self, on: bool) {
        self.state().conflict_on_repeated_transaction = on;
    }

    /// The next create stores the event, then breaks off its answer (a lost response).
    pub fn drop_next_create_response(&self) {
        self.state().drop_next_create = true;
    }

    // ---- busy times ----

    /// Busy blocks on the account's schedule, besides its events.
    pub fn set_busy(&self, blocks: Vec<BusyBlock>) {
        self.state().busy = blocks;
    }

    /// getSchedule reports this `responseCode` as the account's error (or none).
    pub fn set_schedule_error(&self, response_code: Option<&str>) {
        self.state().schedule_error = response_code.map(str::to_owned);
    }

    // ---- delta ----

    /// Every delta and skip token handed out so far answers 410 Gone (`SyncStateNotFound`).
    pub fn expire_delta_tokens(&self) {
        self.expire_delta_tokens_with(410, "SyncStateNotFound");
    }

    /// Every delta and skip token handed out so far, and any unknown one, answers `status`
    /// with error `code` (e.g. 400 `resyncRequired`).
    pub fn expire_delta_tokens_with(&self, status: u16, code: &str) {
        let mut state = self.state();
        state.delta_tokens.clear();
        state.skip_tokens.clear();
        state.expired_delta_answer = (status, code.to_owned());
    }

    /// How many events a delta page holds (default 10).
    pub fn set_page_size(&self, size: usize) {
        self.state().page_size = size;
    }

    /// Delta requests served so far, pages included.
    pub fn delta_requests(&self) -> usize {
        self.state().delta_requests
    }

    // ---- subscriptions ----

    /// Live subscriptions.
    pub fn subscriptions(&self) -> Vec<FakeSubscription> {
        self.state().subscriptions.values().cloned().collect()
    }

    /// One live subscription.
    pub fn subscription(&self, id: &str) -> Option<FakeSubscription> {
        self.state().subscriptions.get(id).cloned()
    }

    /// Ids of subscriptions deleted through the API.
    pub fn deleted_subscriptions(&self) -> Vec<String> {
        self.state().deleted_subscriptions.clone()
    }

    /// Graph removes a subscription by itself (then sends `subscriptionRemoved`).
    pub fn remove_subscription(&self, id: &str) -> Option<FakeSubscription> {
        self.state().subscriptions.remove(id)
    }

    /// Grant subscriptions at most `lifetime` from now, less than asked (default: Graph's
    /// 10,080 minutes).
    pub fn cap_subscription_lifetime(&self, lifetime: TimeDelta) {
        self.state().subscription_cap = lifetime;
    }

    /// Whether creating a subscription first runs Graph's validation handshake against its
    /// notification and lifecycle URLs (off by default).
    pub fn set_validation(&self, on: bool) {
        self.state().validate_notification_urls = on;
    }

    /// A change notification for `event_id` on subscription `subscription_id`, with the
    /// subscription's own `clientState`. `None` for an unknown subscription.
    pub fn change_notification(
        &self,
        subscription_id: &str,
        change_type: &str,
        event_id: &str,
    ) -> Option<Notification> {
        let state = self.state();
        let subscription = state.subscriptions.get(subscription_id)?;
        let resource = format!("Users/{USER_ID}/Events/{event_id}");
        let etag = state
            .events
            .get(event_id)
            .map(FakeEvent::change_key)
            .unwrap_or_default();
        Some(Notification(json!({
            "value": [{
                "subscriptionId": subscription.id,
                "subscriptionExpirationDateTime": wire_instant(subscription.expires_at),
                "changeType": change_type,
                "resource": resource,
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.Event",
                    "@odata.id": resource,
                    "@odata.etag": format!("W/\"{etag}\""),
                    "id": event_id,
                },
                "clientState": subscription.client_state,
                "tenantId": http::tenant_id(),
            }]
        })))
    }

    /// A lifecycle notification for subscription `subscription_id` (which may already have
    /// been removed: `subscriptionRemoved` is sent after). `None` if it never existed here.
    pub fn lifecycle_notification(
        &self,
        subscription_id: &str,
        event: Lifecycle,
    ) -> Option<Notification> {
        let state = self.state();
        let subscription = state.subscriptions.get(subscription_id)?;
        Some(Notification(json!({
            "value": [{
                "subscriptionId": subscription.id,
                "subscriptionExpirationDateTime": wire_instant(subscription.expires_at),
                "tenantId": http::tenant_id(),
                "clientState": subscription.client_state,
                "lifecycleEvent": event.as_str(),
            }]
        })))
    }

    /// POSTs `notification` to `url` as Graph does; returns the answer's status code.
    ///
    /// # Errors
    /// When `url` cannot be reached.
    pub async fn notify(url: &str, notification: &Notification) -> Result<u16, reqwest::Error> {
        let response = reqwest::Client::new()
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(notification.0.to_string())
            .send()
            .await?;
        Ok(response.status().as_u16())
    }

    // ---- failures ----

    /// The next `count` calls (token endpoint and Graph) answer `status` (503, 429 …) with
    /// `Retry-After: retry_after_seconds` when given.
    pub fn fail_next(&self, count: usize, status: u16, retry_after_seconds: Option<u64>) {
        let mut state = self.state();
        for _ in 0..count {
            state.failures.push(Failure {
                status,
                retry_after_seconds,
            });
        }
    }

    /// Requests that matched no route (a test's first clue when the adapter calls a wrong URL).
    pub fn unmatched(&self) -> Vec<String> {
        self.state().unmatched.clone()
    }
}

/// Graph's validation handshake: POST `?validationToken=…` to `url`; the endpoint must answer
/// 200 with the token as plain text.
pub async fn validation_handshake(url: &str) -> bool {
    let token = format!(
        "Validation: Testing client application reachability for subscription Request-Id: {}",
        Utc::now().timestamp_micros()
    );
    let Ok(mut target) = url::Url::parse(url) else {
        return false;
    };
    target
        .query_pairs_mut()
        .append_pair("validationToken", &token);
    let answer = reqwest::Client::new()
        .post(target)
        .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await;
    match answer {
        Ok(response) if response.status().as_u16() == 200 => {
            let plain = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/plain"));
            plain && response.text().await.is_ok_and(|body| body == token)
        }
        _ => false,
    }
}
