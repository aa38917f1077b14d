//! The conformance suite of [`HostSessions`]: sessions found by id while live, last seen at
//! most once a minute, ended one by one (logout) or all of a host's but one (a password
//! change), and expired ones pruned. Test binaries generate one test per function with
//! [`session_conformance_tests!`](crate::session_conformance_tests).

use chrono::{DateTime, TimeDelta};

use super::conformance::StoreFactory;
use super::host_conformance::{at, host};
use crate::accounts::{Account, AccountStore, PasswordHash};
use crate::link::Host;
use crate::ports::BookingStore;
use crate::sessions::{HostSession, HostSessions, SEEN_EVERY, SessionSecret, change_password};

/// Generates one test per function of this suite, e.g.
/// `session_conformance_tests!(#[tokio::test] factory: MyFactory::new());`
/// (`factory` is evaluated once per test; its store must implement [`HostSessions`] and
/// [`AccountStore`]).
#[macro_export]
macro_rules! session_conformance_tests {
    (#[$test:meta] factory: $factory:expr $(,)?) => {
        $crate::session_conformance_tests!(@each #[$test] $factory;
            a_session_is_found_by_its_id_until_it_expires, a_session_is_seen_at_most_once_a_minute,
            logout_ends_only_that_session, ending_a_hosts_sessions_keeps_the_one_asked_for,
            expired_sessions_are_pruned, a_password_change_ends_the_hosts_sessions,
            a_session_needs_a_known_host_and_a_new_id);
    };
    (@each #[$test:meta] $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[$test]
            async fn $name() {
                let factory = $factory;
                $crate::testkit::sessions_conformance::$name(&factory).await;
                $crate::testkit::conformance::StoreFactory::finish(&factory).await;
            }
        )*
    };
}

const LIFETIME: TimeDelta = TimeDelta::hours(12);

fn secret(n: u8) -> SessionSecret {
    SessionSecret::parse(&format!("{n:02x}").repeat(16)).expect("valid secret")
}

fn session(n: u8, of: &Host, now: DateTime<chrono::Utc>) -> HostSession {
    HostSession::start(&secret(n), of.id(), &format!("csrf{n}"), now, LIFETIME)
        .expect("valid session")
}

async fn hosts<S: BookingStore>(store: &S) -> (Host, Host) {
    let ann = host(1, "ann@example.org");
    let bob = host(2, "bob@example.org");
    store.save_host(&ann).await.expect("host");
    store.save_host(&bob).await.expect("host");
    (ann, bob)
}

async fn live<S: HostSessions>(store: &S, n: u8, now: DateTime<chrono::Utc>) -> bool {
    store
        .live_session(&secret(n).id(), now)
        .await
        .expect("read a session")
        .is_some()
}

/// A started session is found by its id, as stored, until the moment it expires; an unknown
/// id finds nothing.
pub async fn a_session_is_found_by_its_id_until_it_expires<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: HostSessions,
{
    let store = factory.fresh().await;
    let (ann, _) = hosts(&store).await;
    let started = session(1, &ann, at(9, 0));
    store.start_session(&started).await.expect("start");
    let found = store
        .live_session(&secret(1).id(), at(9, 0))
        .await
        .expect("read")
        .expect("live");
    assert_eq!(found, started);
    assert_eq!(found.host(), ann.id());
    assert_eq!(found.csrf(), "csrf1");
    let last_second = at(9, 0) + LIFETIME - TimeDelta::seconds(1);
    assert!(live(&store, 1, last_second).await);
    assert!(!live(&store, 1, at(9, 0) + LIFETIME).await, "expired");
    assert!(!live(&store, 2, at(9, 0)).await, "unknown id");
}

/// Using a session records when: at most once per [`SEEN_EVERY`], never going back.
pub async fn a_session_is_seen_at_most_once_a_minute<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: HostSessions,
{
    let store = factory.fresh().await;
    let (ann, _) = hosts(&store).await;
    store
        .start_session(&session(1, &ann, at(9, 0)))
        .await
        .expect("start");
    let seen = |now| {
        let store = store.clone();
        async move {
            store
                .live_session(&secret(1).id(), now)
                .await
                .expect("read")
                .expect("live")
                .last_seen_at()
        }
    };
    let soon = at(9, 0) + SEEN_EVERY - TimeDelta::seconds(1);
    assert_eq!(seen(soon).await, at(9, 0), "within a minute: not written");
    assert_eq!(seen(at(9, 30)).await, at(9, 30));
    assert_eq!(seen(at(9, 30)).await, at(9, 30), "stored");
    assert_eq!(seen(at(10, 0)).await, at(10, 0));
    let again = store
        .live_session(&secret(1).id(), at(10, 0))
        .await
        .expect("read")
        .expect("live");
    assert_eq!(again.created_at(), at(9, 0), "only last_seen_at moves");
    assert_eq!(again.expires_at(), at(9, 0) + LIFETIME);
}

