//! The conformance suite of the host side's ports, [`AccountStore`] and [`DealStore`]: what
//! every store (in memory, SQLite, Postgres) must do with accounts, API keys, deals and the
//! link details the dashboard edits. Test binaries generate one test per function with
//! [`host_conformance_tests!`](crate::host_conformance_tests), with the same factory as
//! [`store_conformance_tests!`](crate::store_conformance_tests).

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use uuid::Uuid;

use super::conformance::StoreFactory;
use super::{FixedBusy, ManualClock, SequentialTokens};
use crate::Scheduler;
use crate::accounts::{
    Account, AccountStore, ApiKey, ApiKeyId, ApiKeySecret, LinkDirectory, PasswordHash,
    SaveAccountError,
};
use crate::availability::{AvailabilityRules, DayPeriod, RulesDraft};
use crate::deals::{Deal, DealId, DealStage, DealStore, move_deal, open_deal_for};
use crate::effects::{Effect, EmailKind, Recipient};
use crate::ids::{HostId, LinkId};
use crate::invitee::{Answers, Email, Invitee, PersonName, Tracking};
use crate::link::{BookingLink, Host, LinkSettings, Slug};
use crate::ports::{BookingStore, Outbox, Page};
use crate::service::BookingRequest;
use crate::time::TimeZoneName;

/// Generates one test per function of this suite, e.g.
/// `host_conformance_tests!(#[tokio::test] factory: MyFactory::new());`
/// (`factory` is evaluated once per test; its store must implement [`AccountStore`],
/// [`DealStore`] and [`LinkDirectory`]).
#[macro_export]
macro_rules! host_conformance_tests {
    (#[$test:meta] factory: $factory:expr $(,)?) => {
        $crate::host_conformance_tests!(@each #[$test] $factory;
            account_round_trip, logins_are_unique_and_case_insensitive, accounts_need_a_known_host,
            api_keys_are_found_by_hash_and_revoked_per_host, deals_open_once_per_chain,
            deals_list_per_host_and_move_stage, cancelling_never_touches_the_deal,
            link_details_round_trip, resent_links_are_separate_outbox_entries,
            hosts_are_listed_by_name, home_page_listing_is_opt_in_per_host);
    };
    (@each #[$test:meta] $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[$test]
            async fn $name() {
                let factory = $factory;
                $crate::testkit::host_conformance::$name(&factory).await;
                $crate::testkit::conformance::StoreFactory::finish(&factory).await;
            }
        )*
    };
}

pub(crate) fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, hour, minute, 0)
        .single()
        .expect("valid time")
}

pub(crate) fn host(n: u128, email: &str) -> Host {
    Host::new(
        HostId::from_uuid(Uuid::from_u128(0x4057_1000 + n)),
        PersonName::parse("Desk Host").expect("valid"),
        Email::parse(email).expect("valid"),
        TimeZoneName::parse("Europe/Berlin").expect("valid"),
    )
}

fn phc(n: u32) -> PasswordHash {
    PasswordHash::parse(&format!(
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ{n}$aGFzaGhhc2g"
    ))
    .expect("valid")
}

pub(crate) fn link(n: u128, host: HostId, slug: &str, create_deal: bool) -> BookingLink {
    let rules = RulesDraft::weekdays(
        TimeZoneName::parse("UTC").expect("zone"),
        DayPeriod::parse("09:00-17:00").expect("period"),
        TimeDelta::minutes(30),
    );
    BookingLink::new(
        LinkId::from_uuid(Uuid::from_u128(0x1057_1000 + n)),
        host,
        Slug::parse(slug).expect("slug"),
        LinkSettings {
            title: "Sales call".to_owned(),
            rules: AvailabilityRules::new(rules).expect("rules"),
            reconfirmation: None,
            create_deal,
            questions: Vec::new(),
        },
    )
    .expect("link")
}

pub(crate) fn request(start: DateTime<Utc>, name: &str) -> BookingRequest {
    BookingRequest {
        start,
        invitee: Invitee::new(
            PersonName::parse(name).expect("name"),
            Email::parse(&format!(
                "{}@example.org",
                name.to_lowercase().replace(' ', ".")
            ))
            .expect("email"),
            None,
            TimeZoneName::parse("Europe/Paris").expect("zone"),
        ),
        answers: Answers::default(),
        tracking: Tracking::default(),
    }
}

pub(crate) type TestScheduler<S> = Scheduler<S, ManualClock, SequentialTokens, FixedBusy>;

