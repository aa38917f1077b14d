//! The reference-model test on the in-memory store: random operation sequences checked step by
//! step against the transition table and the invariants (see `testkit::model`).
//! 256 cases by default; set `PROPTEST_CASES` for more.

use booking_core::testkit::InMemoryStore;
use booking_core::testkit::model::{Op, ops, run_case};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

#[test]
fn booking_state_machine_matches_the_model() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    let rt = runtime();
    runner
        .run(&ops(), |ops: Vec<Op>| {
            rt.block_on(run_case(InMemoryStore::new(), &ops))
                .map_err(TestCaseError::fail)
        })
        .unwrap();
}
