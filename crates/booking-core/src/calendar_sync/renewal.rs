//! Renewal: push channels near expiry extended or replaced, tokens refreshed.

use super::*;

impl<S, C, T> ConnectedCalendars<S, C, T>
where
    S: BookingStore + CalendarConnections,
    C: Clock,
    T: TokenSource,
{
    /// Renews what is about to lapse on every active connection: access tokens near expiry
    /// are refreshed, and push channels expiring within [`CalendarSettings::renew_within`]
    /// (or missing, where an address is configured) are replaced — the new channel first, then
    /// the old one stopped. Running it twice in a row does nothing the second time.
    ///
    /// # Errors
    /// [`StoreError`] when connections cannot be listed; per-connection failures are in the
    /// report.
    pub async fn renew(&self) -> Result<RenewalReport, StoreError> {
        let mut report = RenewalReport::default();
        for connection in self.store.connections_in(ConnectionStatus::Active).await? {
            if self.provider(connection.provider).is_none() {
                continue;
            }
            let id = connection.id;
            let refreshed_before = connection.tokens.clone();
            match self.ensure_channel(connection, false).await {
                Ok(after) => {
                    if after.connection.status == ConnectionStatus::NeedsReauth {
                        report.needs_reauth += 1;
                    }
                    if after.connection.tokens != refreshed_before {
                        report.tokens_refreshed += 1;
                    }
                    report.channels_renewed += usize::from(after.renewed);
                    report.channels_stopped += usize::from(after.stopped_old);
                }
                Err(_) => report.failed.push(id),
            }
        }
        Ok(report)
    }

    /// Makes sure `connection` has a push channel that outlives the renewal horizon (when an
    /// address is configured), refreshing its token first if needed. `force` replaces a
    /// channel regardless of its expiry (a reconnect).
    pub(super) async fn ensure_channel(
        &self,
        connection: CalendarConnection,
        force: bool,
    ) -> Result<Channelled, CalendarSyncFailure> {
        let now = self.clock.now();
        let id = connection.id;
        let connection = match self.fresh(connection).await {
            Ok(c) => c,
            Err(CallError::Reauth) => {
                let marked = self.store.connection(id).await?.ok_or_else(|| {
                    StoreError::msg("calendar connection vanished during renewal")
                })?;
                return Ok(Channelled::unchanged(marked));
            }
            Err(CallError::Provider(e)) => return Err(failure(e)),
            Err(CallError::Store(e)) => return Err(e.into()),
        };
        let Some(address) = self.push_addresses.get(&connection.provider).cloned() else {
            return Ok(Channelled::unchanged(connection));
        };
        let due = force
            || connection.channel.is_none()
            || connection.channel_expires_within(now, self.settings.renew_within);
        if !due {
            return Ok(Channelled::unchanged(connection));
        }
        if !force && let Some(current) = connection.channel.clone() {
            let ttl = self.settings.channel_ttl;
            match self
                .call(connection.clone(), |p, a| {
                    let current = current.clone();
                    Box::pin(async move { p.extend(&a, &current, ttl).await })
                })
                .await
            {
                Ok(Some(extended)) => {
                    let latest = self.store.connection(id).await?.unwrap_or(connection);
                    let renewed = CalendarConnection {
                        channel: Some(extended),
                        ..latest
                    };
                    self.store.save_connection(&renewed).await?;
                    return Ok(Channelled {
                        connection: renewed,
                        renewed: true,
                        stopped_old: false,
                    });
                }
                // Not extendable (or gone): register a new one below.
                Ok(None) | Err(CallError::Provider(ProviderError::NotFound(_))) => {}
                Err(CallError::Reauth) => {
                    let marked = self.store.connection(id).await?.unwrap_or(connection);
                    return Ok(Channelled::unchanged(marked));
                }
                Err(CallError::Provider(e)) => return Err(failure(e)),
                Err(CallError::Store(e)) => return Err(e.into()),
            }
        }
        let channel_id = format!("sk{}", self.ids.new_token().expose());
        let secret = Secret::new(self.ids.new_token().expose());
        let calendar = connection.write_calendar.clone();
        let ttl = self.settings.channel_ttl;
        let new_channel: PushChannel = match self
            .call(connection.clone(), |p, a| {
                let (channel_id, secret, address, calendar) = (
                    channel_id.clone(),
                    secret.clone(),
                    address.clone(),
                    calendar.clone(),
                );
                Box::pin(async move {
                    p.watch(&a, &calendar, &channel_id, &secret, &address, ttl)
                        .await
                })
            })
            .await
        {
            Ok(channel) => channel,
            Err(CallError::Reauth) => {
                let marked = self.store.connection(id).await?.unwrap_or(connection);
                return Ok(Channelled::unchanged(marked));
            }
            Err(CallError::Provider(e)) => return Err(failure(e)),
            Err(CallError::Store(e)) => return Err(e.into()),
        };
        let latest = self.store.connection(id).await?.unwrap_or(connection);
        let old = latest.channel.clone();
        let renewed = CalendarConnection {
            channel: Some(new_channel),
            ..latest
        };
        self.store.save_connection(&renewed).await?;
        let mut stopped_old = false;
        if let Some(old) = old
            && let Some(adapter) = self.provider(renewed.provider)
        {
            // Stopped after the new one is registered, so no change goes unnoticed; a
            // failure here only means the old one lapses by itself.
            stopped_old = adapter
                .stop(&renewed.tokens.access_token, &old)
                .await
                .is_ok();
        }
        Ok(Channelled {
            connection: renewed,
            renewed: true,
            stopped_old,
        })
    }
}