/// A fresh store with one host and a deal-making link `sales`, the clock at Monday 07:00.
pub(crate) async fn world<F>(factory: &F) -> (F::Store, TestScheduler<F::Store>, ManualClock, Host)
where
    F: StoreFactory,
    F::Store: AccountStore + DealStore + LinkDirectory,
{
    let store = factory.fresh().await;
    let clock = ManualClock::at(at(7, 0));
    let scheduler = Scheduler::new(
        store.clone(),
        clock.clone(),
        SequentialTokens::new(),
        FixedBusy::default(),
    );
    let h = host(1, "desk@example.com");
    store.save_host(&h).await.expect("host");
    store
        .save_link(&link(1, h.id(), "sales", true))
        .await
        .expect("link");
    (store, scheduler, clock, h)
}

/// An account reads back by host and by login; saving again replaces its password.
pub async fn account_round_trip<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: AccountStore + DealStore + LinkDirectory,
{
    let store = factory.fresh().await;
    assert_eq!(store.account_count().await.expect("count"), 0);
    let h = host(1, "ann@example.com");
    store.save_host(&h).await.expect("host");
    let account = Account::new(h.id(), h.email(), phc(1), at(8, 0));
    store.save_account(&account).await.expect("save");
    assert_eq!(
        store.account(h.id()).await.expect("load"),
        Some(account.clone())
    );
    assert_eq!(
        store.account_by_login(h.email()).await.expect("by login"),
        Some(account.clone())
    );
    let changed = account.with_password(phc(2));
    store.save_account(&changed).await.expect("save again");
    assert_eq!(
        store
            .account(h.id())
            .await
            .expect("load")
            .map(|a| a.password().clone()),
        Some(phc(2))
    );
    assert_eq!(store.account_count().await.expect("count"), 1);
    assert_eq!(
        store
            .account(HostId::from_uuid(Uuid::from_u128(99)))
            .await
            .expect("unknown"),
        None
    );
}

/// Two hosts cannot share a login, whatever its case; a login is found whatever its case.
pub async fn logins_are_unique_and_case_insensitive<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: AccountStore + DealStore + LinkDirectory,
{
    let store = factory.fresh().await;
    let a = host(1, "ann@example.com");
    let b = host(2, "bob@example.com");
    store.save_host(&a).await.expect("host a");
    store.save_host(&b).await.expect("host b");
    let login = Email::parse("Ann@Example.com").expect("email");
    store
        .save_account(&Account::new(a.id(), &login, phc(1), at(8, 0)))
        .await
        .expect("a");
    let found = store
        .account_by_login(&Email::parse("ANN@example.COM").expect("email"))
        .await
        .expect("lookup");
    assert_eq!(found.map(|x| x.host()), Some(a.id()));
    let taken = store
        .save_account(&Account::new(
            b.id(),
            &Email::parse("ann@EXAMPLE.com").expect("email"),
            phc(2),
            at(8, 0),
        ))
        .await;
    assert!(
        matches!(taken, Err(SaveAccountError::LoginTaken)),
        "{taken:?}"
    );
    assert_eq!(store.account_count().await.expect("count"), 1);
}

/// An account for a host that does not exist is refused.
pub async fn accounts_need_a_known_host<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: AccountStore + DealStore + LinkDirectory,
{
    let store = factory.fresh().await;
    let ghost = host(9, "ghost@example.com");
    let got = store
        .save_account(&Account::new(ghost.id(), ghost.email(), phc(1), at(8, 0)))
        .await;
    assert!(matches!(got, Err(SaveAccountError::UnknownHost)), "{got:?}");
}

