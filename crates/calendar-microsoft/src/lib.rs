//! Microsoft 365 / Outlook calendars for Slotkeeper: the [`CalendarProvider`] port over
//! Microsoft Graph.
//!
//! [`MicrosoftCalendar`] speaks for one OAuth client (an Entra ID app registration). Sign-in is
//! the authorization code flow with PKCE against the Microsoft identity platform (the `oauth2`
//! crate); every other call goes to Graph through `graph-rs-sdk`, whose answers are untyped JSON
//! read into this crate's own serde types ([`wire`]).
//!
//! How the port maps onto Graph:
//!
//! - busy times: `POST /me/calendar/getSchedule` over the account's mailbox;
//! - write-through: `POST /me/events` with `transactionId` set to the chain's event id, so a
//!   create retried after a lost response gives back the event already made. Graph assigns its
//!   own event ids: [`CalendarProvider::create_event`] returns that id and callers use it from
//!   then on. No attendees are added (Exchange would mail them an invitation of its own); the
//!   attendee is named in the body;
//! - push: a subscription on `me/events` whose id is the [`PushChannel::id`] (notifications
//!   carry it as `subscriptionId`), extended in place with `PATCH expirationDateTime`;
//! - sync: the `calendarView` delta query over a window from 30 days back to 400 days ahead;
//!   the sync token is the delta link's `$deltatoken`.
//!
//! Access tokens are used as given and never logged: they only travel in `Authorization`
//! headers, and error messages carry status codes and Graph's error codes only.

mod oauth;
pub mod wire;

use std::time::Duration;

use async_trait::async_trait;
use booking_core::calendar::{
    CalendarEvent, CalendarProvider, ChangeBatch, OAuthTokens, Provider, ProviderError,
    PushChannel, RemoteChange, RemoteEventState, Secret,
};
use booking_core::time::TimeRange;
use chrono::{DateTime, TimeDelta, Utc};
use graph_rs_sdk::http::Url;
use graph_rs_sdk::{GraphClient, GraphClientConfiguration, GraphFailure};
use reqwest::header::{HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::json;
use thiserror::Error;

use crate::wire::{
    DeltaPage, EventBody, EventList, GraphErrorBody, GraphEvent, Me, ScheduleAnswer, Subscription,
    graph_time,
};

/// The real Microsoft identity platform.
pub const DEFAULT_AUTHORITY_URL: &str = "https://login.microsoftonline.com";
/// The real Microsoft Graph.
pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com";
/// The tenant that lets both work/school and personal Microsoft accounts sign in.
pub const DEFAULT_TENANT: &str = "common";
/// What Slotkeeper asks the host to grant: refresh tokens, their calendars, their address.
pub const SCOPES: [&str; 3] = ["offline_access", "Calendars.ReadWrite", "User.Read"];

/// The longest a subscription on Outlook events may live without resource data (just under
/// seven days).
pub const MAX_SUBSCRIPTION_TTL: TimeDelta = TimeDelta::minutes(10_080);
/// Kept off the maximum so the request's transit time cannot push the asked expiry past it.
const SUBSCRIPTION_MARGIN: TimeDelta = TimeDelta::minutes(15);
/// The resource every subscription watches, also the channel's `resource_id`.
pub const SUBSCRIPTION_RESOURCE: &str = "me/events";

/// How far back and ahead the delta query looks. Bookings are in the future; the past month
/// covers meetings moved to just before today.
const SYNC_WINDOW_BACK: TimeDelta = TimeDelta::days(30);
const SYNC_WINDOW_AHEAD: TimeDelta = TimeDelta::days(400);
/// A bound on delta pages per run, so a server that keeps linking cannot loop us forever.
const MAX_DELTA_PAGES: usize = 10_000;
/// Per-request timeout: Graph calls sit on the booking path (busy times).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Graph's error codes for a delta token it no longer knows.
const EXPIRED_SYNC_CODES: [&str; 3] = ["syncstatenotfound", "resyncrequired", "syncstateinvalid"];

/// Settings of the Microsoft connection: the app registration and where to reach Microsoft.
#[derive(Debug, Clone)]
pub struct MicrosoftConfig {
    /// The app registration's application (client) id.
    pub client_id: String,
    /// The app registration's client secret.
    pub client_secret: Secret,
    /// Directory to sign in against; `common` allows any account.
    pub tenant: String,
    /// Identity platform root; `/{tenant}/oauth2/v2.0/authorize` and `/token` are appended.
    pub authority_url: String,
    /// Graph root; `/v1.0/…` is appended. An `http://` URL is spoken as plain HTTP.
    pub graph_url: String,
}

impl MicrosoftConfig {
    /// A configuration for the real Microsoft endpoints and the `common` tenant.
    pub fn new(client_id: impl Into<String>, client_secret: Secret) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret,
            tenant: DEFAULT_TENANT.to_owned(),
            authority_url: DEFAULT_AUTHORITY_URL.to_owned(),
            graph_url: DEFAULT_GRAPH_URL.to_owned(),
        }
    }
}

