//! Runs the host-side conformance suites (accounts, API keys, deals, link details, counted
//! login attempts, host sessions) against the in-memory store, the reference the database
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

booking_core::host_conformance_tests!(#[tokio::test] factory: Memory);
booking_core::desk_conformance_tests!(#[tokio::test] factory: Memory);

booking_core::login_attempt_conformance_tests!(#[tokio::test] factory: Memory, spawner: Inline);

booking_core::session_conformance_tests!(#[tokio::test] factory: Memory);
