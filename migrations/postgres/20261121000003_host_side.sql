-- The host's side: logins, API keys, CRM deals, and the link details the dashboard edits.

alter table booking_links add column description text;
alter table booking_links add column location text;

-- One login per host. `login` is the lower-cased email address; the password only as an
-- argon2 PHC string.
create table host_accounts (
    host_id        uuid not null constraint host_accounts_pkey primary key
                       constraint host_accounts_host_id_fkey references hosts (id),
    login          text not null constraint host_accounts_login_key unique,
    password_hash  text not null,
    created_at     timestamptz not null,
    updated_at     timestamptz not null default now()
);

-- API keys: only the SHA-256 of the secret is kept, and its first characters for display.
create table api_keys (
    id          uuid not null constraint api_keys_pkey primary key,
    host_id     uuid not null constraint api_keys_host_id_fkey references hosts (id),
    label       text not null,
    prefix      text not null,
    key_hash    bytea not null constraint api_keys_key_hash_key unique,
    created_at  timestamptz not null,
    revoked_at  timestamptz,
    updated_at  timestamptz not null default now()
);

create index api_keys_host_idx on api_keys (host_id, created_at);

-- One deal per meeting (chain); its id is the chain's id. Cancelling never touches it.
create table deals (
    id                uuid not null constraint deals_pkey primary key,
    host_id           uuid not null constraint deals_host_id_fkey references hosts (id),
    chain_id          uuid not null constraint deals_chain_id_key unique,
    booking_id        uuid not null,
    link_id           uuid not null,
    contact_name      text not null,
    contact_email     text not null,
    stage             text not null constraint deals_stage_check
                          check (stage in ('new', 'qualified', 'proposal', 'negotiation', 'closed_won', 'closed_lost')),
    stage_changed_at  timestamptz not null,
    created_at        timestamptz not null,
    updated_at        timestamptz not null default now()
);

create index deals_host_idx on deals (host_id, created_at);