/// Keys are found by their hash only, listed newest first per host, and revoked only by
/// their own host; revoking keeps the first time.
pub async fn api_keys_are_found_by_hash_and_revoked_per_host<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: AccountStore + DealStore + LinkDirectory,
{
    let store = factory.fresh().await;
    let a = host(1, "ann@example.com");
    let b = host(2, "bob@example.com");
    store.save_host(&a).await.expect("host a");
    store.save_host(&b).await.expect("host b");
    let secret1 = ApiKeySecret::from_bytes([1; 16]);
    let secret2 = ApiKeySecret::from_bytes([2; 16]);
    let k1 = ApiKey::new(
        ApiKeyId::from_uuid(Uuid::from_u128(0xa1)),
        a.id(),
        "CRM sync",
        &secret1,
        at(8, 0),
    )
    .expect("key");
    let k2 = ApiKey::new(
        ApiKeyId::from_uuid(Uuid::from_u128(0xa2)),
        a.id(),
        "Reports",
        &secret2,
        at(9, 0),
    )
    .expect("key");
    store.add_api_key(&k1).await.expect("add 1");
    store.add_api_key(&k2).await.expect("add 2");
    assert_eq!(
        store.api_keys(a.id()).await.expect("list"),
        vec![k2.clone(), k1.clone()]
    );
    assert!(store.api_keys(b.id()).await.expect("list b").is_empty());
    assert_eq!(
        store
            .api_key_by_hash(&secret1.hash())
            .await
            .expect("by hash"),
        Some(k1.clone())
    );
    assert_eq!(
        store
            .api_key_by_hash(&ApiKeySecret::from_bytes([3; 16]).hash())
            .await
            .expect("unknown"),
        None
    );
    assert!(
        !store
            .revoke_api_key(b.id(), k1.id(), at(10, 0))
            .await
            .expect("other host"),
        "another host's key is not found"
    );
    assert!(
        store
            .api_key_by_hash(&secret1.hash())
            .await
            .expect("still")
            .expect("key")
            .is_live()
    );
    assert!(
        store
            .revoke_api_key(a.id(), k1.id(), at(10, 0))
            .await
            .expect("revoke")
    );
    assert!(
        store
            .revoke_api_key(a.id(), k1.id(), at(11, 0))
            .await
            .expect("again")
    );
    let revoked = store
        .api_key_by_hash(&secret1.hash())
        .await
        .expect("load")
        .expect("key");
    assert_eq!(revoked.revoked_at(), Some(at(10, 0)));
    assert!(
        store
            .api_key_by_hash(&secret2.hash())
            .await
            .expect("k2")
            .expect("k2")
            .is_live()
    );
}

/// Opening the deal of a chain twice (a retried delivery) keeps one deal, unchanged.
pub async fn deals_open_once_per_chain<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: AccountStore + DealStore + LinkDirectory,
{
    let (store, scheduler, _clock, h) = world(factory).await;
    let booked = scheduler
        .book(
            &Slug::parse("sales").expect("slug"),
            request(at(10, 0), "Dora Deal"),
        )
        .await
        .expect("book");
    let first = open_deal_for(&store, &store, booked.chain(), booked.id(), at(7, 1))
        .await
        .expect("open");
    assert_eq!(first.id(), DealId::for_chain(booked.chain()));
    assert_eq!((first.stage(), first.host()), (DealStage::New, h.id()));
    assert_eq!(first.contact_email().as_str(), "dora.deal@example.org");
    let moved = move_deal(&store, h.id(), first.id(), DealStage::Qualified, at(7, 2))
        .await
        .expect("move");
    let again = open_deal_for(&store, &store, booked.chain(), booked.id(), at(7, 3))
        .await
        .expect("open again");
    assert_eq!(
        again, moved,
        "a second delivery finds the first deal as it is now"
    );
    // The store's own guard, without the use case's look-up first.
    assert_eq!(
        store
            .open_deal(&Deal::open(&booked, at(7, 4)))
            .await
            .expect("raw"),
        moved
    );
    assert_eq!(
        store
            .deals(
                h.id(),
                Page {
                    offset: 0,
                    limit: 10
                }
            )
            .await
            .expect("list")
            .total,
        1
    );
}

