-- Hosts, booking links, bookings (scheduling_calendar_events) and the outbox.
-- Uuids are 16-byte blobs; instants are RFC 3339 UTC text as sqlx writes them, which sorts
-- in time order, so range conditions compare them directly.

create table hosts (
    id          blob not null constraint hosts_pkey primary key,
    name        text not null,
    email       text not null,
    time_zone   text not null,
    created_at  text not null,
    updated_at  text not null
);

create table booking_links (
    id                        blob not null constraint booking_links_pkey primary key,
    host_id                   blob not null constraint booking_links_host_id_fkey references hosts (id),
    slug                      text not null constraint booking_links_slug_key unique,
    title                     text not null,
    time_zone                 text not null,
    -- seven lists of [start_minute, end_minute], Monday first
    weekly_hours              text not null,
    -- {"YYYY-MM-DD": [[start_minute, end_minute], ...]}
    date_overrides            text not null,
    duration_minutes          integer not null,
    interval_minutes          integer not null,
    buffer_before_minutes     integer not null,
    buffer_after_minutes      integer not null,
    minimum_notice_minutes    integer not null,
    max_days_ahead            integer,
    reconfirm_ask_minutes     integer,
    reconfirm_cancel_minutes  integer,
    create_deal               boolean not null,
    questions                 text not null,
    created_at                text not null,
    updated_at                text not null
);

create index booking_links_host_id_idx on booking_links (host_id);

create table scheduling_calendar_events (
    id                 blob not null constraint scheduling_calendar_events_pkey primary key,
    chain_id           blob not null,
    host_id            blob not null constraint scheduling_calendar_events_host_id_fkey references hosts (id),
    link_id            blob not null constraint scheduling_calendar_events_link_id_fkey references booking_links (id),
    start_at           text not null,
    end_at             text not null,
    blocked_start      text not null,
    blocked_end        text not null,
    status             text not null constraint scheduling_calendar_events_status_check
                           check (status in ('confirmed', 'rescheduled', 'cancelled', 'no_show')),
    status_changed_at  text,
    next_id            blob,
    cancelled_by       text,
    cancel_reason      text,
    previous_id        blob,
    rescheduled_by     text,
    reschedule_reason  text,
    -- the token only as SHA-256 (lookup) and sealed with a key derived from SECRET_KEY
    token_hash         blob not null constraint scheduling_calendar_events_token_hash_key unique,
    token_sealed       blob not null,
    invitee_name       text not null,
    invitee_email      text not null,
    invitee_phone      text,
    invitee_time_zone  text not null,
    -- [[question, answer], ...]
    answers            text not null,
    -- {"utm_source": ..., ...}
    tracking           text not null,
    provider           text,
    provider_event_id  text,
    reconfirm_by       text,
    reconfirmed_at     text,
    ics_sequence       integer not null,
    version            integer not null,
    created_at         text not null,
    updated_at         text not null,
    constraint scheduling_calendar_events_slot_check check (start_at < end_at),
    constraint scheduling_calendar_events_blocked_check check (blocked_start <= start_at and end_at <= blocked_end)
);

-- overlap checks and the dashboard
create index scheduling_calendar_events_host_status_idx
    on scheduling_calendar_events (host_id, status, blocked_start);
create index scheduling_calendar_events_chain_idx on scheduling_calendar_events (chain_id, created_at);
create index scheduling_calendar_events_provider_event_idx
    on scheduling_calendar_events (provider, provider_event_id) where provider_event_id is not null;
create index scheduling_calendar_events_reconfirm_idx
    on scheduling_calendar_events (reconfirm_by) where status = 'confirmed' and reconfirmed_at is null;

create table outbox (
    -- Effect::idempotency_key
    key           text not null constraint outbox_pkey primary key,
    -- Effect::code
    effect        text not null,
    booking_id    blob not null,
    chain_id      blob,
    due_at        text not null,
    attempts      integer not null default 0,
    leased_until  text,
    delivered_at  text,
    dead_at       text,
    last_error    text,
    created_at    text not null,
    updated_at    text not null
);

create index outbox_due_idx on outbox (due_at) where delivered_at is null and dead_at is null;
create index outbox_dead_idx on outbox (dead_at) where dead_at is not null;
create index outbox_booking_idx on outbox (booking_id);
