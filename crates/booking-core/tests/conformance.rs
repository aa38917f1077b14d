//! Runs the store conformance suite against the in-memory store, the reference the database
//! stores are held to.

use std::future::Future;

use booking_core::testkit::InMemoryStore;
use booking_core::testkit::conformance::{Inline, StoreFactory};

struct Memory;

impl StoreFactory for Memory {
    type Store = InMemoryStore;

    fn fresh(&self) -> impl Future<Output = InMemoryStore> + Send {
        async { InMemoryStore::new() }
    }
}

booking_core::store_conformance_tests!(#[tokio::test] factory: Memory, spawner: Inline);
