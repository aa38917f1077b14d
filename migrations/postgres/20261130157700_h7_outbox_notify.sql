-- Wakes the outbox workers of every instance when entries are committed: each statement that
-- inserts outbox rows queues one `slotkeeper_outbox` notification, which Postgres sends when
-- (and only if) the transaction commits, once per transaction however many statements queued it.
create function slotkeeper_outbox_notify() returns trigger language plpgsql as $$
begin
    perform pg_notify('slotkeeper_outbox', '');
    return null;
end
$$;

create trigger outbox_notify after insert on outbox
    for each statement execute function slotkeeper_outbox_notify();
