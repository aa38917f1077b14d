//! The one place where failures become HTTP answers. [`Failure`] says what went wrong and maps
//! it to a status, a problem `type`, a title and a detail; [`Error`] is the one error type
//! handlers return (it implements [`ResponseError`]) and renders a failure for its audience:
//! an RFC 9457 problem document for the APIs, an HTML page for the public pages and the
//! host's dashboard. Internal causes are logged with their whole chain ([`chain`]), never shown.

use std::marker::PhantomData;

use actix_web::cookie::Cookie;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use booking_core::TokenRefusal;
use booking_core::calendar_sync::{PushCheckError, PushRefused};
use booking_core::desk::DeskError;
use booking_core::service::{BookError, HostActionError, SlotsError, TokenActionError};
use booking_core::subscriptions::SubscriptionError;
use serde::Serialize;

use crate::headers::token_page;
use crate::views::message;

/// What went wrong, in terms a client can act on.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No such link or booking (unknown and malformed tokens look the same; another host's
    /// row looks missing).
    NotFound,
    /// The token no longer works for this.
    Refused(TokenRefusal),
    /// The chosen time is not offered (any more).
    SlotUnavailable,
    /// Rescheduling to the time it already has.
    SameSlot,
    /// The chosen time is not one the link offers even when free (outside the host's hours,
    /// too soon, off its grid): nobody took it.
    SlotNotOffered,
    /// Input that cannot even be read (malformed JSON, wrong types).
    Malformed(String),
    /// Input that does not make sense, with a message fit to show.
    Invalid(String),
    /// A method the resource does not serve; the methods it does, for `Allow`.
    MethodNotAllowed(&'static str),
    /// A request body over the limit (in KiB).
    TooLarge(usize),
    /// The host's calendar could not be read, so no slot can be promised.
    CalendarUnavailable,
    /// This client made too many bookings lately; it may try again after this many seconds.
    TooManyBookings {
        /// Seconds until the client's count starts again (at most).
        retry_after: i64,
    },
    /// No usable API key; the detail says what to send.
    Unauthorized(&'static str),
    /// The booking's state does not allow the host's action; the detail says why.
    HostRefused(String),
    /// Another link already uses the slug.
    SlugTaken,
    /// A host form whose CSRF token is missing or wrong (or whose session changed).
    FormExpired,
    /// No valid session: go and log in, then come back to `wanted`.
    LoginRequired {
        /// The path (and query) to return to.
        wanted: String,
        /// The session-removal cookie to send along (boxed: it is large, and rare).
        removal: Box<Cookie<'static>>,
    },
    /// A calendar push notification that is not from a channel of ours (404 unknown or
    /// stopped, 403 wrong secret, 410 connection not active).
    PushRefused(PushRefused),
    /// The cron endpoint was called without its bearer secret (or none is configured).
    CronUnauthorized,
    /// A provider callback (an inbound text) whose signature does not match.
    SignatureRefused,
    /// The OAuth callback does not belong to a sign-in this browser started.
    SignInExpired,
    /// The calendar provider failed during the sign-in; the message says what to do.
    ProviderFailed(String),
    /// A limit on how often something may be done was reached; the detail says which.
    TooManyRequests(String),
    /// The database cannot serve right now (unreachable, out of space, overloaded): nothing
    /// was changed, and trying again shortly should work.
    Unavailable,
    /// `/readyz`: this instance should not take traffic yet; the detail says why.
    NotReady(String),
    /// `/metrics` without the configured bearer token.
    MetricsUnauthorized,
    /// A bug or an outage; the cause has been logged.
    Internal,
}

impl Failure {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized(_) | Self::CronUnauthorized | Self::MetricsUnauthorized => {
                StatusCode::UNAUTHORIZED
            }
            Self::FormExpired
            | Self::PushRefused(PushRefused::WrongSecret)
            | Self::SignatureRefused => StatusCode::FORBIDDEN,
            Self::PushRefused(PushRefused::UnknownChannel) => StatusCode::NOT_FOUND,
            Self::PushRefused(PushRefused::Inactive) => StatusCode::GONE,
            Self::SignInExpired => StatusCode::BAD_REQUEST,
            Self::ProviderFailed(_) => StatusCode::BAD_GATEWAY,
            Self::Refused(TokenRefusal::Expired) => StatusCode::GONE,
            Self::Refused(_)
            | Self::SlotUnavailable
            | Self::SlotNotOffered
            | Self::HostRefused(_)
            | Self::SlugTaken => StatusCode::CONFLICT,
            Self::SameSlot | Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::CalendarUnavailable | Self::Unavailable | Self::NotReady(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::TooManyBookings { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::LoginRequired { .. } => StatusCode::SEE_OTHER,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable, machine-readable name (the problem `type` ends with it).
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not-found",
            Self::Refused(TokenRefusal::AlreadyRescheduled) => "already-rescheduled",
            Self::Refused(TokenRefusal::Cancelled) => "already-cancelled",
            Self::Refused(TokenRefusal::Expired) => "meeting-started",
            Self::SlotUnavailable => "slot-unavailable",
            Self::SameSlot => "same-slot",
            Self::SlotNotOffered => "slot-not-offered",
            Self::Malformed(_) => "malformed-request",
            Self::Invalid(_) => "invalid-input",
            Self::MethodNotAllowed(_) => "method-not-allowed",
            Self::TooLarge(_) => "body-too-large",
            Self::CalendarUnavailable => "calendar-unavailable",
            Self::TooManyBookings { .. } => "too-many-bookings",
            Self::Unauthorized(_) => "unauthorized",
            Self::HostRefused(_) => "host-action-refused",
            Self::SlugTaken => "slug-taken",
            Self::FormExpired => "form-expired",
            Self::LoginRequired { .. } => "login-required",
            Self::PushRefused(PushRefused::UnknownChannel) => "unknown-channel",
            Self::PushRefused(PushRefused::WrongSecret) => "wrong-channel-secret",
            Self::PushRefused(PushRefused::Inactive) => "connection-inactive",
            Self::CronUnauthorized => "cron-unauthorized",
            Self::SignatureRefused => "bad-signature",
            Self::SignInExpired => "sign-in-expired",
            Self::ProviderFailed(_) => "calendar-provider-failed",
            Self::TooManyRequests(_) => "too-many-requests",
            Self::Unavailable => "temporarily-unavailable",
            Self::NotReady(_) => "not-ready",
            Self::MetricsUnauthorized => "metrics-unauthorized",
            Self::Internal => "internal",
        }
    }

    pub(crate) fn title(&self) -> &'static str {
        match self {
            Self::NotFound => "Not found",
            Self::Refused(TokenRefusal::AlreadyRescheduled) => "Booking already rescheduled",
            Self::Refused(TokenRefusal::Cancelled) => "Booking already cancelled",
            Self::Refused(TokenRefusal::Expired) => "The meeting has already started",
            Self::SlotUnavailable => "That time is no longer available",
            Self::SameSlot => "The booking is already at that time",
            Self::SlotNotOffered => "That time is not offered",
            Self::Malformed(_) => "Malformed request",
            Self::Invalid(_) => "Invalid input",
            Self::MethodNotAllowed(_) => "Method not allowed",
            Self::TooLarge(_) => "Request body too large",
            Self::CalendarUnavailable => "Availability cannot be checked right now",
            Self::TooManyBookings { .. } => "Too many bookings from your address",
            Self::Unauthorized(_) => "API key required",
            Self::HostRefused(_) => "Not possible in the booking's current state",
            Self::SlugTaken => "The slug is already taken",
            Self::FormExpired => "This form has expired",
            Self::LoginRequired { .. } => "Login required",
            Self::PushRefused(PushRefused::UnknownChannel) => "Unknown notification channel",
            Self::PushRefused(PushRefused::WrongSecret) => "Wrong channel secret",
            Self::PushRefused(PushRefused::Inactive) => "The calendar connection is not active",
            Self::CronUnauthorized => "Cron secret required",
            Self::SignatureRefused => "Signature does not match",
            Self::SignInExpired => "This sign-in attempt is not valid any more",
            Self::ProviderFailed(_) => "The calendar provider did not answer as expected",
            Self::TooManyRequests(_) => "Too many requests",
            Self::Unavailable => "Temporarily unavailable",
            Self::NotReady(_) => "Not ready",
            Self::MetricsUnauthorized => "Metrics token required",
            Self::Internal => "Something went wrong on our side",
        }
    }

    pub(crate) fn detail(&self) -> String {
        match self {
            Self::NotFound => "There is nothing here. Check that the link was copied completely.".into(),
            Self::Refused(TokenRefusal::AlreadyRescheduled) => {
                "This booking was moved to another time. The new reschedule and cancel links were sent to the attendee by email.".into()
            }
            Self::Refused(TokenRefusal::Cancelled) => "This booking was cancelled.".into(),
            Self::Refused(TokenRefusal::Expired) => "Bookings can be changed only until the meeting starts.".into(),
            Self::SlotUnavailable => "Someone else may have just taken it. Please pick another time.".into(),
            Self::SameSlot => "Pick a different time to reschedule.".into(),
            Self::SlotNotOffered => "It lies outside the host's hours or is not one of this link's times; nobody took it. Please pick one of the times shown.".into(),
            Self::Malformed(message)
            | Self::Invalid(message)
            | Self::HostRefused(message)
            | Self::TooManyRequests(message)
            | Self::NotReady(message) => message.clone(),
            Self::Unauthorized(detail) => (*detail).to_owned(),
            Self::MethodNotAllowed(allow) => format!("This resource answers {allow} only."),
            Self::TooLarge(kib) => format!("The request body may be at most {kib} KiB."),
            Self::SlugTaken => "Another link uses this slug; pick another.".into(),
            Self::FormExpired => "The form did not come from this site, or your session changed since it was shown. \
             Nothing was changed. Go back, reload the page and try again.".into(),
            Self::LoginRequired { .. } => "Log in to see this page.".into(),
            Self::CalendarUnavailable => "The host's calendar could not be read. Please try again in a few minutes.".into(),
            Self::TooManyBookings { retry_after } => format!(
                "Nothing was booked. Please try again in {} minutes.",
                (retry_after + 59) / 60
            ),
            Self::PushRefused(PushRefused::UnknownChannel) => "No calendar connection has a notification channel with this id; it may have been stopped.".into(),
            Self::PushRefused(PushRefused::WrongSecret) => "The channel's secret does not match. Nothing was done.".into(),
            Self::PushRefused(PushRefused::Inactive) => "The calendar connection behind this channel is no longer active. Stop sending notifications for it.".into(),
            Self::CronUnauthorized => "Send the configured cron secret as `Authorization: Bearer <CRON_SECRET>`.".into(),
            Self::SignatureRefused => "The X-Twilio-Signature header is missing or does not match this request. Nothing was recorded.".into(),
            Self::MetricsUnauthorized => "Send the configured metrics token as `Authorization: Bearer <METRICS_TOKEN>`.".into(),
            Self::SignInExpired => "This sign-in attempt is not valid any more. Start again from Settings → Integrations.".into(),
            Self::ProviderFailed(message) => message.clone(),
            Self::Unavailable => "Nothing was changed. Please try again in a few seconds.".into(),
            Self::Internal => "Please try again. If it keeps happening, contact the host.".into(),
        }
    }

    /// The problem document's body.
    pub(crate) fn problem_body(&self) -> Problem {
        Problem {
            kind: format!("https://slotkeeper.dev/problems/{}", self.code()),
            title: self.title().to_owned(),
            status: self.status().as_u16(),
            detail: Some(self.detail()),
        }
    }

    /// An RFC 9457 problem document.
    pub(crate) fn problem(&self) -> HttpResponse {
        let mut resp = self.hinted(
            HttpResponse::build(self.status())
                .content_type("application/problem+json")
                .body(serde_json::to_string(&self.problem_body()).unwrap_or_default()),
        );
        if matches!(
            self,
            Self::Unauthorized(_) | Self::CronUnauthorized | Self::MetricsUnauthorized
        ) {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"slotkeeper\""),
            );
        }
        if let Self::MethodNotAllowed(allow) = self {
            resp.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static(allow));
        }
        resp
    }

    /// A public page for the failure, with its status; it points to the home page.
    pub(crate) fn page(&self) -> HttpResponse {
        self.hinted(html(
            self.status(),
            message::refusal_page(self.title(), &self.detail(), None),
        ))
    }

    /// Adds `Retry-After` to the answer of a failure that passes by itself: the host's
    /// calendar cannot be read right now (a minute), the database is unavailable (seconds), a
    /// client's booking limit (until its window closes).
    fn hinted(&self, mut resp: HttpResponse) -> HttpResponse {
        let seconds = match self {
            Self::CalendarUnavailable => 60,
            Self::Unavailable | Self::NotReady(_) => 5,
            Self::TooManyBookings { retry_after } => (*retry_after).max(1),
            _ => return resp,
        };
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        resp
    }

    /// A token page's refusal (no referrer, no caching) with the next step from its booking
    /// (book again, write to the host), or, without one, the way to the home page.
    pub(crate) fn token_page_with(&self, next: Option<&message::NextStep>) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status());
        self.hinted(
            token_page(&mut builder)
                .content_type("text/html; charset=utf-8")
                .body(message::refusal_page(self.title(), &self.detail(), next).into_string()),
        )
    }

    /// A host dashboard page for the failure: private, never cached; a missing session
    /// redirects to the login page.
    pub(crate) fn host_page(&self) -> HttpResponse {
        let (title, detail) = match self {
            Self::LoginRequired { wanted, removal } => {
                return HttpResponse::SeeOther()
                    .insert_header((
                        header::LOCATION,
                        format!("/login?next={}", crate::headers::encode(wanted)),
                    ))
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .cookie((**removal).clone())
                    .finish();
            }
            Self::NotFound => (
                "Not found",
                "There is nothing here, or it is not yours to see.".to_owned(),
            ),
            Self::Internal => (
                "Something went wrong on our side",
                "Please try again. If it keeps happening, check the server log.".to_owned(),
            ),
            other => (other.title(), other.detail()),
        };
        self.hinted(
            HttpResponse::build(self.status())
                .content_type("text/html; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(message::message_page(title, &detail, None).into_string()),
        )
    }

    /// Logs `error`'s cause chain and answers as an internal failure, or as
    /// [`Failure::Unavailable`] when a store said somewhere in the chain that its database is
    /// unavailable right now.
    pub(crate) fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        if store_unavailable(error) {
            tracing::warn!(error = %chain(error), "database unavailable");
            return Self::Unavailable;
        }
        tracing::error!(error = %chain(error), "request failed");
        Self::Internal
    }
}

