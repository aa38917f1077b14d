-- The statements `POST /api/v1/links/{slug}/bookings` sends for one booking on Postgres, in
-- its order and round trips (read off `log_statement = 'all'`, 2026-11-30): the booking
-- limit's two autocommit statements on `login_attempts` (web's `BookingLimit`: the upsert
-- counting the client address, every client's `book:127.0.0.1` as over HTTP from loopback,
-- then the prune of closed windows), the availability read of the host's busy ranges (the
-- read cache refetches it, since every commit of the host drops its entry) and the commit:
-- one statement (store-postgres `commit.rs`) taking the host's advisory lock, inserting the
-- row, then its five outbox rows, each part gated on the one before, ending in
-- `slotkeeper_all_written` and the `pg_notify` for other instances' read caches. Run by
-- `cargo xtask load` as
--   pgbench -n -M prepared -c 16 -j 2 -T 8 -D k=0 -D rows=N -f xtask/load/book.sql URL
-- Client c books slot after slot of host c's link (`load-c`, made by the run), from the year
-- 3015 on, so no two transactions want the same slot, as the HTTP clients do. Values the
-- application computes and binds (ids, token hash, times, the lock key) are computed here by
-- the database: the booking's id (its chain's too) from the client and its counter; pgbench
-- replaces `:name` even inside string literals, hence `chr(58)` for the keys' colons.
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
insert into login_attempts (key, attempts, closes_at, created_at, updated_at) values ('book' || chr(58) || '127.0.0.1', 1, now() + interval '1 hour', now(), now()) on conflict (key) do update set attempts = case when login_attempts.closes_at <= now() then 1 else login_attempts.attempts + 1 end, closes_at = case when login_attempts.closes_at <= now() then now() + interval '1 hour' else login_attempts.closes_at end, updated_at = now() returning attempts;
delete from login_attempts where closes_at <= now();
select blocked_start, blocked_end from scheduling_calendar_events where host_id = :host and status = 'confirmed' and tstzrange(blocked_start, blocked_end, '[)') && tstzrange(to_timestamp(:day::float8), to_timestamp(:day::float8 + 86400), '[)') and coalesce(chain_id <> null::uuid, true) order by blocked_start;
with l0 as (select pg_advisory_xact_lock(1397441099, :lock::int)), w0 as (insert into scheduling_calendar_events (id, chain_id, host_id, link_id, start_at, end_at, blocked_start, blocked_end, status, status_changed_at, next_id, cancelled_by, cancel_reason, previous_id, rescheduled_by, reschedule_reason, token_hash, token_sealed, invitee_name, invitee_email, invitee_phone, invitee_time_zone, answers, tracking, provider, provider_event_id, reconfirm_by, reconfirmed_at, ics_sequence, version, created_at, updated_at, reconfirm_requested_at) select md5('book ' || :client_id::text || ' ' || :k::text)::uuid, md5('book ' || :client_id::text || ' ' || :k::text)::uuid, :host::uuid, :link::uuid, to_timestamp(:start::float8), to_timestamp(:start::float8 + 300), to_timestamp(:start::float8), to_timestamp(:start::float8 + 300), 'confirmed', null, null, null, null, null, null, null, sha256(convert_to(gen_random_uuid()::text, 'UTF8')), sha256(convert_to(:k::text || 'sealed', 'UTF8')) || sha256(convert_to(:client_id::text || 'sealed', 'UTF8')), 'Load ' || :client_id::text, 'load' || :client_id::text || '@example.com', null, 'UTC', '[]', '{}', null, null, null, null, 0, 1, now(), now(), null where exists (select 1 from l0) returning 1), o as (insert into outbox (key, effect, booking_id, chain_id, due_at, attempts, created_at, updated_at) select * from (values (concat_ws(chr(58), md5('book ' || :client_id::text || ' ' || :k::text)::uuid::text, 'email', 'Booked', 'Attendee'), 'email/Booked/Attendee', md5('book ' || :client_id::text || ' ' || :k::text)::uuid, md5('book ' || :client_id::text || ' ' || :k::text)::uuid, now(), 0, now(), now()), (concat_ws(chr(58), md5('book ' || :client_id::text || ' ' || :k::text)::uuid::text, 'email', 'Booked', 'Host'), 'email/Booked/Host', md5('book ' || :client_id::text || ' ' || :k::text)::uuid, md5('book ' || :client_id::text || ' ' || :k::text)::uuid, now(), 0, now(), now()), (concat_ws(chr(58), md5('book ' || :client_id::text || ' ' || :k::text)::uuid::text, 'calendar', 'Create'), 'calendar/Create', md5('book ' || :client_id::text || ' ' || :k::text)::uuid, md5('book ' || :client_id::text || ' ' || :k::text)::uuid, now(), 0, now(), now()), (concat_ws(chr(58), md5('book ' || :client_id::text || ' ' || :k::text)::uuid::text, 'webhook', 'callBooked'), 'webhook/callBooked', md5('book ' || :client_id::text || ' ' || :k::text)::uuid, md5('book ' || :client_id::text || ' ' || :k::text)::uuid, now(), 0, now(), now()), (concat_ws(chr(58), md5('book ' || :client_id::text || ' ' || :k::text)::uuid::text, 'email', 'Reminder', 'Attendee'), 'email/Reminder/Attendee', md5('book ' || :client_id::text || ' ' || :k::text)::uuid, md5('book ' || :client_id::text || ' ' || :k::text)::uuid, to_timestamp(:start::float8 - 86400), 0, now(), now())) v where exists (select 1 from w0)) select slotkeeper_all_written(array[(select count(*) from w0)]::int8[]), pg_notify('slotkeeper_busy', 'b' || chr(58) || :host::text);