/// Deals list newest first per host with a total; a host moves only their own deals.
pub async fn deals_list_per_host_and_move_stage<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: AccountStore + DealStore + LinkDirectory,
{
    let (store, scheduler, clock, h) = world(factory).await;
    let other = host(2, "otto@example.com");
    store.save_host(&other).await.expect("other");
    store
        .save_link(&link(2, other.id(), "otto", true))
        .await
        .expect("link");
    let mut opened = Vec::new();
    for (i, name) in ["Ann A", "Ben B", "Cid C"].into_iter().enumerate() {
        let b = scheduler
            .book(
                &Slug::parse("sales").expect("slug"),
                request(at(10 + u32::try_from(i).expect("small"), 0), name),
            )
            .await
            .expect("book");
        clock.advance(TimeDelta::minutes(1));
        opened.push(
            open_deal_for(
                &store,
                &store,
                b.chain(),
                b.id(),
                at(7, u32::try_from(i).expect("small")),
            )
            .await
            .expect("open"),
        );
    }
    let theirs = scheduler
        .book(
            &Slug::parse("otto").expect("slug"),
            request(at(10, 0), "Zed Z"),
        )
        .await
        .expect("book other");
    let their_deal = open_deal_for(&store, &store, theirs.chain(), theirs.id(), at(7, 5))
        .await
        .expect("open other");

    let page = store
        .deals(
            h.id(),
            Page {
                offset: 0,
                limit: 2,
            },
        )
        .await
        .expect("page 1");
    assert_eq!(page.total, 3);
    assert_eq!(
        page.rows.iter().map(Deal::id).collect::<Vec<_>>(),
        vec![opened[2].id(), opened[1].id()]
    );
    let rest = store
        .deals(
            h.id(),
            Page {
                offset: 2,
                limit: 2,
            },
        )
        .await
        .expect("page 2");
    assert_eq!(
        rest.rows.iter().map(Deal::id).collect::<Vec<_>>(),
        vec![opened[0].id()]
    );

    let won = move_deal(
        &store,
        h.id(),
        opened[0].id(),
        DealStage::ClosedWon,
        at(12, 0),
    )
    .await
    .expect("won");
    assert_eq!(
        (won.stage(), won.stage_changed_at()),
        (DealStage::ClosedWon, at(12, 0))
    );
    assert_eq!(store.deal(opened[0].id()).await.expect("load"), Some(won));
    let stranger = move_deal(
        &store,
        h.id(),
        their_deal.id(),
        DealStage::ClosedLost,
        at(12, 0),
    )
    .await;
    assert!(
        matches!(stranger, Err(crate::deals::DealActionError::NotFound)),
        "{stranger:?}"
    );
    assert_eq!(
        store
            .deal(their_deal.id())
            .await
            .expect("load")
            .map(|d| d.stage()),
        Some(DealStage::New)
    );
}

/// A cancelled meeting keeps its deal exactly as it was (the spec: a cancelled lead is data).
pub async fn cancelling_never_touches_the_deal<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: AccountStore + DealStore + LinkDirectory,
{
    let (store, scheduler, clock, h) = world(factory).await;
    let booked = scheduler
        .book(
            &Slug::parse("sales").expect("slug"),
            request(at(10, 0), "Cora Cancel"),
        )
        .await
        .expect("book");
    let deal = open_deal_for(&store, &store, booked.chain(), booked.id(), at(7, 1))
        .await
        .expect("open");
    let deal = move_deal(&store, h.id(), deal.id(), DealStage::Proposal, at(7, 2))
        .await
        .expect("move");
    clock.advance(TimeDelta::minutes(5));
    scheduler
        .host_cancel(h.id(), booked.id(), None)
        .await
        .expect("cancel");
    assert_eq!(store.deal(deal.id()).await.expect("load"), Some(deal));
}

/// A link's description and location read back as saved, and blank means none.
pub async fn link_details_round_trip<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: AccountStore + DealStore + LinkDirectory,
{
    let (store, _scheduler, _clock, h) = world(factory).await;
    let detailed = link(3, h.id(), "detailed", false)
        .with_details(
            Some("We look at your numbers.\nBring \"data\" & questions."),
            Some("https://meet.example.com/room?x=1&y=ü"),
        )
        .expect("details");
    store.save_link(&detailed).await.expect("save");
    let back = store
        .link(detailed.id())
        .await
        .expect("load")
        .expect("link");
    assert_eq!(back, detailed);
    assert_eq!(
        back.location(),
        Some("https://meet.example.com/room?x=1&y=ü")
    );
    let other = host(2, "otto@example.com");
    store.save_host(&other).await.expect("other");
    store
        .save_link(&link(4, other.id(), "otto", false))
        .await
        .expect("other link");
    let mine: Vec<String> = store
        .links_of(h.id())
        .await
        .expect("list")
        .iter()
        .map(|l| l.slug().to_string())
        .collect();
    assert_eq!(
        mine,
        vec!["detailed", "sales"],
        "by title, then slug; only the host's"
    );
    let plain = back.with_details(Some("  "), None).expect("blank");
    store.save_link(&plain).await.expect("save plain");
    let back = store.link(plain.id()).await.expect("load").expect("link");
    assert_eq!((back.description(), back.location()), (None, None));
}

