//! The ownership rule of the host side, checked once for every store: through the
//! [`HostDesk`] and the host use cases of the [`Scheduler`](crate::Scheduler), another host's
//! booking, meeting, link and deal answer exactly like missing ones, and lists hold only the
//! asking host's rows. Test binaries generate the test with
//! [`desk_conformance_tests!`](crate::desk_conformance_tests).

use chrono::TimeDelta;

use super::conformance::StoreFactory;
use super::host_conformance::{at, host, link, request, world};
use crate::accounts::{AccountStore, LinkDirectory};
use crate::deals::{DealId, DealStage, DealStore, open_deal_for};
use crate::desk::{DeskError, HostDesk};
use crate::link::Slug;
use crate::ports::{BookingStore, DashboardTab, Page};
use crate::service::{HostActionError, ResendLinksError};

/// Generates the ownership test, e.g.
/// `desk_conformance_tests!(#[tokio::test] factory: MyFactory::new());`
/// (its store must implement [`AccountStore`], [`DealStore`] and [`LinkDirectory`]).
#[macro_export]
macro_rules! desk_conformance_tests {
    (#[$test:meta] factory: $factory:expr $(,)?) => {
        #[$test]
        async fn another_hosts_rows_answer_not_found() {
            let factory = $factory;
            $crate::testkit::desk_conformance::another_hosts_rows_answer_not_found(&factory).await;
            $crate::testkit::conformance::StoreFactory::finish(&factory).await;
        }
    };
}

fn not_found<T: std::fmt::Debug>(result: Result<T, DeskError>, what: &str) {
    assert!(
        matches!(result, Err(DeskError::NotFound)),
        "{what}: {result:?}"
    );
}

/// Host A owns a link, a moved meeting and its deal; host B, asking for each of them by id,
/// is told there is no such thing, and sees none of them in its lists. A still sees all.
pub async fn another_hosts_rows_answer_not_found<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: AccountStore + DealStore + LinkDirectory,
{
    let (store, scheduler, clock, a) = world(factory).await;
    let b = host(2, "bea@example.com");
    store.save_host(&b).await.expect("host b");
    store
        .save_link(&link(2, b.id(), "bea", false))
        .await
        .expect("link b");
    let booked = scheduler
        .book(
            &Slug::parse("sales").expect("slug"),
            request(at(10, 0), "Ann A"),
        )
        .await
        .expect("book");
    let moved = scheduler
        .reschedule(booked.token().expose(), at(11, 0), None)
        .await
        .expect("move");
    let deal = open_deal_for(&store, &store, booked.chain(), booked.id(), at(7, 1))
        .await
        .expect("deal");
    clock.advance(TimeDelta::minutes(1));
    let desk = HostDesk::new(store.clone(), store.clone(), store.clone());
    let page = Page {
        offset: 0,
        limit: 20,
    };

    // The owner sees everything, from any row of the chain.
    let meeting = desk.meeting(a.id(), booked.id()).await.expect("meeting");
    assert_eq!(meeting.current.id(), moved.id());
    assert_eq!(meeting.chain.len(), 2);
    assert_eq!(meeting.deal.as_ref().map(|d| d.id()), Some(deal.id()));
    assert_eq!(meeting.link.as_ref().map(|l| l.id()), Some(booked.link()));
    desk.link(a.id(), booked.link()).await.expect("own link");
    desk.deal(a.id(), deal.id()).await.expect("own deal");
    assert_eq!(desk.links(a.id()).await.expect("links").len(), 1);
    assert!(
        desk.link_titles(a.id())
            .await
            .expect("titles")
            .contains_key(&booked.link())
    );

    // The other host is told nothing exists.
    let other = b.id();
    not_found(desk.booking(other, booked.id()).await, "booking");
    not_found(desk.booking(other, moved.id()).await, "moved booking");
    not_found(desk.meeting(other, moved.id()).await.map(|_| ()), "meeting");
    not_found(desk.link(other, booked.link()).await, "link");
    not_found(desk.deal(other, deal.id()).await, "deal");
    not_found(
        desk.deal(other, DealId::for_chain(booked.chain())).await,
        "deal by chain",
    );
    not_found(
        desk.move_deal(other, deal.id(), DealStage::ClosedLost, at(7, 2))
            .await,
        "move deal",
    );
    assert_eq!(
        desk.deal(a.id(), deal.id())
            .await
            .expect("unchanged")
            .stage(),
        DealStage::New
    );
    let links = desk.links(other).await.expect("links");
    assert!(links.iter().all(|l| l.host() == other), "{links:?}");
    assert!(
        !desk
            .link_titles(other)
            .await
            .expect("titles")
            .contains_key(&booked.link())
    );
    assert_eq!(desk.deals(other, page).await.expect("deals").total, 0);
    let tab = desk
        .dashboard(
            other,
            DashboardTab::Upcoming,
            crate::ports::Clock::now(&clock),
            page,
        )
        .await
        .expect("dashboard");
    assert!(tab.rows.is_empty() && tab.counts.upcoming == 0, "{tab:?}");

    // And the host use cases refuse the same way, changing nothing.
    for id in [booked.id(), moved.id()] {
        assert!(matches!(
            scheduler.host_cancel(other, id, None).await,
            Err(HostActionError::NotFound)
        ));
        assert!(matches!(
            scheduler.mark_no_show(other, id).await,
            Err(HostActionError::NotFound)
        ));
        assert!(matches!(
            scheduler.undo_no_show(other, id).await,
            Err(HostActionError::NotFound)
        ));
        assert!(matches!(
            scheduler.resend_links(other, id).await,
            Err(ResendLinksError::NotFound)
        ));
    }
    assert_eq!(
        store.booking(moved.id()).await.expect("load"),
        Some(moved),
        "untouched"
    );
}
