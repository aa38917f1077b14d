-- The statements `POST /api/v1/links/{slug}/bookings` sends for one booking on Postgres, in
-- its order (read off `log_statement = 'all'`): the availability read of the host's busy
-- ranges (the read cache refetches it, since every commit of the host drops its entry), the
-- commit (`begin` and the host's advisory lock in one round trip, the row, its outbox rows in
-- one statement, `commit`) and the change notification for other instances' read caches. Not
-- included: the booking limit's two transactions on `login_attempts` (web's, not the use
-- case's). Run by `cargo xtask load` as
--   pgbench -n -M prepared -c 16 -j 2 -T 8 -D k=0 -D rows=N -f xtask/load/book.sql URL
-- Client c books slot after slot of host c's link (`load-c`, made by the run), from the year
-- 3015 on, so no two transactions want the same slot, as the HTTP clients do. Values the
-- application computes (ids, token hash, times) are computed here by the database.
\if :k < 1
select l.host_id as host, l.id as link,
  ('x' || substr(h.hex, 1, 8))::bit(32)::int # ('x' || substr(h.hex, 9, 8))::bit(32)::int
  # ('x' || substr(h.hex, 17, 8))::bit(32)::int # ('x' || substr(h.hex, 25, 8))::bit(32)::int as lock
from booking_links l cross join lateral (select replace(l.host_id::text, '-', '') as hex) h
where l.slug = 'load-' || :client_id::text \gset
\endif
\set k :k + 1
\set start 33000000000 + :k * 300
\set day :start - :start % 86400
select blocked_start, blocked_end from scheduling_calendar_events where host_id = :host and status = 'confirmed' and tstzrange(blocked_start, blocked_end, '[)') && tstzrange(to_timestamp(:day::float8), to_timestamp(:day::float8 + 86400), '[)') and coalesce(chain_id <> null::uuid, true) order by blocked_start;
\startpipeline
begin;
select pg_advisory_xact_lock(1397441099, :lock);
\endpipeline
insert into scheduling_calendar_events (id, chain_id, host_id, link_id, start_at, end_at, blocked_start, blocked_end, status, status_changed_at, next_id, cancelled_by, cancel_reason, previous_id, rescheduled_by, reschedule_reason, token_hash, token_sealed, invitee_name, invitee_email, invitee_phone, invitee_time_zone, answers, tracking, provider, provider_event_id, reconfirm_by, reconfirmed_at, ics_sequence, version, created_at, updated_at, reconfirm_requested_at) values (gen_random_uuid(), gen_random_uuid(), :host, :link, to_timestamp(:start::float8), to_timestamp(:start::float8 + 300), to_timestamp(:start::float8), to_timestamp(:start::float8 + 300), 'confirmed', null, null, null, null, null, null, null, sha256(convert_to(gen_random_uuid()::text, 'UTF8')), sha256(convert_to(:k::text || 'sealed', 'UTF8')) || sha256(convert_to(:client_id::text || 'sealed', 'UTF8')), 'Load ' || :client_id::text, 'load' || :client_id::text || '@example.com', null, 'UTC', '[]', '{}', null, null, null, null, 0, 1, now(), now(), null) returning id as booking, chain_id as chain \gset
insert into outbox (key, effect, booking_id, chain_id, due_at, attempts, created_at, updated_at) VALUES (concat_ws(chr(58), :booking::text, 'email', 'Booked', 'Attendee'), 'email/Booked/Attendee', :booking, :chain, now(), 0, now(), now()), (concat_ws(chr(58), :booking::text, 'email', 'Booked', 'Host'), 'email/Booked/Host', :booking, :chain, now(), 0, now(), now()), (concat_ws(chr(58), :booking::text, 'calendar', 'Create'), 'calendar/Create', :booking, :chain, now(), 0, now(), now()), (concat_ws(chr(58), :booking::text, 'webhook', 'callBooked'), 'webhook/callBooked', :booking, :chain, now(), 0, now(), now()), (concat_ws(chr(58), :booking::text, 'email', 'Reminder', 'Attendee'), 'email/Reminder/Attendee', :booking, :chain, to_timestamp(:start::float8 - 86400), 0, now(), now());
commit;
select pg_notify('slotkeeper_busy', 'b:' || :host::text);