/// A [`MicrosoftConfig`] that cannot work.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// One of the URLs (after appending the paths) is not a URL.
    #[error("{setting} is not a valid URL: {value:?}")]
    InvalidUrl {
        /// Which setting.
        setting: &'static str,
        /// The URL as built.
        value: String,
    },
    /// The HTTP client for the token endpoint could not be built.
    #[error("cannot build the HTTP client")]
    Http(#[source] reqwest::Error),
}

/// The Microsoft Graph calendar adapter.
#[derive(Debug, Clone)]
pub struct MicrosoftCalendar {
    oauth: oauth::Endpoints,
    /// `{graph_url}/v1.0`, the endpoint graph-rs-sdk builds its paths on.
    graph_endpoint: Url,
}

impl MicrosoftCalendar {
    /// An adapter for `config`.
    ///
    /// # Errors
    /// [`ConfigError`] when a URL in `config` does not parse.
    pub fn new(config: MicrosoftConfig) -> Result<Self, ConfigError> {
        let graph = format!("{}/v1.0", config.graph_url.trim_end_matches('/'));
        let graph_endpoint = Url::parse(&graph).map_err(|_| ConfigError::InvalidUrl {
            setting: "graph_url",
            value: graph,
        })?;
        Ok(Self {
            oauth: oauth::Endpoints::new(config)?,
            graph_endpoint,
        })
    }

    /// A Graph client carrying `access` as its bearer token. The client is cheap next to the
    /// network call it makes, and building one per call keeps the token out of any shared state.
    fn graph(&self, access: &Secret) -> GraphClient {
        let mut client = GraphClient::from(
            GraphClientConfiguration::new()
                .access_token(access.expose())
                .timeout(REQUEST_TIMEOUT)
                .https_only(false),
        );
        client.use_test_endpoint(&self.graph_endpoint);
        client
    }

    /// The account's address: `mail`, else `userPrincipalName` (accounts without a mailbox
    /// address, e.g. some personal ones).
    async fn account_email(&self, access: &Secret) -> Result<String, ProviderError> {
        let me: Me = fetch(
            self.graph(access).me().get_user().send(),
            "read the account",
        )
        .await?;
        me.mail
            .filter(|m| !m.is_empty())
            .or(me.user_principal_name)
            .ok_or_else(|| ProviderError::Permanent("the account has no address".into()))
    }

    /// A URL Graph gave us (`@odata.nextLink`, a stored delta link) — only followed when it
    /// points at the configured Graph endpoint, so the bearer token goes nowhere else.
    fn own_link(&self, link: &str) -> Result<Url, ProviderError> {
        let url = Url::parse(link)
            .map_err(|_| ProviderError::Permanent("Graph sent a link that is not a URL".into()))?;
        let own = &self.graph_endpoint;
        let same_origin = url.scheme() == own.scheme()
            && url.host_str() == own.host_str()
            && url.port_or_known_default() == own.port_or_known_default();
        if same_origin && url.path().starts_with(own.path().trim_end_matches('/')) {
            Ok(url)
        } else {
            Err(ProviderError::Permanent(
                "Graph sent a link to another host".into(),
            ))
        }
    }

