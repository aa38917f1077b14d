//! Runs the store conformance suite against the in-memory store, the reference the database
//! stores are held to.

use booking_core::testkit::InMemoryStore;
use booking_core::testkit::conformance::{Inline, StoreFactory};

struct Memory;

impl StoreFactory for Memory {
    type Store = InMemoryStore;

    async fn fresh(&self) -> InMemoryStore {
        InMemoryStore::new()
    }
}

booking_core::store_conformance_tests!(#[tokio::test] factory: Memory, spawner: Inline);
booking_core::subscription_conformance_tests!(#[tokio::test] factory: Memory);
