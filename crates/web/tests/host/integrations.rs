//! Calendar integrations on the web side: `/settings/integrations` (list, connect, the OAuth
//! callback, disconnect), the disconnect banner, the booking detail's Calendar line, the
//! providers' push endpoints and the renewal cron endpoint — over booking-core's
//! `ConnectedCalendars` on the in-memory store with `InMemoryCalendar` providers and a
//! `SyncRequests` that records what it is asked.

use std::sync::{Arc, Mutex};

use actix_web::cookie::Cookie;
use actix_web::dev::ServiceResponse;
use actix_web::test::{TestRequest, call_service};
use booking_core::calendar::{ConnectionStatus, OAuthTokens, Provider, PushChannel, Secret};
use booking_core::calendar_sync::{CalendarSettings, ConnectedCalendars, SyncRequests};
use booking_core::connections::{CalendarConnection, CalendarConnections, ConnectionId};
use booking_core::effects::CalendarOp;
use booking_core::testkit::{InMemoryCalendar, InMemoryStore, ManualClock, SequentialTokens};
use chrono::TimeDelta;
use web::CalendarSide;

use crate::helpers::{HANA_PASSWORD, OTTO_PASSWORD};
use crate::helpers::{TestApp, at, body, csrf_of, form, get, header, setup};
use crate::{logged_in, send, service};

pub type Calendars = ConnectedCalendars<InMemoryStore, ManualClock, SequentialTokens>;

/// Remembers every connection a sync was asked for.
#[derive(Debug, Default)]
pub struct RecordedSyncs(Mutex<Vec<ConnectionId>>);

impl RecordedSyncs {
    pub fn taken(&self) -> Vec<ConnectionId> {
        self.0.lock().unwrap().clone()
    }
}

impl SyncRequests for RecordedSyncs {
    fn request_sync(&self, id: ConnectionId) {
        self.0.lock().unwrap().push(id);
    }
}

pub struct CalendarWorld {
    pub state: web::AppState,
    pub calendars: Arc<Calendars>,
    pub google: InMemoryCalendar,
    pub microsoft: InMemoryCalendar,
    pub syncs: Arc<RecordedSyncs>,
}

/// `app`'s state with calendars: Google, and Microsoft too when `microsoft`.
pub fn with_calendars(app: &TestApp, microsoft: bool, cron: Option<&str>) -> CalendarWorld {
    let google = InMemoryCalendar::new(Provider::Google, app.clock.clone());
    let graph = InMemoryCalendar::assigning_ids(Provider::Microsoft, app.clock.clone());
    let mut calendars = ConnectedCalendars::new(
        app.store.clone(),
        app.clock.clone(),
        SequentialTokens::new(),
        CalendarSettings::default(),
    )
    .with_provider(
        Arc::new(google.clone()),
        Some("http://book.test/api/calendar-providers/webhook/google".into()),
    );
    if microsoft {
        calendars = calendars.with_provider(
            Arc::new(graph.clone()),
            Some("http://book.test/api/calendar-providers/webhook/microsoft".into()),
        );
    }
    let calendars = Arc::new(calendars);
    let syncs = Arc::new(RecordedSyncs::default());
    let state = app.state.clone().with_calendars(CalendarSide {
        integrations: calendars.clone(),
        sync_requests: syncs.clone(),
        cron_secret: cron.map(str::to_owned),
    });
    CalendarWorld {
        state,
        calendars,
        google,
        microsoft: graph,
        syncs,
    }
}

