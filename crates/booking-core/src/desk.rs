//! The host's desk: every host-side read and action, keyed by the [`HostId`] asking.
//!
//! Adapters (the dashboard, the host JSON API, a CLI) never load a row by id and then compare
//! its host themselves: they ask the desk on behalf of a host, and a row of another host comes
//! back exactly as a missing one ([`DeskError::NotFound`]). The rule is therefore kept in one
//! place, and `testkit::desk_conformance` checks it on every store.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::accounts::LinkDirectory;
use crate::booking::Booking;
use crate::deals::{Deal, DealActionError, DealId, DealList, DealStage, DealStore, move_deal};
use crate::ids::{BookingId, HostId, LinkId};
use crate::link::BookingLink;
use crate::ports::{
    BookingStore, DashboardPage, DashboardTab, DeadEntry, Page, PendingEntry, StoreError,
};

/// Why the desk has no answer for this host.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// No such row for this host (another host's row looks the same).
    #[error("not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A meeting as the host sees it: the row asked for, the chain's current row, every row of
/// the chain (oldest first), the current row's link and the chain's deal.
#[derive(Debug, Clone)]
pub struct Meeting {
    /// The row whose id was asked for (possibly an earlier row of the chain).
    pub asked: Booking,
    /// The chain's current row: the one not moved on (the asked row if the chain is broken).
    pub current: Booking,
    /// Every row of the chain, oldest first.
    pub chain: Vec<Booking>,
    /// The current row's link (`None` if it was deleted).
    pub link: Option<BookingLink>,
    /// The chain's deal, if the link opens deals.
    pub deal: Option<Deal>,
    /// What never reached its recipient for any row of the chain (outbox entries that went
    /// dead), most recent first.
    pub undelivered: Vec<DeadEntry>,
    /// The actions still planned (outbox entries not yet delivered) for the asked row and the
    /// chain's current row, soonest due first.
    pub planned: Vec<PendingEntry>,
}

/// Host-side reads and actions over the booking store, the deal store and the link
/// directory. Cheap to build per request from shared handles (`Arc`s).
#[derive(Debug, Clone)]
pub struct HostDesk<S, D, L> {
    bookings: S,
    deals: D,
    links: L,
}

impl<S, D, L> HostDesk<S, D, L>
where
    S: BookingStore,
    D: DealStore,
    L: LinkDirectory,
{
    /// A desk over these ports.
    pub fn new(bookings: S, deals: D, links: L) -> Self {
        Self {
            bookings,
            deals,
            links,
        }
    }

    /// One of the host's bookings.
    ///
    /// # Errors
    /// [`DeskError::NotFound`] for an unknown booking or another host's.
    pub async fn booking(&self, host: HostId, id: BookingId) -> Result<Booking, DeskError> {
        self.bookings
            .booking(id)
            .await?
            .filter(|b| b.host() == host)
            .ok_or(DeskError::NotFound)
    }

    /// One of the host's meetings, reached through any row of its chain.
    ///
    /// # Errors
    /// [`DeskError::NotFound`] for an unknown booking or another host's.
    pub async fn meeting(&self, host: HostId, id: BookingId) -> Result<Meeting, DeskError> {
        let asked = self.booking(host, id).await?;
        let chain: Vec<Booking> = self
            .bookings
            .chain(asked.chain())
            .await?
            .into_iter()
            .filter(|b| b.host() == host)
            .collect();
        let current = chain
            .iter()
            .rev()
            .find(|b| b.next().is_none())
            .or_else(|| chain.last())
            .unwrap_or(&asked)
            .clone();
        let link = self
            .bookings
            .link(current.link())
            .await?
            .filter(|l| l.host() == host);
        let deal = self.deal(host, DealId::for_chain(current.chain())).await;
        let deal = match deal {
            Ok(d) => Some(d),
            Err(DeskError::NotFound) => None,
            Err(DeskError::Store(e)) => return Err(e.into()),
        };
        let mut undelivered = Vec::new();
        for row in &chain {
            undelivered.extend(self.bookings.dead_effects(row.id()).await?);
        }
        undelivered.sort_by_key(|d| std::cmp::Reverse(d.died_at));
        let mut planned = self.bookings.pending_effects(current.id()).await?;
        if asked.id() != current.id() {
            planned.extend(self.bookings.pending_effects(asked.id()).await?);
            planned.sort_by(|a, b| (a.due_at, &a.key).cmp(&(b.due_at, &b.key)));
        }
        Ok(Meeting {
            asked,
            current,
            chain,
            link,
            deal,
            undelivered,
            planned,
        })
    }

    /// One page of a dashboard tab of the host's meetings, with the counts of every tab.
    ///
    /// # Errors
    /// [`StoreError`] on storage failure.
    pub async fn dashboard(
        &self,
        host: HostId,
        tab: DashboardTab,
        now: DateTime<Utc>,
        page: Page,
    ) -> Result<DashboardPage, StoreError> {
        self.bookings.dashboard(host, tab, now, page).await
    }

    /// One of the host's links.
    ///
    /// # Errors
    /// [`DeskError::NotFound`] for an unknown link or another host's.
    pub async fn link(&self, host: HostId, id: LinkId) -> Result<BookingLink, DeskError> {
        self.bookings
            .link(id)
            .await?
            .filter(|l| l.host() == host)
            .ok_or(DeskError::NotFound)
    }

    /// Every link of the host, by title then slug.
    ///
    /// # Errors
    /// [`StoreError`] on storage failure.
    pub async fn links(&self, host: HostId) -> Result<Vec<BookingLink>, StoreError> {
        self.links.links_of(host).await
    }

    /// The titles of the host's links, by id (for lists that name each row's link).
    ///
    /// # Errors
    /// [`StoreError`] on storage failure.
    pub async fn link_titles(&self, host: HostId) -> Result<HashMap<LinkId, String>, StoreError> {
        Ok(self
            .links(host)
            .await?
            .into_iter()
            .map(|l| (l.id(), l.title().to_owned()))
            .collect())
    }

    /// A page of the host's deals, newest first.
    ///
    /// # Errors
    /// [`StoreError`] on storage failure.
    pub async fn deals(&self, host: HostId, page: Page) -> Result<DealList, StoreError> {
        self.deals.deals(host, page).await
    }

    /// One of the host's deals.
    ///
    /// # Errors
    /// [`DeskError::NotFound`] for an unknown deal or another host's.
    pub async fn deal(&self, host: HostId, id: DealId) -> Result<Deal, DeskError> {
        self.deals
            .deal(id)
            .await?
            .filter(|d| d.host() == host)
            .ok_or(DeskError::NotFound)
    }

    /// Moves one of the host's deals to `stage`.
    ///
    /// # Errors
    /// [`DeskError::NotFound`] for an unknown deal or another host's.
    pub async fn move_deal(
        &self,
        host: HostId,
        id: DealId,
        stage: DealStage,
        now: DateTime<Utc>,
    ) -> Result<Deal, DeskError> {
        move_deal(&self.deals, host, id, stage, now)
            .await
            .map_err(|e| match e {
                DealActionError::NotFound => DeskError::NotFound,
                DealActionError::Store(e) => DeskError::Store(e),
            })
    }
}