fn html(status: StatusCode, markup: maud::Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

/// An RFC 9457 problem document, as every API error answer carries it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Problem {
    /// `https://slotkeeper.dev/problems/<code>`.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub(crate) kind: String,
    pub(crate) title: String,
    pub(crate) status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<String>,
}

/// Whether `error` or one of its causes is a [`StoreError`](booking_core::ports::StoreError)
/// of an unavailable database.
fn store_unavailable(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.downcast_ref::<booking_core::ports::StoreError>()
            .is_some_and(booking_core::ports::StoreError::is_unavailable)
        {
            return true;
        }
        next = e.source();
    }
    false
}

/// "outer: inner: innermost", for logs: the one cause-chain formatter.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Who reads the answer, so how a [`Failure`] is rendered.
pub(crate) trait Audience: 'static {
    /// The answer for `failure`.
    fn render(failure: &Failure) -> HttpResponse;
}

/// JSON clients: problem documents.
#[derive(Debug)]
pub(crate) enum Api {}
/// The host's dashboard: HTML pages, login redirects.
#[derive(Debug)]
pub(crate) enum HostPage {}

impl Audience for Api {
    fn render(failure: &Failure) -> HttpResponse {
        failure.problem()
    }
}

impl Audience for HostPage {
    fn render(failure: &Failure) -> HttpResponse {
        failure.host_page()
    }
}

