//! The conformance suite of the [`CalendarConnections`] port: what every store (in memory,
//! SQLite, Postgres) must do with calendar connections. Test binaries generate one test per
//! function with [`connection_conformance_tests!`](crate::connection_conformance_tests), with
//! the same factory as [`store_conformance_tests!`](crate::store_conformance_tests).

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use super::conformance::StoreFactory;
use crate::calendar::{ConnectionStatus, OAuthTokens, Provider, PushChannel, Secret};
use crate::connections::{CalendarConnection, CalendarConnections, ConnectionId};
use crate::ids::HostId;
use crate::invitee::{Email, PersonName};
use crate::link::Host;
use crate::ports::BookingStore;
use crate::time::TimeZoneName;

/// Generates one test per function of this suite, e.g.
/// `connection_conformance_tests!(#[tokio::test] factory: MyFactory::new());`
/// (`factory` is evaluated once per test; its store must implement [`CalendarConnections`]).
#[macro_export]
macro_rules! connection_conformance_tests {
    (#[$test:meta] factory: $factory:expr $(,)?) => {
        $crate::connection_conformance_tests!(@each #[$test] $factory;
            connection_round_trip_keeps_every_field, reconnecting_the_same_account_replaces_the_row,
            connections_need_a_known_host, connections_are_found_by_channel_and_status);
    };
    (@each #[$test:meta] $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[$test]
            async fn $name() {
                let factory = $factory;
                $crate::testkit::connections_conformance::$name(&factory).await;
                $crate::testkit::conformance::StoreFactory::finish(&factory).await;
            }
        )*
    };
}

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 9, minute, 0)
        .single()
        .expect("valid time")
}

fn host(n: u128) -> Host {
    Host::new(
        HostId::from_uuid(Uuid::from_u128(0xca1e_0000 + n)),
        PersonName::parse("Calendar Host").expect("valid"),
        Email::parse("cal@example.com").expect("valid"),
        TimeZoneName::parse("Europe/Berlin").expect("valid"),
    )
}

fn connection(n: u128, host: &Host, account: &str) -> CalendarConnection {
    CalendarConnection::connected(
        ConnectionId::from_uuid(Uuid::from_u128(0xc0de_0000 + n)),
        host.id(),
        Provider::Google,
        account,
        account,
        OAuthTokens {
            access_token: Secret::new(format!("ya29.access-{n}")),
            refresh_token: Some(Secret::new(format!("1//refresh-{n}"))),
            expires_at: Some(at(50)),
        },
        at(u32::try_from(n).expect("small")),
    )
}

async fn store_with_hosts<F>(factory: &F, hosts: &[&Host]) -> F::Store
where
    F: StoreFactory,
    F::Store: CalendarConnections,
{
    let store = factory.fresh().await;
    for h in hosts {
        store.save_host(h).await.expect("host saved");
    }
    store
}

/// Every field comes back as saved, tokens and channel secret included.
pub async fn connection_round_trip_keeps_every_field<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: CalendarConnections,
{
    let h = host(1);
    let store = store_with_hosts(factory, &[&h]).await;
    let mut c = connection(1, &h, "ada@example.com");
    c.busy_calendars = vec!["ada@example.com".into(), "team@group.calendar".into()];
    c.sync_token = Some("sync-1".into());
    c.channel = Some(PushChannel {
        id: "chan-1".into(),
        token: Secret::new("channel-secret"),
        resource_id: "res-1".into(),
        expires_at: at(59),
    });
    let c = c.with_failure("503 from Google", at(7));
    assert_eq!(store.save_connection(&c).await.expect("saved"), c.id);
    assert_eq!(store.connection(c.id).await.expect("read"), Some(c.clone()));
    assert_eq!(
        store.host_connections(h.id()).await.expect("read"),
        vec![c.clone()]
    );
    let unknown = ConnectionId::from_uuid(Uuid::from_u128(9));
    assert_eq!(store.connection(unknown).await.expect("read"), None);

    // No refresh token, no expiry, no channel: optional fields round-trip as absent too.
    let bare = CalendarConnection {
        tokens: OAuthTokens {
            access_token: Secret::new("only-access"),
            refresh_token: None,
            expires_at: None,
        },
        channel: None,
        sync_token: None,
        last_error: None,
        ..connection(2, &h, "bare@example.com")
    };
    store.save_connection(&bare).await.expect("saved");
    assert_eq!(store.connection(bare.id).await.expect("read"), Some(bare));
}

/// Saving the same host + provider + account again updates the row under its first id.
pub async fn reconnecting_the_same_account_replaces_the_row<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: CalendarConnections,
{
    let h = host(2);
    let store = store_with_hosts(factory, &[&h]).await;
    let first = connection(3, &h, "ada@example.com").needing_reauth("invalid_grant", at(8));
    store.save_connection(&first).await.expect("saved");
    let again = connection(4, &h, "ada@example.com");
    let id = store.save_connection(&again).await.expect("saved");
    assert_eq!(id, first.id, "the first row's id is kept");
    let rows = store.host_connections(h.id()).await.expect("read");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, ConnectionStatus::Active);
    assert_eq!(rows[0].tokens, again.tokens);
    assert_eq!(rows[0].created_at, first.created_at);

    // Saving by id updates in place.
    let revoked = CalendarConnection {
        status: ConnectionStatus::Revoked,
        ..rows[0].clone()
    };
    store.save_connection(&revoked).await.expect("saved");
    assert_eq!(
        store.connection(first.id).await.expect("read"),
        Some(revoked)
    );
}

/// A connection of an unknown host is refused.
pub async fn connections_need_a_known_host<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: CalendarConnections,
{
    let store = store_with_hosts(factory, &[]).await;
    let c = connection(5, &host(3), "nobody@example.com");
    assert!(store.save_connection(&c).await.is_err());
    assert_eq!(store.connection(c.id).await.expect("read"), None);
}

/// Lookups by push channel id and by status, across hosts.
pub async fn connections_are_found_by_channel_and_status<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: CalendarConnections,
{
    let (a, b) = (host(4), host(5));
    let store = store_with_hosts(factory, &[&a, &b]).await;
    let mut one = connection(6, &a, "a@example.com");
    one.channel = Some(PushChannel {
        id: "chan-a".into(),
        token: Secret::new("tok-a"),
        resource_id: "res-a".into(),
        expires_at: at(40),
    });
    let two = connection(7, &b, "b@example.com").needing_reauth("revoked", at(9));
    let three = connection(8, &b, "b2@example.com");
    for c in [&one, &two, &three] {
        store.save_connection(c).await.expect("saved");
    }
    assert_eq!(
        store.connection_by_channel("chan-a").await.expect("read"),
        Some(one.clone())
    );
    assert_eq!(
        store.connection_by_channel("chan-x").await.expect("read"),
        None
    );
    // A push can name any channel; one with a NUL (which Postgres text cannot hold) is unknown
    // too, not a store failure.
    assert_eq!(
        store.connection_by_channel("chan-a\0").await.expect("read"),
        None
    );
    let active: Vec<_> = store
        .connections_in(ConnectionStatus::Active)
        .await
        .expect("read")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(active, vec![one.id, three.id], "oldest first");
    let waiting = store
        .connections_in(ConnectionStatus::NeedsReauth)
        .await
        .expect("read");
    assert_eq!(waiting, vec![two]);
    assert_eq!(store.host_connections(b.id()).await.expect("read").len(), 2);
}
