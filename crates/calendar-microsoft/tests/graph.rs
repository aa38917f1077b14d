//! The Microsoft adapter against the fake identity platform + Graph (`fake-graph`), over real
//! HTTP on 127.0.0.1: sign-in, busy times, write-through, sync, subscriptions and errors.

use booking_core::calendar::{
    CalendarEvent, CalendarProvider, ProviderError, PushChannel, RemoteEventState, Secret,
};
use booking_core::invitee::{Email, PersonName};
use booking_core::time::{TimeRange, TimeZoneName};
use calendar_microsoft::{MAX_SUBSCRIPTION_TTL, MicrosoftCalendar, MicrosoftConfig};
use chrono::{DateTime, Duration, TimeDelta, Utc};
use fake_graph::{BusyBlock, FakeGraph};

const REDIRECT: &str = "http://127.0.0.1:8080/settings/integrations/microsoft/callback";
const HOOK: &str = "https://slotkeeper.example/api/calendar-providers/webhook/microsoft";

async fn setup() -> (FakeGraph, MicrosoftCalendar) {
    let fake = FakeGraph::start()
        .await
        .unwrap_or_else(|e| panic!("fake: {e}"));
    let mut config = MicrosoftConfig::new(
        fake_graph::CLIENT_ID,
        Secret::new(fake_graph::CLIENT_SECRET),
    );
    config.authority_url = fake.base_url().to_owned();
    config.graph_url = format!("{}/", fake.base_url());
    let adapter = MicrosoftCalendar::new(config).unwrap_or_else(|e| panic!("config: {e}"));
    (fake, adapter)
}

fn access(fake: &FakeGraph) -> Secret {
    Secret::new(fake.issue_tokens().0)
}

/// Whole seconds: Graph's `dateTime` as written by the adapter has no fraction.
fn at(day: i64, hour: i64) -> DateTime<Utc> {
    let midnight = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc());
    midnight.unwrap_or_else(|| panic!("midnight")) + Duration::days(day) + Duration::hours(hour)
}

fn range(start: DateTime<Utc>, end: DateTime<Utc>) -> TimeRange {
    TimeRange::new(start, end).unwrap_or_else(|e| panic!("range: {e:?}"))
}

fn meeting(title: &str, start: DateTime<Utc>) -> CalendarEvent {
    CalendarEvent {
        title: title.to_owned(),
        description: "Agenda: <b>roadmap</b> & \"budget\"\nSecond line".to_owned(),
        location: Some("Room 4".to_owned()),
        when: range(start, start + Duration::minutes(30)),
        attendee_name: PersonName::parse("Ada Lovelace").unwrap_or_else(|e| panic!("{e:?}")),
        attendee_email: Email::parse("ada@example.org").unwrap_or_else(|e| panic!("{e:?}")),
        attendee_time_zone: TimeZoneName::parse("Europe/London")
            .unwrap_or_else(|e| panic!("{e:?}")),
    }
}

fn ok<T>(result: Result<T, ProviderError>) -> T {
    result.unwrap_or_else(|e| panic!("provider error: {e:?}"))
}

/// Follows the consent page like a browser would (the fake consents at once).
async fn consent(url: &str) -> (String, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let response = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status().as_u16(), 302);
    let location = response.headers()["location"]
        .to_str()
        .unwrap_or_else(|e| panic!("{e}"))
        .to_owned();
    assert!(location.starts_with(REDIRECT), "{location}");
    let url = reqwest::Url::parse(&location).unwrap_or_else(|e| panic!("{e}"));
    let get = |key: &str| {
        url.query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    };
    (
        get("code").unwrap_or_default(),
        get("state").unwrap_or_default(),
    )
}

