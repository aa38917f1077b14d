//! The Google adapter against the local fake Google (`fake-google`): real HTTP on 127.0.0.1,
//! Google's JSON shapes, the adapter's own hyper and oauth2 code paths.

use booking_core::calendar::{
    CalendarEvent, CalendarProvider, OAuthTokens, ProviderError, RemoteEventState, Secret,
    provider_event_id,
};
use booking_core::invitee::{Email, PersonName};
use booking_core::{ChainId, TimeRange, TimeZoneName};
use calendar_google::{GoogleCalendar, GoogleConfig};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use fake_google::{ACCOUNT_EMAIL, CLIENT_ID, CLIENT_SECRET, FakeGoogle};

const REDIRECT_URI: &str = "http://127.0.0.1:9/settings/integrations/google/callback";

fn adapter(fake: &FakeGoogle) -> GoogleCalendar {
    let mut config = GoogleConfig::new(CLIENT_ID, Secret::new(CLIENT_SECRET));
    config.auth_url = fake.auth_url();
    config.token_url = fake.token_url();
    config.api_root = fake.base_url();
    GoogleCalendar::new(config).expect("valid configuration")
}

/// Follows the consent redirect like a browser would and returns the callback's query.
async fn consent(url: &str) -> url::Url {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = browser.get(url).send().await.unwrap();
    assert_eq!(response.status(), 302, "the consent page redirects back");
    let location = response.headers()["location"].to_str().unwrap();
    url::Url::parse(location).unwrap()
}

fn query(url: &url::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// A connected account: the whole authorization-code dance, returning the tokens.
async fn connect(fake: &FakeGoogle, google: &GoogleCalendar) -> OAuthTokens {
    let verifier = google.pkce_verifier();
    let url = google
        .authorize_url("state-1", &verifier, REDIRECT_URI)
        .unwrap();
    let back = consent(&url).await;
    let code = query(&back, "code").unwrap();
    let (tokens, email) = google
        .exchange_code(&code, &verifier, REDIRECT_URI)
        .await
        .unwrap();
    assert_eq!(email, ACCOUNT_EMAIL);
    let _ = fake;
    tokens
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, h, m, 0).unwrap()
}

fn range(from: DateTime<Utc>, to: DateTime<Utc>) -> TimeRange {
    TimeRange::new(from, to).unwrap()
}

fn meeting(from: DateTime<Utc>, to: DateTime<Utc>) -> CalendarEvent {
    CalendarEvent {
        title: "Intro call with Ada".to_owned(),
        description: "Agenda: pricing".to_owned(),
        location: Some("https://meet.example.org/ada".to_owned()),
        when: range(from, to),
        attendee_name: PersonName::parse("Ada Lovelace").unwrap(),
        attendee_email: Email::parse("ada@example.org").unwrap(),
        attendee_time_zone: TimeZoneName::parse("America/New_York").unwrap(),
    }
}

fn event_id(n: u128) -> String {
    provider_event_id(ChainId::from_uuid(uuid::Uuid::from_u128(n)))
}

