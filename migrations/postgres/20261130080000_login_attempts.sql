-- Counted login attempts, shared by every instance: one row per key (`login:<name>`,
-- `client:<address>`) with the attempts of its current window and when that window closes.
-- Rows whose window has closed are pruned as attempts come in.
create table login_attempts (
    key         text not null constraint login_attempts_pkey primary key,
    attempts    bigint not null constraint login_attempts_attempts_check check (attempts >= 0),
    closes_at   timestamptz not null,
    created_at  timestamptz not null,
    updated_at  timestamptz not null default now()
);

create index login_attempts_closes_idx on login_attempts (closes_at);
