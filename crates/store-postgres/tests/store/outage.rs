//! Postgres stops being reachable: what the store answers then says the database is
//! unavailable (the web layer's 503 with `Retry-After`), not an internal fault. The server is
//! reached through a small TCP relay of the test's own, and stopping the relay cuts every
//! connection and refuses new ones, as a server that went away does.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use booking_core::ports::BookingStore;
use booking_core::testkit::conformance::StoreFactory;
use booking_core::testkit::model;
use sqlx::postgres::PgPoolOptions;
use store_postgres::PostgresStore;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::{PgDatabases, SEAL_KEY};

/// Relays local connections to the Postgres server until stopped.
struct Relay {
    addr: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn start(server: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let links = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let server = server.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut upstream) = TcpStream::connect(server).await {
                        tokio::io::copy_bidirectional(&mut client, &mut upstream)
                            .await
                            .ok();
                    }
                });
                links.lock().expect("lock").push(link);
            }
        });
        tasks.lock().expect("lock").push(accept);
        Self { addr, tasks }
    }

    /// Cuts every relayed connection and refuses new ones.
    fn stop(&self) {
        for task in self.tasks.lock().expect("lock").drain(..) {
            task.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_an_unavailable_store() {
    let databases = PgDatabases::new();
    let options = databases.create().await;
    let server = format!("{}:{}", options.get_host(), options.get_port());
    let relay = Relay::start(server).await;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(2))
        .connect_with(options.clone().host("127.0.0.1").port(relay.addr.port()))
        .await
        .expect("connect through the relay");
    let store = PostgresStore::from_pool(pool, SEAL_KEY)
        .await
        .expect("store");
    let (host, _, _) = model::fixture();
    store.save_host(&host).await.expect("host");

    relay.stop();
    let read = store
        .host(host.id())
        .await
        .expect_err("read without a server");
    assert!(read.is_unavailable(), "a read: {read:?}");
    let write = store
        .save_host(&host)
        .await
        .expect_err("write without a server");
    assert!(write.is_unavailable(), "a write: {write:?}");
    let schema = booking_core::ports::StoreHealth::pending_migrations(&store)
        .await
        .expect_err("schema status without a server");
    assert!(schema.is_unavailable(), "a readiness probe: {schema:?}");
    store.pool().close().await;
    databases.finish().await;
}