/// The error every handler returns: a [`Failure`], rendered for audience `A`.
pub(crate) struct Error<A: Audience = Api> {
    failure: Failure,
    audience: PhantomData<A>,
}

impl<A: Audience> std::fmt::Debug for Error<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.failure.fmt(f)
    }
}

impl<A: Audience> std::fmt::Display for Error<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.failure.title())
    }
}

impl<A: Audience> ResponseError for Error<A> {
    fn status_code(&self) -> StatusCode {
        self.failure.status()
    }

    fn error_response(&self) -> HttpResponse {
        A::render(&self.failure)
    }
}

impl<A: Audience> From<Failure> for Error<A> {
    fn from(failure: Failure) -> Self {
        Self {
            failure,
            audience: PhantomData,
        }
    }
}

/// Converts a library error into [`Failure`] and so into every [`Error`].
macro_rules! into_error {
    ($($source:ty),* $(,)?) => {$(
        impl<A: Audience> From<$source> for Error<A> {
            fn from(e: $source) -> Self {
                Failure::from(e).into()
            }
        }
    )*};
}

into_error!(
    SlotsError,
    BookError,
    TokenActionError,
    HostActionError,
    DeskError,
    SubscriptionError,
    PushCheckError,
    booking_core::ports::StoreError,
);

