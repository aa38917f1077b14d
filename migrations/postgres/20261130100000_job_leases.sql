-- Leases on periodic jobs (the daily calendar renewal), so that of several instances on one
-- database one does the work at a time. A lease lapses by itself at `until`.
create table job_leases (
    job         text not null constraint job_leases_pkey primary key,
    holder      text not null,
    until       timestamptz not null,
    created_at  timestamptz not null,
    updated_at  timestamptz not null default now()
);
