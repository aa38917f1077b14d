-- Outbound webhook subscriptions per host and their delivery log.
-- The secret is kept as its whsec_ text: deliveries are signed with it, so it cannot be a
-- one-way hash (see docs/NOTIFICATIONS.md).

create table webhook_subscriptions (
    id          uuid not null constraint webhook_subscriptions_pkey primary key,
    host_id     uuid not null constraint webhook_subscriptions_host_id_fkey references hosts (id),
    url         text not null constraint webhook_subscriptions_url_check
                    check (url ~* '^https?://'),
    secret      text not null constraint webhook_subscriptions_secret_check check (secret like 'whsec!_%' escape '!'),
    -- comma-separated event names: callBooked,callRescheduled,callCancelled
    events      text not null constraint webhook_subscriptions_events_check check (events <> ''),
    active      boolean not null,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);

create index webhook_subscriptions_host_idx on webhook_subscriptions (host_id, created_at);

create table webhook_deliveries (
    -- insertion order, so attempts at the same instant still list newest first
    seq              bigint generated always as identity constraint webhook_deliveries_pkey primary key,
    subscription_id  uuid not null constraint webhook_deliveries_subscription_id_fkey
                         references webhook_subscriptions (id) on delete cascade,
    -- the outbox key, sent as webhook-id
    effect_key       text not null,
    attempt          bigint not null,
    status_code      integer,
    latency_ms       bigint not null,
    error            text,
    delivered        boolean not null,
    at               timestamptz not null,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);

create index webhook_deliveries_subscription_idx on webhook_deliveries (subscription_id, at);
create index webhook_deliveries_key_idx on webhook_deliveries (effect_key, subscription_id) where delivered;
