//! The in-memory store's calendar connections.

use async_trait::async_trait;

use super::InMemoryStore;
use crate::calendar::ConnectionStatus;
use crate::connections::{CalendarConnection, CalendarConnections, ConnectionId};
use crate::ids::HostId;
use crate::ports::StoreError;

#[derive(Debug, Default)]
pub(super) struct ConnectionState {
    /// In creation order.
    rows: Vec<CalendarConnection>,
}

#[async_trait]
impl CalendarConnections for InMemoryStore {
    async fn save_connection(
        &self,
        connection: &CalendarConnection,
    ) -> Result<ConnectionId, StoreError> {
        let mut state = self.lock();
        if !state.hosts.contains_key(&connection.host) {
            return Err(StoreError::msg("calendar connection for an unknown host"));
        }
        let rows = &mut state.connections.rows;
        let same = |c: &CalendarConnection| {
            c.id == connection.id
                || (c.host == connection.host
                    && c.provider == connection.provider
                    && c.account == connection.account)
        };
        if let Some(stored) = rows.iter_mut().find(|c| same(c)) {
            let id = stored.id;
            let created_at = stored.created_at;
            *stored = CalendarConnection {
                id,
                created_at,
                ..connection.clone()
            };
            return Ok(id);
        }
        rows.push(connection.clone());
        Ok(connection.id)
    }

    async fn connection(&self, id: ConnectionId) -> Result<Option<CalendarConnection>, StoreError> {
        Ok(self
            .lock()
            .connections
            .rows
            .iter()
            .find(|c| c.id == id)
            .cloned())
    }

    async fn host_connections(&self, host: HostId) -> Result<Vec<CalendarConnection>, StoreError> {
        Ok(self
            .lock()
            .connections
            .rows
            .iter()
            .filter(|c| c.host == host)
            .cloned()
            .collect())
    }

    async fn connection_by_channel(
        &self,
        channel_id: &str,
    ) -> Result<Option<CalendarConnection>, StoreError> {
        Ok(self
            .lock()
            .connections
            .rows
            .iter()
            .find(|c| c.channel.as_ref().is_some_and(|ch| ch.id == channel_id))
            .cloned())
    }

    async fn connections_in(
        &self,
        status: ConnectionStatus,
    ) -> Result<Vec<CalendarConnection>, StoreError> {
        Ok(self
            .lock()
            .connections
            .rows
            .iter()
            .filter(|c| c.status == status)
            .cloned()
            .collect())
    }
}
