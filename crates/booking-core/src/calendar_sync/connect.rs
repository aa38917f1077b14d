//! Connecting and disconnecting a calendar, and writing a host's upcoming bookings to it.

use super::*;

impl<S, C, T> ConnectedCalendars<S, C, T>
where
    S: BookingStore + CalendarConnections,
    C: Clock,
    T: TokenSource,
{
    /// Finishes the OAuth dance for `host`: trades the code for tokens, stores the connection
    /// (replacing an earlier one of the same account, which reconnects it), registers a push
    /// channel where an address is configured, and runs the first sync so later syncs are
    /// incremental. Returns the stored connection.
    ///
    /// # Errors
    /// [`CalendarSyncFailure`]: the code refused ([`Permanent`](CalendarSyncFailure::Permanent)),
    /// the provider unreachable, or the store failing.
    pub async fn connect(
        &self,
        host: HostId,
        provider: Provider,
        code: &str,
        verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<CalendarConnection, CalendarSyncFailure> {
        let adapter = self.adapter(provider)?;
        let (tokens, account) = adapter
            .exchange_code(code, verifier, redirect_uri)
            .await
            .map_err(failure)?;
        let now = self.clock.now();
        let fresh = CalendarConnection::connected(
            ConnectionId::from_uuid(self.ids.new_booking_id().as_uuid()),
            host,
            provider,
            account.clone(),
            account,
            tokens,
            now,
        );
        // A reconnect keeps the earlier row (and its channel, stopped below when replaced).
        let earlier = self
            .store
            .host_connections(host)
            .await?
            .into_iter()
            .find(|c| c.provider == provider && c.account == fresh.account);
        let connection = match earlier {
            Some(old) => CalendarConnection {
                id: old.id,
                created_at: old.created_at,
                sync_token: old.sync_token,
                channel: old.channel,
                ..fresh
            },
            None => fresh,
        };
        self.store.save_connection(&connection).await?;
        // Push only makes sync immediate; polling covers a provider that refuses our address
        // (Google wants public HTTPS), so a refused channel does not fail the connection.
        let connection = match self.ensure_channel(connection.clone(), true).await {
            Ok(done) => done.connection,
            Err(e) => {
                let noted = connection.with_failure(
                    format!("push notifications are off, changes are polled: {e}"),
                    now,
                );
                self.store.save_connection(&noted).await?;
                noted
            }
        };
        // The first sync only takes the token; a failure here is retried by the poller.
        let _ = self.sync(connection.id, None).await;
        self.forget_busy(host);
        Ok(self
            .store
            .connection(connection.id)
            .await?
            .unwrap_or(connection))
    }

    /// Disconnects: stops the push channel (best effort) and marks the connection revoked.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn disconnect(&self, host: HostId, id: ConnectionId) -> Result<bool, StoreError> {
        let Some(connection) = self.store.connection(id).await?.filter(|c| c.host == host) else {
            return Ok(false);
        };
        if let (Some(channel), Some(adapter)) =
            (&connection.channel, self.provider(connection.provider))
        {
            let _ = adapter.stop(&connection.tokens.access_token, channel).await;
        }
        let revoked = CalendarConnection {
            status: ConnectionStatus::Revoked,
            channel: None,
            ..connection
        };
        self.store.save_connection(&revoked).await?;
        self.forget_busy(host);
        Ok(true)
    }

    /// Writes the host's upcoming confirmed bookings (up to `limit`) to the calendar, as on
    /// connect. Creates are idempotent, so running it again changes nothing.
    ///
    /// # Errors
    /// [`CalendarSyncFailure`] from the first write that failed.
    pub async fn write_upcoming(
        &self,
        host: HostId,
        limit: u32,
    ) -> Result<usize, CalendarSyncFailure> {
        let page = self
            .store
            .dashboard(
                host,
                DashboardTab::Upcoming,
                self.clock.now(),
                Page { offset: 0, limit },
            )
            .await?;
        let mut written = 0;
        for booking in &page.rows {
            if self.write(CalendarOp::Create, booking).await? == CalendarWrite::Written {
                written += 1;
            }
        }
        Ok(written)
    }
}
