//! Write-through: a booking's calendar effect applied to the chain's one event, and the
//! `CalendarSync` port.

use super::*;

impl<S, C, T> ConnectedCalendars<S, C, T>
where
    S: BookingStore + CalendarConnections,
    C: Clock,
    T: TokenSource,
{
    /// Applies a booking's calendar effect to the host's active connection.
    ///
    /// # Errors
    /// [`CalendarSyncFailure`]; a revoked grant is not an error but
    /// [`CalendarWrite::WaitingForReconnect`].
    pub async fn write(
        &self,
        op: CalendarOp,
        booking: &Booking,
    ) -> Result<CalendarWrite, CalendarSyncFailure> {
        let connections = self.store.host_connections(booking.host()).await?;
        let Some(connection) = connections
            .iter()
            .find(|c| c.status == ConnectionStatus::Active && self.provider(c.provider).is_some())
            .cloned()
        else {
            let waiting = connections
                .iter()
                .any(|c| c.status == ConnectionStatus::NeedsReauth);
            return Ok(if waiting {
                CalendarWrite::WaitingForReconnect
            } else {
                CalendarWrite::NothingToDo
            });
        };
        // The chain's live row decides what the event should look like now.
        let live = self.live_row(booking).await?;
        let ours = provider_event_id(booking.chain());
        // The provider's id once recorded; before that, ours (which is Google's id, and what
        // a retried delete after a lost record can still find there).
        let recorded = live
            .provider_event()
            .filter(|r| r.provider == connection.provider.as_str())
            .map(|r| r.event_id.clone());
        let calendar = connection.write_calendar.clone();
        let result = match op {
            CalendarOp::Create | CalendarOp::UpdateInPlace
                if !matches!(live.status(), Status::Confirmed) =>
            {
                return Ok(CalendarWrite::NothingToDo);
            }
            CalendarOp::Create | CalendarOp::UpdateInPlace => {
                let event = self.event_of(&live).await?;
                let existing = recorded.clone().filter(|_| op == CalendarOp::UpdateInPlace);
                self.call(connection.clone(), |p, a| {
                    let (calendar, ours, existing, event) = (
                        calendar.clone(),
                        ours.clone(),
                        existing.clone(),
                        event.clone(),
                    );
                    Box::pin(async move {
                        if let Some(id) = existing {
                            match p.update_event(&a, &calendar, &id, &event).await {
                                Ok(()) => return Ok(id),
                                // Deleted at the provider meanwhile: make it again.
                                Err(ProviderError::NotFound(_)) => {}
                                Err(e) => return Err(e),
                            }
                        }
                        p.create_event(&a, &calendar, &ours, &event).await
                    })
                })
                .await
            }
            CalendarOp::Delete => {
                let id = recorded.unwrap_or(ours);
                self.call(connection.clone(), |p, a| {
                    let (calendar, id) = (calendar.clone(), id.clone());
                    Box::pin(async move { p.delete_event(&a, &calendar, &id).await.map(|()| id) })
                })
                .await
            }
        };
        match result {
            Ok(provider_id) => {
                if op != CalendarOp::Delete {
                    self.record_event(&live, connection.provider, &provider_id)
                        .await?;
                }
                Ok(CalendarWrite::Written)
            }
            Err(CallError::Reauth) => Ok(CalendarWrite::WaitingForReconnect),
            Err(CallError::Provider(e)) => Err(failure(e)),
            Err(CallError::Store(e)) => Err(e.into()),
        }
    }

    /// The newest row of the booking's chain (the booking itself when it is the newest).
    pub(super) async fn live_row(&self, booking: &Booking) -> Result<Booking, StoreError> {
        Ok(self
            .store
            .chain(booking.chain())
            .await?
            .into_iter()
            .last()
            .unwrap_or_else(|| booking.clone()))
    }

    pub(super) async fn event_of(&self, booking: &Booking) -> Result<CalendarEvent, StoreError> {
        let link = self.store.link(booking.link()).await?;
        let title = link.as_ref().map_or("Meeting", |l| l.title());
        let invitee = booking.invitee();
        // The adapter adds who booked (name, email, zone) to this.
        let description = link
            .as_ref()
            .and_then(|l| l.description())
            .unwrap_or_default()
            .to_owned();
        Ok(CalendarEvent {
            title: format!("{title} with {}", invitee.name().as_str()),
            description,
            location: link.as_ref().and_then(|l| l.location()).map(str::to_owned),
            when: booking.slot(),
            attendee_name: invitee.name().clone(),
            attendee_email: invitee.email().clone(),
            attendee_time_zone: invitee.time_zone(),
        })
    }

    /// Notes the provider's event id on the chain's live row (later rows of the chain carry
    /// it on), so updates and the calendar's changes find the event and the booking.
    pub(super) async fn record_event(
        &self,
        live: &Booking,
        provider: Provider,
        event_id: &str,
    ) -> Result<(), StoreError> {
        let reference = ProviderEventRef {
            provider: provider.as_str().to_owned(),
            event_id: event_id.to_owned(),
        };
        let mut row = live.clone();
        for _ in 0..5 {
            if row.provider_event() == Some(&reference) {
                return Ok(());
            }
            let change = Change {
                writes: vec![row.with_provider_event(reference.clone())],
                effects: Vec::new(),
            };
            match self.store.commit(change).await {
                Ok(()) => return Ok(()),
                Err(CommitError::VersionConflict(_) | CommitError::SlotTaken) => {
                    row = self.live_row(&row).await?;
                }
                Err(CommitError::Store(e)) => return Err(e),
            }
        }
        Err(StoreError::msg(
            "recording the calendar event kept losing races",
        ))
    }
}

#[async_trait]
impl<S, C, T> CalendarSync for ConnectedCalendars<S, C, T>
where
    S: BookingStore + CalendarConnections,
    C: Clock,
    T: TokenSource,
{
    async fn apply(
        &self,
        op: CalendarOp,
        booking: &Booking,
        _idempotency_key: &str,
    ) -> Result<CalendarWrite, CalendarSyncError> {
        // The event id comes from the chain, so the effect's key is not needed to dedupe.
        self.write(op, booking).await.map_err(|e| match e {
            CalendarSyncFailure::Transient {
                message,
                retry_after,
            } => CalendarSyncError::Transient {
                message,
                retry_after,
            },
            CalendarSyncFailure::Permanent(message) => CalendarSyncError::Permanent(message),
            CalendarSyncFailure::Store(e) => CalendarSyncError::Transient {
                message: e.to_string(),
                retry_after: None,
            },
        })
    }
}
