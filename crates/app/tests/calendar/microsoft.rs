//! Microsoft 365 end to end: the binary, the real Graph adapter and the local fake identity +
//! Graph server. Connect (with Graph's validation handshake on the subscription), write-through
//! without attendees and with one event per chain, the host's deletes and moves coming back by
//! notification, a forged `clientState`, lifecycle notifications, and busy times.

use chrono::TimeDelta;
use fake_graph::{BusyBlock, FakeGraph, Lifecycle};

use crate::site::{Site, eventually, follow_consent};
use crate::weekday_at;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microsoft_calendar_both_ways() {
    let graph = FakeGraph::start().await.expect("fake Graph");
    graph.set_validation(true);
    // The first subscription is granted a day only: the renewal below must extend it.
    graph.cap_subscription_lifetime(TimeDelta::hours(24));
    let site = Site::microsoft(&graph).await;
    let host = site.login().await;

    let consent = host
        .get_redirect("/settings/integrations/microsoft/connect")
        .await;
    let callback = follow_consent(&consent).await;
    assert_eq!(host.get_path_of(&callback).await.0, 303);
    let page = host.get("/settings/integrations").await;
    assert!(
        page.1.contains("Connected") && page.1.contains(&graph.account_email()),
        "{}",
        page.1
    );
    let subscription = graph
        .subscriptions()
        .last()
        .cloned()
        .expect("a subscription, validated by the handshake");
    let hook = subscription.notification_url.clone();

    // Renewal extends the subscription in place (PATCH) once it lapses within 48 hours; a
    // second run right after does nothing.
    graph.cap_subscription_lifetime(TimeDelta::minutes(10_080));
    let (status, summary) = site.cron(Some(crate::site::CRON_SECRET)).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["channels_renewed"], 1, "{summary}");
    let extended = graph
        .subscription(&subscription.id)
        .expect("same subscription");
    assert!(extended.expires_at > subscription.expires_at + TimeDelta::days(5));
    assert_eq!(
        site.cron(Some(crate::site::CRON_SECRET)).await.1["channels_renewed"],
        0
    );
    let subscription = extended;

    // Book → one event, no attendees (Exchange would mail them), the attendee named instead.
    let first = site.book(weekday_at(10, 2), "Ada").await;
    eventually("the event is created", || async {
        graph.events().iter().any(|e| e.subject.contains("Ada"))
    })
    .await;
    let event = graph
        .events()
        .into_iter()
        .find(|e| e.subject.contains("Ada"))
        .expect("event");
    assert!(event.attendees.is_empty(), "no invitations from Exchange");

    // Reschedule → the same event moves.
    let token = first["reschedule_token"].as_str().expect("token");
    site.reschedule(token, weekday_at(11, 2)).await;
    eventually("the event moves in place", || async {
        graph
            .event(&event.id)
            .is_some_and(|e| e.start == weekday_at(11, 2))
    })
    .await;
    assert_eq!(graph.creates(), 1, "one event for the whole chain");

    // A forged clientState changes nothing.
    let second = site.book(weekday_at(13, 2), "Grace").await;
    eventually("the second event is created", || async {
        graph.events().iter().any(|e| e.subject.contains("Grace"))
    })
    .await;
    let second_event = graph
        .events()
        .into_iter()
        .find(|e| e.subject.contains("Grace"))
        .expect("event");
    graph.host_deletes_event(&second_event.id);
    let forged = graph
        .change_notification(&subscription.id, "deleted", &second_event.id)
        .expect("notification")
        .with_client_state("forged");
    let status = FakeGraph::notify(&hook, &forged).await.expect("posted");
    assert!((400..500).contains(&status), "forged: {status}");

    // The genuine notification: cancelled, and the attendee is told.
    let genuine = graph
        .change_notification(&subscription.id, "deleted", &second_event.id)
        .expect("notification");
    assert_eq!(
        FakeGraph::notify(&hook, &genuine).await.expect("posted"),
        202
    );
    let second_token = second["reschedule_token"]
        .as_str()
        .expect("token")
        .to_owned();
    eventually("cancelled by the calendar", || async {
        site.booking(&second_token).await["status"] == "cancelled"
    })
    .await;
    eventually("the cancelled mail", || async {
        site.mail_subjects()
            .iter()
            .any(|s| s.starts_with("Cancelled:") && s.contains("Grace"))
    })
    .await;

    // The host drags a meeting in Outlook: rescheduled, with the rescheduled mail.
    let third = site.book(weekday_at(14, 3), "Linus").await;
    eventually("the third event is created", || async {
        graph.events().iter().any(|e| e.subject.contains("Linus"))
    })
    .await;
    let third_event = graph
        .events()
        .into_iter()
        .find(|e| e.subject.contains("Linus"))
        .expect("event");
    let to = weekday_at(16, 3);
    graph.host_moves_event(&third_event.id, to, to + TimeDelta::minutes(30));
    let moved = graph
        .change_notification(&subscription.id, "updated", &third_event.id)
        .expect("notification");
    assert_eq!(FakeGraph::notify(&hook, &moved).await.expect("posted"), 202);
    let third_token = third["reschedule_token"]
        .as_str()
        .expect("token")
        .to_owned();
    eventually("rescheduled by the calendar", || async {
        site.booking(&third_token).await["status"] == "rescheduled"
    })
    .await;
    eventually("the rescheduled mail", || async {
        site.mail_subjects()
            .iter()
            .any(|s| s.starts_with("Rescheduled:") && s.contains("Linus"))
    })
    .await;

    // Lifecycle: reauthorizationRequired reauthorizes, subscriptionRemoved makes a new one.
    let reauth = graph
        .lifecycle_notification(&subscription.id, Lifecycle::ReauthorizationRequired)
        .expect("notification");
    assert_eq!(
        FakeGraph::notify(&hook, &reauth).await.expect("posted"),
        202
    );
    eventually("reauthorized", || async {
        graph
            .subscription(&subscription.id)
            .is_some_and(|s| s.reauthorizations > 0)
    })
    .await;
    let removed_note = graph
        .lifecycle_notification(&subscription.id, Lifecycle::SubscriptionRemoved)
        .expect("notification");
    graph.remove_subscription(&subscription.id);
    assert_eq!(
        FakeGraph::notify(&hook, &removed_note)
            .await
            .expect("posted"),
        202
    );
    eventually("a new subscription replaces the removed one", || async {
        graph
            .subscriptions()
            .iter()
            .any(|s| s.id != subscription.id)
    })
    .await;

    // Busy times remove slots.
    let day = weekday_at(9, 5);
    assert!(
        site.slots(day)
            .await
            .iter()
            .any(|s| s.contains("T10:00:00"))
    );
    graph.set_busy(vec![BusyBlock {
        start: day + TimeDelta::hours(1),
        end: day + TimeDelta::hours(2),
        status: "busy".into(),
    }]);
    eventually("the busy hour disappears", || async {
        let slots = site.slots(day).await;
        !slots.iter().any(|s| s.contains("T10:00:00"))
            && slots.iter().any(|s| s.contains("T12:00:00"))
    })
    .await;

    // The grant is revoked: the banner names the account.
    site.slots(weekday_at(15, 4)).await;
    graph.revoke_grant();
    graph.expire_access_tokens();
    site.book(weekday_at(15, 4), "Edsger").await;
    eventually("the banner shows", || async {
        host.get("/calendar")
            .await
            .1
            .contains("calendar-disconnect-banner")
    })
    .await;
    site.stop();
}
