//! `BookingStore` for both stores: hosts, links and booking reads, and the statements a commit
//! writes. Only the commit itself and saving a link are the store's own ([`crate::SqlStore`]).

/// Inserts a booking row: `$1`..`$33` bound by the `bind_booking` helper [`booking_store!`]
/// generates.
pub const INSERT_BOOKING: &str = "insert into scheduling_calendar_events (id, chain_id, host_id, link_id, start_at, end_at, \
     blocked_start, blocked_end, status, status_changed_at, next_id, cancelled_by, cancel_reason, previous_id, \
     rescheduled_by, reschedule_reason, token_hash, token_sealed, invitee_name, invitee_email, invitee_phone, \
     invitee_time_zone, answers, tracking, provider, provider_event_id, reconfirm_by, reconfirmed_at, ics_sequence, \
     version, created_at, updated_at, reconfirm_requested_at) \
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
     $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33)";

/// Updates every column but the row's identity, its token (fixed for the life of a row) and
/// its creation time; `$34` is the version the row must still have. `$17`, `$18` and `$31` are
/// mentioned only so that the statement has no gaps in its numbered parameters, which sqlx's
/// SQLite driver would bind out of place (Postgres takes their types from the binding).
pub const UPDATE_BOOKING: &str = "update scheduling_calendar_events set chain_id = $2, host_id = $3, link_id = $4, \
     start_at = $5, end_at = $6, blocked_start = $7, blocked_end = $8, status = $9, status_changed_at = $10, \
     next_id = $11, cancelled_by = $12, cancel_reason = $13, previous_id = $14, rescheduled_by = $15, \
     reschedule_reason = $16, invitee_name = $19, invitee_email = $20, invitee_phone = $21, \
     invitee_time_zone = $22, answers = $23, tracking = $24, provider = $25, provider_event_id = $26, \
     reconfirm_by = $27, reconfirmed_at = $28, ics_sequence = $29, version = $30, updated_at = $32, \
     reconfirm_requested_at = $33 \
     where id = $1 and version = $34 and $17 is not null and $18 is not null and $31 is not null";

/// Inserts the link `$1`, or replaces every column of it but its creation time: `$1`..`$21`
/// bound by the `bind_link` helper [`booking_store!`] generates.
pub const UPSERT_LINK: &str = "insert into booking_links (id, host_id, slug, title, time_zone, weekly_hours, date_overrides, \
     duration_minutes, interval_minutes, buffer_before_minutes, buffer_after_minutes, minimum_notice_minutes, \
     max_days_ahead, reconfirm_ask_minutes, reconfirm_cancel_minutes, create_deal, questions, created_at, updated_at, \
     description, location, workflow) \
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, $19, $20, $21) \
     on conflict (id) do update set host_id = $2, slug = $3, title = $4, time_zone = $5, weekly_hours = $6, \
     date_overrides = $7, duration_minutes = $8, interval_minutes = $9, buffer_before_minutes = $10, \
     buffer_after_minutes = $11, minimum_notice_minutes = $12, max_days_ahead = $13, \
     reconfirm_ask_minutes = $14, reconfirm_cancel_minutes = $15, create_deal = $16, questions = $17, \
     updated_at = $18, description = $19, location = $20, workflow = $21";

