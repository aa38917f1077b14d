//! The in-memory store's text opt-outs.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::InMemoryStore;
use crate::ports::{StoreError, TextOptOuts};

#[async_trait]
impl TextOptOuts for InMemoryStore {
    async fn is_opted_out(&self, phone: &str) -> Result<bool, StoreError> {
        Ok(self
            .lock()
            .text_opt_outs
            .get(phone)
            .is_some_and(|(opted_out, _)| *opted_out))
    }

    async fn set_opted_out(
        &self,
        phone: &str,
        opted_out: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let newer = state
            .text_opt_outs
            .get(phone)
            .is_none_or(|(_, changed)| *changed <= at);
        if newer {
            state
                .text_opt_outs
                .insert(phone.to_owned(), (opted_out, at));
        }
        Ok(())
    }
}
