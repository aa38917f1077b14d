//! The in-memory store's deals: one per chain, a host's listed newest first.

use async_trait::async_trait;

use super::InMemoryStore;
use crate::deals::{Deal, DealId, DealList, DealStore};
use crate::ids::HostId;
use crate::ports::{Page, StoreError};

#[derive(Debug, Default)]
pub(super) struct DealState {
    /// In creation order.
    deals: Vec<Deal>,
}

#[async_trait]
impl DealStore for InMemoryStore {
    async fn open_deal(&self, deal: &Deal) -> Result<Deal, StoreError> {
        let mut state = self.lock();
        if let Some(existing) = state.deals.deals.iter().find(|d| d.chain() == deal.chain()) {
            return Ok(existing.clone());
        }
        if !state.hosts.contains_key(&deal.host()) {
            return Err(StoreError::msg("deal for an unknown host"));
        }
        state.deals.deals.push(deal.clone());
        Ok(deal.clone())
    }

    async fn deal(&self, id: DealId) -> Result<Option<Deal>, StoreError> {
        Ok(self
            .lock()
            .deals
            .deals
            .iter()
            .find(|d| d.id() == id)
            .cloned())
    }

    async fn deals(&self, host: HostId, page: Page) -> Result<DealList, StoreError> {
        let state = self.lock();
        let mut mine: Vec<&Deal> = state
            .deals
            .deals
            .iter()
            .filter(|d| d.host() == host)
            .collect();
        mine.sort_by_key(|d| (std::cmp::Reverse(d.created_at()), d.id()));
        Ok(DealList {
            total: mine.len() as u64,
            rows: mine
                .into_iter()
                .skip(page.offset as usize)
                .take(page.limit as usize)
                .cloned()
                .collect(),
        })
    }

    async fn save_stage(&self, deal: &Deal) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let Some(stored) = state.deals.deals.iter_mut().find(|d| d.id() == deal.id()) else {
            return Ok(false);
        };
        *stored = stored.moved_to(deal.stage(), deal.stage_changed_at());
        Ok(true)
    }
}
