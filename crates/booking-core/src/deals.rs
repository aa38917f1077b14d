//! CRM deals: a booking through a link with `create_deal` opens one deal per meeting (chain),
//! in stage "New"; the host moves it through the pipeline. Cancelling the meeting never
//! touches the deal — a cancelled meeting is still a lead, as the spec says.
//!
//! The deal's id is its chain's id: one meeting, at most one deal, so opening a deal again for
//! the same chain (a retried outbox delivery) finds the first one instead of adding another.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::ids::{BookingId, ChainId, HostId, LinkId};
use crate::invitee::{Email, PersonName};
use crate::ports::{BookingStore, Page, StoreError};

/// Identifies a deal; equal to the id of the meeting's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DealId(Uuid);

impl DealId {
    /// The deal of a meeting.
    pub const fn for_chain(chain: ChainId) -> Self {
        Self(chain.as_uuid())
    }
    /// Wraps a UUID read from storage.
    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }
    /// The UUID inside.
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }
    /// Parses the hyphenated form.
    ///
    /// # Errors
    /// [`uuid::Error`] when `text` is not a UUID.
    pub fn parse(text: &str) -> Result<Self, uuid::Error> {
        Uuid::try_parse(text).map(Self)
    }
}

impl fmt::Display for DealId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Where a deal stands in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DealStage {
    /// Opened by a booking.
    New,
    /// The host thinks it can go somewhere.
    Qualified,
    /// An offer was made.
    Proposal,
    /// Terms are being discussed.
    Negotiation,
    /// Won.
    ClosedWon,
    /// Lost (also: the meeting was cancelled and the lead is dead).
    ClosedLost,
}

impl DealStage {
    /// Every stage, in pipeline order.
    pub const ALL: [DealStage; 6] = [
        Self::New,
        Self::Qualified,
        Self::Proposal,
        Self::Negotiation,
        Self::ClosedWon,
        Self::ClosedLost,
    ];

    /// Stored and API name: `new`, `qualified`, `proposal`, `negotiation`, `closed_won`,
    /// `closed_lost`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Qualified => "qualified",
            Self::Proposal => "proposal",
            Self::Negotiation => "negotiation",
            Self::ClosedWon => "closed_won",
            Self::ClosedLost => "closed_lost",
        }
    }

    /// Name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Self::New => "New",
            Self::Qualified => "Qualified",
            Self::Proposal => "Proposal",
            Self::Negotiation => "Negotiation",
            Self::ClosedWon => "Closed – won",
            Self::ClosedLost => "Closed – lost",
        }
    }

    /// Inverse of [`DealStage::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the deal is over (won or lost).
    pub fn is_closed(self) -> bool {
        matches!(self, Self::ClosedWon | Self::ClosedLost)
    }
}

/// One deal: a contact met through a link, and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deal {
    id: DealId,
    host: HostId,
    chain: ChainId,
    booking: BookingId,
    link: LinkId,
    contact_name: PersonName,
    contact_email: Email,
    stage: DealStage,
    stage_changed_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

/// A deal as columns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct DealRecord {
    pub id: Uuid,
    pub host_id: Uuid,
    pub chain_id: Uuid,
    pub booking_id: Uuid,
    pub link_id: Uuid,
    pub contact_name: String,
    pub contact_email: String,
    /// [`DealStage::as_str`].
    pub stage: String,
    pub stage_changed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl Deal {
    /// A new deal in stage [`DealStage::New`] for the meeting `booking` started.
    pub fn open(booking: &crate::Booking, now: DateTime<Utc>) -> Self {
        Self {
            id: DealId::for_chain(booking.chain()),
            host: booking.host(),
            chain: booking.chain(),
            booking: booking.id(),
            link: booking.link(),
            contact_name: booking.invitee().name().clone(),
            contact_email: booking.invitee().email().clone(),
            stage: DealStage::New,
            stage_changed_at: now,
            created_at: now,
        }
    }

    /// The deal moved to `stage` at `now` (the same deal if it is already there).
    #[must_use]
    pub fn moved_to(&self, stage: DealStage, now: DateTime<Utc>) -> Self {
        if stage == self.stage {
            return self.clone();
        }
        Self {
            stage,
            stage_changed_at: now,
            ..self.clone()
        }
    }

    /// Id (the chain's).
    pub fn id(&self) -> DealId {
        self.id
    }
    /// The host whose pipeline it is in.
    pub fn host(&self) -> HostId {
        self.host
    }
    /// The meeting.
    pub fn chain(&self) -> ChainId {
        self.chain
    }
    /// The booking row that opened it (the chain's first).
    pub fn booking(&self) -> BookingId {
        self.booking
    }
    /// The link booked through.
    pub fn link(&self) -> LinkId {
        self.link
    }
    /// The contact's name.
    pub fn contact_name(&self) -> &PersonName {
        &self.contact_name
    }
    /// The contact's email.
    pub fn contact_email(&self) -> &Email {
        &self.contact_email
    }
    /// Current stage.
    pub fn stage(&self) -> DealStage {
        self.stage
    }
    /// When the stage last changed.
    pub fn stage_changed_at(&self) -> DateTime<Utc> {
        self.stage_changed_at
    }
    /// When the deal was opened.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// The deal as columns.
    pub fn to_record(&self) -> DealRecord {
        DealRecord {
            id: self.id.as_uuid(),
            host_id: self.host.as_uuid(),
            chain_id: self.chain.as_uuid(),
            booking_id: self.booking.as_uuid(),
            link_id: self.link.as_uuid(),
            contact_name: self.contact_name.as_str().to_owned(),
            contact_email: self.contact_email.as_str().to_owned(),
            stage: self.stage.as_str().to_owned(),
            stage_changed_at: self.stage_changed_at,
            created_at: self.created_at,
        }
    }

    /// Reads a stored deal back.
    ///
    /// # Errors
    /// [`StoreError`] naming the bad column.
    pub fn from_record(r: DealRecord) -> Result<Self, StoreError> {
        let bad = |what: &str| StoreError::msg(format!("stored deal {} is invalid: {what}", r.id));
        Ok(Self {
            id: DealId(r.id),
            host: HostId::from_uuid(r.host_id),
            chain: ChainId::from_uuid(r.chain_id),
            booking: BookingId::from_uuid(r.booking_id),
            link: LinkId::from_uuid(r.link_id),
            contact_name: PersonName::parse(&r.contact_name).map_err(|_| bad("contact_name"))?,
            contact_email: Email::from_stored(&r.contact_email)
                .map_err(|_| bad("contact_email"))?,
            stage: DealStage::parse(&r.stage).ok_or_else(|| bad("stage"))?,
            stage_changed_at: r.stage_changed_at,
            created_at: r.created_at,
        })
    }
}

