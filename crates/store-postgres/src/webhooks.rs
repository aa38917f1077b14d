//! Webhook subscriptions and their delivery log on Postgres (`webhook_subscriptions`,
//! `webhook_deliveries`).

use async_trait::async_trait;
use booking_core::effects::WebhookEvent;
use booking_core::ids::HostId;
use booking_core::ports::StoreError;
use booking_core::subscriptions::{
    DeliveryAttempt, SubscriptionError, SubscriptionId, SubscriptionSecret, TargetUrl,
    WebhookSubscription, WebhookSubscriptions, events_to_text, parse_events,
};
use chrono::{DateTime, Utc};
use store_common::db_error;
use uuid::Uuid;

use crate::{PostgresStore, retry_races};

/// The columns [`SubscriptionRow`] reads.
macro_rules! subscription_columns {
    () => {
        "id, host_id, url, secret, events, active, created_at"
    };
}

#[derive(Debug, sqlx::FromRow)]
struct SubscriptionRow {
    id: Uuid,
    host_id: Uuid,
    url: String,
    secret: String,
    events: String,
    active: bool,
    created_at: DateTime<Utc>,
}

impl SubscriptionRow {
    fn into_subscription(self) -> Result<WebhookSubscription, StoreError> {
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

#[derive(Debug, sqlx::FromRow)]
struct DeliveryRow {
    subscription_id: Uuid,
    effect_key: String,
    attempt: i64,
    status_code: Option<i32>,
    latency_ms: i64,
    error: Option<String>,
    delivered: bool,
    at: DateTime<Utc>,
}

impl DeliveryRow {
    fn into_attempt(self) -> DeliveryAttempt {
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

impl PostgresStore {
    /// Runs one statement on the subscription `id` of `host` in a write transaction;
    /// `NotFound` when it touched no row.
    async fn change_subscription(
        &self,
        sql: &'static str,
        host: HostId,
        id: SubscriptionId,
        active: Option<bool>,
    ) -> Result<(), SubscriptionError> {
        let now = Utc::now();
        let touched = retry_races(|| async {
            let mut tx = self.pool.begin().await?;
            let done = sqlx::query(sql)
                .bind(id.as_uuid())
                .bind(host.as_uuid())
                .bind(active)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(done.rows_affected())
        })
        .await
        .map_err(db_error("changing a webhook subscription"))?;
        if touched == 0 {
            return Err(SubscriptionError::NotFound);
        }
        Ok(())
    }
}

#[async_trait]
impl WebhookSubscriptions for PostgresStore {
    async fn create_subscription(&self, s: &WebhookSubscription) -> Result<(), SubscriptionError> {
        let now = Utc::now();
        let events = events_to_text(&s.events);
        retry_races(|| async {
            let mut tx = self.pool.begin().await?;
            let host_known: bool =
                sqlx::query_scalar("select exists (select 1 from hosts where id = $1)")
                    .bind(s.host.as_uuid())
                    .fetch_one(&mut *tx)
                    .await?;
            if !host_known {
                return Ok(Err(SubscriptionError::UnknownHost));
            }
            sqlx::query(
                "insert into webhook_subscriptions (id, host_id, url, secret, events, active, created_at, updated_at) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(s.id.as_uuid())
            .bind(s.host.as_uuid())
            .bind(s.url.as_str())
            .bind(s.secret.expose())
            .bind(&events)
            .bind(s.active)
            .bind(s.created_at)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Ok(()))
        })
        .await
        .map_err(db_error("creating a webhook subscription"))?
    }

    async fn subscriptions(&self, host: HostId) -> Result<Vec<WebhookSubscription>, StoreError> {
        sqlx::query_as::<_, SubscriptionRow>(concat!(
            "select ",
            subscription_columns!(),
            " from webhook_subscriptions where host_id = $1 order by created_at, id"
        ))
        .bind(host.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error("listing webhook subscriptions"))?
        .into_iter()
        .map(SubscriptionRow::into_subscription)
        .collect()
    }

    async fn subscription(
        &self,
        host: HostId,
        id: SubscriptionId,
    ) -> Result<Option<WebhookSubscription>, StoreError> {
        sqlx::query_as::<_, SubscriptionRow>(concat!(
            "select ",
            subscription_columns!(),
            " from webhook_subscriptions where id = $1 and host_id = $2"
        ))
        .bind(id.as_uuid())
        .bind(host.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error("loading a webhook subscription"))?
        .map(SubscriptionRow::into_subscription)
        .transpose()
    }

    async fn delete_subscription(
        &self,
        host: HostId,
        id: SubscriptionId,
    ) -> Result<(), SubscriptionError> {
        // `$3` and `$4` keep the numbered parameters gap-free for sqlx.
        self.change_subscription(
            "delete from webhook_subscriptions where id = $1 and host_id = $2 \
             and ($3 is null or $3 is not null) and $4 is not null",
            host,
            id,
            None,
        )
        .await
    }

    async fn set_subscription_active(
        &self,
        host: HostId,
        id: SubscriptionId,
        active: bool,
    ) -> Result<(), SubscriptionError> {
        self.change_subscription(
            "update webhook_subscriptions set active = $3, updated_at = $4 where id = $1 and host_id = $2",
            host,
            id,
            Some(active),
        )
        .await
    }

    async fn active_subscriptions(
        &self,
        host: HostId,
        event: WebhookEvent,
    ) -> Result<Vec<WebhookSubscription>, StoreError> {
        // The event list is short; filter exactly in Rust rather than by string matching.
        Ok(self
            .subscriptions(host)
            .await?
            .into_iter()
            .filter(|s| s.active && s.events.contains(&event))
            .collect())
    }

    async fn record_delivery(&self, a: &DeliveryAttempt) -> Result<(), StoreError> {
        let now = Utc::now();
        retry_races(|| async {
            let mut tx = self.pool.begin().await?;
            // Insert only while the subscription exists: a delete meanwhile drops the attempt.
            sqlx::query(
                "insert into webhook_deliveries (subscription_id, effect_key, attempt, status_code, latency_ms, \
                 error, delivered, at, created_at, updated_at) \
                 select $1, $2, $3, $4, $5, $6, $7, $8, $9, $9 \
                 where exists (select 1 from webhook_subscriptions where id = $1)",
            )
            .bind(a.subscription.as_uuid())
            .bind(&a.effect_key)
            .bind(i64::from(a.attempt))
            .bind(a.status.map(i32::from))
            .bind(i64::try_from(a.latency_ms).unwrap_or(i64::MAX))
            .bind(&a.error)
            .bind(a.delivered)
            .bind(a.at)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })
        .await
        .map_err(db_error("recording a webhook delivery"))
    }

    async fn deliveries(
        &self,
        host: HostId,
        subscription: SubscriptionId,
        limit: u32,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        Ok(sqlx::query_as::<_, DeliveryRow>(
            "select d.subscription_id, d.effect_key, d.attempt, d.status_code, d.latency_ms, d.error, \
             d.delivered, d.at from webhook_deliveries d \
             join webhook_subscriptions s on s.id = d.subscription_id \
             where d.subscription_id = $1 and s.host_id = $2 order by d.at desc, d.seq desc limit $3",
        )
        .bind(subscription.as_uuid())
        .bind(host.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error("loading webhook deliveries"))?
        .into_iter()
        .map(DeliveryRow::into_attempt)
        .collect())
    }

    async fn delivered_to(
        &self,
        effect_key: &str,
        subscription: SubscriptionId,
    ) -> Result<bool, StoreError> {
        sqlx::query_scalar(
            "select exists (select 1 from webhook_deliveries \
             where effect_key = $1 and subscription_id = $2 and delivered)",
        )
        .bind(effect_key)
        .bind(subscription.as_uuid())
        .fetch_one(&self.pool)
        .await
        .map_err(db_error("checking a webhook delivery"))
    }
}
