//! Issue 11, #4: the dashboard's webhooks page (a subscription made on the page with its
//! secret shown once, bad input kept with a 422, switch, delete, test event against a local
//! receiver, the delivery log with retry state), the failed deliveries page and its retry
//! (scoped to the host), CSRF on every form, the link editor's messages, and the frame's
//! skip link and phone styles.

use booking_core::effects::{Effect, EmailKind, Recipient, RetryPolicy, WebhookEvent};
use booking_core::ports::{FailureOutcome, Outbox};
use booking_core::subscriptions::{
    DeliveryAttempt, SubscriptionId, WebhookSubscription, WebhookSubscriptions,
};
use chrono::TimeDelta;
use webhooks_out::TargetPolicy;

use crate::helpers::*;
use crate::webhooks::receiver;
use crate::{csrf, logged_in, send, service};

const ONCE: RetryPolicy = RetryPolicy {
    max_attempts: 1,
    base_delay: TimeDelta::seconds(10),
    max_delay: TimeDelta::minutes(1),
};

const FIVE: RetryPolicy = RetryPolicy {
    max_attempts: 5,
    base_delay: TimeDelta::minutes(1),
    max_delay: TimeDelta::hours(1),
};

async fn hana_hooks(app: &TestApp) -> Vec<WebhookSubscription> {
    WebhookSubscriptions::subscriptions(&app.store, app.hana.id())
        .await
        .unwrap()
}

/// Subscribes `url` on the page as the logged-in browser; answers the page.
macro_rules! subscribe {
    ($svc:expr, $b:expr, $csrf:expr, $url:expr) => {{
        let resp = send!(
            $svc,
            $b,
            form(
                "/settings/webhooks",
                &[
                    ("csrf", $csrf),
                    ("url", $url),
                    ("callBooked", "on"),
                    ("callCancelled", "on")
                ]
            )
        );
        assert_eq!(resp.status(), 201);
        body(resp).await
    }};
}

