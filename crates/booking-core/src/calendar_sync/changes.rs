//! Calendar-side changes: push notifications checked against the channel secret, and the
//! incremental sync that turns deleted and moved events into use cases.

use super::*;

impl<S, C, T> ConnectedCalendars<S, C, T>
where
    S: BookingStore + CalendarConnections,
    C: Clock,
    T: TokenSource,
{
    /// Checks a push notification: `channel_id` must name a live channel and `token` must be
    /// its secret. Returns the connection to sync.
    ///
    /// # Errors
    /// [`PushRefused`] for a forged, stale or unknown notification; `Ok(Err(..))` layering is
    /// avoided by reporting a store failure as [`PushCheckError::Store`].
    pub async fn verify_push(
        &self,
        provider: Provider,
        channel_id: &str,
        token: &str,
    ) -> Result<ConnectionId, PushCheckError> {
        let connection = self
            .store
            .connection_by_channel(channel_id)
            .await?
            .filter(|c| c.provider == provider)
            .ok_or(PushRefused::UnknownChannel)?;
        let channel = connection
            .channel
            .as_ref()
            .ok_or(PushRefused::UnknownChannel)?;
        if !same_secret(channel.token.expose().as_bytes(), token.as_bytes()) {
            return Err(PushRefused::WrongSecret.into());
        }
        if connection.status != ConnectionStatus::Active {
            return Err(PushRefused::Inactive.into());
        }
        Ok(connection.id)
    }

    /// Runs the incremental sync of one connection: every changed event of ours becomes a
    /// cancel (deleted) or a move (new times) through `changes`; echoes of our own writes and
    /// events of bookings no longer confirmed change nothing. Without `changes`, only the
    /// sync token is taken (the first sync after connecting).
    ///
    /// # Errors
    /// [`CalendarSyncFailure`]; a revoked grant marks the connection and returns an empty
    /// report.
    pub async fn sync(
        &self,
        id: ConnectionId,
        changes: Option<&dyn CalendarChanges>,
    ) -> Result<SyncReport, CalendarSyncFailure> {
        let Some(connection) = self
            .store
            .connection(id)
            .await?
            .filter(|c| c.status == ConnectionStatus::Active)
        else {
            return Ok(SyncReport::default());
        };
        let calendar = connection.write_calendar.clone();
        let token = connection.sync_token.clone();
        let batch: ChangeBatch = match self
            .call(connection.clone(), |p, a| {
                let (calendar, token) = (calendar.clone(), token.clone());
                Box::pin(async move { p.changes(&a, &calendar, token.as_deref()).await })
            })
            .await
        {
            Ok(batch) => batch,
            Err(CallError::Reauth) => return Ok(SyncReport::default()),
            Err(CallError::Provider(e)) => return Err(failure(e)),
            Err(CallError::Store(e)) => return Err(e.into()),
        };
        let mut report = SyncReport {
            seen: batch.changes.len(),
            full_resync: batch.full_resync,
            ..SyncReport::default()
        };
        if let Some(changes) = changes {
            for change in &batch.changes {
                match self.apply_remote(&connection, change, changes).await? {
                    Some(CalendarChange::Deleted) => report.cancelled += 1,
                    Some(CalendarChange::Moved(_)) => report.moved += 1,
                    None => {}
                }
            }
        }
        // Re-read: a token refresh during the call saved newer tokens.
        let latest = self.store.connection(id).await?.unwrap_or(connection);
        self.store
            .save_connection(&CalendarConnection {
                sync_token: Some(batch.next_sync_token),
                ..latest
            })
            .await?;
        Ok(report)
    }

    pub(super) async fn apply_remote(
        &self,
        connection: &CalendarConnection,
        change: &crate::calendar::RemoteChange,
        changes: &dyn CalendarChanges,
    ) -> Result<Option<CalendarChange>, StoreError> {
        let provider = connection.provider.as_str();
        let found = match self
            .store
            .booking_by_provider_event(provider, &change.event_id)
            .await?
        {
            Some(row) => Some(row),
            // An event of ours whose id was not recorded yet (Google ids are ours).
            None => match chain_of_provider_event_id(&change.event_id) {
                Some(chain) => self.store.chain(chain).await?.into_iter().last(),
                None => None,
            },
        };
        let Some(row) = found else {
            return Ok(None); // not an event of ours
        };
        let live = self.live_row(&row).await?;
        if live.host() != connection.host || !matches!(live.status(), Status::Confirmed) {
            return Ok(None);
        }
        let what = match change.state {
            RemoteEventState::Deleted => CalendarChange::Deleted,
            RemoteEventState::Timed(when) => {
                // A time the chain has had is our own write echoing back — possibly an older
                // one, read before a reschedule committed, which must not undo it.
                let rows = self.store.chain(live.chain()).await?;
                if rows.iter().any(|row| row.slot() == when) {
                    return Ok(None);
                }
                CalendarChange::Moved(when)
            }
            // An all-day conversion we do not follow.
            RemoteEventState::Untimed => return Ok(None),
        };
        if live.provider_event().is_none() {
            self.record_event(&live, connection.provider, &change.event_id)
                .await?;
        }
        let after = changes
            .apply_calendar_change(provider, &change.event_id, what)
            .await?;
        let changed = after.is_some_and(|b| b.id() != live.id() || b.status() != live.status());
        Ok(changed.then_some(what))
    }
}
