//! Row shapes of the host side's tables (`host_accounts`, `api_keys`, `deals`,
//! `webhook_subscriptions`, `webhook_deliveries`), read alike by both stores, and their mapping
//! to the domain.

use booking_core::accounts::{Account, ApiKey, ApiKeyRecord, PasswordHash};
use booking_core::deals::{Deal, DealRecord};
use booking_core::ids::HostId;
use booking_core::invitee::Email;
use booking_core::ports::StoreError;
use booking_core::subscriptions::{
    DeliveryAttempt, SubscriptionId, SubscriptionSecret, TargetUrl, WebhookSubscription,
    parse_events,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A row of `host_accounts`.
#[derive(Debug, sqlx::FromRow)]
#[allow(missing_docs)]
pub struct AccountRow {
    pub host_id: Uuid,
    pub login: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

impl AccountRow {
    /// The domain account.
    ///
    /// # Errors
    /// [`StoreError`] for an invalid column.
    pub fn into_account(self) -> Result<Account, StoreError> {
        let bad = |what: &str| {
            StoreError::msg(format!(
                "account of host {} is invalid: {what}",
                self.host_id
            ))
        };
        Ok(Account::new(
            HostId::from_uuid(self.host_id),
            &Email::from_stored(&self.login).map_err(|_| bad("login"))?,
            PasswordHash::parse(&self.password_hash).map_err(|_| bad("password_hash"))?,
            self.created_at,
        ))
    }
}

/// A row of `api_keys` (see [`crate::key_columns`]).
#[derive(Debug, sqlx::FromRow)]
#[allow(missing_docs)]
pub struct KeyRow {
    pub id: Uuid,
    pub host_id: Uuid,
    pub label: String,
    pub prefix: String,
    pub key_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl KeyRow {
    /// The domain key.
    ///
    /// # Errors
    /// [`StoreError`] for an invalid column.
    pub fn into_key(self) -> Result<ApiKey, StoreError> {
        ApiKey::from_record(ApiKeyRecord {
            id: self.id,
            host_id: self.host_id,
            label: self.label,
            prefix: self.prefix,
            key_hash: self.key_hash,
            created_at: self.created_at,
            revoked_at: self.revoked_at,
        })
    }
}

/// A row of `deals` (see [`crate::deal_columns`]).
#[derive(Debug, sqlx::FromRow)]
#[allow(missing_docs)]
pub struct DealRow {
    pub id: Uuid,
    pub host_id: Uuid,
    pub chain_id: Uuid,
    pub booking_id: Uuid,
    pub link_id: Uuid,
    pub contact_name: String,
    pub contact_email: String,
    pub stage: String,
    pub stage_changed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl DealRow {
    /// The domain deal.
    ///
    /// # Errors
    /// [`StoreError`] for an invalid column.
    pub fn into_deal(self) -> Result<Deal, StoreError> {
        Deal::from_record(DealRecord {
            id: self.id,
            host_id: self.host_id,
            chain_id: self.chain_id,
            booking_id: self.booking_id,
            link_id: self.link_id,
            contact_name: self.contact_name,
            contact_email: self.contact_email,
            stage: self.stage,
            stage_changed_at: self.stage_changed_at,
            created_at: self.created_at,
        })
    }
}

/// A row of `webhook_subscriptions` (see [`crate::subscription_columns`]).
#[derive(Debug, sqlx::FromRow)]
#[allow(missing_docs)]
pub struct SubscriptionRow {
    pub id: Uuid,
    pub host_id: Uuid,
    pub url: String,
    pub secret: String,
    pub events: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl SubscriptionRow {
    /// The domain subscription.
    ///
    /// # Errors
    /// [`StoreError`] for an invalid column.
    pub fn into_subscription(self) -> Result<WebhookSubscription, StoreError> {
        let id = self.id;
        let corrupt = |e| StoreError::new(format!("webhook subscription {id} is invalid"), e);
        Ok(WebhookSubscription {
            id: SubscriptionId::from_uuid(self.id),
            host: HostId::from_uuid(self.host_id),
            url: TargetUrl::parse(&self.url).map_err(corrupt)?,
            secret: SubscriptionSecret::parse(&self.secret).map_err(corrupt)?,
            events: parse_events(&self.events).map_err(corrupt)?,
            active: self.active,
            created_at: self.created_at,
        })
    }
}

/// A row of `webhook_deliveries`. `status_code` is an `integer` column in both schemas, read
/// as `i32` (SQLite's driver narrows its 64-bit integers on decoding, checked).
#[derive(Debug, sqlx::FromRow)]
#[allow(missing_docs)]
pub struct DeliveryRow {
    pub subscription_id: Uuid,
    pub effect_key: String,
    pub attempt: i64,
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub delivered: bool,
    pub at: DateTime<Utc>,
}

impl DeliveryRow {
    /// The domain delivery attempt.
    pub fn into_attempt(self) -> DeliveryAttempt {
        DeliveryAttempt {
            subscription: SubscriptionId::from_uuid(self.subscription_id),
            effect_key: self.effect_key,
            attempt: u32::try_from(self.attempt).unwrap_or(u32::MAX),
            status: self.status_code.and_then(|s| u16::try_from(s).ok()),
            latency_ms: u64::try_from(self.latency_ms).unwrap_or(0),
            error: self.error,
            delivered: self.delivered,
            at: self.at,
        }
    }
}

/// The columns of `api_keys` that [`KeyRow`] reads.
#[macro_export]
macro_rules! key_columns {
    () => {
        "id, host_id, label, prefix, key_hash, created_at, revoked_at"
    };
}

/// The columns of `deals` that [`DealRow`] reads.
#[macro_export]
macro_rules! deal_columns {
    () => {
        "id, host_id, chain_id, booking_id, link_id, contact_name, contact_email, \
         stage, stage_changed_at, created_at"
    };
}

/// The columns of `webhook_subscriptions` that [`SubscriptionRow`] reads.
#[macro_export]
macro_rules! subscription_columns {
    () => {
        "id, host_id, url, secret, events, active, created_at"
    };
}
