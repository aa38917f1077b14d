//! Runs the calendar-connection, job-lease and text opt-out conformance suites against the
//! in-memory store.

use booking_core::testkit::InMemoryStore;
use booking_core::testkit::conformance::{Inline, StoreFactory};

struct Memory;

impl StoreFactory for Memory {
    type Store = InMemoryStore;

    async fn fresh(&self) -> InMemoryStore {
        InMemoryStore::new()
    }
}

booking_core::connection_conformance_tests!(#[tokio::test] factory: Memory);

booking_core::lease_conformance_tests!(#[tokio::test] factory: Memory, spawner: Inline);

booking_core::text_opt_out_conformance_tests!(#[tokio::test] factory: Memory);
