//! The conformance suite of [`LoginAttempts`]: fixed windows per key, refused attempts
//! counted too, attempts given back and forgotten, and the atomic count that lets exactly the
//! limit through when many attempts race. Test binaries generate one test per function with
//! [`login_attempt_conformance_tests!`](crate::login_attempt_conformance_tests).

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::conformance::{Spawner, StoreFactory, join_all};
use crate::accounts::{AttemptLimit, LoginAttempts};

/// Generates one test per function of this suite, e.g.
/// `login_attempt_conformance_tests!(#[tokio::test] factory: MyFactory::new(), spawner: Inline);`
/// (`factory` is evaluated once per test; its store must implement [`LoginAttempts`]).
#[macro_export]
macro_rules! login_attempt_conformance_tests {
    (#[$test:meta] factory: $factory:expr, spawner: $spawner:expr $(,)?) => {
        $crate::login_attempt_conformance_tests!(@plain #[$test] $factory;
            attempts_within_a_window_are_limited, keys_count_apart,
            given_back_and_cleared_attempts);
        #[$test]
        async fn concurrent_attempts_let_exactly_the_limit_through() {
            let factory = $factory;
            $crate::testkit::attempts_conformance::concurrent_attempts_let_exactly_the_limit_through(
                &factory, &$spawner,
            )
            .await;
            $crate::testkit::conformance::StoreFactory::finish(&factory).await;
        }
    };
    (@plain #[$test:meta] $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[$test]
            async fn $name() {
                let factory = $factory;
                $crate::testkit::attempts_conformance::$name(&factory).await;
                $crate::testkit::conformance::StoreFactory::finish(&factory).await;
            }
        )*
    };
}

fn at(minute: u32, second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 9, minute, second)
        .single()
        .expect("valid time")
}

fn five_per_quarter_hour() -> AttemptLimit {
    AttemptLimit::new(5, TimeDelta::minutes(15)).expect("valid limit")
}

async fn count<S: LoginAttempts>(store: &S, key: &str, now: DateTime<Utc>) -> bool {
    store
        .count_attempt(key, five_per_quarter_hour(), now)
        .await
        .expect("count an attempt")
}

/// Five attempts in a window pass, the sixth does not; refused attempts do not move the
/// window, which closes 15 minutes after its first attempt, and the next one starts afresh.
pub async fn attempts_within_a_window_are_limited<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: LoginAttempts,
{
    let store = factory.fresh().await;
    for second in 0..5 {
        assert!(count(&store, "login:ann@example.org", at(0, second)).await);
    }
    assert!(!count(&store, "login:ann@example.org", at(1, 0)).await);
    assert!(!count(&store, "login:ann@example.org", at(14, 59)).await);
    // The window opened at 09:00:00, so it is closed at 09:15:00 whatever came since.
    assert!(count(&store, "login:ann@example.org", at(15, 0)).await);
    for second in 1..5 {
        assert!(count(&store, "login:ann@example.org", at(16, second)).await);
    }
    assert!(!count(&store, "login:ann@example.org", at(16, 30)).await);
}

/// Every key has its own count.
pub async fn keys_count_apart<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: LoginAttempts,
{
    let store = factory.fresh().await;
    let one = AttemptLimit::new(1, TimeDelta::minutes(15)).expect("valid limit");
    let attempt = |key: &'static str| {
        let store = store.clone();
        async move {
            store
                .count_attempt(key, one, at(0, 0))
                .await
                .expect("count")
        }
    };
    assert!(attempt("login:ann@example.org").await);
    assert!(attempt("login:bob@example.org").await);
    assert!(attempt("client:192.0.2.1").await);
    assert!(!attempt("login:ann@example.org").await);
    assert!(!attempt("client:192.0.2.1").await);
    assert!(attempt("client:192.0.2.2").await);
}

/// A given-back attempt frees one place (never going below zero); clearing frees them all.
pub async fn given_back_and_cleared_attempts<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: LoginAttempts,
{
    let store = factory.fresh().await;
    let key = "client:192.0.2.7";
    for second in 0..5 {
        assert!(count(&store, key, at(0, second)).await);
    }
    store.return_attempt(key).await.expect("give back");
    assert!(count(&store, key, at(1, 0)).await);
    assert!(!count(&store, key, at(1, 1)).await);

    store.clear_attempts(key).await.expect("clear");
    for second in 0..5 {
        assert!(count(&store, key, at(2, second)).await);
    }
    assert!(!count(&store, key, at(2, 10)).await);

    // Giving back or clearing a key never counted is no error, and leaves no credit behind.
    store
        .return_attempt("login:nobody@example.org")
        .await
        .expect("give back");
    store
        .clear_attempts("login:nobody@example.org")
        .await
        .expect("clear");
    for second in 0..5 {
        assert!(count(&store, "login:nobody@example.org", at(3, second)).await);
    }
    assert!(!count(&store, "login:nobody@example.org", at(3, 10)).await);
}

/// How many attempts race in [`concurrent_attempts_let_exactly_the_limit_through`].
const RACERS: usize = 30;

/// Thirty attempts at once under one key with a limit of five: exactly five are allowed, and
/// the count goes on from there.
pub async fn concurrent_attempts_let_exactly_the_limit_through<F, X>(factory: &F, spawner: &X)
where
    F: StoreFactory,
    F::Store: LoginAttempts,
    X: Spawner,
{
    let store = factory.fresh().await;
    let tasks = (0..RACERS)
        .map(|_| {
            let store = store.clone();
            spawner.spawn::<bool>(Box::pin(async move {
                store
                    .count_attempt("login:ann@example.org", five_per_quarter_hour(), at(0, 0))
                    .await
                    .expect("count an attempt")
            }))
        })
        .collect();
    let allowed = join_all(tasks).await.into_iter().filter(|ok| *ok).count();
    assert_eq!(allowed, 5, "exactly the limit gets through");
    assert!(!count(&store, "login:ann@example.org", at(0, 1)).await);
}
