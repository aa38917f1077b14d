//! Runs the host-side conformance suite (accounts, API keys, deals, link details) against the
//! in-memory store, the reference the database stores are held to.

use booking_core::testkit::InMemoryStore;
use booking_core::testkit::conformance::StoreFactory;

struct Memory;

impl StoreFactory for Memory {
    type Store = InMemoryStore;

    async fn fresh(&self) -> InMemoryStore {
        InMemoryStore::new()
    }
}

booking_core::host_conformance_tests!(#[tokio::test] factory: Memory);
booking_core::desk_conformance_tests!(#[tokio::test] factory: Memory);
