//! Tokens: refresh before expiry, one more try after a 401, `needs_reauth` when the grant is
//! refused.

use super::*;

impl<S, C, T> ConnectedCalendars<S, C, T>
where
    S: BookingStore + CalendarConnections,
    C: Clock,
    T: TokenSource,
{
    /// The connection with an access token good for a while: refreshed (and saved) when it is
    /// about to expire.
    pub(super) async fn fresh(
        &self,
        connection: CalendarConnection,
    ) -> Result<CalendarConnection, CallError> {
        let now = self.clock.now();
        if connection.token_expires_within(now, self.settings.refresh_margin) {
            self.refresh(connection).await
        } else {
            Ok(connection)
        }
    }

    pub(super) async fn refresh(
        &self,
        connection: CalendarConnection,
    ) -> Result<CalendarConnection, CallError> {
        let adapter = self
            .provider(connection.provider)
            .ok_or_else(|| CallError::Provider(not_configured(connection.provider)))?
            .clone();
        let Some(refresh_token) = connection.tokens.refresh_token.clone() else {
            self.mark_reauth(connection, "no refresh token").await?;
            return Err(CallError::Reauth);
        };
        match adapter.refresh(&refresh_token).await {
            Ok(tokens) => {
                let refreshed = connection.with_tokens(tokens);
                self.store.save_connection(&refreshed).await?;
                Ok(refreshed)
            }
            Err(ProviderError::Unauthorized(why)) => {
                self.mark_reauth(connection, &why).await?;
                Err(CallError::Reauth)
            }
            Err(e) => Err(CallError::Provider(e)),
        }
    }

    pub(super) async fn mark_reauth(
        &self,
        connection: CalendarConnection,
        why: &str,
    ) -> Result<(), StoreError> {
        let host = connection.host;
        let now = self.clock.now();
        self.store
            .save_connection(&connection.needing_reauth(
                format!("access was refused ({why}): reconnect the calendar"),
                now,
            ))
            .await?;
        self.forget_busy(host);
        Ok(())
    }

    /// Runs one provider call with a fresh token; a 401 is answered by one refresh and one
    /// more try, and a second refusal marks the connection `needs_reauth`.
    pub(super) async fn call<R, F>(
        &self,
        connection: CalendarConnection,
        op: F,
    ) -> Result<R, CallError>
    where
        F: for<'a> Fn(&'a dyn CalendarProvider, Secret) -> Call<'a, R>,
    {
        let adapter = self
            .provider(connection.provider)
            .ok_or_else(|| CallError::Provider(not_configured(connection.provider)))?
            .clone();
        let connection = self.fresh(connection).await?;
        match op(adapter.as_ref(), connection.tokens.access_token.clone()).await {
            Err(ProviderError::Unauthorized(_)) => {
                let refreshed = self.refresh(connection).await?;
                match op(adapter.as_ref(), refreshed.tokens.access_token.clone()).await {
                    Err(ProviderError::Unauthorized(why)) => {
                        self.mark_reauth(refreshed, &why).await?;
                        Err(CallError::Reauth)
                    }
                    other => other.map_err(CallError::Provider),
                }
            }
            other => other.map_err(CallError::Provider),
        }
    }

    pub(super) fn adapter(
        &self,
        provider: Provider,
    ) -> Result<Arc<dyn CalendarProvider>, CalendarSyncFailure> {
        self.provider(provider)
            .cloned()
            .ok_or_else(|| failure(not_configured(provider)))
    }
}