    /// The port's view of one delta entry. An entry removed for any reason but `deleted`
    /// (Graph says `changed` when an event left the window or the view) is not proof of a
    /// deletion: the event is fetched to see whether it still exists and where it is now.
    async fn change_of(
        &self,
        access: &Secret,
        entry: GraphEvent,
    ) -> Result<RemoteChange, ProviderError> {
        let state = match &entry.removed {
            Some(removed) if !removed.reason.eq_ignore_ascii_case("deleted") => {
                self.event_state(access, "primary", &entry.id).await?
            }
            _ => entry.state(),
        };
        Ok(RemoteChange {
            event_id: entry.id,
            state,
        })
    }

    /// The id of the event created with `transaction_id`.
    async fn event_with_transaction(
        &self,
        access: &Secret,
        transaction_id: &str,
    ) -> Result<String, ProviderError> {
        let filter = format!("transactionId eq '{}'", transaction_id.replace('\'', "''"));
        let request = self
            .graph(access)
            .me()
            .events()
            .list_events()
            .append_query_pair("$filter", filter.as_str())
            .append_query_pair("$select", "id");
        let found: EventList = fetch(request.send(), "find the created event").await?;
        found.value.into_iter().next().map(|e| e.id).ok_or_else(|| {
            ProviderError::Permanent(
                "Graph refused the create as a duplicate but has no event for it".into(),
            )
        })
    }

    /// One delta round from its first request to the delta link.
    async fn delta_round(
        &self,
        access: &Secret,
        start: DeltaStart<'_>,
    ) -> Result<Result<ChangeBatch, ExpiredToken>, ProviderError> {
        let client = self.graph(access);
        let mut request = client
            .me()
            .calendar_views()
            .delta()
            .header(PREFER, utc_preference());
        match start {
            DeltaStart::Window(window) => {
                request = request
                    .append_query_pair("startDateTime", graph_time(window.start()).as_str())
                    .append_query_pair("endDateTime", graph_time(window.end()).as_str());
            }
            DeltaStart::Token(token) if token.starts_with("http") => {
                *request.as_mut() = self.own_link(token)?;
            }
            DeltaStart::Token(token) => {
                request = request.append_query_pair("$deltatoken", token);
            }
        }
        let mut changes = Vec::new();
        for _ in 0..MAX_DELTA_PAGES {
            let response = send(request.send(), "read calendar changes").await?;
            if !response.status().is_success() {
                let refusal = Refusal::read(response).await;
                if matches!(start, DeltaStart::Token(_)) && refusal.sync_state_lost() {
                    return Ok(Err(ExpiredToken));
                }
                return Err(refusal.into_error("read calendar changes"));
            }
            let page: DeltaPage = read_json(response, "read calendar changes").await?;
            for entry in page.value {
                changes.push(self.change_of(access, entry).await?);
            }
            if let Some(next) = page.next_link {
                request = client
                    .me()
                    .calendar_views()
                    .delta()
                    .header(PREFER, utc_preference());
                *request.as_mut() = self.own_link(&next)?;
                continue;
            }
            let link = page.delta_link.ok_or_else(|| {
                ProviderError::Permanent("a delta page had neither a next nor a delta link".into())
            })?;
            return Ok(Ok(ChangeBatch {
                changes,
                next_sync_token: sync_token_of(&link),
                full_resync: matches!(start, DeltaStart::Window(_)),
            }));
        }
        Err(ProviderError::Permanent(
            "the delta query did not end".into(),
        ))
    }
}

/// Where a delta round starts.
#[derive(Debug, Clone, Copy)]
enum DeltaStart<'a> {
    /// A full listing of this window.
    Window(TimeRange),
    /// Changes since this `$deltatoken` (or full delta link).
    Token(&'a str),
}

/// Graph no longer knows the delta token.
#[derive(Debug)]
struct ExpiredToken;

const PREFER: HeaderName = HeaderName::from_static("prefer");

/// Asks Graph for event times in UTC rather than the mailbox's zone.
fn utc_preference() -> HeaderValue {
    HeaderValue::from_static("outlook.timezone=\"UTC\"")
}

/// The token to store for the next round: the delta link's `$deltatoken`, or the whole link
/// when it has none.
fn sync_token_of(delta_link: &str) -> String {
    Url::parse(delta_link)
        .ok()
        .and_then(|url| {
            url.query_pairs()
                .find(|(key, _)| key == "$deltatoken")
                .map(|(_, value)| value.into_owned())
        })
        .unwrap_or_else(|| delta_link.to_owned())
}

