-- Calendar connections (Google, Microsoft): one row per host, provider and account. OAuth
-- tokens and the push channel's secret are kept only sealed (ChaCha20-Poly1305 under a key
-- derived from SECRET_KEY, with the row id and the column as associated data).
create table calendar_connections (
    id                    blob not null constraint calendar_connections_pkey primary key,
    host_id               blob not null constraint calendar_connections_host_id_fkey references hosts (id),
    provider              text not null constraint calendar_connections_provider_check
                              check (provider in ('google', 'microsoft')),
    account               text not null,
    -- JSON array of calendar ids whose busy times block slots.
    busy_calendars        text not null,
    write_calendar        text not null,
    access_token_sealed   blob not null,
    refresh_token_sealed  blob,
    token_expires_at      text,
    status                text not null constraint calendar_connections_status_check
                              check (status in ('active', 'needs_reauth', 'revoked')),
    sync_token            text,
    channel_id            text constraint calendar_connections_channel_id_key unique,
    channel_token_sealed  blob,
    channel_resource_id   text,
    channel_expires_at    text,
    last_error            text,
    last_error_at         text,
    created_at            text not null,
    updated_at            text not null,
    constraint calendar_connections_account_key unique (host_id, provider, account)
);

create index calendar_connections_status_idx on calendar_connections (status, created_at);
