//! The in-memory store's webhook subscriptions and delivery log, with the database stores'
//! rules: subscriptions belong to an existing host, another host's id is not found, deleting
//! a subscription deletes its log.

use async_trait::async_trait;

use super::InMemoryStore;
use crate::effects::WebhookEvent;
use crate::ids::HostId;
use crate::ports::StoreError;
use crate::subscriptions::{
    DeliveryAttempt, SubscriptionError, SubscriptionId, WebhookSubscription, WebhookSubscriptions,
};

#[derive(Debug, Default)]
pub(super) struct WebhookState {
    /// In creation order.
    subscriptions: Vec<WebhookSubscription>,
    /// In recording order.
    log: Vec<DeliveryAttempt>,
}

impl WebhookState {
    fn find_mut(&mut self, host: HostId, id: SubscriptionId) -> Option<&mut WebhookSubscription> {
        self.subscriptions
            .iter_mut()
            .find(|s| s.id == id && s.host == host)
    }
}

#[async_trait]
impl WebhookSubscriptions for InMemoryStore {
    async fn create_subscription(
        &self,
        subscription: &WebhookSubscription,
    ) -> Result<(), SubscriptionError> {
        let mut state = self.lock();
        if !state.hosts.contains_key(&subscription.host) {
            return Err(SubscriptionError::UnknownHost);
        }
        if state
            .webhooks
            .subscriptions
            .iter()
            .any(|s| s.id == subscription.id)
        {
            return Err(StoreError::msg(format!("subscription {} exists", subscription.id)).into());
        }
        state.webhooks.subscriptions.push(subscription.clone());
        Ok(())
    }

    async fn subscriptions(&self, host: HostId) -> Result<Vec<WebhookSubscription>, StoreError> {
        Ok(self
            .lock()
            .webhooks
            .subscriptions
            .iter()
            .filter(|s| s.host == host)
            .cloned()
            .collect())
    }

    async fn subscription(
        &self,
        host: HostId,
        id: SubscriptionId,
    ) -> Result<Option<WebhookSubscription>, StoreError> {
        Ok(self.lock().webhooks.find_mut(host, id).map(|s| s.clone()))
    }

    async fn delete_subscription(
        &self,
        host: HostId,
        id: SubscriptionId,
    ) -> Result<(), SubscriptionError> {
        let mut state = self.lock();
        let webhooks = &mut state.webhooks;
        let before = webhooks.subscriptions.len();
        webhooks
            .subscriptions
            .retain(|s| !(s.id == id && s.host == host));
        if webhooks.subscriptions.len() == before {
            return Err(SubscriptionError::NotFound);
        }
        webhooks.log.retain(|a| a.subscription != id);
        Ok(())
    }

    async fn set_subscription_active(
        &self,
        host: HostId,
        id: SubscriptionId,
        active: bool,
    ) -> Result<(), SubscriptionError> {
        let mut state = self.lock();
        let subscription = state
            .webhooks
            .find_mut(host, id)
            .ok_or(SubscriptionError::NotFound)?;
        subscription.active = active;
        Ok(())
    }

    async fn active_subscriptions(
        &self,
        host: HostId,
        event: WebhookEvent,
    ) -> Result<Vec<WebhookSubscription>, StoreError> {
        Ok(self
            .lock()
            .webhooks
            .subscriptions
            .iter()
            .filter(|s| s.host == host && s.active && s.events.contains(&event))
            .cloned()
            .collect())
    }

    async fn record_delivery(&self, attempt: &DeliveryAttempt) -> Result<(), StoreError> {
        let mut state = self.lock();
        if state
            .webhooks
            .subscriptions
            .iter()
            .any(|s| s.id == attempt.subscription)
        {
            state.webhooks.log.push(attempt.clone());
        }
        Ok(())
    }

    async fn deliveries(
        &self,
        host: HostId,
        subscription: SubscriptionId,
        limit: u32,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        let mut state = self.lock();
        if state.webhooks.find_mut(host, subscription).is_none() {
            return Ok(Vec::new());
        }
        let mut log: Vec<DeliveryAttempt> = state
            .webhooks
            .log
            .iter()
            .filter(|a| a.subscription == subscription)
            .cloned()
            .collect();
        // Newest first; among equal times the later-recorded first, as the databases do by
        // their sequence column.
        log.reverse();
        log.sort_by_key(|a| std::cmp::Reverse(a.at));
        log.truncate(limit as usize);
        Ok(log)
    }

    async fn delivered_to(
        &self,
        effect_key: &str,
        subscription: SubscriptionId,
    ) -> Result<bool, StoreError> {
        Ok(self
            .lock()
            .webhooks
            .log
            .iter()
            .any(|a| a.subscription == subscription && a.effect_key == effect_key && a.delivered))
    }
}