#[tokio::test]
async fn code_exchange_with_pkce_then_refresh_then_a_revoked_grant_is_unauthorized() {
    let (fake, adapter) = setup().await;
    let verifier = adapter.pkce_verifier();
    assert!(verifier.expose().len() >= 43);
    let url = ok(adapter.authorize_url("csrf-state-1", &verifier, REDIRECT));
    assert!(
        url.starts_with(&format!(
            "{}/common/oauth2/v2.0/authorize?",
            fake.base_url()
        )),
        "{url}"
    );

    let (code, state) = consent(&url).await;
    assert_eq!(state, "csrf-state-1");
    let asked = fake.last_authorize_query().unwrap_or_default();
    assert_eq!(
        asked.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    assert_eq!(
        asked.get("scope").map(String::as_str),
        Some("offline_access Calendars.ReadWrite User.Read")
    );
    assert_eq!(asked.get("response_type").map(String::as_str), Some("code"));

    let (tokens, account) = ok(adapter.exchange_code(&code, &verifier, REDIRECT).await);
    assert_eq!(account, "megan@contoso.example");
    let refresh_token = tokens
        .refresh_token
        .clone()
        .unwrap_or_else(|| panic!("no refresh token"));
    assert!(
        tokens
            .expires_at
            .is_some_and(|t| t > Utc::now() + Duration::minutes(50))
    );
    // The secret went in the form body, as Microsoft wants.
    let exchange = fake.token_requests().pop().unwrap_or_default();
    assert_eq!(
        exchange.get("grant_type").map(String::as_str),
        Some("authorization_code")
    );
    assert_eq!(
        exchange.get("client_id").map(String::as_str),
        Some(fake_graph::CLIENT_ID)
    );

    // The code is single use.
    let again = adapter.exchange_code(&code, &verifier, REDIRECT).await;
    assert!(
        matches!(again, Err(ProviderError::Unauthorized(_))),
        "{again:?}"
    );

    fake.expire_access_tokens();
    let stale = adapter
        .event_state(&tokens.access_token, "primary", "x")
        .await;
    assert!(
        matches!(stale, Err(ProviderError::Unauthorized(_))),
        "{stale:?}"
    );
    let fresh = ok(adapter.refresh(&refresh_token).await);
    assert_ne!(fresh.access_token, tokens.access_token);
    ok(adapter
        .busy(
            &fresh.access_token,
            &["primary".to_owned()],
            range(at(1, 0), at(2, 0)),
        )
        .await);

    fake.revoke_grant();
    let refused = adapter.refresh(&refresh_token).await;
    match refused {
        Err(ProviderError::Unauthorized(message)) => {
            assert!(message.contains("invalid_grant"), "{message}");
            assert!(
                !message.contains(refresh_token.expose()),
                "the token leaked: {message}"
            );
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_refused_and_the_account_falls_back_to_the_sign_in_name() {
    let (fake, adapter) = setup().await;
    fake.set_mail(None);
    let verifier = adapter.pkce_verifier();
    let (code, _) = consent(&ok(adapter.authorize_url("s", &verifier, REDIRECT))).await;
    let wrong = adapter
        .exchange_code(&code, &adapter.pkce_verifier(), REDIRECT)
        .await;
    assert!(
        matches!(wrong, Err(ProviderError::Unauthorized(_))),
        "{wrong:?}"
    );

    let (code, _) = consent(&ok(adapter.authorize_url("s", &verifier, REDIRECT))).await;
    let (_, account) = ok(adapter.exchange_code(&code, &verifier, REDIRECT).await);
    assert_eq!(account, fake.user_principal_name());
}

#[tokio::test]
async fn busy_times_come_from_get_schedule_merged_without_free_items() {
    let (fake, adapter) = setup().await;
    let token = access(&fake);
    fake.set_busy(vec![
        BusyBlock {
            start: at(1, 9),
            end: at(1, 10),
            status: "busy".into(),
        },
        BusyBlock {
            start: at(1, 9) + Duration::minutes(30),
            end: at(1, 11),
            status: "tentative".into(),
        },
        BusyBlock {
            start: at(1, 12),
            end: at(1, 13),
            status: "free".into(),
        },
        BusyBlock {
            start: at(1, 14),
            end: at(1, 15),
            status: "oof".into(),
        },
        BusyBlock {
            start: at(1, 16),
            end: at(1, 17),
            status: "workingElsewhere".into(),
        },
        BusyBlock {
            start: at(5, 9),
            end: at(5, 10),
            status: "busy".into(),
        },
    ]);
    // An event of the calendar is busy too.
    ok(adapter
        .create_event(
            &token,
            "primary",
            "slotkeeperabc",
            &meeting("Call", at(1, 18)),
        )
        .await);

    let busy = ok(adapter
        .busy(&token, &["primary".to_owned()], range(at(1, 0), at(2, 0)))
        .await);
    assert_eq!(
        busy,
        vec![
            range(at(1, 9), at(1, 11)),
            range(at(1, 14), at(1, 15)),
            range(at(1, 16), at(1, 17)),
            range(at(1, 18), at(1, 18) + Duration::minutes(30)),
        ]
    );
    // The account's address works as well as `primary`.
    let same = ok(adapter
        .busy(&token, &[fake.account_email()], range(at(1, 0), at(2, 0)))
        .await);
    assert_eq!(same, busy);

    fake.set_schedule_error(Some("ErrorProxyRequestProcessingFailed"));
    let failed = adapter.busy(&token, &[], range(at(1, 0), at(2, 0))).await;
    assert!(
        matches!(failed, Err(ProviderError::Transient { .. })),
        "{failed:?}"
    );
    fake.set_schedule_error(None);
    let unknown = adapter
        .busy(
            &token,
            &["nobody@contoso.example".to_owned()],
            range(at(1, 0), at(2, 0)),
        )
        .await;
    assert!(
        matches!(unknown, Err(ProviderError::NotFound(_))),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn create_writes_one_event_without_attendees_and_a_retry_after_a_lost_answer_stays_one() {
    let (fake, adapter) = setup().await;
    let token = access(&fake);
    let event = meeting("Intro call with Ada Lovelace", at(2, 10));
    let id = ok(adapter
        .create_event(&token, "primary", "slotkeeper0001", &event)
        .await);
    assert_eq!(fake.creates(), 1);
    let stored = fake.event(&id).unwrap_or_else(|| panic!("no event {id}"));
    assert_eq!(stored.subject, "Intro call with Ada Lovelace");
    assert_eq!(
        (stored.start, stored.end),
        (at(2, 10), at(2, 10) + Duration::minutes(30))
    );
    assert_eq!(stored.location.as_deref(), Some("Room 4"));
    assert_eq!(stored.transaction_id.as_deref(), Some("slotkeeper0001"));
    assert!(
        stored.attendees.is_empty(),
        "Exchange would mail attendees: {:?}",
        stored.attendees
    );
    assert_eq!(stored.body_type, "html");
    assert!(
        stored
            .body
            .contains("&lt;b&gt;roadmap&lt;/b&gt; &amp; &quot;budget&quot;<br>Second line"),
        "{}",
        stored.body
    );
    assert!(
        stored.body.contains("Ada Lovelace &lt;ada@example.org&gt;"),
        "{}",
        stored.body
    );
    assert!(!stored.body.contains("<b>"), "{}", stored.body);

    // The answer to the next create is lost after Graph stored the event: the retry with the
    // same transactionId gets that event back.
    fake.drop_next_create_response();
    let other = meeting("Follow-up with Ada Lovelace", at(3, 10));
    let lost = adapter
        .create_event(&token, "primary", "slotkeeper0002", &other)
        .await;
    assert!(
        matches!(lost, Err(ProviderError::Transient { .. })),
        "{lost:?}"
    );
    let retried = ok(adapter
        .create_event(&token, "primary", "slotkeeper0002", &other)
        .await);
    let again = ok(adapter
        .create_event(&token, "primary", "slotkeeper0002", &other)
        .await);
    assert_eq!(retried, again);
    assert_ne!(retried, id);
    assert_eq!(fake.creates(), 2);
    assert_eq!(fake.create_requests(), 4);
    assert_eq!(fake.events().len(), 2);
}

#[tokio::test]
async fn a_repeated_transaction_refused_as_a_conflict_finds_the_event_already_made() {
    let (fake, adapter) = setup().await;
    let token = access(&fake);
    fake.conflict_on_repeated_transaction(true);
    let event = meeting("Call with Ada Lovelace", at(2, 10));
    fake.drop_next_create_response();
    let lost = adapter
        .create_event(&token, "primary", "slotkeeper0'9", &event)
        .await;
    assert!(
        matches!(lost, Err(ProviderError::Transient { .. })),
        "{lost:?}"
    );
    let id = ok(adapter
        .create_event(&token, "primary", "slotkeeper0'9", &event)
        .await);
    assert_eq!(fake.events().len(), 1);
    assert_eq!(
        fake.event(&id).and_then(|e| e.transaction_id).as_deref(),
        Some("slotkeeper0'9")
    );
    assert!(fake.unmatched().is_empty(), "{:?}", fake.unmatched());
}

#[tokio::test]
async fn update_keeps_the_id_and_delete_is_idempotent() {
    let (fake, adapter) = setup().await;
    let token = access(&fake);
    let id = ok(adapter
        .create_event(
            &token,
            "primary",
            "slotkeeper0003",
            &meeting("Call", at(2, 9)),
        )
        .await);
    let moved = meeting("Call (moved)", at(4, 15));
    ok(adapter.update_event(&token, "primary", &id, &moved).await);
    let stored = fake
        .event(&id)
        .unwrap_or_else(|| panic!("the update made a new event"));
    assert_eq!(stored.subject, "Call (moved)");
    assert_eq!(stored.start, at(4, 15));
    assert_eq!(fake.events().len(), 1);
    assert_eq!(
        ok(adapter.event_state(&token, "primary", &id).await),
        RemoteEventState::Timed(range(at(4, 15), at(4, 15) + Duration::minutes(30)))
    );

    let missing = adapter
        .update_event(&token, "primary", "AAMkNoSuchEvent=", &moved)
        .await;
    assert!(
        matches!(missing, Err(ProviderError::NotFound(_))),
        "{missing:?}"
    );

    ok(adapter.delete_event(&token, "primary", &id).await);
    assert!(fake.event(&id).is_none());
    ok(adapter.delete_event(&token, "primary", &id).await);
    ok(adapter
        .delete_event(&token, "primary", "AAMkNeverThere=")
        .await);
}

#[tokio::test]
async fn event_state_follows_what_the_host_does() {
    let (fake, adapter) = setup().await;
    let token = access(&fake);
    let a = ok(adapter
        .create_event(&token, "primary", "slotkeeper00a", &meeting("A", at(2, 9)))
        .await);
    let b = ok(adapter
        .create_event(&token, "primary", "slotkeeper00b", &meeting("B", at(2, 11)))
        .await);
    assert!(fake.host_moves_event(&a, at(3, 13), at(3, 14)));
    assert_eq!(
        ok(adapter.event_state(&token, "primary", &a).await),
        RemoteEventState::Timed(range(at(3, 13), at(3, 14)))
    );
    assert!(fake.host_cancels_event(&a));
    assert_eq!(
        ok(adapter.event_state(&token, "primary", &a).await),
        RemoteEventState::Deleted
    );
    assert!(fake.host_deletes_event(&b));
    assert_eq!(
        ok(adapter.event_state(&token, "primary", &b).await),
        RemoteEventState::Deleted
    );
    assert_eq!(
        ok(adapter.event_state(&token, "primary", "AAMkUnknown=").await),
        RemoteEventState::Deleted
    );
}

fn state_of(batch: &booking_core::calendar::ChangeBatch, id: &str) -> Option<RemoteEventState> {
    batch
        .changes
        .iter()
        .find(|c| c.event_id == id)
        .map(|c| c.state.clone())
}

#[tokio::test]
async fn delta_follows_pages_then_reports_only_changes() {
    let (fake, adapter) = setup().await;
    let token = access(&fake);
    fake.set_page_size(2);
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(ok(adapter
            .create_event(
                &token,
                "primary",
                &format!("slotkeeper10{n}"),
                &meeting("M", at(2 + n, 9)),
            )
            .await));
    }
    // Far outside the window: not listed.
    fake.host_creates_event("Next year", at(500, 9), at(500, 10));

    let first = ok(adapter.changes(&token, "primary", None).await);
    assert!(first.full_resync);
    assert_eq!(first.changes.len(), 5);
    assert_eq!(fake.delta_requests(), 3, "five events in pages of two");
    assert_eq!(
        state_of(&first, &ids[4]),
        Some(RemoteEventState::Timed(range(
            at(6, 9),
            at(6, 9) + Duration::minutes(30)
        )))
    );
    assert!(
        !first.next_sync_token.starts_with("http"),
        "{}",
        first.next_sync_token
    );

    assert!(fake.host_moves_event(&ids[0], at(8, 16), at(8, 17)));
    assert!(fake.host_deletes_event(&ids[1]));
    assert!(fake.host_cancels_event(&ids[2]));
    let added = fake.host_creates_event("Dentist", at(9, 8), at(9, 9));

    let second = ok(adapter
        .changes(&token, "primary", Some(&first.next_sync_token))
        .await);
    assert!(!second.full_resync);
    assert_eq!(second.changes.len(), 4, "{:?}", second.changes);
    assert_eq!(
        state_of(&second, &ids[0]),
        Some(RemoteEventState::Timed(range(at(8, 16), at(8, 17))))
    );
    assert_eq!(state_of(&second, &ids[1]), Some(RemoteEventState::Deleted));
    assert_eq!(state_of(&second, &ids[2]), Some(RemoteEventState::Deleted));
    assert_eq!(
        state_of(&second, &added),
        Some(RemoteEventState::Timed(range(at(9, 8), at(9, 9))))
    );

    // Moved beyond the sync window: Graph reports it removed ("changed"), but it still
    // exists, so it must not read as deleted.
    assert!(fake.host_moves_event(&ids[3], at(450, 9), at(450, 10)));
    let moved_out = ok(adapter
        .changes(&token, "primary", Some(&second.next_sync_token))
        .await);
    assert_eq!(
        state_of(&moved_out, &ids[3]),
        Some(RemoteEventState::Timed(range(at(450, 9), at(450, 10))))
    );
    assert_eq!(moved_out.changes.len(), 1, "{:?}", moved_out.changes);

    let quiet = ok(adapter
        .changes(&token, "primary", Some(&moved_out.next_sync_token))
        .await);
    assert!(quiet.changes.is_empty() && !quiet.full_resync, "{quiet:?}");
}

#[tokio::test]
async fn an_expired_delta_token_falls_back_to_a_full_listing() {
    let (fake, adapter) = setup().await;
    let token = access(&fake);
    let a = ok(adapter
        .create_event(&token, "primary", "slotkeeper201", &meeting("A", at(2, 9)))
        .await);
    let first = ok(adapter.changes(&token, "primary", None).await);
    let b = ok(adapter
        .create_event(&token, "primary", "slotkeeper202", &meeting("B", at(3, 9)))
        .await);
    fake.expire_delta_tokens();

    let batch = ok(adapter
        .changes(&token, "primary", Some(&first.next_sync_token))
        .await);
    assert!(batch.full_resync);
    assert!(
        state_of(&batch, &a).is_some() && state_of(&batch, &b).is_some(),
        "{batch:?}"
    );
    let next = ok(adapter
        .changes(&token, "primary", Some(&batch.next_sync_token))
        .await);
    assert!(!next.full_resync && next.changes.is_empty(), "{next:?}");
}

#[tokio::test]
async fn a_resync_required_error_also_falls_back_to_a_full_listing() {
    let (fake, adapter) = setup().await;
    let token = access(&fake);
    let a = ok(adapter
        .create_event(&token, "primary", "slotkeeper211", &meeting("A", at(2, 9)))
        .await);
    let first = ok(adapter.changes(&token, "primary", None).await);
    fake.expire_delta_tokens_with(400, "resyncRequired");
    let batch = ok(adapter
        .changes(&token, "primary", Some(&first.next_sync_token))
        .await);
    assert!(batch.full_resync);
    assert!(state_of(&batch, &a).is_some(), "{batch:?}");

    // Any other 400 on a delta round is not read as an expired token.
    fake.fail_next(1, 400, None);
    let refused = adapter
        .changes(&token, "primary", Some(&batch.next_sync_token))
        .await;
    assert!(
        matches!(refused, Err(ProviderError::Permanent(_))),
        "{refused:?}"
    );
}

fn close(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    (a - b).abs() < TimeDelta::seconds(5)
}

#[tokio::test]
async fn subscriptions_are_created_extended_reauthorized_and_deleted_with_the_granted_expiry() {
    let (fake, adapter) = setup().await;
    let token = access(&fake);
    let secret = Secret::new("per-subscription-client-state");
    let channel = ok(adapter
        .watch(
            &token,
            "primary",
            "local-ref",
            &secret,
            HOOK,
            TimeDelta::days(3),
        )
        .await);
    let granted = fake
        .subscription(&channel.id)
        .unwrap_or_else(|| panic!("no subscription {}", channel.id));
    assert_eq!(channel.expires_at, granted.expires_at);
    assert!(
        close(channel.expires_at, Utc::now() + TimeDelta::days(3)),
        "{}",
        channel.expires_at
    );
    assert_eq!(channel.resource_id, "me/events");
    assert_eq!(channel.token, secret);
    assert_eq!(
        granted.client_state.as_deref(),
        Some("per-subscription-client-state")
    );
    assert_eq!(granted.change_type, "created,updated,deleted");
    assert_eq!(granted.resource, "me/events");
    assert_eq!(granted.notification_url, HOOK);
    assert_eq!(granted.lifecycle_notification_url.as_deref(), Some(HOOK));

    // Asking for more than Graph allows is capped just under the maximum, not refused.
    let long = ok(adapter
        .watch(&token, "primary", "x", &secret, HOOK, TimeDelta::days(30))
        .await);
    assert!(
        long.expires_at < Utc::now() + MAX_SUBSCRIPTION_TTL
            && long.expires_at > Utc::now() + TimeDelta::days(6)
    );

    // Graph grants less than asked: the channel carries what was granted.
    fake.cap_subscription_lifetime(TimeDelta::hours(1));
    let extended = ok(adapter.extend(&token, &channel, TimeDelta::days(5)).await)
        .unwrap_or_else(|| panic!("Graph extends in place"));
    assert_eq!(extended.id, channel.id);
    assert!(
        close(extended.expires_at, Utc::now() + TimeDelta::hours(1)),
        "{}",
        extended.expires_at
    );
    assert_eq!(
        fake.subscription(&channel.id).map(|s| s.expires_at),
        Some(extended.expires_at)
    );

    ok(adapter.reauthorize(&token, &channel).await);
    assert_eq!(
        fake.subscription(&channel.id).map(|s| s.reauthorizations),
        Some(1)
    );

    ok(adapter.stop(&token, &channel).await);
    assert_eq!(fake.deleted_subscriptions(), vec![channel.id.clone()]);
    ok(adapter.stop(&token, &channel).await);

    let gone = adapter.extend(&token, &channel, TimeDelta::days(1)).await;
    assert!(matches!(gone, Err(ProviderError::NotFound(_))), "{gone:?}");
    let gone = adapter.reauthorize(&token, &channel).await;
    assert!(matches!(gone, Err(ProviderError::NotFound(_))), "{gone:?}");
}

#[tokio::test]
async fn a_failed_validation_handshake_refuses_the_subscription() {
    let (fake, adapter) = setup().await;
    let token = access(&fake);
    fake.set_validation(true);
    // Nothing listens there, so the handshake cannot succeed.
    let unreachable = format!("{}/no-webhook-here", fake.base_url());
    let refused = adapter
        .watch(
            &token,
            "primary",
            "x",
            &Secret::new("s"),
            &unreachable,
            TimeDelta::days(1),
        )
        .await;
    assert!(
        matches!(refused, Err(ProviderError::Permanent(_))),
        "{refused:?}"
    );
    assert!(fake.subscriptions().is_empty());
}

#[tokio::test]
async fn throttling_and_outages_are_transient_with_retry_after() {
    let (fake, adapter) = setup().await;
    let token = access(&fake);
    fake.fail_next(1, 503, Some(7));
    let outage = adapter
        .create_event(&token, "primary", "slotkeeper301", &meeting("A", at(2, 9)))
        .await;
    match outage {
        Err(ProviderError::Transient { retry_after, .. }) => {
            assert_eq!(retry_after, Some(TimeDelta::seconds(7)))
        }
        other => panic!("expected Transient, got {other:?}"),
    }
    assert_eq!(fake.creates(), 0);

    fake.fail_next(1, 429, Some(30));
    let throttled = adapter.busy(&token, &[], range(at(1, 0), at(2, 0))).await;
    assert!(
        matches!(throttled, Err(ProviderError::Transient { retry_after: Some(d), .. }) if d == TimeDelta::seconds(30)),
        "{throttled:?}"
    );

    fake.fail_next(1, 500, None);
    let plain = adapter.changes(&token, "primary", None).await;
    assert!(
        matches!(
            plain,
            Err(ProviderError::Transient {
                retry_after: None,
                ..
            })
        ),
        "{plain:?}"
    );

    let (_, refresh) = fake.issue_tokens();
    fake.fail_next(1, 503, Some(2));
    let token_outage = adapter.refresh(&Secret::new(refresh.clone())).await;
    assert!(
        matches!(token_outage, Err(ProviderError::Transient { retry_after: Some(d), .. }) if d == TimeDelta::seconds(2)),
        "{token_outage:?}"
    );
    ok(adapter.refresh(&Secret::new(refresh)).await);
    ok(adapter
        .create_event(&token, "primary", "slotkeeper301", &meeting("A", at(2, 9)))
        .await);
    assert_eq!(fake.creates(), 1);
}

#[tokio::test]
async fn a_rejected_access_token_is_unauthorized_and_bad_requests_are_permanent() {
    let (fake, adapter) = setup().await;
    let bogus = Secret::new("not-a-token");
    let refused = adapter.busy(&bogus, &[], range(at(1, 0), at(2, 0))).await;
    assert!(
        matches!(refused, Err(ProviderError::Unauthorized(_))),
        "{refused:?}"
    );
    let refused = adapter
        .watch(
            &bogus,
            "primary",
            "x",
            &Secret::new("s"),
            HOOK,
            TimeDelta::days(1),
        )
        .await;
    assert!(
        matches!(refused, Err(ProviderError::Unauthorized(_))),
        "{refused:?}"
    );

    let token = access(&fake);
    fake.revoke_grant();
    let revoked = adapter.event_state(&token, "primary", "x").await;
    assert!(
        matches!(revoked, Err(ProviderError::Unauthorized(_))),
        "{revoked:?}"
    );

    let token = access(&fake);
    fake.fail_next(1, 403, Some(5));
    let forbidden = adapter.event_state(&token, "primary", "x").await;
    assert!(
        matches!(forbidden, Err(ProviderError::Permanent(_))),
        "{forbidden:?}"
    );
    fake.fail_next(1, 400, None);
    let bad = adapter.delete_event(&token, "primary", "x").await;
    assert!(matches!(bad, Err(ProviderError::Permanent(_))), "{bad:?}");
    assert!(
        fake.unmatched().is_empty(),
        "unexpected calls: {:?}",
        fake.unmatched()
    );
}

#[test]
fn channels_keep_their_secret_out_of_debug_output() {
    let channel = PushChannel {
        id: "sub".into(),
        token: Secret::new("client-state-secret"),
        resource_id: "me/events".into(),
        expires_at: Utc::now(),
    };
    assert!(!format!("{channel:?}").contains("client-state-secret"));
}
