//! The conformance suite of the [`JobLeases`] port, run on every store with
//! [`lease_conformance_tests!`](crate::lease_conformance_tests).

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::conformance::{Spawner, StoreFactory};
use crate::leases::JobLeases;

/// Generates one test per function of this suite, e.g.
/// `lease_conformance_tests!(#[tokio::test] factory: MyFactory::new(), spawner: Inline);`.
#[macro_export]
macro_rules! lease_conformance_tests {
    (#[$test:meta] factory: $factory:expr, spawner: $spawner:expr $(,)?) => {
        #[$test]
        async fn a_lease_is_held_by_one_holder_until_it_ends() {
            let factory = $factory;
            $crate::testkit::leases_conformance::a_lease_is_held_by_one_holder_until_it_ends(
                &factory,
            )
            .await;
            $crate::testkit::conformance::StoreFactory::finish(&factory).await;
        }

        #[$test]
        async fn of_concurrent_claims_one_wins() {
            let factory = $factory;
            $crate::testkit::leases_conformance::of_concurrent_claims_one_wins(&factory, &$spawner)
                .await;
            $crate::testkit::conformance::StoreFactory::finish(&factory).await;
        }
    };
}

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0)
        .single()
        .expect("valid")
        + TimeDelta::minutes(minute)
}

/// Exclusive while it runs, extendable by its holder, free once it ended.
pub async fn a_lease_is_held_by_one_holder_until_it_ends<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: JobLeases,
{
    let store = factory.fresh().await;
    assert!(
        store
            .try_lease("renew", "a", at(0), at(60))
            .await
            .expect("lease")
    );
    assert!(
        !store
            .try_lease("renew", "b", at(30), at(90))
            .await
            .expect("lease")
    );
    assert!(
        store
            .try_lease("other", "b", at(30), at(90))
            .await
            .expect("lease"),
        "jobs are separate"
    );
    assert!(
        store
            .try_lease("renew", "a", at(30), at(120))
            .await
            .expect("lease"),
        "the holder extends"
    );
    assert!(
        !store
            .try_lease("renew", "b", at(90), at(150))
            .await
            .expect("lease"),
        "extended"
    );
    assert!(
        store
            .try_lease("renew", "b", at(120), at(180))
            .await
            .expect("lease"),
        "ended: free"
    );
    assert!(
        !store
            .try_lease("renew", "a", at(121), at(180))
            .await
            .expect("lease")
    );
}

/// Ten instances claiming at once: exactly one gets it.
pub async fn of_concurrent_claims_one_wins<F, X>(factory: &F, spawner: &X)
where
    F: StoreFactory,
    F::Store: JobLeases,
    X: Spawner,
{
    let store = factory.fresh().await;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            spawner.spawn::<bool>(Box::pin(async move {
                store
                    .try_lease("renew", &format!("instance-{i}"), at(0), at(60))
                    .await
                    .expect("lease")
            }))
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        if task.await {
            won += 1;
        }
    }
    assert_eq!(won, 1, "exactly one instance holds the lease");
}