/// Sends a built Graph request; failing to reach Graph at all is transient.
async fn send(
    sending: impl Future<Output = Result<Response, GraphFailure>>,
    what: &str,
) -> Result<Response, ProviderError> {
    sending.await.map_err(|failure| {
        let network = match &failure {
            GraphFailure::ReqwestError(error) => Some(error),
            // The tower service in front of reqwest boxes its errors.
            GraphFailure::Other(boxed) => boxed.downcast_ref::<reqwest::Error>(),
            _ => None,
        };
        match network {
            Some(error) => ProviderError::Transient {
                message: format!("cannot {what}: {}", without_url(error)),
                retry_after: None,
            },
            None => ProviderError::Permanent(format!("cannot {what}: {}", failure_kind(&failure))),
        }
    })
}

/// A reqwest error's text without its URL (delta links carry tokens of their own).
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    kind.to_owned()
}

/// A short name for a non-network graph-rs-sdk failure (its `Display` may carry headers).
fn failure_kind(failure: &GraphFailure) -> &'static str {
    match failure {
        GraphFailure::UrlParse(_) => "invalid URL",
        GraphFailure::SerdeJson(_) => "invalid JSON",
        _ => "the Graph client refused the request",
    }
}

/// Why Graph refused a request, as read from its answer.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    retry_after: Option<TimeDelta>,
    /// Graph's `error.code` (empty when the body was not Graph's error JSON).
    code: String,
    message: String,
}

impl Refusal {
    async fn read(response: Response) -> Self {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(parse_retry_after);
        let body = response.bytes().await.unwrap_or_default();
        let (code, message) = match serde_json::from_slice::<GraphErrorBody>(&body) {
            Ok(body) => (body.error.code, body.error.message),
            Err(_) => (String::new(), String::new()),
        };
        Self {
            status,
            retry_after,
            code,
            message,
        }
    }

    /// Graph no longer knows the delta token: start over with a full listing.
    fn sync_state_lost(&self) -> bool {
        self.status == StatusCode::GONE
            || EXPIRED_SYNC_CODES.contains(&self.code.to_ascii_lowercase().as_str())
    }

    /// 401 → unauthorized, 404/410 → not found, 408/429/5xx → transient with `Retry-After`,
    /// other 4xx → permanent.
    fn into_error(self, what: &str) -> ProviderError {
        let Self {
            status,
            retry_after,
            code,
            message,
        } = self;
        let message = if code.is_empty() {
            format!("cannot {what}: HTTP {}", status.as_u16())
        } else {
            format!("cannot {what}: HTTP {} {code}: {message}", status.as_u16())
        };
        match status {
            StatusCode::UNAUTHORIZED => ProviderError::Unauthorized(message),
            StatusCode::NOT_FOUND | StatusCode::GONE => ProviderError::NotFound(message),
            StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => {
                ProviderError::Transient {
                    message,
                    retry_after,
                }
            }
            s if s.is_server_error() => ProviderError::Transient {
                message,
                retry_after,
            },
            _ => ProviderError::Permanent(message),
        }
    }
}

/// Passes 2xx answers through and maps the rest with [`Refusal::into_error`].
async fn check(response: Response, what: &str) -> Result<Response, ProviderError> {
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(Refusal::read(response).await.into_error(what))
    }
}

/// `Retry-After` as seconds or as an HTTP date.
fn parse_retry_after(value: &HeaderValue) -> Option<TimeDelta> {
    let text = value.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(TimeDelta::seconds(seconds.max(0)));
    }
    let at = DateTime::parse_from_rfc2822(text).ok()?.with_timezone(&Utc);
    Some((at - Utc::now()).max(TimeDelta::zero()))
}

/// Sends, checks the status, reads the body as `T`.
async fn fetch<T: DeserializeOwned>(
    sending: impl Future<Output = Result<Response, GraphFailure>>,
    what: &str,
) -> Result<T, ProviderError> {
    read_json(send(sending, what).await?, what).await
}

/// Sends and checks the status; the body does not matter.
async fn perform(
    sending: impl Future<Output = Result<Response, GraphFailure>>,
    what: &str,
) -> Result<(), ProviderError> {
    check(send(sending, what).await?, what).await.map(drop)
}