/// Stores a connection of Hana's directly (account `ada@example.com` for `n` 1), with a push channel `channel` whose secret is
/// `secret`.
pub async fn stored_connection(
    app: &TestApp,
    n: u128,
    provider: Provider,
    status: ConnectionStatus,
    channel: &str,
    secret: &str,
) -> ConnectionId {
    let id = ConnectionId::from_uuid(uuid::Uuid::from_u128(0xc0_0000 + n));
    // One connection per account: the first is Ada's.
    let account = if n == 1 {
        "ada@example.com".to_owned()
    } else {
        format!("ada{n}@example.com")
    };
    let mut connection = CalendarConnection::connected(
        id,
        app.hana.id(),
        provider,
        account.clone(),
        account,
        OAuthTokens {
            access_token: Secret::new("access"),
            refresh_token: Some(Secret::new("refresh")),
            expires_at: None,
        },
        at(6, 0),
    );
    connection.status = status;
    connection.channel = Some(PushChannel {
        id: channel.to_owned(),
        token: Secret::new(secret),
        resource_id: "resource".into(),
        expires_at: at(6, 0) + TimeDelta::days(7),
    });
    app.store.save_connection(&connection).await.unwrap();
    id
}

fn sign_in_cookie(resp: &ServiceResponse) -> Cookie<'static> {
    resp.response()
        .cookies()
        .find(|c| c.name() == "sk_oauth")
        .expect("a sign-in cookie")
        .into_owned()
}

/// The `state` of a consent URL.
fn state_of(location: &str) -> String {
    let start = location.find("state=").expect("state in the URL") + "state=".len();
    let rest = &location[start..];
    rest[..rest.find('&').unwrap_or(rest.len())].to_owned()
}