/// Ending a session (logout) ends that one only; ending it again finds nothing.
pub async fn logout_ends_only_that_session<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: HostSessions,
{
    let store = factory.fresh().await;
    let (ann, _) = hosts(&store).await;
    for n in [1, 2] {
        store
            .start_session(&session(n, &ann, at(9, 0)))
            .await
            .expect("start");
    }
    assert!(store.end_session(&secret(1).id()).await.expect("end"));
    assert!(!live(&store, 1, at(9, 1)).await, "ended");
    assert!(live(&store, 2, at(9, 1)).await, "the other one lives");
    assert!(!store.end_session(&secret(1).id()).await.expect("end again"));
    assert!(
        !store
            .end_session(&secret(9).id())
            .await
            .expect("end unknown")
    );
}

/// Ending a host's sessions ends all of them but the one to keep, and no other host's.
pub async fn ending_a_hosts_sessions_keeps_the_one_asked_for<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: HostSessions,
{
    let store = factory.fresh().await;
    let (ann, bob) = hosts(&store).await;
    for (n, of) in [(1, &ann), (2, &ann), (3, &ann), (4, &bob)] {
        store
            .start_session(&session(n, of, at(9, 0)))
            .await
            .expect("start");
    }
    let ended = store
        .end_sessions_of(ann.id(), Some(&secret(2).id()))
        .await
        .expect("end");
    assert_eq!(ended, 2);
    assert!(!live(&store, 1, at(9, 1)).await);
    assert!(live(&store, 2, at(9, 1)).await, "kept");
    assert!(!live(&store, 3, at(9, 1)).await);
    assert!(live(&store, 4, at(9, 1)).await, "another host's");
    assert_eq!(store.end_sessions_of(ann.id(), None).await.expect("end"), 1);
    assert!(!live(&store, 2, at(9, 1)).await);
    assert!(live(&store, 4, at(9, 1)).await);
}

/// Pruning deletes exactly the sessions expired by then.
pub async fn expired_sessions_are_pruned<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: HostSessions,
{
    let store = factory.fresh().await;
    let (ann, bob) = hosts(&store).await;
    for (n, of, start) in [
        (1, &ann, at(8, 0)),
        (2, &bob, at(9, 0)),
        (3, &ann, at(10, 0)),
    ] {
        store
            .start_session(&session(n, of, start))
            .await
            .expect("start");
    }
    let now = at(9, 0) + LIFETIME;
    assert_eq!(store.prune_sessions(now).await.expect("prune"), 2);
    assert_eq!(store.prune_sessions(now).await.expect("prune"), 0);
    assert!(live(&store, 3, now).await);
    // A pruned session stays gone even when asked for at a time it was live.
    assert!(!live(&store, 1, at(9, 0)).await);
    assert!(!live(&store, 2, at(9, 0)).await);
}

/// A password change saves the account and ends every session of the host but the kept one.
pub async fn a_password_change_ends_the_hosts_sessions<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: HostSessions + AccountStore,
{
    let store = factory.fresh().await;
    let (ann, bob) = hosts(&store).await;
    let hash = |n: u32| {
        PasswordHash::parse(&format!("$argon2id$v=19$m=8,t=1,p=1$c2FsdA{n}$aGFzaA")).expect("valid")
    };
    let account = Account::new(ann.id(), ann.email(), hash(1), at(8, 0));
    store.save_account(&account).await.expect("account");
    for (n, of) in [(1, &ann), (2, &ann), (3, &bob)] {
        store
            .start_session(&session(n, of, at(9, 0)))
            .await
            .expect("start");
    }
    let changed = account.with_password(hash(2));
    let ended = change_password(&store, &store, &changed, Some(&secret(2).id()))
        .await
        .expect("change");
    assert_eq!(ended, 1);
    assert_eq!(
        store.account(ann.id()).await.expect("read"),
        Some(changed.clone())
    );
    assert!(!live(&store, 1, at(9, 1)).await);
    assert!(
        live(&store, 2, at(9, 1)).await,
        "the session it was changed from"
    );
    assert!(live(&store, 3, at(9, 1)).await, "another host's");
    let ended = change_password(&store, &store, &changed.with_password(hash(3)), None)
        .await
        .expect("change");
    assert_eq!(ended, 1);
    assert!(!live(&store, 2, at(9, 1)).await);
}

/// A session of an unknown host, or with an id already in use, is refused.
pub async fn a_session_needs_a_known_host_and_a_new_id<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: HostSessions,
{
    let store = factory.fresh().await;
    let (ann, _) = hosts(&store).await;
    let stranger = host(9, "nobody@example.org");
    assert!(
        store
            .start_session(&session(1, &stranger, at(9, 0)))
            .await
            .is_err()
    );
    store
        .start_session(&session(2, &ann, at(9, 0)))
        .await
        .expect("start");
    assert!(
        store
            .start_session(&session(2, &ann, at(9, 5)))
            .await
            .is_err(),
        "the id is taken"
    );
    let kept = store
        .live_session(&secret(2).id(), at(9, 5))
        .await
        .expect("read")
        .expect("live");
    assert_eq!(
        kept.created_at(),
        at(9, 0),
        "the first session is untouched"
    );
}