/// Checks the status, then reads the body as `T`.
async fn read_json<T: DeserializeOwned>(
    response: Response,
    what: &str,
) -> Result<T, ProviderError> {
    let response = check(response, what).await?;
    let bytes = response
        .bytes()
        .await
        .map_err(|error| ProviderError::Transient {
            message: format!("cannot {what}: {}", without_url(&error)),
            retry_after: None,
        })?;
    serde_json::from_slice(&bytes).map_err(|error| {
        ProviderError::Permanent(format!("cannot {what}: unexpected answer: {error}"))
    })
}

/// Merges overlapping or touching ranges, in start order.
fn merge(mut ranges: Vec<TimeRange>) -> Vec<TimeRange> {
    ranges.sort_by_key(TimeRange::start);
    let mut merged: Vec<TimeRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start() <= last.end() => {
                if range.end() > last.end()
                    && let Ok(joined) = TimeRange::new(last.start(), range.end())
                {
                    *last = joined;
                }
            }
            _ => merged.push(range),
        }
    }
    merged
}

#[async_trait]
impl CalendarProvider for MicrosoftCalendar {
    fn provider(&self) -> Provider {
        Provider::Microsoft
    }

    fn pkce_verifier(&self) -> Secret {
        oauth::pkce_verifier()
    }