impl From<PushCheckError> for Failure {
    fn from(e: PushCheckError) -> Self {
        match e {
            PushCheckError::Refused(r) => Self::PushRefused(r),
            PushCheckError::Store(e) => Self::internal(&e),
        }
    }
}

impl From<HostActionError> for Failure {
    fn from(e: HostActionError) -> Self {
        match e {
            HostActionError::NotFound => Self::NotFound,
            HostActionError::Refused(r) => Self::HostRefused(format!("{r}.")),
            HostActionError::Store(e) => Self::internal(&e),
        }
    }
}

impl From<DeskError> for Failure {
    fn from(e: DeskError) -> Self {
        match e {
            DeskError::NotFound => Self::NotFound,
            DeskError::Store(e) => Self::internal(&e),
        }
    }
}

impl From<SubscriptionError> for Failure {
    fn from(e: SubscriptionError) -> Self {
        match e {
            SubscriptionError::NotFound | SubscriptionError::UnknownHost => Self::NotFound,
            SubscriptionError::Store(e) => Self::internal(&e),
        }
    }
}

impl From<SlotsError> for Failure {
    fn from(e: SlotsError) -> Self {
        match e {
            SlotsError::LinkNotFound => Self::NotFound,
            SlotsError::WindowTooLong | SlotsError::OutsideHorizon(_) => {
                Self::Invalid(e.to_string())
            }
            SlotsError::Calendar(ref c) => {
                tracing::warn!(error = %c, "calendar unavailable");
                Self::CalendarUnavailable
            }
            SlotsError::Store(ref s) => Self::internal(s),
        }
    }
}

