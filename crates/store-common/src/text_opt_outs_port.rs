//! `TextOptOuts` for both stores: one conditional upsert and one lookup, expanded per store by
//! [`text_opt_outs_port!`](crate::text_opt_outs_port).

/// Records a reply (`$1` phone, `$2` opted out, `$3` when it was sent): the row changes only
/// when this reply is not older than the one it holds, so a late callback never wins.
pub const RECORD_OPT_OUT: &str = "insert into text_opt_outs (phone, opted_out, changed_at, created_at, updated_at) \
     values ($1, $2, $3, $3, $3) \
     on conflict (phone) do update set opted_out = excluded.opted_out, \
     changed_at = excluded.changed_at, updated_at = excluded.updated_at \
     where text_opt_outs.changed_at <= excluded.changed_at";

/// Whether `$1` has opted out (no row: it has not).
pub const IS_OPTED_OUT: &str = "select opted_out from text_opt_outs where phone = $1";

/// Implements `TextOptOuts` for `$store` (which implements [`crate::SqlStore`] with `Db = $db`).
#[macro_export]
macro_rules! text_opt_outs_port {
    ($store:ty, $db:ty) => {
        #[::async_trait::async_trait]
        impl ::booking_core::ports::TextOptOuts for $store {
            async fn is_opted_out(
                &self,
                phone: &str,
            ) -> Result<bool, ::booking_core::ports::StoreError> {
                let opted_out: Option<bool> =
                    ::sqlx::query_scalar($crate::text_opt_outs_port::IS_OPTED_OUT)
                        .bind(phone)
                        .fetch_optional($crate::SqlStore::pool(self))
                        .await
                        .map_err($crate::db_error::<Self>("reading a text opt-out"))?;
                Ok(opted_out.unwrap_or(false))
            }

            async fn set_opted_out(
                &self,
                phone: &str,
                opted_out: bool,
                at: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<(), ::booking_core::ports::StoreError> {
                ::sqlx::query($crate::text_opt_outs_port::RECORD_OPT_OUT)
                    .bind(phone)
                    .bind(opted_out)
                    .bind(at)
                    .execute($crate::SqlStore::pool(self))
                    .await
                    .map_err($crate::db_error::<Self>("recording a text opt-out"))?;
                Ok(())
            }
        }
    };
}