#[actix_web::test]
async fn the_page_lists_connections_and_explains_unconfigured_providers() {
    let app = setup().await;
    let world = with_calendars(&app, false, None);
    stored_connection(
        &app,
        1,
        Provider::Google,
        ConnectionStatus::Active,
        "c1",
        "s1",
    )
    .await;
    // A failure the host should see, with its time.
    let mut failing = app.store.host_connections(app.hana.id()).await.unwrap()[0].clone();
    failing.last_error = Some(booking_core::connections::ConnectionFailure {
        message: "Google answered 503".into(),
        at: at(6, 30),
    });
    app.store.save_connection(&failing).await.unwrap();
    let svc = service!(world.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let calendar = body(send!(svc, b, get("/calendar"))).await;
    assert!(calendar.contains(r#"href="/settings/integrations""#));
    let resp = send!(svc, b, get("/settings/integrations"));
    assert_eq!(resp.status(), 200);
    let html = body(resp).await;
    assert!(html.contains("ada@example.com"), "{html}");
    assert!(html.contains("Connected"));
    assert!(html.contains("Last error: Google answered 503 ("), "{html}");
    assert!(html.contains(r#"href="/settings/integrations/google/connect""#));
    assert!(html.contains("Disconnect"));
    assert!(!html.contains("calendar-disconnect-banner"));
    // Microsoft is not configured: how to set it up instead of a button.
    assert!(!html.contains("/settings/integrations/microsoft/connect"));
    assert!(html.contains("MICROSOFT_CLIENT_ID") && html.contains("MICROSOFT_TENANT"));
    assert!(html.contains("http://book.test/settings/integrations/microsoft/callback"));
    assert!(html.contains("offline_access Calendars.ReadWrite User.Read"));
    assert!(!html.contains("GOOGLE_CLIENT_ID"));
    // Otto sees none of Hana's connections.
    let mut o = logged_in!(svc, "otto@example.com", OTTO_PASSWORD);
    let html = body(send!(svc, o, get("/settings/integrations"))).await;
    assert!(!html.contains("ada@example.com"));
}

#[actix_web::test]
async fn without_calendars_the_page_says_so_and_the_routes_are_missing() {
    let app = setup().await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let resp = send!(svc, b, get("/settings/integrations"));
    assert_eq!(resp.status(), 200);
    let html = body(resp).await;
    assert!(html.contains("not set up on this server"), "{html}");
    assert!(html.contains("GOOGLE_CLIENT_ID") && html.contains("GOOGLE_CLIENT_SECRET"));
    let resp = send!(svc, b, get("/settings/integrations/google/connect"));
    assert_eq!(resp.status(), 404);
    let resp = call_service(
        &svc,
        TestRequest::post()
            .uri("/api/calendar-providers/webhook/google")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 404);
}

#[actix_web::test]
async fn connecting_needs_a_login_a_known_and_configured_provider() {
    let app = setup().await;
    let world = with_calendars(&app, false, None);
    let svc = service!(world.state);
    let resp = call_service(
        &svc,
        get("/settings/integrations/google/connect").to_request(),
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert!(header(&resp, "location").starts_with("/login"));
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let resp = send!(svc, b, get("/settings/integrations/yahoo/connect"));
    assert_eq!(resp.status(), 404);
    let resp = send!(svc, b, get("/settings/integrations/microsoft/connect"));
    assert_eq!(resp.status(), 409);
    let html = body(resp).await;
    assert!(
        html.contains("Microsoft calendars are not set up"),
        "{html}"
    );
}

#[actix_web::test]
async fn the_whole_sign_in_connects_and_a_wrong_state_stores_nothing() {
    let app = setup().await;
    let world = with_calendars(&app, false, None);
    let svc = service!(world.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let resp = send!(svc, b, get("/settings/integrations/google/connect"));
    assert_eq!(resp.status(), 302);
    let location = header(&resp, "location");
    assert!(
        location.starts_with("memory://consent?state="),
        "{location}"
    );
    assert!(
        location.contains("redirect_uri=http://book.test/settings/integrations/google/callback")
    );
    let cookie = sign_in_cookie(&resp);
    assert_eq!(cookie.path(), Some("/settings/integrations"));
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(actix_web::cookie::SameSite::Lax));
    assert_eq!(
        cookie.max_age(),
        Some(actix_web::cookie::time::Duration::minutes(10))
    );
    let state = state_of(&location);
    assert!(!cookie.value().contains(&state), "the cookie is encrypted");

    // A forged state: refused, nothing stored.
    let forged = send!(
        svc,
        b,
        get("/settings/integrations/google/callback?code=good-code&state=forged")
            .cookie(cookie.clone())
    );
    assert_eq!(forged.status(), 400);
    assert!(body(forged).await.contains(
        "This sign-in attempt is not valid any more. Start again from Settings → Integrations."
    ));
    // No cookie at all: the same.
    let uri = format!("/settings/integrations/google/callback?code=good-code&state={state}");
    let bare = send!(svc, b, get(&uri));
    assert_eq!(bare.status(), 400);
    // The cookie of another provider's sign-in: the same.
    let other = send!(
        svc,
        b,
        get(&format!(
            "/settings/integrations/microsoft/callback?code=good-code&state={state}"
        ))
        .cookie(cookie.clone())
    );
    assert_eq!(other.status(), 400);
    assert!(
        app.store
            .host_connections(app.hana.id())
            .await
            .unwrap()
            .is_empty()
    );
    // Another host cannot use Hana's sign-in.
    let mut o = logged_in!(svc, "otto@example.com", OTTO_PASSWORD);
    let stolen = send!(svc, o, get(&uri).cookie(cookie.clone()));
    assert_eq!(stolen.status(), 400);

    // A code the provider refuses: 502, nothing stored.
    let refused = send!(
        svc,
        b,
        get(&format!(
            "/settings/integrations/google/callback?code=bad-code&state={state}"
        ))
        .cookie(cookie.clone())
    );
    assert_eq!(refused.status(), 502);
    assert!(body(refused).await.contains("nothing was connected"));
    assert!(
        app.store
            .host_connections(app.hana.id())
            .await
            .unwrap()
            .is_empty()
    );

    let done = send!(svc, b, get(&uri).cookie(cookie));
    assert_eq!(done.status(), 303);
    assert_eq!(
        header(&done, "location"),
        "/settings/integrations?done=connected"
    );
    let removal = sign_in_cookie(&done);
    assert!(removal.value().is_empty());
    let connections = app.store.host_connections(app.hana.id()).await.unwrap();
    assert_eq!(connections.len(), 1);
    assert_eq!(connections[0].status, ConnectionStatus::Active);
    assert_eq!(connections[0].account, "host@example.com");
    assert!(
        connections[0].channel.is_some(),
        "a push channel is registered"
    );
    let html = body(send!(svc, b, get("/settings/integrations?done=connected"))).await;
    assert!(html.contains("Your calendar is connected."));
    assert!(html.contains("host@example.com"));
}

#[actix_web::test]
async fn a_denied_consent_goes_back_with_a_notice() {
    let app = setup().await;
    let world = with_calendars(&app, false, None);
    let svc = service!(world.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let resp = send!(
        svc,
        b,
        get("/settings/integrations/google/callback?error=access_denied&state=x")
    );
    assert_eq!(resp.status(), 303);
    assert_eq!(
        header(&resp, "location"),
        "/settings/integrations?done=denied"
    );
    let html = body(send!(svc, b, get("/settings/integrations?done=denied"))).await;
    assert!(html.contains("Access was not granted"));
    assert!(
        app.store
            .host_connections(app.hana.id())
            .await
            .unwrap()
            .is_empty()
    );
}

/// Runs the whole sign-in for `$browser` with Google; returns the callback's answer.
macro_rules! connect_google {
    ($svc:expr, $browser:expr) => {{
        let resp = send!($svc, $browser, get("/settings/integrations/google/connect"));
        assert_eq!(resp.status(), 302);
        let state = state_of(&header(&resp, "location"));
        let cookie = sign_in_cookie(&resp);
        send!(
            $svc,
            $browser,
            get(&format!(
                "/settings/integrations/google/callback?code=good-code&state={state}"
            ))
            .cookie(cookie)
        )
    }};
}

#[actix_web::test]
async fn the_banner_shows_while_a_calendar_needs_reconnecting() {
    let app = setup().await;
    let world = with_calendars(&app, false, None);
    let svc = service!(world.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    assert_eq!(connect_google!(svc, b).status(), 303);
    for page in ["/calendar", "/settings/integrations"] {
        let html = body(send!(svc, b, get(page))).await;
        assert!(!html.contains("calendar-disconnect-banner"), "{page}");
    }
    // The grant is revoked at Google: the next write marks the connection.
    let booking = crate::helpers::book(&app, "intro", at(9, 0), "Ada Lovelace").await;
    world.google.revoke(true);
    world
        .calendars
        .write(CalendarOp::Create, &booking)
        .await
        .unwrap();
    let connections = app.store.host_connections(app.hana.id()).await.unwrap();
    assert_eq!(connections[0].status, ConnectionStatus::NeedsReauth);
    for page in ["/calendar", "/settings/integrations"] {
        let html = body(send!(svc, b, get(page))).await;
        assert!(
            html.contains(r#"id="calendar-disconnect-banner""#),
            "{page}: {html}"
        );
        assert!(html.contains(
            "Your Google calendar (host@example.com) is disconnected — bookings still work"
        ));
        assert!(html.contains(r#"href="/settings/integrations/google/connect""#));
    }
    let html = body(send!(svc, b, get("/settings/integrations"))).await;
    assert!(html.contains("Needs reconnecting") && html.contains("Reconnect"));
    // The detail page says the meeting waits for the calendar.
    let detail = body(send!(
        svc,
        b,
        get(&format!("/calendar/bookings/{}", booking.id()))
    ))
    .await;
    assert!(
        detail.contains("Waiting for the calendar to be reconnected"),
        "{detail}"
    );

    assert_eq!(connect_google!(svc, b).status(), 303);
    for page in ["/calendar", "/settings/integrations"] {
        let html = body(send!(svc, b, get(page))).await;
        assert!(!html.contains("calendar-disconnect-banner"), "{page}");
    }
    let connections = app.store.host_connections(app.hana.id()).await.unwrap();
    assert_eq!(connections.len(), 1, "a reconnect keeps the connection");
    assert_eq!(connections[0].status, ConnectionStatus::Active);
}

#[actix_web::test]
async fn the_detail_page_says_where_the_meeting_is_in_the_calendar() {
    let app = setup().await;
    let world = with_calendars(&app, false, None);
    let svc = service!(world.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let booking = crate::helpers::book(&app, "intro", at(9, 0), "Ada Lovelace").await;
    let uri = format!("/calendar/bookings/{}", booking.id());
    let html = body(send!(svc, b, get(&uri))).await;
    assert!(!html.contains("calendar-line"), "no connection, no line");
    assert_eq!(connect_google!(svc, b).status(), 303);
    let html = body(send!(svc, b, get(&uri))).await;
    // Connecting wrote the upcoming booking already.
    assert!(html.contains("Calendar: In Google Calendar"), "{html}");
    // The host deletes the event in Google: the sync cancels, the page says so.
    let event = booking_core::calendar::provider_event_id(booking.chain());
    world.google.host_deletes(&event);
    let id = app.store.host_connections(app.hana.id()).await.unwrap()[0].id;
    world
        .calendars
        .sync(id, Some(app.state.scheduler.as_ref()))
        .await
        .unwrap();
    let html = body(send!(svc, b, get(&uri))).await;
    assert!(
        html.contains("Calendar: Deleted from Google Calendar"),
        "{html}"
    );
    assert!(html.contains("Deleted in Google Calendar"), "{html}");
    // A new booking not yet written.
    let second = crate::helpers::book(&app, "intro", at(10, 0), "Grace Hopper").await;
    let html = body(send!(
        svc,
        b,
        get(&format!("/calendar/bookings/{}", second.id()))
    ))
    .await;
    assert!(
        html.contains("Calendar: Being added to Google Calendar"),
        "{html}"
    );
    // Written, then dragged to another time in Google: the history says where it moved.
    world
        .calendars
        .write(CalendarOp::Create, &second)
        .await
        .unwrap();
    let to = booking_core::TimeRange::new(at(13, 0), at(13, 30)).unwrap();
    let event = booking_core::calendar::provider_event_id(second.chain());
    world.google.host_moves(&event, to);
    world
        .calendars
        .sync(id, Some(app.state.scheduler.as_ref()))
        .await
        .unwrap();
    let html = body(send!(
        svc,
        b,
        get(&format!("/calendar/bookings/{}", second.id()))
    ))
    .await;
    assert!(html.contains("Moved in Google Calendar from"), "{html}");
}

#[actix_web::test]
async fn disconnecting_needs_the_csrf_token_and_ones_own_connection() {
    let app = setup().await;
    let world = with_calendars(&app, false, None);
    let id = stored_connection(
        &app,
        1,
        Provider::Google,
        ConnectionStatus::Active,
        "c1",
        "s1",
    )
    .await;
    let svc = service!(world.state);
    let uri = format!("/settings/integrations/{id}/disconnect");
    let mut o = logged_in!(svc, "otto@example.com", OTTO_PASSWORD);
    let otto_csrf = crate::csrf!(svc, o);
    let resp = send!(svc, o, form(&uri, &[("csrf", otto_csrf.as_str())]));
    assert_eq!(resp.status(), 404);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let resp = send!(svc, b, form(&uri, &[("csrf", "wrong")]));
    assert_eq!(resp.status(), 403);
    let still = app.store.connection(id).await.unwrap().unwrap();
    assert_eq!(still.status, ConnectionStatus::Active);
    let page = body(send!(svc, b, get("/settings/integrations"))).await;
    let csrf = csrf_of(&page);
    let resp = send!(svc, b, form(&uri, &[("csrf", csrf.as_str())]));
    assert_eq!(resp.status(), 303);
    assert_eq!(
        header(&resp, "location"),
        "/settings/integrations?done=disconnected"
    );
    let gone = app.store.connection(id).await.unwrap().unwrap();
    assert_eq!(gone.status, ConnectionStatus::Revoked);
    assert!(gone.channel.is_none());
    let html = body(send!(svc, b, get("/settings/integrations"))).await;
    assert!(html.contains("Disconnected"));
    let resp = send!(
        svc,
        b,
        form(
            "/settings/integrations/not-an-id/disconnect",
            &[("csrf", csrf.as_str())]
        )
    );
    assert_eq!(resp.status(), 404);
}

fn google_push(channel: &str, token: &str, state: &str) -> TestRequest {
    TestRequest::post()
        .uri("/api/calendar-providers/webhook/google")
        .insert_header(("X-Goog-Channel-ID", channel))
        .insert_header(("X-Goog-Channel-Token", token))
        .insert_header(("X-Goog-Resource-State", state))
}

#[actix_web::test]
async fn google_notifications_are_checked_before_a_sync_is_asked_for() {
    let app = setup().await;
    let world = with_calendars(&app, false, None);
    let id = stored_connection(
        &app,
        1,
        Provider::Google,
        ConnectionStatus::Active,
        "c1",
        "s1",
    )
    .await;
    stored_connection(
        &app,
        2,
        Provider::Google,
        ConnectionStatus::NeedsReauth,
        "c2",
        "s2",
    )
    .await;
    let svc = service!(world.state);
    let forged = call_service(&svc, google_push("c1", "forged", "exists").to_request()).await;
    assert_eq!(forged.status(), 403);
    assert_eq!(header(&forged, "content-type"), "application/problem+json");
    let unknown = call_service(&svc, google_push("nope", "s1", "exists").to_request()).await;
    assert_eq!(unknown.status(), 404);
    let inactive = call_service(&svc, google_push("c2", "s2", "exists").to_request()).await;
    assert_eq!(inactive.status(), 410);
    assert!(world.syncs.taken().is_empty());
    let handshake = call_service(&svc, google_push("c1", "s1", "sync").to_request()).await;
    assert_eq!(handshake.status(), 200);
    assert!(world.syncs.taken().is_empty());
    let change = call_service(&svc, google_push("c1", "s1", "exists").to_request()).await;
    assert_eq!(change.status(), 200);
    assert_eq!(world.syncs.taken(), vec![id]);
    // A Microsoft channel id is unknown to the Google endpoint.
    stored_connection(
        &app,
        3,
        Provider::Microsoft,
        ConnectionStatus::Active,
        "m1",
        "ms",
    )
    .await;
    let wrong = call_service(&svc, google_push("m1", "ms", "exists").to_request()).await;
    assert_eq!(wrong.status(), 404);
}

fn graph_push(body: &str) -> TestRequest {
    TestRequest::post()
        .uri("/api/calendar-providers/webhook/microsoft")
        .insert_header(("content-type", "application/json"))
        .set_payload(body.to_owned())
}

#[actix_web::test]
async fn graph_notifications_validate_check_client_state_and_handle_lifecycle_events() {
    let app = setup().await;
    let world = with_calendars(&app, true, None);
    let svc = service!(world.state);
    let echo = call_service(
        &svc,
        TestRequest::post()
            .uri(
                "/api/calendar-providers/webhook/microsoft?validationToken=Validation%3A%20Abc%2B1",
            )
            .to_request(),
    )
    .await;
    assert_eq!(echo.status(), 200);
    assert!(header(&echo, "content-type").starts_with("text/plain"));
    assert_eq!(body(echo).await, "Validation: Abc+1");

    // Connect Hana's Microsoft calendar for real, so it has a Graph subscription.
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let resp = send!(svc, b, get("/settings/integrations/microsoft/connect"));
    let state = state_of(&header(&resp, "location"));
    let cookie = sign_in_cookie(&resp);
    let done = send!(
        svc,
        b,
        get(&format!(
            "/settings/integrations/microsoft/callback?code=good-code&state={state}"
        ))
        .cookie(cookie)
    );
    assert_eq!(done.status(), 303);
    let connection = app.store.host_connections(app.hana.id()).await.unwrap()[0].clone();
    let channel = connection.channel.clone().expect("a subscription");
    let (sub, secret) = (channel.id.clone(), channel.token.expose().to_owned());

    let item = |client: &str, extra: &str| {
        format!(r#"{{"subscriptionId":"{sub}","clientState":"{client}"{extra}}}"#)
    };
    let change = item(
        &secret,
        r#","changeType":"updated","resource":"me/events/1""#,
    );
    let forged = item("forged", r#","changeType":"updated""#);
    let resp = call_service(
        &svc,
        graph_push(&format!(r#"{{"value":[{change},{forged}]}}"#)).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 403);
    assert!(
        world.syncs.taken().is_empty(),
        "one forged item refuses all"
    );
    let unknown = r#"{"value":[{"subscriptionId":"nope","clientState":"x"}]}"#;
    assert_eq!(
        call_service(&svc, graph_push(unknown).to_request())
            .await
            .status(),
        404
    );
    assert_eq!(
        call_service(&svc, graph_push("{not json").to_request())
            .await
            .status(),
        400
    );
    let resp = call_service(
        &svc,
        graph_push(&format!(r#"{{"value":[{change}]}}"#)).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 202);
    assert_eq!(world.syncs.taken(), vec![connection.id]);
    let missed = item(&secret, r#","lifecycleEvent":"missed""#);
    let resp = call_service(
        &svc,
        graph_push(&format!(r#"{{"value":[{missed}]}}"#)).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 202);
    assert_eq!(world.syncs.taken().len(), 2);

    let reauthorize = item(&secret, r#","lifecycleEvent":"reauthorizationRequired""#);
    let resp = call_service(
        &svc,
        graph_push(&format!(r#"{{"value":[{reauthorize}]}}"#)).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 202);
    assert_eq!(
        world.syncs.taken().len(),
        2,
        "no sync for a lifecycle event"
    );

    let removed = item(&secret, r#","lifecycleEvent":"subscriptionRemoved""#);
    let resp = call_service(
        &svc,
        graph_push(&format!(r#"{{"value":[{removed}]}}"#)).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 202);
    let after = app.store.connection(connection.id).await.unwrap().unwrap();
    let replaced = after.channel.expect("a new subscription");
    assert_ne!(replaced.id, sub, "the removed subscription was replaced");
    let (channels, _) = world.microsoft.channels();
    assert!(channels.iter().any(|c| c.id == replaced.id));
}

fn cron(auth: Option<&str>) -> TestRequest {
    let req = TestRequest::post().uri("/api/cron/calendar-subscriptions-renew");
    match auth {
        Some(a) => req.insert_header(("authorization", a)),
        None => req,
    }
}

#[actix_web::test]
async fn the_renewal_cron_needs_its_secret_and_reports() {
    let app = setup().await;
    let unset = with_calendars(&app, false, None);
    let svc = service!(unset.state);
    assert_eq!(
        call_service(&svc, cron(Some("Bearer anything")).to_request())
            .await
            .status(),
        401
    );
    let world = with_calendars(&app, false, Some("cron-secret-1"));
    let svc = service!(world.state);
    let none = call_service(&svc, cron(None).to_request()).await;
    assert_eq!(none.status(), 401);
    assert_eq!(header(&none, "content-type"), "application/problem+json");
    assert_eq!(
        call_service(&svc, cron(Some("Bearer cron-secret-2")).to_request())
            .await
            .status(),
        401
    );
    assert_eq!(
        call_service(&svc, cron(Some("Basic cron-secret-1")).to_request())
            .await
            .status(),
        401
    );
    let id = stored_connection(
        &app,
        1,
        Provider::Google,
        ConnectionStatus::Active,
        "c1",
        "s1",
    )
    .await;
    // The channel expires within the renewal horizon.
    app.clock.advance(TimeDelta::days(6));
    let resp = call_service(&svc, cron(Some("Bearer cron-secret-1")).to_request()).await;
    assert_eq!(resp.status(), 200);
    let report: serde_json::Value = serde_json::from_str(&body(resp).await).unwrap();
    assert_eq!(report["channels_renewed"], 1, "{report}");
    assert_eq!(report["channels_stopped"], 1, "{report}");
    assert_eq!(report["needs_reauth"], 0);
    assert_eq!(report["failed"], serde_json::json!([]));
    assert!(report["tokens_refreshed"].is_u64());
    let renewed = app.store.connection(id).await.unwrap().unwrap();
    assert_ne!(renewed.channel.unwrap().id, "c1");
}
