-- Hosts, booking links, bookings (scheduling_calendar_events) and the outbox.

create extension if not exists btree_gist;

create table hosts (
    id          uuid not null constraint hosts_pkey primary key,
    name        text not null,
    email       text not null,
    time_zone   text not null,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);

create table booking_links (
    id                        uuid not null constraint booking_links_pkey primary key,
    host_id                   uuid not null constraint booking_links_host_id_fkey references hosts (id),
    slug                      text not null constraint booking_links_slug_key unique,
    title                     text not null,
    time_zone                 text not null,
    -- seven lists of [start_minute, end_minute], Monday first
    weekly_hours              text not null,
    -- {"YYYY-MM-DD": [[start_minute, end_minute], ...]}
    date_overrides            text not null,
    duration_minutes          bigint not null,
    interval_minutes          bigint not null,
    buffer_before_minutes     bigint not null,
    buffer_after_minutes      bigint not null,
    minimum_notice_minutes    bigint not null,
    max_days_ahead            bigint,
    reconfirm_ask_minutes     bigint,
    reconfirm_cancel_minutes  bigint,
    create_deal               boolean not null,
    questions                 text not null,
    created_at                timestamptz not null default now(),
    updated_at                timestamptz not null default now()
);

create index booking_links_host_id_idx on booking_links (host_id);

create table scheduling_calendar_events (
    id                 uuid not null constraint scheduling_calendar_events_pkey primary key,
    chain_id           uuid not null,
    host_id            uuid not null constraint scheduling_calendar_events_host_id_fkey references hosts (id),
    link_id            uuid not null constraint scheduling_calendar_events_link_id_fkey references booking_links (id),
    start_at           timestamptz not null,
    end_at             timestamptz not null,
    blocked_start      timestamptz not null,
    blocked_end        timestamptz not null,
    status             text not null constraint scheduling_calendar_events_status_check
                           check (status in ('confirmed', 'rescheduled', 'cancelled', 'no_show')),
    status_changed_at  timestamptz,
    next_id            uuid,
    cancelled_by       text,
    cancel_reason      text,
    previous_id        uuid,
    rescheduled_by     text,
    reschedule_reason  text,
    -- the token only as SHA-256 (lookup) and sealed with a key derived from SECRET_KEY
    token_hash         bytea not null constraint scheduling_calendar_events_token_hash_key unique,
    token_sealed       bytea not null,
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
    reconfirm_by       timestamptz,
    reconfirmed_at     timestamptz,
    ics_sequence       bigint not null,
    version            bigint not null,
    created_at         timestamptz not null,
    updated_at         timestamptz not null default now(),
    constraint scheduling_calendar_events_slot_check check (start_at < end_at),
    constraint scheduling_calendar_events_blocked_check check (blocked_start <= start_at and end_at <= blocked_end),
    -- Double booking is impossible here, whatever the application does: no two confirmed rows
    -- of a host may have overlapping buffered ranges. Half-open ranges: touching is fine.
    constraint no_double_booking exclude using gist (
        host_id with =,
        tstzrange(blocked_start, blocked_end, '[)') with &&
    ) where (status = 'confirmed')
);

create index scheduling_calendar_events_host_status_idx
    on scheduling_calendar_events (host_id, status, start_at);
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
    booking_id    uuid not null,
    chain_id      uuid,
    due_at        timestamptz not null,
    attempts      bigint not null default 0,
    leased_until  timestamptz,
    delivered_at  timestamptz,
    dead_at       timestamptz,
    last_error    text,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now()
);

create index outbox_due_idx on outbox (due_at) where delivered_at is null and dead_at is null;
create index outbox_dead_idx on outbox (dead_at) where dead_at is not null;
create index outbox_booking_idx on outbox (booking_id);