impl From<BookError> for Failure {
    fn from(e: BookError) -> Self {
        match e {
            BookError::LinkNotFound => Self::NotFound,
            BookError::SlotUnavailable => Self::SlotUnavailable,
            BookError::OutsideHorizon(_) | BookError::Invalid(_) => Self::Invalid(e.to_string()),
            BookError::Calendar(ref c) => {
                tracing::warn!(error = %c, "calendar unavailable");
                Self::CalendarUnavailable
            }
            BookError::Store(ref s) => Self::internal(s),
        }
    }
}

impl From<TokenActionError> for Failure {
    fn from(e: TokenActionError) -> Self {
        match e {
            TokenActionError::NotFound => Self::NotFound,
            TokenActionError::Refused(r) => Self::Refused(r),
            TokenActionError::SlotUnavailable => Self::SlotUnavailable,
            TokenActionError::SameSlot => Self::SameSlot,
            TokenActionError::NotOffered => Self::SlotNotOffered,
            TokenActionError::OutsideHorizon(_) => Self::Invalid(e.to_string()),
            TokenActionError::Calendar(ref c) => {
                tracing::warn!(error = %c, "calendar unavailable");
                Self::CalendarUnavailable
            }
            TokenActionError::Store(ref s) => Self::internal(s),
        }
    }
}

impl From<booking_core::ports::StoreError> for Failure {
    fn from(e: booking_core::ports::StoreError) -> Self {
        Self::internal(&e)
    }
}

into_error!(booking_core::service::HostRescheduleError);

impl From<booking_core::service::HostRescheduleError> for Failure {
    fn from(e: booking_core::service::HostRescheduleError) -> Self {
        use booking_core::service::HostRescheduleError as E;
        match e {
            E::NotFound => Self::NotFound,
            E::Refused(r) => Self::HostRefused(format!("The meeting cannot be moved: {r}.")),
            E::SameSlot => Self::SameSlot,
            E::OutsideHours => Self::Invalid(
                "That time is outside the hours of this meeting's link. Allow a time outside your \
                 hours to move it there anyway."
                    .into(),
            ),
            E::InThePast => Self::Invalid("That time has already passed; pick a later one.".into()),
            E::SlotTaken => Self::SlotUnavailable,
            E::OutsideHorizon(_) => Self::Invalid(e.to_string()),
            E::Calendar(ref c) => {
                tracing::warn!(error = %c, "calendar unavailable");
                Self::CalendarUnavailable
            }
            E::Store(ref s) => Self::internal(s),
        }
    }
}