/// Sending the attendee's links again queues one more mail per request, each with its own
/// key, and each reads back from the outbox as the same effect; a dead token sends nothing.
pub async fn resent_links_are_separate_outbox_entries<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: AccountStore + DealStore + LinkDirectory,
{
    let (store, scheduler, clock, h) = world(factory).await;
    let booked = scheduler
        .book(
            &Slug::parse("sales").expect("slug"),
            request(at(10, 0), "Rhea Resend"),
        )
        .await
        .expect("book");
    let before: Vec<String> = store
        .claim_due(at(7, 0), TimeDelta::minutes(1), 100)
        .await
        .expect("claim")
        .into_iter()
        .map(|e| e.key)
        .collect();
    for _ in 0..2 {
        scheduler
            .resend_links(h.id(), booked.id())
            .await
            .expect("resend");
    }
    let sent = store
        .claim_due(at(7, 0), TimeDelta::minutes(1), 100)
        .await
        .expect("claim")
        .into_iter()
        .filter(|e| !before.contains(&e.key))
        .collect::<Vec<_>>();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_ne!(sent[0].key, sent[1].key);
    for entry in &sent {
        assert!(
            matches!(entry.effect, Effect::ResendLinks { booking, .. } if booking == booked.id())
        );
        assert_eq!(entry.key, entry.effect.idempotency_key());
        assert_eq!(
            entry.effect.as_email(),
            Some((EmailKind::RescheduleLinks, Recipient::Attendee, booked.id()))
        );
    }
    let stranger = HostId::from_uuid(Uuid::from_u128(0xdead));
    assert!(matches!(
        scheduler.resend_links(stranger, booked.id()).await,
        Err(crate::service::ResendLinksError::NotFound)
    ));
    clock.set(at(10, 1));
    assert!(matches!(
        scheduler.resend_links(h.id(), booked.id()).await,
        Err(crate::service::ResendLinksError::Refused(_))
    ));
}

/// Every host is listed, by name, whatever the order they were saved in; a saved-again host
/// is listed once, as saved last.
pub async fn hosts_are_listed_by_name<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: AccountStore + DealStore + LinkDirectory,
{
    let (store, _scheduler, _clock, desk) = world(factory).await;
    let named = |n: u128, name: &str| {
        Host::new(
            HostId::from_uuid(Uuid::from_u128(0x4057_2000 + n)),
            PersonName::parse(name).expect("name"),
            Email::parse(&format!("h{n}@example.com")).expect("email"),
            TimeZoneName::parse("Asia/Tokyo").expect("zone"),
        )
    };
    for host in [
        named(1, "Zora Zeller"),
        named(2, "Anna Alm"),
        named(3, "Mia Moll"),
    ] {
        store.save_host(&host).await.expect("save");
    }
    store
        .save_host(&named(3, "Karl Kern"))
        .await
        .expect("save again");
    let listed = store.hosts().await.expect("list");
    let names: Vec<&str> = listed.iter().map(|h| h.name().as_str()).collect();
    assert_eq!(
        names,
        vec!["Anna Alm", "Desk Host", "Karl Kern", "Zora Zeller"],
        "by name, each once"
    );
    assert_eq!(listed[1], desk);
    assert_eq!(listed[0], named(2, "Anna Alm"), "every field read back");
}

/// No host's links are listed on the home page until the host says so; the choice survives
/// saving the host again and can be taken back.
pub async fn home_page_listing_is_opt_in_per_host<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: AccountStore + DealStore + LinkDirectory,
{
    let (store, _scheduler, _clock, h) = world(factory).await;
    let other = host(2, "otto@example.com");
    store.save_host(&other).await.expect("other");
    store
        .save_link(&link(4, other.id(), "otto", false))
        .await
        .expect("other link");
    store
        .save_link(&link(5, other.id(), "otto-later", false))
        .await
        .expect("other link");
    assert!(!store.lists_links(h.id()).await.expect("read"));
    assert!(store.listed_links().await.expect("list").is_empty());

    store
        .set_lists_links(other.id(), true, at(8, 0))
        .await
        .expect("on");
    store
        .save_host(&other)
        .await
        .expect("saving the host again");
    assert!(store.lists_links(other.id()).await.expect("read"));
    assert!(!store.lists_links(h.id()).await.expect("read"));
    let slugs = |links: Vec<BookingLink>| -> Vec<String> {
        links.iter().map(|l| l.slug().to_string()).collect()
    };
    assert_eq!(
        slugs(store.listed_links().await.expect("list")),
        vec!["otto", "otto-later"],
        "only the listing host's links, by title then slug"
    );

    let unknown = host(9, "nobody@example.com");
    store
        .set_lists_links(unknown.id(), true, at(8, 0))
        .await
        .expect("an unknown host changes nothing");
    assert!(!store.lists_links(unknown.id()).await.expect("read"));

    store
        .set_lists_links(other.id(), false, at(9, 0))
        .await
        .expect("off");
    assert!(store.listed_links().await.expect("list").is_empty());
}
