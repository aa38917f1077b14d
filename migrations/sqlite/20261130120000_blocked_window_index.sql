-- The availability query reads the confirmed rows of one host whose buffered range ends after
-- the window starts: with this index it starts there, instead of walking the host's history.
create index scheduling_calendar_events_window_idx
    on scheduling_calendar_events (host_id, blocked_end) where status = 'confirmed';