    fn authorize_url(
        &self,
        state: &str,
        pkce_verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<String, ProviderError> {
        self.oauth.authorize_url(state, pkce_verifier, redirect_uri)
    }

    async fn exchange_code(
        &self,
        code: &str,
        pkce_verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<(OAuthTokens, String), ProviderError> {
        let tokens = self
            .oauth
            .exchange_code(code, pkce_verifier, redirect_uri)
            .await?;
        let account = self.account_email(&tokens.access_token).await?;
        Ok((tokens, account))
    }

    async fn refresh(&self, refresh_token: &Secret) -> Result<OAuthTokens, ProviderError> {
        self.oauth.refresh(refresh_token).await
    }

    /// `calendars` are mailbox addresses for getSchedule; `primary` (or an empty list) stands
    /// for the connected account itself.
    async fn busy(
        &self,
        access: &Secret,
        calendars: &[String],
        within: TimeRange,
    ) -> Result<Vec<TimeRange>, ProviderError> {
        let mut schedules = Vec::with_capacity(calendars.len().max(1));
        for calendar in calendars {
            if calendar == "primary" {
                schedules.push(self.account_email(access).await?);
            } else {
                schedules.push(calendar.clone());
            }
        }
        if schedules.is_empty() {
            schedules.push(self.account_email(access).await?);
        }
        let body = json!({
            "schedules": schedules,
            "startTime": { "dateTime": graph_time(within.start()), "timeZone": "UTC" },
            "endTime": { "dateTime": graph_time(within.end()), "timeZone": "UTC" },
            "availabilityViewInterval": 15,
        });
        let request = self
            .graph(access)
            .me()
            .default_calendar()
            .get_schedule(&body);
        let answer: ScheduleAnswer = fetch(
            request.header(PREFER, utc_preference()).send(),
            "read busy times",
        )
        .await?;
        let mut busy = Vec::new();
        for schedule in answer.value {
            if let Some(error) = schedule.error {
                let message = format!(
                    "cannot read busy times of {}: {} {}",
                    schedule.schedule_id, error.response_code, error.message
                );
                return Err(
                    if error
                        .response_code
                        .to_ascii_lowercase()
                        .contains("notfound")
                    {
                        ProviderError::NotFound(message)
                    } else {
                        ProviderError::Transient {
                            message,
                            retry_after: None,
                        }
                    },
                );
            }
            for item in schedule.schedule_items {
                if item.blocks_time() {
                    busy.push(item.range()?);
                }
            }
        }
        Ok(merge(
            busy.into_iter().filter(|r| r.overlaps(&within)).collect(),
        ))
    }

    /// `calendar` is not used: events go to the account's default calendar (`me/events`),
    /// the one the subscription watches.
    async fn create_event(
        &self,
        access: &Secret,
        _calendar: &str,
        event_id: &str,
        event: &CalendarEvent,
    ) -> Result<String, ProviderError> {
        let mut body = EventBody::of(event);
        body.transaction_id = Some(event_id.to_owned());
        let request = self.graph(access).me().events().create_events(&body);
        let response = send(request.send(), "create the event").await?;
        if response.status() == StatusCode::CONFLICT {
            // A mailbox may refuse the repeated transactionId instead of answering with the
            // event it made: look that event up.
            return self.event_with_transaction(access, event_id).await;
        }
        let created: GraphEvent = read_json(response, "create the event").await?;
        Ok(created.id)
    }

    async fn update_event(
        &self,
        access: &Secret,
        _calendar: &str,
        event_id: &str,
        event: &CalendarEvent,
    ) -> Result<(), ProviderError> {
        let request = self
            .graph(access)
            .me()
            .event(event_id)
            .update_events(&EventBody::of(event));
        perform(request.send(), "update the event").await
    }

    async fn delete_event(
        &self,
        access: &Secret,
        _calendar: &str,
        event_id: &str,
    ) -> Result<(), ProviderError> {
        let request = self.graph(access).me().event(event_id).delete_events();
        match perform(request.send(), "delete the event").await {
            Ok(()) | Err(ProviderError::NotFound(_)) => Ok(()),
            Err(other) => Err(other),
        }
    }

    async fn event_state(
        &self,
        access: &Secret,
        _calendar: &str,
        event_id: &str,
    ) -> Result<RemoteEventState, ProviderError> {
        let request = self
            .graph(access)
            .me()
            .event(event_id)
            .get_events()
            .header(PREFER, utc_preference());
        match fetch::<GraphEvent>(request.send(), "read the event").await {
            Ok(event) => Ok(event.state()),
            Err(ProviderError::NotFound(_)) => Ok(RemoteEventState::Deleted),
            Err(other) => Err(other),
        }
    }

    /// Creates a subscription on `me/events`. `channel_id` is not used: Graph names the
    /// subscription, and the returned [`PushChannel::id`] is Graph's id, which notifications
    /// carry as `subscriptionId`. `address` receives both change and lifecycle notifications.
    /// `ttl` is capped just under Graph's 10,080-minute maximum.
    async fn watch(
        &self,
        access: &Secret,
        _calendar: &str,
        _channel_id: &str,
        channel_token: &Secret,
        address: &str,
        ttl: TimeDelta,
    ) -> Result<PushChannel, ProviderError> {
        let body = json!({
            "changeType": "created,updated,deleted",
            "notificationUrl": address,
            "lifecycleNotificationUrl": address,
            "resource": SUBSCRIPTION_RESOURCE,
            "expirationDateTime": subscription_expiry(ttl),
            "clientState": channel_token.expose(),
        });
        let request = self
            .graph(access)
            .subscriptions()
            .create_subscription(&body);
        let granted: Subscription = fetch(request.send(), "subscribe to calendar changes").await?;
        Ok(PushChannel {
            id: granted.id,
            token: channel_token.clone(),
            resource_id: SUBSCRIPTION_RESOURCE.to_owned(),
            expires_at: granted.expiration_date_time,
        })
    }

    async fn extend(
        &self,
        access: &Secret,
        channel: &PushChannel,
        ttl: TimeDelta,
    ) -> Result<Option<PushChannel>, ProviderError> {
        let body = json!({ "expirationDateTime": subscription_expiry(ttl) });
        let request = self
            .graph(access)
            .subscription(&channel.id)
            .update_subscription(&body);
        let granted: Subscription = fetch(request.send(), "extend the subscription").await?;
        Ok(Some(PushChannel {
            expires_at: granted.expiration_date_time,
            ..channel.clone()
        }))
    }

    async fn reauthorize(
        &self,
        access: &Secret,
        channel: &PushChannel,
    ) -> Result<(), ProviderError> {
        let request = self.graph(access).subscription(&channel.id).reauthorize();
        perform(request.send(), "reauthorize the subscription").await
    }

    async fn stop(&self, access: &Secret, channel: &PushChannel) -> Result<(), ProviderError> {
        let request = self
            .graph(access)
            .subscription(&channel.id)
            .delete_subscription();
        match perform(request.send(), "delete the subscription").await {
            Ok(()) | Err(ProviderError::NotFound(_)) => Ok(()),
            Err(other) => Err(other),
        }
    }

    /// The delta query over the default calendar's view. An expired token (410 Gone, or
    /// `syncStateNotFound` / `resyncRequired`) falls back to a full listing.
    async fn changes(
        &self,
        access: &Secret,
        _calendar: &str,
        sync_token: Option<&str>,
    ) -> Result<ChangeBatch, ProviderError> {
        if let Some(token) = sync_token
            && let Ok(batch) = self.delta_round(access, DeltaStart::Token(token)).await?
        {
            return Ok(batch);
        }
        let now = Utc::now();
        let window = TimeRange::new(now - SYNC_WINDOW_BACK, now + SYNC_WINDOW_AHEAD)
            .map_err(|_| ProviderError::Permanent("empty sync window".into()))?;
        match self.delta_round(access, DeltaStart::Window(window)).await? {
            Ok(batch) => Ok(batch),
            Err(ExpiredToken) => Err(ProviderError::Permanent(
                "a full listing was refused".into(),
            )),
        }
    }
}

/// The expiry to ask for: now + `ttl`, at most just under Graph's maximum.
fn subscription_expiry(ttl: TimeDelta) -> String {
    let ttl = ttl
        .min(MAX_SUBSCRIPTION_TTL - SUBSCRIPTION_MARGIN)
        .max(TimeDelta::minutes(1));
    graph_time_z(Utc::now() + ttl)
}

/// An instant as Graph writes `expirationDateTime`.
fn graph_time_z(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_tokens_are_the_delta_token_or_the_whole_link() {
        assert_eq!(
            sync_token_of(
                "https://graph.microsoft.com/v1.0/me/calendarView/delta?$deltatoken=abc%3D"
            ),
            "abc="
        );
        assert_eq!(
            sync_token_of("https://graph.example/x?other=1"),
            "https://graph.example/x?other=1"
        );
    }

    #[test]
    fn only_links_to_the_configured_graph_are_followed() {
        let mut config = MicrosoftConfig::new("id", Secret::new("secret"));
        config.graph_url = "https://graph.microsoft.com/".into();
        let adapter = MicrosoftCalendar::new(config).unwrap_or_else(|e| panic!("{e}"));
        let own = "https://graph.microsoft.com/v1.0/me/calendarView/delta?$skiptoken=a";
        assert!(adapter.own_link(own).is_ok());
        for foreign in [
            "https://graph.microsoft.com.evil.example/v1.0/me",
            "http://graph.microsoft.com/v1.0/me",
            "https://graph.microsoft.com:8443/v1.0/me",
            "https://evil.example/v1.0/me?https://graph.microsoft.com/v1.0",
            "https://graph.microsoft.com/beta/me",
            "not a url",
        ] {
            assert!(adapter.own_link(foreign).is_err(), "{foreign}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(
            parse_retry_after(&HeaderValue::from_static("7")),
            Some(TimeDelta::seconds(7))
        );
        assert_eq!(
            parse_retry_after(&HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT")),
            Some(TimeDelta::zero())
        );
        assert_eq!(parse_retry_after(&HeaderValue::from_static("soon")), None);
    }

    #[test]
    fn expiry_is_capped_under_the_maximum() {
        let asked = subscription_expiry(TimeDelta::days(30));
        let at = DateTime::parse_from_rfc3339(&asked).map(|t| t.with_timezone(&Utc));
        let at = at.unwrap_or_else(|_| panic!("not RFC 3339: {asked}"));
        assert!(at < Utc::now() + MAX_SUBSCRIPTION_TTL - TimeDelta::minutes(10));
        assert!(at > Utc::now() + TimeDelta::days(6));
    }

    #[test]
    fn merging_joins_overlaps_and_keeps_gaps() {
        let at = |h: i64| DateTime::<Utc>::UNIX_EPOCH + TimeDelta::hours(h);
        let r = |a, b| TimeRange::new(at(a), at(b)).unwrap_or_else(|_| panic!("empty"));
        assert_eq!(
            merge(vec![r(5, 6), r(1, 3), r(2, 4), r(4, 5)]),
            vec![r(1, 6)]
        );
        assert_eq!(merge(vec![r(3, 4), r(1, 2)]), vec![r(1, 2), r(3, 4)]);
    }
}
