//! The host side's ports for both stores: `AccountStore` (saving an account is the store's
//! own, [`crate::SqlStore::try_save_account`]), `LinkDirectory`, `LoginAttempts` and
//! `DealStore`.

/// Implements `AccountStore`, `LinkDirectory`, `LoginAttempts` and `DealStore` for `$store`.
#[macro_export]
macro_rules! host_ports {
    ($store:ty, $db:ty) => {
        #[::async_trait::async_trait]
        impl ::booking_core::accounts::AccountStore for $store {
            async fn save_account(
                &self,
                account: &::booking_core::accounts::Account,
            ) -> Result<(), ::booking_core::accounts::SaveAccountError> {
                $crate::retry::<Self, _, _, _>(|| $crate::SqlStore::try_save_account(self, account))
                    .await
                    .map_err(|e| {
                        ::booking_core::accounts::SaveAccountError::Store(
                            $crate::db_error::<Self>("saving an account")(e),
                        )
                    })?
            }

            async fn account_by_login(
                &self,
                login: &::booking_core::invitee::Email,
            ) -> Result<Option<::booking_core::accounts::Account>, ::booking_core::ports::StoreError>
            {
                ::sqlx::query_as::<_, $crate::AccountRow>(
                    "select host_id, login, password_hash, created_at from host_accounts where login = $1",
                )
                .bind(login.as_str().to_ascii_lowercase())
                .fetch_optional($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("loading an account by login"))?
                .map($crate::AccountRow::into_account)
                .transpose()
            }

            async fn account(
                &self,
                host: ::booking_core::ids::HostId,
            ) -> Result<Option<::booking_core::accounts::Account>, ::booking_core::ports::StoreError>
            {
                ::sqlx::query_as::<_, $crate::AccountRow>(
                    "select host_id, login, password_hash, created_at from host_accounts where host_id = $1",
                )
                .bind(host.as_uuid())
                .fetch_optional($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("loading an account"))?
                .map($crate::AccountRow::into_account)
                .transpose()
            }

            async fn account_count(&self) -> Result<u64, ::booking_core::ports::StoreError> {
                let n: i64 = ::sqlx::query_scalar("select count(*) from host_accounts")
                    .fetch_one($crate::SqlStore::pool(self))
                    .await
                    .map_err($crate::db_error::<Self>("counting accounts"))?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn add_api_key(
                &self,
                key: &::booking_core::accounts::ApiKey,
            ) -> Result<(), ::booking_core::ports::StoreError> {
                let r = key.to_record();
                let now = ::chrono::Utc::now();
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    ::sqlx::query(
                        "insert into api_keys (id, host_id, label, prefix, key_hash, created_at, revoked_at, updated_at) \
                         values ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(r.id)
                    .bind(r.host_id)
                    .bind(&r.label)
                    .bind(&r.prefix)
                    .bind(&r.key_hash)
                    .bind(r.created_at)
                    .bind(r.revoked_at)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await
                })
                .await
                .map_err($crate::db_error::<Self>("adding an API key"))
            }

            async fn api_keys(
                &self,
                host: ::booking_core::ids::HostId,
            ) -> Result<Vec<::booking_core::accounts::ApiKey>, ::booking_core::ports::StoreError> {
                ::sqlx::query_as::<_, $crate::KeyRow>(concat!(
                    "select ",
                    $crate::key_columns!(),
                    " from api_keys where host_id = $1 order by created_at desc, id"
                ))
                .bind(host.as_uuid())
                .fetch_all($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("listing API keys"))?
                .into_iter()
                .map($crate::KeyRow::into_key)
                .collect()
            }

            async fn api_key_by_hash(
                &self,
                hash: &[u8; 32],
            ) -> Result<Option<::booking_core::accounts::ApiKey>, ::booking_core::ports::StoreError>
            {
                ::sqlx::query_as::<_, $crate::KeyRow>(concat!(
                    "select ",
                    $crate::key_columns!(),
                    " from api_keys where key_hash = $1"
                ))
                .bind(hash.as_slice())
                .fetch_optional($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("loading an API key"))?
                .map($crate::KeyRow::into_key)
                .transpose()
            }

            async fn revoke_api_key(
                &self,
                host: ::booking_core::ids::HostId,
                id: ::booking_core::accounts::ApiKeyId,
                at: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<bool, ::booking_core::ports::StoreError> {
                let now = ::chrono::Utc::now();
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    let done = ::sqlx::query(
                        "update api_keys set revoked_at = coalesce(revoked_at, $3), updated_at = $4 \
                         where id = $1 and host_id = $2",
                    )
                    .bind(id.as_uuid())
                    .bind(host.as_uuid())
                    .bind(at)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(done.rows_affected() > 0)
                })
                .await
                .map_err($crate::db_error::<Self>("revoking an API key"))
            }
        }

        #[::async_trait::async_trait]
        impl ::booking_core::accounts::LinkDirectory for $store {
            async fn links_of(
                &self,
                host: ::booking_core::ids::HostId,
            ) -> Result<Vec<::booking_core::link::BookingLink>, ::booking_core::ports::StoreError> {
                ::sqlx::query_as::<_, $crate::LinkRow>(concat!(
                    "select ",
                    $crate::link_columns!(),
                    " from booking_links where host_id = $1 order by title, slug"
                ))
                .bind(host.as_uuid())
                .fetch_all($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("listing a host's links"))?
                .into_iter()
                .map($crate::LinkRow::into_link)
                .collect()
            }

            async fn hosts(
                &self,
            ) -> Result<Vec<::booking_core::link::Host>, ::booking_core::ports::StoreError> {
                ::sqlx::query_as::<_, $crate::HostRow>(
                    "select id, name, email, time_zone from hosts order by name, id",
                )
                .fetch_all($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("listing the hosts"))?
                .into_iter()
                .map($crate::HostRow::into_host)
                .collect()
            }

            async fn lists_links(
                &self,
                host: ::booking_core::ids::HostId,
            ) -> Result<bool, ::booking_core::ports::StoreError> {
                let listed: Option<bool> =
                    ::sqlx::query_scalar("select lists_links from hosts where id = $1")
                        .bind(host.as_uuid())
                        .fetch_optional($crate::SqlStore::pool(self))
                        .await
                        .map_err($crate::db_error::<Self>("reading a host's listing choice"))?;
                Ok(listed.unwrap_or(false))
            }

            async fn set_lists_links(
                &self,
                host: ::booking_core::ids::HostId,
                listed: bool,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<(), ::booking_core::ports::StoreError> {
                ::sqlx::query("update hosts set lists_links = $2, updated_at = $3 where id = $1")
                    .bind(host.as_uuid())
                    .bind(listed)
                    .bind(now)
                    .execute($crate::SqlStore::pool(self))
                    .await
                    .map_err($crate::db_error::<Self>("saving a host's listing choice"))?;
                Ok(())
            }

            async fn listed_links(
                &self,
            ) -> Result<Vec<::booking_core::link::BookingLink>, ::booking_core::ports::StoreError> {
                ::sqlx::query_as::<_, $crate::LinkRow>(concat!(
                    "select ",
                    $crate::link_columns!(),
                    " from booking_links where host_id in \
                     (select id from hosts where lists_links) order by title, slug"
                ))
                .fetch_all($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("listing the home page's links"))?
                .into_iter()
                .map($crate::LinkRow::into_link)
                .collect()
            }
        }

        #[::async_trait::async_trait]
        impl ::booking_core::accounts::LoginAttempts for $store {
            async fn count_attempt(
                &self,
                key: &str,
                limit: ::booking_core::accounts::AttemptLimit,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<bool, ::booking_core::ports::StoreError> {
                let closes = now + limit.window();
                let attempts = $crate::retry::<Self, _, _, _>(|| async {
                    // One statement counts and answers: the upsert holds the key's row (the
                    // write lock on SQLite, a row lock on Postgres) from read to write, so
                    // racing attempts are counted one after the other. A closed window starts
                    // again at 1; every `set` expression sees the row as it was.
                    let upsert = ::sqlx::query_scalar::<_, i64>(
                        "insert into login_attempts (key, attempts, closes_at, created_at, updated_at) \
                         values ($1, 1, $2, $3, $3) on conflict (key) do update set \
                         attempts = case when login_attempts.closes_at <= $3 then 1 \
                         else login_attempts.attempts + 1 end, \
                         closes_at = case when login_attempts.closes_at <= $3 then $2 \
                         else login_attempts.closes_at end, \
                         updated_at = $3 \
                         returning attempts",
                    )
                    .bind(key)
                    .bind(closes)
                    .bind(now);
                    if <Self as $crate::SqlStore>::ONE_STATEMENT_WRITES {
                        return upsert.fetch_one($crate::SqlStore::pool(self)).await;
                    }
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    let attempts = upsert.fetch_one(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(attempts)
                })
                .await
                .map_err($crate::db_error::<Self>("counting a login attempt"))?;
                // Closed windows are pruned in a transaction of their own, which holds no
                // other row, so two prunes and an upsert can never wait on each other in a
                // circle.
                $crate::retry::<Self, _, _, _>(|| async {
                    let prune =
                        ::sqlx::query("delete from login_attempts where closes_at <= $1").bind(now);
                    if <Self as $crate::SqlStore>::ONE_STATEMENT_WRITES {
                        return prune.execute($crate::SqlStore::pool(self)).await.map(|_| ());
                    }
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    prune.execute(&mut *tx).await?;
                    tx.commit().await
                })
                .await
                .map_err($crate::db_error::<Self>("pruning login attempts"))?;
                Ok(limit.allows(u64::try_from(attempts).unwrap_or(0)))
            }

            async fn return_attempt(&self, key: &str) -> Result<(), ::booking_core::ports::StoreError> {
                let now = ::chrono::Utc::now();
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    ::sqlx::query(
                        "update login_attempts set attempts = attempts - 1, updated_at = $2 \
                         where key = $1 and attempts > 0",
                    )
                    .bind(key)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await
                })
                .await
                .map_err($crate::db_error::<Self>("giving back a login attempt"))
            }

            async fn clear_attempts(&self, key: &str) -> Result<(), ::booking_core::ports::StoreError> {
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    ::sqlx::query("delete from login_attempts where key = $1")
                        .bind(key)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await
                })
                .await
                .map_err($crate::db_error::<Self>("clearing login attempts"))
            }
        }

        impl $store {
            async fn deal_by_chain(
                &self,
                chain: ::uuid::Uuid,
            ) -> Result<Option<::booking_core::deals::Deal>, ::booking_core::ports::StoreError> {
                ::sqlx::query_as::<_, $crate::DealRow>(concat!(
                    "select ",
                    $crate::deal_columns!(),
                    " from deals where chain_id = $1"
                ))
                .bind(chain)
                .fetch_optional($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("loading a deal by chain"))?
                .map($crate::DealRow::into_deal)
                .transpose()
            }
        }

        #[::async_trait::async_trait]
        impl ::booking_core::deals::DealStore for $store {
            async fn open_deal(
                &self,
                deal: &::booking_core::deals::Deal,
            ) -> Result<::booking_core::deals::Deal, ::booking_core::ports::StoreError> {
                let r = deal.to_record();
                let now = ::chrono::Utc::now();
                // One deal per chain (`deals_chain_id_key`): opening one twice keeps the first.
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    ::sqlx::query(
                        "insert into deals (id, host_id, chain_id, booking_id, link_id, contact_name, contact_email, \
                         stage, stage_changed_at, created_at, updated_at) \
                         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) on conflict do nothing",
                    )
                    .bind(r.id)
                    .bind(r.host_id)
                    .bind(r.chain_id)
                    .bind(r.booking_id)
                    .bind(r.link_id)
                    .bind(&r.contact_name)
                    .bind(&r.contact_email)
                    .bind(&r.stage)
                    .bind(r.stage_changed_at)
                    .bind(r.created_at)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await
                })
                .await
                .map_err($crate::db_error::<Self>("opening a deal"))?;
                self.deal_by_chain(r.chain_id)
                    .await?
                    .ok_or_else(|| ::booking_core::ports::StoreError::msg("an opened deal is missing"))
            }

            async fn deal(
                &self,
                id: ::booking_core::deals::DealId,
            ) -> Result<Option<::booking_core::deals::Deal>, ::booking_core::ports::StoreError> {
                ::sqlx::query_as::<_, $crate::DealRow>(concat!(
                    "select ",
                    $crate::deal_columns!(),
                    " from deals where id = $1"
                ))
                .bind(id.as_uuid())
                .fetch_optional($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("loading a deal"))?
                .map($crate::DealRow::into_deal)
                .transpose()
            }

            async fn deals(
                &self,
                host: ::booking_core::ids::HostId,
                page: ::booking_core::ports::Page,
            ) -> Result<::booking_core::deals::DealList, ::booking_core::ports::StoreError> {
                let total: i64 = ::sqlx::query_scalar("select count(*) from deals where host_id = $1")
                    .bind(host.as_uuid())
                    .fetch_one($crate::SqlStore::pool(self))
                    .await
                    .map_err($crate::db_error::<Self>("counting deals"))?;
                let rows = ::sqlx::query_as::<_, $crate::DealRow>(concat!(
                    "select ",
                    $crate::deal_columns!(),
                    " from deals where host_id = $1 \
                     order by created_at desc, id limit $2 offset $3"
                ))
                .bind(host.as_uuid())
                .bind(i64::from(page.limit))
                .bind(i64::from(page.offset))
                .fetch_all($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("listing deals"))?;
                Ok(::booking_core::deals::DealList {
                    rows: rows
                        .into_iter()
                        .map($crate::DealRow::into_deal)
                        .collect::<Result<_, _>>()?,
                    total: u64::try_from(total).unwrap_or(0),
                })
            }

            async fn save_stage(
                &self,
                deal: &::booking_core::deals::Deal,
            ) -> Result<bool, ::booking_core::ports::StoreError> {
                let now = ::chrono::Utc::now();
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    let done = ::sqlx::query(
                        "update deals set stage = $2, stage_changed_at = $3, updated_at = $4 where id = $1",
                    )
                    .bind(deal.id().as_uuid())
                    .bind(deal.stage().as_str())
                    .bind(deal.stage_changed_at())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(done.rows_affected() > 0)
                })
                .await
                .map_err($crate::db_error::<Self>("moving a deal"))
            }
        }
    };
}
