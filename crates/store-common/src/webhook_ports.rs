//! `WebhookSubscriptions` for both stores: subscriptions and their delivery log.

/// Implements `WebhookSubscriptions` for `$store`.
#[macro_export]
macro_rules! webhook_ports {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Runs one statement on the subscription `id` of `host` in a write transaction;
            /// `NotFound` when it touched no row.
            async fn change_subscription(
                &self,
                sql: &'static str,
                host: ::booking_core::ids::HostId,
                id: ::booking_core::subscriptions::SubscriptionId,
                active: Option<bool>,
            ) -> Result<(), ::booking_core::subscriptions::SubscriptionError> {
                let now = ::chrono::Utc::now();
                let touched = $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    let done = ::sqlx::query(sql)
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
                .map_err($crate::db_error::<Self>("changing a webhook subscription"))?;
                if touched == 0 {
                    return Err(::booking_core::subscriptions::SubscriptionError::NotFound);
                }
                Ok(())
            }
        }

        #[::async_trait::async_trait]
        impl ::booking_core::subscriptions::WebhookSubscriptions for $store {
            async fn create_subscription(
                &self,
                s: &::booking_core::subscriptions::WebhookSubscription,
            ) -> Result<(), ::booking_core::subscriptions::SubscriptionError> {
                let now = ::chrono::Utc::now();
                let events = ::booking_core::subscriptions::events_to_text(&s.events);
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    let host_known: bool =
                        ::sqlx::query_scalar("select exists (select 1 from hosts where id = $1)")
                            .bind(s.host.as_uuid())
                            .fetch_one(&mut *tx)
                            .await?;
                    if !host_known {
                        return Ok(Err(::booking_core::subscriptions::SubscriptionError::UnknownHost));
                    }
                    ::sqlx::query(
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
                .map_err($crate::db_error::<Self>("creating a webhook subscription"))?
            }

            async fn subscriptions(
                &self,
                host: ::booking_core::ids::HostId,
            ) -> Result<
                Vec<::booking_core::subscriptions::WebhookSubscription>,
                ::booking_core::ports::StoreError,
            > {
                ::sqlx::query_as::<_, $crate::SubscriptionRow>(concat!(
                    "select ",
                    $crate::subscription_columns!(),
                    " from webhook_subscriptions where host_id = $1 order by created_at, id"
                ))
                .bind(host.as_uuid())
                .fetch_all($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("listing webhook subscriptions"))?
                .into_iter()
                .map($crate::SubscriptionRow::into_subscription)
                .collect()
            }

            async fn subscription(
                &self,
                host: ::booking_core::ids::HostId,
                id: ::booking_core::subscriptions::SubscriptionId,
            ) -> Result<
                Option<::booking_core::subscriptions::WebhookSubscription>,
                ::booking_core::ports::StoreError,
            > {
                ::sqlx::query_as::<_, $crate::SubscriptionRow>(concat!(
                    "select ",
                    $crate::subscription_columns!(),
                    " from webhook_subscriptions where id = $1 and host_id = $2"
                ))
                .bind(id.as_uuid())
                .bind(host.as_uuid())
                .fetch_optional($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("loading a webhook subscription"))?
                .map($crate::SubscriptionRow::into_subscription)
                .transpose()
            }

            async fn delete_subscription(
                &self,
                host: ::booking_core::ids::HostId,
                id: ::booking_core::subscriptions::SubscriptionId,
            ) -> Result<(), ::booking_core::subscriptions::SubscriptionError> {
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
                host: ::booking_core::ids::HostId,
                id: ::booking_core::subscriptions::SubscriptionId,
                active: bool,
            ) -> Result<(), ::booking_core::subscriptions::SubscriptionError> {
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
                host: ::booking_core::ids::HostId,
                event: ::booking_core::effects::WebhookEvent,
            ) -> Result<
                Vec<::booking_core::subscriptions::WebhookSubscription>,
                ::booking_core::ports::StoreError,
            > {
                use ::booking_core::subscriptions::WebhookSubscriptions as _;
                // The event list is short; filter exactly in Rust rather than by string matching.
                Ok(self
                    .subscriptions(host)
                    .await?
                    .into_iter()
                    .filter(|s| s.active && s.events.contains(&event))
                    .collect())
            }

            async fn record_delivery(
                &self,
                a: &::booking_core::subscriptions::DeliveryAttempt,
            ) -> Result<(), ::booking_core::ports::StoreError> {
                let now = ::chrono::Utc::now();
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    // Insert only while the subscription exists: a delete meanwhile drops the attempt.
                    ::sqlx::query(
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
                .map_err($crate::db_error::<Self>("recording a webhook delivery"))
            }

            async fn deliveries(
                &self,
                host: ::booking_core::ids::HostId,
                subscription: ::booking_core::subscriptions::SubscriptionId,
                limit: u32,
            ) -> Result<
                Vec<::booking_core::subscriptions::DeliveryAttempt>,
                ::booking_core::ports::StoreError,
            > {
                Ok(::sqlx::query_as::<_, $crate::DeliveryRow>(
                    "select d.subscription_id, d.effect_key, d.attempt, d.status_code, d.latency_ms, d.error, \
                     d.delivered, d.at from webhook_deliveries d \
                     join webhook_subscriptions s on s.id = d.subscription_id \
                     where d.subscription_id = $1 and s.host_id = $2 order by d.at desc, d.seq desc limit $3",
                )
                .bind(subscription.as_uuid())
                .bind(host.as_uuid())
                .bind(i64::from(limit))
                .fetch_all($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("loading webhook deliveries"))?
                .into_iter()
                .map($crate::DeliveryRow::into_attempt)
                .collect())
            }

            async fn delivered_to(
                &self,
                effect_key: &str,
                subscription: ::booking_core::subscriptions::SubscriptionId,
            ) -> Result<bool, ::booking_core::ports::StoreError> {
                ::sqlx::query_scalar(
                    "select exists (select 1 from webhook_deliveries \
                     where effect_key = $1 and subscription_id = $2 and delivered)",
                )
                .bind(effect_key)
                .bind(subscription.as_uuid())
                .fetch_one($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("checking a webhook delivery"))
            }
        }
    };
}
