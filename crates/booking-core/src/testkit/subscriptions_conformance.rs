//! The conformance suite of the [`WebhookSubscriptions`] port: what every store (in memory,
//! SQLite, Postgres) must do with subscriptions and their delivery log. Test binaries generate
//! one test per function with
//! [`subscription_conformance_tests!`](crate::subscription_conformance_tests), next to
//! [`store_conformance_tests!`](crate::store_conformance_tests) and with the same factory.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use uuid::Uuid;

use super::conformance::StoreFactory;
use crate::effects::WebhookEvent;
use crate::ids::HostId;
use crate::invitee::{Email, PersonName};
use crate::link::Host;
use crate::ports::BookingStore;
use crate::subscriptions::{
    DeliveryAttempt, SubscriptionError, SubscriptionId, SubscriptionSecret, TargetUrl,
    WebhookSubscription, WebhookSubscriptions,
};
use crate::time::TimeZoneName;

/// Generates one test per function of this suite, e.g.
/// `subscription_conformance_tests!(#[tokio::test] factory: MyFactory::new());`
/// (`factory` is evaluated once per test; its store must implement [`WebhookSubscriptions`]).
#[macro_export]
macro_rules! subscription_conformance_tests {
    (#[$test:meta] factory: $factory:expr $(,)?) => {
        $crate::subscription_conformance_tests!(@each #[$test] $factory;
            subscription_round_trip, subscriptions_need_a_known_host,
            other_hosts_subscriptions_are_not_found, active_subscriptions_filter_by_event_and_flag,
            delivery_log_is_newest_first_and_answers_delivered_to,
            deleting_a_subscription_deletes_its_log);
    };
    (@each #[$test:meta] $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[$test]
            async fn $name() {
                let factory = $factory;
                $crate::testkit::subscriptions_conformance::$name(&factory).await;
                $crate::testkit::conformance::StoreFactory::finish(&factory).await;
            }
        )*
    };
}

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 9, minute, 0)
        .single()
        .expect("valid time")
}

fn host(n: u128) -> Host {
    Host::new(
        HostId::from_uuid(Uuid::from_u128(0x4057_0000 + n)),
        PersonName::parse("Hook Host").expect("valid"),
        Email::parse("hooks@example.com").expect("valid"),
        TimeZoneName::parse("Europe/Berlin").expect("valid"),
    )
}

fn subscription(n: u128, host: &Host, events: &[WebhookEvent]) -> WebhookSubscription {
    WebhookSubscription {
        id: SubscriptionId::from_uuid(Uuid::from_u128(0x5b5c_0000 + n)),
        host: host.id(),
        url: TargetUrl::parse(&format!("https://hooks.example.com/in/{n}?a=b&c=d")).expect("valid"),
        secret: SubscriptionSecret::parse(&format!("whsec_c2VjcmV0LXtestX{n}")).expect("valid"),
        events: events.iter().copied().collect::<BTreeSet<_>>(),
        active: true,
        created_at: at(u32::try_from(n).expect("small")),
    }
}

fn attempt(sub: &WebhookSubscription, key: &str, n: u32, delivered: bool) -> DeliveryAttempt {
    DeliveryAttempt {
        subscription: sub.id,
        effect_key: key.to_owned(),
        attempt: n,
        status: if delivered { Some(204) } else { Some(500) },
        latency_ms: 12 + u64::from(n),
        error: (!delivered).then(|| "receiver answered 500 \"x\"\r\n<b>".to_owned()),
        delivered,
        at: at(10) + TimeDelta::seconds(i64::from(n)),
    }
}

async fn store_with_hosts<F: StoreFactory>(factory: &F) -> (F::Store, Host, Host)
where
    F::Store: WebhookSubscriptions,
{
    let store = factory.fresh().await;
    let (a, b) = (host(1), host(2));
    store.save_host(&a).await.expect("host");
    store.save_host(&b).await.expect("host");
    (store, a, b)
}

