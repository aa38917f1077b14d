//! The conformance suite of the [`TextOptOuts`] port, run on every store with
//! [`text_opt_out_conformance_tests!`](crate::text_opt_out_conformance_tests).

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::conformance::StoreFactory;
use crate::ports::TextOptOuts;

/// Generates one test per function of this suite, e.g.
/// `text_opt_out_conformance_tests!(#[tokio::test] factory: MyFactory::new());`.
#[macro_export]
macro_rules! text_opt_out_conformance_tests {
    (#[$test:meta] factory: $factory:expr $(,)?) => {
        #[$test]
        async fn a_number_opts_out_and_back_in() {
            let factory = $factory;
            $crate::testkit::text_opt_outs_conformance::a_number_opts_out_and_back_in(&factory)
                .await;
            $crate::testkit::conformance::StoreFactory::finish(&factory).await;
        }

        #[$test]
        async fn an_older_reply_never_overrides_a_newer_one() {
            let factory = $factory;
            $crate::testkit::text_opt_outs_conformance::an_older_reply_never_overrides_a_newer_one(
                &factory,
            )
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

const ANN: &str = "+447911123456";
const BOB: &str = "+12125550100";

/// STOP holds until START, per number; repeats change nothing.
pub async fn a_number_opts_out_and_back_in<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: TextOptOuts,
{
    let store = factory.fresh().await;
    let opted_out = |phone: &'static str| {
        let store = store.clone();
        async move { store.is_opted_out(phone).await.expect("read opt-out") }
    };
    assert!(!opted_out(ANN).await, "nobody has opted out yet");
    store.set_opted_out(ANN, true, at(0)).await.expect("stop");
    assert!(opted_out(ANN).await);
    assert!(!opted_out(BOB).await, "numbers are separate");
    store
        .set_opted_out(ANN, true, at(1))
        .await
        .expect("stop again");
    assert!(opted_out(ANN).await, "a repeated STOP keeps it");
    store.set_opted_out(ANN, false, at(2)).await.expect("start");
    assert!(!opted_out(ANN).await, "START lifts it");
    store.set_opted_out(BOB, false, at(3)).await.expect("start");
    assert!(
        !opted_out(BOB).await,
        "START without a STOP changes nothing"
    );
    store.set_opted_out(ANN, true, at(4)).await.expect("stop");
    assert!(opted_out(ANN).await, "and STOP again holds");
}

/// Replies can arrive out of order (a provider retries a callback): the latest reply wins,
/// whatever order they are recorded in.
pub async fn an_older_reply_never_overrides_a_newer_one<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: TextOptOuts,
{
    let store = factory.fresh().await;
    store.set_opted_out(ANN, true, at(10)).await.expect("stop");
    store
        .set_opted_out(ANN, false, at(5))
        .await
        .expect("late start");
    assert!(
        store.is_opted_out(ANN).await.expect("read"),
        "the START sent before the STOP does not lift it"
    );
    store
        .set_opted_out(BOB, false, at(10))
        .await
        .expect("start");
    store
        .set_opted_out(BOB, true, at(5))
        .await
        .expect("late stop");
    assert!(
        !store.is_opted_out(BOB).await.expect("read"),
        "the STOP sent before the START does not hold"
    );
}
