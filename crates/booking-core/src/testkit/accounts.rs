//! The in-memory store's host accounts and API keys, with the database stores' rules: one
//! account per host, logins unique regardless of case, keys found by hash; and counted login
//! attempts, one fixed window per key.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::InMemoryStore;
use crate::accounts::{
    Account, AccountStore, ApiKey, ApiKeyId, AttemptLimit, LinkDirectory, LoginAttempts,
    SaveAccountError,
};
use crate::ids::HostId;
use crate::invitee::Email;
use crate::link::{BookingLink, Host};
use crate::ports::StoreError;

#[derive(Debug, Default)]
pub(super) struct AccountState {
    accounts: Vec<Account>,
    /// In creation order.
    keys: Vec<ApiKey>,
    /// Per key: attempts counted in the window, and when the window closes.
    attempts: HashMap<String, (u64, DateTime<Utc>)>,
}

#[async_trait]
impl AccountStore for InMemoryStore {
    async fn save_account(&self, account: &Account) -> Result<(), SaveAccountError> {
        let mut state = self.lock();
        if !state.hosts.contains_key(&account.host()) {
            return Err(SaveAccountError::UnknownHost);
        }
        let accounts = &mut state.accounts.accounts;
        if accounts
            .iter()
            .any(|a| a.login() == account.login() && a.host() != account.host())
        {
            return Err(SaveAccountError::LoginTaken);
        }
        accounts.retain(|a| a.host() != account.host());
        accounts.push(account.clone());
        Ok(())
    }

    async fn account_by_login(&self, login: &Email) -> Result<Option<Account>, StoreError> {
        let wanted = login.as_str().to_ascii_lowercase();
        Ok(self
            .lock()
            .accounts
            .accounts
            .iter()
            .find(|a| a.login().as_str() == wanted)
            .cloned())
    }

    async fn account(&self, host: HostId) -> Result<Option<Account>, StoreError> {
        Ok(self
            .lock()
            .accounts
            .accounts
            .iter()
            .find(|a| a.host() == host)
            .cloned())
    }

    async fn account_count(&self) -> Result<u64, StoreError> {
        Ok(self.lock().accounts.accounts.len() as u64)
    }

    async fn add_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let mut state = self.lock();
        if !state.hosts.contains_key(&key.host()) {
            return Err(StoreError::msg("API key for an unknown host"));
        }
        if state
            .accounts
            .keys
            .iter()
            .any(|k| k.id() == key.id() || k.hash() == key.hash())
        {
            return Err(StoreError::msg(format!("API key {} exists", key.id())));
        }
        state.accounts.keys.push(key.clone());
        Ok(())
    }

    async fn api_keys(&self, host: HostId) -> Result<Vec<ApiKey>, StoreError> {
        let mut keys: Vec<ApiKey> = self
            .lock()
            .accounts
            .keys
            .iter()
            .filter(|k| k.host() == host)
            .cloned()
            .collect();
        keys.reverse();
        keys.sort_by_key(|k| std::cmp::Reverse(k.created_at()));
        Ok(keys)
    }

    async fn api_key_by_hash(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>, StoreError> {
        Ok(self
            .lock()
            .accounts
            .keys
            .iter()
            .find(|k| k.hash() == hash)
            .cloned())
    }

    async fn revoke_api_key(
        &self,
        host: HostId,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let Some(key) = state
            .accounts
            .keys
            .iter_mut()
            .find(|k| k.id() == id && k.host() == host)
        else {
            return Ok(false);
        };
        if key.is_live() {
            let mut record = key.to_record();
            record.revoked_at = Some(at);
            *key = ApiKey::from_record(record)?;
        }
        Ok(true)
    }
}

#[async_trait]
impl LinkDirectory for InMemoryStore {
    async fn links_of(&self, host: HostId) -> Result<Vec<BookingLink>, StoreError> {
        let mut links: Vec<BookingLink> = self
            .lock()
            .links
            .values()
            .filter(|l| l.host() == host)
            .cloned()
            .collect();
        links.sort_by(|a, b| (a.title(), a.slug()).cmp(&(b.title(), b.slug())));
        Ok(links)
    }

    async fn hosts(&self) -> Result<Vec<Host>, StoreError> {
        let mut hosts: Vec<Host> = self.lock().hosts.values().cloned().collect();
        hosts.sort_by(|a, b| (a.name().as_str(), a.id()).cmp(&(b.name().as_str(), b.id())));
        Ok(hosts)
    }

    async fn lists_links(&self, host: HostId) -> Result<bool, StoreError> {
        Ok(self.lock().listed_hosts.contains(&host))
    }

    async fn set_lists_links(
        &self,
        host: HostId,
        listed: bool,
        _now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        if !state.hosts.contains_key(&host) {
            return Ok(());
        }
        if listed {
            state.listed_hosts.insert(host);
        } else {
            state.listed_hosts.remove(&host);
        }
        Ok(())
    }

    async fn listed_links(&self) -> Result<Vec<BookingLink>, StoreError> {
        let state = self.lock();
        let mut links: Vec<BookingLink> = state
            .links
            .values()
            .filter(|l| state.listed_hosts.contains(&l.host()))
            .cloned()
            .collect();
        links.sort_by(|a, b| (a.title(), a.slug()).cmp(&(b.title(), b.slug())));
        Ok(links)
    }
}

#[async_trait]
impl LoginAttempts for InMemoryStore {
    async fn count_attempt(
        &self,
        key: &str,
        limit: AttemptLimit,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let attempts = &mut state.accounts.attempts;
        attempts.retain(|_, (_, closes)| *closes > now);
        let (count, _) = attempts
            .entry(key.to_owned())
            .or_insert((0, now + limit.window()));
        *count += 1;
        Ok(limit.allows(*count))
    }

    async fn return_attempt(&self, key: &str) -> Result<(), StoreError> {
        if let Some((count, _)) = self.lock().accounts.attempts.get_mut(key) {
            *count = count.saturating_sub(1);
        }
        Ok(())
    }

    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError> {
        self.lock().accounts.attempts.remove(key);
        Ok(())
    }
}
