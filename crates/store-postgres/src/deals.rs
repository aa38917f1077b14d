//! CRM deals on Postgres (`deals`): one per chain, enforced by the `deals_chain_id_key` unique
//! constraint, so opening one twice keeps the first.

use async_trait::async_trait;
use booking_core::deals::{Deal, DealId, DealList, DealRecord, DealStore};
use booking_core::ids::HostId;
use booking_core::ports::{Page, StoreError};
use chrono::{DateTime, Utc};
use store_common::db_error;
use uuid::Uuid;

use crate::{PostgresStore, retry_races};

#[derive(Debug, sqlx::FromRow)]
struct DealRow {
    id: Uuid,
    host_id: Uuid,
    chain_id: Uuid,
    booking_id: Uuid,
    link_id: Uuid,
    contact_name: String,
    contact_email: String,
    stage: String,
    stage_changed_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

impl DealRow {
    fn into_deal(self) -> Result<Deal, StoreError> {
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

macro_rules! deal_columns {
    () => {
        "id, host_id, chain_id, booking_id, link_id, contact_name, contact_email, \
         stage, stage_changed_at, created_at"
    };
}

impl PostgresStore {
    async fn deal_by_chain(&self, chain: Uuid) -> Result<Option<Deal>, StoreError> {
        sqlx::query_as::<_, DealRow>(concat!(
            "select ",
            deal_columns!(),
            " from deals where chain_id = $1"
        ))
        .bind(chain)
        .fetch_optional(self.pool())
        .await
        .map_err(db_error("loading a deal by chain"))?
        .map(DealRow::into_deal)
        .transpose()
    }
}

#[async_trait]
impl DealStore for PostgresStore {
    async fn open_deal(&self, deal: &Deal) -> Result<Deal, StoreError> {
        let r = deal.to_record();
        let now = Utc::now();
        retry_races(|| async {
            sqlx::query(
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
            .execute(self.pool())
            .await
            .map(|_| ())
        })
        .await
        .map_err(db_error("opening a deal"))?;
        self.deal_by_chain(r.chain_id)
            .await?
            .ok_or_else(|| StoreError::msg("an opened deal is missing"))
    }

    async fn deal(&self, id: DealId) -> Result<Option<Deal>, StoreError> {
        sqlx::query_as::<_, DealRow>(concat!(
            "select ",
            deal_columns!(),
            " from deals where id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(self.pool())
        .await
        .map_err(db_error("loading a deal"))?
        .map(DealRow::into_deal)
        .transpose()
    }

    async fn deals(&self, host: HostId, page: Page) -> Result<DealList, StoreError> {
        let total: i64 = sqlx::query_scalar("select count(*) from deals where host_id = $1")
            .bind(host.as_uuid())
            .fetch_one(self.pool())
            .await
            .map_err(db_error("counting deals"))?;
        let rows = sqlx::query_as::<_, DealRow>(concat!(
            "select ",
            deal_columns!(),
            " from deals where host_id = $1 \
             order by created_at desc, id limit $2 offset $3"
        ))
        .bind(host.as_uuid())
        .bind(i64::from(page.limit))
        .bind(i64::from(page.offset))
        .fetch_all(self.pool())
        .await
        .map_err(db_error("listing deals"))?;
        Ok(DealList {
            rows: rows
                .into_iter()
                .map(DealRow::into_deal)
                .collect::<Result<_, _>>()?,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    async fn save_stage(&self, deal: &Deal) -> Result<bool, StoreError> {
        let now = Utc::now();
        retry_races(|| async {
            let done = sqlx::query(
                "update deals set stage = $2, stage_changed_at = $3, updated_at = $4 where id = $1",
            )
            .bind(deal.id().as_uuid())
            .bind(deal.stage().as_str())
            .bind(deal.stage_changed_at())
            .bind(now)
            .execute(self.pool())
            .await?;
            Ok(done.rows_affected() > 0)
        })
        .await
        .map_err(db_error("moving a deal"))
    }
}
