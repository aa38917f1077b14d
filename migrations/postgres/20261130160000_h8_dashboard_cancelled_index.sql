-- The dashboard's "Cancelled" tab lists a host's cancelled rows newest change first, a page at
-- a time: with this index a page reads its rows in order instead of sorting every cancelled
-- row of the host's history. (The other tabs page along (host_id, status, start_at).)
create index scheduling_calendar_events_cancelled_idx
    on scheduling_calendar_events (host_id, status_changed_at desc, id) where status = 'cancelled';
