-- The statements `POST /api/v1/bookings/by-token/{token}/cancel` sends on Postgres, in its
-- order (read off `log_statement = 'all'`): the booking by its token's hash, the commit
-- (`begin` and the host's advisory lock in one round trip, the row marked cancelled under
-- its version, its outbox rows in one statement, `commit`) and the change notification for
-- other instances' read caches. Run by `cargo xtask load` as
--   pgbench -n -M prepared -c 16 -j 2 -T 8 -D k=0 -D rows=N -f xtask/load/cancel.sql URL
-- on the bookings it prepared with the token hashes sha256('load N+1') … sha256('load 2N');
-- client c takes the rows N+c+1, N+c+17, … . Columns that are null on these rows are written
-- as null (pgbench reads a null as an empty string).
\set k :k + 1
\set n 1 + :rows + (:k * 16 + :client_id) % :rows
select id, chain_id, host_id, link_id, start_at, end_at, blocked_start, blocked_end, status, status_changed_at, next_id, cancelled_by, cancel_reason, previous_id, rescheduled_by, reschedule_reason, token_sealed, invitee_name, invitee_email, invitee_phone, invitee_time_zone, answers, tracking, provider, provider_event_id, reconfirm_by, reconfirmed_at, ics_sequence, version, created_at, reconfirm_requested_at from scheduling_calendar_events where token_hash = sha256(convert_to('load ' || :n::text, 'UTF8')) \gset b_
\startpipeline
begin;
select pg_advisory_xact_lock(1397441099, ('x' || substr(replace(:b_host_id::text, '-', ''), 1, 8))::bit(32)::int # ('x' || substr(replace(:b_host_id::text, '-', ''), 9, 8))::bit(32)::int # ('x' || substr(replace(:b_host_id::text, '-', ''), 17, 8))::bit(32)::int # ('x' || substr(replace(:b_host_id::text, '-', ''), 25, 8))::bit(32)::int);
\endpipeline
update scheduling_calendar_events set chain_id = :b_chain_id, host_id = :b_host_id, link_id = :b_link_id, start_at = :b_start_at, end_at = :b_end_at, blocked_start = :b_blocked_start, blocked_end = :b_blocked_end, status = 'cancelled', status_changed_at = now(), next_id = null, cancelled_by = 'attendee', cancel_reason = null, previous_id = null, rescheduled_by = null, reschedule_reason = null, invitee_name = :b_invitee_name, invitee_email = :b_invitee_email, invitee_phone = null, invitee_time_zone = :b_invitee_time_zone, answers = :b_answers, tracking = :b_tracking, provider = null, provider_event_id = null, reconfirm_by = null, reconfirmed_at = null, ics_sequence = :b_ics_sequence, version = :b_version::bigint + 1, updated_at = now(), reconfirm_requested_at = null where id = :b_id and version = :b_version and :b_token_sealed::bytea is not null and :b_created_at::timestamptz is not null;
insert into outbox (key, effect, booking_id, chain_id, due_at, attempts, created_at, updated_at) VALUES (concat_ws(chr(58), :b_id::text, 'email', 'Cancelled', 'Attendee'), 'email/Cancelled/Attendee', :b_id, :b_chain_id, now(), 0, now(), now()), (concat_ws(chr(58), :b_id::text, 'email', 'Cancelled', 'Host'), 'email/Cancelled/Host', :b_id, :b_chain_id, now(), 0, now(), now()), (concat_ws(chr(58), :b_id::text, 'calendar', 'Delete'), 'calendar/Delete', :b_id, :b_chain_id, now(), 0, now(), now()), (concat_ws(chr(58), :b_id::text, 'webhook', 'callCancelled'), 'webhook/callCancelled', :b_id, :b_chain_id, now(), 0, now(), now());
commit;
select pg_notify('slotkeeper_busy', 'b:' || :b_host_id::text);