/// What is created is read back field for field; a host's list is in creation order.
pub async fn subscription_round_trip<F: StoreFactory>(factory: &F)
where
    F::Store: WebhookSubscriptions,
{
    let (store, a, _) = store_with_hosts(factory).await;
    let first = subscription(
        1,
        &a,
        &[WebhookEvent::CallBooked, WebhookEvent::CallCancelled],
    );
    let mut second = subscription(2, &a, &[WebhookEvent::CallRescheduled]);
    second.active = false;
    store.create_subscription(&first).await.expect("create");
    store.create_subscription(&second).await.expect("create");
    assert_eq!(
        store.subscription(a.id(), first.id).await.expect("get"),
        Some(first.clone())
    );
    assert_eq!(
        store.subscriptions(a.id()).await.expect("list"),
        vec![first.clone(), second.clone()]
    );
    assert!(
        store.create_subscription(&first).await.is_err(),
        "an id is used once"
    );
    store
        .set_subscription_active(a.id(), second.id, true)
        .await
        .expect("activate");
    second.active = true;
    assert_eq!(
        store.subscription(a.id(), second.id).await.expect("get"),
        Some(second)
    );
}

/// A subscription of a host that does not exist is refused.
pub async fn subscriptions_need_a_known_host<F: StoreFactory>(factory: &F)
where
    F::Store: WebhookSubscriptions,
{
    let store = factory.fresh().await;
    let stranger = host(9);
    let got = store
        .create_subscription(&subscription(1, &stranger, &[WebhookEvent::CallBooked]))
        .await;
    assert!(
        matches!(got, Err(SubscriptionError::UnknownHost)),
        "{got:?}"
    );
}

/// Another host's subscription looks exactly like one that does not exist.
pub async fn other_hosts_subscriptions_are_not_found<F: StoreFactory>(factory: &F)
where
    F::Store: WebhookSubscriptions,
{
    let (store, a, b) = store_with_hosts(factory).await;
    let mine = subscription(1, &a, &[WebhookEvent::CallBooked]);
    store.create_subscription(&mine).await.expect("create");
    store
        .record_delivery(&attempt(&mine, "k:webhook:callBooked", 1, true))
        .await
        .expect("log");
    assert_eq!(
        store.subscription(b.id(), mine.id).await.expect("get"),
        None
    );
    assert!(store.subscriptions(b.id()).await.expect("list").is_empty());
    assert!(
        store
            .deliveries(b.id(), mine.id, 10)
            .await
            .expect("log")
            .is_empty()
    );
    assert!(matches!(
        store.delete_subscription(b.id(), mine.id).await,
        Err(SubscriptionError::NotFound)
    ));
    assert!(matches!(
        store.set_subscription_active(b.id(), mine.id, false).await,
        Err(SubscriptionError::NotFound)
    ));
    let unknown = SubscriptionId::from_uuid(Uuid::from_u128(77));
    assert!(matches!(
        store.delete_subscription(a.id(), unknown).await,
        Err(SubscriptionError::NotFound)
    ));
    assert_eq!(
        store.subscription(a.id(), mine.id).await.expect("get"),
        Some(mine),
        "untouched by the stranger"
    );
}

