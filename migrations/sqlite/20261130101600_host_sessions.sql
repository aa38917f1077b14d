-- Host sessions, shared by every instance: the browser holds a random secret, the row only its
-- SHA-256 (`id_hash`), so a dump opens no session. Logout deletes the row, a password change
-- deletes the host's rows, and expired rows are pruned as hosts log in.
create table host_sessions (
    id_hash       blob not null constraint host_sessions_pkey primary key,
    host_id       blob not null constraint host_sessions_host_id_fkey references hosts (id),
    csrf_token    text not null,
    created_at    text not null,
    last_seen_at  text not null,
    expires_at    text not null,
    updated_at    text not null
);

create index host_sessions_host_idx on host_sessions (host_id);
create index host_sessions_expires_idx on host_sessions (expires_at);