#[actix_web::test]
async fn a_webhook_made_on_the_page_shows_its_secret_once() {
    let app = setup_webhooks(TargetPolicy::allow_private()).await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    let html = body(send!(svc, b, get("/settings/webhooks"))).await;
    assert!(html.contains("No webhooks yet"), "{html}");
    assert!(html.contains(r#"href="/settings/webhooks" aria-current="page""#));

    let html = subscribe!(svc, b, &csrf, "https://hooks.example.com/in");
    let made = hana_hooks(&app).await;
    assert_eq!(made.len(), 1);
    let secret = made[0].secret.expose().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert!(
        html.contains(&format!(r#"<code id="new-secret">{secret}</code>"#)),
        "{html}"
    );
    assert_eq!(
        made[0].events.iter().copied().collect::<Vec<_>>(),
        [WebhookEvent::CallBooked, WebhookEvent::CallCancelled]
    );
    assert!(made[0].active);

    // Never again: not on the list, not on its own page.
    for path in [
        "/settings/webhooks".to_owned(),
        format!("/settings/webhooks/{}", made[0].id),
    ] {
        let resp = send!(svc, b, get(&path));
        assert_eq!(resp.status(), 200, "{path}");
        let html = body(resp).await;
        assert!(html.contains("https://hooks.example.com/in"), "{html}");
        assert!(!html.contains(&secret), "{path} shows the secret");
        assert!(!html.contains("new-secret"), "{path}");
    }
}

#[actix_web::test]
async fn a_bad_url_or_no_event_is_422_with_the_input_kept() {
    let app = setup_webhooks(TargetPolicy::public_only()).await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    let resp = send!(
        svc,
        b,
        form(
            "/settings/webhooks",
            &[
                ("csrf", &csrf),
                ("url", "hooks example"),
                ("callBooked", "on")
            ]
        )
    );
    assert_eq!(resp.status(), 422);
    let html = body(resp).await;
    assert!(html.contains(r#"value="hooks example""#), "{html}");
    assert!(html.contains(r#"id="url-error""#), "{html}");
    assert!(html.contains("https://example.com/hooks"), "{html}");
    // What was ticked stays ticked, what was not stays unticked.
    assert!(
        html.contains(
            r#"id="event-callBooked" type="checkbox" name="callBooked" value="on" checked"#
        ),
        "{html}"
    );
    assert!(
        !html.contains(r#"name="callCancelled" value="on" checked"#),
        "{html}"
    );

    let resp = send!(
        svc,
        b,
        form(
            "/settings/webhooks",
            &[
                ("csrf", &csrf),
                ("url", "http://127.0.0.1:9/in"),
                ("callBooked", "on")
            ]
        )
    );
    assert_eq!(resp.status(), 422, "a private target is refused");
    assert!(body(resp).await.contains("non-public"));

    let resp = send!(
        svc,
        b,
        form(
            "/settings/webhooks",
            &[("csrf", &csrf), ("url", "https://hooks.example.com/in")]
        )
    );
    assert_eq!(resp.status(), 422);
    let html = body(resp).await;
    assert!(html.contains("Tick at least one event"), "{html}");
    assert!(
        html.contains(r#"value="https://hooks.example.com/in""#),
        "{html}"
    );
    assert!(hana_hooks(&app).await.is_empty(), "nothing was made");
}

#[actix_web::test]
async fn a_webhook_is_switched_off_and_on_and_deleted() {
    let app = setup_webhooks(TargetPolicy::allow_private()).await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    subscribe!(svc, b, &csrf, "https://hooks.example.com/in");
    let id = hana_hooks(&app).await[0].id;
    let base = format!("/settings/webhooks/{id}");

    let resp = send!(
        svc,
        b,
        form(
            &format!("{base}/active"),
            &[("csrf", &csrf), ("active", "off")]
        )
    );
    assert_eq!(resp.status(), 303);
    assert_eq!(header(&resp, "location"), format!("{base}?done=off"));
    assert!(!hana_hooks(&app).await[0].active);
    let html = body(send!(svc, b, get(&format!("{base}?done=off")))).await;
    assert!(html.contains("nothing is delivered to it"), "{html}");
    assert!(
        html.contains(r#"name="active" value="on""#),
        "the button now switches on"
    );

    let resp = send!(
        svc,
        b,
        form(
            &format!("{base}/active"),
            &[("csrf", &csrf), ("active", "on")]
        )
    );
    assert_eq!(resp.status(), 303);
    assert!(hana_hooks(&app).await[0].active);
    let resp = send!(
        svc,
        b,
        form(
            &format!("{base}/active"),
            &[("csrf", &csrf), ("active", "maybe")]
        )
    );
    assert_eq!(resp.status(), 422);

    let resp = send!(svc, b, form(&format!("{base}/delete"), &[("csrf", &csrf)]));
    assert_eq!(resp.status(), 303);
    assert_eq!(header(&resp, "location"), "/settings/webhooks?done=deleted");
    assert!(hana_hooks(&app).await.is_empty());
    assert_eq!(send!(svc, b, get(&base)).status(), 404);
}

#[actix_web::test]
async fn another_hosts_webhook_answers_404_and_is_left_alone() {
    let app = setup_webhooks(TargetPolicy::allow_private()).await;
    let svc = service!(app.state);
    let mut hana = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, hana);
    subscribe!(svc, hana, &csrf, "https://hooks.example.com/in");
    let id = hana_hooks(&app).await[0].id;
    let base = format!("/settings/webhooks/{id}");

    let mut otto = logged_in!(svc, "otto@example.com", OTTO_PASSWORD);
    let otto_csrf = csrf!(svc, otto);
    assert_eq!(send!(svc, otto, get(&base)).status(), 404);
    let list = body(send!(svc, otto, get("/settings/webhooks"))).await;
    assert!(!list.contains("hooks.example.com"), "{list}");
    for (path, pairs) in [
        (
            format!("{base}/active"),
            vec![("csrf", otto_csrf.as_str()), ("active", "off")],
        ),
        (format!("{base}/delete"), vec![("csrf", otto_csrf.as_str())]),
        (format!("{base}/test"), vec![("csrf", otto_csrf.as_str())]),
    ] {
        assert_eq!(
            send!(svc, otto, form(&path, &pairs)).status(),
            404,
            "{path}"
        );
    }
    let still = hana_hooks(&app).await;
    assert_eq!(still.len(), 1);
    assert!(still[0].active);
    assert_eq!(
        send!(svc, otto, get("/settings/webhooks/not-an-id")).status(),
        404
    );
}

#[actix_web::test]
async fn every_form_needs_its_csrf_token() {
    let app = setup_webhooks(TargetPolicy::allow_private()).await;
    let booked = book(&app, "intro", at(9, 0), "Ada Lovelace").await;
    let mail = Effect::Email {
        kind: EmailKind::Booked,
        to: Recipient::Attendee,
        booking: booked.id(),
    };
    app.store
        .mark_failed(&mail.idempotency_key(), at(7, 5), "550 gone", &ONCE, 0.0)
        .await
        .unwrap();
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    subscribe!(svc, b, &csrf, "https://hooks.example.com/in");
    let base = format!("/settings/webhooks/{}", hana_hooks(&app).await[0].id);
    let key = mail.idempotency_key();
    for token in ["", "wrong"] {
        for (path, pairs) in [
            (
                "/settings/webhooks".to_owned(),
                vec![
                    ("url", "https://other.example.com/in"),
                    ("callBooked", "on"),
                ],
            ),
            (format!("{base}/active"), vec![("active", "off")]),
            (format!("{base}/delete"), vec![]),
            (format!("{base}/test"), vec![]),
            (
                "/settings/deliveries/retry".to_owned(),
                vec![("key", key.as_str())],
            ),
        ] {
            let mut pairs = pairs;
            pairs.push(("csrf", token));
            assert_eq!(
                send!(svc, b, form(&path, &pairs)).status(),
                403,
                "{path} {token:?}"
            );
        }
    }
    let hooks = hana_hooks(&app).await;
    assert_eq!(hooks.len(), 1, "nothing made, nothing deleted");
    assert!(hooks[0].active);
    assert_eq!(
        app.store
            .dead_entries_of_host(app.hana.id(), 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[actix_web::test]
async fn a_test_event_reaches_a_local_receiver_and_its_answer_is_shown() {
    let (url, seen) = receiver().await;
    let app = setup_webhooks(TargetPolicy::allow_private()).await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    subscribe!(svc, b, &csrf, &url);
    let id = hana_hooks(&app).await[0].id;
    let resp = send!(
        svc,
        b,
        form(&format!("/settings/webhooks/{id}/test"), &[("csrf", &csrf)])
    );
    assert_eq!(resp.status(), 303);
    let location = header(&resp, "location");
    assert!(
        location.starts_with(&format!("/settings/webhooks/{id}?tested=")),
        "{location}"
    );

    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one request reached the receiver");
    let webhook_id = got[0]
        .0
        .lines()
        .find_map(|l| l.strip_prefix("webhook-id:"))
        .unwrap()
        .trim()
        .to_owned();
    assert!(
        webhook_id.starts_with(&format!("{id}:webhook:test:")),
        "{webhook_id}"
    );

    let html = body(send!(svc, b, get(&location))).await;
    assert!(html.contains(r#"id="test-result""#), "{html}");
    assert!(
        html.contains("The test event was delivered: HTTP 200"),
        "{html}"
    );
    assert!(
        html.contains(&webhook_id),
        "the delivery log lists it: {html}"
    );
    assert!(html.contains("Delivered"), "{html}");
}

#[actix_web::test]
async fn a_refused_test_target_is_422_and_nothing_is_sent() {
    let (url, seen) = receiver().await;
    let app = setup_webhooks(TargetPolicy::public_only()).await;
    // Made before the policy changed: straight in the store.
    let id = SubscriptionId::from_uuid(uuid::Uuid::from_u128(77));
    WebhookSubscriptions::create_subscription(
        &app.store,
        &WebhookSubscription {
            id,
            host: app.hana.id(),
            url: booking_core::subscriptions::TargetUrl::parse(&url).unwrap(),
            secret: booking_core::subscriptions::SubscriptionSecret::parse(
                &webhooks_out::WebhookSecret::generate([5; 32]).expose(),
            )
            .unwrap(),
            events: booking_core::subscriptions::ALL_EVENTS
                .into_iter()
                .collect(),
            active: true,
            created_at: at(6, 0),
        },
    )
    .await
    .unwrap();
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    let resp = send!(
        svc,
        b,
        form(&format!("/settings/webhooks/{id}/test"), &[("csrf", &csrf)])
    );
    assert_eq!(resp.status(), 422);
    assert!(body(resp).await.contains("Nothing was sent"));
    assert!(seen.lock().unwrap().is_empty());
}

#[actix_web::test]
async fn the_delivery_log_says_when_the_next_retry_is_and_when_it_was_given_up() {
    let app = setup_webhooks(TargetPolicy::allow_private()).await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    subscribe!(svc, b, &csrf, "https://hooks.example.com/in");
    let hook = hana_hooks(&app).await[0].clone();
    let booked = book(&app, "intro", at(9, 0), "Ada Lovelace").await;
    let effect = Effect::Webhook {
        event: WebhookEvent::CallBooked,
        booking: booked.id(),
    };
    let key = effect.idempotency_key();
    let attempt = |n: u32, at: chrono::DateTime<chrono::Utc>| DeliveryAttempt {
        subscription: hook.id,
        effect_key: key.clone(),
        attempt: n,
        status: Some(503),
        latency_ms: 12,
        error: Some("HTTP 503".to_owned()),
        delivered: false,
        at,
    };
    app.store
        .record_delivery(&attempt(1, at(7, 5)))
        .await
        .unwrap();
    let outcome = app
        .store
        .mark_failed(&key, at(7, 5), "HTTP 503", &FIVE, 0.0)
        .await
        .unwrap();
    let FailureOutcome::RetryAt(next) = outcome else {
        panic!("{outcome:?}")
    };
    let page = format!("/settings/webhooks/{}", hook.id);
    let html = body(send!(svc, b, get(&page))).await;
    assert!(html.contains(&key), "{html}");
    assert!(html.contains("HTTP 503"), "{html}");
    // Berlin is UTC+1: the retry due at `next` is shown in the host's zone.
    let shown = next
        .with_timezone(&chrono_tz::Europe::Berlin)
        .format("%H:%M")
        .to_string();
    assert!(html.contains("Next retry"), "{html}");
    assert!(html.contains(&shown), "{shown} in {html}");

    app.store
        .record_delivery(&attempt(2, at(7, 10)))
        .await
        .unwrap();
    app.store
        .mark_failed(&key, at(7, 10), "HTTP 503", &ONCE, 0.0)
        .await
        .unwrap();
    let html = body(send!(svc, b, get(&page))).await;
    assert!(html.contains("Given up after 2 attempts"), "{html}");
    assert!(html.contains(r#"href="/settings/deliveries""#), "{html}");
}

#[actix_web::test]
async fn dead_entries_are_listed_for_their_host_and_retried_only_by_it() {
    let app = setup().await;
    let mine = book(&app, "intro", at(9, 0), "Ada Lovelace").await;
    let theirs = book(&app, "otto-call", at(9, 0), "Zed Zebra").await;
    let mail = |booking| Effect::Email {
        kind: EmailKind::Booked,
        to: Recipient::Attendee,
        booking,
    };
    for booking in [mine.id(), theirs.id()] {
        let outcome = app
            .store
            .mark_failed(
                &mail(booking).idempotency_key(),
                at(7, 5),
                "550 5.1.1 mailbox unavailable",
                &ONCE,
                0.0,
            )
            .await
            .unwrap();
        assert_eq!(outcome, FailureOutcome::Dead);
    }
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    let html = body(send!(svc, b, get("/settings/deliveries"))).await;
    assert!(html.contains("email/Booked/Attendee"), "{html}");
    assert!(html.contains("550 5.1.1 mailbox unavailable"), "{html}");
    assert!(
        html.contains(&format!("/calendar/bookings/{}", mine.id())),
        "{html}"
    );
    assert!(
        !html.contains(&theirs.id().to_string()),
        "Otto's entry is not Hana's: {html}"
    );

    let their_key = mail(theirs.id()).idempotency_key();
    let resp = send!(
        svc,
        b,
        form(
            "/settings/deliveries/retry",
            &[("csrf", &csrf), ("key", &their_key)]
        )
    );
    assert_eq!(resp.status(), 404);
    assert_eq!(
        app.store
            .dead_entries_of_host(app.otto.id(), 10)
            .await
            .unwrap()
            .len(),
        1
    );

    let my_key = mail(mine.id()).idempotency_key();
    let resp = send!(
        svc,
        b,
        form(
            "/settings/deliveries/retry",
            &[("csrf", &csrf), ("key", &my_key)]
        )
    );
    assert_eq!(resp.status(), 303);
    assert_eq!(
        header(&resp, "location"),
        "/settings/deliveries?done=retried"
    );
    let html = body(send!(svc, b, get("/settings/deliveries?done=retried"))).await;
    assert!(html.contains("Put back in the queue"), "{html}");
    assert!(html.contains(r#"id="no-dead""#), "{html}");
    let claimed = app
        .store
        .claim_due(at(7, 6), TimeDelta::minutes(1), 100)
        .await
        .unwrap();
    let back = claimed
        .iter()
        .find(|e| e.key == my_key)
        .expect("queued again");
    assert_eq!(back.attempts, 0);
    // A second retry finds nothing dead: 404.
    let resp = send!(
        svc,
        b,
        form(
            "/settings/deliveries/retry",
            &[("csrf", &csrf), ("key", &my_key)]
        )
    );
    assert_eq!(resp.status(), 404);
}

fn link_form<'a>(
    csrf: &'a str,
    duration: &'a str,
    interval: &'a str,
    monday: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("slug", "editor-check"),
        ("title", "Editor check"),
        ("time_zone", "UTC"),
        ("duration_minutes", duration),
        ("interval_minutes", interval),
        ("hours_mon", monday),
    ]
}

#[actix_web::test]
async fn the_link_editor_names_the_field_that_is_wrong() {
    let app = setup().await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);

    let resp = send!(svc, b, form("/links", &link_form(&csrf, "30", "", "9-5")));
    assert_eq!(resp.status(), 422);
    let html = body(resp).await;
    assert!(html.contains("write hours as 09:00-17:00"), "{html}");
    assert!(!html.contains("must start before it ends"), "{html}");
    assert!(html.contains(r#"value="9-5""#), "the input is kept: {html}");

    // A period written right but backwards still says so.
    let resp = send!(
        svc,
        b,
        form("/links", &link_form(&csrf, "30", "", "17:00-09:00"))
    );
    assert_eq!(resp.status(), 422);
    assert!(body(resp).await.contains("must start before it ends"));

    // An empty duration is the duration's error only; the empty interval follows it.
    let resp = send!(
        svc,
        b,
        form("/links", &link_form(&csrf, "", "", "09:00-17:00"))
    );
    assert_eq!(resp.status(), 422);
    let html = body(resp).await;
    assert!(html.contains("meeting duration must be"), "{html}");
    assert!(!html.contains("slot interval must be"), "{html}");

    // A bad interval is named as the interval.
    let resp = send!(
        svc,
        b,
        form("/links", &link_form(&csrf, "30", "0", "09:00-17:00"))
    );
    assert_eq!(resp.status(), 422);
    let html = body(resp).await;
    assert!(html.contains("slot interval must be between 1 minute and 24 hours (leave it empty to use the duration)"), "{html}");
    assert!(!html.contains("meeting duration must be"), "{html}");

    // An empty interval is the duration.
    let resp = send!(
        svc,
        b,
        form("/links", &link_form(&csrf, "30", "", "09:00-17:00"))
    );
    assert_eq!(resp.status(), 303, "{}", body(resp).await);
    let link = booking_core::ports::BookingStore::link_by_slug(
        &app.store,
        &booking_core::link::Slug::parse("editor-check").unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(link.rules().interval(), TimeDelta::minutes(30));
}

#[actix_web::test]
async fn every_host_page_has_a_skip_link_a_labelled_nav_and_phone_styles() {
    let app = setup_webhooks(TargetPolicy::allow_private()).await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    for path in [
        "/calendar",
        "/links",
        "/links/new",
        "/deals",
        "/settings/webhooks",
        "/settings/deliveries",
        "/settings/api-keys",
    ] {
        let resp = send!(svc, b, get(path));
        assert_eq!(resp.status(), 200, "{path}");
        let html = body(resp).await;
        assert!(
            html.contains(r##"<a class="skip" href="#main">Skip to content</a>"##),
            "{path}"
        );
        assert!(html.contains(r#"<main id="main" tabindex="-1">"#), "{path}");
        assert!(html.contains(r#"<nav aria-label="Dashboard">"#), "{path}");
        assert!(
            html.contains(r#"href="/settings/webhooks""#)
                && html.contains(r#"href="/settings/deliveries""#),
            "{path}"
        );
    }
    let css = body(send!(svc, b, get("/static/host.css"))).await;
    assert!(css.contains("@media (max-width: 40rem)"), "{css}");
    assert!(css.contains("td[data-label]::before"), "{css}");
    assert!(css.contains("q.reason { white-space: pre-line; }"), "{css}");
    assert!(css.contains("input[type=checkbox] { width: auto;"), "{css}");
    assert!(css.contains(":focus-visible"), "{css}");
}