/// Only active subscriptions of the host that want the event are handed to the dispatcher.
pub async fn active_subscriptions_filter_by_event_and_flag<F: StoreFactory>(factory: &F)
where
    F::Store: WebhookSubscriptions,
{
    let (store, a, b) = store_with_hosts(factory).await;
    let all = subscription(
        1,
        &a,
        &[
            WebhookEvent::CallBooked,
            WebhookEvent::CallRescheduled,
            WebhookEvent::CallCancelled,
        ],
    );
    let booked = subscription(2, &a, &[WebhookEvent::CallBooked]);
    let off = subscription(3, &a, &[WebhookEvent::CallBooked]);
    let other = subscription(4, &b, &[WebhookEvent::CallBooked]);
    for s in [&all, &booked, &off, &other] {
        store.create_subscription(s).await.expect("create");
    }
    store
        .set_subscription_active(a.id(), off.id, false)
        .await
        .expect("off");
    let ids = |subs: Vec<WebhookSubscription>| subs.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .active_subscriptions(a.id(), WebhookEvent::CallBooked)
            .await
            .expect("active")),
        vec![all.id, booked.id]
    );
    assert_eq!(
        ids(store
            .active_subscriptions(a.id(), WebhookEvent::CallCancelled)
            .await
            .expect("active")),
        vec![all.id]
    );
    assert_eq!(
        ids(store
            .active_subscriptions(b.id(), WebhookEvent::CallRescheduled)
            .await
            .expect("active")),
        vec![]
    );
}

/// The log keeps every attempt, newest first, limited; `delivered_to` is true only after an
/// acknowledged attempt of that entry to that subscription.
pub async fn delivery_log_is_newest_first_and_answers_delivered_to<F: StoreFactory>(factory: &F)
where
    F::Store: WebhookSubscriptions,
{
    let (store, a, _) = store_with_hosts(factory).await;
    let one = subscription(1, &a, &[WebhookEvent::CallBooked]);
    let two = subscription(2, &a, &[WebhookEvent::CallBooked]);
    store.create_subscription(&one).await.expect("create");
    store.create_subscription(&two).await.expect("create");
    let key = "b0:webhook:callBooked";
    assert!(!store.delivered_to(key, one.id).await.expect("check"));
    let failed = attempt(&one, key, 1, false);
    let succeeded = attempt(&one, key, 2, true);
    let mut no_answer = attempt(&two, key, 1, false);
    no_answer.status = None;
    no_answer.error = Some("no answer within 5000 ms".into());
    for a in [&failed, &succeeded, &no_answer] {
        store.record_delivery(a).await.expect("log");
    }
    assert!(store.delivered_to(key, one.id).await.expect("check"));
    assert!(
        !store.delivered_to(key, two.id).await.expect("check"),
        "a failure is not a delivery"
    );
    assert!(
        !store
            .delivered_to("b0:webhook:callCancelled", one.id)
            .await
            .expect("check"),
        "per entry"
    );
    assert_eq!(
        store.deliveries(a.id(), one.id, 10).await.expect("log"),
        vec![succeeded.clone(), failed]
    );
    assert_eq!(
        store.deliveries(a.id(), one.id, 1).await.expect("log"),
        vec![succeeded]
    );
    assert_eq!(
        store.deliveries(a.id(), two.id, 10).await.expect("log"),
        vec![no_answer]
    );
}

/// Deleting a subscription deletes its log; later attempts for it are dropped.
pub async fn deleting_a_subscription_deletes_its_log<F: StoreFactory>(factory: &F)
where
    F::Store: WebhookSubscriptions,
{
    let (store, a, _) = store_with_hosts(factory).await;
    let one = subscription(1, &a, &[WebhookEvent::CallBooked]);
    store.create_subscription(&one).await.expect("create");
    store
        .record_delivery(&attempt(&one, "k", 1, true))
        .await
        .expect("log");
    store
        .delete_subscription(a.id(), one.id)
        .await
        .expect("delete");
    assert_eq!(store.subscription(a.id(), one.id).await.expect("get"), None);
    assert!(!store.delivered_to("k", one.id).await.expect("check"));
    store
        .record_delivery(&attempt(&one, "k", 2, true))
        .await
        .expect("a late attempt is dropped, not an error");
    assert!(!store.delivered_to("k", one.id).await.expect("check"));
    store
        .create_subscription(&one)
        .await
        .expect("the id is free again");
    assert!(
        store
            .deliveries(a.id(), one.id, 10)
            .await
            .expect("log")
            .is_empty()
    );
}