#[tokio::test]
async fn the_consent_url_asks_for_offline_access_with_pkce_and_keeps_the_state() {
    let fake = FakeGoogle::start().await;
    let google = adapter(&fake);
    let verifier = google.pkce_verifier();
    assert!(verifier.expose().len() >= 43, "RFC 7636 verifier length");
    let url = url::Url::parse(
        &google
            .authorize_url("csrf-state", &verifier, REDIRECT_URI)
            .unwrap(),
    )
    .unwrap();
    assert!(url.as_str().starts_with(&fake.auth_url()));
    assert_eq!(query(&url, "access_type").as_deref(), Some("offline"));
    assert_eq!(
        query(&url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(query(&url, "redirect_uri").as_deref(), Some(REDIRECT_URI));
    assert_eq!(
        query(&url, "scope").as_deref(),
        Some(calendar_google::CALENDAR_SCOPE)
    );
    let back = consent(url.as_str()).await;
    assert_eq!(query(&back, "state").as_deref(), Some("csrf-state"));
}

#[tokio::test]
async fn code_exchange_names_the_account_then_refresh_works_until_the_grant_is_revoked() {
    let fake = FakeGoogle::start().await;
    let google = adapter(&fake);
    let tokens = connect(&fake, &google).await;
    let refresh = tokens
        .refresh_token
        .clone()
        .expect("offline access gives a refresh token");
    let expires = tokens
        .expires_at
        .expect("Google says when the access token expires");
    assert!(
        expires > Utc::now() + TimeDelta::minutes(55)
            && expires <= Utc::now() + TimeDelta::hours(1)
    );

    let renewed = google.refresh(&refresh).await.unwrap();
    assert_ne!(renewed.access_token, tokens.access_token);
    assert_eq!(
        renewed.refresh_token, None,
        "Google keeps the old refresh token valid"
    );
    google
        .busy(
            &renewed.access_token,
            &[ACCOUNT_EMAIL.to_owned()],
            range(at(8, 0), at(9, 0)),
        )
        .await
        .unwrap();

    fake.revoke_grant();
    assert!(matches!(
        google.refresh(&refresh).await,
        Err(ProviderError::Unauthorized(_))
    ));
    let after = google
        .busy(
            &renewed.access_token,
            &[ACCOUNT_EMAIL.to_owned()],
            range(at(8, 0), at(9, 0)),
        )
        .await;
    assert!(
        matches!(after, Err(ProviderError::Unauthorized(_))),
        "{after:?}"
    );
}

#[tokio::test]
async fn a_code_with_the_wrong_verifier_is_refused() {
    let fake = FakeGoogle::start().await;
    let google = adapter(&fake);
    let verifier = google.pkce_verifier();
    let back = consent(&google.authorize_url("s", &verifier, REDIRECT_URI).unwrap()).await;
    let code = query(&back, "code").unwrap();
    let other = google.pkce_verifier();
    let refused = google.exchange_code(&code, &other, REDIRECT_URI).await;
    assert!(
        matches!(refused, Err(ProviderError::Unauthorized(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn free_busy_reports_busy_ranges_and_our_events() {
    let fake = FakeGoogle::start().await;
    let google = adapter(&fake);
    let access = connect(&fake, &google).await.access_token;
    fake.set_busy(
        ACCOUNT_EMAIL,
        vec![
            (at(7, 0), at(8, 30)),
            (at(12, 0), at(13, 0)),
            (at(20, 0), at(21, 0)),
        ],
    );
    fake.set_busy(
        "team@example.com",
        vec![(at(10, 0), at(10, 30)), (at(9, 15), at(9, 45))],
    );
    google
        .create_event(
            &access,
            "primary",
            &event_id(1),
            &meeting(at(9, 0), at(9, 30)),
        )
        .await
        .unwrap();

    let busy = google
        .busy(
            &access,
            &[ACCOUNT_EMAIL.to_owned(), "team@example.com".to_owned()],
            range(at(8, 0), at(14, 0)),
        )
        .await
        .unwrap();
    assert_eq!(
        busy,
        vec![
            range(at(8, 0), at(8, 30)),
            // Our event at 09:00 and the team's 09:15-09:45 join up.
            range(at(9, 0), at(9, 45)),
            range(at(10, 0), at(10, 30)),
            range(at(12, 0), at(13, 0))
        ]
    );

    let unknown = google
        .busy(
            &access,
            &["nobody@example.com".to_owned()],
            range(at(8, 0), at(14, 0)),
        )
        .await;
    assert!(
        matches!(unknown, Err(ProviderError::NotFound(_))),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn create_writes_one_event_with_our_id_and_sends_no_invitations() {
    let fake = FakeGoogle::start().await;
    let google = adapter(&fake);
    let access = connect(&fake, &google).await.access_token;
    let id = event_id(7);
    google
        .create_event(&access, "primary", &id, &meeting(at(9, 0), at(9, 30)))
        .await
        .unwrap();

    let event = fake.event(ACCOUNT_EMAIL, &id).expect("stored under our id");
    assert_eq!(event["summary"], "Intro call with Ada");
    assert_eq!(event["location"], "https://meet.example.org/ada");
    assert_eq!(event["start"]["dateTime"], "2027-03-01T09:00:00Z");
    assert_eq!(event["end"]["dateTime"], "2027-03-01T09:30:00Z");
    let description = event["description"].as_str().unwrap();
    assert!(description.starts_with("Agenda: pricing"), "{description}");
    assert!(
        description.contains("Ada Lovelace <ada@example.org>")
            && description.contains("America/New_York")
    );
    assert!(
        event.get("attendees").is_none(),
        "Google must not invite the attendee a second time"
    );
    assert_eq!(fake.insert_send_updates(), vec![Some("none".to_owned())]);
    assert_eq!(fake.live_events(ACCOUNT_EMAIL).len(), 1);
}

#[tokio::test]
async fn a_create_retried_after_a_lost_answer_still_makes_one_event() {
    let fake = FakeGoogle::start().await;
    let google = adapter(&fake);
    let access = connect(&fake, &google).await.access_token;
    let id = event_id(8);
    fake.drop_next_insert_response();
    let first = google
        .create_event(&access, "primary", &id, &meeting(at(9, 0), at(9, 30)))
        .await;
    assert!(
        matches!(first, Err(ProviderError::Transient { .. })),
        "{first:?}"
    );

    google
        .create_event(&access, "primary", &id, &meeting(at(9, 0), at(9, 30)))
        .await
        .unwrap();
    assert_eq!(
        fake.insert_count(),
        1,
        "the retry hit 409 and counted as created"
    );
    assert_eq!(fake.live_events(ACCOUNT_EMAIL).len(), 1);
}

#[tokio::test]
async fn update_moves_the_same_event_in_place() {
    let fake = FakeGoogle::start().await;
    let google = adapter(&fake);
    let access = connect(&fake, &google).await.access_token;
    let id = event_id(9);
    google
        .create_event(&access, "primary", &id, &meeting(at(9, 0), at(9, 30)))
        .await
        .unwrap();
    google
        .update_event(&access, "primary", &id, &meeting(at(11, 0), at(11, 30)))
        .await
        .unwrap();

    let events = fake.live_events(ACCOUNT_EMAIL);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["id"], id.as_str());
    assert_eq!(events[0]["start"]["dateTime"], "2027-03-01T11:00:00Z");
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.starts_with("PATCH ") && r.contains("sendUpdates=none"))
    );
    assert_eq!(
        google.event_state(&access, "primary", &id).await.unwrap(),
        RemoteEventState::Timed(range(at(11, 0), at(11, 30)))
    );

    let missing = google
        .update_event(
            &access,
            "primary",
            &event_id(99),
            &meeting(at(11, 0), at(11, 30)),
        )
        .await;
    assert!(
        matches!(missing, Err(ProviderError::NotFound(_))),
        "{missing:?}"
    );
}

#[tokio::test]
async fn delete_removes_the_event_and_a_missing_event_counts_as_deleted() {
    let fake = FakeGoogle::start().await;
    let google = adapter(&fake);
    let access = connect(&fake, &google).await.access_token;
    let id = event_id(10);
    google
        .create_event(&access, "primary", &id, &meeting(at(9, 0), at(9, 30)))
        .await
        .unwrap();
    google.delete_event(&access, "primary", &id).await.unwrap();
    assert_eq!(
        fake.event(ACCOUNT_EMAIL, &id).unwrap()["status"],
        "cancelled"
    );
    assert!(fake.live_events(ACCOUNT_EMAIL).is_empty());
    assert_eq!(
        google.event_state(&access, "primary", &id).await.unwrap(),
        RemoteEventState::Deleted
    );

    google
        .delete_event(&access, "primary", &id)
        .await
        .expect("410 on an already deleted event is done");
    google
        .delete_event(&access, "primary", &event_id(11))
        .await
        .expect("404 is done");
    assert_eq!(
        google
            .event_state(&access, "primary", &event_id(11))
            .await
            .unwrap(),
        RemoteEventState::Deleted
    );
}

#[tokio::test]
async fn incremental_sync_reports_moves_and_deletions_across_pages() {
    let fake = FakeGoogle::start().await;
    let google = adapter(&fake);
    let access = connect(&fake, &google).await.access_token;
    fake.set_page_size(1);
    let (a, b, c) = (event_id(21), event_id(22), event_id(23));
    for (id, hour) in [(&a, 9), (&b, 10), (&c, 11)] {
        google
            .create_event(&access, "primary", id, &meeting(at(hour, 0), at(hour, 30)))
            .await
            .unwrap();
    }

    let first = google.changes(&access, "primary", None).await.unwrap();
    assert!(first.full_resync);
    assert_eq!(first.changes.len(), 3, "three pages of one");
    assert!(fake.requests().iter().any(|r| r.contains("pageToken=")));

    let quiet = google
        .changes(&access, "primary", Some(&first.next_sync_token))
        .await
        .unwrap();
    assert!(!quiet.full_resync);
    assert!(quiet.changes.is_empty());

    fake.host_moves(ACCOUNT_EMAIL, &a, at(15, 0), at(15, 30));
    fake.host_deletes(ACCOUNT_EMAIL, &b);
    fake.host_creates(ACCOUNT_EMAIL, "dentist2027", at(16, 0), at(17, 0));
    let batch = google
        .changes(&access, "primary", Some(&quiet.next_sync_token))
        .await
        .unwrap();
    assert!(!batch.full_resync);
    let state = |id: &str| {
        batch
            .changes
            .iter()
            .find(|c| c.event_id == id)
            .map(|c| c.state.clone())
    };
    assert_eq!(batch.changes.len(), 3);
    assert_eq!(
        state(&a),
        Some(RemoteEventState::Timed(range(at(15, 0), at(15, 30))))
    );
    assert_eq!(state(&b), Some(RemoteEventState::Deleted));
    assert_eq!(
        state("dentist2027"),
        Some(RemoteEventState::Timed(range(at(16, 0), at(17, 0))))
    );
    assert_eq!(state(&c), None, "unchanged events are not reported");
}

#[tokio::test]
async fn an_expired_sync_token_falls_back_to_a_full_listing() {
    let fake = FakeGoogle::start().await;
    let google = adapter(&fake);
    let access = connect(&fake, &google).await.access_token;
    let (a, b) = (event_id(31), event_id(32));
    google
        .create_event(&access, "primary", &a, &meeting(at(9, 0), at(9, 30)))
        .await
        .unwrap();
    google
        .create_event(&access, "primary", &b, &meeting(at(10, 0), at(10, 30)))
        .await
        .unwrap();
    let token = google
        .changes(&access, "primary", None)
        .await
        .unwrap()
        .next_sync_token;
    google.delete_event(&access, "primary", &b).await.unwrap();

    fake.expire_sync_tokens();
    let batch = google
        .changes(&access, "primary", Some(&token))
        .await
        .unwrap();
    assert!(batch.full_resync);
    assert!(
        fake.requests().iter().any(|r| r.contains("syncToken=")),
        "the token was tried first"
    );
    let state = |id: &str| {
        batch
            .changes
            .iter()
            .find(|c| c.event_id == id)
            .map(|c| c.state.clone())
    };
    assert_eq!(
        state(&a),
        Some(RemoteEventState::Timed(range(at(9, 0), at(9, 30))))
    );
    assert_eq!(
        state(&b),
        Some(RemoteEventState::Deleted),
        "deleted events are listed too"
    );

    let next = google
        .changes(&access, "primary", Some(&batch.next_sync_token))
        .await
        .unwrap();
    assert!(
        !next.full_resync && next.changes.is_empty(),
        "the new token works: {next:?}"
    );
}

#[tokio::test]
async fn watch_returns_the_granted_expiration_and_stop_ends_the_channel() {
    let fake = FakeGoogle::start().await;
    let google = adapter(&fake);
    let access = connect(&fake, &google).await.access_token;
    fake.set_max_channel_ttl(TimeDelta::days(1));
    let secret = Secret::new("per-channel-secret");
    let before = Utc::now();
    let channel = google
        .watch(
            &access,
            "primary",
            "channel-1",
            &secret,
            "https://slotkeeper.example.com/api/calendar-providers/webhook/google",
            TimeDelta::days(7),
        )
        .await
        .unwrap();
    assert_eq!(channel.id, "channel-1");
    assert!(!channel.resource_id.is_empty());
    assert!(
        channel.expires_at > before + TimeDelta::hours(23)
            && channel.expires_at <= Utc::now() + TimeDelta::days(1)
    );

    let registered = fake.channels();
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].token.as_deref(), Some("per-channel-secret"));
    assert_eq!(registered[0].calendar, ACCOUNT_EMAIL);

    google.stop(&access, &channel).await.unwrap();
    assert!(fake.channels().is_empty());
    assert_eq!(fake.stopped_channels().len(), 1);
    google
        .stop(&access, &channel)
        .await
        .expect("stopping a stopped channel is done");
}

#[tokio::test]
async fn unavailable_and_throttled_answers_are_transient_with_retry_after() {
    let fake = FakeGoogle::start().await;
    let google = adapter(&fake);
    let tokens = connect(&fake, &google).await;
    let access = tokens.access_token;

    fake.fail_next(1, 503, Some(120));
    let failed = google
        .create_event(
            &access,
            "primary",
            &event_id(41),
            &meeting(at(9, 0), at(9, 30)),
        )
        .await;
    assert_eq!(
        failed.as_ref().err().and_then(|e| match e {
            ProviderError::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }),
        Some(TimeDelta::seconds(120)),
        "{failed:?}"
    );

    fake.fail_next(1, 429, None);
    let throttled = google.changes(&access, "primary", None).await;
    assert!(
        matches!(
            throttled,
            Err(ProviderError::Transient {
                retry_after: None,
                ..
            })
        ),
        "{throttled:?}"
    );

    fake.fail_next(1, 503, Some(5));
    let refresh = google.refresh(tokens.refresh_token.as_ref().unwrap()).await;
    assert!(
        matches!(refresh, Err(ProviderError::Transient { retry_after: Some(d), .. }) if d == TimeDelta::seconds(5)),
        "{refresh:?}"
    );

    google
        .create_event(
            &access,
            "primary",
            &event_id(41),
            &meeting(at(9, 0), at(9, 30)),
        )
        .await
        .unwrap();
    assert_eq!(fake.insert_count(), 1);
}

#[tokio::test]
async fn an_unreachable_google_is_transient() {
    let fake = FakeGoogle::start().await;
    let google = adapter(&fake);
    let tokens = connect(&fake, &google).await;
    fake.set_unreachable(true);
    let busy = google
        .busy(
            &tokens.access_token,
            &[ACCOUNT_EMAIL.to_owned()],
            range(at(8, 0), at(9, 0)),
        )
        .await;
    assert!(
        matches!(busy, Err(ProviderError::Transient { .. })),
        "{busy:?}"
    );
    let refresh = google.refresh(tokens.refresh_token.as_ref().unwrap()).await;
    assert!(
        matches!(refresh, Err(ProviderError::Transient { .. })),
        "{refresh:?}"
    );
    fake.set_unreachable(false);
    google
        .busy(
            &tokens.access_token,
            &[ACCOUNT_EMAIL.to_owned()],
            range(at(8, 0), at(9, 0)),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_google_slower_than_the_call_timeout_is_transient() {
    let fake = FakeGoogle::start().await;
    let mut config = GoogleConfig::new(CLIENT_ID, Secret::new(CLIENT_SECRET));
    config.auth_url = fake.auth_url();
    config.token_url = fake.token_url();
    config.api_root = fake.base_url();
    config.call_timeout = std::time::Duration::from_millis(200);
    let google = GoogleCalendar::new(config).unwrap();
    let tokens = connect(&fake, &google).await;

    fake.set_latency(std::time::Duration::from_secs(2));
    let busy = google
        .busy(
            &tokens.access_token,
            &[ACCOUNT_EMAIL.to_owned()],
            range(at(8, 0), at(9, 0)),
        )
        .await;
    assert!(
        matches!(&busy, Err(ProviderError::Transient { message, .. }) if message.contains("timed out")),
        "{busy:?}"
    );
    let refresh = google.refresh(tokens.refresh_token.as_ref().unwrap()).await;
    assert!(
        matches!(refresh, Err(ProviderError::Transient { .. })),
        "{refresh:?}"
    );
}

#[test]
fn the_adapter_never_prints_the_client_secret() {
    let google = GoogleCalendar::new(GoogleConfig::new(
        CLIENT_ID,
        Secret::new("very-secret-value"),
    ))
    .unwrap();
    let shown = format!("{google:?}");
    assert!(
        shown.contains(CLIENT_ID) && !shown.contains("very-secret-value"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_code_sent_back_to_another_redirect_uri_is_refused() {
    let fake = FakeGoogle::start().await;
    let google = adapter(&fake);
    let verifier = google.pkce_verifier();
    let back = consent(&google.authorize_url("s", &verifier, REDIRECT_URI).unwrap()).await;
    let code = query(&back, "code").unwrap();
    let refused = google
        .exchange_code(&code, &verifier, "http://127.0.0.1:9/elsewhere")
        .await;
    assert!(
        matches!(refused, Err(ProviderError::Permanent(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_event_id_google_refuses_is_a_permanent_error() {
    let fake = FakeGoogle::start().await;
    let google = adapter(&fake);
    let access = connect(&fake, &google).await.access_token;
    let hyphenated = uuid::Uuid::from_u128(5).to_string();
    let refused = google
        .create_event(
            &access,
            "primary",
            &hyphenated,
            &meeting(at(9, 0), at(9, 30)),
        )
        .await;
    assert!(
        matches!(refused, Err(ProviderError::Permanent(_))),
        "{refused:?}"
    );
    assert!(fake.live_events(ACCOUNT_EMAIL).is_empty());
}