/// One page of a host's deals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealList {
    /// The deals of the page, newest first.
    pub rows: Vec<Deal>,
    /// How many deals the host has in all.
    pub total: u64,
}

/// Where deals are kept.
#[async_trait]
pub trait DealStore: Send + Sync {
    /// Stores `deal` unless its chain already has one; returns the chain's deal as stored
    /// (the existing one, unchanged, when there was one).
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn open_deal(&self, deal: &Deal) -> Result<Deal, StoreError>;

    /// A deal by id.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure (an unknown id is `Ok(None)`).
    async fn deal(&self, id: DealId) -> Result<Option<Deal>, StoreError>;

    /// A host's deals, newest first.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn deals(&self, host: HostId, page: Page) -> Result<DealList, StoreError>;

    /// Writes the stage of an existing deal. Returns `false` when there is no such deal.
    ///
    /// # Errors
    /// [`StoreError`] on any storage failure.
    async fn save_stage(&self, deal: &Deal) -> Result<bool, StoreError>;
}

#[async_trait]
impl<T: DealStore + ?Sized> DealStore for std::sync::Arc<T> {
    async fn open_deal(&self, deal: &Deal) -> Result<Deal, StoreError> {
        (**self).open_deal(deal).await
    }
    async fn deal(&self, id: DealId) -> Result<Option<Deal>, StoreError> {
        (**self).deal(id).await
    }
    async fn deals(&self, host: HostId, page: Page) -> Result<DealList, StoreError> {
        (**self).deals(host, page).await
    }
    async fn save_stage(&self, deal: &Deal) -> Result<bool, StoreError> {
        (**self).save_stage(deal).await
    }
}

/// Delivers [`Effect::CreateDeal`](crate::effects::Effect::CreateDeal): opens the deal of
/// `chain`, whose first row is `booking`. Idempotent: a second delivery returns the deal the
/// first one opened, whatever stage the host has moved it to since.
///
/// # Errors
/// [`StoreError`] on storage failure, or when the booking row is missing.
pub async fn open_deal_for<B, D>(
    bookings: &B,
    deals: &D,
    chain: ChainId,
    booking: BookingId,
    now: DateTime<Utc>,
) -> Result<Deal, StoreError>
where
    B: BookingStore + ?Sized,
    D: DealStore + ?Sized,
{
    if let Some(existing) = deals.deal(DealId::for_chain(chain)).await? {
        return Ok(existing);
    }
    let row = bookings
        .booking(booking)
        .await?
        .ok_or_else(|| StoreError::msg(format!("deal for missing booking {booking}")))?;
    if row.chain() != chain {
        return Err(StoreError::msg(format!(
            "booking {booking} is not part of chain {chain}"
        )));
    }
    deals.open_deal(&Deal::open(&row, now)).await
}

/// Why a deal could not be moved.
#[derive(Debug, thiserror::Error)]
pub enum DealActionError {
    /// No such deal for this host (another host's deal looks the same).
    #[error("no such deal")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The host moves one of their deals to `stage`.
///
/// # Errors
/// [`DealActionError::NotFound`] for an unknown deal or another host's.
pub async fn move_deal<D: DealStore + ?Sized>(
    deals: &D,
    host: HostId,
    id: DealId,
    stage: DealStage,
    now: DateTime<Utc>,
) -> Result<Deal, DealActionError> {
    let deal = deals
        .deal(id)
        .await?
        .filter(|d| d.host() == host)
        .ok_or(DealActionError::NotFound)?;
    let moved = deal.moved_to(stage, now);
    if moved != deal && !deals.save_stage(&moved).await? {
        return Err(DealActionError::NotFound);
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_round_trip() {
        for s in DealStage::ALL {
            assert_eq!(DealStage::parse(s.as_str()), Some(s));
        }
        assert_eq!(DealStage::parse("won"), None);
        assert!(DealStage::ClosedLost.is_closed() && !DealStage::New.is_closed());
    }
}