/// Implements `BookingStore` for `$store` and adds the helpers its `try_commit` and
/// `try_save_link` use: `bind_booking` (binds [`INSERT_BOOKING`] / [`UPDATE_BOOKING`]),
/// `bind_link` (binds [`UPSERT_LINK`]) and `insert_effects` (a change's outbox rows).
#[macro_export]
macro_rules! booking_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Binds `$1`..`$33` of the booking statements.
            fn bind_booking<'q>(
                q: ::sqlx::query::Query<'q, $db, <$db as ::sqlx::Database>::Arguments>,
                row: &'q $crate::EncodedBooking,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::sqlx::query::Query<'q, $db, <$db as ::sqlx::Database>::Arguments> {
                let r = &row.record;
                q.bind(r.id)
                    .bind(r.chain_id)
                    .bind(r.host_id)
                    .bind(r.link_id)
                    .bind(r.start_at)
                    .bind(r.end_at)
                    .bind(r.blocked_start)
                    .bind(r.blocked_end)
                    .bind(&r.status)
                    .bind(r.status_changed_at)
                    .bind(r.next_id)
                    .bind(&r.cancelled_by)
                    .bind(&r.cancel_reason)
                    .bind(r.previous_id)
                    .bind(&r.rescheduled_by)
                    .bind(&r.reschedule_reason)
                    .bind(&row.token_hash)
                    .bind(&row.token_sealed)
                    .bind(&r.invitee_name)
                    .bind(&r.invitee_email)
                    .bind(&r.invitee_phone)
                    .bind(&r.invitee_time_zone)
                    .bind(&row.answers)
                    .bind(&row.tracking)
                    .bind(&r.provider)
                    .bind(&r.provider_event_id)
                    .bind(r.reconfirm_by)
                    .bind(r.reconfirmed_at)
                    .bind(r.ics_sequence)
                    .bind(r.version)
                    .bind(r.created_at)
                    .bind(now)
                    .bind(r.reconfirm_requested_at)
            }

            /// Binds `$1`..`$21` of the link upsert.
            fn bind_link<'q>(
                q: ::sqlx::query::Query<'q, $db, <$db as ::sqlx::Database>::Arguments>,
                enc: &'q $crate::EncodedLink,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::sqlx::query::Query<'q, $db, <$db as ::sqlx::Database>::Arguments> {
                let r = &enc.record;
                q.bind(r.id)
                    .bind(r.host_id)
                    .bind(&r.slug)
                    .bind(&r.title)
                    .bind(&r.time_zone)
                    .bind(&enc.weekly_hours)
                    .bind(&enc.date_overrides)
                    .bind(r.duration_minutes)
                    .bind(r.interval_minutes)
                    .bind(r.buffer_before_minutes)
                    .bind(r.buffer_after_minutes)
                    .bind(r.minimum_notice_minutes)
                    .bind(r.max_days_ahead)
                    .bind(r.reconfirm_ask_minutes)
                    .bind(r.reconfirm_cancel_minutes)
                    .bind(r.create_deal)
                    .bind(&enc.questions)
                    .bind(now)
                    .bind(&r.description)
                    .bind(&r.location)
                    .bind(&enc.workflow)
            }

            /// Writes the outbox rows of `change`'s effects inside `tx`.
            async fn insert_effects(
                tx: &mut ::sqlx::Transaction<'static, $db>,
                change: &::booking_core::ports::Change,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<(), ::sqlx::Error> {
                for planned in &change.effects {
                    let effect = &planned.effect;
                    ::sqlx::query(
                        "insert into outbox (key, effect, booking_id, chain_id, due_at, attempts, created_at, updated_at) \
                         values ($1, $2, $3, $4, $5, 0, $6, $6)",
                    )
                    .bind(effect.idempotency_key())
                    .bind(effect.code())
                    .bind(effect.booking().as_uuid())
                    .bind($crate::effect_chain(effect, change))
                    .bind(planned.due_at)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }

            fn bookings(
                &self,
                rows: Vec<$crate::BookingRow>,
            ) -> Result<Vec<::booking_core::booking::Booking>, ::booking_core::ports::StoreError> {
                let seal = $crate::SqlStore::seal(self);
                rows.into_iter().map(|r| r.into_booking(seal)).collect()
            }

            async fn booking_where(
                &self,
                sql: &'static str,
                first: impl for<'q> ::sqlx::Encode<'q, $db> + ::sqlx::Type<$db> + Send + 'static,
                context: &'static str,
            ) -> Result<Option<::booking_core::booking::Booking>, ::booking_core::ports::StoreError> {
                ::sqlx::query_as::<_, $crate::BookingRow>(sql)
                    .bind(first)
                    .fetch_optional($crate::SqlStore::pool(self))
                    .await
                    .map_err($crate::db_error::<Self>(context))?
                    .map(|r| r.into_booking($crate::SqlStore::seal(self)))
                    .transpose()
            }
        }

        #[::async_trait::async_trait]
        impl ::booking_core::ports::BookingStore for $store {
            async fn save_host(
                &self,
                host: &::booking_core::link::Host,
            ) -> Result<(), ::booking_core::ports::StoreError> {
                let now = ::chrono::Utc::now();
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    ::sqlx::query(
                        "insert into hosts (id, name, email, time_zone, created_at, updated_at) values ($1, $2, $3, $4, $5, $5) \
                         on conflict (id) do update set name = $2, email = $3, time_zone = $4, updated_at = $5",
                    )
                    .bind(host.id().as_uuid())
                    .bind(host.name().as_str())
                    .bind(host.email().as_str())
                    .bind(host.time_zone().name())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await
                })
                .await
                .map_err($crate::db_error::<Self>("saving a host"))
            }

            async fn host(
                &self,
                id: ::booking_core::ids::HostId,
            ) -> Result<Option<::booking_core::link::Host>, ::booking_core::ports::StoreError> {
                ::sqlx::query_as::<_, $crate::HostRow>(
                    "select id, name, email, time_zone from hosts where id = $1",
                )
                .bind(id.as_uuid())
                .fetch_optional($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("loading a host"))?
                .map($crate::HostRow::into_host)
                .transpose()
            }

            async fn save_link(
                &self,
                link: &::booking_core::link::BookingLink,
            ) -> Result<(), ::booking_core::ports::SaveLinkError> {
                $crate::retry::<Self, _, _, _>(|| $crate::SqlStore::try_save_link(self, link))
                    .await
                    .map_err(|e| {
                        ::booking_core::ports::SaveLinkError::Store(
                            $crate::db_error::<Self>("saving a link")(e),
                        )
                    })?
            }

            async fn link_by_slug(
                &self,
                slug: &::booking_core::link::Slug,
            ) -> Result<Option<::booking_core::link::BookingLink>, ::booking_core::ports::StoreError>
            {
                ::sqlx::query_as::<_, $crate::LinkRow>(concat!(
                    "select ",
                    $crate::link_columns!(),
                    " from booking_links where slug = $1"
                ))
                .bind(slug.as_str())
                .fetch_optional($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("loading a link by slug"))?
                .map($crate::LinkRow::into_link)
                .transpose()
            }

            async fn link(
                &self,
                id: ::booking_core::ids::LinkId,
            ) -> Result<Option<::booking_core::link::BookingLink>, ::booking_core::ports::StoreError>
            {
                ::sqlx::query_as::<_, $crate::LinkRow>(concat!(
                    "select ",
                    $crate::link_columns!(),
                    " from booking_links where id = $1"
                ))
                .bind(id.as_uuid())
                .fetch_optional($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("loading a link"))?
                .map($crate::LinkRow::into_link)
                .transpose()
            }

            async fn booking(
                &self,
                id: ::booking_core::ids::BookingId,
            ) -> Result<Option<::booking_core::booking::Booking>, ::booking_core::ports::StoreError>
            {
                self.booking_where(
                    concat!(
                        "select ",
                        $crate::booking_columns!(),
                        " from scheduling_calendar_events where id = $1"
                    ),
                    id.as_uuid(),
                    "loading a booking",
                )
                .await
            }

            async fn booking_by_token(
                &self,
                token: &::booking_core::token::RescheduleToken,
            ) -> Result<Option<::booking_core::booking::Booking>, ::booking_core::ports::StoreError>
            {
                self.booking_where(
                    concat!(
                        "select ",
                        $crate::booking_columns!(),
                        " from scheduling_calendar_events where token_hash = $1"
                    ),
                    token.lookup_hash().to_vec(),
                    "loading a booking by token",
                )
                .await
            }

            async fn booking_by_provider_event(
                &self,
                provider: &str,
                event_id: &str,
            ) -> Result<Option<::booking_core::booking::Booking>, ::booking_core::ports::StoreError>
            {
                ::sqlx::query_as::<_, $crate::BookingRow>(concat!(
                    "select ",
                    $crate::booking_columns!(),
                    " from scheduling_calendar_events where chain_id = (select chain_id from scheduling_calendar_events \
                     where provider = $1 and provider_event_id = $2 limit 1) and next_id is null \
                     order by created_at desc, ics_sequence desc limit 1"
                ))
                .bind(provider)
                .bind(event_id)
                .fetch_optional($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("loading a booking by provider event"))?
                .map(|r| r.into_booking($crate::SqlStore::seal(self)))
                .transpose()
            }

            async fn chain(
                &self,
                chain: ::booking_core::ids::ChainId,
            ) -> Result<Vec<::booking_core::booking::Booking>, ::booking_core::ports::StoreError> {
                let rows = ::sqlx::query_as::<_, $crate::BookingRow>(concat!(
                    "select ",
                    $crate::booking_columns!(),
                    " from scheduling_calendar_events where chain_id = $1 order by created_at, ics_sequence"
                ))
                .bind(chain.as_uuid())
                .fetch_all($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("loading a chain"))?;
                self.bookings(rows)
            }

            async fn blocked_ranges(
                &self,
                host: ::booking_core::ids::HostId,
                within: ::booking_core::time::TimeRange,
                except: Option<::booking_core::ids::ChainId>,
            ) -> Result<Vec<::booking_core::time::TimeRange>, ::booking_core::ports::StoreError> {
                // `coalesce`: a null `$4` (no chain excepted) keeps every row, and Postgres
                // reads `$4`'s type off the comparison.
                let rows: Vec<(::chrono::DateTime<::chrono::Utc>, ::chrono::DateTime<::chrono::Utc>)> =
                    ::sqlx::query_as(<Self as $crate::SqlStore>::BLOCKED_RANGES)
                    .bind(host.as_uuid())
                    .bind(within.start())
                    .bind(within.end())
                    .bind(except.map(|c| c.as_uuid()))
                    .fetch_all($crate::SqlStore::pool(self))
                    .await
                    .map_err($crate::db_error::<Self>("loading blocked ranges"))?;
                rows.into_iter()
                    .map(|(s, e)| {
                        ::booking_core::time::TimeRange::new(s, e).map_err(|e| {
                            ::booking_core::ports::StoreError::new("corrupt blocked range", e)
                        })
                    })
                    .collect()
            }

            async fn dashboard(
                &self,
                host: ::booking_core::ids::HostId,
                tab: ::booking_core::ports::DashboardTab,
                now: ::chrono::DateTime<::chrono::Utc>,
                page: ::booking_core::ports::Page,
            ) -> Result<::booking_core::ports::DashboardPage, ::booking_core::ports::StoreError> {
                use ::booking_core::ports::DashboardTab;
                let (upcoming, past, no_shows, cancelled): (i64, i64, i64, i64) = ::sqlx::query_as(
                    "select count(case when status = 'confirmed' and start_at > $2 then 1 end), \
                     count(case when status = 'confirmed' and start_at <= $2 then 1 end), \
                     count(case when status = 'no_show' then 1 end), \
                     count(case when status = 'cancelled' then 1 end) \
                     from scheduling_calendar_events where host_id = $1",
                )
                .bind(host.as_uuid())
                .bind(now)
                .fetch_one($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("counting dashboard tabs"))?;
                // `$4`, the time, is bound only for the tabs that compare with it.
                let (sql, by_time) = match tab {
                    DashboardTab::Upcoming => (concat!(
                        "select ",
                        $crate::booking_columns!(),
                        " from scheduling_calendar_events where host_id = $1 and status = 'confirmed' and start_at > $4 \
                         order by start_at, id limit $2 offset $3"
                    ), true),
                    DashboardTab::Past => (concat!(
                        "select ",
                        $crate::booking_columns!(),
                        " from scheduling_calendar_events where host_id = $1 and status = 'confirmed' and start_at <= $4 \
                         order by start_at desc, id limit $2 offset $3"
                    ), true),
                    DashboardTab::NoShows => (concat!(
                        "select ",
                        $crate::booking_columns!(),
                        " from scheduling_calendar_events where host_id = $1 and status = 'no_show' \
                         order by start_at desc, id limit $2 offset $3"
                    ), false),
                    DashboardTab::Cancelled => (concat!(
                        "select ",
                        $crate::booking_columns!(),
                        " from scheduling_calendar_events where host_id = $1 and status = 'cancelled' \
                         order by status_changed_at desc, id limit $2 offset $3"
                    ), false),
                };
                let mut query = ::sqlx::query_as::<_, $crate::BookingRow>(sql)
                    .bind(host.as_uuid())
                    .bind(i64::from(page.limit))
                    .bind(i64::from(page.offset));
                if by_time {
                    query = query.bind(now);
                }
                let rows = query
                    .fetch_all($crate::SqlStore::pool(self))
                    .await
                    .map_err($crate::db_error::<Self>("loading a dashboard page"))?;
                let count = |n: i64| u64::try_from(n).unwrap_or(0);
                Ok(::booking_core::ports::DashboardPage {
                    rows: self.bookings(rows)?,
                    counts: ::booking_core::ports::TabCounts {
                        upcoming: count(upcoming),
                        past: count(past),
                        no_shows: count(no_shows),
                        cancelled: count(cancelled),
                    },
                })
            }

            async fn reconfirmation_overdue(
                &self,
                now: ::chrono::DateTime<::chrono::Utc>,
                limit: u32,
            ) -> Result<Vec<::booking_core::booking::Booking>, ::booking_core::ports::StoreError> {
                let rows = ::sqlx::query_as::<_, $crate::BookingRow>(concat!(
                    "select ",
                    $crate::booking_columns!(),
                    " from scheduling_calendar_events where status = 'confirmed' and reconfirmed_at is null \
                     and reconfirm_by is not null and reconfirm_by <= $1 and start_at > $1 \
                     and reconfirm_requested_at is not null and reconfirm_requested_at < reconfirm_by \
                     order by reconfirm_by, id limit $2"
                ))
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("loading overdue reconfirmations"))?;
                self.bookings(rows)
            }

            async fn dead_effects(
                &self,
                booking: ::booking_core::BookingId,
            ) -> Result<Vec<::booking_core::ports::DeadEntry>, ::booking_core::ports::StoreError> {
                ::sqlx::query_as::<_, $crate::DeadRow>(concat!(
                    "select ",
                    $crate::outbox_columns!(),
                    ", last_error, dead_at from outbox where booking_id = $1 and dead_at is not null \
                     order by dead_at desc, key"
                ))
                .bind(booking.as_uuid())
                .fetch_all($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("loading a booking's dead outbox entries"))?
                .into_iter()
                .map($crate::DeadRow::into_dead)
                .collect()
            }

            async fn pending_effects(
                &self,
                booking: ::booking_core::BookingId,
            ) -> Result<Vec<::booking_core::ports::PendingEntry>, ::booking_core::ports::StoreError> {
                Ok(::sqlx::query_as::<_, $crate::PendingRow>(
                    "select key, effect, booking_id, attempts, due_at, last_error, leased_until from outbox \
                     where booking_id = $1 and delivered_at is null and dead_at is null order by due_at, key",
                )
                .bind(booking.as_uuid())
                .fetch_all($crate::SqlStore::pool(self))
                .await
                .map_err($crate::db_error::<Self>("loading a booking's pending outbox entries"))?
                .into_iter()
                .map($crate::PendingRow::into_pending)
                .collect())
            }

            async fn record_reconfirmation_request(
                &self,
                booking: ::booking_core::BookingId,
                at: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<(), ::booking_core::ports::StoreError> {
                // Only the first delivery counts; the version rises so that a transition
                // computed from the row as it was (which would write the column back empty)
                // loses its version check instead.
                $crate::retry::<Self, _, _, _>(|| async {
                    let mut tx = $crate::SqlStore::begin_write(self).await?;
                    ::sqlx::query(
                        "update scheduling_calendar_events set reconfirm_requested_at = $2, version = version + 1, \
                         updated_at = $2 where id = $1 and reconfirm_requested_at is null",
                    )
                    .bind(booking.as_uuid())
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await
                })
                .await
                .map_err($crate::db_error::<Self>("recording a reconfirmation request"))
            }

            async fn commit(
                &self,
                change: ::booking_core::ports::Change,
            ) -> Result<(), ::booking_core::ports::CommitError> {
                let encoded = change
                    .writes
                    .iter()
                    .map(|w| $crate::encode_booking($crate::SqlStore::seal(self), w.booking()))
                    .collect::<Result<Vec<_>, _>>()?;
                $crate::retry::<Self, _, _, _>(|| {
                    $crate::SqlStore::try_commit(self, &change, &encoded)
                })
                .await
                .map_err(|e| {
                    ::booking_core::ports::CommitError::Store(
                        $crate::db_error::<Self>("committing a change")(e),
                    )
                })?
            }
        }
    };
}
