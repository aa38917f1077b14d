//! `CalendarIntegrations`: the framework as web and the periodic jobs use it, without its type
//! parameters.

use super::*;

/// The calendar integrations as the web side and the periodic jobs use them, without the
/// framework's type parameters: connecting and disconnecting, checking push notifications,
/// syncing and renewing.
#[async_trait]
pub trait CalendarIntegrations: Send + Sync + fmt::Debug {
    /// The providers with a configured OAuth client.
    fn providers(&self) -> Vec<Provider>;

    /// A fresh PKCE verifier for `provider`, or `None` when it is not configured.
    fn pkce_verifier(&self, provider: Provider) -> Option<Secret>;

    /// The consent page of `provider` (see [`CalendarProvider::authorize_url`]).
    ///
    /// # Errors
    /// [`CalendarSyncFailure`] when the provider is not configured or the URL is invalid.
    fn authorize_url(
        &self,
        provider: Provider,
        state: &str,
        verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<String, CalendarSyncFailure>;

    /// See [`ConnectedCalendars::connect`].
    ///
    /// # Errors
    /// [`CalendarSyncFailure`].
    async fn connect(
        &self,
        host: HostId,
        provider: Provider,
        code: &str,
        verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<CalendarConnection, CalendarSyncFailure>;

    /// See [`ConnectedCalendars::write_upcoming`].
    ///
    /// # Errors
    /// [`CalendarSyncFailure`].
    async fn write_upcoming(&self, host: HostId, limit: u32) -> Result<usize, CalendarSyncFailure>;

    /// See [`ConnectedCalendars::disconnect`].
    ///
    /// # Errors
    /// [`StoreError`].
    async fn disconnect(&self, host: HostId, id: ConnectionId) -> Result<bool, StoreError>;

    /// The host's connections, oldest first.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn host_connections(&self, host: HostId) -> Result<Vec<CalendarConnection>, StoreError>;

    /// See [`ConnectedCalendars::verify_push`].
    ///
    /// # Errors
    /// [`PushCheckError`].
    async fn verify_push(
        &self,
        provider: Provider,
        channel_id: &str,
        token: &str,
    ) -> Result<ConnectionId, PushCheckError>;

    /// See [`ConnectedCalendars::sync`].
    ///
    /// # Errors
    /// [`CalendarSyncFailure`].
    async fn sync(
        &self,
        id: ConnectionId,
        changes: &dyn CalendarChanges,
    ) -> Result<SyncReport, CalendarSyncFailure>;

    /// Answers a provider's request to re-authorise a connection's push channel.
    ///
    /// # Errors
    /// [`CalendarSyncFailure`].
    async fn reauthorize_channel(&self, id: ConnectionId) -> Result<(), CalendarSyncFailure>;

    /// Registers a new push channel for a connection whose channel the provider removed.
    ///
    /// # Errors
    /// [`CalendarSyncFailure`].
    async fn replace_channel(&self, id: ConnectionId) -> Result<(), CalendarSyncFailure>;

    /// See [`ConnectedCalendars::renew`].
    ///
    /// # Errors
    /// [`StoreError`].
    async fn renew(&self) -> Result<RenewalReport, StoreError>;

    /// The ids of every active connection (the poller syncs each).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn active_connections(&self) -> Result<Vec<ConnectionId>, StoreError>;
}

#[async_trait]
impl<S, C, T> CalendarIntegrations for ConnectedCalendars<S, C, T>
where
    S: BookingStore + CalendarConnections,
    C: Clock,
    T: TokenSource,
{
    fn providers(&self) -> Vec<Provider> {
        self.providers.iter().map(|p| p.provider()).collect()
    }

    fn pkce_verifier(&self, provider: Provider) -> Option<Secret> {
        self.provider(provider).map(|p| p.pkce_verifier())
    }

    fn authorize_url(
        &self,
        provider: Provider,
        state: &str,
        verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<String, CalendarSyncFailure> {
        self.adapter(provider)?
            .authorize_url(state, verifier, redirect_uri)
            .map_err(failure)
    }

    async fn connect(
        &self,
        host: HostId,
        provider: Provider,
        code: &str,
        verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<CalendarConnection, CalendarSyncFailure> {
        ConnectedCalendars::connect(self, host, provider, code, verifier, redirect_uri).await
    }

    async fn write_upcoming(&self, host: HostId, limit: u32) -> Result<usize, CalendarSyncFailure> {
        ConnectedCalendars::write_upcoming(self, host, limit).await
    }

    async fn disconnect(&self, host: HostId, id: ConnectionId) -> Result<bool, StoreError> {
        ConnectedCalendars::disconnect(self, host, id).await
    }

    async fn host_connections(&self, host: HostId) -> Result<Vec<CalendarConnection>, StoreError> {
        self.store.host_connections(host).await
    }

    async fn verify_push(
        &self,
        provider: Provider,
        channel_id: &str,
        token: &str,
    ) -> Result<ConnectionId, PushCheckError> {
        ConnectedCalendars::verify_push(self, provider, channel_id, token).await
    }

    async fn sync(
        &self,
        id: ConnectionId,
        changes: &dyn CalendarChanges,
    ) -> Result<SyncReport, CalendarSyncFailure> {
        ConnectedCalendars::sync(self, id, Some(changes)).await
    }

    async fn reauthorize_channel(&self, id: ConnectionId) -> Result<(), CalendarSyncFailure> {
        let Some(connection) = self.store.connection(id).await? else {
            return Ok(());
        };
        let Some(channel) = connection.channel.clone() else {
            return Ok(());
        };
        match self
            .call(connection, |p, a| {
                let channel = channel.clone();
                Box::pin(async move { p.reauthorize(&a, &channel).await })
            })
            .await
        {
            Ok(()) | Err(CallError::Reauth) => Ok(()),
            Err(CallError::Provider(e)) => Err(failure(e)),
            Err(CallError::Store(e)) => Err(e.into()),
        }
    }

    async fn replace_channel(&self, id: ConnectionId) -> Result<(), CalendarSyncFailure> {
        let Some(connection) = self
            .store
            .connection(id)
            .await?
            .filter(|c| c.status == ConnectionStatus::Active)
        else {
            return Ok(());
        };
        // The provider removed it: forget it rather than try to stop it.
        let without = CalendarConnection {
            channel: None,
            ..connection
        };
        self.store.save_connection(&without).await?;
        self.ensure_channel(without, true).await.map(|_| ())
    }

    async fn renew(&self) -> Result<RenewalReport, StoreError> {
        ConnectedCalendars::renew(self).await
    }

    async fn active_connections(&self) -> Result<Vec<ConnectionId>, StoreError> {
        Ok(self
            .store
            .connections_in(ConnectionStatus::Active)
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect())
    }
}
