//! Busy times: read over every connected calendar, cached briefly, served stale for a while when
//! the provider cannot be read; the `BusyCalendar` port.

use super::*;

impl<S, C, T> ConnectedCalendars<S, C, T>
where
    S: BookingStore + CalendarConnections,
    C: Clock,
    T: TokenSource,
{
    pub(super) fn forget_busy(&self, host: HostId) {
        self.known_busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&host);
        self.unconnected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&host);
    }

    /// Whether `host` was found without a usable connection less than `max_age` ago.
    fn known_unconnected(&self, host: HostId, now: DateTime<Utc>, max_age: TimeDelta) -> bool {
        self.unconnected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&host)
            .is_some_and(|at| now - *at < max_age)
    }

    fn remember_unconnected(&self, host: HostId, now: DateTime<Utc>) {
        let mut unconnected = self
            .unconnected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let max_age = self.settings.busy_cache_for;
        unconnected.retain(|_, at| now - *at < max_age);
        unconnected.insert(host, now);
    }

    pub(super) fn cached_busy(
        &self,
        host: HostId,
        within: TimeRange,
        max_age: TimeDelta,
        now: DateTime<Utc>,
    ) -> Option<Vec<TimeRange>> {
        let known = self
            .known_busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        known.get(&host)?.iter().rev().find_map(|k| {
            let covers = k.window.start() <= within.start() && within.end() <= k.window.end();
            (covers && now - k.read_at < max_age).then(|| {
                k.busy
                    .iter()
                    .copied()
                    .filter(|b| b.start() < within.end() && within.start() < b.end())
                    .collect()
            })
        })
    }

    pub(super) fn remember_busy(
        &self,
        host: HostId,
        window: TimeRange,
        busy: Vec<TimeRange>,
        now: DateTime<Utc>,
    ) {
        let mut known = self
            .known_busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entries = known.entry(host).or_default();
        let keep = self.settings.serve_stale_for;
        entries.retain(|k| now - k.read_at < keep && k.window != window);
        entries.push(KnownBusy {
            window,
            read_at: now,
            busy,
        });
    }

    pub(super) async fn read_busy(
        &self,
        connections: Vec<CalendarConnection>,
        within: TimeRange,
    ) -> Result<Vec<TimeRange>, String> {
        let mut busy = Vec::new();
        for connection in connections {
            if connection.status == ConnectionStatus::NeedsReauth {
                return Err(format!(
                    "the {} calendar of {} needs to be reconnected",
                    connection.provider, connection.account
                ));
            }
            let calendars = connection.busy_calendars.clone();
            let found = self
                .call(connection, |p, a| {
                    let calendars = calendars.clone();
                    Box::pin(async move { p.busy(&a, &calendars, within).await })
                })
                .await
                .map_err(|e| match e {
                    CallError::Reauth => "the calendar needs to be reconnected".to_owned(),
                    CallError::Provider(e) => e.to_string(),
                    CallError::Store(e) => e.to_string(),
                })?;
            busy.extend(found);
        }
        busy.sort_by_key(|r| (r.start(), r.end()));
        Ok(busy)
    }
}

#[async_trait]
impl<S, C, T> BusyCalendar for ConnectedCalendars<S, C, T>
where
    S: BookingStore + CalendarConnections,
    C: Clock,
    T: TokenSource,
{
    async fn busy(
        &self,
        host: HostId,
        within: TimeRange,
    ) -> Result<Vec<TimeRange>, BusyCalendarError> {
        // Every slot page and booking asks: answer from memory while the answer is fresh
        // (a connection made or lost in this process forgets it at once; other instances see
        // it within the same `busy_cache_for` as busy times), so a host without a calendar
        // costs no query and a connected one no provider call.
        let now = self.clock.now();
        let fresh = self.settings.busy_cache_for;
        if self.known_unconnected(host, now, fresh) {
            return Ok(Vec::new());
        }
        if let Some(busy) = self.cached_busy(host, within, fresh, now) {
            return Ok(busy);
        }
        let connections: Vec<_> = self
            .store
            .host_connections(host)
            .await
            .map_err(|e| BusyCalendarError(e.to_string()))?
            .into_iter()
            .filter(|c| {
                c.status != ConnectionStatus::Revoked && self.provider(c.provider).is_some()
            })
            .collect();
        if connections.is_empty() {
            self.remember_unconnected(host, now);
            return Ok(Vec::new());
        }
        match self.read_busy(connections, within).await {
            Ok(busy) => {
                self.remember_busy(host, within, busy.clone(), now);
                Ok(busy)
            }
            Err(why) => self
                .cached_busy(host, within, self.settings.serve_stale_for, now)
                .ok_or(BusyCalendarError(why)),
        }
    }
}
