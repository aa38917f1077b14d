//! Host accounts and API keys on Postgres (`host_accounts`, `api_keys`). A login used by
//! another host is refused by the `host_accounts_login_key` constraint.

use async_trait::async_trait;
use booking_core::accounts::{
    Account, AccountStore, ApiKey, ApiKeyId, ApiKeyRecord, LinkDirectory, PasswordHash,
    SaveAccountError,
};
use booking_core::ids::HostId;
use booking_core::invitee::Email;
use booking_core::link::BookingLink;
use booking_core::ports::StoreError;
use chrono::{DateTime, Utc};
use store_common::{LinkRow, db_error, link_columns};
use uuid::Uuid;

use crate::{PostgresStore, constraint_of, retry_races};

#[derive(Debug, sqlx::FromRow)]
struct AccountRow {
    host_id: Uuid,
    login: String,
    password_hash: String,
    created_at: DateTime<Utc>,
}

impl AccountRow {
    fn into_account(self) -> Result<Account, StoreError> {
        let bad = |what: &str| {
            StoreError::msg(format!(
                "account of host {} is invalid: {what}",
                self.host_id
            ))
        };
        Ok(Account::new(
            HostId::from_uuid(self.host_id),
            &Email::parse(&self.login).map_err(|_| bad("login"))?,
            PasswordHash::parse(&self.password_hash).map_err(|_| bad("password_hash"))?,
            self.created_at,
        ))
    }
}

#[derive(Debug, sqlx::FromRow)]
struct KeyRow {
    id: Uuid,
    host_id: Uuid,
    label: String,
    prefix: String,
    key_hash: Vec<u8>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl KeyRow {
    fn into_key(self) -> Result<ApiKey, StoreError> {
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

macro_rules! key_columns {
    () => {
        "id, host_id, label, prefix, key_hash, created_at, revoked_at"
    };
}

impl PostgresStore {
    async fn try_save_account(
        &self,
        account: &Account,
    ) -> Result<Result<(), SaveAccountError>, sqlx::Error> {
        let done = sqlx::query(
            "insert into host_accounts (host_id, login, password_hash, created_at, updated_at) \
             values ($1, $2, $3, $4, now()) on conflict (host_id) do update set login = $2, \
             password_hash = $3, updated_at = now()",
        )
        .bind(account.host().as_uuid())
        .bind(account.login().as_str())
        .bind(account.password().as_str())
        .bind(account.created_at())
        .execute(self.pool())
        .await;
        match done {
            Ok(_) => Ok(Ok(())),
            Err(e) => match constraint_of(&e) {
                Some("host_accounts_login_key") => Ok(Err(SaveAccountError::LoginTaken)),
                Some("host_accounts_host_id_fkey") => Ok(Err(SaveAccountError::UnknownHost)),
                _ => Err(e),
            },
        }
    }
}

#[async_trait]
impl AccountStore for PostgresStore {
    async fn save_account(&self, account: &Account) -> Result<(), SaveAccountError> {
        retry_races(|| self.try_save_account(account))
            .await
            .map_err(|e| SaveAccountError::Store(StoreError::new("saving an account", e)))?
    }

    async fn account_by_login(&self, login: &Email) -> Result<Option<Account>, StoreError> {
        sqlx::query_as::<_, AccountRow>(
            "select host_id, login, password_hash, created_at from host_accounts where login = $1",
        )
        .bind(login.as_str().to_ascii_lowercase())
        .fetch_optional(self.pool())
        .await
        .map_err(db_error("loading an account by login"))?
        .map(AccountRow::into_account)
        .transpose()
    }

    async fn account(&self, host: HostId) -> Result<Option<Account>, StoreError> {
        sqlx::query_as::<_, AccountRow>(
            "select host_id, login, password_hash, created_at from host_accounts where host_id = $1",
        )
        .bind(host.as_uuid())
        .fetch_optional(self.pool())
        .await
        .map_err(db_error("loading an account"))?
        .map(AccountRow::into_account)
        .transpose()
    }

    async fn account_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("select count(*) from host_accounts")
            .fetch_one(self.pool())
            .await
            .map_err(db_error("counting accounts"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn add_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let r = key.to_record();
        let now = Utc::now();
        retry_races(|| async {
            sqlx::query(
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
            .execute(self.pool())
            .await
            .map(|_| ())
        })
        .await
        .map_err(db_error("adding an API key"))
    }

    async fn api_keys(&self, host: HostId) -> Result<Vec<ApiKey>, StoreError> {
        sqlx::query_as::<_, KeyRow>(concat!(
            "select ",
            key_columns!(),
            " from api_keys where host_id = $1 order by created_at desc, id"
        ))
        .bind(host.as_uuid())
        .fetch_all(self.pool())
        .await
        .map_err(db_error("listing API keys"))?
        .into_iter()
        .map(KeyRow::into_key)
        .collect()
    }

    async fn api_key_by_hash(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>, StoreError> {
        sqlx::query_as::<_, KeyRow>(concat!(
            "select ",
            key_columns!(),
            " from api_keys where key_hash = $1"
        ))
        .bind(hash.as_slice())
        .fetch_optional(self.pool())
        .await
        .map_err(db_error("loading an API key"))?
        .map(KeyRow::into_key)
        .transpose()
    }

    async fn revoke_api_key(
        &self,
        host: HostId,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let now = Utc::now();
        retry_races(|| async {
            let done = sqlx::query(
                "update api_keys set revoked_at = coalesce(revoked_at, $3), updated_at = $4 \
                 where id = $1 and host_id = $2",
            )
            .bind(id.as_uuid())
            .bind(host.as_uuid())
            .bind(at)
            .bind(now)
            .execute(self.pool())
            .await?;
            Ok(done.rows_affected() > 0)
        })
        .await
        .map_err(db_error("revoking an API key"))
    }
}

#[async_trait]
impl LinkDirectory for PostgresStore {
    async fn links_of(&self, host: HostId) -> Result<Vec<BookingLink>, StoreError> {
        sqlx::query_as::<_, LinkRow>(concat!(
            "select ",
            link_columns!(),
            " from booking_links where host_id = $1 order by title, slug"
        ))
        .bind(host.as_uuid())
        .fetch_all(self.pool())
        .await
        .map_err(db_error("listing a host's links"))?
        .into_iter()
        .map(LinkRow::into_link)
        .collect()
    }
}
